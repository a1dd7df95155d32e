//! The AWS configuration every command that talks to AWS uses: aws-config's standard chain,
//! retries and timeouts, the Region, a named profile checked before anything is called, and
//! the credential chain resolved once per run.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::{future, ProvideCredentials, SharedCredentialsProvider};

use crate::error::{credentials_advice, CollectError, Trouble};

/// Loads the AWS configuration through aws-config's standard chain (environment, shared
/// config and credentials files, SSO, credential_process, container and instance metadata),
/// including `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>`. Standard retries with backoff
/// (5 attempts), and timeouts so that an unreachable Region fails instead of hanging.
/// Without a configured Region, `us-east-1` is used for the global calls. A named profile
/// (`--profile`, `AWS_PROFILE`) that the config files do not define is an error, as in the AWS
/// CLI.
pub async fn load_config(profile: Option<&str>) -> Result<SdkConfig, CollectError> {
    load_config_with(profile, &Timeouts::default()).await
}

/// How long a call may take: to connect (an unreachable Region fails after this, per attempt),
/// and each attempt in all (a stalled connection fails after this). Retries are the SDK's
/// standard mode (5 attempts, exponential backoff with jitter, throttling retried); its
/// adaptive mode lost calls to its client-side rate limiter under the injected throttling,
/// 500s and stalls of tests/org.rs, so it is not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub attempt: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: Duration::from_secs(5),
            attempt: Duration::from_secs(20),
        }
    }
}

/// [`load_config`] with other timeouts (`--connect-timeout`, `--call-timeout`).
pub async fn load_config_with(
    profile: Option<&str>,
    timeouts: &Timeouts,
) -> Result<SdkConfig, CollectError> {
    let named = profile
        .map(str::to_owned)
        .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
    if let Some(name) = named.as_deref().filter(|n| *n != "default") {
        check_profile(name).await?;
    }
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::standard().with_max_attempts(5))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(timeouts.connect)
                .operation_attempt_timeout(timeouts.attempt)
                // Every attempt of the five, with backoff, and no more.
                .operation_timeout(timeouts.attempt * 5 + Duration::from_secs(10))
                .build(),
        );
    // The Region: the standard chain (of the named profile), else us-east-1 for the global
    // calls. Given to the loader, not patched in afterwards, so that the credential providers
    // (AssumeRole with source_profile, SSO) have one too.
    let mut region_chain = aws_config::default_provider::region::DefaultRegionChain::builder();
    if let Some(p) = profile {
        loader = loader.profile_name(p);
        region_chain = region_chain.profile_name(p);
    }
    loader = loader.region(
        aws_config::meta::region::RegionProviderChain::first_try(region_chain.build())
            .or_else(Region::new("us-east-1")),
    );
    let config = loader.load().await;
    let chain = config.credentials_provider();
    let mut builder = config.into_builder();
    if let Some(chain) = chain {
        builder = builder.credentials_provider(resolved_once(chain));
    }
    Ok(builder.build())
}

/// `provider`, resolved once and shared until shortly before the credentials expire.
pub(crate) fn resolved_once(provider: SharedCredentialsProvider) -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(ResolvedOnce {
        chain: provider,
        cached: tokio::sync::Mutex::new(None),
    })
}

/// The credential chain, resolved once and shared until shortly before the credentials expire.
/// The SDK clients cache what they resolve, but the thin DescribeRegions request
/// ([`crate::regions`]) resolves its own: without this, a `credential_process`, an AssumeRole
/// or an SSO exchange would run twice per audit.
#[derive(Debug)]
struct ResolvedOnce {
    chain: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<aws_credential_types::Credentials>>,
}

impl ProvideCredentials for ResolvedOnce {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(async move {
            let mut cached = self.cached.lock().await;
            let fresh_enough = |c: &aws_credential_types::Credentials| {
                c.expiry()
                    .is_none_or(|at| at > std::time::SystemTime::now() + Duration::from_secs(300))
            };
            if let Some(c) = cached.as_ref().filter(|c| fresh_enough(c)) {
                return Ok(c.clone());
            }
            let resolved = self.chain.provide_credentials().await?;
            *cached = Some(resolved.clone());
            Ok(resolved)
        })
    }
}

/// A named profile must be in the shared config or credentials files (aws-config would
/// otherwise only say that no credentials were found).
async fn check_profile(name: &str) -> Result<(), CollectError> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let files =
        aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
            .await;
    let message = match files {
        Ok(set) if set.get_profile(name).is_some() => {
            // A role profile's source_profile chain must exist too (aws-config would only say
            // that no credentials were found).
            let mut current = name.to_owned();
            for _ in 0..16 {
                let Some(source) = set
                    .get_profile(&current)
                    .and_then(|p| p.get("source_profile"))
                    .map(str::to_owned)
                else {
                    return Ok(());
                };
                if source == current {
                    return Ok(());
                }
                if set.get_profile(&source).is_none() {
                    return Err(CollectError::Credentials {
                        message: format!(
                            "profile {current:?} takes its credentials from source_profile \
                             {source:?}, which is not in the AWS config or credentials files"
                        ),
                        advice: credentials_advice(Trouble::Profile),
                        detail: String::new(),
                    });
                }
                current = source;
            }
            return Ok(());
        }
        Ok(set) => {
            let mut known: Vec<&str> = set.profiles().collect();
            known.sort_unstable();
            format!(
                "profile {name:?} is not in the AWS config or credentials files ({})",
                if known.is_empty() {
                    "they define no profile".to_owned()
                } else {
                    format!("profiles there: {}", known.join(", "))
                }
            )
        }
        Err(e) => format!("profile {name:?}: the AWS config files cannot be read ({e})"),
    };
    Err(CollectError::Credentials {
        detail: message.clone(),
        message,
        advice: credentials_advice(Trouble::Profile),
    })
}

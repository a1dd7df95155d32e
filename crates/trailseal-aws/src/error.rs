//! Errors of the collector, and one readable line for any SDK error.

// The SDK crates re-export the shared smithy error types; any one of them will do.
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// What stops a collection as a whole (exit code 2 in the CLI). Anything narrower (one Region,
/// one key, one bucket) is recorded in the evidence instead and becomes an `error` finding.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// No credentials, expired credentials, no way to reach AWS, or the identity call was
    /// refused. `detail` is the SDK's whole error chain (printed with `-v` only).
    #[error("could not use AWS: {message}. {advice}")]
    Credentials {
        message: String,
        advice: &'static str,
        detail: String,
    },
    /// `--regions` named a Region that does not exist for this partition.
    #[error("unknown Region {name:?}{} (known: {known})", suggestion.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default())]
    UnknownRegion {
        name: String,
        known: String,
        suggestion: Option<String>,
    },
    /// The Regions to scan could not be listed and none were given.
    #[error("could not list the account's Regions ({0}); pass --regions a,b or grant ec2:DescribeRegions")]
    Regions(String),
}

/// What kind of trouble stopped a call before AWS answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trouble {
    NoCredentials,
    SsoSession,
    Profile,
    Network,
    Other,
}

/// What to do about a [`CollectError::Credentials`], by what went wrong.
pub(crate) fn credentials_advice(trouble: Trouble) -> &'static str {
    match trouble {
        Trouble::Network => {
            "Check the network (and any proxy or AWS_ENDPOINT_URL setting) and try again"
        }
        Trouble::SsoSession => "Run `aws sso login` (with the same --profile) and try again",
        Trouble::Profile => {
            "Pass --profile with a profile of ~/.aws/config (`aws configure list-profiles` lists them)"
        }
        Trouble::NoCredentials | Trouble::Other => {
            "Configure credentials (environment, `aws configure`, `aws sso login`, `--profile \
             NAME`), or run the demo without AWS: bash scripts/demo.sh --emulator"
        }
    }
}

/// The error and every error it wraps, outermost first.
fn chain<'a>(
    err: &'a (dyn std::error::Error + 'static),
) -> Vec<&'a (dyn std::error::Error + 'static)> {
    let mut out = vec![err];
    let mut next = err.source();
    while let Some(e) = next {
        out.push(e);
        next = e.source();
    }
    out
}

/// One line for an error that stopped a call before AWS answered: credentials that could not
/// be loaded, a connection refused, a host that does not resolve, a timeout. `None` when the
/// chain says nothing recognisable.
pub(crate) fn human(err: &(dyn std::error::Error + 'static)) -> Option<(Trouble, String)> {
    use aws_credential_types::provider::error::CredentialsError;
    let links = chain(err);
    let text: Vec<String> = links.iter().map(|e| e.to_string()).collect();
    let all = text.join(" | ").to_ascii_lowercase();
    let innermost = text.last().cloned().unwrap_or_default();
    let short = |s: &str| -> String {
        let s = s.trim();
        match s.char_indices().nth(200) {
            Some((cut, _)) => format!("{}...", &s[..cut]),
            None => s.to_owned(),
        }
    };
    for e in &links {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::CredentialsNotLoaded(_) => (
                    Trouble::NoCredentials,
                    "no AWS credentials were found (looked in: environment variables, the shared \
                     config and credentials files, SSO, web identity, container and instance \
                     metadata)"
                        .to_owned(),
                ),
                CredentialsError::ProviderTimedOut(_) => (
                    Trouble::Network,
                    "getting the credentials timed out".to_owned(),
                ),
                _ if all.contains("sso") && (all.contains("expired") || all.contains("token")) => (
                    Trouble::SsoSession,
                    format!(
                        "the SSO session has expired or is not logged in ({})",
                        short(&innermost)
                    ),
                ),
                _ if all.contains("profile") => (
                    Trouble::Profile,
                    format!("the profile cannot be used: {}", short(&innermost)),
                ),
                _ => (Trouble::Other, short(&innermost)),
            });
        }
    }
    let refused = links.iter().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
    }) || all.contains("connection refused");
    if refused {
        return Some((
            Trouble::Network,
            "could not reach AWS: the connection was refused".to_owned(),
        ));
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return Some((
            Trouble::Network,
            "could not reach AWS: the endpoint's host name does not resolve (no network?)"
                .to_owned(),
        ));
    }
    if all.contains("timed out") || all.contains("timeout") {
        return Some((
            Trouble::Network,
            "could not reach AWS: the request timed out".to_owned(),
        ));
    }
    None
}

/// `"kms:DescribeKey: AccessDeniedException: User ... is not authorized"`: the AWS error code and
/// message when the service answered, otherwise what went wrong on the way (timeout, connection
/// refused, credentials), in one line.
pub(crate) fn describe<E>(operation: &str, err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(_) => {
            let status = err
                .raw_response()
                .map(|r| r.status().as_u16())
                .unwrap_or_default();
            let code = match err.code() {
                Some(code) => code.to_owned(),
                None => format!("HTTP {status} without an AWS error code"),
            };
            match err.message() {
                Some(m) if !m.is_empty() => format!("{operation}: {code}: {m}"),
                _ => format!("{operation}: {code}"),
            }
        }
        SdkError::TimeoutError(_) => format!("{operation}: timed out"),
        _ => match human(err) {
            Some((_, line)) => format!("{operation}: {line}"),
            None => format!("{operation}: {}", DisplayErrorContext(err)),
        },
    }
}

/// The AWS error code of a service error, if the service answered.
pub(crate) fn code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ServiceError(_) => err.code(),
        _ => None,
    }
}

//! Errors of the collector, and one readable line for any SDK error.

// The SDK crates re-export the shared smithy error types; any one of them will do.
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// What stops a collection as a whole (exit code 2 in the CLI). Anything narrower (one Region,
/// one key, one bucket) is recorded in the evidence instead and becomes an `error` finding.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// No credentials, expired credentials, no way to reach AWS, or the identity call was
    /// refused. `detail` is the SDK's whole error chain (printed with `-v` only).
    #[error("could not use AWS: {}. {advice}", message.trim_end().trim_end_matches('.'))]
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
    /// `--org`: the organization or its accounts could not be listed (not the management
    /// account or a delegated administrator, not in an organization), or nothing is left to
    /// audit.
    #[error("{}. {advice}", message.trim_end().trim_end_matches('.'))]
    Organization {
        message: String,
        advice: &'static str,
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
            "Pass --profile (or set AWS_PROFILE) to a profile of ~/.aws/config or \
             ~/.aws/credentials (`aws configure list-profiles` lists them)"
        }
        Trouble::NoCredentials | Trouble::Other => {
            "Configure credentials (environment, `aws configure`, `aws sso login`, `--profile \
             NAME`); to try trailseal without an AWS account, run `bash scripts/demo.sh \
             --emulator` in its repository"
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

/// Error codes AWS answers credential providers with (STS, SSO): not a network or login problem.
const AWS_ERROR_CODES: &[&str] = &[
    "accessdenied",
    "invalidclienttokenid",
    "expiredtoken",
    "signaturedoesnotmatch",
    "invalididentitytoken",
    "regiondisabled",
];

/// What the SSO credential and token providers say when there is no valid login (not merely
/// "sso" somewhere in the text: a role may be named after it).
const SSO_MARKERS: &[&str] = &[
    "sso token",
    "sso session",
    "sso_session",
    "sso_start_url",
    "cached sso",
    "token has expired",
    "unauthorizedexception",
    "aws sso login",
];

/// One line for an error that stopped a call before AWS answered: credentials that could not
/// be loaded, a connection refused, a host that does not resolve, a timeout. `None` when the
/// chain says nothing recognisable.
pub(crate) fn human(err: &(dyn std::error::Error + 'static)) -> Option<(Trouble, String)> {
    use aws_credential_types::provider::error::CredentialsError;
    let links = chain(err);
    let text: Vec<String> = links.iter().map(|e| e.to_string()).collect();
    let all = text.join(" | ").to_ascii_lowercase();
    let innermost = short(text.last().map(String::as_str).unwrap_or_default());
    let credentials = links
        .iter()
        .find_map(|e| e.downcast_ref::<CredentialsError>());
    let while_getting = if credentials.is_some() {
        " while getting credentials"
    } else {
        ""
    };
    // The network first: a credential provider that could not reach its endpoint (STS for a
    // role, the SSO portal) is a network problem, not a configuration one.
    let io_kind = |kind: std::io::ErrorKind| {
        links.iter().any(|e| {
            e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == kind)
        })
    };
    if io_kind(std::io::ErrorKind::ConnectionRefused) || all.contains("connection refused") {
        return Some((
            Trouble::Network,
            format!("could not reach AWS{while_getting}: the connection was refused"),
        ));
    }
    if all.contains("dns error") || all.contains("failed to lookup address") {
        return Some((
            Trouble::Network,
            format!(
                "could not reach AWS{while_getting}: the endpoint's host name does not resolve \
                 (no network?)"
            ),
        ));
    }
    if let Some(c) = credentials {
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
            // An AWS error answered to a credential provider (AssumeRole denied, an expired
            // or invalid token): say so, with the provider's own words.
            _ if AWS_ERROR_CODES.iter().any(|c| all.contains(c)) => (
                Trouble::Other,
                format!("AWS refused the credentials or the role: {innermost}"),
            ),
            _ if SSO_MARKERS.iter().any(|m| all.contains(m)) => (
                Trouble::SsoSession,
                format!("the SSO login is missing or has expired: {innermost}"),
            ),
            _ if io_kind(std::io::ErrorKind::NotFound) => (
                Trouble::Other,
                format!("a file the credentials need does not exist: {innermost}"),
            ),
            _ if all.contains("profile") => (
                Trouble::Profile,
                format!("the profile cannot be used: {innermost}"),
            ),
            _ => (
                Trouble::Other,
                format!("the credentials could not be loaded: {innermost}"),
            ),
        });
    }
    if all.contains("timed out") || all.contains("timeout") {
        return Some((
            Trouble::Network,
            "could not reach AWS: the request timed out".to_owned(),
        ));
    }
    None
}

/// `s` on one line, at most 200 characters.
fn short(s: &str) -> String {
    let s = s.trim().replace('\n', " ");
    match s.char_indices().nth(200) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s,
    }
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
            // Something else before AWS answered: its innermost cause, on one line (the whole
            // chain is in the -v detail of fatal errors).
            None => {
                let links = chain(err);
                let innermost = links.last().map(|e| e.to_string()).unwrap_or_default();
                format!("{operation}: {}", short(&innermost))
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;

    fn classify(e: CredentialsError) -> (Trouble, String) {
        human(&e).expect("a credentials error is always classified")
    }

    #[test]
    fn aws_errors_from_a_credential_provider_are_not_called_sso_problems() {
        // A role named after SSO, refused by STS: AWS said no; not a login to renew.
        let (trouble, line) = classify(CredentialsError::provider_error(
            "AccessDenied: User is not authorized to perform sts:AssumeRole on \
             arn:aws:iam::111122223333:role/AWSReservedSSO_Audit",
        ));
        assert_eq!(trouble, Trouble::Other, "{line}");
        assert!(line.contains("AWS refused"), "{line}");
        let (trouble, _) = classify(CredentialsError::provider_error(
            "the SSO token has expired: run aws sso login",
        ));
        assert_eq!(trouble, Trouble::SsoSession);
        let (trouble, line) = classify(CredentialsError::provider_error(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "/var/run/secrets/token",
        )));
        assert_eq!(trouble, Trouble::Other, "{line}");
        assert!(line.contains("does not exist"), "{line}");
        let (trouble, _) = classify(CredentialsError::not_loaded_no_source());
        assert_eq!(trouble, Trouble::NoCredentials);
        let (trouble, _) = classify(CredentialsError::provider_error(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connect",
        )));
        assert_eq!(trouble, Trouble::Network);
    }
}

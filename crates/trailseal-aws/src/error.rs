//! Errors of the collector, and one readable line for any SDK error.

// The SDK crates re-export the shared smithy error types; any one of them will do.
use aws_sdk_sts::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// What stops a collection as a whole (exit code 2 in the CLI). Anything narrower (one Region,
/// one key, one bucket) is recorded in the evidence instead and becomes an `error` finding.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// No credentials, expired credentials, or the identity call was refused.
    #[error("could not use the AWS credentials: {0}. Configure credentials (environment, `aws configure`, `aws sso login`, `--profile NAME`) and try again")]
    Credentials(String),
    /// `--regions` named a Region that does not exist for this partition.
    #[error("unknown Region {name:?} (known: {known})")]
    UnknownRegion { name: String, known: String },
    /// The Regions to scan could not be listed and none were given.
    #[error("could not list the account's Regions ({0}); pass --regions a,b or grant ec2:DescribeRegions")]
    Regions(String),
}

/// `"kms:DescribeKey: AccessDeniedException: User ... is not authorized"`: the AWS error code and
/// message when the service answered, otherwise what went wrong on the way (timeout, connection
/// refused, credentials).
pub(crate) fn describe<E>(operation: &str, err: &SdkError<E>) -> String
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
        SdkError::DispatchFailure(_) => {
            format!(
                "{operation}: could not reach AWS ({})",
                DisplayErrorContext(err)
            )
        }
        _ => format!("{operation}: {}", DisplayErrorContext(err)),
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

//! TS009 delivery-healthy (high)
//!
//! What it checks
//!   GetTrailStatus, read in the trail's home Region: the trail is logging (`IsLogging`) and
//!   neither `LatestDeliveryError` nor `LatestDigestDeliveryError` is set. A delivery error is
//!   classified as pointing at KMS (KMS.DisabledException, KMS.NotFoundException,
//!   InsufficientEncryptionPolicyException, ...) or at S3 (AccessDenied, NoSuchBucket, ...).
//!
//! Why it matters
//!   This is AWS telling you, after the fact, that logs are not arriving. A KMS delivery error
//!   means the key chain (TS002-TS006) is broken right now.
//!
//! Example
//!   `LatestDeliveryError: KMS.DisabledException` after the key was disabled, or
//!   `AccessDenied` after the bucket policy was tightened.
//!
//! How to fix
//!   For KMS errors fix the key (TS002-TS006); for S3 errors fix the bucket policy
//!   (CloudTrail needs s3:PutObject with `bucket-owner-full-control`); for a stopped trail run
//!   `aws cloudtrail start-logging --name <trail>`.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::finding;
use crate::{Applies, Check, CheckInfo, Runner, DELIVERY_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS009",
        name: "delivery-healthy",
        severity: Severity::High,
        title: "the trail is not logging, or its latest delivery failed",
        compliance: DELIVERY_COMPLIANCE,
        applies: Applies::ACCOUNT,
        compliant: false,
        source: include_str!("ts009_delivery_healthy.rs"),
    },
    runner: Runner::Trail(run),
};

/// Which service a CloudTrail delivery error points at.
pub(crate) fn classify(error: &str) -> &'static str {
    let e = error.to_ascii_lowercase();
    if e.contains("kms")
        || e.contains("encryption")
        || e.contains("keynotfound")
        || e.contains("keydisabled")
    {
        "KMS"
    } else if e.contains("bucket")
        || e.contains("accessdenied")
        || e.contains("s3")
        || e.contains("nosuch")
    {
        "S3"
    } else {
        "unknown"
    }
}

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let t = &ev.trail;
    let Some(status) = &t.status else {
        let why = t
            .status_error
            .clone()
            .unwrap_or_else(|| "GetTrailStatus was not read".into());
        return finding(
            info,
            ev,
            Status::Error,
            format!(
                "could not read the trail status in {}: {why}",
                t.home_region
            ),
            "Grant the auditing principal cloudtrail:GetTrailStatus.".into(),
            json!({}),
        );
    };
    let evidence = json!({
        "is_logging": status.is_logging,
        "latest_delivery_error": status.latest_delivery_error,
        "latest_digest_delivery_error": status.latest_digest_delivery_error,
        "latest_delivery_time": status.latest_delivery_time,
    });
    let errors: Vec<(&str, &str)> = [
        ("log", status.latest_delivery_error.as_deref()),
        ("digest", status.latest_digest_delivery_error.as_deref()),
    ]
    .into_iter()
    .filter_map(|(kind, e)| e.filter(|e| !e.trim().is_empty()).map(|e| (kind, e)))
    .collect();
    if !status.is_logging {
        return finding(
            info,
            ev,
            Status::Fail,
            "the trail is not logging: no events are recorded".into(),
            format!(
                "aws cloudtrail start-logging --region {} --name {}",
                t.home_region, t.arn
            ),
            evidence,
        );
    }
    if errors.is_empty() {
        return finding(
            info,
            ev,
            Status::Pass,
            "the trail is logging and its latest delivery succeeded".into(),
            "Nothing to do.".into(),
            evidence,
        );
    }
    let described: Vec<String> = errors
        .iter()
        .map(|(kind, e)| {
            format!(
                "latest {kind} file delivery failed with {e} (points at {})",
                classify(e)
            )
        })
        .collect();
    let kms = errors.iter().any(|(_, e)| classify(e) == "KMS");
    let fix = if kms {
        "The key chain is broken: fix the findings of TS002-TS006 for this trail (key exists, enabled, customer-managed, \
         in the bucket's Region, key policy allows CloudTrail)."
    } else {
        "Fix the bucket: it must exist and its policy must let cloudtrail.amazonaws.com s3:GetBucketAcl and s3:PutObject \
         (with s3:x-amz-acl bucket-owner-full-control) for this trail."
    };
    finding(
        info,
        ev,
        Status::Fail,
        described.join("; "),
        fix.into(),
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::classify;

    #[test]
    fn real_aws_delivery_errors_are_classified() {
        assert_eq!(classify("KMS.DisabledException"), "KMS");
        assert_eq!(classify("KMS.NotFoundException"), "KMS");
        assert_eq!(classify("InsufficientEncryptionPolicyException"), "KMS");
        assert_eq!(classify("AccessDenied"), "S3");
        assert_eq!(classify("NoSuchBucket"), "S3");
        assert_eq!(classify("InternalFailure"), "unknown");
    }
}

//! TS002 key-exists (critical)
//!
//! What it checks
//!   The trail's `KmsKeyId` (a key ARN, alias name, alias ARN or bare key id) resolves to a KMS
//!   key, looked up with kms:DescribeKey in the key's own Region (the Region of an ARN, else the
//!   trail's home Region).
//!
//! Why it matters
//!   CloudTrail cannot encrypt with a key that does not exist: delivery stops
//!   (KmsKeyNotFoundException). Deleted keys and aliases that were removed or re-pointed
//!   are the usual causes.
//!
//! Example
//!   `KmsKeyId: alias/cloudtrail` after the alias was deleted, or the ARN of a key whose
//!   deletion completed.
//!
//! How to fix
//!   Point the trail at an existing customer-managed key:
//!   `aws cloudtrail update-trail --name <trail> --kms-key-id <key ARN>`
//!   (prefer the key ARN over an alias, so that re-pointing an alias cannot break the trail).

use serde_json::json;
use trailseal_model::{Finding, LookupError, Severity, Status, TrailEvidence};

use crate::support::{finding, key_reference};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS002",
        name: "key-exists",
        severity: Severity::Critical,
        title: "the trail's KmsKeyId does not resolve to a KMS key",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
        source: include_str!("ts002_key_exists.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let reference = match key_reference(info, ev) {
        Ok(r) => r,
        Err(f) => return *f,
    };
    let region = trailseal_model::key_region(reference, &ev.trail.home_region);
    match (&ev.key, &ev.key_error) {
        // Unknown first: infrastructure as code may know some facts of a key whose
        // existence it cannot know (a key ARN outside the configuration).
        (_, Some(LookupError::Unknown(why))) => finding(
            info,
            ev,
            Status::Indeterminate,
            format!("{reference} cannot be resolved before deployment: {why}"),
            "Define the key in the same template/configuration, or audit the deployed account (trailseal audit).".into(),
            json!({"kms_key_id": reference, "region": region, "unknown": why}),
        ),
        (Some(key), _) => finding(
            info,
            ev,
            Status::Pass,
            format!("{reference} resolves to {}", key.arn.as_deref().unwrap_or(reference)),
            "Nothing to do.".into(),
            json!({"kms_key_id": reference, "key_arn": key.arn, "region": region}),
        ),
        (None, Some(LookupError::NotFound(why))) => finding(
            info,
            ev,
            Status::Fail,
            format!("{reference} does not resolve to a KMS key in {region} ({why}): CloudTrail cannot deliver logs"),
            format!(
                "Point the trail at an existing customer-managed key in the bucket's Region: \
                 aws cloudtrail update-trail --region {} --name {} --kms-key-id <key ARN>",
                ev.trail.home_region, ev.trail.arn
            ),
            json!({"kms_key_id": reference, "region": region, "error": why}),
        ),
        (None, Some(LookupError::Failed(why))) => finding(
            info,
            ev,
            Status::Error,
            format!("could not look up {reference} in {region}: {why}"),
            "Grant the auditing principal kms:DescribeKey on the key and run the audit again.".into(),
            json!({"kms_key_id": reference, "region": region, "error": why}),
        ),
        (None, None) => finding(
            info,
            ev,
            Status::Error,
            format!("{reference} was not looked up"),
            "Run the audit again; if it persists, report a bug.".into(),
            json!({"kms_key_id": reference, "region": region}),
        ),
    }
}

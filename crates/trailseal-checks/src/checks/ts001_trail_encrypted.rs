//! TS001 trail-encrypted (high)
//!
//! What it checks
//!   The trail has a `KmsKeyId`: its log files are encrypted with SSE-KMS rather than only the
//!   bucket's default SSE-S3 encryption. This is the control as the CIS AWS Foundations
//!   Benchmark states it (v1.2 2.7, v1.4-v2.0 3.7, v3-v5 3.5, v6-v7 4.5) and as Security Hub
//!   CloudTrail.2 and AWS Config `cloud-trail-encryption-enabled` check it. An empty string
//!   (what `update-trail --kms-key-id ""` leaves) counts as no key.
//!
//! Why it matters
//!   With SSE-KMS, reading a log file needs both S3 read access and kms:Decrypt on the key, and
//!   every decryption is itself logged by KMS. Without it, anybody who can read the bucket can
//!   read the account's complete API history.
//!
//! Example
//!   A trail created with `aws cloudtrail create-trail --name main --s3-bucket-name logs`
//!   and no `--kms-key-id`.
//!
//! How to fix
//!   Create a customer-managed symmetric key in the bucket's Region with the CloudTrail key
//!   policy statements (see TS006-TS008), then
//!   `aws cloudtrail update-trail --name <trail> --kms-key-id <key ARN>`.
//!   `trailseal fix` plans this (a key in the bucket's Region whose policy it proves with the
//!   same engine, the trail update, and the backout); `trailseal fix --apply` applies it with a
//!   journal, and `trailseal rollback JOURNAL` undoes it.

use serde_json::json;
use trailseal_model::{Fact, Finding, Severity, Status, TrailEvidence};

use crate::support::finding;
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS001",
        name: "trail-encrypted",
        severity: Severity::High,
        title: "the trail has no KmsKeyId (logs are not encrypted with SSE-KMS)",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
        source: include_str!("ts001_trail_encrypted.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    match ev.trail.key_setting() {
        Fact::Unknown(why) => finding(
            info,
            ev,
            Status::Indeterminate,
            format!("whether the trail has a KMS key cannot be known before deployment: {why}"),
            "Give the key statically, or audit the deployed account (trailseal audit).".into(),
            json!({"kms_key_id": null, "unknown": why}),
        ),
        Fact::Unreadable(why) => finding(
            info,
            ev,
            Status::Error,
            format!("could not read the trail's KmsKeyId: {why}"),
            "Grant the auditing principal cloudtrail:DescribeTrails.".into(),
            json!({"kms_key_id": null, "error": why}),
        ),
        Fact::Known(Some(key)) => finding(
            info,
            ev,
            Status::Pass,
            format!("log files are encrypted with SSE-KMS under {key}"),
            "Nothing to do (TS002-TS006 check that CloudTrail can use the key).".into(),
            json!({"kms_key_id": key}),
        ),
        Fact::Known(None) => finding(
            info,
            ev,
            Status::Fail,
            "the trail has no KmsKeyId: log files are not encrypted with SSE-KMS".into(),
            format!(
                "Create a customer-managed symmetric KMS key in the bucket's Region with the CloudTrail key \
                 policy statements, then run: aws cloudtrail update-trail --region {} --name {} --kms-key-id <key ARN>",
                ev.trail.home_region, ev.trail.arn
            ),
            json!({"kms_key_id": ev.trail.kms_key_id}),
        ),
    }
}

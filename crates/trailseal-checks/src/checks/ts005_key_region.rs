//! TS005 key-region (high)
//!
//! What it checks
//!   The trail's key is in the same Region as the S3 bucket that receives the logs (the
//!   bucket's Region from GetBucketLocation: an empty location means us-east-1, `EU` means
//!   eu-west-1). A multi-Region key passes when it has a replica in the bucket's Region.
//!
//! Why it matters
//!   AWS requires the KMS key to be in the bucket's Region. A multi-Region trail whose bucket is
//!   in eu-west-1 but whose key is in us-east-1 cannot deliver its logs.
//!
//! Example
//!   The trail was moved to a central logging bucket in another Region and kept its old key.
//!
//! How to fix
//!   Create a key in the bucket's Region (or replicate a multi-Region key there with
//!   `aws kms replicate-key`) and point the trail at it.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, key};
use crate::{Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS005",
        name: "key-region",
        severity: Severity::High,
        title: "the key is not in the bucket's Region",
        compliance: CONTROL_COMPLIANCE,
        source: include_str!("ts005_key_region.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let key = match key(info, ev) {
        Ok(k) => k,
        Err(f) => return *f,
    };
    let arn = key.arn.clone().unwrap_or_default();
    let Some(key_region) = key.region.clone() else {
        return finding(
            info,
            ev,
            Status::Error,
            format!("the Region of {arn} is unknown"),
            "Run the audit again.".into(),
            json!({}),
        );
    };
    let bucket_name = ev.trail.s3_bucket_name.clone().unwrap_or_default();
    let bucket_region = match &ev.bucket {
        Some(b) if b.region.is_some() => b.region.clone().unwrap_or_default(),
        Some(b) if b.unknown.is_some() => {
            let why = b.unknown.clone().unwrap_or_default();
            return finding(
                info,
                ev,
                Status::Indeterminate,
                format!("the Region of bucket {bucket_name} cannot be known before deployment: {why}"),
                "Make sure the bucket is in the key's Region, or audit the deployed account (trailseal audit).".into(),
                json!({"key_region": key_region, "bucket": bucket_name}),
            );
        }
        Some(b) => {
            let why = b.error.clone().unwrap_or_else(|| "unknown".into());
            return finding(
                info,
                ev,
                Status::Error,
                format!("could not read the Region of bucket {bucket_name}: {why}"),
                "Grant the auditing principal s3:GetBucketLocation on the trail's bucket.".into(),
                json!({"key_region": key_region, "bucket": bucket_name}),
            );
        }
        None => {
            return finding(
                info,
                ev,
                Status::Error,
                format!("the trail's bucket {bucket_name:?} was not read"),
                "Grant the auditing principal s3:GetBucketLocation on the trail's bucket.".into(),
                json!({"key_region": key_region}),
            )
        }
    };
    let evidence = json!({"key_region": key_region, "bucket": bucket_name, "bucket_region": bucket_region,
        "multi_region_regions": key.multi_region_regions});
    if key_region == bucket_region {
        finding(
            info,
            ev,
            Status::Pass,
            format!("the key and bucket {bucket_name} are both in {key_region}"),
            "Nothing to do.".into(),
            evidence,
        )
    } else if key.multi_region == Some(true) && key.multi_region_regions.contains(&bucket_region) {
        finding(
            info,
            ev,
            Status::Pass,
            format!(
                "{arn} is a multi-Region key with a replica in the bucket's Region {bucket_region}"
            ),
            "Nothing to do.".into(),
            evidence,
        )
    } else {
        finding(
            info,
            ev,
            Status::Fail,
            format!(
                "{arn} is in {key_region} but bucket {bucket_name} is in {bucket_region}: CloudTrail needs a key in the bucket's Region"
            ),
            format!(
                "Create a customer-managed key in {bucket_region} (or replicate a multi-Region key there: aws kms replicate-key \
                 --key-id <mrk ARN> --replica-region {bucket_region}) and run aws cloudtrail update-trail --region {} --name {} --kms-key-id <key ARN>",
                ev.trail.home_region, ev.trail.arn
            ),
            evidence,
        )
    }
}

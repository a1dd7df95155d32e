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

use crate::support::{finding, key, key_name, require};
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
    let arn = key_name(key);
    let key_region = match require(
        info,
        ev,
        &key.region,
        &format!("the Region of {arn}"),
        "Run the audit again.",
    ) {
        Ok(r) => r.clone(),
        Err(f) => return *f,
    };
    let bucket_name = match require(
        info,
        ev,
        &ev.trail.s3_bucket_name,
        "the trail's bucket",
        "Grant the auditing principal cloudtrail:DescribeTrails.",
    ) {
        Ok(b) => b.clone(),
        Err(f) => return *f,
    };
    let Some(bucket) = &ev.bucket else {
        return finding(
            info,
            ev,
            Status::Error,
            format!("the trail's bucket {bucket_name:?} was not read"),
            "Grant the auditing principal s3:GetBucketLocation on the trail's bucket.".into(),
            json!({"key_region": key_region}),
        );
    };
    let bucket_region = match require(
        info,
        ev,
        &bucket.region,
        &format!("the Region of bucket {bucket_name}"),
        "Grant the auditing principal s3:GetBucketLocation on the trail's bucket.",
    ) {
        Ok(r) => r.clone(),
        Err(f) => return *f,
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
    } else if key.multi_region.is(&true) == Some(true)
        && key.multi_region_regions.contains(&bucket_region)
    {
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

//! TS005 key-region (high)
//!
//! What it checks
//!   The trail's key is in the same Region as the S3 bucket that receives the logs (the
//!   bucket's Region from GetBucketLocation: an empty location means us-east-1, `EU` means
//!   eu-west-1). A multi-Region key is judged by the key the trail names: its replica in the
//!   bucket's Region counts when the trail names the replica. A trail naming the key in another
//!   Region is `indeterminate` even when a replica exists in the bucket's Region: whether
//!   CloudTrail would use the replica is not documented, and the replica's state and key policy
//!   are its own. Before deployment, a Region the configuration does not set (the deploying
//!   Region) compared with a named one is `indeterminate`.
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
//!   `aws kms replicate-key`) and point the trail at it (for a replica: at the replica's ARN).

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence, SYMBOLIC_REGION};

use crate::support::{finding, key, key_name, require};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS005",
        name: "key-region",
        severity: Severity::High,
        title: "the key is not in the bucket's Region",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
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
    // The bucket's evidence, found by its name (or, before deployment, by the bucket resource
    // when the name is generated at deploy time: its Region is still known).
    let Some(bucket) = &ev.bucket else {
        if let Err(f) = require(
            info,
            ev,
            &ev.trail.s3_bucket_name,
            "the trail's bucket",
            "Grant the auditing principal cloudtrail:DescribeTrails.",
        ) {
            return *f;
        }
        return finding(
            info,
            ev,
            Status::Error,
            format!(
                "the trail's bucket {:?} was not read",
                ev.trail.s3_bucket_name.known().cloned().unwrap_or_default()
            ),
            "Grant the auditing principal s3:GetBucketLocation on the trail's bucket.".into(),
            json!({"key_region": key_region}),
        );
    };
    let bucket_name = bucket.name.clone();
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
    // Infrastructure as code: one Region is the deploying Region, which the configuration does
    // not set, the other a named Region: they may be the same or not.
    if (key_region == SYMBOLIC_REGION) != (bucket_region == SYMBOLIC_REGION) {
        return finding(
            info,
            ev,
            Status::Indeterminate,
            format!(
                "the key is in {key_region} and bucket {bucket_name} in {bucket_region}; the deploying \
                 Region is not set in the configuration, so whether they are the same cannot be known"
            ),
            "Set the Region explicitly (provider region, or the resource's region), or audit the deployed account (trailseal audit).".into(),
            evidence,
        );
    }
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
        // The trail names the key in another Region. Whether CloudTrail then uses the replica
        // in the bucket's Region is not documented, and the replica has its own state and
        // policy (not the ones TS003/TS006 checked): not a pass.
        finding(
            info,
            ev,
            Status::Indeterminate,
            format!(
                "{arn} is in {key_region}, not in the bucket's Region {bucket_region}; it is a multi-Region key \
                 with a replica there, but the trail names the key in {key_region}, and the replica's state and \
                 policy are its own"
            ),
            format!(
                "Point the trail at the replica in {bucket_region} (aws cloudtrail update-trail --region {} --name {} \
                 --kms-key-id <replica ARN in {bucket_region}>), and make sure its key policy allows CloudTrail.",
                ev.trail.home_region, ev.trail.arn
            ),
            evidence,
        )
    } else if let Err(f) = require(
        info,
        ev,
        &key.multi_region,
        &format!(
            "whether {arn} is a multi-Region key (it is in {key_region}, the bucket in {bucket_region}; a replica there would make this undecided rather than a failure)"
        ),
        "Grant the auditing principal kms:DescribeKey on the key.",
    ) {
        // Not in the bucket's Region: a failure, unless it is a multi-Region key with a
        // replica there (undecided, above). Not knowing which is not a failure.
        *f
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

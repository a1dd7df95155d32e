//! TS016 delivered-logs-encrypted (high)
//!
//! What it checks
//!   Evidence of effect: the most recently delivered log file of the trail (the newest object
//!   named as CloudTrail names log files under
//!   `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/HOME_REGION/YYYY/MM/DD/` in the last two hours;
//!   organization trails under `AWSLogs/ORG_ID/ACCOUNT/`) is encrypted with SSE-KMS under the
//!   trail's own key (`ServerSideEncryption: aws:kms` and `SSEKMSKeyId` = the key the trail's
//!   `KmsKeyId` resolves to). A logging trail with no log file in that window fails (delivery
//!   is failing), and so does one whose latest delivery failed (`LatestDeliveryError`); when
//!   CloudTrail reports a delivery in the window but the folder is empty, the path is wrong
//!   (indeterminate). Only object metadata is read (ListObjectsV2, HeadObject), never a log file's
//!   contents. Log file names do not name the trail: when other trails write, or may write
//!   unseen (their Region was not scanned), into the same folder (same bucket, prefix and
//!   Region), a file found there proves nothing about this trail, and the result is
//!   `indeterminate` (an empty folder still fails).
//!
//! Why it matters
//!   Configuration says what should happen; auditors ask for what did. A trail whose key or
//!   bucket policy broke stops delivering while its configuration still looks right, and files
//!   written before a key change stay under the old key or under SSE-S3.
//!
//! Example
//!   The newest file is `AES256` (SSE-S3) because the trail was encrypted only after it was
//!   written and has delivered nothing since; or it is SSE-KMS under another key (the trail was
//!   re-pointed and the new key's policy refuses CloudTrail); or the folder for today and
//!   yesterday is empty while `GetTrailStatus` says the trail is logging.
//!
//! How to fix
//!   Fix what stops delivery (TS002-TS006 for the key, TS014 for the bucket policy, TS009 for
//!   the delivery error), then check that a new file arrives within minutes:
//!     aws s3api list-objects-v2 --bucket BUCKET --prefix AWSLogs/ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/
//!     aws s3api head-object --bucket BUCKET --key KEY
//!   The auditing principal needs `s3:ListBucket` on the bucket and `s3:GetObject` on its
//!   `AWSLogs/*` objects (HeadObject; trailseal never downloads a file).

use serde_json::json;
use trailseal_model::{
    DeliveredObject, Fact, Finding, Severity, Status, TrailEvidence, LOG_FILE_WINDOW_HOURS,
};

use trailseal_policy::parse_date;

use crate::support::finding;
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS016",
        name: "delivered-logs-encrypted",
        severity: Severity::High,
        title: "the latest delivered log file is not SSE-KMS under the trail's key, or none was delivered lately",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::ACCOUNT,
        compliant: false,
        source: include_str!("ts016_delivered_logs_encrypted.rs"),
    },
    runner: Runner::Trail(run),
};

/// How the key HeadObject names compares with the trail's key (an ARN).
enum KeyMatch {
    Same,
    /// The same multi-Region key (`mrk-` id), in another Region: whether HeadObject reports
    /// the replica's ARN is not documented.
    OtherReplica,
    Other,
}

fn compare_keys(trail_key_arn: &str, used: &str) -> KeyMatch {
    let id = |arn: &str| arn.rsplit('/').next().unwrap_or(arn).to_owned();
    let account = |arn: &str| arn.split(':').nth(4).unwrap_or_default().to_owned();
    if used == trail_key_arn {
        return KeyMatch::Same;
    }
    // A bare key id (some emulators; AWS gives the ARN).
    if !used.starts_with("arn:") {
        return if id(trail_key_arn) == used {
            KeyMatch::Same
        } else {
            KeyMatch::Other
        };
    }
    if id(used).starts_with("mrk-")
        && id(used) == id(trail_key_arn)
        && account(used) == account(trail_key_arn)
    {
        return KeyMatch::OtherReplica;
    }
    KeyMatch::Other
}

/// Hours of the window the collection searched.
const WINDOW_HOURS: u64 = LOG_FILE_WINDOW_HOURS;

fn run(ev: &TrailEvidence) -> Finding {
    let trail = &ev.trail;
    let searched = trail.log_file_search.clone();
    let out =
        |status: Status, message: String, remediation: &str, object: Option<&DeliveredObject>| {
            finding(
                &CHECK.info,
                ev,
                status,
                message,
                remediation.to_owned(),
                json!({
                    "searched": searched,
                    "searched_at": trail.log_file_searched_at,
                    "latest_log_file": object,
                }),
            )
        };
    let status = trail.status.as_ref();
    if status.is_some_and(|s| !s.is_logging) {
        return out(
            Status::Skipped,
            "the trail is not logging (see TS009)".into(),
            "Start logging (TS009); this check then looks at the files it delivers.",
            None,
        );
    }
    if let Some(error) = status.and_then(|s| s.latest_delivery_error.as_deref()) {
        return out(
            Status::Fail,
            format!("CloudTrail reports that its latest delivery failed ({error}): delivery is failing"),
            "Fix what stops delivery: the key (TS002-TS006), the bucket policy (TS014) and the delivery error (TS009).",
            None,
        );
    }
    let object = match &trail.latest_log_file {
        Fact::Known(Some(object)) => object,
        Fact::Known(None) => {
            let Some(status) = status else {
                return out(
                    Status::Error,
                    format!(
                        "no log file was found in the last {WINDOW_HOURS} hours and whether the trail is logging could not be read{}",
                        trail
                            .status_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                    "Grant the auditing principal cloudtrail:GetTrailStatus.",
                    None,
                );
            };
            // CloudTrail says it delivered within the window, yet the folder holds nothing:
            // the path searched is not where the files go.
            let recent = match (
                status.latest_delivery_time.as_deref().and_then(parse_date),
                trail.log_file_searched_at.as_deref().and_then(parse_date),
            ) {
                (Some(delivered), Some(at)) => at - delivered <= (WINDOW_HOURS * 3_600) as f64,
                _ => false,
            };
            if recent {
                return out(
                    Status::Indeterminate,
                    format!(
                        "CloudTrail reports a delivery at {} but no log file was found under {}: the files go elsewhere",
                        status.latest_delivery_time.as_deref().unwrap_or_default(),
                        searched.first().map_or("its log path", String::as_str)
                    ),
                    "Check the trail's S3 key prefix and bucket (aws cloudtrail describe-trails) against the bucket's contents.",
                    None,
                );
            }
            return out(
                Status::Fail,
                format!(
                    "no log file was delivered in the last {WINDOW_HOURS} hours under {} although the trail is logging{}: delivery is failing (or, for a trail that logs only data events, nothing happened)",
                    searched.first().map_or("its log path", String::as_str),
                    status
                        .latest_delivery_time
                        .as_deref()
                        .map(|t| format!(" (last delivery: {t})"))
                        .unwrap_or_default()
                ),
                "Fix what stops delivery: the key (TS002-TS006), the bucket policy (TS014) and the delivery error GetTrailStatus reports (TS009).",
                None,
            );
        }
        Fact::Unknown(why) => {
            return out(
                Status::Indeterminate,
                format!("the trail's latest log file is not known: {why}"),
                "Audit the deployed account (trailseal audit).",
                None,
            )
        }
        Fact::Unreadable(why) => {
            return out(
                Status::Error,
                format!("could not look for the trail's latest log file: {why}"),
                "Grant the auditing principal s3:ListBucket on the trail's bucket and s3:GetObject on its AWSLogs/* objects (HeadObject reads metadata only).",
                None,
            )
        }
    };
    // Several trails may write into this folder: the newest file may be another trail's.
    let sharers = if !ev.log_folder_shared_with.is_empty() {
        Some(format!(
            "other trails write into it too ({})",
            ev.log_folder_shared_with.join(", ")
        ))
    } else {
        ev.log_folder_sharers_unknown.clone()
    };
    if let Some(why) = sharers {
        return out(
            Status::Indeterminate,
            format!(
                "the latest log file {} cannot be told to be this trail's: {why}",
                object.key
            ),
            "Give each trail its own S3 key prefix (aws cloudtrail update-trail --s3-key-prefix NAME, with the bucket policy's write grant covering it), and audit every Region: then its files can be checked.",
            Some(object),
        );
    }
    let when = object.last_modified.as_deref().unwrap_or("an unknown time");
    let Some(sse) = object.server_side_encryption.as_deref() else {
        // S3 encrypts every new object (since January 2023): no answer is an incomplete one.
        return out(
            Status::Error,
            format!(
                "HeadObject did not say how the latest log file {} is encrypted",
                object.key
            ),
            "Run the audit again; if it persists, compare with aws s3api head-object.",
            Some(object),
        );
    };
    if sse == "aws:kms:dsse" {
        return out(
            Status::Indeterminate,
            format!(
                "the latest log file {} ({when}) is DSSE-KMS, which CloudTrail does not write (it asks for SSE-KMS): it may not be this trail's",
                object.key
            ),
            "Check who writes into the trail's folder.",
            Some(object),
        );
    }
    if sse != "aws:kms" {
        return out(
            Status::Fail,
            format!(
                "the latest log file {} ({when}) is encrypted with {sse}, not SSE-KMS",
                object.key
            ),
            "Encrypt the trail with a customer-managed KMS key (TS001) and fix what stops delivery under it (TS002-TS006, TS014); new files then arrive SSE-KMS.",
            Some(object),
        );
    }
    let Some(used) = object.kms_key_id.as_deref() else {
        return out(
            Status::Error,
            format!(
                "the latest log file {} is SSE-KMS but HeadObject named no key",
                object.key
            ),
            "Run the audit again; if it persists, compare the object's key with aws s3api head-object.",
            Some(object),
        );
    };
    // The trail's key: the resolved key's ARN, else the configured KmsKeyId when it is a key
    // ARN (DescribeTrails returns one).
    let expected = ev.key.as_ref().and_then(|k| k.arn.clone()).or_else(|| {
        trail
            .key_id()
            .filter(|r| r.starts_with("arn:") && r.contains(":key/"))
            .map(str::to_owned)
    });
    match (trail.key_setting(), expected) {
        (Fact::Known(None), _) => out(
            Status::Fail,
            format!(
                "the latest log file {} ({when}) is SSE-KMS under {used}, but the trail has no key now: new files are not encrypted with SSE-KMS",
                object.key
            ),
            "Encrypt the trail with a customer-managed KMS key (TS001).",
            Some(object),
        ),
        (_, Some(arn)) => match compare_keys(&arn, used) {
            KeyMatch::Same => out(
                Status::Pass,
                format!(
                    "the latest log file {} ({when}) is SSE-KMS under the trail's key",
                    object.key
                ),
                "Nothing to do.",
                Some(object),
            ),
            KeyMatch::OtherReplica => out(
                Status::Indeterminate,
                format!(
                    "the latest log file {} ({when}) is SSE-KMS under {used}, a Region's replica of the trail's multi-Region key {arn}: which ARN S3 reports for it is not documented",
                    object.key
                ),
                "Compare with aws s3api head-object and aws kms describe-key.",
                Some(object),
            ),
            KeyMatch::Other => out(
                Status::Fail,
                format!(
                    "the latest log file {} ({when}) is SSE-KMS under {used}, not under the trail's key {arn}: CloudTrail has not delivered under the current key",
                    object.key
                ),
                "Fix what stops delivery under the trail's key (TS002-TS006, TS014), then check that new files arrive under it.",
                Some(object),
            ),
        },
        (_, None) => out(
            Status::Error,
            format!(
                "the latest log file {} is SSE-KMS under {used}; the trail's key could not be resolved to compare (see TS002)",
                object.key
            ),
            "Make sure the trail's key exists and the auditing principal may call kms:DescribeKey on it.",
            Some(object),
        ),
    }
}

//! TS016 delivered-logs-encrypted (high)
//!
//! What it checks
//!   Evidence of effect: the most recently delivered log file of the trail (the newest object
//!   under `[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/HOME_REGION/` for today and yesterday, UTC;
//!   organization trails under `AWSLogs/ORG_ID/ACCOUNT/`) is encrypted with SSE-KMS under the
//!   trail's own key (`ServerSideEncryption: aws:kms` and `SSEKMSKeyId` = the key the trail's
//!   `KmsKeyId` resolves to). A logging trail with no log file in that window fails: delivery
//!   is failing. Only object metadata is read (ListObjectsV2, HeadObject), never a log file's
//!   contents. Log file names do not name the trail: when other trails write into the same
//!   folder (same bucket, prefix and Region), a file found there proves nothing about this
//!   trail, and the result is `indeterminate` (an empty folder still fails).
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
use trailseal_model::{DeliveredObject, Fact, Finding, Severity, Status, TrailEvidence};

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

/// Whether the key HeadObject names is the trail's key (an ARN): the same ARN, or, when
/// HeadObject gives a bare key id (some emulators do; AWS gives the ARN), the same id.
fn same_key(trail_key_arn: &str, used: &str) -> bool {
    if used.starts_with("arn:") {
        return used == trail_key_arn;
    }
    trail_key_arn.rsplit('/').next() == Some(used)
}

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
                json!({"searched": searched, "latest_log_file": object}),
            )
        };
    let object = match &trail.latest_log_file {
        Fact::Known(Some(object)) => object,
        Fact::Known(None) => {
            let logging = trail.status.as_ref().map(|s| s.is_logging);
            return match logging {
                Some(true) => out(
                    Status::Fail,
                    format!(
                        "no log file was delivered under {} (today and yesterday, UTC) although the trail is logging: delivery is failing",
                        searched.first().map_or("its log path", String::as_str)
                    ),
                    "Fix what stops delivery: the key (TS002-TS006), the bucket policy (TS014) and the delivery error GetTrailStatus reports (TS009).",
                    None,
                ),
                Some(false) => out(
                    Status::Skipped,
                    "the trail is not logging and delivered nothing lately (see TS009)".into(),
                    "Start logging (TS009); this check then looks at the files it delivers.",
                    None,
                ),
                None => out(
                    Status::Error,
                    format!(
                        "no log file was found lately and whether the trail is logging could not be read{}",
                        trail
                            .status_error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ),
                    "Grant the auditing principal cloudtrail:GetTrailStatus.",
                    None,
                ),
            };
        }
        Fact::Unknown(why) => {
            return out(
                Status::Indeterminate,
                format!("the delivered log files cannot be known before deployment: {why}"),
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
    // Several trails write into this folder: the newest file may be another trail's.
    if !ev.log_folder_shared_with.is_empty() {
        return out(
            Status::Indeterminate,
            format!(
                "the latest log file {} is in a folder other trails write too ({}): it cannot be told whose it is",
                object.key,
                ev.log_folder_shared_with.join(", ")
            ),
            "Give each trail its own S3 key prefix (aws cloudtrail update-trail --s3-key-prefix NAME, with the bucket policy's write grant covering it): then its files can be checked.",
            Some(object),
        );
    }
    let sse = object.server_side_encryption.as_deref().unwrap_or("none");
    let when = object.last_modified.as_deref().unwrap_or("an unknown time");
    if sse != "aws:kms" && sse != "aws:kms:dsse" {
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
        (_, Some(arn)) if same_key(&arn, used) => out(
            Status::Pass,
            format!(
                "the latest log file {} ({when}) is SSE-KMS under the trail's key",
                object.key
            ),
            "Nothing to do.",
            Some(object),
        ),
        (_, Some(arn)) => out(
            Status::Fail,
            format!(
                "the latest log file {} ({when}) is SSE-KMS under {used}, not under the trail's key {arn}: CloudTrail has not delivered under the current key",
                object.key
            ),
            "Fix what stops delivery under the trail's key (TS002-TS006, TS014), then check that new files arrive under it.",
            Some(object),
        ),
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

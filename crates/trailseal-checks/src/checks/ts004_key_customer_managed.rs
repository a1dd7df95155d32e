//! TS004 key-customer-managed (high)
//!
//! What it checks
//!   The trail's key is customer-managed (`KeyManager` CUSTOMER, and no `alias/aws/...` alias
//!   targets it: AWS reserves that prefix for its own keys) and is a symmetric encryption key
//!   (`KeySpec` SYMMETRIC_DEFAULT, `KeyUsage` ENCRYPT_DECRYPT).
//!
//! Why it matters
//!   The control requires a customer-managed key: its key policy, rotation and deletion are
//!   under your control and auditable. An AWS-managed key's policy cannot be changed to let
//!   CloudTrail use it, and CloudTrail only supports symmetric encryption keys: an asymmetric
//!   or HMAC key cannot encrypt log files at all.
//!
//! Example
//!   `KmsKeyId: alias/aws/s3`, or an RSA_2048 key created by mistake.
//!
//! How to fix
//!   Create a customer-managed symmetric key (`aws kms create-key --key-spec SYMMETRIC_DEFAULT
//!   --key-usage ENCRYPT_DECRYPT`) in the bucket's Region with the CloudTrail statements in its
//!   key policy, and point the trail at it with `aws cloudtrail update-trail --kms-key-id`.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, key, missing, unknown_suffix};
use crate::{Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS004",
        name: "key-customer-managed",
        severity: Severity::High,
        title: "the key is AWS-managed, or not a symmetric ENCRYPT_DECRYPT key",
        compliance: CONTROL_COMPLIANCE,
        source: include_str!("ts004_key_customer_managed.rs"),
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
    let evidence = json!({
        "key_manager": key.manager, "aliases": key.aliases, "key_spec": key.key_spec, "key_usage": key.key_usage,
    });
    let fix = "Create a customer-managed symmetric key in the bucket's Region (aws kms create-key --key-spec \
               SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT) with the CloudTrail key policy statements, and \
               point the trail at it (aws cloudtrail update-trail --kms-key-id <key ARN>)."
        .to_owned();
    let mut problems = Vec::new();
    match key.is_aws_managed() {
        Some(true) => {
            let aws_alias = key.aliases.iter().find(|a| a.starts_with("alias/aws/"));
            problems.push(match aws_alias {
                Some(alias) => format!("it is AWS-managed ({alias})"),
                None => "it is AWS-managed (KeyManager AWS)".to_owned(),
            });
        }
        Some(false) => {}
        None => {
            return finding(
                info,
                ev,
                missing(key),
                format!("could not read KeyManager of {arn}{}", unknown_suffix(key)),
                fix,
                evidence,
            )
        }
    }
    match key.key_spec.as_deref() {
        Some("SYMMETRIC_DEFAULT") => {}
        Some(spec) => problems.push(format!("its KeySpec is {spec}, not SYMMETRIC_DEFAULT")),
        None => {
            return finding(
                info,
                ev,
                missing(key),
                format!("could not read KeySpec of {arn}{}", unknown_suffix(key)),
                fix,
                evidence,
            )
        }
    }
    match key.key_usage.as_deref() {
        Some("ENCRYPT_DECRYPT") => {}
        Some(usage) => problems.push(format!("its KeyUsage is {usage}, not ENCRYPT_DECRYPT")),
        None => {
            return finding(
                info,
                ev,
                missing(key),
                format!("could not read KeyUsage of {arn}{}", unknown_suffix(key)),
                fix,
                evidence,
            )
        }
    }
    if problems.is_empty() {
        finding(
            info,
            ev,
            Status::Pass,
            format!("{arn} is a customer-managed symmetric encryption key"),
            "Nothing to do.".into(),
            evidence,
        )
    } else {
        finding(
            info,
            ev,
            Status::Fail,
            format!(
                "{arn} is not usable for the control: {}",
                problems.join("; ")
            ),
            fix,
            evidence,
        )
    }
}

//! TS004 key-customer-managed (high)
//!
//! What it checks
//!   The trail's key is customer-managed (`KeyManager` CUSTOMER, and no `alias/aws/...` alias
//!   targets it: AWS reserves that prefix for its own keys) and is a symmetric encryption key
//!   (`KeySpec` SYMMETRIC_DEFAULT, `KeyUsage` ENCRYPT_DECRYPT). A `KmsKeyId` under `alias/aws/`
//!   fails whether or not the alias resolves; a SYMMETRIC_DEFAULT key without `KeyUsage` is
//!   ENCRYPT_DECRYPT (the only usage AWS allows for that spec). Every known problem is reported
//!   even when another property is not known; only when none is known to fail and one is not
//!   known is the result `indeterminate` (or `error` when it could not be read).
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
use trailseal_model::{names_aws_managed_alias, Fact, Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, key, key_name};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS004",
        name: "key-customer-managed",
        severity: Severity::High,
        title: "the key is AWS-managed, or not a symmetric ENCRYPT_DECRYPT key",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
        source: include_str!("ts004_key_customer_managed.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let fix = "Create a customer-managed symmetric key in the bucket's Region (aws kms create-key --key-spec \
               SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT) with the CloudTrail key policy statements, and \
               point the trail at it (aws cloudtrail update-trail --kms-key-id <key ARN>)."
        .to_owned();
    // `alias/aws/...` names an AWS-managed key whether or not the alias resolves (AWS reserves
    // the prefix; it may not exist yet, or the auditor may not read it).
    if let Some(reference) = ev.trail.key_id().filter(|r| names_aws_managed_alias(r)) {
        return finding(
            info,
            ev,
            Status::Fail,
            format!(
                "{reference} names an AWS-managed key: the control requires a customer-managed key"
            ),
            fix,
            json!({"kms_key_id": reference, "aws_managed": true}),
        );
    }
    let key = match key(info, ev) {
        Ok(k) => k,
        Err(f) => return *f,
    };
    let arn = key_name(key);
    // KeyUsage as AWS's rules imply it: a SYMMETRIC_DEFAULT key is ENCRYPT_DECRYPT even when
    // DescribeKey did not return the field.
    let usage = key.usage();
    let evidence = json!({
        "key_manager": key.manager, "aliases": key.aliases, "key_spec": key.key_spec, "key_usage": usage,
    });
    // Every known problem is reported, even when another property is not known: one known
    // reason to fail is enough to fail.
    let mut problems = Vec::new();
    let mut undecided = Vec::new();
    match key.is_aws_managed() {
        Fact::Known(true) => {
            let aws_alias = key.aliases.iter().find(|a| a.starts_with("alias/aws/"));
            problems.push(match aws_alias {
                Some(alias) => format!("it is AWS-managed ({alias})"),
                None => "it is AWS-managed (KeyManager AWS)".to_owned(),
            });
        }
        Fact::Known(false) => {}
        other => undecided.push(("KeyManager", other.map(|_| ()))),
    }
    match key.key_spec.as_deref() {
        Fact::Known("SYMMETRIC_DEFAULT") => {}
        Fact::Known(spec) => problems.push(format!("its KeySpec is {spec}, not SYMMETRIC_DEFAULT")),
        other => undecided.push(("KeySpec", other.map(|_| ()))),
    }
    match usage.as_deref() {
        Fact::Known("ENCRYPT_DECRYPT") => {}
        Fact::Known(usage) => {
            problems.push(format!("its KeyUsage is {usage}, not ENCRYPT_DECRYPT"))
        }
        other => undecided.push(("KeyUsage", other.map(|_| ()))),
    }
    if !problems.is_empty() {
        return finding(
            info,
            ev,
            Status::Fail,
            format!(
                "{arn} is not usable for the control: {}",
                problems.join("; ")
            ),
            fix,
            evidence,
        );
    }
    if !undecided.is_empty() {
        // Indeterminate only when every gap is "cannot be known before deployment".
        let unreadable = undecided
            .iter()
            .any(|(_, why)| !matches!(why, Fact::Unknown(_)));
        let reasons: Vec<String> = undecided
            .iter()
            .map(|(what, why)| match why {
                Fact::Unknown(r) => format!("{what} cannot be known before deployment: {r}"),
                Fact::Unreadable(r) => format!("could not read {what}: {r}"),
                Fact::Known(()) => format!("{what} is known"),
            })
            .collect();
        return finding(
            info,
            ev,
            if unreadable {
                Status::Error
            } else {
                Status::Indeterminate
            },
            format!(
                "cannot tell whether {arn} is usable: {}",
                reasons.join("; ")
            ),
            if unreadable {
                "Grant the auditing principal kms:DescribeKey on the key.".into()
            } else {
                "Give the key's properties statically, or audit the deployed account (trailseal audit)."
                    .into()
            },
            evidence,
        );
    }
    finding(
        info,
        ev,
        Status::Pass,
        format!("{arn} is a customer-managed symmetric encryption key"),
        "Nothing to do.".into(),
        evidence,
    )
}

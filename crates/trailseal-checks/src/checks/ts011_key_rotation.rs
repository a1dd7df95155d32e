//! TS011 key-rotation (medium)
//!
//! What it checks
//!   Automatic rotation is enabled on the trail's key (GetKeyRotationStatus). AWS-managed keys
//!   rotate automatically and pass (TS004 reports them). Keys that are not symmetric encryption
//!   keys (asymmetric, HMAC) cannot be rotated by KMS: the check is `skipped` for them, and
//!   TS004 fails them because CloudTrail cannot use them either.
//!
//! Why it matters
//!   Rotation limits how much data one key version protects; CIS AWS (2.8 / 3.8 / 3.6) requires
//!   it for customer-created symmetric keys. Old log files stay readable: KMS keeps every key
//!   version.
//!
//! Example
//!   A key created with `aws kms create-key`, where rotation defaults to off.
//!
//! How to fix
//!   `aws kms enable-key-rotation --key-id <key ARN>` (optionally `--rotation-period-in-days`).

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, key, key_name, key_region_text, require};
use crate::{Applies, Check, CheckInfo, Runner, ROTATION_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS011",
        name: "key-rotation",
        severity: Severity::Medium,
        title: "automatic key rotation is off",
        compliance: ROTATION_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts011_key_rotation.rs"),
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
    let region = key_region_text(key);
    if key.is_aws_managed().is(&true) == Some(true) {
        return finding(
            info,
            ev,
            Status::Pass,
            format!("{arn} is AWS-managed and rotated by AWS (see TS004)"),
            "Nothing to do.".into(),
            json!({"aws_managed": true}),
        );
    }
    // KMS rotates only symmetric encryption keys: for any other key spec EnableKeyRotation is
    // rejected, so the check does not apply (TS004 fails such a key: CloudTrail cannot use it).
    if let Some(spec) = key
        .key_spec
        .known()
        .filter(|s| s.as_str() != "SYMMETRIC_DEFAULT")
    {
        return finding(
            info,
            ev,
            Status::Skipped,
            format!(
                "{arn} has key spec {spec}: KMS rotates only symmetric encryption keys, so \
                 rotation does not apply (TS004 reports that CloudTrail cannot use this key)"
            ),
            "Nothing to do for rotation; replace the key with a SYMMETRIC_DEFAULT key (TS004)."
                .into(),
            json!({"key_spec": spec}),
        );
    }
    let rotation = match require(
        info,
        ev,
        &key.rotation_enabled,
        &format!("the rotation status of {arn}"),
        "Grant the auditing principal kms:GetKeyRotationStatus on the key.",
    ) {
        Ok(r) => *r,
        Err(f) => return *f,
    };
    if rotation {
        finding(
            info,
            ev,
            Status::Pass,
            format!("automatic rotation is on for {arn}"),
            "Nothing to do.".into(),
            json!({"rotation_enabled": true}),
        )
    } else {
        finding(
            info,
            ev,
            Status::Fail,
            format!("automatic rotation is off for {arn}"),
            format!("aws kms enable-key-rotation --region {region} --key-id {arn}"),
            json!({"rotation_enabled": false}),
        )
    }
}

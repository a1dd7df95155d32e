//! TS003 key-enabled (critical)
//!
//! What it checks
//!   The trail's key is in the `Enabled` state (not Disabled, PendingDeletion,
//!   PendingReplicaDeletion, PendingImport, Unavailable, Creating, Updating).
//!
//! Why it matters
//!   CloudTrail cannot encrypt with a key that is not enabled: log delivery stops
//!   (KmsKeyDisabledException), and a key pending deletion will take the ability to read every
//!   past log file with it when its waiting period ends.
//!
//! Example
//!   Someone ran `aws kms schedule-key-deletion` on a key that "looked unused" because only
//!   CloudTrail uses it.
//!
//! How to fix
//!   `aws kms enable-key --key-id <key ARN>`, or for a key pending deletion
//!   `aws kms cancel-key-deletion --key-id <key ARN>` followed by `enable-key`.

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, key, key_name, key_region_text, require};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS003",
        name: "key-enabled",
        severity: Severity::Critical,
        title: "the trail's key is not Enabled",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: true,
        source: include_str!("ts003_key_enabled.rs"),
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
    let state = match require(
        info,
        ev,
        &key.state,
        &format!("the state of {arn}"),
        "Grant the auditing principal kms:DescribeKey on the key.",
    ) {
        Ok(state) => state.as_str(),
        Err(f) => return *f,
    };
    match state {
        "Enabled" => finding(
            info,
            ev,
            Status::Pass,
            format!("{arn} is Enabled"),
            "Nothing to do.".into(),
            json!({"key_state": "Enabled"}),
        ),
        state => {
            let fix = if state == "PendingDeletion" || state == "PendingReplicaDeletion" {
                format!(
                    "aws kms cancel-key-deletion --region {region} --key-id {arn} && aws kms enable-key --region {region} --key-id {arn}"
                )
            } else if state == "Disabled" {
                format!("aws kms enable-key --region {region} --key-id {arn}")
            } else {
                "Wait for the key to become Enabled, or point the trail at an enabled customer-managed key.".to_owned()
            };
            finding(
                info,
                ev,
                Status::Fail,
                format!("{arn} is {state}, not Enabled: CloudTrail cannot encrypt with it, so log delivery fails"),
                fix,
                json!({"key_state": state}),
            )
        }
    }
}

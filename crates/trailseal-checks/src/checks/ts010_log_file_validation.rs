//! TS010 log-file-validation (medium)
//!
//! What it checks
//!   Log file integrity validation is enabled on the trail (`LogFileValidationEnabled`).
//!
//! Why it matters
//!   With validation on, CloudTrail writes signed digest files, so you can prove a log file
//!   was not modified or deleted after delivery (`aws cloudtrail validate-logs`). Encryption
//!   protects confidentiality; validation protects integrity. CIS AWS 2.2 / 3.2.
//!
//! Example
//!   A trail created with the CLI, where validation defaults to off.
//!
//! How to fix
//!   `aws cloudtrail update-trail --name <trail> --enable-log-file-validation`

use serde_json::json;
use trailseal_model::{Finding, Severity, Status, TrailEvidence};

use crate::support::{finding, require};
use crate::{Applies, Check, CheckInfo, Runner, VALIDATION_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS010",
        name: "log-file-validation",
        severity: Severity::Medium,
        title: "log file integrity validation is off",
        compliance: VALIDATION_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts010_log_file_validation.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let t = &ev.trail;
    let enabled = match require(
        info,
        ev,
        &t.log_file_validation_enabled,
        "LogFileValidationEnabled",
        "Run the audit again.",
    ) {
        Ok(e) => *e,
        Err(f) => return *f,
    };
    if enabled {
        finding(
            info,
            ev,
            Status::Pass,
            "log file integrity validation is on".into(),
            "Nothing to do.".into(),
            json!({"log_file_validation_enabled": true}),
        )
    } else {
        finding(
            info,
            ev,
            Status::Fail,
            "log file integrity validation is off: tampering with delivered logs cannot be detected".into(),
            format!("aws cloudtrail update-trail --region {} --name {} --enable-log-file-validation", t.home_region, t.arn),
            json!({"log_file_validation_enabled": false}),
        )
    }
}

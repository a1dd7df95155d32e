//! `--format ocsf` / `ocsf-jsonl`: OCSF Detection Finding (class 2004) objects, schema version
//! [`VERSION`] with the `cloud` profile: what Amazon Security Lake and most SIEMs ingest.
//! One object per finding, in a JSON array or as JSON Lines.
//!
//! Mapping (as Prowler's OCSF output, which the same users already ingest): `status_code` is
//! the check result (PASS, FAIL, ERROR, INDETERMINATE, SKIPPED, MUTED) and `status_detail` the
//! message; `status_id` is the finding's workflow state (New for a problem, Resolved for a
//! pass, Suppressed when muted); `severity_id` 1-5 (Informational-Critical); `cloud` holds the
//! account and Region; `resources` the trail, key or account ARN (or the IaC file and line);
//! `remediation.desc` the fix; `finding_info.types` the check code and name. OCSF's Detection
//! Finding has no compliance object, so the compliance ids (CIS with the benchmark version, ...)
//! and the check's evaluation (deciding statements, trace) go in `unmapped`, as Prowler does.
//! Validated against the OCSF schema (`ocsf-json-schema` from PyPI) in the test suite.

use serde_json::{json, Value};
use trailseal_model::{Finding, Severity, Status};

/// The OCSF schema version written.
pub const VERSION: &str = "1.8.0";

const CLASS_UID: u32 = 2004;
const ACTIVITY_CREATE: u32 = 1;

fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// (status_id, status): the finding's workflow state.
fn workflow(status: Status) -> (u8, &'static str) {
    match status {
        Status::Fail | Status::Error | Status::Indeterminate => (1, "New"),
        Status::Pass => (4, "Resolved"),
        Status::Muted => (3, "Suppressed"),
        Status::Skipped => (99, "Other"),
    }
}

/// The AWS resource type of a finding's resource (ASFF names, as Security Hub and Prowler use).
pub(crate) fn resource_type(f: &Finding) -> &'static str {
    let r = f.resource.as_str();
    if f.file.is_some() {
        "Other"
    } else if r.contains(":cloudtrail:") && r.contains(":trail/") {
        "AwsCloudTrailTrail"
    } else if r.contains(":cloudtrail:") && r.contains(":eventdatastore/") {
        "Other"
    } else if r.contains(":kms:") {
        "AwsKmsKey"
    } else if r.starts_with("arn:") && r.ends_with(':') {
        "AwsAccount"
    } else {
        "Other"
    }
}

/// The partition of an ARN resource (`aws` when the resource is not an ARN).
pub(crate) fn partition(f: &Finding) -> &str {
    let mut parts = f.resource.splitn(3, ':');
    match (parts.next(), parts.next()) {
        (Some("arn"), Some(p)) if !p.is_empty() => p,
        _ => "aws",
    }
}

/// One finding as an OCSF Detection Finding. `time` is the report's time, in milliseconds
/// since the epoch.
pub(crate) fn finding(f: &Finding, tool_version: &str, time_ms: i64, uid: &str) -> Value {
    let (severity_id, severity_name) = severity(f.severity);
    let (status_id, status_name) = workflow(f.status);
    let mut resource = json!({
        "uid": f.resource,
        "type": resource_type(f),
        "cloud_partition": partition(f),
    });
    if !f.region.is_empty() && !f.region.starts_with("${") {
        resource["region"] = json!(f.region);
    }
    if let Some(file) = &f.file {
        resource["data"] = json!({"file": file, "line": f.line, "column": f.column});
    }
    // Infrastructure as code names the deploying account and Region by a symbol
    // (`${AWS::AccountId}`): not an id, left out.
    let real = |v: &str| !v.is_empty() && !v.starts_with("${");
    let mut cloud = json!({"provider": "AWS"});
    if real(&f.account) {
        cloud["account"] = json!({"uid": f.account, "type": "AWS Account", "type_id": 10});
    }
    if real(&f.region) {
        cloud["region"] = json!(f.region);
    }
    let mut unmapped = json!({
        "compliance": f.compliance,
        "check": {"code": f.code, "name": f.name, "status": f.status.as_str()},
        "evidence": f.evidence,
    });
    if let Some(m) = &f.muted {
        unmapped["muted"] = json!(m);
    }
    json!({
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": CLASS_UID,
        "class_name": "Detection Finding",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": status_id,
        "status": status_name,
        "status_code": f.status.as_str().to_ascii_uppercase(),
        "status_detail": f.message,
        "message": f.message,
        "time": time_ms,
        "metadata": {
            "version": VERSION,
            "profiles": ["cloud"],
            "event_code": f.code,
            "product": {
                "name": "trailseal",
                "vendor_name": "trailseal",
                "uid": "trailseal",
                "version": tool_version,
            },
        },
        "cloud": cloud,
        "finding_info": {
            "uid": uid,
            "title": format!("{} {}", f.code, f.name),
            "desc": f.message,
            "types": [format!("{} {}", f.code, f.name)],
            "created_time": time_ms,
        },
        "resources": [resource],
        "remediation": {"desc": f.remediation},
        "unmapped": unmapped,
    })
}

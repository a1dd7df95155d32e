//! `--format asff`: AWS Security Finding Format (schema 2018-10-08), ready for Security Hub's
//! `BatchImportFindings` (`trailseal audit --security-hub` imports them itself).
//!
//! - `ProductArn` is the account's own custom integration in the finding's Region
//!   (`arn:PARTITION:securityhub:REGION:ACCOUNT:product/ACCOUNT/default`); `GeneratorId` the
//!   check code; `Id` stable across runs (check, account, Region, resource), so that a new run
//!   updates the same finding.
//! - `Compliance.Status`: PASSED, FAILED, WARNING (indeterminate: could not be decided) or
//!   NOT_AVAILABLE (error, skipped); `RelatedRequirements` the compliance ids (at most 32).
//! - `RecordState` ARCHIVED for a pass (a finding that now passes is archived in Security Hub)
//!   and for a skipped check (the earlier check that failed is the active finding), ACTIVE
//!   otherwise. `Workflow` and `Note` are left to the customer (Security Hub ignores them in
//!   BatchImportFindings updates): a mute is in `ProductFields` (`trailseal/muted`).
//! - `Title` is the check (code and name), `Description` the message.
//! - `Resources`: the trail (`AwsCloudTrailTrail`), key (`AwsKmsKey`) or account (`AwsAccount`)
//!   with partition and Region.
//!
//! ASFF belongs to an AWS account: findings of infrastructure as code (no account) are
//! refused by the command. Validated against botocore's Security Hub service model (request
//! shape of BatchImportFindings: required fields, enums, lengths) in the test suite.

use serde_json::{json, Value};
use trailseal_model::{Finding, Severity, Status};

use crate::ocsf::{partition, resource_type};

pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The finding types of this control (ASFF "namespace/category/classifier").
const TYPES: &[&str] =
    &["Software and Configuration Checks/Industry and Regulatory Standards/CIS AWS Foundations Benchmark"];

fn label(s: Severity) -> &'static str {
    match s {
        Severity::Info => "INFORMATIONAL",
        Severity::Low => "LOW",
        Severity::Medium => "MEDIUM",
        Severity::High => "HIGH",
        Severity::Critical => "CRITICAL",
    }
}

/// `text` cut to at most `max` characters (ASFF limits), with an ellipsis.
fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if text.chars().count() > max => format!("{}…", &text[..cut]),
        _ => text.to_owned(),
    }
}

/// The first Region of a partition, where Security Hub findings without a Region of their
/// own (and of no account with one) are imported.
fn default_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        _ => "us-east-1",
    }
}

/// Every finding in ASFF with the Region it is imported into: its own; for an account-wide
/// finding without one, the Region of the account's other findings, else its partition's
/// first Region. `now` is RFC 3339.
pub fn findings(findings: &[Finding], now: &str) -> Vec<(String, Value)> {
    findings
        .iter()
        .map(|f| {
            let region = if f.region.is_empty() {
                findings
                    .iter()
                    .find(|o| o.account == f.account && !o.region.is_empty())
                    .map_or_else(
                        || default_region(partition(f)).to_owned(),
                        |o| o.region.clone(),
                    )
            } else {
                f.region.clone()
            };
            let value = finding(f, &crate::uid(f), now, &region);
            (region, value)
        })
        .collect()
}

/// One finding in ASFF. `now` is RFC 3339; `region` where it is imported.
pub(crate) fn finding(f: &Finding, uid: &str, now: &str, region: &str) -> Value {
    let status = f.muted.as_ref().map_or(f.status, |m| m.status);
    let compliance = match status {
        Status::Pass => "PASSED",
        Status::Fail => "FAILED",
        Status::Indeterminate => "WARNING",
        Status::Error | Status::Skipped | Status::Muted => "NOT_AVAILABLE",
    };
    // A pass, and a check that did not apply (skipped: an earlier check failed, and that one is
    // the active finding), are archived. Workflow and Note are the customer's fields: Security
    // Hub ignores them in BatchImportFindings updates, so a mute is carried in ProductFields,
    // not as SUPPRESSED (suppress in Security Hub, or BatchUpdateFindings).
    let record = match f.status {
        Status::Pass | Status::Skipped => "ARCHIVED",
        _ => "ACTIVE",
    };
    let partition = partition(f);
    // An account-wide finding's resource is the account, named as Security Hub names it.
    let id = if resource_type(f) == "AwsAccount" {
        format!("AWS::::Account:{}", f.account)
    } else {
        f.resource.clone()
    };
    let mut resource = json!({
        "Type": resource_type(f),
        "Id": id,
        "Partition": partition,
        "Region": region,
    });
    if resource_type(f) == "Other" {
        resource["Details"] = json!({"Other": {"trailseal:resource": clip(&f.resource, 1024)}});
    }
    let mut out = json!({
        "SchemaVersion": SCHEMA_VERSION,
        "Id": clip(uid, 512),
        "ProductArn": format!(
            "arn:{partition}:securityhub:{region}:{account}:product/{account}/default",
            account = f.account
        ),
        "ProductName": "trailseal",
        "CompanyName": "trailseal",
        "GeneratorId": f.code,
        "AwsAccountId": f.account,
        "Types": TYPES,
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": label(f.severity), "Original": f.severity.as_str().to_ascii_uppercase()},
        // Neutral: the check, not its failure wording (a PASSED finding has the same title).
        "Title": clip(&format!("{} {}", f.code, f.name), 256),
        "Description": clip(&f.message, 1024),
        "Remediation": {"Recommendation": {"Text": clip(&f.remediation, 512)}},
        "Resources": [resource],
        "Compliance": {
            "Status": compliance,
            "RelatedRequirements": f.compliance.iter().take(32).collect::<Vec<_>>(),
        },
        "RecordState": record,
        "Region": region,
        "ProductFields": {
            "trailseal/status": f.status.as_str(),
            "trailseal/check": f.code,
        },
    });
    if let Some(m) = &f.muted {
        out["ProductFields"]["trailseal/muted"] = json!(clip(&m.reason, 4096));
        out["ProductFields"]["trailseal/muted-status"] = json!(m.status.as_str());
    }
    out
}

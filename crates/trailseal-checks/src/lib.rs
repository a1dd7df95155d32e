//! # trailseal-checks
//!
//! The check catalogue of ../shared/PRODUCT.md: pure functions from evidence to findings, a
//! registry from stable codes to checks, and the documentation `trailseal explain CODE` prints.
//!
//! Each check lives in its own file under `checks/`, whose `//!` doc comment (what it checks,
//! why it matters, example, how to fix) is the text `explain` prints: one source of truth.

mod checks;
mod deployment;
mod support;

use trailseal_model::{AccountEvidence, Evidence, Finding, Severity, TrailEvidence};

/// Compliance references for the control "CloudTrail logs are encrypted at rest with SSE-KMS
/// under a customer-managed key CloudTrail can use". CIS numbers by benchmark version:
/// v1.2 2.7, v1.4-v2.0 3.7, v3-v5 3.5, v6-v7 4.5.
pub const CONTROL_COMPLIANCE: &[&str] = &[
    "CIS-AWS-2.7",
    "CIS-AWS-3.7",
    "CIS-AWS-3.5",
    "CIS-AWS-4.5",
    "AWS-SecurityHub-CloudTrail.2",
    "AWS-Config-cloud-trail-encryption-enabled",
    "PCI-DSS-10.3.2",
    "SOC2-CC6.1",
    "HIPAA-164.312(a)(2)(iv)",
    "ISO-27001-A.8.24",
    "NIST-800-53-AU-9",
    "NIST-800-53-SC-28",
    "EU-GMP-Annex-11-7.1",
];

/// Static description of a check.
#[derive(Debug, Clone, Copy)]
pub struct CheckInfo {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what fails.
    pub title: &'static str,
    /// Framework references printed on every finding of this check.
    pub compliance: &'static [&'static str],
    /// The check's source file; its leading `//!` lines are the documentation.
    source: &'static str,
}

impl CheckInfo {
    /// The check's documentation (what / why / example / fix), from its doc comment.
    pub fn doc(&self) -> String {
        let mut lines: Vec<&str> = self
            .source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.strip_prefix("//! ")
                    .or_else(|| l.strip_prefix("//!"))
                    .unwrap_or(l)
            })
            .collect();
        while lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
        lines.join("\n")
    }

    /// One section of the doc ("What it checks", "Why it matters", "Example", "How to fix"),
    /// as a single paragraph.
    pub fn section(&self, heading: &str) -> String {
        let doc = self.doc();
        let mut lines = doc.lines().skip_while(|l| l.trim() != heading).skip(1);
        let mut out: Vec<&str> = Vec::new();
        for l in lines.by_ref() {
            if !l.starts_with(' ') && !l.is_empty() {
                break;
            }
            out.push(l.trim());
        }
        out.join(" ").trim().to_owned()
    }
}

/// How a check runs: once per trail, or once per account (Region coverage, Lake stores).
#[derive(Debug, Clone, Copy)]
pub enum Runner {
    Trail(fn(&TrailEvidence) -> Finding),
    Account(fn(&AccountEvidence) -> Vec<Finding>),
}

#[derive(Debug, Clone, Copy)]
pub struct Check {
    pub info: CheckInfo,
    pub runner: Runner,
}

/// Every implemented check, by code.
pub fn registry() -> &'static [Check] {
    checks::ALL
}

/// Looks a check up by code (case-insensitive: `ts006` works).
pub fn find(code: &str) -> Option<&'static Check> {
    registry()
        .iter()
        .find(|c| c.info.code.eq_ignore_ascii_case(code))
}

/// The key-policy checks `trailseal policy check` runs.
pub const KEY_POLICY_CHECKS: &[&str] = &["TS006", "TS007", "TS008"];

fn selected(check: &Check, codes: &[&str]) -> bool {
    codes.is_empty()
        || codes
            .iter()
            .any(|code| code.eq_ignore_ascii_case(check.info.code))
}

/// Runs the selected per-trail checks (all when `codes` is empty) on one trail.
pub fn run_trail_checks(evidence: &TrailEvidence, codes: &[&str]) -> Vec<Finding> {
    registry()
        .iter()
        .filter(|c| selected(c, codes))
        .filter_map(|c| match c.runner {
            Runner::Trail(run) => Some(run(evidence)),
            Runner::Account(_) => None,
        })
        .collect()
}

/// Runs the selected checks on one account: every trail once (by ARN, sorted), then the
/// account-level checks.
pub fn evaluate_account(account: &AccountEvidence, codes: &[&str]) -> Vec<Finding> {
    let mut trails: Vec<&trailseal_model::Trail> = account.trails.iter().collect();
    trails.sort_by(|a, b| a.arn.cmp(&b.arn));
    let mut findings: Vec<Finding> = trails
        .into_iter()
        .flat_map(|t| run_trail_checks(&account.trail_evidence(t), codes))
        .collect();
    for c in registry().iter().filter(|c| selected(c, codes)) {
        if let Runner::Account(run) = c.runner {
            findings.extend(run(account));
        }
    }
    findings
}

/// Evaluates a whole collection (what `audit --evidence` will run).
pub fn evaluate(evidence: &Evidence, codes: &[&str]) -> Vec<Finding> {
    evidence
        .accounts
        .iter()
        .flat_map(|a| evaluate_account(a, codes))
        .collect()
}

/// CIS "log file validation enabled" and related references.
pub const VALIDATION_COMPLIANCE: &[&str] = &[
    "CIS-AWS-2.2",
    "CIS-AWS-3.2",
    "NIST-800-53-AU-9",
    "PCI-DSS-10.3.2",
    "ISO-27001-A.8.15",
];

/// CIS "rotation for customer-created symmetric keys" references.
pub const ROTATION_COMPLIANCE: &[&str] = &[
    "CIS-AWS-2.8",
    "CIS-AWS-3.8",
    "CIS-AWS-3.6",
    "NIST-800-53-SC-12",
    "PCI-DSS-3.7.4",
];

/// CIS "CloudTrail enabled in all Regions" references.
pub const COVERAGE_COMPLIANCE: &[&str] = &[
    "CIS-AWS-2.1",
    "CIS-AWS-3.1",
    "AWS-SecurityHub-CloudTrail.1",
    "NIST-800-53-AU-2",
    "PCI-DSS-10.2.1",
];

/// Delivery health references.
pub const DELIVERY_COMPLIANCE: &[&str] = &["NIST-800-53-AU-5", "PCI-DSS-10.7.2", "SOC2-CC7.2"];

//! # trailseal-checks
//!
//! The check catalogue of ../shared/PRODUCT.md: pure functions from evidence to findings, a
//! registry from stable codes to checks, and the documentation `trailseal explain CODE` prints.
//!
//! Each check lives in its own file under `checks/`, whose `//!` doc comment (what it checks,
//! why it matters, example, how to fix) is the text `explain` prints: one source of truth.

mod checks;
mod deployment;
mod grants;
pub mod log_readers;
mod support;

use trailseal_model::{AccountEvidence, Evidence, Finding, Severity, TrailEvidence};

/// Compliance references for the control "CloudTrail logs are encrypted at rest with SSE-KMS
/// under a customer-managed key CloudTrail can use". CIS ids carry the benchmark version, since
/// the number moved: 2.7 in v1.2.0, 3.7 in v1.4.0-v2.0.0, 3.5 in v3.0.0-v5.0.0, 4.5 in v6.0.0.
pub const CONTROL_COMPLIANCE: &[&str] = &[
    "CIS-AWS-v1.2.0-2.7",
    "CIS-AWS-v1.4.0-3.7",
    "CIS-AWS-v1.5.0-3.7",
    "CIS-AWS-v2.0.0-3.7",
    "CIS-AWS-v3.0.0-3.5",
    "CIS-AWS-v4.0.1-3.5",
    "CIS-AWS-v5.0.0-3.5",
    "CIS-AWS-v6.0.0-4.5",
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

/// Where a check runs: on a live account (`audit`), on a saved evidence file
/// (`audit --evidence`), on infrastructure as code before deployment (`scan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Applies {
    pub live: bool,
    pub evidence: bool,
    pub iac: bool,
}

impl Applies {
    /// Live, evidence and IaC.
    pub const EVERYWHERE: Applies = Applies {
        live: true,
        evidence: true,
        iac: true,
    };
    /// Needs a deployed account (delivery status, Region coverage): live and evidence only.
    pub const ACCOUNT: Applies = Applies {
        live: true,
        evidence: true,
        iac: false,
    };
    /// Only `scan` (TS000: a file it could not read).
    pub const IAC: Applies = Applies {
        live: false,
        evidence: false,
        iac: true,
    };

    /// `live, evidence, iac` as words, for docs and `explain`.
    pub fn names(&self) -> Vec<&'static str> {
        [
            (self.live, "live"),
            (self.evidence, "evidence"),
            (self.iac, "iac"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect()
    }
}

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
    /// Where the check runs.
    pub applies: Applies,
    /// Part of "compliant": a trail is compliant when every check with this flag passes
    /// (TS001-TS006, the encryption control itself).
    pub compliant: bool,
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

    /// The first section of the doc ("What it checks", or "What it reports" for TS000), as one
    /// paragraph.
    pub fn summary(&self) -> String {
        let doc = self.doc();
        let heading = doc
            .lines()
            .skip(1)
            .find(|l| !l.trim().is_empty() && !l.starts_with(' '))
            .unwrap_or("What it checks")
            .to_owned();
        self.section(&heading)
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

/// The whole catalogue, in code order: TS000 (input that could not be read, reported by `scan`)
/// and every check. The one place codes, names, severities, compliance ids and where each
/// applies are written; every other crate asks here.
pub fn catalogue() -> impl Iterator<Item = &'static CheckInfo> {
    std::iter::once(&checks::INPUT).chain(registry().iter().map(|c| &c.info))
}

/// A catalogue entry by code (case-insensitive), TS000 included.
pub fn info(code: &str) -> Option<&'static CheckInfo> {
    catalogue().find(|i| i.code.eq_ignore_ascii_case(code))
}

/// Every check's code, in catalogue order (an audit without `--checks`).
pub fn all_codes() -> Vec<&'static str> {
    registry().iter().map(|c| c.info.code).collect()
}

/// The codes that must all pass for a trail to be "compliant" (TS001-TS006).
pub fn compliant_codes() -> Vec<&'static str> {
    catalogue()
        .filter(|i| i.compliant)
        .map(|i| i.code)
        .collect()
}

/// The checks `scan` runs on infrastructure as code.
pub fn iac_codes() -> Vec<&'static str> {
    registry()
        .iter()
        .filter(|c| c.info.applies.iac)
        .map(|c| c.info.code)
        .collect()
}

pub use checks::input_finding;

/// Whether a finding is TS000 (input trailseal could not read or did not evaluate), not a
/// check's.
pub fn is_input_finding(f: &Finding) -> bool {
    f.code == checks::INPUT.code
}

/// Whether a finding says that input could not be read or parsed at all (TS000 with
/// `evidence.unreadable`): such a run exits 2 whatever --fail-on says.
pub fn is_unreadable_input(f: &Finding) -> bool {
    f.code == checks::INPUT.code
        && f.status == trailseal_model::Status::Error
        && f.evidence.get("unreadable") == Some(&serde_json::Value::Bool(true))
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
    // Exactly as the catalogue spells it, usually (this runs for every check of every unit a
    // scan evaluates); any case otherwise.
    codes.is_empty()
        || codes.contains(&check.info.code)
        || codes
            .iter()
            .any(|code| code.eq_ignore_ascii_case(check.info.code))
}

/// The selected checks, in catalogue order.
fn selected_checks(codes: &[&str]) -> Vec<&'static Check> {
    registry().iter().filter(|c| selected(c, codes)).collect()
}

/// The per-trail checks among `checks`, in their order.
fn trail_runners(checks: &[&Check]) -> Vec<fn(&TrailEvidence) -> Finding> {
    checks
        .iter()
        .filter_map(|c| match c.runner {
            Runner::Trail(run) => Some(run),
            Runner::Account(_) => None,
        })
        .collect()
}

/// Runs the selected per-trail checks (all when `codes` is empty) on one trail.
pub fn run_trail_checks(evidence: &TrailEvidence, codes: &[&str]) -> Vec<Finding> {
    trail_runners(&selected_checks(codes))
        .iter()
        .map(|run| run(evidence))
        .collect()
}

/// Runs the selected checks on one account: every trail once (by ARN, sorted), then the
/// account-level checks.
pub fn evaluate_account(account: &AccountEvidence, codes: &[&str]) -> Vec<Finding> {
    let mut trails: Vec<&trailseal_model::Trail> = account.trails.iter().collect();
    trails.sort_by(|a, b| a.arn.cmp(&b.arn));
    // Picked once per account (this runs for every unit a scan evaluates).
    let checks = selected_checks(codes);
    let runners = trail_runners(&checks);
    let mut findings: Vec<Finding> = Vec::with_capacity(trails.len() * runners.len());
    for t in trails {
        let evidence = account.trail_evidence(t);
        findings.extend(runners.iter().map(|run| run(&evidence)));
    }
    for c in &checks {
        if let Runner::Account(run) = c.runner {
            findings.extend(run(account));
        }
    }
    // An account that could not be read at all never disappears from a report: when no
    // account-level check was selected, Region coverage (TS012) reports it anyway.
    if account.error.is_some() && findings.is_empty() {
        if let Some(Runner::Account(run)) = find("TS012").map(|c| c.runner) {
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
    "CIS-AWS-v1.2.0-2.2",
    "CIS-AWS-v1.4.0-3.2",
    "CIS-AWS-v1.5.0-3.2",
    "CIS-AWS-v2.0.0-3.2",
    "CIS-AWS-v3.0.0-3.2",
    "CIS-AWS-v4.0.1-3.2",
    "CIS-AWS-v5.0.0-3.2",
    "NIST-800-53-AU-9",
    "PCI-DSS-10.3.2",
    "ISO-27001-A.8.15",
];

/// CIS "rotation for customer-created symmetric keys" references.
pub const ROTATION_COMPLIANCE: &[&str] = &[
    "CIS-AWS-v1.2.0-2.8",
    "CIS-AWS-v1.4.0-3.8",
    "CIS-AWS-v1.5.0-3.8",
    "CIS-AWS-v2.0.0-3.8",
    "CIS-AWS-v3.0.0-3.6",
    "CIS-AWS-v4.0.1-3.6",
    "CIS-AWS-v5.0.0-3.6",
    "NIST-800-53-SC-12",
    "PCI-DSS-3.7.4",
];

/// CIS "CloudTrail enabled in all Regions" references.
pub const COVERAGE_COMPLIANCE: &[&str] = &[
    "CIS-AWS-v1.2.0-2.1",
    "CIS-AWS-v1.4.0-3.1",
    "CIS-AWS-v1.5.0-3.1",
    "CIS-AWS-v2.0.0-3.1",
    "CIS-AWS-v3.0.0-3.1",
    "CIS-AWS-v4.0.1-3.1",
    "CIS-AWS-v5.0.0-3.1",
    "AWS-SecurityHub-CloudTrail.1",
    "NIST-800-53-AU-2",
    "PCI-DSS-10.2.1",
];

/// Delivery health references.
pub const DELIVERY_COMPLIANCE: &[&str] = &["NIST-800-53-AU-5", "PCI-DSS-10.7.2", "SOC2-CC7.2"];

//! Findings: the output contract of ../shared/PRODUCT.md ("Output contract").

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Error,
    Indeterminate,
    Skipped,
    /// Accepted by a mutelist entry (`--mutelist`): reported with the entry's reason and the
    /// status it would have had ([`Finding::muted`]); never fails the run.
    Muted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Error => "error",
            Status::Indeterminate => "indeterminate",
            Status::Skipped => "skipped",
            Status::Muted => "muted",
        }
    }
}

/// Finding severity, ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Some(Severity::Info),
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// One check result for one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub code: String,
    pub name: String,
    pub status: Status,
    pub severity: Severity,
    pub account: String,
    pub region: String,
    /// The trail ARN (live audit), or the Terraform address / CloudFormation logical id (IaC).
    pub resource: String,
    pub message: String,
    pub remediation: String,
    /// Check-specific detail (decision, deciding statements, unknown keys, explanation lines).
    pub evidence: serde_json::Value,
    /// The catalogue's ids, borrowed (every finding of a report carries its check's list:
    /// 17 ids each for TS001-TS006, so not copied).
    pub compliance: Vec<std::borrow::Cow<'static, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column in `file` (infrastructure as code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    /// Why the finding is muted (status `muted`), and the status it had: in the JSON contract
    /// (../shared/PRODUCT.md) the finding's own fields `muted_status`, `muted_reason`,
    /// `muted_expires` and `muted_entry`, absent when it is not muted.
    #[serde(flatten, default)]
    pub muted: Option<Muted>,
}

/// A mutelist entry's verdict on a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Muted {
    /// The status the checks gave it.
    #[serde(rename = "muted_status")]
    pub status: Status,
    /// The entry's reason (mandatory in the mutelist).
    #[serde(rename = "muted_reason")]
    pub reason: String,
    /// The entry's expiry date (YYYY-MM-DD), when it has one.
    #[serde(
        rename = "muted_expires",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<String>,
    /// Which entry (1-based, in file order) muted it.
    #[serde(rename = "muted_entry")]
    pub entry: usize,
}

/// Counts per status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub indeterminate: usize,
    pub skipped: usize,
    /// Muted by a mutelist (counted apart; absent from reports without a mutelist).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub muted: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            match f.status {
                Status::Pass => s.pass += 1,
                Status::Fail => s.fail += 1,
                Status::Error => s.error += 1,
                Status::Indeterminate => s.indeterminate += 1,
                Status::Skipped => s.skipped += 1,
                Status::Muted => s.muted += 1,
            }
        }
        s
    }
}

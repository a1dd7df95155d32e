//! Findings about a policy document itself (parse errors and lint results).

use std::fmt;

use serde::Serialize;

/// Severities in the spirit of IAM Access Analyzer `ValidatePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// AWS would reject the policy (MalformedPolicyDocument) or the text is not a policy.
    Error,
    /// The policy grants more than it appears to, or reads differently from how IAM reads it.
    SecurityWarning,
    /// Likely a mistake; AWS accepts it.
    Warning,
    /// Could be clearer.
    Suggestion,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::SecurityWarning => "security-warning",
            Severity::Warning => "warning",
            Severity::Suggestion => "suggestion",
        })
    }
}

/// Where in the document a diagnostic points.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Location {
    /// 0-based statement index, when inside a statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Element path inside the statement (or document), e.g. `Condition > StringLike > aws:SourceArn`.
    pub path: String,
}

impl Location {
    pub fn document(path: impl Into<String>) -> Self {
        Location {
            statement: None,
            sid: None,
            path: path.into(),
        }
    }

    pub fn statement(index: usize, sid: Option<&str>, path: impl Into<String>) -> Self {
        Location {
            statement: Some(index),
            sid: sid.map(str::to_owned),
            path: path.into(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.statement {
            Some(i) => {
                f.write_str(&crate::model::statement_label(i, self.sid.as_deref()))?;
                if !self.path.is_empty() {
                    write!(f, " > {}", self.path)?;
                }
                Ok(())
            }
            None if self.path.is_empty() => f.write_str("policy"),
            None => f.write_str(&self.path),
        }
    }
}

/// One finding about the policy text. `code` values are stable and documented in the README.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub code: &'static str,
    pub severity: Severity,
    /// A fatal diagnostic means the document cannot be evaluated soundly (see [`crate::Policy::parse`]).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub fatal: bool,
    pub location: Location,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "{} {} at {}: {}",
            self.severity, self.code, self.location, self.message
        )
    }
}

/// Why a policy could not be parsed into something that can be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message} [{code}]")]
pub struct PolicyError {
    pub code: &'static str,
    pub location: Location,
    pub message: String,
}

impl From<&Diagnostic> for PolicyError {
    fn from(d: &Diagnostic) -> Self {
        PolicyError {
            code: d.code,
            location: d.location.clone(),
            message: d.message.clone(),
        }
    }
}

//! The mutelist (`--mutelist FILE`): accepted risks, each with a reason and an optional expiry.
//!
//! ```yaml
//! mutes:
//!   - checks: [TS011]
//!     accounts: ["123456789012"]
//!     regions: ["*"]
//!     resources: ["arn:aws:cloudtrail:*:*:trail/legacy-*"]
//!     reason: "legacy trail, replaced in Q3"
//!     expires: 2027-06-30
//! ```
//!
//! Lists accept `*` and `?` glob patterns; an omitted list means all. A finding that needs
//! attention (fail, error, indeterminate) matched by an entry gets status `muted`, keeps what it
//! was in [`Finding::muted`], and never fails the run; passing and skipped findings are left as
//! they are, and so are input and accounts that could not be read (unknowns, not risks). An entry past its expiry date mutes nothing and is warned about; an entry that
//! matched nothing is reported. A file that cannot be read as such (syntax, an entry without a
//! reason, an unknown check code, an invalid date, an unknown key) is an error naming the line.

use std::sync::atomic::{AtomicUsize, Ordering};

use trailseal_iac::yaml::{self, Node, Value};
use trailseal_model::{Finding, Muted, Status};
use trailseal_policy::glob::glob_match;

/// Why a mutelist cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct MutelistError {
    pub line: u32,
    pub message: String,
}

/// One entry of the file.
#[derive(Debug)]
pub struct Entry {
    /// Its line in the file.
    pub line: u32,
    /// 1-based position among the entries.
    pub number: usize,
    checks: Option<Vec<String>>,
    accounts: Option<Vec<String>>,
    regions: Option<Vec<String>>,
    resources: Option<Vec<String>>,
    pub reason: String,
    /// `YYYY-MM-DD`.
    pub expires: Option<String>,
    /// Past its expiry date on the day of the run: mutes nothing.
    pub expired: bool,
    matched: AtomicUsize,
}

impl Entry {
    /// How many findings it muted so far.
    pub fn matched(&self) -> usize {
        self.matched.load(Ordering::Relaxed)
    }

    fn covers(&self, f: &Finding) -> bool {
        let any = |list: &Option<Vec<String>>, value: &str| match list {
            None => true,
            Some(patterns) => patterns.iter().any(|p| glob_match(p, value, false)),
        };
        let code = match &self.checks {
            None => true,
            Some(patterns) => patterns.iter().any(|p| glob_match(p, &f.code, true)),
        };
        code && any(&self.accounts, &f.account)
            && any(&self.regions, &f.region)
            && any(&self.resources, &f.resource)
    }
}

/// A parsed mutelist.
#[derive(Debug)]
pub struct Mutelist {
    pub entries: Vec<Entry>,
}

/// Keys an entry may have.
const KEYS: &[&str] = &[
    "checks",
    "accounts",
    "regions",
    "resources",
    "reason",
    "expires",
];

impl Mutelist {
    /// Parses `text`; `today` (`YYYY-MM-DD`) decides which entries have expired.
    pub fn parse(text: &str, today: &str) -> Result<Mutelist, MutelistError> {
        let root = yaml::parse(text).map_err(|e| MutelistError {
            line: e.line,
            message: format!("not YAML: {}", e.message),
        })?;
        let err = |node: &Node, message: String| MutelistError {
            line: node.pos.line,
            message,
        };
        if !matches!(root.value, Value::Map(_)) {
            return Err(err(
                &root,
                "expected a mapping with a `mutes:` list of entries".into(),
            ));
        }
        for (key, pos, _) in root.entries() {
            if key != "mutes" {
                return Err(MutelistError {
                    line: pos.line,
                    message: format!("unknown key {key:?}: the file holds `mutes:` only"),
                });
            }
        }
        let mutes = root.get("mutes").ok_or_else(|| {
            err(
                &root,
                "no `mutes:` list (each entry: checks, accounts, regions, resources, reason, \
                 expires)"
                    .into(),
            )
        })?;
        let items = match &mutes.value {
            Value::Seq(items) => items,
            Value::Null => return Ok(Mutelist { entries: vec![] }),
            _ => return Err(err(mutes, "`mutes:` must be a list of entries".into())),
        };
        let mut entries = Vec::new();
        for (i, item) in items.iter().enumerate() {
            if !matches!(item.value, Value::Map(_)) {
                return Err(err(
                    item,
                    "an entry must be a mapping (checks, ..., reason)".into(),
                ));
            }
            for (key, pos, _) in item.entries() {
                if !KEYS.contains(&key.as_str()) {
                    return Err(MutelistError {
                        line: pos.line,
                        message: format!("unknown key {key:?} (an entry has {})", KEYS.join(", ")),
                    });
                }
            }
            let list = |key: &str| -> Result<Option<Vec<String>>, MutelistError> {
                let Some(node) = item.get(key) else {
                    return Ok(None);
                };
                let values: Vec<&Node> = match &node.value {
                    Value::Seq(items) => items.iter().collect(),
                    Value::String(_) | Value::Number(_) => vec![node],
                    _ => {
                        return Err(err(node, format!("`{key}` must be a list of strings")));
                    }
                };
                let mut out = Vec::new();
                for v in values {
                    match v.as_str() {
                        Some(s) if !s.trim().is_empty() => out.push(s.trim().to_owned()),
                        _ => {
                            return Err(err(
                                v,
                                format!("`{key}` holds an empty or non-string value"),
                            ))
                        }
                    }
                }
                if out.is_empty() {
                    return Err(err(
                        node,
                        format!("`{key}` is empty: leave it out to mean all, or list patterns"),
                    ));
                }
                Ok(Some(out))
            };
            let checks = list("checks")?;
            if let Some(codes) = &checks {
                for code in codes {
                    let pattern = code.contains(['*', '?']);
                    let known =
                        trailseal_checks::catalogue().any(|c| glob_match(code, c.code, true));
                    if !known {
                        let node = item.get("checks").unwrap_or(item);
                        return Err(err(
                            node,
                            if pattern {
                                format!("checks: {code:?} matches no check code")
                            } else {
                                format!(
                                    "checks: unknown check code {code:?} (`trailseal explain` \
                                     lists them)"
                                )
                            },
                        ));
                    }
                }
            }
            let reason = match item.get("reason") {
                Some(node) => match node.as_str().map(str::trim) {
                    Some(r) if !r.is_empty() => r.to_owned(),
                    _ => {
                        return Err(err(
                            node,
                            "`reason` is empty: say why it is accepted".into(),
                        ))
                    }
                },
                None => {
                    return Err(err(
                        item,
                        "an entry without `reason`: every mute says why the risk is accepted"
                            .into(),
                    ))
                }
            };
            let expires = match item.get("expires") {
                None => None,
                Some(node) => match node.as_str().map(str::trim) {
                    Some(d) if valid_date(d) => Some(d.to_owned()),
                    _ => {
                        return Err(err(
                            node,
                            format!(
                                "`expires` {:?} is not a date YYYY-MM-DD",
                                node.as_str().unwrap_or_default()
                            ),
                        ))
                    }
                },
            };
            // Dates in YYYY-MM-DD compare as text. An entry expires at the end of its day.
            let expired = expires.as_deref().is_some_and(|d| d < today);
            entries.push(Entry {
                line: item.pos.line,
                number: i + 1,
                checks,
                accounts: list("accounts")?,
                regions: list("regions")?,
                resources: list("resources")?,
                reason,
                expires,
                expired,
                matched: AtomicUsize::new(0),
            });
        }
        Ok(Mutelist { entries })
    }

    /// Mutes the findings the first applicable entry covers (fail, error, indeterminate only).
    /// Input that could not be read (TS000 `unreadable`) and accounts that could not be read
    /// are never muted: they are not accepted risks but unknowns, and keep the run's exit 2.
    pub fn apply(&self, findings: &mut [Finding]) {
        for f in findings.iter_mut() {
            if !matches!(
                f.status,
                Status::Fail | Status::Error | Status::Indeterminate
            ) || trailseal_checks::is_unreadable_input(f)
                || f.evidence.get("account_error").is_some()
            {
                continue;
            }
            let Some(entry) = self.entries.iter().find(|e| !e.expired && e.covers(f)) else {
                continue;
            };
            entry.matched.fetch_add(1, Ordering::Relaxed);
            f.muted = Some(Muted {
                status: f.status,
                reason: entry.reason.clone(),
                expires: entry.expires.clone(),
                entry: entry.number,
            });
            f.status = Status::Muted;
        }
    }

    /// Warnings for the operator: expired entries, and entries that matched nothing.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        for e in &self.entries {
            if e.expired {
                out.push(format!(
                    "mutelist entry {} (line {}) expired on {}: it no longer mutes ({})",
                    e.number,
                    e.line,
                    e.expires.as_deref().unwrap_or_default(),
                    e.reason
                ));
            } else if e.matched() == 0 {
                out.push(format!(
                    "mutelist entry {} (line {}) matched no finding ({})",
                    e.number, e.line, e.reason
                ));
            }
        }
        out
    }

    /// What the report's `input` says about the mutelist.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!(self
            .entries
            .iter()
            .map(|e| serde_json::json!({
                "entry": e.number,
                "line": e.line,
                "reason": e.reason,
                "expires": e.expires,
                "expired": e.expired,
                "muted": e.matched(),
            }))
            .collect::<Vec<_>>())
    }
}

/// `YYYY-MM-DD`, a real day of the Gregorian calendar.
fn valid_date(d: &str) -> bool {
    let parts: Vec<&str> = d.split('-').collect();
    let [y, m, day] = parts.as_slice() else {
        return false;
    };
    if y.len() != 4 || m.len() != 2 || day.len() != 2 {
        return false;
    }
    let (Ok(y), Ok(m), Ok(day)) = (y.parse::<u32>(), m.parse::<u32>(), day.parse::<u32>()) else {
        return false;
    };
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailseal_model::Severity;

    fn finding(code: &str, status: Status, resource: &str, region: &str) -> Finding {
        Finding {
            code: code.into(),
            name: String::new(),
            status,
            severity: Severity::Medium,
            account: "123456789012".into(),
            region: region.into(),
            resource: resource.into(),
            message: String::new(),
            remediation: String::new(),
            evidence: serde_json::json!({}),
            compliance: vec![],
            file: None,
            line: None,
            column: None,
            muted: None,
        }
    }

    const LIST: &str = r#"
mutes:
  - checks: [TS011]
    accounts: ["123456789012"]
    regions: ["*"]
    resources: ["arn:aws:cloudtrail:*:*:trail/legacy-*"]
    reason: "legacy trail, replaced in Q3"
    expires: 2027-06-30
  - checks: ["TS01?"]
    reason: "expired one"
    expires: 2026-01-31
  - resources: ["arn:aws:cloudtrail:*:*:trail/nothing-here"]
    reason: "matches nothing"
"#;

    #[test]
    fn mutes_problems_with_the_reason_and_reports_expired_and_unmatched_entries() {
        let list = Mutelist::parse(LIST, "2026-11-30").expect("parses");
        let legacy = "arn:aws:cloudtrail:us-east-1:123456789012:trail/legacy-a";
        let mut fs = vec![
            finding("TS011", Status::Fail, legacy, "us-east-1"),
            // Passing findings are left alone.
            finding("TS011", Status::Pass, legacy, "us-east-1"),
            // Another check: the first entry does not cover it; the second expired.
            finding("TS010", Status::Fail, legacy, "us-east-1"),
            finding(
                "TS011",
                Status::Fail,
                "arn:aws:cloudtrail:us-east-1:123456789012:trail/main",
                "us-east-1",
            ),
        ];
        list.apply(&mut fs);
        assert_eq!(fs[0].status, Status::Muted);
        let m = fs[0].muted.as_ref().expect("muted");
        assert_eq!(
            (m.status, m.reason.as_str(), m.entry),
            (Status::Fail, "legacy trail, replaced in Q3", 1)
        );
        assert_eq!(fs[1].status, Status::Pass);
        assert_eq!(
            fs[2].status,
            Status::Fail,
            "the expired entry mutes nothing"
        );
        assert_eq!(fs[3].status, Status::Fail);
        let warnings = list.warnings();
        assert!(
            warnings[0].contains("expired on 2026-01-31"),
            "{warnings:?}"
        );
        assert!(warnings[1].contains("matched no finding"), "{warnings:?}");
        assert_eq!(warnings.len(), 2);
        // An entry is valid through its expiry day.
        let list = Mutelist::parse(LIST, "2026-01-31").expect("parses");
        assert!(!list.entries[1].expired);
    }

    #[test]
    fn bad_mutelists_name_the_line() {
        let cases = [
            ("mutes:\n  - checks: [TS011]\n", 2, "without `reason`"),
            (
                "mutes:\n  - checks: [TS999]\n    reason: x\n",
                2,
                "unknown check code",
            ),
            (
                "mutes:\n  - reason: x\n    expires: 2027-02-30\n",
                3,
                "not a date",
            ),
            ("mutes:\n  - reason: x\n    region: [a]\n", 3, "unknown key"),
            ("mutes:\n  - reason: [\n", 3, "not YAML"),
            ("mute:\n  - reason: x\n", 1, "unknown key"),
            ("mutes:\n  - reason: \"\"\n", 2, "empty"),
            ("mutes:\n  - reason: x\n    checks: []\n", 3, "empty"),
        ];
        for (text, line, expected) in cases {
            let e = Mutelist::parse(text, "2026-11-30").expect_err(text);
            assert_eq!(e.line, line, "{text}: {e}");
            assert!(e.message.contains(expected), "{text}: {e}");
        }
    }

    #[test]
    fn dates_are_real_days() {
        assert!(valid_date("2024-02-29"));
        assert!(!valid_date("2023-02-29"));
        assert!(!valid_date("2027-13-01"));
        assert!(!valid_date("27-06-30"));
        assert!(!valid_date("2027-6-30"));
    }
}

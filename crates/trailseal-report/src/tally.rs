//! What a report adds up while it is written: the summary, the trail and account verdicts, and
//! the one exit-code rule ([`Tally::exit_code`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;
use trailseal_model::{Finding, Severity, Status, Summary};

use crate::{trail_verdicts, TrailVerdict};

/// An account's verdict in a report of several accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountVerdict {
    pub account: String,
    /// `true`: every trail of the account and every trail logging it is compliant (TS001-TS006)
    /// and every scanned Region is covered (TS012); `false`: one of them is not; `null`: not
    /// decided (a trail logging it is not in this report, or not every check ran).
    pub compliant: Option<bool>,
    /// Why it is not compliant, or not decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// What a report adds up about one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTally {
    /// Problems among the account's compliance checks (TS001-TS006) and TS012.
    problems: BTreeSet<String>,
    /// TS012 findings (the account-level check ran).
    coverage: usize,
    /// Trails TS012 names as logging the account (its own, or its organization's).
    covering: BTreeSet<String>,
    /// The account's own trails that have findings.
    trails: BTreeSet<String>,
    /// The account could not be read (its role could not be assumed): not decided.
    unreadable: Option<String>,
}

impl AccountTally {
    fn add(&mut self, other: AccountTally) {
        self.problems.extend(other.problems);
        self.coverage += other.coverage;
        self.covering.extend(other.covering);
        self.trails.extend(other.trails);
        if self.unreadable.is_none() {
            self.unreadable = other.unreadable;
        }
    }
}

/// The code of Region coverage, whose findings name the trails logging each Region.
const COVERAGE_CODE: &str = "TS012";

fn account_tallies(findings: &[Finding]) -> BTreeMap<String, AccountTally> {
    let compliant = trailseal_checks::compliant_codes();
    let mut out: BTreeMap<String, AccountTally> = BTreeMap::new();
    for f in findings {
        if f.account.is_empty() || f.file.is_some() {
            continue;
        }
        let a = out.entry(f.account.clone()).or_default();
        // An account that could not be read: not decided, unless another report of it (a
        // merge) says it fails.
        if let Some(error) = f.evidence.get("account_error").and_then(Value::as_str) {
            a.unreadable = Some(error.to_owned());
            a.coverage += usize::from(f.code == COVERAGE_CODE);
            continue;
        }
        let counted = compliant.contains(&f.code.as_str()) || f.code == COVERAGE_CODE;
        let problem = matches!(
            effective(f),
            Status::Fail | Status::Error | Status::Indeterminate
        );
        if counted && problem {
            a.problems.insert(f.code.clone());
        }
        if f.code == COVERAGE_CODE {
            a.coverage += 1;
            if let Some(list) = f.evidence.get("logging_trails").and_then(Value::as_array) {
                a.covering
                    .extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
        if f.resource.starts_with("arn:") && f.resource.contains(":trail/") {
            a.trails.insert(f.resource.clone());
        }
    }
    out
}

/// What the report adds up while it is written: the summary, the trail verdicts and what the
/// exit code needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub summary: Summary,
    pub verdicts: Vec<TrailVerdict>,
    /// Some finding is neither `error` nor `skipped`: something was evaluated.
    pub evaluated: bool,
    /// The highest severity of a `fail`, `error` or `indeterminate` finding.
    pub worst_problem: Option<Severity>,
    pub findings: usize,
    /// Problems (`fail`, `error`, `indeterminate`) by severity: info, low, medium, high,
    /// critical.
    pub problems_by_severity: [usize; 5],
    /// Some input could not be read (a TS000 `error`): the run exits 2 whatever --fail-on says.
    pub unreadable_input: bool,
    /// Per account (live audits and evidence; not infrastructure as code).
    pub accounts: BTreeMap<String, AccountTally>,
}

fn is_problem(f: &Finding) -> bool {
    matches!(
        f.status,
        Status::Fail | Status::Error | Status::Indeterminate
    )
}

/// The status a finding has for verdicts: a muted finding is what it was (an accepted risk does
/// not fail the run, but never makes anything compliant or evaluated).
fn effective(f: &Finding) -> Status {
    match (&f.muted, f.status) {
        (Some(m), Status::Muted) => m.status,
        (_, s) => s,
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

impl Tally {
    pub fn of(findings: &[Finding]) -> Tally {
        let mut problems_by_severity = [0; 5];
        for f in findings.iter().filter(|f| is_problem(f)) {
            problems_by_severity[severity_index(f.severity)] += 1;
        }
        Tally {
            problems_by_severity,
            unreadable_input: findings.iter().any(trailseal_checks::is_unreadable_input),
            summary: Summary::of(findings),
            verdicts: trail_verdicts(findings),
            evaluated: findings
                .iter()
                .any(|f| !matches!(effective(f), Status::Error | Status::Skipped)),
            worst_problem: findings
                .iter()
                .filter(|f| is_problem(f))
                .map(|f| f.severity)
                .max(),
            findings: findings.len(),
            accounts: account_tallies(findings),
        }
    }

    /// Each account's verdict (see [`AccountVerdict`]), by account id.
    pub fn account_verdicts(&self) -> Vec<AccountVerdict> {
        let verdicts: BTreeMap<&str, &TrailVerdict> =
            self.verdicts.iter().map(|v| (v.arn.as_str(), v)).collect();
        self.accounts
            .iter()
            .map(|(account, a)| {
                let mut why: Vec<String> = a
                    .problems
                    .iter()
                    .map(|code| format!("{code} does not pass"))
                    .collect();
                let mut undecided = Vec::new();
                if let Some(error) = &a.unreadable {
                    undecided.push(format!("the account could not be read: {error}"));
                }
                if a.coverage == 0 {
                    undecided.push(format!("{COVERAGE_CODE} did not run"));
                }
                for arn in a.trails.iter().chain(&a.covering) {
                    match verdicts.get(arn.as_str()) {
                        Some(v) if !v.compliant => {
                            why.push(format!("trail {arn} is not compliant"));
                        }
                        Some(_) => {}
                        None => undecided.push(format!("trail {arn} has no verdict here")),
                    }
                }
                why.sort();
                why.dedup();
                let compliant = if !why.is_empty() {
                    Some(false)
                } else if undecided.is_empty() {
                    Some(true)
                } else {
                    why = undecided;
                    None
                };
                AccountVerdict {
                    account: account.clone(),
                    compliant,
                    why,
                }
            })
            .collect()
    }

    /// Adds the tally of other findings (a trail's findings are all in one of them).
    pub fn add(&mut self, other: Tally) {
        let (a, b) = (&mut self.summary, other.summary);
        a.pass += b.pass;
        a.fail += b.fail;
        a.error += b.error;
        a.indeterminate += b.indeterminate;
        a.skipped += b.skipped;
        a.muted += b.muted;
        self.verdicts.extend(other.verdicts);
        self.evaluated |= other.evaluated;
        self.worst_problem = self.worst_problem.max(other.worst_problem);
        self.findings += other.findings;
        for (a, b) in self
            .problems_by_severity
            .iter_mut()
            .zip(other.problems_by_severity)
        {
            *a += b;
        }
        self.unreadable_input |= other.unreadable_input;
        for (account, tally) in other.accounts {
            self.accounts.entry(account).or_default().add(tally);
        }
    }

    /// The one exit-code rule of `audit`, `audit --evidence`, `policy check` and `scan`:
    /// 2 when some input could not be read (TS000) or nothing could be evaluated, whatever the
    /// threshold; else 1 when a problem (fail, error or indeterminate) is at or above
    /// `threshold` (`None`: report only, never); else 0.
    pub fn exit_code(&self, threshold: Option<Severity>) -> u8 {
        if !self.evaluated || self.unreadable_input {
            return 2;
        }
        u8::from(threshold.is_some_and(|t| self.worst_problem.is_some_and(|s| s >= t)))
    }
}

//! What changed between two runs of one account: pure, on the runs' evidence and findings.
//!
//! A finding is the same finding in both runs when its code, Region and resource are the same.
//! Its status ranks pass/skipped/muted < indeterminate/error < fail; a finding whose rank
//! rose is **worse**, one whose rank fell is **better**, a failing or undecided finding that
//! did not exist before (a new trail, a new Region) is **new**, one that is gone with its
//! resource (a deleted trail) is **gone**. Worse and new are regressions
//! (`diff --fail-on-regression`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;
use serde_json::Value;
use trailseal_model::{AccountEvidence, Finding, Key, Status, Trail};

use crate::keypolicy::{diff_policies, PolicyDiff};
use crate::store::{Run, RunSummary};

/// The codes whose verdict depends on the key policy: the effect of a policy change.
const POLICY_CODES: [&str; 3] = ["TS006", "TS007", "TS008"];

/// What changed between two runs of an account.
#[derive(Debug, Clone, Serialize)]
pub struct RunDiff {
    pub account: String,
    pub old: RunSummary,
    pub new: RunSummary,
    /// Trail ARNs only in the new run.
    pub trails_added: Vec<String>,
    /// Trail ARNs only in the old run.
    pub trails_removed: Vec<String>,
    /// Trails in both runs whose configuration or status changed.
    pub trails_changed: Vec<TrailChange>,
    /// Keys (by ARN) that appeared, disappeared or changed.
    pub keys: Vec<KeyChange>,
    /// Findings whose status changed, worst first.
    pub findings: Vec<FindingChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrailChange {
    pub arn: String,
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyChange {
    pub arn: String,
    /// `added`, `removed` or `changed`.
    pub what: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// The key policy, statement by statement.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyDiff>,
    /// Grant ids that appeared and disappeared.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grants_added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub grants_removed: Vec<String>,
    /// TS006-TS008 of the trails using the key, before and after (changed or not).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub effect: Vec<FindingChange>,
}

/// How a finding changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Failing or undecided, and not there before.
    New,
    /// Its status got worse.
    Worse,
    /// Another status of the same rank (error <-> indeterminate).
    Changed,
    /// Same status (listed only in a key's effect).
    Same,
    /// Its status got better.
    Better,
    /// Was failing or undecided, and its resource is gone.
    Gone,
}

impl Kind {
    pub fn is_regression(self) -> bool {
        matches!(self, Kind::New | Kind::Worse)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::New => "new",
            Kind::Worse => "worse",
            Kind::Changed => "changed",
            Kind::Same => "same",
            Kind::Better => "better",
            Kind::Gone => "gone",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingChange {
    pub kind: Kind,
    pub code: String,
    pub region: String,
    pub resource: String,
    pub old: Option<Status>,
    pub new: Option<Status>,
    /// The new finding's message (the old one's when it is gone).
    pub message: String,
}

impl RunDiff {
    /// Findings that got worse or are new and not passing.
    pub fn regressions(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind.is_regression())
            .count()
    }

    pub fn improvements(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind == Kind::Better)
            .count()
    }

    pub fn is_empty(&self) -> bool {
        self.trails_added.is_empty()
            && self.trails_removed.is_empty()
            && self.trails_changed.is_empty()
            && self.keys.is_empty()
            && self.findings.is_empty()
    }
}

/// 0: pass (or not applicable, or accepted); 1: not decided; 2: fail.
fn rank(status: Status) -> u8 {
    match status {
        Status::Pass | Status::Skipped | Status::Muted => 0,
        Status::Indeterminate | Status::Error => 1,
        Status::Fail => 2,
    }
}

fn kind(old: Option<Status>, new: Option<Status>) -> Option<Kind> {
    match (old, new) {
        (None, Some(n)) => (rank(n) > 0).then_some(Kind::New),
        (Some(o), None) => (rank(o) > 0).then_some(Kind::Gone),
        (Some(o), Some(n)) if o == n => Some(Kind::Same),
        (Some(o), Some(n)) => Some(match rank(n).cmp(&rank(o)) {
            std::cmp::Ordering::Greater => Kind::Worse,
            std::cmp::Ordering::Less => Kind::Better,
            std::cmp::Ordering::Equal => Kind::Changed,
        }),
        (None, None) => None,
    }
}

type FindingKey<'a> = (&'a str, &'a str, &'a str, usize);

/// Findings by (code, Region, resource, occurrence).
fn index(findings: &[Finding]) -> BTreeMap<FindingKey<'_>, &Finding> {
    let mut seen: HashMap<(&str, &str, &str), usize> = HashMap::new();
    let mut out = BTreeMap::new();
    for f in findings {
        let n = seen
            .entry((f.code.as_str(), f.region.as_str(), f.resource.as_str()))
            .or_default();
        out.insert(
            (f.code.as_str(), f.region.as_str(), f.resource.as_str(), *n),
            f,
        );
        *n += 1;
    }
    out
}

/// Compares run `old` with run `new` (of the same account).
pub fn diff(old: &Run, new: &Run) -> RunDiff {
    let old_findings = index(&old.findings);
    let new_findings = index(&new.findings);
    let keys: BTreeSet<&FindingKey<'_>> = old_findings.keys().chain(new_findings.keys()).collect();
    let mut all: Vec<FindingChange> = Vec::new();
    for key in keys {
        let o = old_findings.get(key);
        let n = new_findings.get(key);
        let Some(kind) = kind(o.map(|f| f.status), n.map(|f| f.status)) else {
            continue;
        };
        all.push(FindingChange {
            kind,
            code: key.0.to_owned(),
            region: key.1.to_owned(),
            resource: key.2.to_owned(),
            old: o.map(|f| f.status),
            new: n.map(|f| f.status),
            message: n.or(o).map(|f| f.message.clone()).unwrap_or_default(),
        });
    }
    let keys = key_changes(&old.evidence, &new.evidence, &all);
    let mut findings: Vec<FindingChange> =
        all.into_iter().filter(|f| f.kind != Kind::Same).collect();
    findings.sort_by(|a, b| {
        (a.kind, &a.code, &a.resource, &a.region).cmp(&(b.kind, &b.code, &b.resource, &b.region))
    });
    let trails = |e: &AccountEvidence| -> BTreeMap<String, Trail> {
        e.trails
            .iter()
            .map(|t| (t.arn.clone(), t.clone()))
            .collect()
    };
    let (old_trails, new_trails) = (trails(&old.evidence), trails(&new.evidence));
    RunDiff {
        account: new.summary.account.clone(),
        old: old.summary.clone(),
        new: new.summary.clone(),
        trails_added: new_trails
            .keys()
            .filter(|a| !old_trails.contains_key(*a))
            .cloned()
            .collect(),
        trails_removed: old_trails
            .keys()
            .filter(|a| !new_trails.contains_key(*a))
            .cloned()
            .collect(),
        trails_changed: new_trails
            .iter()
            .filter_map(|(arn, n)| {
                let o = old_trails.get(arn)?;
                let changes = field_changes(&trail_fields(o), &trail_fields(n));
                (!changes.is_empty()).then(|| TrailChange {
                    arn: arn.clone(),
                    changes,
                })
            })
            .collect(),
        keys,
        findings,
    }
}

/// A trail's configuration and delivery status, without what changes on every run (the time
/// of the latest delivery, the latest log file found).
fn trail_fields(trail: &Trail) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Ok(Value::Object(map)) = serde_json::to_value(trail) else {
        return out;
    };
    for (field, value) in map {
        match field.as_str() {
            "latest_log_file" | "log_file_search" | "log_file_searched_at" => {}
            "status" => {
                if let Value::Object(status) = value {
                    for (k, v) in status {
                        if k != "latest_delivery_time" {
                            out.insert(format!("status.{k}"), v);
                        }
                    }
                }
            }
            _ => {
                out.insert(field, value);
            }
        }
    }
    out
}

fn key_fields(key: &Key) -> BTreeMap<String, Value> {
    match serde_json::to_value(key) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter(|(k, _)| k != "policy" && k != "grants")
            .collect(),
        _ => BTreeMap::new(),
    }
}

fn field_changes(old: &BTreeMap<String, Value>, new: &BTreeMap<String, Value>) -> Vec<Change> {
    let fields: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    fields
        .into_iter()
        .filter_map(|field| {
            let o = old.get(field).cloned().unwrap_or(Value::Null);
            let n = new.get(field).cloned().unwrap_or(Value::Null);
            (o != n).then(|| Change {
                field: field.clone(),
                old: o,
                new: n,
            })
        })
        .collect()
}

/// The trails whose key resolves to `arn` in `evidence`.
fn trails_on_key(evidence: &AccountEvidence, arn: &str) -> Vec<String> {
    evidence
        .trails
        .iter()
        .filter(|t| {
            evidence
                .trail_evidence(t)
                .key
                .is_some_and(|k| k.arn.as_deref() == Some(arn))
        })
        .map(|t| t.arn.clone())
        .collect()
}

fn key_changes(
    old: &AccountEvidence,
    new: &AccountEvidence,
    findings: &[FindingChange],
) -> Vec<KeyChange> {
    let keys = |e: &AccountEvidence| -> BTreeMap<String, Key> {
        e.keys
            .iter()
            .filter_map(|k| Some((k.arn.clone()?, k.clone())))
            .collect()
    };
    let (old_keys, new_keys) = (keys(old), keys(new));
    let arns: BTreeSet<&String> = old_keys.keys().chain(new_keys.keys()).collect();
    let mut out = Vec::new();
    for arn in arns {
        let (o, n) = (old_keys.get(arn), new_keys.get(arn));
        let mut change = KeyChange {
            arn: arn.clone(),
            what: match (o, n) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            },
            changes: Vec::new(),
            policy: None,
            grants_added: Vec::new(),
            grants_removed: Vec::new(),
            effect: Vec::new(),
        };
        if let (Some(o), Some(n)) = (o, n) {
            change.changes = field_changes(&key_fields(o), &key_fields(n));
            change.policy = policy_change(o, n);
            let grant_ids = |k: &Key| -> BTreeSet<String> {
                k.grants
                    .known()
                    .map(|g| g.iter().map(|g| g.grant_id.clone()).collect())
                    .unwrap_or_default()
            };
            let (og, ng) = (grant_ids(o), grant_ids(n));
            change.grants_added = ng.difference(&og).cloned().collect();
            change.grants_removed = og.difference(&ng).cloned().collect();
            if change.changes.is_empty()
                && change.policy.is_none()
                && change.grants_added.is_empty()
                && change.grants_removed.is_empty()
            {
                continue;
            }
        }
        let mut trails = trails_on_key(old, arn);
        trails.extend(trails_on_key(new, arn));
        change.effect = findings
            .iter()
            .filter(|f| POLICY_CODES.contains(&f.code.as_str()) && trails.contains(&f.resource))
            .cloned()
            .collect();
        out.push(change);
    }
    out
}

/// The policy's change, also when it became (or stopped being) readable.
fn policy_change(old: &Key, new: &Key) -> Option<PolicyDiff> {
    match (old.policy.known(), new.policy.known()) {
        (Some(o), Some(n)) => Some(diff_policies(o, n)).filter(|d| !d.is_empty()),
        (None, None) => None,
        _ if old.policy == new.policy => None,
        _ => Some(PolicyDiff {
            text: Some((show_fact(&old.policy), show_fact(&new.policy))),
            ..PolicyDiff::default()
        }),
    }
}

fn show_fact(fact: &trailseal_model::Fact<String>) -> String {
    match fact.not_known() {
        None => fact.known().cloned().unwrap_or_default(),
        Some(trailseal_model::NotKnown::Unknown(why)) => format!("(unknown: {why})"),
        Some(trailseal_model::NotKnown::Unreadable(why)) => format!("(unreadable: {why})"),
    }
}

//! What changed between two runs of one account: pure, on the runs' evidence and findings.
//!
//! A finding is the same finding in both runs when its code, Region and resource are the same.
//! - **worse**: it fails now and did not, or it cannot be decided now (error, indeterminate)
//!   and could be (evidence was lost);
//! - **better**: it passes now and did not;
//! - **changed**: another status that is neither (error <-> indeterminate, -> skipped);
//! - **new**: failing or undecided, and not there before (a new trail, a new Region);
//! - **unverified**: it is missing because the new run did not look (a check left out with
//!   `--checks`, a Region not read, trails that could not be listed, an account that could not
//!   be read): unknown is never pass, so this is a regression too;
//! - **gone**: failing or undecided before, and gone with its resource (a deleted trail).
//!
//! Regressions (`diff --fail-on-regression`): worse, new and unverified findings, and a trail
//! that was compliant (TS001-TS006 pass) and is deleted.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
    /// Trail ARNs only in the old run, whose Region the new run read: deleted.
    pub trails_removed: Vec<String>,
    /// Of those, the trails that were compliant: deleting one is a regression.
    pub compliant_trails_removed: Vec<String>,
    /// Trail ARNs only in the old run, whose Region the new run could not read (or did not).
    pub trails_not_read: Vec<String>,
    /// How the two runs looked differently: checks left out, Regions not read, trusted
    /// accounts or tool version changed.
    pub scope: Vec<String>,
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
    /// Another status that is neither better nor worse (error <-> indeterminate, skipped).
    Changed,
    /// Missing because the new run did not look.
    Unverified,
    /// Same status (listed only in a key's effect).
    Same,
    /// Its status got better.
    Better,
    /// Was failing or undecided, and its resource is gone.
    Gone,
}

impl Kind {
    pub fn is_regression(self) -> bool {
        matches!(self, Kind::New | Kind::Worse | Kind::Unverified)
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
    /// Findings that got worse, are new and not passing, or were not verified again; and
    /// compliant trails deleted.
    pub fn regressions(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.kind.is_regression())
            .count()
            + self.compliant_trails_removed.len()
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
            && self.trails_not_read.is_empty()
            && self.scope.is_empty()
            && self.trails_changed.is_empty()
            && self.keys.is_empty()
            && self.findings.is_empty()
    }
}

fn undecided(status: Status) -> bool {
    matches!(status, Status::Error | Status::Indeterminate)
}

/// Not passing: what a new finding or a gone one is listed for.
fn open(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error | Status::Indeterminate)
}

/// How a finding present in both runs changed.
fn transition(old: Status, new: Status) -> Kind {
    use Status::*;
    if old == new {
        return Kind::Same;
    }
    match (old, new) {
        (_, Fail) => Kind::Worse,
        // Decided before, undecided now: the evidence that decided it was lost.
        (o, n) if undecided(n) && !undecided(o) => Kind::Worse,
        (Fail | Error | Indeterminate, Pass | Muted) => Kind::Better,
        // error <-> indeterminate, anything -> skipped, skipped -> pass.
        _ => Kind::Changed,
    }
}

/// What the new run did not look at.
struct Scope<'a> {
    codes: BTreeSet<&'a str>,
    regions: BTreeSet<&'a str>,
    /// Regions whose trails could not be listed.
    unread_regions: BTreeSet<&'a str>,
    account_unread: bool,
}

impl<'a> Scope<'a> {
    fn of(run: &'a Run) -> Scope<'a> {
        Scope {
            codes: run.summary.codes.iter().map(String::as_str).collect(),
            regions: run.summary.regions.iter().map(String::as_str).collect(),
            unread_regions: run
                .evidence
                .regions
                .iter()
                .filter(|r| r.trails_error.is_some())
                .map(|r| r.region.as_str())
                .collect(),
            account_unread: run.evidence.error.is_some(),
        }
    }

    /// Whether the run looked where `region` is (an empty Region: account-wide).
    fn read_region(&self, region: &str) -> bool {
        !self.account_unread
            && (region.is_empty()
                || (self.regions.contains(region) && !self.unread_regions.contains(region)))
    }

    /// Whether a finding missing from the run was looked for.
    fn looked_for(&self, f: &Finding) -> bool {
        (self.codes.is_empty() || self.codes.contains(f.code.as_str()))
            && self.read_region(&f.region)
    }
}

fn kind(old: Option<&Finding>, new: Option<&Finding>, scope: &Scope<'_>) -> Option<Kind> {
    match (old, new) {
        (None, Some(n)) => open(n.status).then_some(Kind::New),
        (Some(o), None) if !scope.looked_for(o) => Some(Kind::Unverified),
        (Some(o), None) => open(o.status).then_some(Kind::Gone),
        (Some(o), Some(n)) => Some(transition(o.status, n.status)),
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
    let scope = Scope::of(new);
    let mut all: Vec<FindingChange> = Vec::new();
    for key in keys {
        let o = old_findings.get(key).copied();
        let n = new_findings.get(key).copied();
        let Some(kind) = kind(o, n, &scope) else {
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
    let (mut trails_removed, mut trails_not_read) = (Vec::new(), Vec::new());
    for (arn, t) in &old_trails {
        if new_trails.contains_key(arn) {
            continue;
        }
        if scope.read_region(&t.home_region) {
            trails_removed.push(arn.clone());
        } else {
            trails_not_read.push(arn.clone());
        }
    }
    let was_compliant = compliant_trails(&old.findings);
    let compliant_trails_removed = trails_removed
        .iter()
        .filter(|arn| was_compliant.contains(arn.as_str()))
        .cloned()
        .collect();
    RunDiff {
        account: new.summary.account.clone(),
        old: old.summary.clone(),
        new: new.summary.clone(),
        trails_added: new_trails
            .keys()
            .filter(|a| !old_trails.contains_key(*a))
            .cloned()
            .collect(),
        trails_removed,
        compliant_trails_removed,
        trails_not_read,
        scope: scope_changes(old, new),
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

/// The resources (trail ARNs) whose compliance checks (TS001-TS006) all ran and all passed in
/// `findings`: a trail missing one of them (`--checks` left it out) is not compliant. One pass
/// over the findings.
pub(crate) fn compliant_trails(findings: &[Finding]) -> HashSet<&str> {
    let codes = trailseal_checks::compliant_codes();
    // (trail, code) -> every such finding passed.
    let mut passed: HashMap<(&str, &str), bool> = HashMap::new();
    for f in findings.iter().filter(|f| codes.contains(&f.code.as_str())) {
        *passed
            .entry((f.resource.as_str(), f.code.as_str()))
            .or_insert(true) &= f.status == Status::Pass;
    }
    let resources: HashSet<&str> = passed.keys().map(|(r, _)| *r).collect();
    resources
        .into_iter()
        .filter(|r| codes.iter().all(|c| passed.get(&(*r, *c)) == Some(&true)))
        .collect()
}

/// How the new run looked differently from the old one.
fn scope_changes(old: &Run, new: &Run) -> Vec<String> {
    let mut out = Vec::new();
    let missing = |a: &[String], b: &[String]| -> Vec<String> {
        a.iter().filter(|x| !b.contains(x)).cloned().collect()
    };
    let codes = missing(&old.summary.codes, &new.summary.codes);
    if !codes.is_empty() && !new.summary.codes.is_empty() {
        out.push(format!(
            "checks evaluated before and not now: {}",
            codes.join(", ")
        ));
    }
    let regions = missing(&old.summary.regions, &new.summary.regions);
    if !regions.is_empty() {
        out.push(format!(
            "Regions read before and not now: {}",
            regions.join(", ")
        ));
    }
    if old.evidence.trusted_accounts != new.evidence.trusted_accounts {
        out.push(format!(
            "trusted accounts (TS015): [{}] -> [{}]",
            old.evidence.trusted_accounts.join(", "),
            new.evidence.trusted_accounts.join(", ")
        ));
    }
    if old.summary.tool_version != new.summary.tool_version {
        out.push(format!(
            "trailseal {} -> {} (a newer version may decide more)",
            old.summary.tool_version, new.summary.tool_version
        ));
    }
    if let (Some(_), None) | (None, Some(_)) = (&old.evidence.error, &new.evidence.error) {
        out.push(format!(
            "the account could be read: {} -> {}",
            old.evidence.error.is_none(),
            new.evidence.error.is_none()
        ));
    }
    if old.summary.collected_at > new.summary.collected_at {
        out.push(format!(
            "the newer run's evidence is older ({} < {})",
            new.summary.collected_at, old.summary.collected_at
        ));
    }
    out
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

/// A key's fields, the policy apart (diffed by statement) and the grants as their ids (or why
/// they could not be read).
fn key_fields(key: &Key) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> = match serde_json::to_value(key) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .filter(|(k, _)| k != "policy" && k != "grants")
            .collect(),
        _ => BTreeMap::new(),
    };
    if key.grants.known().is_none() {
        out.insert(
            "grants".into(),
            serde_json::to_value(&key.grants).unwrap_or_default(),
        );
    }
    out
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
            // Grants compared when both lists were read (else the `grants` field shows it).
            if let (Some(og), Some(ng)) = (o.grants.known(), n.grants.known()) {
                let ids = |g: &[trailseal_model::Grant]| -> BTreeSet<String> {
                    g.iter().map(|g| g.grant_id.clone()).collect()
                };
                let (og, ng) = (ids(og), ids(ng));
                change.grants_added = ng.difference(&og).cloned().collect();
                change.grants_removed = og.difference(&ng).cloned().collect();
            }
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

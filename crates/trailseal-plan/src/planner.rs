//! The decisions: per trail, from the findings of TS001-TS008, TS010 and TS011 on the
//! evidence; per key, the policy to set; then the proof and the steps. See the crate
//! documentation for the rules.

use std::collections::BTreeMap;

use trailseal_checks::run_trail_checks;
use trailseal_model::{
    key_region, AccountEvidence, Fact, Finding, Key, KeyRef, Status, Trail, TrailEvidence,
};
use trailseal_policy::{
    who_may_decrypt, Decision, Effect, Given, Policy, PrincipalKind, Principals, RequestPrincipal,
    TrailContext,
};

use crate::statements::{self, Readers};
use crate::{KeyTarget, Options, Outcome, Plan, Proof, Step, TrailPlan, PLAN_SCHEMA};

/// The checks that make a trail compliant.
const CORE: &[&str] = &["TS001", "TS002", "TS003", "TS004", "TS005", "TS006"];
/// The checks the planner reads.
const READ: &[&str] = &[
    "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008", "TS010", "TS011",
];

/// Options the planner cannot work with (exit 2 in the CLI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}

/// Work on one key: statements to merge into an existing key's policy, or a key to create.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyWork {
    pub target: Option<KeyTarget>,
    pub region: String,
    /// The existing key (None: the plan creates it).
    pub existing: Option<Key>,
    pub encrypt_for: Vec<TrailContext>,
    pub describe_for: Vec<TrailContext>,
    /// A new key's readers besides the trail's account.
    pub readers: Readers,
    pub enable: bool,
    pub rotate: bool,
    /// The trails that will use the key after the plan.
    pub trails: Vec<String>,
    /// Set by [`finish_keys`]: the policy before and after (None: unchanged) and the Sids added.
    pub before: Option<String>,
    pub after: Option<String>,
    pub added: Vec<String>,
}

/// What the plan does to one trail.
#[derive(Debug, Clone)]
pub(crate) struct TrailWork {
    pub plan: TrailPlan,
    pub trail: Trail,
    pub update_key: Option<KeyTarget>,
    pub validation: bool,
    /// The key whose work (and proof) the trail's fix depends on.
    pub key: Option<String>,
}

/// Computes the plan for `account` (see the crate documentation).
pub fn plan(account: &AccountEvidence, options: &Options) -> Result<Plan, PlanError> {
    let extra = parse_readers(&options.readers)?;
    let partition = partition_of(account);
    if let Some(p) = extra.principals.iter().find(|p| {
        trailseal_policy::cloudtrail::arn_parts(p).map(|x| x.0) != Some(partition.as_str())
    }) {
        return Err(PlanError(format!(
            "--reader {p}: not in the account's partition {partition}"
        )));
    }
    let mut keys: BTreeMap<String, KeyWork> = BTreeMap::new();
    let mut work: Vec<TrailWork> = Vec::new();
    for trail in select(account, &options.trails)? {
        let ev = account.trail_evidence(trail);
        let findings = run_trail_checks(&ev, READ);
        work.push(decide(account, options, &ev, &findings, &extra, &mut keys));
    }
    let failed = finish_keys(account, &partition, &mut keys);
    for w in &mut work {
        if let Some(why) = w.key.as_ref().and_then(|k| failed.get(k)) {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(why.clone());
        }
    }
    let post = post_evidence(account, &partition, &keys, &work);
    let mut proofs: Vec<Proof> = Vec::new();
    for (id, k) in &keys {
        if failed.contains_key(id) || k.trails.is_empty() {
            continue;
        }
        // Every key the plan touches or points a trail at is proven, changed or not.
        proofs.push(crate::proof::prove(&post, &partition, id, k));
    }
    // A key whose proof fails is not changed (unless forced), nor are the trails that need it.
    let refused: Vec<String> = if options.force {
        Vec::new()
    } else {
        proofs
            .iter()
            .filter(|p| !p.holds())
            .map(|p| key_id(&p.key))
            .collect()
    };
    for w in &mut work {
        if w.key.as_ref().is_some_and(|k| refused.contains(k)) {
            w.plan.outcome = Outcome::Refused;
            w.plan.reasons.push(
                "the planned key policy fails its proof (see proofs); --force keeps it".into(),
            );
        }
    }
    let steps = steps(options, &keys, &work, &refused, &failed);
    Ok(Plan {
        schema: PLAN_SCHEMA.to_owned(),
        account: account.account.clone(),
        partition,
        options: options.clone(),
        trails: work.into_iter().map(|w| w.plan).collect(),
        steps,
        proofs,
    })
}

pub(crate) fn key_id(target: &KeyTarget) -> String {
    match target {
        KeyTarget::Existing { arn } => arn.clone(),
        KeyTarget::New { id } => id.clone(),
    }
}

/// The evidence's partition; when it does not say, the partition of its trails' ARNs (all
/// the same), else `aws`.
fn partition_of(account: &AccountEvidence) -> String {
    if !account.partition.is_empty() {
        return account.partition.clone();
    }
    let mut parts = account
        .trails
        .iter()
        .filter_map(|t| trailseal_policy::cloudtrail::arn_parts(&t.arn).map(|p| p.0));
    match parts.next() {
        Some(first) if parts.all(|p| p == first) => first.to_owned(),
        _ => "aws".to_owned(),
    }
}

/// A Region name as AWS spells them (`us-east-1`, `us-gov-west-1`, `cn-north-1`): lower-case
/// letters in parts joined by `-`, ending in a number. Anything else is never put in a
/// command.
pub(crate) fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `--reader`: an account id or a principal ARN.
fn parse_readers(values: &[String]) -> Result<Readers, PlanError> {
    let mut readers = Readers::default();
    for v in values {
        let v = v.trim();
        if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
            readers.add_account(v);
        } else if is_principal_arn(v) {
            readers.add_principal(v);
        } else {
            return Err(PlanError(format!(
                "--reader {v}: expected a 12-digit account id or an IAM role or user ARN (arn:aws:iam::111122223333:role/LogReaders), without wildcards"
            )));
        }
    }
    Ok(readers)
}

/// The trails `wanted` names (ARN or name; every trail when empty).
fn select<'a>(
    account: &'a AccountEvidence,
    wanted: &[String],
) -> Result<Vec<&'a Trail>, PlanError> {
    if wanted.is_empty() {
        return Ok(account.trails.iter().collect());
    }
    let mut out: Vec<&Trail> = Vec::new();
    for w in wanted {
        let found: Vec<&Trail> = account
            .trails
            .iter()
            .filter(|t| t.arn == *w || t.name == *w)
            .collect();
        match found.as_slice() {
            [] => {
                return Err(PlanError(format!(
                    "--trail {w}: no such trail in account {} (give its ARN or name; `trailseal audit` lists them)",
                    account.account
                )))
            }
            [one] => {
                if !out.iter().any(|t| t.arn == one.arn) {
                    out.push(one);
                }
            }
            several => {
                return Err(PlanError(format!(
                    "--trail {w}: several trails have this name ({}): give the ARN",
                    several.iter().map(|t| t.arn.as_str()).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }
    Ok(out)
}

fn given<T: Clone>(fact: &Fact<T>) -> Given<T> {
    match fact.known() {
        Some(v) => Given::Known(v.clone()),
        None => Given::Unknown,
    }
}

/// The request context of a trail's CloudTrail requests (as the checks build it).
fn trail_context(ev: &TrailEvidence) -> TrailContext {
    TrailContext {
        name_known: ev.trail.name_unknown.is_none(),
        bucket: given(&ev.trail.s3_bucket_name),
        prefix: given(&ev.trail.s3_key_prefix),
        is_organization_trail: given(&ev.trail.is_organization_trail),
        ..TrailContext::new(&ev.trail.arn)
    }
}

fn status<'a>(findings: &'a [Finding], code: &str) -> Option<&'a Finding> {
    findings.iter().find(|f| f.code == code)
}

fn line(f: &Finding) -> String {
    format!("{} {}: {}", f.code, f.status.as_str(), f.message)
}

fn decide(
    account: &AccountEvidence,
    options: &Options,
    ev: &TrailEvidence,
    findings: &[Finding],
    extra: &Readers,
    keys: &mut BTreeMap<String, KeyWork>,
) -> TrailWork {
    let trail = &ev.trail;
    let mut w = TrailWork {
        plan: TrailPlan {
            trail_arn: trail.arn.clone(),
            region: trail.home_region.clone(),
            outcome: Outcome::Compliant,
            reasons: Vec::new(),
        },
        trail: trail.clone(),
        update_key: None,
        validation: false,
        key: None,
    };
    let core: Vec<&Finding> = CORE.iter().filter_map(|c| status(findings, c)).collect();
    let fails = |code: &str| status(findings, code).is_some_and(|f| f.status == Status::Fail);
    let passes = |code: &str| status(findings, code).is_some_and(|f| f.status == Status::Pass);
    w.plan.reasons = core
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Skipped))
        .map(|f| line(f))
        .collect();
    if w.plan.reasons.is_empty() && CORE.iter().all(|c| passes(c)) && !fails("TS007") {
        return extras(options, findings, keys, w);
    }
    // Who owns the trail is read from its ARN: an organization trail seen from a member
    // account is changed only by its owner.
    let cannot = |mut w: TrailWork, why: String| {
        w.plan.outcome = Outcome::CannotPlan;
        w.plan.reasons.push(why);
        w
    };
    match trailseal_policy::cloudtrail::arn_parts(&trail.arn) {
        Some((p, "cloudtrail", region, owner, _)) => {
            if owner != account.account {
                return cannot(w, format!("the trail belongs to account {owner} (an organization trail seen from a member account): run fix in {owner}"));
            }
            if p != partition_of(account) {
                return cannot(
                    w,
                    format!(
                        "the trail's ARN is in partition {p}, the evidence's account in {}",
                        partition_of(account)
                    ),
                );
            }
            if !is_region(region) || !is_region(&trail.home_region) {
                return cannot(
                    w,
                    format!(
                        "the trail's Region {:?} is not a Region name",
                        trail.home_region
                    ),
                );
            }
        }
        _ => return cannot(w, format!("{:?} is not a trail ARN", trail.arn)),
    }
    if let Some(why) = &trail.name_unknown {
        return cannot(w, format!("the trail's name is not known: {why}"));
    }
    let key_unusable = CORE[..5].iter().any(|c| fails(c));
    let ctx = trail_context(ev);

    // Re-enable a disabled key instead of replacing it: only when that is all that is wrong
    // with the key itself.
    let reenable = options.enable_disabled_keys
        && fails("TS003")
        && !CORE[..5].iter().any(|c| *c != "TS003" && fails(c))
        && ev
            .key
            .as_ref()
            .is_some_and(|k| k.state.known().map(String::as_str) == Some("Disabled"));
    if key_unusable && !reenable {
        replace_key(account, options, ev, &ctx, extra, keys, &mut w);
        return extras(options, findings, keys, w);
    }
    // What is not decided is never a reason to change a key policy.
    let undecided: Vec<&&Finding> = core
        .iter()
        .filter(|f| {
            matches!(
                f.status,
                Status::Indeterminate | Status::Error | Status::Skipped
            )
        })
        .filter(|f| !(reenable && f.code == "TS003"))
        .collect();
    if !undecided.is_empty() {
        w.plan.outcome = Outcome::CannotPlan;
        w.plan.reasons.push(
            "nothing is planned while the evidence does not decide these checks (fix what makes them indeterminate or unreadable, then run fix again)".into(),
        );
        return w;
    }
    let Some(key) = ev.key.clone() else {
        w.plan.outcome = Outcome::CannotPlan;
        return w;
    };
    let Some(arn) = key.arn.clone() else {
        w.plan.outcome = Outcome::CannotPlan;
        w.plan.reasons.push("the key's ARN is not known".into());
        return w;
    };
    // A key of another account: its policy can only be changed there (PutKeyPolicy and
    // EnableKey have no cross-account use, AWS KMS API Reference).
    let key_owner = trailseal_policy::cloudtrail::arn_parts(&arn).map(|p| p.3.to_owned());
    if key_owner.as_deref() != Some(account.account.as_str()) {
        w.plan.outcome = Outcome::CannotPlan;
        w.plan.reasons.push(format!(
            "the key {arn} belongs to account {}: its policy and state can be changed only there",
            key_owner.unwrap_or_default()
        ));
        return w;
    }
    if fails("TS006") {
        let explicit = status(findings, "TS006")
            .and_then(|f| f.evidence.get("decision"))
            .and_then(|d| d.as_str())
            == Some(Decision::ExplicitDeny.as_str());
        if explicit {
            if options.replace_key {
                replace_key(account, options, ev, &ctx, extra, keys, &mut w);
                return extras(options, findings, keys, w);
            }
            w.plan.outcome = Outcome::NeedsDecision;
            w.plan.reasons.push(
                "an explicit Deny in the key policy blocks CloudTrail: trailseal does not edit a Deny on its own; --replace-key points the trail at the trailseal key instead".into(),
            );
            return w;
        }
    }
    let needs_encrypt = fails("TS006");
    let needs_describe = fails("TS007");
    if needs_encrypt || needs_describe || reenable {
        let k = keys.entry(arn.clone()).or_insert_with(|| KeyWork {
            target: Some(KeyTarget::Existing { arn: arn.clone() }),
            region: key.region.known().cloned().unwrap_or_default(),
            existing: Some(key.clone()),
            ..KeyWork::default()
        });
        if needs_encrypt {
            k.encrypt_for.push(ctx.clone());
        }
        if needs_describe {
            k.describe_for.push(ctx.clone());
        }
        k.enable |= reenable;
        if !k.trails.contains(&trail.arn) {
            k.trails.push(trail.arn.clone());
        }
        w.key = Some(arn);
        if needs_encrypt || reenable {
            w.plan.outcome = Outcome::Fixed;
        }
    } else if !passes("TS006") {
        w.plan.outcome = Outcome::CannotPlan;
    }
    extras(options, findings, keys, w)
}

/// Points the trail at the trailseal key in its bucket's Region (reused when one exists).
fn replace_key(
    account: &AccountEvidence,
    options: &Options,
    ev: &TrailEvidence,
    ctx: &TrailContext,
    extra: &Readers,
    keys: &mut BTreeMap<String, KeyWork>,
    w: &mut TrailWork,
) {
    let region = match ev.bucket.as_ref().map(|b| &b.region) {
        Some(Fact::Known(r)) if is_region(r) => r.clone(),
        Some(Fact::Known(r)) => {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan
                .reasons
                .push(format!("the bucket's Region {r:?} is not a Region name"));
            return;
        }
        Some(other) => {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(format!(
                "the key must be in the bucket's Region, which is not known: {}",
                match other.not_known() {
                    Some(trailseal_model::NotKnown::Unknown(why))
                    | Some(trailseal_model::NotKnown::Unreadable(why)) => why,
                    None => "not read",
                }
            ));
            return;
        }
        None => {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(
                "the key must be in the bucket's Region, and the trail's bucket is not in the evidence".into(),
            );
            return;
        }
    };
    // The trailseal key of this Region, when the account has one (found by its alias; the
    // evidence holds the keys trails use, so a trailseal key no trail uses is not seen).
    let aliased: Vec<&Key> = account
        .keys
        .iter()
        .filter(|k| k.aliases.contains(&options.alias) && k.region.known() == Some(&region))
        .collect();
    let usable = |k: &Key| {
        k.manager.known().map(String::as_str) == Some("CUSTOMER")
            && k.state.known().map(String::as_str) == Some("Enabled")
    };
    if let Some(k) = aliased.iter().find(|k| !usable(k)) {
        // An alias names one key per Region: it cannot be created again.
        w.plan.outcome = Outcome::CannotPlan;
        w.plan.reasons.push(format!(
            "{} in {region} already names {} ({}), which CloudTrail cannot use: give another --alias, or fix that key",
            options.alias,
            k.arn.as_deref().unwrap_or("a key"),
            k.state.known().map(String::as_str).unwrap_or("state not known")
        ));
        return;
    }
    let existing = aliased.first().copied();
    let id = match existing {
        Some(k) => {
            let Some(arn) = k.arn.clone() else {
                w.plan.outcome = Outcome::CannotPlan;
                return;
            };
            // Would the trail pass on it as it is?
            let mut ev2 = ev.clone();
            ev2.trail.kms_key_id = Fact::Known(Some(arn.clone()));
            ev2.key = Some(k.clone());
            ev2.key_error = None;
            let f2 = run_trail_checks(&ev2, &["TS006", "TS007"]);
            let st = |c: &str| status(&f2, c).map(|f| f.status);
            let explicit = status(&f2, "TS006")
                .and_then(|f| f.evidence.get("decision"))
                .and_then(|d| d.as_str())
                == Some(Decision::ExplicitDeny.as_str());
            if explicit || matches!(st("TS006"), Some(Status::Indeterminate | Status::Error)) {
                w.plan.outcome = Outcome::CannotPlan;
                w.plan.reasons.push(format!(
                    "the trailseal key {arn} ({}) cannot be used as it is: {}",
                    options.alias,
                    status(&f2, "TS006").map(line).unwrap_or_default()
                ));
                return;
            }
            let entry = keys.entry(arn.clone()).or_insert_with(|| KeyWork {
                target: Some(KeyTarget::Existing { arn: arn.clone() }),
                region: region.clone(),
                existing: Some(k.clone()),
                ..KeyWork::default()
            });
            if st("TS006") == Some(Status::Fail) {
                entry.encrypt_for.push(ctx.clone());
            }
            if st("TS007") == Some(Status::Fail) {
                entry.describe_for.push(ctx.clone());
            }
            // The old key's readers and --reader keep decrypt on the reused key too.
            let mut readers = extra.clone();
            carry_readers(account, ev, ctx, &mut readers, &mut w.plan.reasons);
            for p in &readers.principals {
                entry.readers.add_principal(p);
            }
            for a in &readers.accounts {
                entry.readers.add_account(a);
            }
            arn
        }
        None => {
            let id = format!("trailseal-{}-{region}", account.account);
            let entry = keys.entry(id.clone()).or_insert_with(|| KeyWork {
                target: Some(KeyTarget::New { id: id.clone() }),
                region: region.clone(),
                rotate: !options.no_extras,
                readers: extra.clone(),
                ..KeyWork::default()
            });
            entry.encrypt_for.push(ctx.clone());
            entry.describe_for.push(ctx.clone());
            carry_readers(account, ev, ctx, &mut entry.readers, &mut w.plan.reasons);
            id
        }
    };
    let Some(entry) = keys.get_mut(&id) else {
        return;
    };
    if !entry.trails.contains(&ev.trail.arn) {
        entry.trails.push(ev.trail.arn.clone());
    }
    w.update_key = entry.target.clone();
    w.key = Some(id);
    w.plan.outcome = Outcome::Fixed;
}

/// The readers of the old key that the new key keeps: principals an Allow statement of the
/// old key policy names directly for `kms:Decrypt`, without a condition, and that the old
/// policy really lets decrypt (no Deny). Anyone else who could decrypt (through the account's
/// IAM delegation, under conditions, by a wildcard) is named as not carried over: a key policy
/// that names a principal of its own account needs no IAM permission ("Key policies in AWS
/// KMS"), so carrying a grant over without its conditions would widen it.
fn carry_readers(
    account: &AccountEvidence,
    ev: &TrailEvidence,
    ctx: &TrailContext,
    readers: &mut Readers,
    notes: &mut Vec<String>,
) {
    let Some(key) = &ev.key else {
        if ev.trail.key_id().is_some() {
            notes.push("the old key could not be read: nobody is carried over from its policy as a log reader; name them with --reader".into());
        }
        return;
    };
    let text = match &key.policy {
        Fact::Known(t) => t,
        _ => {
            notes.push("the old key's policy could not be read: nobody is carried over from it as a log reader; name them with --reader".into());
            return;
        }
    };
    let Ok(policy) = Policy::parse(text) else {
        notes.push("the old key's policy could not be evaluated: nobody is carried over from it as a log reader; name them with --reader".into());
        return;
    };
    let summary = who_may_decrypt(&policy, ctx);
    // Whether the old policy lets `raw` (a role or user ARN, or an account's root) decrypt.
    let allowed = |raw: &str, root_of: Option<&str>| {
        summary.readers.iter().any(|r| {
            r.decision == Decision::Allow
                && match (&r.request_principal, root_of) {
                    (RequestPrincipal::Aws { arn, role_arn, .. }, None) => {
                        arn == raw || role_arn.as_deref() == Some(raw)
                    }
                    (RequestPrincipal::AccountMember { account }, Some(root)) => account == root,
                    _ => false,
                }
        })
    };
    let mut carried: Vec<String> = Vec::new();
    for s in &policy.statements {
        let decrypt = s
            .action
            .items
            .iter()
            .any(|a| trailseal_policy::glob::glob_match(a, "kms:Decrypt", true));
        if s.effect != Effect::Allow || s.principal.negated || s.action.negated || !decrypt {
            continue;
        }
        let Principals::Entries(entries) = &s.principal.items else {
            continue;
        };
        for e in entries
            .iter()
            .filter(|e| e.kind == PrincipalKind::Aws && !e.is_wildcard())
        {
            let raw = e.raw.as_str();
            let named = is_principal_arn(raw) || e.account_root().is_some();
            if !named || !s.conditions.is_empty() || !allowed(raw, e.account_root()) {
                continue;
            }
            match e.account_root() {
                // The trail's own account: the new key's decrypt statement covers it.
                Some(a) if a == account.account => {}
                Some(a) => readers.add_account(a),
                None => readers.add_principal(raw),
            }
            carried.push(raw.to_owned());
        }
    }
    for r in &summary.readers {
        let covered = match &r.request_principal {
            RequestPrincipal::Aws { arn, role_arn, .. } => carried
                .iter()
                .any(|c| c == arn || Some(c) == role_arn.as_ref()),
            RequestPrincipal::AccountMember { account: a } => {
                *a == account.account
                    || carried
                        .iter()
                        .any(|c| trailseal_policy::cloudtrail::arn_parts(c).map(|p| p.3) == Some(a))
            }
            _ => false,
        };
        if !covered {
            notes.push(format!(
                "not carried over to the new key: {} (the old key's policy lets it decrypt only through IAM, under conditions or by a wildcard); add it with --reader if it must read the logs",
                r.principal
            ));
        }
    }
}

/// An IAM role or user ARN (what `--reader` and carried-over readers may name).
pub(crate) fn is_principal_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", p, "iam", "", acct, resource] => {
            !p.is_empty()
                && acct.len() == 12
                && acct.bytes().all(|b| b.is_ascii_digit())
                && (resource.starts_with("role/") || resource.starts_with("user/"))
                && resource.len() > 5
                && !resource.contains(['*', '?', ' ', '\'', '"', '$', '`'])
        }
        _ => false,
    }
}

/// Log file validation (TS010) on a trail the plan fixes, rotation (TS011) on a key it touches.
fn extras(
    options: &Options,
    findings: &[Finding],
    keys: &mut BTreeMap<String, KeyWork>,
    mut w: TrailWork,
) -> TrailWork {
    if options.no_extras
        || !matches!(w.plan.outcome, Outcome::Fixed | Outcome::Compliant)
        || (w.plan.outcome == Outcome::Compliant && w.key.is_none())
    {
        return w;
    }
    let fails = |code: &str| status(findings, code).is_some_and(|f| f.status == Status::Fail);
    if fails("TS010") && w.plan.outcome == Outcome::Fixed {
        w.validation = true;
    }
    // Rotation of an existing key the plan keeps (a new key gets it at creation).
    if w.update_key.is_none() && fails("TS011") {
        if let Some(k) = w.key.as_ref().and_then(|k| keys.get_mut(k)) {
            k.rotate = true;
        }
    }
    w
}

/// The policy each key gets: merged (existing) or new. Returns the keys whose policy cannot be
/// merged, with why.
fn finish_keys(
    account: &AccountEvidence,
    partition: &str,
    keys: &mut BTreeMap<String, KeyWork>,
) -> BTreeMap<String, String> {
    let mut failed = BTreeMap::new();
    for (id, k) in keys.iter_mut() {
        let mut add = Vec::new();
        add.extend(statements::encrypt_statement(&k.encrypt_for));
        add.extend(statements::describe_statement(&k.describe_for));
        if k.existing.is_some() {
            add.extend(statements::readers_statements(&k.readers));
        }
        match &k.existing {
            None => {
                k.after = Some(statements::new_key_policy(
                    partition,
                    &account.account,
                    &k.encrypt_for,
                    &k.readers,
                ));
            }
            Some(_) if add.is_empty() => {}
            Some(key) => match key.policy.known() {
                Some(before) => match statements::merge(before, add) {
                    Ok((after, added)) => {
                        k.before = Some(before.clone());
                        k.after = Some(after);
                        k.added = added;
                    }
                    Err(why) => {
                        failed.insert(id.clone(), format!("{id}: {why}"));
                    }
                },
                None => {
                    failed.insert(id.clone(), format!("{id}: the key policy was not read"));
                }
            },
        }
    }
    failed
}

/// The placeholder ARN a key the plan creates has in the proof (only a name there: the
/// planned policies use `"Resource": "*"`).
pub(crate) fn new_key_arn(partition: &str, account: &str, region: &str, id: &str) -> String {
    format!("arn:{partition}:kms:{region}:{account}:key/{id}")
}

/// The account as it will be after the plan.
fn post_evidence(
    account: &AccountEvidence,
    partition: &str,
    keys: &BTreeMap<String, KeyWork>,
    work: &[TrailWork],
) -> AccountEvidence {
    let mut post = account.clone();
    let mut arns: BTreeMap<String, String> = BTreeMap::new();
    for (id, k) in keys {
        match &k.existing {
            None => {
                let arn = new_key_arn(partition, &account.account, &k.region, id);
                post.keys.push(Key {
                    arn: Some(arn.clone()),
                    key_id: Some(id.clone()),
                    region: Fact::Known(k.region.clone()),
                    state: Fact::Known("Enabled".into()),
                    manager: Fact::Known("CUSTOMER".into()),
                    key_spec: Fact::Known("SYMMETRIC_DEFAULT".into()),
                    key_usage: Fact::Known("ENCRYPT_DECRYPT".into()),
                    multi_region: Fact::Known(false),
                    policy: Fact::Known(k.after.clone().unwrap_or_default()),
                    rotation_enabled: Fact::Known(k.rotate),
                    ..Key::default()
                });
                arns.insert(id.clone(), arn);
            }
            Some(existing) => {
                let arn = existing.arn.clone().unwrap_or_default();
                if let Some(key) = post
                    .keys
                    .iter_mut()
                    .find(|x| x.arn.as_deref() == Some(&arn))
                {
                    if let Some(after) = &k.after {
                        key.policy = Fact::Known(after.clone());
                    }
                    if k.enable {
                        key.state = Fact::Known("Enabled".into());
                    }
                    if k.rotate {
                        key.rotation_enabled = Fact::Known(true);
                    }
                }
                arns.insert(id.clone(), arn);
            }
        }
    }
    for w in work {
        let Some(trail) = post.trails.iter_mut().find(|t| t.arn == w.trail.arn) else {
            continue;
        };
        if w.validation {
            trail.log_file_validation_enabled = Fact::Known(true);
        }
        if let Some(target) = &w.update_key {
            if let Some(arn) = arns.get(&key_id(target)) {
                trail.kms_key_id = Fact::Known(Some(arn.clone()));
                let region = key_region(arn, &trail.home_region);
                post.key_refs
                    .retain(|r| !(r.region == region && r.reference == *arn));
                post.key_refs.push(KeyRef {
                    region,
                    reference: arn.clone(),
                    key_arn: Some(arn.clone()),
                    error: None,
                });
            }
        }
    }
    post
}

/// The steps, keys first (created, enabled, policies), then trails; nothing for a refused or
/// failed key nor for the trails that depend on it.
fn steps(
    options: &Options,
    keys: &BTreeMap<String, KeyWork>,
    work: &[TrailWork],
    refused: &[String],
    failed: &BTreeMap<String, String>,
) -> Vec<Step> {
    let mut out = Vec::new();
    let skip = |id: &String| refused.contains(id) || failed.contains_key(id);
    for (id, k) in keys {
        if skip(id) || k.trails.is_empty() {
            continue;
        }
        let Some(target) = k.target.clone() else {
            continue;
        };
        match &k.existing {
            None => {
                out.push(Step::CreateKey {
                    id: id.clone(),
                    region: k.region.clone(),
                    description: "trailseal: encrypts CloudTrail log files (SSE-KMS)".into(),
                    policy: k.after.clone().unwrap_or_default(),
                });
                if k.rotate {
                    out.push(Step::EnableKeyRotation {
                        key: target.clone(),
                        region: k.region.clone(),
                    });
                }
                out.push(Step::CreateAlias {
                    region: k.region.clone(),
                    alias: options.alias.clone(),
                    key: target,
                });
            }
            Some(existing) => {
                let arn = existing.arn.clone().unwrap_or_default();
                if k.enable {
                    out.push(Step::EnableKey {
                        key_arn: arn.clone(),
                        region: k.region.clone(),
                    });
                }
                if let (Some(before), Some(after)) = (&k.before, &k.after) {
                    out.push(Step::PutKeyPolicy {
                        key_arn: arn.clone(),
                        region: k.region.clone(),
                        before: before.clone(),
                        after: after.clone(),
                        added: k.added.clone(),
                    });
                }
                if k.rotate {
                    out.push(Step::EnableKeyRotation {
                        key: target,
                        region: k.region.clone(),
                    });
                }
            }
        }
    }
    for w in work {
        if matches!(
            w.plan.outcome,
            Outcome::Refused | Outcome::CannotPlan | Outcome::NeedsDecision
        ) {
            continue;
        }
        if let Some(target) = &w.update_key {
            out.push(Step::UpdateTrailKey {
                trail_arn: w.trail.arn.clone(),
                region: w.trail.home_region.clone(),
                before: w.trail.key_id().map(str::to_owned),
                after: target.clone(),
            });
        }
        if w.validation {
            out.push(Step::EnableLogFileValidation {
                trail_arn: w.trail.arn.clone(),
                region: w.trail.home_region.clone(),
            });
        }
    }
    out
}

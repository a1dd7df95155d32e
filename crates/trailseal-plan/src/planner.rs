//! The decisions: per trail, from the findings of TS001-TS008, TS010 and TS011 on the
//! evidence, what is done to it and to its key ([`KeyWork`], [`TrailWork`]); then
//! [`crate::assemble`] turns them into policies and steps, and [`crate::proof`] proves them.
//! [`crate::readers`] decides who may decrypt under a new or reused key. See the crate
//! documentation for the rules.

use std::collections::BTreeMap;

use trailseal_checks::run_trail_checks;
use trailseal_model::{AccountEvidence, Fact, Finding, Key, Status, Trail, TrailEvidence};
use trailseal_policy::{Decision, Given, TrailContext};

use crate::statements::Readers;
use crate::{KeyTarget, Options, Outcome, Plan, Proof, TrailPlan, PLAN_SCHEMA};

/// The checks that make a trail compliant.
/// The key's own usability: TS001-TS005 (TS006, the key policy, is planned separately).
const KEY_USABLE: &[&str] = &["TS001", "TS002", "TS003", "TS004", "TS005"];
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
    /// `--edit-deny`: the policy with the blocking Denies narrowed (the base the statements
    /// are merged into), and the labels of the statements changed.
    pub narrowed: Option<(String, Vec<String>)>,
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
    let extra = crate::readers::parse_readers(&options.readers)?;
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
    let failed = crate::assemble::finish_keys(account, &partition, &mut keys);
    for w in &mut work {
        if let Some(why) = w.key.as_ref().and_then(|k| failed.get(k)) {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(why.clone());
        }
    }
    let post = crate::assemble::post_evidence(account, &partition, &keys, &work);
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
    let steps = crate::assemble::steps(options, &keys, &work, &refused, &failed);
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
        bucket_key_decrypt: ev
            .bucket
            .as_ref()
            .is_some_and(|b| b.bucket_key.is(&true) == Some(true)),
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
    let compliant = trailseal_checks::compliant_codes();
    let core: Vec<&Finding> = compliant
        .iter()
        .filter_map(|c| status(findings, c))
        .collect();
    let fails = |code: &str| status(findings, code).is_some_and(|f| f.status == Status::Fail);
    let passes = |code: &str| status(findings, code).is_some_and(|f| f.status == Status::Pass);
    w.plan.reasons = core
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Skipped))
        .map(|f| line(f))
        .collect();
    if w.plan.reasons.is_empty() && compliant.iter().all(|c| passes(c)) && !fails("TS007") {
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
    let key_unusable = KEY_USABLE.iter().any(|c| fails(c));
    let ctx = trail_context(ev);

    // Re-enable a disabled key instead of replacing it: only when that is all that is wrong
    // with the key itself.
    let reenable = options.enable_disabled_keys
        && fails("TS003")
        && !KEY_USABLE.iter().any(|c| *c != "TS003" && fails(c))
        && ev
            .key
            .as_ref()
            .is_some_and(|k| k.state.known().map(String::as_str) == Some("Disabled"));
    if key_unusable && !reenable {
        replace_key(account, options, ev, &ctx, extra, keys, &mut w);
        return extras(options, findings, keys, w);
    }
    // A bucket with an S3 Bucket Key and a key policy that does not let CloudTrail decrypt:
    // TS006 is undecided for that reason alone, and adding kms:Decrypt to CloudTrail's
    // statement decides it (the documented requirement), so it is planned.
    let bucket_key_gap = status(findings, "TS006").is_some_and(|f| {
        f.status == Status::Indeterminate
            && f.evidence
                .get("bucket_key_decrypt")
                .and_then(|v| v.as_str())
                == Some("missing")
    });
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
        .filter(|f| !(bucket_key_gap && f.code == "TS006"))
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
            let deciding: Vec<usize> = status(findings, "TS006")
                .and_then(|f| f.evidence.get("deciding_statements"))
                .and_then(|d| d.as_array())
                .map(|list| {
                    list.iter()
                        .filter_map(|d| d.get("index").and_then(|i| i.as_u64()))
                        .filter_map(|i| usize::try_from(i).ok())
                        .collect()
                })
                .unwrap_or_default();
            let narrowed = match (options.edit_deny, key.policy.known()) {
                (true, Some(text)) if !deciding.is_empty() => {
                    Some(crate::statements::narrow_denies(text, &deciding))
                }
                _ => None,
            };
            match narrowed {
                Some(Ok(n)) => {
                    w.plan.reasons.push(format!(
                        "--edit-deny (unsafe): CloudTrail is exempted from {} (added to its NotPrincipal)",
                        n.1.join(", ")
                    ));
                    let k = keys.entry(arn.clone()).or_insert_with(|| KeyWork {
                        target: Some(KeyTarget::Existing { arn: arn.clone() }),
                        region: key.region.known().cloned().unwrap_or_default(),
                        existing: Some(key.clone()),
                        ..KeyWork::default()
                    });
                    k.narrowed = Some(n);
                }
                Some(Err(why)) => {
                    w.plan.outcome = Outcome::NeedsDecision;
                    w.plan
                        .reasons
                        .push(format!("--edit-deny cannot narrow the Deny: {why}"));
                    return w;
                }
                None => {
                    w.plan.outcome = Outcome::NeedsDecision;
                    w.plan.reasons.push(
                        "an explicit Deny in the key policy blocks CloudTrail: trailseal does not edit a Deny on its own; --replace-key points the trail at the trailseal key instead, --edit-deny (unsafe) exempts CloudTrail from a Deny with NotPrincipal".into(),
                    );
                    return w;
                }
            }
        }
    }
    let narrowing = keys.get(&arn).is_some_and(|k| k.narrowed.is_some());
    let needs_encrypt = fails("TS006") || bucket_key_gap;
    let needs_describe = fails("TS007");
    if needs_encrypt || needs_describe || reenable || narrowing {
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
    if let Some(k) = aliased
        .iter()
        .find(|k| !usable(k))
        .filter(|_| options.key.is_none())
    {
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
    let mut existing = aliased.first().copied();
    // --key: the key the user named, in the bucket's Region.
    if let Some(named) = &options.key {
        let Some(k) = account
            .keys
            .iter()
            .find(|k| k.arn.as_deref() == Some(named.as_str()))
        else {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(format!(
                "--key {named} was not read (it must be a key ARN this account can describe)"
            ));
            return;
        };
        if k.region.known() != Some(&region) {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(format!(
                "--key {named} is in {}, the trail's bucket in {region}: CloudTrail needs a key in the bucket's Region",
                k.region.known().map(String::as_str).unwrap_or("a Region not known")
            ));
            return;
        }
        if !usable(k) {
            w.plan.outcome = Outcome::CannotPlan;
            w.plan.reasons.push(format!(
                "--key {named} is not an enabled customer-managed key"
            ));
            return;
        }
        existing = Some(k);
    }
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
                    "the key {arn} ({}) cannot be used as it is: {}",
                    options.key.as_deref().unwrap_or(&options.alias),
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
            crate::readers::carry_readers(account, ev, ctx, &mut readers, &mut w.plan.reasons);
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
            crate::readers::carry_readers(
                account,
                ev,
                ctx,
                &mut entry.readers,
                &mut w.plan.reasons,
            );
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

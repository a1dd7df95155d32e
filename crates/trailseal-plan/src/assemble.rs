//! From the decisions to the plan: each key's policy (merged or new), the account as it will
//! be after the plan (what the proof runs the checks on), and the ordered steps.

use std::collections::BTreeMap;

use trailseal_model::{key_region, AccountEvidence, Fact, Key, KeyRef};

use crate::planner::{key_id, KeyWork, TrailWork};
use crate::statements;
use crate::{Options, Outcome, Step};

/// The policy each key gets: merged (existing) or new. Returns the keys whose policy cannot be
/// merged, with why.
pub(crate) fn finish_keys(
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
            Some(_) if add.is_empty() && k.narrowed.is_none() => {}
            Some(key) => match key.policy.known() {
                Some(before) => match statements::merge(
                    k.narrowed
                        .as_ref()
                        .map_or(before.as_str(), |(text, _)| text.as_str()),
                    add,
                ) {
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
pub(crate) fn post_evidence(
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
                    // A new key has no grants.
                    grants: Fact::Known(Vec::new()),
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
pub(crate) fn steps(
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
                        narrowed: k
                            .narrowed
                            .as_ref()
                            .map(|(_, labels)| labels.clone())
                            .unwrap_or_default(),
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

//! What the code a plan is emitted as describes, whatever the language
//! ([`crate::terraform`], [`crate::cloudformation`]): the keys the plan creates, the existing
//! keys it changes or points a trail at (as they will be after the plan), and the trails it
//! changes or whose key it changes, with the facts the code must state. A fact the evidence
//! does not know is an error naming it: code never states a guess.

use std::collections::BTreeMap;

use trailseal_model::{AccountEvidence, Fact, Key, Trail};

use crate::{KeyTarget, Plan, Step};

/// A key the plan creates.
pub(crate) struct NewKey {
    pub id: String,
    pub region: String,
    pub description: String,
    pub policy: String,
    pub rotation: bool,
    pub alias: Option<String>,
}

/// An existing key as it will be after the plan.
pub(crate) struct ExistingKey {
    pub arn: String,
    /// Its key id (what imports name).
    pub key_id: String,
    pub region: String,
    pub spec: String,
    pub usage: String,
    pub enabled: bool,
    pub rotation: bool,
    pub policy: String,
}

/// The key a trail uses after the plan.
pub(crate) enum TrailKey {
    /// A key the plan creates (its id).
    New(String),
    /// An existing key described in [`Described::keys`] (its ARN).
    Existing(String),
    /// A key the code does not describe (its `KmsKeyId`).
    External(String),
}

/// A trail as it will be after the plan.
pub(crate) struct TrailAfter {
    pub arn: String,
    pub name: String,
    pub home_region: String,
    pub bucket: String,
    pub bucket_region: String,
    pub prefix: Option<String>,
    pub multi_region: bool,
    pub organization: bool,
    pub validation: bool,
    /// Whether it is logging (None: not read).
    pub logging: Option<bool>,
    pub key: TrailKey,
}

pub(crate) struct Described {
    pub new_keys: Vec<NewKey>,
    pub keys: Vec<ExistingKey>,
    pub trails: Vec<TrailAfter>,
}

pub(crate) fn describe(plan: &Plan, account: &AccountEvidence) -> Result<Described, String> {
    let mut new_keys: Vec<NewKey> = Vec::new();
    // Existing keys: (region, new policy, enable, rotate).
    let mut changed: BTreeMap<String, (String, Option<String>, bool, bool)> = BTreeMap::new();
    let mut touched_trails: Vec<&str> = Vec::new();
    fn key<'a>(
        changed: &'a mut BTreeMap<String, (String, Option<String>, bool, bool)>,
        arn: &str,
        region: &str,
    ) -> &'a mut (String, Option<String>, bool, bool) {
        changed
            .entry(arn.to_owned())
            .or_insert((region.to_owned(), None, false, false))
    }
    for step in &plan.steps {
        match step {
            Step::CreateKey {
                id,
                region,
                description,
                policy,
            } => new_keys.push(NewKey {
                id: id.clone(),
                region: region.clone(),
                description: description.clone(),
                policy: policy.clone(),
                rotation: false,
                alias: None,
            }),
            Step::EnableKeyRotation {
                key: KeyTarget::New { id },
                ..
            } => {
                if let Some(k) = new_keys.iter_mut().find(|k| k.id == *id) {
                    k.rotation = true;
                }
            }
            Step::CreateAlias {
                alias,
                key: KeyTarget::New { id },
                ..
            } => {
                if let Some(k) = new_keys.iter_mut().find(|k| k.id == *id) {
                    k.alias = Some(alias.clone());
                }
            }
            Step::EnableKeyRotation {
                key: KeyTarget::Existing { arn },
                region,
            } => key(&mut changed, arn, region).3 = true,
            Step::CreateAlias { .. } => {}
            Step::EnableKey { key_arn, region } => key(&mut changed, key_arn, region).2 = true,
            Step::PutKeyPolicy {
                key_arn,
                region,
                after,
                ..
            } => key(&mut changed, key_arn, region).1 = Some(after.clone()),
            Step::UpdateTrailKey {
                trail_arn, after, ..
            } => {
                if let KeyTarget::Existing { arn } = after {
                    // A key the trail is pointed at: described as it is.
                    key(&mut changed, arn, &trailseal_model::key_region(arn, ""));
                }
                touched_trails.push(trail_arn);
            }
            Step::EnableLogFileValidation { trail_arn, .. } => touched_trails.push(trail_arn),
        }
    }

    let mut keys = Vec::new();
    for (arn, (region, policy, enable, rotate)) in &changed {
        let key: &Key = account
            .keys
            .iter()
            .find(|k| k.arn.as_deref() == Some(arn.as_str()))
            .ok_or_else(|| format!("{arn} is not in the evidence"))?;
        let known = |f: &Fact<String>, what: &str| {
            f.known()
                .cloned()
                .ok_or_else(|| format!("{arn}: its {what} is not known"))
        };
        keys.push(ExistingKey {
            arn: arn.clone(),
            key_id: key.key_id.clone().unwrap_or_else(|| arn.clone()),
            region: region.clone(),
            spec: known(&key.key_spec, "key spec")?,
            usage: known(&key.usage(), "key usage")?,
            enabled: *enable || key.state.known().map(String::as_str) == Some("Enabled"),
            rotation: *rotate || key.rotation_enabled.known() == Some(&true),
            policy: match policy {
                Some(p) => p.clone(),
                None => known(&key.policy, "policy")?,
            },
        });
    }

    // The trails the plan changes, and those whose key's policy or state it changes.
    let mut trails = Vec::new();
    for t in &account.trails {
        let touched = touched_trails.contains(&t.arn.as_str())
            || t.key_id().is_some_and(|k| changed.contains_key(k));
        if touched {
            trails.push(trail_after(plan, account, t, &changed)?);
        }
    }
    Ok(Described {
        new_keys,
        keys,
        trails,
    })
}

fn trail_after(
    plan: &Plan,
    account: &AccountEvidence,
    t: &Trail,
    changed: &BTreeMap<String, (String, Option<String>, bool, bool)>,
) -> Result<TrailAfter, String> {
    let arn = &t.arn;
    let bucket = t
        .s3_bucket_name
        .known()
        .ok_or_else(|| format!("{arn}: its bucket is not known"))?;
    let bucket_region = account
        .bucket(bucket)
        .and_then(|b| b.region.known().cloned())
        .ok_or_else(|| format!("{arn}: the Region of bucket {bucket} is not known"))?;
    let flag = |f: &Fact<bool>, what: &str| {
        f.known()
            .copied()
            .ok_or_else(|| format!("{arn}: {what} is not known"))
    };
    let target = plan.steps.iter().find_map(|s| match s {
        Step::UpdateTrailKey {
            trail_arn, after, ..
        } if trail_arn == arn => Some(after.clone()),
        _ => None,
    });
    let key = match target {
        Some(KeyTarget::New { id }) => TrailKey::New(id),
        Some(KeyTarget::Existing { arn: k }) => TrailKey::Existing(k),
        None => match t.key_id() {
            Some(k) if changed.contains_key(k) => TrailKey::Existing(k.to_owned()),
            Some(k) => TrailKey::External(k.to_owned()),
            None => return Err(format!("{arn}: no key")),
        },
    };
    let validation =
        plan.steps.iter().any(
            |s| matches!(s, Step::EnableLogFileValidation { trail_arn, .. } if trail_arn == arn),
        ) || t.log_file_validation_enabled.known() == Some(&true);
    Ok(TrailAfter {
        arn: arn.clone(),
        name: t.name.clone(),
        home_region: t.home_region.clone(),
        bucket: bucket.clone(),
        bucket_region,
        prefix: t
            .s3_key_prefix
            .known()
            .cloned()
            .ok_or_else(|| format!("{arn}: its S3 key prefix is not known"))?,
        multi_region: flag(&t.is_multi_region, "is_multi_region_trail")?,
        organization: flag(&t.is_organization_trail, "is_organization_trail")?,
        validation,
        logging: t.status.as_ref().map(|s| s.is_logging),
        key,
    })
}

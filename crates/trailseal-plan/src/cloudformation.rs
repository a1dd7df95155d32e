//! The plan as a CloudFormation template (`fix --emit cloudformation`), one Region at a time.
//!
//! Existing trails, buckets and keys the plan changes are in the template with
//! `DeletionPolicy: Retain` and their current identifiers and values, so that they can be
//! imported into a stack ("Importing existing resources into a stack", AWS CloudFormation User
//! Guide: an import cannot change a resource; import first with their current settings, then
//! update the stack with this template). New keys and aliases are plain resources. Account,
//! Region and partition are `${AWS::AccountId}`, `${AWS::Region}`, `${AWS::Partition}` in the
//! key policies, the way templates say them, so that `trailseal scan` reads the template as
//! CloudFormation would deploy it: it passes TS001-TS008 for every trail the plan fixes
//! (tested).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use trailseal_model::{AccountEvidence, Key, Trail};

use crate::{KeyTarget, Plan, Step};

/// A logical id from any text (`trail-a.b` -> `TrailAB` style: letters and digits only).
fn logical(prefix: &str, s: &str, taken: &mut Vec<String>) -> String {
    let body: String = s
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    let base = format!("{prefix}{body}");
    let mut id = base.clone();
    let mut n = 2;
    while taken.contains(&id) {
        id = format!("{base}{n}");
        n += 1;
    }
    taken.push(id.clone());
    id
}

/// A policy JSON value with the account, Region and partition as pseudo parameters: each
/// string that names them becomes `{"Fn::Sub": ...}` (`${` in it escaped as `${!`).
fn substitute(v: &Value, account: &str, region: &str, partition: &str) -> Value {
    match v {
        Value::String(s) => {
            let names = s.contains(account)
                || s.contains(&format!(":{region}:"))
                || s.starts_with(&format!("arn:{partition}:"));
            if !names {
                return v.clone();
            }
            let t = s
                .replace("${", "${!")
                .replace(&format!("arn:{partition}:"), "arn:${AWS::Partition}:")
                .replace(&format!(":{region}:"), ":${AWS::Region}:")
                .replace(account, "${AWS::AccountId}");
            json!({"Fn::Sub": t})
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|i| substitute(i, account, region, partition))
                .collect(),
        ),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, i)| (k.clone(), substitute(i, account, region, partition)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn retained(ty: &str, properties: Value) -> Value {
    json!({"Type": ty, "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": properties})
}

/// The plan as a CloudFormation template (JSON); Err when it cannot be one template (several
/// Regions, a trail whose bucket is in another Region) or the evidence lacks a value.
pub fn emit(plan: &Plan, account: &AccountEvidence) -> Result<String, String> {
    let mut regions: Vec<&str> = plan.steps.iter().map(Step::region).collect();
    regions.sort_unstable();
    regions.dedup();
    let region = match regions.as_slice() {
        [] => return Err("the plan changes nothing".into()),
        [one] => (*one).to_owned(),
        several => {
            return Err(format!(
                "the plan changes {} Regions ({}): a template is deployed in one; emit one Region at a time with --trail",
                several.len(),
                several.join(", ")
            ))
        }
    };
    let partition = plan.partition.clone();
    let sub = |policy: &str| -> Result<Value, String> {
        let v: Value = serde_json::from_str(policy)
            .map_err(|e| format!("a planned policy is not JSON: {e}"))?;
        Ok(substitute(&v, &plan.account, &region, &partition))
    };
    let mut taken = Vec::new();
    let mut resources = Map::new();
    let mut key_ids: BTreeMap<String, String> = BTreeMap::new();
    let key_of = |arn: &str| -> Result<&Key, String> {
        account
            .keys
            .iter()
            .find(|k| k.arn.as_deref() == Some(arn))
            .ok_or_else(|| format!("{arn} is not in the evidence"))
    };
    // Keys: new ones, then existing ones the plan changes.
    let mut existing: BTreeMap<String, (Option<String>, bool, bool)> = BTreeMap::new();
    for step in &plan.steps {
        match step {
            Step::CreateKey {
                id,
                policy,
                description,
                ..
            } => {
                let name = logical("TrailsealKey", &region, &mut taken);
                let rotation = plan.steps.iter().any(|s| {
                    matches!(s, Step::EnableKeyRotation { key: KeyTarget::New { id: i }, .. } if i == id)
                });
                resources.insert(
                    name.clone(),
                    json!({"Type": "AWS::KMS::Key", "Properties": {
                        "Description": description,
                        "KeySpec": "SYMMETRIC_DEFAULT",
                        "KeyUsage": "ENCRYPT_DECRYPT",
                        "EnableKeyRotation": rotation,
                        "KeyPolicy": sub(policy)?
                    }}),
                );
                key_ids.insert(id.clone(), name);
            }
            Step::PutKeyPolicy { key_arn, after, .. } => {
                existing.entry(key_arn.clone()).or_default().0 = Some(after.clone());
            }
            Step::EnableKey { key_arn, .. } => {
                existing.entry(key_arn.clone()).or_default().1 = true
            }
            Step::EnableKeyRotation {
                key: KeyTarget::Existing { arn },
                ..
            } => {
                existing.entry(arn.clone()).or_default().2 = true;
            }
            Step::UpdateTrailKey {
                after: KeyTarget::Existing { arn },
                ..
            } => {
                existing.entry(arn.clone()).or_default();
            }
            _ => {}
        }
    }
    for step in &plan.steps {
        if let Step::CreateAlias {
            alias,
            key: KeyTarget::New { id },
            ..
        } = step
        {
            let key = key_ids.get(id).cloned().unwrap_or_default();
            let name = logical("TrailsealAlias", &region, &mut taken);
            resources.insert(
                name,
                json!({"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": key}}}),
            );
        }
    }
    for (arn, (policy, enable, rotate)) in &existing {
        let key = key_of(arn)?;
        let known = |f: &trailseal_model::Fact<String>, what: &str| {
            f.known()
                .cloned()
                .ok_or_else(|| format!("{arn}: its {what} is not known"))
        };
        let policy = match policy {
            Some(p) => p.clone(),
            None => known(&key.policy, "policy")?,
        };
        let name = logical("Key", key.key_id.as_deref().unwrap_or(arn), &mut taken);
        resources.insert(
            name.clone(),
            retained(
                "AWS::KMS::Key",
                json!({
                    "KeySpec": known(&key.key_spec, "key spec")?,
                    "KeyUsage": key.usage().into_known().unwrap_or_else(|| "ENCRYPT_DECRYPT".into()),
                    "Enabled": *enable || key.state.known().map(String::as_str) == Some("Enabled"),
                    "EnableKeyRotation": *rotate || key.rotation_enabled.known() == Some(&true),
                    "KeyPolicy": sub(&policy)?
                }),
            ),
        );
        key_ids.insert(arn.clone(), name);
    }
    // Trails the plan changes or whose key's policy it changes, and their buckets.
    let mut trails: Vec<&Trail> = Vec::new();
    for t in &account.trails {
        let touched = plan.steps.iter().any(|s| s.target() == t.arn)
            || t.key_id().is_some_and(|k| existing.contains_key(k));
        if touched {
            trails.push(t);
        }
    }
    let mut buckets: BTreeMap<String, String> = BTreeMap::new();
    for t in trails {
        let arn = &t.arn;
        let bucket = t
            .s3_bucket_name
            .known()
            .ok_or_else(|| format!("{arn}: its bucket is not known"))?;
        let bucket_region = account
            .bucket(bucket)
            .and_then(|b| b.region.known().cloned())
            .ok_or_else(|| format!("{arn}: the Region of bucket {bucket} is not known"))?;
        if bucket_region != region || t.home_region != region {
            return Err(format!(
                "{arn} is in {} and logs to a bucket in {bucket_region}: one template cannot hold both (use --emit terraform)",
                t.home_region
            ));
        }
        let bucket_id = match buckets.get(bucket) {
            Some(id) => id.clone(),
            None => {
                let id = logical("Bucket", bucket, &mut taken);
                resources.insert(
                    id.clone(),
                    retained("AWS::S3::Bucket", json!({"BucketName": bucket})),
                );
                buckets.insert(bucket.clone(), id.clone());
                id
            }
        };
        let target = plan.steps.iter().find_map(|s| match s {
            Step::UpdateTrailKey {
                trail_arn, after, ..
            } if trail_arn == arn => Some(after.clone()),
            _ => None,
        });
        let key_ref = match target {
            Some(KeyTarget::New { id }) => key_ids.get(&id).cloned(),
            Some(KeyTarget::Existing { arn: k }) => key_ids.get(&k).cloned(),
            None => t.key_id().and_then(|k| key_ids.get(k).cloned()),
        }
        .ok_or_else(|| format!("{arn}: its key is not in the template"))?;
        let validation = plan.steps.iter().any(
            |s| matches!(s, Step::EnableLogFileValidation { trail_arn, .. } if trail_arn == arn),
        ) || t.log_file_validation_enabled.known() == Some(&true);
        let flag = |f: &trailseal_model::Fact<bool>, what: &str| {
            f.known()
                .copied()
                .ok_or_else(|| format!("{arn}: {what} is not known"))
        };
        let logging = t
            .status
            .as_ref()
            .map(|s| s.is_logging)
            .ok_or_else(|| format!("{arn}: whether it is logging is not known"))?;
        let mut properties = json!({
            "TrailName": t.name,
            "IsLogging": logging,
            "S3BucketName": {"Ref": bucket_id},
            "IsMultiRegionTrail": flag(&t.is_multi_region, "IsMultiRegionTrail")?,
            "IsOrganizationTrail": flag(&t.is_organization_trail, "IsOrganizationTrail")?,
            "EnableLogFileValidation": validation,
            "KMSKeyId": {"Fn::GetAtt": [key_ref, "Arn"]}
        });
        match t.s3_key_prefix.known() {
            Some(Some(p)) => properties["S3KeyPrefix"] = json!(p),
            Some(None) => {}
            None => return Err(format!("{arn}: its S3 key prefix is not known")),
        }
        let name = logical("Trail", &t.name, &mut taken);
        resources.insert(name, retained("AWS::CloudTrail::Trail", properties));
    }
    let template = json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!(
            "trailseal fix: plan for account {} in {region}. Resources with DeletionPolicy Retain exist already: import them into the stack with their current settings first (an import cannot change them), then update the stack with this template.",
            plan.account
        ),
        "Resources": resources
    });
    Ok(serde_json::to_string_pretty(&template).unwrap_or_default() + "\n")
}

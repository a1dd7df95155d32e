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
use trailseal_model::AccountEvidence;

use crate::described::{describe, TrailKey};
use crate::{Plan, Step};

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
    let d = describe(plan, account)?;
    let sub = |policy: &str| -> Result<Value, String> {
        let v: Value = serde_json::from_str(policy)
            .map_err(|e| format!("a planned policy is not JSON: {e}"))?;
        Ok(substitute(&v, &plan.account, &region, &plan.partition))
    };
    let mut taken = Vec::new();
    let mut resources = Map::new();
    // Logical ids of the keys: new keys by id, existing ones by ARN.
    let mut key_ids: BTreeMap<String, String> = BTreeMap::new();
    for k in &d.new_keys {
        let name = logical("TrailsealKey", &region, &mut taken);
        resources.insert(
            name.clone(),
            json!({"Type": "AWS::KMS::Key", "Properties": {
                "Description": k.description,
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "EnableKeyRotation": k.rotation,
                "KeyPolicy": sub(&k.policy)?
            }}),
        );
        if let Some(alias) = &k.alias {
            let alias_name = logical("TrailsealAlias", &region, &mut taken);
            resources.insert(
                alias_name,
                json!({"Type": "AWS::KMS::Alias", "Properties": {"AliasName": alias, "TargetKeyId": {"Ref": name}}}),
            );
        }
        key_ids.insert(k.id.clone(), name);
    }
    for k in &d.keys {
        let name = logical("Key", &k.key_id, &mut taken);
        resources.insert(
            name.clone(),
            retained(
                "AWS::KMS::Key",
                json!({
                    "KeySpec": k.spec,
                    "KeyUsage": k.usage,
                    "Enabled": k.enabled,
                    "EnableKeyRotation": k.rotation,
                    "KeyPolicy": sub(&k.policy)?
                }),
            ),
        );
        key_ids.insert(k.arn.clone(), name);
    }
    let mut buckets: BTreeMap<String, String> = BTreeMap::new();
    for t in &d.trails {
        let arn = &t.arn;
        if t.bucket_region != region || t.home_region != region {
            return Err(format!(
                "{arn} is in {} and logs to a bucket in {}: one template cannot hold both (use --emit terraform)",
                t.home_region, t.bucket_region
            ));
        }
        let bucket_id = match buckets.get(&t.bucket) {
            Some(id) => id.clone(),
            None => {
                let id = logical("Bucket", &t.bucket, &mut taken);
                resources.insert(
                    id.clone(),
                    retained("AWS::S3::Bucket", json!({"BucketName": t.bucket})),
                );
                buckets.insert(t.bucket.clone(), id.clone());
                id
            }
        };
        let key_ref = match &t.key {
            TrailKey::New(k) | TrailKey::Existing(k) => key_ids.get(k).cloned(),
            TrailKey::External(_) => None,
        }
        .ok_or_else(|| format!("{arn}: its key is not in the template"))?;
        let logging = t
            .logging
            .ok_or_else(|| format!("{arn}: whether it is logging is not known"))?;
        let mut properties = json!({
            "TrailName": t.name,
            "IsLogging": logging,
            "S3BucketName": {"Ref": bucket_id},
            "IsMultiRegionTrail": t.multi_region,
            "IsOrganizationTrail": t.organization,
            "EnableLogFileValidation": t.validation,
            "KMSKeyId": {"Fn::GetAtt": [key_ref, "Arn"]}
        });
        if let Some(p) = &t.prefix {
            properties["S3KeyPrefix"] = json!(p);
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

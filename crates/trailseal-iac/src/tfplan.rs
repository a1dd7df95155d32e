//! Terraform plan JSON (`terraform show -json PLANFILE`) into evidence.
//!
//! Planned values give what Terraform knows before apply (real account ids from data sources
//! included); `after_unknown` says what only apply will tell; the configuration's
//! `references` link a trail to the key resource whose ARN is not known yet. Resources:
//! `aws_cloudtrail`, `aws_kms_key`, `aws_kms_alias`, `aws_s3_bucket`,
//! `aws_cloudtrail_event_data_store`, in the root module and every child module; instances
//! of `count` / `for_each` by their full address (`module.m.aws_cloudtrail.t["a"]`).

use std::collections::HashMap;

use serde_json::Value;
use trailseal_model::{
    AccountEvidence, Bucket, EventDataStore, Key, KeyRef, LookupError, RegionEvidence, Trail,
};

use crate::cfn::eval::{ACCOUNT, REGION};
use crate::{aws_managed, default_key_policy, IacScan, Location, Problem};

/// Whether `text` looks like a plan (cheap test before parsing).
pub fn looks_like_plan(text: &str) -> bool {
    text.contains("\"planned_values\"") && text.contains("\"format_version\"")
}

/// Resource types that are KMS keys.
const KEY_TYPES: &[&str] = &["aws_kms_key", "aws_kms_replica_key"];

struct Res<'a> {
    address: String,
    /// `module.a.module.b.` or empty: the prefix configuration references are relative to.
    module: String,
    ty: String,
    values: &'a Value,
    unknown: Option<&'a Value>,
    /// The resource's configuration `expressions`.
    config: Option<&'a Value>,
    /// The provider configuration it uses (`aws.west` for `provider = aws.west`).
    provider: Option<String>,
}

enum Attr {
    Known(Value),
    /// Known only after apply; with the reason when the producer gave one (HCL scanning
    /// puts a reason string in `after_unknown` instead of `true`).
    Unknown(Option<String>),
    Absent,
}

impl Res<'_> {
    fn attr(&self, name: &str) -> Attr {
        match self.unknown.and_then(|u| u.get(name)) {
            Some(Value::Bool(true)) => return Attr::Unknown(None),
            Some(Value::String(why)) => return Attr::Unknown(Some(why.clone())),
            _ => {}
        }
        match self.values.get(name) {
            Some(Value::Null) | None => Attr::Absent,
            Some(v) => Attr::Known(v.clone()),
        }
    }

    fn str_attr(&self, name: &str) -> Option<String> {
        match self.attr(name) {
            Attr::Known(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn bool_attr(&self, name: &str) -> Option<bool> {
        match self.attr(name) {
            Attr::Known(Value::Bool(b)) => Some(b),
            _ => None,
        }
    }

    /// The resource addresses an attribute's expression refers to.
    fn references(&self, name: &str) -> Vec<String> {
        self.config
            .and_then(|c| c.get(name))
            .and_then(|e| e.get("references"))
            .and_then(Value::as_array)
            .map(|refs| {
                refs.iter()
                    .filter_map(Value::as_str)
                    .map(|r| format!("{}{r}", self.module))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn configured(&self, name: &str) -> bool {
        self.config.is_some_and(|c| c.get(name).is_some())
    }
}

/// `aws_kms_key.k[0]` -> `aws_kms_key.k`
fn config_address(address: &str) -> String {
    let mut out = String::new();
    let mut depth = 0;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn collect_resources<'a>(module: &'a Value, out: &mut Vec<(&'a Value, String)>, prefix: &str) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        out.push((r, prefix.to_owned()));
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let address = child
            .get("address")
            .and_then(Value::as_str)
            .unwrap_or_default();
        collect_resources(child, out, &format!("{address}."));
    }
}

fn collect_config<'a>(module: &'a Value, prefix: &str, out: &mut HashMap<String, &'a Value>) {
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(address) = r.get("address").and_then(Value::as_str) {
            out.insert(format!("{prefix}{address}"), r);
        }
    }
    if let Some(calls) = module.get("module_calls").and_then(Value::as_object) {
        for (name, call) in calls {
            if let Some(child) = call.get("module") {
                collect_config(child, &format!("{prefix}module.{name}."), out);
            }
        }
    }
}

/// The line of the first `"address": "ADDRESS"` in the plan text.
fn line_of(text: &str, address: &str) -> u32 {
    let needle = serde_json::to_string(address).unwrap_or_default();
    text.lines()
        .position(|l| l.contains("\"address\"") && l.contains(&needle))
        .map_or(1, |i| u32::try_from(i + 1).unwrap_or(u32::MAX))
}

pub fn scan(file: &str, text: &str) -> IacScan {
    let plan: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            let mut out = IacScan::new(file);
            out.problems.push(Problem {
                address: None,
                line: u32::try_from(e.line()).unwrap_or(1),
                column: u32::try_from(e.column()).unwrap_or(1),
                message: format!("cannot parse the plan JSON: {e}"),
            });
            return out;
        }
    };
    scan_value(file, &plan, &|address: &str| (line_of(text, address), 1))
}

/// Maps a plan (or a plan-shaped document built from HCL) to evidence; `locate` gives the
/// line and column of a resource address.
pub fn scan_value(
    file: &str,
    plan: &Value,
    locate_address: &dyn Fn(&str) -> (u32, u32),
) -> IacScan {
    let mut out = IacScan::new(file);
    let Some(root) = plan
        .get("planned_values")
        .and_then(|p| p.get("root_module"))
    else {
        out.problems.push(Problem {
            address: None,
            line: 1,
            column: 1,
            message: "not a Terraform plan: no planned_values.root_module (use `terraform show -json PLANFILE`)".into(),
        });
        return out;
    };

    let mut planned = Vec::new();
    collect_resources(root, &mut planned, "");
    let mut config = HashMap::new();
    if let Some(c) = plan.get("configuration").and_then(|c| c.get("root_module")) {
        collect_config(c, "", &mut config);
    }
    let changes: HashMap<&str, &Value> = plan
        .get("resource_changes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c.get("address")?.as_str()?, c.get("change")?)))
        .collect();

    // The deploying account and Region: from data sources and the provider, else symbols.
    let mut data = Vec::new();
    if let Some(prior) = plan
        .get("prior_state")
        .and_then(|p| p.get("values"))
        .and_then(|v| v.get("root_module"))
    {
        collect_resources(prior, &mut data, "");
    }
    let data_value = |ty: &str, keys: &[&str]| -> Option<String> {
        data.iter()
            .filter(|(r, _)| r.get("type").and_then(Value::as_str) == Some(ty))
            .find_map(|(r, _)| {
                keys.iter()
                    .find_map(|k| r.get("values")?.get(k)?.as_str().map(str::to_owned))
            })
    };
    let account =
        data_value("aws_caller_identity", &["account_id"]).unwrap_or_else(|| ACCOUNT.into());
    let region = data_value("aws_region", &["name", "region"])
        .or_else(|| {
            plan.pointer("/configuration/provider_config/aws/expressions/region/constant_value")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| REGION.into());

    let resources: Vec<Res<'_>> = planned
        .iter()
        .filter(|(r, _)| r.get("mode").and_then(Value::as_str) != Some("data"))
        .filter_map(|(r, module)| {
            let address = r.get("address")?.as_str()?.to_owned();
            Some(Res {
                ty: r.get("type")?.as_str()?.to_owned(),
                values: r.get("values")?,
                unknown: changes
                    .get(address.as_str())
                    .and_then(|c| c.get("after_unknown")),
                config: config
                    .get(&config_address(&address))
                    .and_then(|c| c.get("expressions")),
                provider: config
                    .get(&config_address(&address))
                    .and_then(|c| c.get("provider_config_key"))
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                module: module.clone(),
                address,
            })
        })
        .collect();
    let find = |reference: &str, types: &[&str]| -> Option<&Res<'_>> {
        // `aws_kms_key.k.arn` -> `aws_kms_key.k`; an instance or the only instance.
        let mut candidate = reference.to_owned();
        loop {
            if let Some(r) = resources.iter().find(|r| {
                types.contains(&r.ty.as_str())
                    && (r.address == candidate || config_address(&r.address) == candidate)
            }) {
                return Some(r);
            }
            match candidate.rfind('.') {
                Some(i) => candidate.truncate(i),
                None => return None,
            }
        }
    };
    // A resource's Region: its own `region` argument (AWS provider 6), else the Region of the
    // provider configuration it uses (`provider = aws.west`), else the deploying Region.
    let region_of = |r: &Res<'_>| -> String {
        r.str_attr("region")
            .or_else(|| {
                let key = r.provider.as_deref()?;
                let key = key.rsplit(':').next().unwrap_or(key);
                plan.get("configuration")?
                    .get("provider_config")?
                    .get(key)?
                    .pointer("/expressions/region/constant_value")?
                    .as_str()
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| region.clone())
    };
    let key_arn = |r: &Res<'_>| {
        r.str_attr("arn")
            .unwrap_or_else(|| format!("arn:aws:kms:{}:{account}:key/{}", region_of(r), r.address))
    };

    let mut evidence = AccountEvidence {
        account: account.clone(),
        partition: "aws".into(),
        regions: vec![RegionEvidence {
            region: region.clone(),
            ..RegionEvidence::default()
        }],
        ..AccountEvidence::default()
    };
    let locate = |out: &mut IacScan, arn: &str, address: &str| {
        let (line, column) = locate_address(address);
        out.locations.insert(
            arn.to_owned(),
            Location {
                address: address.to_owned(),
                line,
                column,
            },
        );
    };

    // Aliases: (alias name, key ARN).
    let mut aliases: Vec<(String, String)> = Vec::new();
    for a in resources.iter().filter(|r| r.ty == "aws_kms_alias") {
        let Some(name) = a.str_attr("name") else {
            continue;
        };
        let target = match a.str_attr("target_key_id") {
            Some(t) => resources
                .iter()
                .filter(|k| KEY_TYPES.contains(&k.ty.as_str()))
                .find(|k| {
                    k.str_attr("key_id").as_deref() == Some(t.as_str())
                        || k.str_attr("arn").as_deref() == Some(t.as_str())
                }),
            None => a
                .references("target_key_id")
                .iter()
                .find_map(|r| find(r, KEY_TYPES)),
        };
        if let Some(k) = target {
            aliases.push((name, key_arn(k)));
        }
    }

    for k in resources
        .iter()
        .filter(|r| KEY_TYPES.contains(&r.ty.as_str()))
    {
        let arn = key_arn(k);
        let mut unknown = Vec::new();
        let policy =
            match k.attr("policy") {
                Attr::Known(Value::String(p)) if !p.is_empty() => Some(p),
                Attr::Unknown(why) if k.configured("policy") => {
                    unknown.push(why.unwrap_or_else(|| {
                        format!("{}.policy is known only after apply", k.address)
                    }));
                    None
                }
                _ => Some(default_key_policy(&account)),
            };
        // A replica (aws_kms_replica_key) shares its primary's key material, spec and
        // rotation; the primary is found through primary_key_arn.
        let replica = k.ty == "aws_kms_replica_key";
        let primary = if replica {
            match k.attr("primary_key_arn") {
                Attr::Known(Value::String(p)) => resources
                    .iter()
                    .find(|r| r.ty == "aws_kms_key" && key_arn(r) == p),
                _ => k
                    .references("primary_key_arn")
                    .iter()
                    .find_map(|r| find(r, &["aws_kms_key"])),
            }
        } else {
            Some(k)
        };
        let spec = primary
            .and_then(|p| {
                p.str_attr("customer_master_key_spec")
                    .or_else(|| p.str_attr("key_spec"))
            })
            .unwrap_or_else(|| "SYMMETRIC_DEFAULT".into());
        let rotation = match primary {
            Some(p) => Some(p.bool_attr("enable_key_rotation").unwrap_or(false)),
            None => {
                unknown.push(format!(
                    "{}: the rotation of a replica key is its primary key's, which is not in this configuration",
                    k.address
                ));
                None
            }
        };
        let enabled = k
            .bool_attr(if replica { "enabled" } else { "is_enabled" })
            .unwrap_or(true);
        let key_region = region_of(k);
        let key = Key {
            arn: Some(arn.clone()),
            key_id: Some(k.str_attr("key_id").unwrap_or_else(|| k.address.clone())),
            region: Some(key_region),
            state: Some(if enabled { "Enabled" } else { "Disabled" }.into()),
            manager: Some("CUSTOMER".into()),
            key_spec: Some(spec),
            key_usage: Some(
                primary
                    .and_then(|p| p.str_attr("key_usage"))
                    .unwrap_or_else(|| "ENCRYPT_DECRYPT".into()),
            ),
            multi_region: Some(replica || k.bool_attr("multi_region").unwrap_or(false)),
            aliases: aliases
                .iter()
                .filter(|(_, a)| *a == arn)
                .map(|(n, _)| n.clone())
                .collect(),
            policy,
            rotation_enabled: rotation,
            unknown: (!unknown.is_empty()).then(|| unknown.join("; ")),
            ..Key::default()
        };
        locate(&mut out, &arn, &k.address);
        evidence.keys.push(key);
    }

    // Buckets in the configuration: (address, name, Region).
    let buckets: Vec<(String, String, String)> = resources
        .iter()
        .filter(|r| r.ty == "aws_s3_bucket")
        .map(|b| {
            (
                b.address.clone(),
                b.str_attr("bucket").unwrap_or_else(|| b.address.clone()),
                region_of(b),
            )
        })
        .collect();

    // A key reference (known value, or configuration references) -> KeyRef.
    let resolve_key = |r: &Res<'_>, attr: &str| -> Result<Option<KeyRef>, String> {
        let by_reference = || {
            r.references(attr).iter().find_map(|reference| {
                if let Some(k) = find(reference, KEY_TYPES) {
                    return Some(key_arn(k));
                }
                let a = find(reference, &["aws_kms_alias"])?;
                let name = a.str_attr("name")?;
                aliases
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, k)| k.clone())
            })
        };
        let reference = match r.attr(attr) {
            Attr::Known(Value::String(s)) if !s.is_empty() => s,
            Attr::Known(_) | Attr::Absent => return Ok(None),
            Attr::Unknown(why) => match by_reference() {
                Some(arn) => arn,
                None => {
                    return Err(why.unwrap_or_else(|| {
                        format!("{}.{attr} is known only after apply", r.address)
                    }))
                }
            },
        };
        let mut key_ref = KeyRef {
            region: trailseal_model::key_region(&reference, &region),
            reference: reference.clone(),
            key_arn: None,
            error: None,
        };
        let alias = reference
            .strip_prefix(&format!("arn:aws:kms:{region}:{account}:"))
            .unwrap_or(&reference);
        if alias.starts_with("alias/aws/") {
            key_ref.key_arn = Some(format!("arn:aws:kms:{region}:{account}:{alias}"));
        } else if let Some((_, k)) = aliases.iter().find(|(n, _)| n == alias) {
            key_ref.key_arn = Some(k.clone());
        } else if let Some(k) = evidence_key(&resources, &reference, &key_arn) {
            key_ref.key_arn = Some(k);
        } else {
            key_ref.error = Some(LookupError::Unknown(format!(
                "{reference} is not a key in this plan"
            )));
        }
        Ok(Some(key_ref))
    };

    for t in resources.iter().filter(|r| r.ty == "aws_cloudtrail") {
        let name = t.str_attr("name").unwrap_or_else(|| t.address.clone());
        let arn = t
            .str_attr("arn")
            .unwrap_or_else(|| format!("arn:aws:cloudtrail:{region}:{account}:trail/{name}"));
        let mut trail = Trail::from_arn(&arn);
        trail.name = name;
        trail.home_region = region.clone();
        match resolve_key(t, "kms_key_id") {
            Ok(Some(key_ref)) => {
                if key_ref.reference.starts_with("alias/aws/") {
                    evidence
                        .keys
                        .push(aws_managed(&key_ref.reference, &account, &region));
                }
                if let Some(k) = &key_ref.key_arn {
                    out.trail_keys.insert(arn.clone(), k.clone());
                }
                trail.kms_key_id = Some(key_ref.reference.clone());
                evidence.key_refs.push(key_ref);
            }
            Ok(None) => {}
            Err(why) => trail.kms_key_id_unknown = Some(why),
        }
        let bucket = match t.attr("s3_bucket_name") {
            Attr::Known(Value::String(b)) => Some(b),
            Attr::Unknown(_) => t
                .references("s3_bucket_name")
                .iter()
                .find_map(|r| find(r, &["aws_s3_bucket"]))
                .and_then(|b| buckets.iter().find(|(a, _, _)| *a == b.address))
                .map(|(_, n, _)| n.clone()),
            _ => None,
        };
        if let Some(b) = bucket {
            let local = buckets.iter().find(|(_, n, _)| *n == b);
            let key_region = out
                .trail_keys
                .get(&arn)
                .and_then(|k| evidence.keys.iter().find(|x| x.arn.as_ref() == Some(k)))
                .and_then(|k| k.region.clone());
            let unknown = match (local, key_region) {
                (None, _) => Some("the bucket is not managed in this plan".to_owned()),
                // One Region is the deploying Region (no provider region set), the other is
                // set explicitly: whether they are the same cannot be known.
                (Some((_, _, br)), Some(kr)) if (*br == region) != (kr == region) && region == REGION => {
                    Some(format!(
                        "the bucket is in {br} and the key in {kr}, and the deploying Region is not set in the provider"
                    ))
                }
                _ => None,
            };
            evidence.buckets.push(Bucket {
                name: b.clone(),
                region: local
                    .filter(|_| unknown.is_none())
                    .map(|(_, _, r)| r.clone()),
                error: None,
                unknown,
            });
            trail.s3_bucket_name = Some(b);
        }
        trail.s3_key_prefix = t.str_attr("s3_key_prefix");
        trail.is_multi_region = t.bool_attr("is_multi_region_trail").unwrap_or(false);
        trail.is_organization_trail = t.bool_attr("is_organization_trail").unwrap_or(false);
        trail.log_file_validation_enabled =
            Some(t.bool_attr("enable_log_file_validation").unwrap_or(false));
        locate(&mut out, &arn, &t.address);
        evidence.trails.push(trail);
    }

    for s in resources
        .iter()
        .filter(|r| r.ty == "aws_cloudtrail_event_data_store")
    {
        let arn = s.str_attr("arn").unwrap_or_else(|| {
            format!(
                "arn:aws:cloudtrail:{region}:{account}:eventdatastore/{}",
                s.address
            )
        });
        let kms_key_id = match resolve_key(s, "kms_key_id") {
            Ok(Some(key_ref)) => {
                let r = key_ref.reference.clone();
                evidence.key_refs.push(key_ref);
                Some(r)
            }
            _ => None,
        };
        evidence.event_data_stores.push(EventDataStore {
            arn: arn.clone(),
            name: s.str_attr("name").unwrap_or_else(|| s.address.clone()),
            region: region.clone(),
            kms_key_id,
            status: None,
        });
        locate(&mut out, &arn, &s.address);
    }

    evidence
        .key_refs
        .sort_by(|a, b| a.reference.cmp(&b.reference));
    evidence
        .key_refs
        .dedup_by(|a, b| a.reference == b.reference);
    out.account = evidence;
    out
}

/// The ARN of the plan's key that `reference` (ARN or key id) names.
fn evidence_key(
    resources: &[Res<'_>],
    reference: &str,
    key_arn: &dyn Fn(&Res<'_>) -> String,
) -> Option<String> {
    resources
        .iter()
        .filter(|k| KEY_TYPES.contains(&k.ty.as_str()))
        .find(|k| key_arn(k) == reference || k.str_attr("key_id").as_deref() == Some(reference))
        .map(key_arn)
}

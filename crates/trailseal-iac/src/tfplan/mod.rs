//! Terraform plan JSON (`terraform show -json PLANFILE`) into evidence.
//!
//! Planned values give what Terraform knows before apply (real account ids from data sources
//! included); `after_unknown` says what only apply will tell; the configuration's
//! `references` link a trail to the key resource whose ARN is not known yet (only when they
//! name exactly one; see [`resources::single_reference`]). Resources: `aws_cloudtrail`,
//! `aws_kms_key`, `aws_kms_replica_key`, `aws_kms_alias`, `aws_kms_key_policy`,
//! `aws_s3_bucket`, `aws_cloudtrail_event_data_store`, in the root module and every child
//! module; instances of `count` / `for_each` by their full address
//! (`module.m.aws_cloudtrail.t["a"]`). Arguments become evidence through [`crate::mapper`].

use serde_json::Value;
use trailseal_model::{
    AccountEvidence, Bucket, EventDataStore, Fact, Key, KeyRef, LookupError, RegionEvidence,
};

mod read;
mod resources;

use resources::{config_address, evidence_key, single_reference, Attr, KEY_TYPES};
pub use resources::{Planned, ProviderRegion, Res};

use crate::cfn::eval::{ACCOUNT, REGION};
use crate::mapper::{self, Arg, KeyArgs, TrailArgs};
use crate::{IacScan, Location, Problem};

/// Whether `text` looks like a plan (cheap test before parsing).
pub fn looks_like_plan(text: &str) -> bool {
    text.contains("\"planned_values\"") && text.contains("\"format_version\"")
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
                unreadable: true,
            });
            return out;
        }
    };
    match read::planned(&plan) {
        Ok(planned) => scan_planned(file, &planned, &|address: &str| (line_of(text, address), 1)),
        Err(message) => {
            let mut out = IacScan::new(file);
            out.problems.push(Problem {
                address: None,
                line: 1,
                column: 1,
                message,
                unreadable: true,
            });
            out
        }
    }
}

/// Maps what Terraform knows before apply (from a plan, or evaluated from HCL) to evidence;
/// `locate` gives the line and column of a resource address.
pub fn scan_planned(
    file: &str,
    plan: &Planned,
    locate_address: &dyn Fn(&str) -> (u32, u32),
) -> IacScan {
    let mut out = IacScan::new(file);
    out.lang = crate::suggest::Lang::Terraform;
    let resources = &plan.resources;
    // The deploying account and Region: from data sources and the provider, else symbols.
    let account = plan.account.clone().unwrap_or_else(|| ACCOUNT.into());
    let region = plan
        .region
        .clone()
        .or_else(|| match plan.providers.get("aws") {
            Some(ProviderRegion::Constant(r)) => Some(r.clone()),
            _ => None,
        })
        .unwrap_or_else(|| REGION.into());
    // The partition: data.aws_partition, else the one the deploying Region belongs to
    // (GovCloud and China Regions are in their own partitions).
    let partition = plan
        .partition
        .clone()
        .unwrap_or_else(|| partition_of(&region).to_owned());
    // A resource's own ARN is in the partition of its own Region (a provider in us-gov-west-1
    // puts its trail in aws-us-gov even when the deploying Region is symbolic).
    let partition_in = |resource_region: &str| -> String {
        plan.partition
            .clone()
            .unwrap_or_else(|| partition_of(resource_region).to_owned())
    };

    let find = |reference: &str, types: &[&str]| -> Option<&Res> {
        // `aws_kms_key.k.arn` -> `aws_kms_key.k`; an instance, or the only instance. A
        // reference to a resource with several instances and no index (Terraform lists
        // `aws_kms_key.k[count.index]` as `aws_kms_key.k`) names none of them for sure.
        let mut candidate = reference.to_owned();
        loop {
            let of_type = |r: &&Res| types.contains(&r.ty.as_str());
            if let Some(r) = resources
                .iter()
                .filter(of_type)
                .find(|r| r.address == candidate)
            {
                return Some(r);
            }
            let instances: Vec<&Res> = resources
                .iter()
                .filter(of_type)
                .filter(|r| config_address(&r.address) == candidate)
                .collect();
            match instances.as_slice() {
                [one] => return Some(one),
                [] => {}
                _ => return None,
            }
            match candidate.rfind('.') {
                Some(i) => candidate.truncate(i),
                None => return None,
            }
        }
    };
    // A resource's Region: its own `region` argument (AWS provider 6), else the Region of the
    // provider configuration it uses (`provider = aws.west`), else the deploying Region. A
    // Region whose value is unknown stays unknown: it is never the deploying Region.
    let default_sets_region = !matches!(
        plan.providers.get("aws"),
        None | Some(ProviderRegion::Unset)
    );
    let region_of = |r: &Res| -> Fact<String> {
        match r.arg("region").string("region", None) {
            Fact::Known(s) => return Fact::Known(s),
            Fact::Unknown(why) => return Fact::Unknown(why),
            Fact::Unreadable(_) => {}
        }
        if let Some(full) = r.provider.as_deref() {
            // Terraform keys a child module's own configuration `module.kms:aws`: look up the
            // full key first (never the root's `aws` for it); the part after `:` only as the
            // fallback for older plans that key resources `kms:aws`.
            let short = full.rsplit(':').next().unwrap_or(full);
            let config = plan.providers.get(full).map(|p| (full, p)).or_else(|| {
                (short != full && !full.starts_with("module."))
                    .then(|| plan.providers.get(short).map(|p| (short, p)))
                    .flatten()
            });
            if let Some((key, p)) = config {
                return match p {
                    ProviderRegion::Constant(r) => Fact::Known(r.clone()),
                    ProviderRegion::NotConstant => Fact::Unknown(format!(
                        "the Region of provider configuration {key} is not a constant"
                    )),
                    // No region: the Region comes from the environment, like the root
                    // default configuration's when that sets none either (then both are the
                    // deploying Region); when the default sets one, this one's is not known.
                    ProviderRegion::Unset if key == "aws" || !default_sets_region => {
                        Fact::Known(region.clone())
                    }
                    ProviderRegion::Unset => Fact::Unknown(format!(
                        "provider configuration {key} sets no region: it comes from the environment"
                    )),
                };
            }
            // A configuration other than the root's default that the plan does not describe:
            // its Region cannot be told.
            if short != "aws" || full.starts_with("module.") {
                return Fact::Unknown(format!(
                    "{}: provider configuration {full} is not in the plan",
                    r.address
                ));
            }
        }
        Fact::Known(region.clone())
    };
    let key_arn = |r: &Res| {
        r.str_attr("arn").unwrap_or_else(|| {
            let key_region = region_of(r).into_known().unwrap_or_else(|| REGION.into());
            format!(
                "arn:{}:kms:{key_region}:{account}:key/{}",
                partition_in(&key_region),
                r.address
            )
        })
    };

    let mut evidence = AccountEvidence {
        account: account.clone(),
        partition: partition.clone(),
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

    // Aliases: name, Region (aliases are Regional), key ARN.
    let mut aliases: Vec<(String, Fact<String>, String)> = Vec::new();
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
            aliases.push((name, region_of(a), key_arn(k)));
        }
    }

    // aws_kms_key_policy: the policy it sets is its key's policy. One whose key cannot be
    // told may set any key's policy.
    let mut key_policies: Vec<(Option<String>, &Res)> = Vec::new();
    for p in resources.iter().filter(|r| r.ty == "aws_kms_key_policy") {
        let target = match p.attr("key_id") {
            Attr::Known(Value::String(t)) => evidence_key(resources, &t, &key_arn),
            _ => p
                .references("key_id")
                .iter()
                .find_map(|r| find(r, KEY_TYPES))
                .map(key_arn),
        };
        key_policies.push((target, p));
    }

    // A replica (aws_kms_replica_key) shares its primary's key material, spec, usage and
    // rotation; the primary is found through primary_key_arn.
    let primary_of = |k: &Res| -> Option<&Res> {
        if k.ty != "aws_kms_replica_key" {
            return None;
        }
        match k.attr("primary_key_arn") {
            Attr::Known(Value::String(p)) => resources
                .iter()
                .find(|r| r.ty == "aws_kms_key" && key_arn(r) == p),
            _ => k
                .references("primary_key_arn")
                .iter()
                .find_map(|r| find(r, &["aws_kms_key"])),
        }
    };

    for k in resources
        .iter()
        .filter(|r| KEY_TYPES.contains(&r.ty.as_str()))
    {
        let arn = key_arn(k);
        let replica = k.ty == "aws_kms_replica_key";
        let (spec, usage, rotation, multi_region) = if replica {
            match primary_of(k) {
                Some(p) => (
                    p.spec_arg(),
                    p.arg("key_usage"),
                    p.arg("enable_key_rotation"),
                    Arg::Known(Value::Bool(true)),
                ),
                None => {
                    let why = format!(
                        "{}: a replica key's spec, usage and rotation are its primary key's, which is not in this configuration",
                        k.address
                    );
                    (
                        Arg::Unknown(why.clone()),
                        Arg::Unknown(why.clone()),
                        Arg::Unknown(why),
                        Arg::Known(Value::Bool(true)),
                    )
                }
            }
        } else {
            (
                k.spec_arg(),
                k.arg("key_usage"),
                k.arg("enable_key_rotation"),
                k.arg("multi_region"),
            )
        };
        // The key's policy: its own `policy`, or the one aws_kms_key_policy sets. Two
        // setters, or one whose key cannot be told: which applies is not known.
        let own = k.configured("policy");
        let exact: Vec<&Res> = key_policies
            .iter()
            .filter(|(target, _)| target.as_deref() == Some(arn.as_str()))
            .map(|(_, p)| *p)
            .collect();
        let untold: Vec<&Res> = key_policies
            .iter()
            .filter(|(target, _)| target.is_none())
            .map(|(_, p)| *p)
            .collect();
        // Where a fix adds a statement: the one setter's policy argument (and the policy
        // document it is built from), or nothing when KMS's default policy applies.
        let document = |r: &Res| {
            r.references("policy")
                .iter()
                .find(|a| a.contains("data.aws_iam_policy_document."))
                .map(|a| a.trim_end_matches(".json").to_owned())
        };
        match (exact.as_slice(), untold.is_empty(), own) {
            ([], true, false) if k.config.is_some() => {
                out.key_policy_sites
                    .insert(arn.clone(), crate::suggest::PolicySite::Default);
            }
            ([], true, true) => {
                out.key_policy_sites.insert(
                    arn.clone(),
                    crate::suggest::PolicySite::Argument {
                        setter: k.address.clone(),
                        document: document(k),
                    },
                );
            }
            ([p], true, false) => {
                // Its position, for fixes that name it (no finding is about it).
                locate(
                    &mut out,
                    &format!("policy-setter:{}", p.address),
                    &p.address,
                );
                out.key_policy_sites.insert(
                    arn.clone(),
                    crate::suggest::PolicySite::Argument {
                        setter: p.address.clone(),
                        document: document(p),
                    },
                );
            }
            _ => {}
        }
        let policy = match (exact.as_slice(), untold.is_empty(), own) {
            ([], true, _) => k.arg("policy"),
            ([p], true, false) => p.arg("policy"),
            _ => {
                let mut setters: Vec<&str> = exact
                    .iter()
                    .chain(&untold)
                    .map(|p| p.address.as_str())
                    .collect();
                if own {
                    setters.push("its own policy argument");
                }
                Arg::Unknown(format!(
                    "the policy of {} may be set by {}: which one applies is not known before apply",
                    k.address,
                    setters.join(", ")
                ))
            }
        };
        let key = mapper::key(KeyArgs {
            arn: arn.clone(),
            key_id: k.str_attr("key_id").unwrap_or_else(|| k.address.clone()),
            region: region_of(k),
            enabled: k.arg(if replica { "enabled" } else { "is_enabled" }),
            spec,
            usage,
            multi_region,
            rotation,
            policy,
            account: account.clone(),
            aliases: aliases
                .iter()
                .filter(|(_, _, a)| *a == arn)
                .map(|(n, _, _)| n.clone())
                .collect(),
        });
        locate(&mut out, &arn, &k.address);
        evidence.keys.push(key);
    }

    // Buckets in the configuration: address, name, Region.
    let buckets: Vec<(String, Fact<String>, Fact<String>)> = resources
        .iter()
        .filter(|r| r.ty == "aws_s3_bucket")
        .map(|b| {
            let name = match b.arg("bucket") {
                Arg::Absent => Fact::Unknown(format!(
                    "{} has no bucket name: Terraform generates it at apply",
                    b.address
                )),
                other => other.string("bucket", None),
            };
            (b.address.clone(), name, region_of(b))
        })
        .collect();

    // The bucket a bucket-level resource (policy, encryption) names by its `bucket` argument:
    // the one bucket it names; an expression that could name several buckets (or anything
    // else), or depends on more than apply, leaves it untold (None).
    let bucket_named_by = |r: &Res| -> Option<String> {
        match r.attr("bucket") {
            Attr::Known(Value::String(name)) => buckets
                .iter()
                .find(|(_, n, _)| n.known() == Some(&name))
                .map(|(a, _, _)| a.clone()),
            Attr::Unknown(Some(_)) => None,
            _ => single_reference(r, "bucket", "buckets", |reference| {
                find(reference, &["aws_s3_bucket"]).map(|b| b.address.clone())
            })
            .ok()
            .flatten(),
        }
    };
    let setters = |ty: &str| -> Vec<(Option<String>, &Res)> {
        resources
            .iter()
            .filter(|r| r.ty == ty)
            .map(|r| (bucket_named_by(r), r))
            .collect()
    };
    // Each bucket's policy: an aws_s3_bucket_policy naming it (by a reference, or by its known
    // name), or its own `policy` argument. None: no policy (CloudTrail may not write to it).
    // Two setters, or a policy resource whose bucket cannot be told: not known.
    let bucket_policies = setters("aws_s3_bucket_policy");
    // Each bucket's default encryption: aws_s3_bucket_server_side_encryption_configuration
    // resources naming it, or its own (legacy) server_side_encryption_configuration block.
    // Their rules' bucket_key_enabled say whether S3 Bucket Keys are on.
    let bucket_encryptions = setters("aws_s3_bucket_server_side_encryption_configuration");
    let bucket_key = |address: &str| -> Fact<bool> {
        let Some(b) = resources.iter().find(|r| r.address == address) else {
            return Fact::Unknown(format!("{address} is not in this configuration"));
        };
        // Its own encryption configurations, and its inline (or, in a plan, current) block.
        let mut flags: Vec<Fact<bool>> = bucket_encryptions
            .iter()
            .filter(|(t, _)| t.as_deref() == Some(address))
            .flat_map(|(_, e)| e.bucket_key_flags())
            .collect();
        flags.extend(b.bucket_key_flags());
        // A configuration whose bucket cannot be told may be this bucket's: unknown, unless
        // a Bucket Key is known to be on anyway.
        if let Some((_, e)) = bucket_encryptions.iter().find(|(t, _)| t.is_none()) {
            flags.push(Fact::Unknown(format!(
                "which bucket {} sets the encryption of is not known",
                e.address
            )));
        }
        mapper::bucket_key(flags)
    };
    let bucket_policy = |address: &str| -> Fact<Option<String>> {
        let Some(b) = resources.iter().find(|r| r.address == address) else {
            return Fact::Unknown(format!("{address} is not in this configuration"));
        };
        let untold: Vec<&str> = bucket_policies
            .iter()
            .filter(|(t, _)| t.is_none())
            .map(|(_, p)| p.address.as_str())
            .collect();
        if !untold.is_empty() {
            return Fact::Unknown(format!(
                "which bucket {} sets the policy of is not known",
                untold.join(", ")
            ));
        }
        let mut setters: Vec<&Res> = bucket_policies
            .iter()
            .filter(|(t, _)| t.as_deref() == Some(address))
            .map(|(_, p)| *p)
            .collect();
        // The bucket's own `policy` only when the configuration sets it: the provider also
        // fills it from the bucket's current policy (whatever set it), which is state, not
        // what this configuration applies.
        if (b.config.is_none() || b.configured("policy")) && !matches!(b.arg("policy"), Arg::Absent)
        {
            setters.push(b);
        }
        mapper::bucket_policy(
            address,
            setters
                .into_iter()
                .map(|r| (r.address.clone(), r.arg("policy")))
                .collect(),
        )
    };
    // A bucket of this configuration: it exists once deployed, with the policy it sets.
    let local_bucket = |address: &str, name: String, region: Fact<String>| Bucket {
        name,
        region,
        exists: Fact::Known(true),
        policy: bucket_policy(address),
        bucket_key: bucket_key(address),
        object_ownership: mapper::not_read("Object Ownership"),
    };

    // A key reference (known value, or configuration references) -> KeyRef, plus the
    // evidence of a key outside the configuration that the reference itself describes.
    // `home` is the Region of the resource that refers to the key: a key id or alias name is
    // looked up there.
    let resolve_key = |r: &Res,
                       attr: &str,
                       home: &Fact<String>|
     -> Result<Option<(KeyRef, Option<Key>)>, String> {
        let by_reference = || {
            single_reference(r, attr, "keys", |reference| {
                if let Some(k) = find(reference, KEY_TYPES) {
                    return Some(key_arn(k));
                }
                find(reference, &["aws_kms_alias"])
                    .and_then(|a| a.str_attr("name"))
                    .and_then(|name| aliases.iter().find(|(n, _, _)| *n == name))
                    .map(|(_, _, k)| k.clone())
            })
        };
        let reference = match r.arg(attr) {
            Arg::Known(Value::String(s)) if !s.is_empty() => s,
            Arg::Known(_) | Arg::Absent => return Ok(None),
            // Unknown with a reason (a document built from HCL): the value depends on
            // something other than apply (a variable without a value, a try() fallback), so
            // the references say nothing about which key it is.
            Arg::Unknown(why) if matches!(r.attr(attr), Attr::Unknown(Some(_))) => return Err(why),
            Arg::Unknown(why) => match by_reference()? {
                Some(arn) => arn,
                None => return Err(why),
            },
        };
        let is_arn = reference.starts_with("arn:");
        let lookup_region = match (is_arn, home) {
            (true, _) => trailseal_model::key_region(&reference, REGION),
            (false, Fact::Known(h)) => h.clone(),
            (false, _) => {
                return Ok(Some((
                    KeyRef {
                        region: REGION.to_owned(),
                        reference: reference.clone(),
                        key_arn: None,
                        error: Some(LookupError::Unknown(format!(
                            "{reference} is looked up in {}'s Region, which is not known",
                            r.address
                        ))),
                    },
                    None,
                )))
            }
        };
        let mut key_ref = KeyRef {
            region: lookup_region.clone(),
            reference: reference.clone(),
            key_arn: None,
            error: None,
        };
        let mut external = None;
        // An alias name, or an alias ARN in any Region: aliases are Regional.
        let alias = match reference.splitn(6, ':').collect::<Vec<_>>().as_slice() {
            ["arn", _, "kms", _, acct, resource] if resource.starts_with("alias/") => {
                (*acct == account).then_some(*resource)
            }
            _ if reference.starts_with("alias/") => Some(reference.as_str()),
            _ => None,
        };
        if trailseal_model::names_aws_managed_alias(&reference) {
            let alias = reference.split(':').nth(5).unwrap_or(reference.as_str());
            key_ref.key_arn = Some(format!(
                "arn:{}:kms:{lookup_region}:{account}:{alias}",
                partition_in(&lookup_region)
            ));
            key_ref.error = Some(LookupError::Unknown(format!(
                "{alias} is AWS-managed: whether AWS has created it in the account is not known before deployment"
            )));
        } else if let Some(alias) = alias {
            let candidates: Vec<&(String, Fact<String>, String)> =
                aliases.iter().filter(|(n, _, _)| n == alias).collect();
            let here: Vec<&&(String, Fact<String>, String)> = candidates
                .iter()
                .filter(|(_, r, _)| r.known() == Some(&lookup_region))
                .collect();
            match (here.as_slice(), candidates.iter().any(|(_, r, _)| !r.is_known())) {
                ([(_, _, k)], false) => key_ref.key_arn = Some(k.clone()),
                (_, true) => {
                    key_ref.error = Some(LookupError::Unknown(format!(
                        "whether {alias} is created in {lookup_region} is known only at apply (its Region is not known)"
                    )))
                }
                _ => {
                    key_ref.error = Some(LookupError::Unknown(format!(
                        "{reference} is not an alias this plan creates in {lookup_region}"
                    )))
                }
            }
        } else if let Some(k) = evidence_key(resources, &reference, &key_arn) {
            key_ref.key_arn = Some(k);
        } else {
            key_ref.error = Some(LookupError::Unknown(format!(
                "{reference} is not a key in this plan"
            )));
            if let Some(k) = mapper::external_key(&reference, &lookup_region) {
                key_ref.key_arn = k.arn.clone();
                external = Some(k);
            }
        }
        Ok(Some((key_ref, external)))
    };

    for t in resources.iter().filter(|r| r.ty == "aws_cloudtrail") {
        // The trail's own Region (its provider's), where its key id or alias is looked up.
        let home = region_of(t);
        let home_region = home.known().cloned().unwrap_or_else(|| REGION.to_owned());
        // A name known only after apply: the address identifies the trail in reports, and
        // the trail's ARN (aws:SourceArn) is unknown.
        let (name, name_unknown) = match t.arg("name").string("name", None) {
            Fact::Known(n) => (n, None),
            Fact::Unknown(why) | Fact::Unreadable(why) => (t.address.clone(), Some(why)),
        };
        let arn = t.str_attr("arn").unwrap_or_else(|| {
            format!(
                "arn:{}:cloudtrail:{home_region}:{account}:trail/{name}",
                partition_in(&home_region)
            )
        });
        let kms_key_id = match resolve_key(t, "kms_key_id", &home) {
            Ok(Some((key_ref, external))) => {
                if trailseal_model::names_aws_managed_alias(&key_ref.reference) {
                    evidence.keys.push(mapper::aws_managed(
                        key_ref
                            .key_arn
                            .as_deref()
                            .and_then(|a| a.split(':').nth(5))
                            .unwrap_or(&key_ref.reference),
                        &account,
                        &key_ref.region,
                    ));
                }
                evidence.keys.extend(external);
                if let Some(k) = &key_ref.key_arn {
                    out.trail_keys.insert(arn.clone(), k.clone());
                }
                let reference = key_ref.reference.clone();
                evidence.key_refs.push(key_ref);
                Fact::Known(Some(reference))
            }
            Ok(None) => Fact::Known(None),
            Err(why) => Fact::Unknown(why),
        };
        // A bucket name known only after apply is the bucket it refers to, when it refers to
        // exactly one (and nothing else); a reason (HCL) means it depends on more than apply.
        // A bucket whose name is generated at apply is still the one bucket: its Region
        // is known (`bucket_resource` identifies its evidence).
        let mut bucket_resource = None;
        let bucket = match t.arg("s3_bucket_name") {
            Arg::Unknown(why) if matches!(t.attr("s3_bucket_name"), Attr::Unknown(Some(_))) => {
                Fact::Unknown(why)
            }
            Arg::Unknown(why) => {
                let one = single_reference(t, "s3_bucket_name", "buckets", |reference| {
                    find(reference, &["aws_s3_bucket"]).map(|b| b.address.clone())
                });
                match one {
                    Ok(Some(address)) => match buckets.iter().find(|(a, _, _)| *a == address) {
                        Some((_, Fact::Known(n), _)) => Fact::Known(n.clone()),
                        Some((a, n, r)) => {
                            if !evidence.buckets.iter().any(|x| x.name == *a) {
                                evidence.buckets.push(local_bucket(a, a.clone(), r.clone()));
                            }
                            bucket_resource = Some(a.clone());
                            n.clone()
                        }
                        None => Fact::Unknown(why),
                    },
                    Ok(None) => Fact::Unknown(why),
                    Err(e) => Fact::Unknown(e),
                }
            }
            other => other.string("s3_bucket_name", None),
        };
        if let Fact::Known(b) = &bucket {
            let local = buckets.iter().find(|(_, n, _)| n.known() == Some(b));
            if !evidence.buckets.iter().any(|x| x.name == *b) {
                evidence.buckets.push(match local {
                    None => Bucket {
                        name: b.clone(),
                        region: Fact::Unknown(format!("bucket {b} is not managed in this plan")),
                        ..crate::iac_bucket()
                    },
                    Some((address, _, r)) => local_bucket(address, b.clone(), r.clone()),
                });
            }
        }
        let mut trail = mapper::trail(TrailArgs {
            arn: arn.clone(),
            name,
            home_region,
            kms_key_id,
            bucket,
            prefix: t.arg("s3_key_prefix"),
            multi_region: t.arg("is_multi_region_trail"),
            organization: t.arg("is_organization_trail"),
            validation: t.arg("enable_log_file_validation"),
        });
        trail.name_unknown = name_unknown;
        trail.s3_bucket_resource = bucket_resource;
        locate(&mut out, &arn, &t.address);
        evidence.trails.push(trail);
    }

    for s in resources
        .iter()
        .filter(|r| r.ty == "aws_cloudtrail_event_data_store")
    {
        // The store is in its provider's Region (a key id or alias is looked up there).
        let home = region_of(s);
        let store_region = home.known().cloned().unwrap_or_else(|| REGION.to_owned());
        let arn = s.str_attr("arn").unwrap_or_else(|| {
            format!(
                "arn:{}:cloudtrail:{store_region}:{account}:eventdatastore/{}",
                partition_in(&store_region),
                s.address
            )
        });
        let kms_key_id = match resolve_key(s, "kms_key_id", &home) {
            Ok(Some((key_ref, external))) => {
                let r = key_ref.reference.clone();
                evidence.key_refs.push(key_ref);
                evidence.keys.extend(external);
                Fact::Known(Some(r))
            }
            Ok(None) => Fact::Known(None),
            Err(why) => Fact::Unknown(why),
        };
        evidence.event_data_stores.push(EventDataStore {
            arn: arn.clone(),
            name: s.str_attr("name").unwrap_or_else(|| s.address.clone()),
            region: store_region,
            kms_key_id,
            status: None,
        });
        locate(&mut out, &arn, &s.address);
    }

    evidence
        .key_refs
        .sort_by(|a, b| (&a.reference, &a.region).cmp(&(&b.reference, &b.region)));
    evidence
        .key_refs
        .dedup_by(|a, b| a.reference == b.reference && a.region == b.region);
    evidence.keys.sort_by(|a, b| a.arn.cmp(&b.arn));
    evidence.keys.dedup_by(|a, b| a.arn == b.arn);
    out.account = evidence;
    out
}

/// The partition a Region belongs to (the symbolic deploying Region: `aws`).
pub(crate) fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("eusc-") {
        "aws-eusc"
    } else {
        "aws"
    }
}

//! The plan as Terraform (`fix --emit terraform`): the same change as code, for teams whose
//! trails and keys are managed with Terraform or must go through it.
//!
//! Existing trails, keys and buckets are adopted with `import` blocks (Terraform 1.5+) and
//! described with the values the evidence knows, so that `terraform plan` shows only the
//! change: a trail's `kms_key_id` and log file validation, a key's policy, rotation and
//! state. Everything trailseal does not read (a trail's CloudWatch Logs, SNS, event
//! selectors, tags; a key's description and tags; the whole bucket) is in `ignore_changes`
//! so that Terraform never proposes to remove it. New keys and aliases are plain resources.
//! Each Region gets a provider configuration (`aws.us_east_1`), as resources are placed in
//! the Region of their provider (AWS provider 5 and 6).
//!
//! Scanned with `trailseal scan`, the emitted configuration passes TS001-TS008 for every
//! trail the plan fixes (tested).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use trailseal_model::{AccountEvidence, Key, Trail};

use crate::{KeyTarget, Plan, Step};

/// A Terraform identifier from any text (`trail-a.b` -> `trail_a_b`).
fn ident(prefix: &str, s: &str) -> String {
    let body: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{body}")
}

/// A Terraform string literal.
fn lit(s: &str) -> String {
    serde_json::to_string(s)
        .unwrap_or_default()
        .replace("${", "$${")
        .replace("%{", "%%{")
}

/// A policy as a heredoc: its JSON, template sequences escaped, the account's id written as
/// `data.aws_caller_identity.current.account_id` (so the code says which account it is for
/// the way Terraform code does, and `trailseal scan` reads it as the deploying account).
fn heredoc(policy: &str, account: &str) -> String {
    let body = policy
        .replace("${", "$${")
        .replace("%{", "%%{")
        .replace(account, "${data.aws_caller_identity.current.account_id}");
    format!("<<EOT\n{body}\nEOT")
}

fn provider(region: &str) -> String {
    format!("aws.{}", region.replace('-', "_"))
}

/// The plan as a Terraform configuration; Err when the evidence lacks what the code must say
/// (then `--emit cli` still works).
pub fn emit(plan: &Plan, account: &AccountEvidence) -> Result<String, String> {
    let mut regions: BTreeSet<String> = BTreeSet::new();
    let mut out = String::new();
    let mut new_keys: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    let mut existing: BTreeMap<String, (String, Option<String>, bool, bool)> = BTreeMap::new();
    let mut trails: BTreeMap<String, (Option<KeyTarget>, bool)> = BTreeMap::new();
    for step in &plan.steps {
        match step {
            Step::CreateKey {
                id,
                region,
                policy,
                description,
            } => {
                new_keys.insert(id.clone(), (region.clone(), policy.clone(), false));
                let _ = description;
            }
            Step::EnableKeyRotation {
                key: KeyTarget::New { id },
                ..
            } => {
                if let Some(k) = new_keys.get_mut(id) {
                    k.2 = true;
                }
            }
            Step::EnableKeyRotation {
                key: KeyTarget::Existing { arn },
                region,
            } => {
                existing
                    .entry(arn.clone())
                    .or_insert((region.clone(), None, false, false))
                    .3 = true;
            }
            Step::CreateAlias {
                alias,
                key: KeyTarget::New { id },
                ..
            } => {
                aliases.insert(id.clone(), alias.clone());
            }
            Step::CreateAlias { .. } => {}
            Step::EnableKey { key_arn, region } => {
                existing
                    .entry(key_arn.clone())
                    .or_insert((region.clone(), None, false, false))
                    .2 = true;
            }
            Step::PutKeyPolicy {
                key_arn,
                region,
                after,
                ..
            } => {
                existing
                    .entry(key_arn.clone())
                    .or_insert((region.clone(), None, false, false))
                    .1 = Some(after.clone());
            }
            Step::UpdateTrailKey {
                trail_arn,
                after,
                region: _,
                ..
            } => {
                if let KeyTarget::Existing { arn } = after {
                    // A reused key: adopted as it is.
                    let region = trailseal_model::key_region(arn, "");
                    existing
                        .entry(arn.clone())
                        .or_insert((region, None, false, false));
                }
                trails.entry(trail_arn.clone()).or_insert((None, false)).0 = Some(after.clone());
            }
            Step::EnableLogFileValidation { trail_arn, .. } => {
                trails.entry(trail_arn.clone()).or_insert((None, false)).1 = true;
            }
        }
    }
    // Trails whose key policy the plan merges are written too (the key's policy is for them).
    for t in &account.trails {
        if let Some(k) = t.key_id() {
            if existing.contains_key(k) && !trails.contains_key(&t.arn) {
                trails.insert(t.arn.clone(), (None, false));
            }
        }
    }
    let key_of = |arn: &str| -> Result<&Key, String> {
        account
            .keys
            .iter()
            .find(|k| k.arn.as_deref() == Some(arn))
            .ok_or_else(|| format!("{arn} is not in the evidence"))
    };
    let _ = writeln!(
        out,
        "# trailseal fix: plan for account {} as Terraform (Terraform >= 1.5 for the import\n# blocks, AWS provider >= 5). Review with `terraform plan`: it must show only the changes\n# listed by `trailseal fix`. Undo by applying the previous configuration.\n",
        plan.account
    );
    let mut body = String::new();
    for (id, (region, policy, rotation)) in &new_keys {
        regions.insert(region.clone());
        let name = ident("trailseal", region);
        let _ = write!(
            body,
            "resource \"aws_kms_key\" \"{name}\" {{\n  provider                 = {}\n  description              = {}\n  customer_master_key_spec = \"SYMMETRIC_DEFAULT\"\n  key_usage                = \"ENCRYPT_DECRYPT\"\n  enable_key_rotation      = {rotation}\n  policy                   = {}\n}}\n\n",
            provider(region),
            lit("trailseal: encrypts CloudTrail log files (SSE-KMS)"),
            heredoc(policy, &plan.account)
        );
        if let Some(alias) = aliases.get(id) {
            let _ = write!(
                body,
                "resource \"aws_kms_alias\" \"{name}\" {{\n  provider      = {}\n  name          = {}\n  target_key_id = aws_kms_key.{name}.key_id\n}}\n\n",
                provider(region),
                lit(alias)
            );
        }
    }
    for (arn, (region, policy, enable, rotate)) in &existing {
        let key = key_of(arn)?;
        regions.insert(region.clone());
        let name = ident("key", key.key_id.as_deref().unwrap_or(arn));
        let known = |f: &trailseal_model::Fact<String>, what: &str| {
            f.known()
                .cloned()
                .ok_or_else(|| format!("{arn}: its {what} is not known"))
        };
        let policy = match policy {
            Some(p) => p.clone(),
            None => known(&key.policy, "policy")?,
        };
        let rotation = *rotate || key.rotation_enabled.known() == Some(&true);
        let enabled = *enable || key.state.known().map(String::as_str) == Some("Enabled");
        let _ = write!(
            body,
            "import {{\n  provider = {p}\n  to       = aws_kms_key.{name}\n  id       = {id}\n}}\n\nresource \"aws_kms_key\" \"{name}\" {{\n  provider                 = {p}\n  customer_master_key_spec = {spec}\n  key_usage                = {usage}\n  is_enabled               = {enabled}\n  enable_key_rotation      = {rotation}\n  policy                   = {policy}\n  lifecycle {{\n    ignore_changes = [description, tags, deletion_window_in_days, multi_region, bypass_policy_lockout_safety_check]\n  }}\n}}\n\n",
            p = provider(region),
            id = lit(key.key_id.as_deref().unwrap_or(arn)),
            spec = lit(&known(&key.key_spec, "key spec")?),
            usage = lit(&key.usage().into_known().unwrap_or_else(|| "ENCRYPT_DECRYPT".into())),
            policy = heredoc(&policy, &plan.account),
        );
    }
    let mut buckets: BTreeMap<String, String> = BTreeMap::new();
    for (arn, (target, validation)) in &trails {
        let t: &Trail = account
            .trails
            .iter()
            .find(|t| t.arn == *arn)
            .ok_or_else(|| format!("{arn} is not in the evidence"))?;
        let bucket = t
            .s3_bucket_name
            .known()
            .ok_or_else(|| format!("{arn}: its bucket is not known"))?;
        let bucket_region = account
            .bucket(bucket)
            .and_then(|b| b.region.known().cloned())
            .ok_or_else(|| format!("{arn}: the Region of bucket {bucket} is not known"))?;
        buckets.insert(bucket.clone(), bucket_region.clone());
        regions.insert(bucket_region);
        regions.insert(t.home_region.clone());
        let key_ref = match target {
            Some(KeyTarget::New { id }) => {
                let region = new_keys.get(id).map(|k| k.0.clone()).unwrap_or_default();
                format!("aws_kms_key.{}.arn", ident("trailseal", &region))
            }
            Some(KeyTarget::Existing { arn }) => {
                let key = key_of(arn)?;
                format!(
                    "aws_kms_key.{}.arn",
                    ident("key", key.key_id.as_deref().unwrap_or(arn))
                )
            }
            None => match t.key_id() {
                Some(k) if existing.contains_key(k) => {
                    let key = key_of(k)?;
                    format!(
                        "aws_kms_key.{}.arn",
                        ident("key", key.key_id.as_deref().unwrap_or(k))
                    )
                }
                Some(k) => lit(k),
                None => return Err(format!("{arn}: no key")),
            },
        };
        let flag = |f: &trailseal_model::Fact<bool>, what: &str| {
            f.known()
                .copied()
                .ok_or_else(|| format!("{arn}: {what} is not known"))
        };
        let prefix = match t.s3_key_prefix.known() {
            Some(Some(p)) => format!("  s3_key_prefix              = {}\n", lit(p)),
            Some(None) => String::new(),
            None => return Err(format!("{arn}: its S3 key prefix is not known")),
        };
        let name = ident("trail", &t.name);
        let _ = write!(
            body,
            "import {{\n  provider = {p}\n  to       = aws_cloudtrail.{name}\n  id       = {id}\n}}\n\nresource \"aws_cloudtrail\" \"{name}\" {{\n  provider                   = {p}\n  name                       = {tn}\n  s3_bucket_name             = aws_s3_bucket.{b}.id\n{prefix}  is_multi_region_trail      = {mr}\n  is_organization_trail      = {org}\n  enable_log_file_validation = {v}\n  kms_key_id                 = {key_ref}\n  lifecycle {{\n    ignore_changes = [cloud_watch_logs_role_arn, cloud_watch_logs_group_arn, enable_logging, include_global_service_events, sns_topic_name, event_selector, advanced_event_selector, insight_selector, tags]\n  }}\n}}\n\n",
            p = provider(&t.home_region),
            id = lit(arn),
            tn = lit(&t.name),
            b = ident("bucket", bucket),
            mr = flag(&t.is_multi_region, "is_multi_region_trail")?,
            org = flag(&t.is_organization_trail, "is_organization_trail")?,
            v = *validation || t.log_file_validation_enabled.known() == Some(&true),
        );
    }
    for (bucket, region) in &buckets {
        let _ = write!(
            body,
            "import {{\n  provider = {p}\n  to       = aws_s3_bucket.{name}\n  id       = {id}\n}}\n\nresource \"aws_s3_bucket\" \"{name}\" {{\n  provider = {p}\n  bucket   = {id}\n  lifecycle {{\n    prevent_destroy = true\n    ignore_changes  = all\n  }}\n}}\n\n",
            p = provider(region),
            name = ident("bucket", bucket),
            id = lit(bucket),
        );
    }
    out.push_str("data \"aws_caller_identity\" \"current\" {}\n\n");
    for region in &regions {
        let _ = write!(
            out,
            "provider \"aws\" {{\n  alias  = \"{}\"\n  region = \"{region}\"\n}}\n\n",
            region.replace('-', "_")
        );
    }
    out.push_str(&body);
    Ok(out.trim_end().to_owned() + "\n")
}

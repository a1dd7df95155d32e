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

use trailseal_model::AccountEvidence;

use crate::described::{describe, TrailKey};
use crate::Plan;

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
    let d = describe(plan, account)?;
    let mut regions: BTreeSet<String> = BTreeSet::new();
    let mut body = String::new();
    for k in &d.new_keys {
        regions.insert(k.region.clone());
        let name = ident("trailseal", &k.region);
        let _ = write!(
            body,
            "resource \"aws_kms_key\" \"{name}\" {{\n  provider                 = {}\n  description              = {}\n  customer_master_key_spec = \"SYMMETRIC_DEFAULT\"\n  key_usage                = \"ENCRYPT_DECRYPT\"\n  enable_key_rotation      = {}\n  policy                   = {}\n}}\n\n",
            provider(&k.region),
            lit(&k.description),
            k.rotation,
            heredoc(&k.policy, &plan.account)
        );
        if let Some(alias) = &k.alias {
            let _ = write!(
                body,
                "resource \"aws_kms_alias\" \"{name}\" {{\n  provider      = {}\n  name          = {}\n  target_key_id = aws_kms_key.{name}.key_id\n}}\n\n",
                provider(&k.region),
                lit(alias)
            );
        }
    }
    for k in &d.keys {
        regions.insert(k.region.clone());
        let name = ident("key", &k.key_id);
        let _ = write!(
            body,
            "import {{\n  provider = {p}\n  to       = aws_kms_key.{name}\n  id       = {id}\n}}\n\nresource \"aws_kms_key\" \"{name}\" {{\n  provider                 = {p}\n  customer_master_key_spec = {spec}\n  key_usage                = {usage}\n  is_enabled               = {enabled}\n  enable_key_rotation      = {rotation}\n  policy                   = {policy}\n  lifecycle {{\n    ignore_changes = [description, tags, deletion_window_in_days, multi_region, bypass_policy_lockout_safety_check]\n  }}\n}}\n\n",
            p = provider(&k.region),
            id = lit(&k.key_id),
            spec = lit(&k.spec),
            usage = lit(&k.usage),
            enabled = k.enabled,
            rotation = k.rotation,
            policy = heredoc(&k.policy, &plan.account),
        );
    }
    let mut buckets: BTreeMap<String, String> = BTreeMap::new();
    let mut trails: Vec<_> = d.trails.iter().collect();
    trails.sort_by(|a, b| a.arn.cmp(&b.arn));
    for t in trails {
        buckets.insert(t.bucket.clone(), t.bucket_region.clone());
        regions.insert(t.bucket_region.clone());
        regions.insert(t.home_region.clone());
        let key_ref = match &t.key {
            TrailKey::New(id) => {
                let region = d
                    .new_keys
                    .iter()
                    .find(|k| k.id == *id)
                    .map(|k| k.region.as_str())
                    .unwrap_or_default();
                format!("aws_kms_key.{}.arn", ident("trailseal", region))
            }
            TrailKey::Existing(arn) => {
                let key_id = d
                    .keys
                    .iter()
                    .find(|k| k.arn == *arn)
                    .map_or(arn.as_str(), |k| k.key_id.as_str());
                format!("aws_kms_key.{}.arn", ident("key", key_id))
            }
            TrailKey::External(k) => lit(k),
        };
        let prefix = match &t.prefix {
            Some(p) => format!("  s3_key_prefix              = {}\n", lit(p)),
            None => String::new(),
        };
        let name = ident("trail", &t.name);
        let _ = write!(
            body,
            "import {{\n  provider = {p}\n  to       = aws_cloudtrail.{name}\n  id       = {id}\n}}\n\nresource \"aws_cloudtrail\" \"{name}\" {{\n  provider                   = {p}\n  name                       = {tn}\n  s3_bucket_name             = aws_s3_bucket.{b}.id\n{prefix}  is_multi_region_trail      = {mr}\n  is_organization_trail      = {org}\n  enable_log_file_validation = {v}\n  kms_key_id                 = {key_ref}\n  lifecycle {{\n    ignore_changes = [cloud_watch_logs_role_arn, cloud_watch_logs_group_arn, enable_logging, include_global_service_events, sns_topic_name, event_selector, advanced_event_selector, insight_selector, tags]\n  }}\n}}\n\n",
            p = provider(&t.home_region),
            id = lit(&t.arn),
            tn = lit(&t.name),
            b = ident("bucket", &t.bucket),
            mr = t.multi_region,
            org = t.organization,
            v = t.validation,
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
    let mut out = format!(
        "# trailseal fix: plan for account {} as Terraform (Terraform >= 1.5 for the import\n# blocks, AWS provider >= 5). Review with `terraform plan`: it must show only the changes\n# listed by `trailseal fix`. Undo by applying the previous configuration.\n\n",
        plan.account
    );
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

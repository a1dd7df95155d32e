//! What the mapper reads: [`Planned`], the resources Terraform would create with what is known
//! of each before apply. Built by reading a plan's JSON ([`super::read`]) and by evaluating
//! HCL ([`crate::terraform`]), so both front ends share one mapping and neither goes through
//! the other's format. Also the rules for what a value known only after apply refers to.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use trailseal_model::Fact;

use crate::mapper::Arg;

/// Resource types that are KMS keys.
pub(super) const KEY_TYPES: &[&str] = &["aws_kms_key", "aws_kms_replica_key"];

/// What Terraform knows before apply about the resources of a configuration.
#[derive(Debug, Clone, Default)]
pub struct Planned {
    /// Managed resource instances (data sources are not here: see the fields below).
    pub resources: Vec<Res>,
    /// The deploying account, from `data.aws_caller_identity` (None: not known).
    pub account: Option<String>,
    /// The deploying Region, from `data.aws_region` (None: the default provider
    /// configuration's, else not known).
    pub region: Option<String>,
    /// The partition, from `data.aws_partition` (None: the Region's).
    pub partition: Option<String>,
    /// Provider configurations by key (`aws`, `aws.west`, `module.kms:aws`): the Region each
    /// sets.
    pub providers: BTreeMap<String, ProviderRegion>,
}

impl Planned {
    /// The first instance at `address`.
    pub fn resource(&self, address: &str) -> Option<&Res> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// The `region` a provider configuration sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderRegion {
    /// No `region` argument: the environment's.
    Unset,
    Constant(String),
    /// Set by an expression whose value is not known before apply.
    NotConstant,
}

/// One resource instance.
#[derive(Debug, Clone, Default)]
pub struct Res {
    /// `module.m.aws_kms_key.k["a"]`.
    pub address: String,
    /// `module.a.module.b.` or empty: the prefix of the module the resource is in, which
    /// [`Res::references`] may name things relative to.
    pub module: String,
    pub ty: String,
    /// Known values of its arguments and attributes (null: not set).
    pub values: Map<String, Value>,
    /// Attributes known only after apply, with the reason when the producer knows one (HCL
    /// evaluation does: the expression that is unknown; a plan says only `true`: None).
    pub unknown: BTreeMap<String, Option<String>>,
    /// The configuration: each argument it sets, with the references of its expression (full
    /// addresses: `module.m.aws_kms_key.k.arn`). None: the plan has no configuration.
    pub config: Option<BTreeMap<String, Vec<String>>>,
    /// The provider configuration it uses (`aws.west` for `provider = aws.west`); None:
    /// the default `aws`.
    pub provider: Option<String>,
}

pub(super) enum Attr {
    Known(Value),
    /// Known only after apply; with the reason when the producer gave one.
    Unknown(Option<String>),
    Absent,
}

impl Res {
    pub(super) fn attr(&self, name: &str) -> Attr {
        if let Some(why) = self.unknown.get(name) {
            return Attr::Unknown(why.clone());
        }
        match self.values.get(name) {
            Some(Value::Null) | None => Attr::Absent,
            Some(v) => Attr::Known(v.clone()),
        }
    }

    pub(super) fn str_attr(&self, name: &str) -> Option<String> {
        match self.values.get(name) {
            Some(Value::String(s)) if !self.unknown.contains_key(name) => Some(s.clone()),
            _ => None,
        }
    }

    /// The resource addresses an attribute's expression refers to.
    pub(super) fn references(&self, name: &str) -> &[String] {
        self.config
            .as_ref()
            .and_then(|c| c.get(name))
            .map_or(&[], Vec::as_slice)
    }

    pub(super) fn configured(&self, name: &str) -> bool {
        self.config.as_ref().is_some_and(|c| c.contains_key(name))
    }

    /// An attribute as a mapper argument. An attribute known only after apply that the
    /// configuration does not set is computed by the provider from its default: absent.
    pub(super) fn arg(&self, name: &str) -> Arg {
        match self.attr(name) {
            Attr::Known(v) => Arg::Known(v),
            Attr::Unknown(_) if self.config.is_some() && !self.configured(name) => Arg::Absent,
            Attr::Unknown(why) => {
                Arg::Unknown(why.unwrap_or_else(|| {
                    format!("{}.{name} is known only after apply", self.address)
                }))
            }
            Attr::Absent => Arg::Absent,
        }
    }

    /// The `bucket_key_enabled` of each encryption rule this resource sets: its `rule` blocks
    /// (`aws_s3_bucket_server_side_encryption_configuration`), or those of its
    /// `server_side_encryption_configuration` block (`aws_s3_bucket`, the legacy form).
    pub(super) fn bucket_key_flags(&self) -> Vec<Fact<bool>> {
        let rules =
            |owner: &str, rules: Attr| -> Vec<Fact<bool>> {
                match rules {
                    Attr::Absent => Vec::new(),
                    Attr::Unknown(why) => vec![Fact::Unknown(why.unwrap_or_else(|| {
                        format!("{owner}: its rules are known only after apply")
                    }))],
                    Attr::Known(Value::Array(rules)) => rules
                        .iter()
                        .map(|r| crate::mapper::bucket_key_flag(owner, r.get("bucket_key_enabled")))
                        .collect(),
                    Attr::Known(other) => vec![Fact::Unknown(format!("{owner}: rule is {other}"))],
                }
            };
        if self.ty != "aws_s3_bucket" {
            return rules(&self.address, self.attr("rule"));
        }
        match self.attr("server_side_encryption_configuration") {
            Attr::Known(Value::Array(blocks)) => blocks
                .iter()
                .flat_map(|b| {
                    rules(
                        &self.address,
                        b.get("rule").cloned().map_or(Attr::Absent, Attr::Known),
                    )
                })
                .collect(),
            Attr::Absent => Vec::new(),
            other => rules(&self.address, other),
        }
    }

    /// `customer_master_key_spec`, or its newer name `key_spec` when that is the one set.
    pub(super) fn spec_arg(&self) -> Arg {
        match self.arg("customer_master_key_spec") {
            Arg::Absent => self.arg("key_spec"),
            other => other,
        }
    }
}

/// `aws_kms_key.k[0]` -> `aws_kms_key.k`
pub(super) fn config_address(address: &str) -> String {
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

/// What a value known only after apply stands for, by the configuration's references: the one
/// thing (`resolve` of each reference) it refers to; `Ok(None)` when it refers to none. A value
/// that refers to several (`var.a ? aws_kms_key.a.arn : aws_kms_key.b.arn`), or to anything
/// else that could supply it (another resource, a data source), is unknown (`Err(reason)`).
/// `what` names the things for the reason ("keys").
pub(super) fn single_reference(
    r: &Res,
    attr: &str,
    what: &str,
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let mut found: Vec<String> = Vec::new();
    for reference in r.references(attr) {
        let relative = reference.strip_prefix(&r.module).unwrap_or(reference);
        // What cannot supply a resource's value: the instance index, paths, the workspace,
        // and the root module's variables (known in a plan). A local, `each.value` or a child
        // module's variable can hold another resource's attribute: the value may come from it.
        let inert = ["count.", "path.", "terraform."]
            .iter()
            .any(|p| relative.starts_with(p))
            || (r.module.is_empty() && relative.starts_with("var."));
        if inert {
            continue;
        }
        match resolve(reference) {
            Some(x) if !found.contains(&x) => found.push(x),
            Some(_) => {}
            None => {
                return Err(format!(
                    "{}.{attr} is known only after apply and may come from {reference}",
                    r.address
                ))
            }
        }
    }
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        several => Err(format!(
            "{}.{attr} is one of several {what} ({}), chosen by a value known only after apply",
            r.address,
            several.join(", ")
        )),
    }
}

/// The ARN of the plan's key that `reference` (ARN or key id) names.
pub(super) fn evidence_key(
    resources: &[Res],
    reference: &str,
    key_arn: &dyn Fn(&Res) -> String,
) -> Option<String> {
    resources
        .iter()
        .filter(|k| KEY_TYPES.contains(&k.ty.as_str()))
        .find(|k| key_arn(k) == reference || k.str_attr("key_id").as_deref() == Some(reference))
        .map(key_arn)
}

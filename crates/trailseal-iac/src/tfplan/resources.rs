//! The plan's resources as the mapper reads them: planned values, `after_unknown` (with the
//! reasons an HCL-built document gives), configuration expressions and `references`; and the
//! rules for what a value known only after apply refers to.

use std::collections::HashMap;

use serde_json::Value;

use crate::mapper::Arg;

/// Resource types that are KMS keys.
pub(super) const KEY_TYPES: &[&str] = &["aws_kms_key", "aws_kms_replica_key"];

pub(super) struct Res<'a> {
    pub(super) address: String,
    /// `module.a.module.b.` or empty: the prefix configuration references are relative to.
    pub(super) module: String,
    pub(super) ty: String,
    pub(super) values: &'a Value,
    pub(super) unknown: Option<&'a Value>,
    /// The resource's configuration `expressions`.
    pub(super) config: Option<&'a Value>,
    /// The provider configuration it uses (`aws.west` for `provider = aws.west`).
    pub(super) provider: Option<String>,
}

pub(super) enum Attr {
    Known(Value),
    /// Known only after apply; with the reason when the producer gave one (HCL scanning
    /// puts a reason string in `after_unknown` instead of `true`).
    Unknown(Option<String>),
    Absent,
}

impl Res<'_> {
    pub(super) fn attr(&self, name: &str) -> Attr {
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

    pub(super) fn str_attr(&self, name: &str) -> Option<String> {
        match self.attr(name) {
            Attr::Known(Value::String(s)) => Some(s),
            _ => None,
        }
    }

    /// The resource addresses an attribute's expression refers to.
    pub(super) fn references(&self, name: &str) -> Vec<String> {
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

    pub(super) fn configured(&self, name: &str) -> bool {
        self.config.is_some_and(|c| c.get(name).is_some())
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

pub(super) fn collect_resources<'a>(
    module: &'a Value,
    out: &mut Vec<(&'a Value, String)>,
    prefix: &str,
) {
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

pub(super) fn collect_config<'a>(
    module: &'a Value,
    prefix: &str,
    out: &mut HashMap<String, &'a Value>,
) {
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

/// What a value known only after apply stands for, by the configuration's references: the one
/// thing (`resolve` of each reference) it refers to; `Ok(None)` when it refers to none. A value
/// that refers to several (`var.a ? aws_kms_key.a.arn : aws_kms_key.b.arn`), or to anything
/// else that could supply it (another resource, a data source), is unknown (`Err(reason)`).
/// `what` names the things for the reason ("keys").
pub(super) fn single_reference(
    r: &Res<'_>,
    attr: &str,
    what: &str,
    resolve: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>, String> {
    let mut found: Vec<String> = Vec::new();
    for reference in r.references(attr) {
        let relative = reference.strip_prefix(&r.module).unwrap_or(&reference);
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
        match resolve(&reference) {
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

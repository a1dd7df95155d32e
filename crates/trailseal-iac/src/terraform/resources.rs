//! The AWS resources trailseal maps, as [`crate::tfplan::Res`] instances (known values,
//! unknown attributes with the reasons, the references of each argument): symbolic computed
//! attributes (`aws_kms_key.k.arn`), instances of `count` / `for_each`,
//! data sources, per-resource Regions and provider configurations.

use hcl_edit::expr::{Expression, TraversalOperator};
use hcl_edit::structure::Block;
use std::collections::BTreeMap;

use serde_json::Value;

use super::json::json_position;
use super::suppress::inline_skips;
use super::{error, line_col, unknown, Evaluated, File, Module, Scope, TYPES};
use crate::tfplan::Res;
use crate::value::{Val, ACCOUNT, REGION};
use crate::Problem;

impl<'a> Module<'a> {
    /// A resource attribute, where Terraform would compute it, as a value that stands for the
    /// resource in references (`aws_kms_key.k.arn` is
    /// `arn:aws:kms:REGION:ACCOUNT:key/aws_kms_key.k`, the key's Region being its provider
    /// configuration's); a value Terraform only knows at apply that is used as such (a
    /// generated bucket name, a trail's ARN in a Region not known) is unknown. Configured
    /// attributes are evaluated in the instance's scope (`count.index`, `each.key`); an
    /// instance that does not exist is an error, as in Terraform.
    pub(super) fn resource_attr(&self, ty: &str, name: &str, index: &str, attr: &str) -> Val {
        // Concatenated, not format!: this runs for every reference to a resource.
        let base = [self.prefix.as_str(), ty, ".", name].concat();
        let address = [base.as_str(), index].concat();
        let Some(res) = self.resources.iter().find(|r| r.ty == ty && r.name == name) else {
            return unknown(format!("{ty}.{name} is not defined in this module"));
        };
        let scope = match self.instances(res.block) {
            Ok(instances) => match instances.into_iter().find(|(i, _)| i == index) {
                Some((_, scope)) => scope,
                None if index.is_empty() => {
                    return error(format!(
                        "{base} has count or for_each: a reference to it needs an instance key"
                    ))
                }
                None => return error(format!("{base} has no instance {index}")),
            },
            Err(why) => {
                return unknown(format!(
                    "the instances of {base} are not known before apply: {why}"
                ))
            }
        };
        let configured = |attr: &str| -> Option<Val> {
            match self.attr(res.block, attr).map(|e| self.eval(e, &scope)) {
                None | Some(Val::Null) => None,
                Some(v) => Some(v),
            }
        };
        match (ty, attr) {
            ("aws_kms_key" | "aws_kms_replica_key", "arn") => {
                // A Region not known before apply is a token that names no Region (so no
                // literal Region in a policy matches it), never the deploying Region; the
                // key's Region itself is unknown in the document. Not the policy engine's
                // unknown-value marker: that holds a `:`, and ARNs are split on `:`.
                let region = self.region_of(res.block).unwrap_or_else(|_| {
                    let of = if self.attr(res.block, "region").is_some() {
                        address.clone()
                    } else {
                        let p = self.provider_of(res.block);
                        p.key.unwrap_or_else(|| "aws".to_owned())
                    };
                    format!("unknown-region-of-{}", of.replace(':', "."))
                });
                // In the partition of its Region (GovCloud, China): `aws` for a Region not
                // known, whose token matches no literal Region anyway.
                let partition = crate::tfplan::partition_of(&region);
                Val::Str(format!("arn:{partition}:kms:{region}:{ACCOUNT}:key/{address}"))
            }
            ("aws_kms_key" | "aws_kms_replica_key", "key_id" | "id") => Val::Str(address),
            // `bucket`: "If omitted, Terraform will assign a random, unique name", and
            // `bucket_prefix` "Creates a unique bucket name beginning with the specified
            // prefix" (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/s3_bucket#bucket):
            // known only at apply.
            ("aws_s3_bucket", "id" | "bucket") => configured("bucket").unwrap_or_else(|| {
                unknown(format!(
                    "{address} has no bucket name: Terraform generates it at apply"
                ))
            }),
            ("aws_s3_bucket", "arn") => match self.resource_attr(ty, name, index, "bucket") {
                Val::Str(b) => match self.region_of(res.block) {
                    Ok(region) => Val::Str(format!(
                        "arn:{}:s3:::{b}",
                        crate::tfplan::partition_of(&region)
                    )),
                    Err(why) => unknown(format!(
                        "the ARN of {address} is known only at apply: its partition (Region) is not known: {why}"
                    )),
                },
                other => other,
            },
            // `name`: "If omitted, Terraform will assign a random, unique name"
            // (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/resources/kms_alias#name).
            ("aws_kms_alias", "name" | "id") => configured("name").unwrap_or_else(|| {
                unknown(format!(
                    "{address} has no name: Terraform generates it at apply"
                ))
            }),
            // The trail's ARN is in its Region (its provider configuration's).
            ("aws_cloudtrail", "arn") => match configured("name") {
                Some(Val::Str(n)) => match self.region_of(res.block) {
                    Ok(region) => Val::Str(format!(
                        "arn:{}:cloudtrail:{region}:{ACCOUNT}:trail/{n}",
                        crate::tfplan::partition_of(&region)
                    )),
                    Err(why) => unknown(format!(
                        "the ARN of {address} is known only at apply: its Region is not known: {why}"
                    )),
                },
                Some(other) => other,
                None => unknown(format!("{address}.arn is known only after apply")),
            },
            (_, attr) => match self.attr(res.block, attr) {
                Some(e) => self.eval(e, &scope),
                None => unknown(format!("{address}.{attr} is known only after apply")),
            },
        }
    }

    /// The instances `count` / `for_each` make of a resource or module call: the address
    /// suffix (`[0]`, `["a"]`, or empty) and the scope (`count.index`, `each.key/value`).
    /// Err(reason) when which instances exist cannot be known before apply: an unknown count,
    /// a for_each whose keys (a set's elements, or the map itself) are unknown. A map with known
    /// keys and unknown values has known instances (each.value unknown only): "The keys of the
    /// map (or all the values in the case of a set of strings) must be known values"
    /// (https://developer.hashicorp.com/terraform/language/meta-arguments/for_each).
    pub(super) fn instances(&self, block: &Block) -> Result<Vec<(String, Scope)>, String> {
        let scope = |count_index, each| Scope {
            count_index,
            each,
            bindings: Vec::new(),
        };
        let key = |k: &str| format!("[{}]", serde_json::to_string(k).unwrap_or_default());
        let text = |e: &Expression| e.to_string().trim().to_owned();
        if let Some(c) = self.attr(block, "count") {
            let v = self.eval(c, &Scope::default());
            if let Some(why) = v.unknown() {
                return Err(format!("count = {} is unknown: {why}", text(c)));
            }
            return match v.text().and_then(|t| t.parse::<usize>().ok()) {
                Some(n) => Ok((0..n)
                    .map(|i| (format!("[{i}]"), scope(Some(Val::Num(i.to_string())), None)))
                    .collect()),
                None => Err(format!("count = {} is not a whole number", text(c))),
            };
        }
        let Some(fe) = self.attr(block, "for_each") else {
            return Ok(vec![(String::new(), Scope::default())]);
        };
        match self.eval(fe, &Scope::default()) {
            Val::Map(m) => Ok(m
                .into_iter()
                .map(|(k, v)| (key(&k), scope(None, Some((Val::Str(k), v)))))
                .collect()),
            Val::List(l) => {
                let mut out: Vec<(String, Scope)> = Vec::new();
                for v in &l {
                    if let Some(why) = v.unknown() {
                        return Err(format!(
                            "for_each = {} has elements that are unknown: {why}",
                            text(fe)
                        ));
                    }
                    let Some(k) = v.text() else {
                        return Err(format!(
                            "for_each = {} is not a map or a set of strings",
                            text(fe)
                        ));
                    };
                    // A set: duplicates are one instance.
                    if !out.iter().any(|(x, _)| *x == key(&k)) {
                        out.push((
                            key(&k),
                            scope(None, Some((Val::Str(k.clone()), Val::Str(k)))),
                        ));
                    }
                }
                Ok(out)
            }
            Val::Unknown(why) => Err(format!("for_each = {} is unknown: {why}", text(fe))),
            _ => Err(format!(
                "for_each = {} is not a map or a set of strings",
                text(fe)
            )),
        }
    }

    pub(super) fn data_attr(&self, ty: &str, name: &str, attr: &str) -> Val {
        match (ty, attr) {
            ("aws_caller_identity", "account_id") => Val::Str(ACCOUNT.into()),
            // The Region of the data source's provider configuration (or its own `region`).
            ("aws_region", "name" | "region" | "id") => {
                match self.data.iter().find(|d| d.ty == ty && d.name == name) {
                    Some(d) => match self.region_of(d.block) {
                        Ok(r) => Val::Str(r),
                        Err(why) => unknown(format!("data.{ty}.{name}.{attr}: {why}")),
                    },
                    None => Val::Str(REGION.into()),
                }
            }
            // The partition of the data source's provider Region (a guess of `aws` would put a
            // GovCloud or China configuration's ARNs in the wrong partition).
            ("aws_partition", "partition" | "id" | "dns_suffix") => {
                let region = match self.data.iter().find(|d| d.ty == ty && d.name == name) {
                    Some(d) => self.region_of(d.block),
                    None => Ok(REGION.to_owned()),
                };
                match region {
                    Ok(r) => {
                        let partition = crate::tfplan::partition_of(&r);
                        Val::Str(if attr == "dns_suffix" {
                            match partition {
                                "aws-cn" => "amazonaws.com.cn",
                                "aws-eusc" => "amazonaws.eu",
                                _ => "amazonaws.com",
                            }
                            .to_owned()
                        } else {
                            partition.to_owned()
                        })
                    }
                    Err(why) => unknown(format!("data.{ty}.{name}.{attr}: {why}")),
                }
            }
            ("aws_iam_policy_document", "json" | "minified_json") => {
                match self.data.iter().find(|d| d.ty == ty && d.name == name) {
                    Some(d) => self.policy_document(d.block),
                    None => unknown(format!("data.{ty}.{name} is not defined")),
                }
            }
            _ => unknown(format!("data.{ty}.{name}.{attr} is read at plan time")),
        }
    }
}

/// The arguments trailseal reads, per mapped type: when the instances of a resource are not
/// known, each of them is unknown (with the reason) in the document, whether configured or
/// not, so that no default applies.
pub(super) const READS: &[(&str, &[&str])] = &[
    (
        "aws_cloudtrail",
        &[
            "name",
            "kms_key_id",
            "s3_bucket_name",
            "s3_key_prefix",
            "is_organization_trail",
            "is_multi_region_trail",
            "enable_log_file_validation",
            "enable_logging",
            "region",
        ],
    ),
    (
        "aws_kms_key",
        &[
            "is_enabled",
            "customer_master_key_spec",
            "key_usage",
            "multi_region",
            "enable_key_rotation",
            "policy",
            "region",
        ],
    ),
    ("aws_kms_alias", &["name", "target_key_id", "region"]),
    (
        "aws_kms_replica_key",
        &["primary_key_arn", "enabled", "policy", "region"],
    ),
    ("aws_s3_bucket", &["bucket", "policy", "region"]),
    ("aws_s3_bucket_policy", &["bucket", "policy", "region"]),
    (
        "aws_s3_bucket_server_side_encryption_configuration",
        &["bucket", "rule", "region"],
    ),
    (
        "aws_cloudtrail_event_data_store",
        &["name", "kms_key_id", "region"],
    ),
    (
        "aws_kms_key_policy",
        &["key_id", "policy", "bypass_policy_lockout_safety_check"],
    ),
];

/// Resource types whose nested blocks are read, and which block types (their attributes are
/// evaluated, their own nested blocks too; nothing else of the resource's blocks is read).
const NESTED: &[(&str, &[&str])] = &[
    (
        "aws_s3_bucket_server_side_encryption_configuration",
        &["rule"],
    ),
    ("aws_s3_bucket", &["server_side_encryption_configuration"]),
];

/// The nested blocks of `body` as JSON: block type -> list of objects (attributes and nested
/// blocks), only the blocks of type `only` when given. `Err(why)` when one of them cannot be
/// known before apply (a dynamic block, an attribute known only after apply).
fn nested_blocks(
    module: &Module,
    body: &hcl_edit::structure::Body,
    scope: &Scope,
    only: Option<&str>,
) -> Result<serde_json::Map<String, Value>, String> {
    let mut out = serde_json::Map::new();
    for b in body.blocks() {
        let ident = b.ident.as_str();
        if matches!(
            ident,
            "lifecycle" | "provisioner" | "connection" | "timeouts"
        ) {
            continue;
        }
        let named = match ident {
            "dynamic" => b.labels.first().map(|l| l.as_str()).unwrap_or_default(),
            other => other,
        };
        if only.is_some_and(|o| o != named) {
            continue;
        }
        if ident == "dynamic" {
            return Err(format!(
                "the {named} blocks are dynamic: known only after evaluation at plan time"
            ));
        }
        let mut object = serde_json::Map::new();
        for a in b.body.attributes() {
            let v = module.eval(&a.value, scope);
            // An attribute known only after apply stays unknown alone (a marker the mapper
            // does not take for a value); the block's other attributes are still read.
            let json = match v.unknown() {
                Some(why) => Value::String(format!("(known only after apply: {why})")),
                None => v.to_json(),
            };
            object.insert(a.key.as_str().to_owned(), json);
        }
        for (k, v) in nested_blocks(module, &b.body, scope, None)? {
            object.insert(k, v);
        }
        if let Value::Array(list) = out
            .entry(ident.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            list.push(Value::Object(object));
        }
    }
    Ok(out)
}

/// The references of an expression, as `terraform show -json` lists them in the
/// configuration (`aws_kms_key.k.arn`, `aws_kms_key.k`, `var.x`, `module.m.out`, `module.m`),
/// with the module's address prefix (the document is flat: `module.m.aws_kms_key.k`). Every
/// reference of the expression is listed, in the order written: both branches of a
/// conditional, every argument of try(), so a consumer sees every candidate.
pub(super) fn references(expr: &Expression, prefix: &str) -> Vec<String> {
    /// The references found so far (prefixed), and the traversal being read: its text and
    /// where each of its parts ends.
    struct Refs<'p> {
        prefix: &'p str,
        found: Vec<String>,
        text: String,
        ends: Vec<usize>,
    }
    impl hcl_edit::visit::Visit for Refs<'_> {
        fn visit_traversal(&mut self, node: &hcl_edit::expr::Traversal) {
            use std::fmt::Write;
            if let Expression::Variable(root) = &node.expr {
                let root = root.as_str();
                let (text, ends) = (&mut self.text, &mut self.ends);
                text.clear();
                ends.clear();
                text.push_str(root);
                ends.push(text.len());
                for op in &node.operators {
                    match &**op {
                        TraversalOperator::GetAttr(i) => {
                            text.push('.');
                            text.push_str(i.as_str());
                        }
                        TraversalOperator::Index(Expression::Number(n)) => {
                            let _ = write!(text, "[{}]", n.as_ref());
                        }
                        TraversalOperator::Index(Expression::String(s)) => {
                            text.push('[');
                            text.push_str(&serde_json::to_string(s.as_str()).unwrap_or_default());
                            text.push(']');
                        }
                        TraversalOperator::LegacyIndex(i) => {
                            let _ = write!(text, "[{}]", **i);
                        }
                        _ => break,
                    }
                    ends.push(text.len());
                }
                // How many parts name the object: `data.T.N`, `T.N`, `module.M`, `var.X`.
                let object = match root {
                    "data" => 3,
                    "var" | "local" | "module" | "each" | "count" => 2,
                    r if r.contains('_') => 2,
                    _ => usize::MAX,
                };
                // `each.` and `count.` references are the instance's own: no module prefix
                // (a reference whose first dot-separated name is `each` or `count`).
                let own = matches!(root, "each" | "count")
                    && text.as_bytes().get(root.len()) == Some(&b'.');
                let prefix = if own { "" } else { self.prefix };
                if ends.len() >= object {
                    // The longest form first, then shorter ones down to the object.
                    for n in (object..=ends.len()).rev() {
                        let r = &text[..ends[n - 1]];
                        let seen = self.found.iter().any(|f| {
                            f.len() == prefix.len() + r.len()
                                && f.starts_with(prefix)
                                && f.ends_with(r)
                        });
                        if !seen {
                            self.found.push([prefix, r].concat());
                        }
                    }
                }
            }
            hcl_edit::visit::visit_traversal(self, node);
        }
    }
    let mut refs = Refs {
        prefix,
        found: Vec::new(),
        text: String::new(),
        ends: Vec::new(),
    };
    hcl_edit::visit::Visit::visit_expr(&mut refs, expr);
    refs.found
}

/// The instances of the mapped resources of `module`, in `result`, with
/// their inline suppressions.
pub(super) fn emit<'a>(
    module: &Module<'a>,
    parsed: &'a [File],
    prefix: &str,
    result: &mut Evaluated,
    problems: &mut Vec<(String, Problem)>,
) {
    for r in module
        .resources
        .iter()
        .filter(|r| TYPES.contains(&r.ty.as_str()))
    {
        let base = format!("{prefix}{}.{}", r.ty, r.name);
        if parsed[r.file].json.is_none() {
            let span = r.span.clone();
            for skip in inline_skips(&parsed[r.file].text, span) {
                match skip {
                    Ok((code, reason)) => result.skips.push((base.clone(), code, reason)),
                    Err((line, message)) => problems.push((
                        parsed[r.file].name.clone(),
                        Problem {
                            address: Some(base.clone()),
                            line,
                            column: 1,
                            message: format!("{base}: {message}"),
                            unreadable: false,
                        },
                    )),
                }
            }
        }
        // Which instances exist: known, or not before apply (one `[*]` instance then, every
        // attribute trailseal reads unknown with the reason, so checks are indeterminate and
        // never missing).
        let instances: Vec<(String, Scope, Option<String>)> = match module.instances(r.block) {
            Ok(instances) => instances
                .into_iter()
                .map(|(index, scope)| {
                    (
                        format!("{base}{index}"),
                        scope,
                        module.instances_unknown.clone(),
                    )
                })
                .collect(),
            Err(why) => vec![(
                format!("{base}[*]"),
                Scope::default(),
                Some(format!(
                    "the instances of {base} are not known before apply: {why}"
                )),
            )],
        };
        // The arguments it sets, with their references (a nested block counts as set).
        let mut config: BTreeMap<String, Vec<String>> = r
            .block
            .body
            .attributes()
            .map(|a| (a.key.as_str().to_owned(), references(&a.value, prefix)))
            .collect();
        for b in r.block.body.blocks() {
            let key = match b.ident.as_str() {
                "dynamic" => b.labels.first().map(|l| l.as_str().to_owned()),
                other => Some(other.to_owned()),
            };
            if let Some(key) = key {
                config.entry(key).or_default();
            }
        }
        // The provider configuration it uses, whose Region applies (see [`super::providers`]).
        let provider = module.provider_of(r.block);
        if let Some(key) = &provider.key {
            result.provider_config.push((
                key.clone(),
                super::providers::config_entry(&provider.region),
            ));
        }
        let mut config = Some(config);
        let last = instances.len().saturating_sub(1);
        for (i, (address, scope, instances_unknown)) in instances.into_iter().enumerate() {
            let mut values = serde_json::Map::new();
            let mut unknown = BTreeMap::new();
            if let Some(why) = &instances_unknown {
                let read = READS
                    .iter()
                    .find(|(ty, _)| *ty == r.ty)
                    .map_or(&[][..], |(_, attrs)| *attrs);
                let configured = r.block.body.attributes().map(|a| a.key.as_str());
                for key in read.iter().copied().chain(configured) {
                    if key != "count" && key != "for_each" {
                        unknown.insert(key.to_owned(), Some(why.clone()));
                    }
                }
            }
            for a in r.block.body.attributes() {
                let key = a.key.as_str();
                if key == "count" || key == "for_each" || instances_unknown.is_some() {
                    continue;
                }
                match module.eval(&a.value, &scope) {
                    // A list or map with an unknown part is unknown as a whole here: the
                    // mapper reads whole arguments.
                    v if v.unknown().is_some() => {
                        unknown.insert(key.to_owned(), v.unknown().map(str::to_owned));
                    }
                    v => {
                        values.insert(key.to_owned(), v.to_json());
                    }
                }
            }
            // Nested blocks the mapper reads (encryption rules), as `terraform show -json` lists
            // them: a list of objects per block type. A dynamic block makes its type unknown.
            let read_blocks = NESTED
                .iter()
                .find(|(ty, _)| *ty == r.ty)
                .map_or(&[][..], |(_, blocks)| *blocks);
            for key in read_blocks.iter().filter(|_| instances_unknown.is_none()) {
                match nested_blocks(module, &r.block.body, &scope, Some(key)) {
                    Ok(blocks) => {
                        for (key, v) in blocks {
                            values.insert(key, v);
                        }
                    }
                    Err(why) => {
                        unknown.insert((*key).to_owned(), Some(why));
                    }
                }
            }
            // Computed identity attributes, symbolic like the references to them.
            let index = address.strip_prefix(&base).unwrap_or_default().to_owned();
            for attr in ["arn", "key_id"] {
                if !values.contains_key(attr) {
                    if let Val::Str(v) = module.resource_attr(&r.ty, &r.name, &index, attr) {
                        values.insert(attr.to_owned(), Value::String(v));
                    }
                }
            }
            let (line, column) = match &parsed[r.file].json {
                Some(json) => json_position(json, &r.ty, &r.name),
                None => line_col(&parsed[r.file].text, r.span.start),
            };
            result
                .positions
                .insert(address.clone(), (parsed[r.file].name.clone(), line, column));
            result.resources.push(Res {
                address,
                module: String::new(),
                ty: r.ty.clone(),
                values,
                unknown,
                // Moved into the last instance, cloned for the others.
                config: if i == last {
                    config.take()
                } else {
                    config.clone()
                },
                provider: provider.key.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`references`] as it was before it built each traversal's text once (a `String` per
    /// part, joined per form, the module prefix added at the end): the oracle.
    fn references_before(expr: &Expression, prefix: &str) -> Vec<String> {
        struct Refs(Vec<String>);
        impl hcl_edit::visit::Visit for Refs {
            fn visit_traversal(&mut self, node: &hcl_edit::expr::Traversal) {
                if let Expression::Variable(root) = &node.expr {
                    let root = root.as_str();
                    let mut parts = vec![root.to_owned()];
                    for op in &node.operators {
                        match &**op {
                            TraversalOperator::GetAttr(i) => parts.push(format!(".{}", i.as_str())),
                            TraversalOperator::Index(Expression::Number(n)) => {
                                parts.push(format!("[{}]", n.as_ref()))
                            }
                            TraversalOperator::Index(Expression::String(s)) => parts.push(format!(
                                "[{}]",
                                serde_json::to_string(s.as_str()).unwrap_or_default()
                            )),
                            TraversalOperator::LegacyIndex(i) => parts.push(format!("[{}]", **i)),
                            _ => break,
                        }
                    }
                    // How many parts name the object: `data.T.N`, `T.N`, `module.M`, `var.X`.
                    let object = match root {
                        "data" => 3,
                        "var" | "local" | "module" | "each" | "count" => 2,
                        r if r.contains('_') => 2,
                        _ => usize::MAX,
                    };
                    if parts.len() >= object {
                        // The longest form first, then shorter ones down to the object.
                        for n in (object..=parts.len()).rev() {
                            let r = parts[..n].concat();
                            if !self.0.contains(&r) {
                                self.0.push(r);
                            }
                        }
                    }
                }
                hcl_edit::visit::visit_traversal(self, node);
            }
        }
        let mut refs = Refs(Vec::new());
        hcl_edit::visit::Visit::visit_expr(&mut refs, expr);
        refs.0
            .into_iter()
            .map(|r| match r.split('.').next() {
                Some("each" | "count") => r,
                _ => format!("{prefix}{r}"),
            })
            .collect()
    }

    fn both(text: &str, prefix: &str) -> (Vec<String>, Vec<String>) {
        let expr: Expression = text.parse().expect("an HCL expression");
        (references(&expr, prefix), references_before(&expr, prefix))
    }

    #[test]
    fn references_are_listed_as_terraform_lists_them() {
        let (ours, _) = both(
            r#"var.on ? aws_kms_key.k[0].arn : data.aws_kms_key.d.arn"#,
            "module.m.",
        );
        assert_eq!(
            ours,
            [
                "module.m.var.on",
                "module.m.aws_kms_key.k[0].arn",
                "module.m.aws_kms_key.k[0]",
                "module.m.aws_kms_key.k",
                "module.m.data.aws_kms_key.d.arn",
                "module.m.data.aws_kms_key.d",
            ]
        );
        // The instance's own values carry no module prefix.
        let (ours, _) = both(r#"each.value.arn"#, "module.m.");
        assert_eq!(ours, ["each.value.arn", "each.value"]);
    }

    proptest! {
        /// Whatever the expression: the same references, in the same order, as before.
        #[test]
        fn references_are_what_they_were(
            parts in prop::collection::vec(prop_oneof![
                Just("var.a"), Just("var.a.b"), Just("local.x"), Just("each.value"),
                Just("each.key"), Just("count.index"), Just("each[\"k\"]"), Just("count[0]"),
                Just("module.m.out"), Just("module.m"), Just("data.aws_iam_policy_document.p.json"),
                Just("data.x"), Just("aws_kms_key.k.arn"), Just("aws_kms_key.k[0].arn"),
                Just("aws_kms_key.k[\"a\"].arn"), Just("aws_kms_key.k.0.arn"),
                Just("aws_kms_key.k[var.i].arn"), Just("aws_kms_key.k[*].arn"), Just("path.module"),
                Just("self.arn"), Just("\"lit\""), Just("[var.a, local.x]"),
                Just("{ k = aws_s3_bucket.b.id }"), Just("try(var.k, aws_kms_key.k.arn)"),
                Just("\"${aws_kms_key.k.arn}/x\""),
            ], 1..5),
            prefix in prop_oneof![Just(""), Just("module.m."), Just("module.a.module.b.")],
        ) {
            let text = format!("[{}]", parts.join(", "));
            let (ours, before) = both(&text, prefix);
            prop_assert_eq!(ours, before);
        }
    }
}

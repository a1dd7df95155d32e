//! Terraform HCL (`.tf`) into evidence, without running Terraform.
//!
//! A module directory is evaluated with three-valued values (known / unknown with the reason /
//! null): `variable` defaults, `terraform.tfvars`, `*.auto.tfvars` and `--var NAME=VALUE`;
//! `locals`; conditionals; string templates and heredocs; the common functions;
//! `data.aws_caller_identity` / `aws_region` / `aws_partition` as the symbolic deploying
//! account, Region and partition; `data.aws_iam_policy_document` rendered to policy JSON;
//! `count` and `for_each` expanded to instance addresses. Computed attributes of the resources
//! trailseal reads (`aws_kms_key.k.arn`, `.key_id`, `.id`, bucket `.id`/`.bucket`, alias `.name`)
//! are symbolic values that identify the resource, so a trail's `kms_key_id` leads to its key.
//! The result is shaped like `terraform show -json` output and mapped by [`crate::tfplan`].
//! Module calls are not evaluated yet (reported as a problem).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};
use hcl_edit::structure::{Block, BlockLabel, Body};
use hcl_edit::template::{Directive, Element, Template};
use hcl_edit::Span;
use serde_json::{json, Value};

use crate::cfn::eval::{Val, ACCOUNT, REGION};
use crate::{IacScan, Problem};

/// Resource types whose instances trailseal maps (others are only evaluated on demand).
const TYPES: &[&str] = &[
    "aws_cloudtrail",
    "aws_kms_key",
    "aws_kms_alias",
    "aws_kms_replica_key",
    "aws_s3_bucket",
    "aws_cloudtrail_event_data_store",
];

struct File {
    name: String,
    /// The HCL text (for `.tf.json`, generated from the JSON).
    text: String,
    body: Body,
    /// `.tf.json`: the original JSON text, where resource positions are looked up.
    json: Option<String>,
}

struct Res<'a> {
    ty: String,
    name: String,
    block: &'a Block,
    file: usize,
}

struct Module<'a> {
    vars: HashMap<String, Val>,
    locals: HashMap<String, &'a Expression>,
    local_cache: RefCell<HashMap<String, Val>>,
    local_stack: RefCell<HashSet<String>>,
    resources: Vec<Res<'a>>,
    data: Vec<Res<'a>>,
    dir: PathBuf,
    /// `module.m.` for a child module: resource addresses (and the symbolic ARNs built from
    /// them) are unique across modules.
    prefix: String,
    /// Outputs of the child modules evaluated so far, by call (`kms`, `trail[0]`).
    module_outputs: RefCell<HashMap<String, HashMap<String, Val>>>,
    /// `provider "aws"` blocks (the default one and aliases).
    providers: Vec<&'a Block>,
}

#[derive(Clone, Default)]
struct Scope {
    count_index: Option<Val>,
    each: Option<(Val, Val)>,
    /// Variables bound by `for` expressions, innermost last.
    bindings: Vec<(String, Val)>,
}

impl Scope {
    fn binding(&self, name: &str) -> Option<&Val> {
        self.bindings
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

fn unknown(why: impl Into<String>) -> Val {
    Val::Unknown(why.into())
}

fn label(l: &BlockLabel) -> String {
    match l {
        BlockLabel::Ident(i) => i.as_str().to_owned(),
        BlockLabel::String(s) => s.as_str().to_owned(),
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
}

/// Parses `name = value` lines of a tfvars file into values (HCL attributes).
fn tfvars(text: &str, module: &Module<'_>) -> Result<Vec<(String, Val)>, String> {
    let body = hcl_edit::parser::parse_body(text).map_err(|e| e.to_string())?;
    Ok(body
        .attributes()
        .map(|a| {
            (
                a.key.as_str().to_owned(),
                module.eval(&a.value, &Scope::default()),
            )
        })
        .collect())
}

impl<'a> Module<'a> {
    fn attr(&self, block: &'a Block, name: &str) -> Option<&'a Expression> {
        block
            .body
            .attributes()
            .find(|a| a.key.as_str() == name)
            .map(|a| &a.value)
    }

    fn local(&self, name: &str) -> Val {
        if let Some(v) = self.local_cache.borrow().get(name) {
            return v.clone();
        }
        let Some(expr) = self.locals.get(name) else {
            return unknown(format!("local.{name} is not defined"));
        };
        if !self.local_stack.borrow_mut().insert(name.to_owned()) {
            return unknown(format!("local.{name} refers to itself"));
        }
        let v = self.eval(expr, &Scope::default());
        self.local_stack.borrow_mut().remove(name);
        self.local_cache
            .borrow_mut()
            .insert(name.to_owned(), v.clone());
        v
    }

    /// A symbolic value for a resource attribute: identifies the resource where Terraform
    /// would compute it; configured attributes are evaluated.
    fn resource_attr(&self, ty: &str, name: &str, index: &str, attr: &str) -> Val {
        let address = format!("{}{ty}.{name}{index}", self.prefix);
        let Some(res) = self.resources.iter().find(|r| r.ty == ty && r.name == name) else {
            return unknown(format!("{ty}.{name} is not defined in this module"));
        };
        match (ty, attr) {
            ("aws_kms_key" | "aws_kms_replica_key", "arn") => Val::Str(format!(
                "arn:aws:kms:{}:{ACCOUNT}:key/{address}",
                self.region_of(res.block)
            )),
            ("aws_kms_key" | "aws_kms_replica_key", "key_id" | "id") => Val::Str(address),
            ("aws_s3_bucket", "id" | "bucket") => match self.attr(res.block, "bucket") {
                Some(e) => self.eval(e, &Scope::default()),
                None => Val::Str(address),
            },
            ("aws_s3_bucket", "arn") => match self.resource_attr(ty, name, index, "bucket") {
                Val::Str(b) => Val::Str(format!("arn:aws:s3:::{b}")),
                other => other,
            },
            ("aws_kms_alias", "name" | "id") => match self.attr(res.block, "name") {
                Some(e) => self.eval(e, &Scope::default()),
                None => unknown(format!("{address}.name")),
            },
            ("aws_cloudtrail", "arn") => match self.attr(res.block, "name") {
                Some(e) => match self.eval(e, &Scope::default()) {
                    Val::Str(n) => {
                        Val::Str(format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/{n}"))
                    }
                    other => other,
                },
                None => unknown(format!("{address}.arn")),
            },
            (_, attr) => match self.attr(res.block, attr) {
                Some(e) => self.eval(e, &Scope::default()),
                None => unknown(format!("{address}.{attr} is known only after apply")),
            },
        }
    }

    /// `provider = aws.west` on a resource: ("aws", "west").
    fn provider_alias(&self, block: &Block) -> Option<(String, String)> {
        let Some(Expression::Traversal(t)) = self.attr(block, "provider") else {
            return None;
        };
        match (&t.expr, t.operators.as_slice()) {
            (Expression::Variable(v), [op]) => match &**op {
                TraversalOperator::GetAttr(alias) => {
                    Some((v.as_str().to_owned(), alias.as_str().to_owned()))
                }
                _ => None,
            },
            _ => None,
        }
    }

    /// The instances `count` / `for_each` make of a resource or module call: the address
    /// suffix (`[0]`, `["a"]`, or empty) and the scope (`count.index`, `each.key/value`). An
    /// unknown count or for_each gives one instance whose index is unknown.
    fn instances(&self, block: &Block) -> Vec<(String, Scope)> {
        let scope = |count_index, each| Scope {
            count_index,
            each,
            bindings: Vec::new(),
        };
        let key = |k: &str| format!("[{}]", serde_json::to_string(k).unwrap_or_default());
        if let Some(c) = self.attr(block, "count") {
            return match self
                .eval(c, &Scope::default())
                .text()
                .and_then(|t| t.parse::<usize>().ok())
            {
                Some(n) => (0..n)
                    .map(|i| (format!("[{i}]"), scope(Some(Val::Num(i.to_string())), None)))
                    .collect(),
                None => vec![(
                    "[0]".to_owned(),
                    scope(Some(unknown("count is unknown")), None),
                )],
            };
        }
        let Some(fe) = self.attr(block, "for_each") else {
            return vec![(String::new(), Scope::default())];
        };
        match self.eval(fe, &Scope::default()) {
            Val::Map(m) => m
                .into_iter()
                .map(|(k, v)| (key(&k), scope(None, Some((Val::Str(k), v)))))
                .collect(),
            Val::List(l) => l
                .into_iter()
                .filter_map(|v| v.text())
                .map(|k| {
                    (
                        key(&k),
                        scope(None, Some((Val::Str(k.clone()), Val::Str(k)))),
                    )
                })
                .collect(),
            _ => vec![(
                String::new(),
                scope(
                    None,
                    Some((
                        unknown("for_each is unknown"),
                        unknown("for_each is unknown"),
                    )),
                ),
            )],
        }
    }

    /// A resource's Region when it sets one: its `region` argument (AWS provider 6) or the
    /// Region of its aliased provider (`provider = aws.west`); else the deploying Region.
    fn region_of(&self, block: &Block) -> String {
        if let Some(r) = self
            .attr(block, "region")
            .and_then(|e| self.eval(e, &Scope::default()).text())
        {
            return r;
        }
        self.provider_alias(block)
            .and_then(|(_, alias)| {
                self.providers.iter().find_map(|p| {
                    let a = self
                        .attr(p, "alias")
                        .and_then(|e| self.eval(e, &Scope::default()).text())?;
                    (a == alias).then(|| {
                        self.attr(p, "region")
                            .and_then(|e| self.eval(e, &Scope::default()).text())
                    })?
                })
            })
            .unwrap_or_else(|| REGION.to_owned())
    }

    fn data_attr(&self, ty: &str, name: &str, attr: &str) -> Val {
        match (ty, attr) {
            ("aws_caller_identity", "account_id") => Val::Str(ACCOUNT.into()),
            ("aws_region", "name" | "region" | "id") => Val::Str(REGION.into()),
            ("aws_partition", "partition" | "id") => Val::Str("aws".into()),
            ("aws_partition", "dns_suffix") => Val::Str("amazonaws.com".into()),
            ("aws_iam_policy_document", "json" | "minified_json") => {
                match self.data.iter().find(|d| d.ty == ty && d.name == name) {
                    Some(d) => self.policy_document(d.block),
                    None => unknown(format!("data.{ty}.{name} is not defined")),
                }
            }
            _ => unknown(format!("data.{ty}.{name}.{attr} is read at plan time")),
        }
    }

    /// Renders `data "aws_iam_policy_document"` to policy JSON.
    fn policy_document(&self, block: &'a Block) -> Val {
        let s = Scope::default();
        let mut statements = Vec::new();
        for st in block
            .body
            .blocks()
            .filter(|b| b.ident.as_str() == "statement")
        {
            let mut out = serde_json::Map::new();
            let get = |name: &str| self.attr(st, name).map(|e| self.eval(e, &s));
            if let Some(v) = get("sid") {
                out.insert("Sid".into(), v.to_json());
            }
            out.insert(
                "Effect".into(),
                get("effect").map_or(json!("Allow"), |v| v.to_json()),
            );
            for (attr, key) in [
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ] {
                if let Some(v) = get(attr) {
                    if let Some(why) = v.unknown() {
                        return unknown(why.to_owned());
                    }
                    out.insert(key.into(), v.to_json());
                }
            }
            for (blk, key) in [
                ("principals", "Principal"),
                ("not_principals", "NotPrincipal"),
            ] {
                let mut principals = serde_json::Map::new();
                for p in st.body.blocks().filter(|b| b.ident.as_str() == blk) {
                    let ty = self.attr(p, "type").map(|e| self.eval(e, &s));
                    let ids = self.attr(p, "identifiers").map(|e| self.eval(e, &s));
                    match (ty, ids) {
                        (Some(Val::Str(t)), Some(ids)) if ids.unknown().is_none() => {
                            let entry = principals.entry(t).or_insert_with(|| json!([]));
                            if let (Some(list), Value::Array(new)) =
                                (entry.as_array_mut(), ids.to_json())
                            {
                                list.extend(new);
                            }
                        }
                        _ => {
                            return unknown(
                                "a principals block of the policy document is not static",
                            )
                        }
                    }
                }
                if !principals.is_empty() {
                    out.insert(key.into(), Value::Object(principals));
                }
            }
            let mut conditions = serde_json::Map::new();
            for c in st.body.blocks().filter(|b| b.ident.as_str() == "condition") {
                let test = self.attr(c, "test").map(|e| self.eval(e, &s));
                let var = self.attr(c, "variable").map(|e| self.eval(e, &s));
                let values = self.attr(c, "values").map(|e| self.eval(e, &s));
                match (test, var, values) {
                    (Some(Val::Str(t)), Some(Val::Str(k)), Some(v)) if v.unknown().is_none() => {
                        let op = conditions.entry(t).or_insert_with(|| json!({}));
                        if let Some(op) = op.as_object_mut() {
                            op.insert(k, v.to_json());
                        }
                    }
                    _ => return unknown("a condition block of the policy document is not static"),
                }
            }
            if !conditions.is_empty() {
                out.insert("Condition".into(), Value::Object(conditions));
            }
            statements.push(Value::Object(out));
        }
        Val::Str(json!({"Version": "2012-10-17", "Statement": statements}).to_string())
    }

    fn template(&self, t: &Template, s: &Scope) -> Val {
        // "${x}" alone is x itself, whatever its type (Terraform's rule).
        let elements: Vec<&Element> = t.iter().collect();
        if let [Element::Interpolation(i)] = elements.as_slice() {
            return self.eval(&i.expr, s);
        }
        let mut out = String::new();
        match self.render(t, s, &mut out, false) {
            Ok(()) => Val::Str(out),
            Err(unknown) => unknown,
        }
    }

    /// Appends a template's text to `out`: literals, interpolations, `%{if}` and `%{for}`
    /// directives, with the `~` whitespace strip markers. `trim` strips the leading
    /// whitespace of the first literal (a `~}` just before). Err: the value is not known.
    fn render(&self, t: &Template, s: &Scope, out: &mut String, mut trim: bool) -> Result<(), Val> {
        let trim_end = |out: &mut String| out.truncate(out.trim_end().len());
        for el in t.iter() {
            match el {
                Element::Literal(l) => {
                    let text: &str = l;
                    out.push_str(if trim { text.trim_start() } else { text });
                    trim = false;
                    continue;
                }
                Element::Interpolation(i) => {
                    if i.strip.strip_start() {
                        trim_end(out);
                    }
                    match self.eval(&i.expr, s) {
                        Val::Unknown(why) => return Err(Val::Unknown(why)),
                        v => match v.text() {
                            Some(t) => out.push_str(&t),
                            None => {
                                return Err(unknown("a template interpolates a non-string value"))
                            }
                        },
                    }
                    trim = i.strip.strip_end();
                }
                Element::Directive(dir) => match dir.as_ref() {
                    Directive::If(d) => {
                        if d.if_expr.strip.strip_start() {
                            trim_end(out);
                        }
                        let (branch, trim_start, trim_before_end) =
                            match self.eval(&d.if_expr.cond_expr, s).truth() {
                                Some(true) => (
                                    Some(&d.if_expr.template),
                                    d.if_expr.strip.strip_end(),
                                    d.else_expr
                                        .as_ref()
                                        .map_or(d.endif_expr.strip.strip_start(), |e| {
                                            e.strip.strip_start()
                                        }),
                                ),
                                Some(false) => (
                                    d.else_expr.as_ref().map(|e| &e.template),
                                    d.else_expr.as_ref().is_some_and(|e| e.strip.strip_end()),
                                    d.endif_expr.strip.strip_start(),
                                ),
                                None => {
                                    return Err(match self.eval(&d.if_expr.cond_expr, s) {
                                        Val::Unknown(why) => Val::Unknown(why),
                                        _ => unknown(
                                            "a template %{if} condition that is not a boolean",
                                        ),
                                    })
                                }
                            };
                        if let Some(branch) = branch {
                            let mut inner = String::new();
                            self.render(branch, s, &mut inner, trim_start)?;
                            if trim_before_end {
                                trim_end(&mut inner);
                            }
                            out.push_str(&inner);
                        }
                        trim = d.endif_expr.strip.strip_end();
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        if f.strip.strip_start() {
                            trim_end(out);
                        }
                        let items = for_items(
                            self.eval(&f.collection_expr, s),
                            "a template %{for} over a value that is not a collection",
                        )?;
                        for (key, value) in items {
                            let mut inner_scope = s.clone();
                            if let Some(k) = &f.key_var {
                                inner_scope.bindings.push((k.as_str().to_owned(), key));
                            }
                            inner_scope
                                .bindings
                                .push((f.value_var.as_str().to_owned(), value));
                            let mut inner = String::new();
                            self.render(
                                &f.template,
                                &inner_scope,
                                &mut inner,
                                f.strip.strip_end(),
                            )?;
                            if d.endfor_expr.strip.strip_start() {
                                trim_end(&mut inner);
                            }
                            out.push_str(&inner);
                        }
                        trim = d.endfor_expr.strip.strip_end();
                    }
                },
            }
        }
        Ok(())
    }

    /// A path given to file() / templatefile(): built from `path.module` (which evaluates to
    /// the module's directory) it is used as is; otherwise it is relative to the module.
    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() || path.starts_with(&self.dir) {
            path.to_owned()
        } else {
            self.dir.join(path)
        }
    }

    /// `templatefile(path, vars)`: the file is a template (interpolations, directives) whose
    /// only variables are `vars`.
    fn template_file(&self, path: &str, text: &str, vars: &[(String, Val)]) -> Val {
        let template = match hcl_edit::parser::parse_template(text) {
            Ok(t) => t,
            Err(e) => {
                return unknown(format!(
                    "templatefile({path}): cannot parse: {}",
                    e.message()
                ))
            }
        };
        let scope = Scope {
            count_index: None,
            each: None,
            bindings: vars.to_vec(),
        };
        let mut out = String::new();
        match self.render(&template, &scope, &mut out, false) {
            Ok(()) => Val::Str(out),
            Err(unknown) => unknown,
        }
    }

    fn traversal(&self, base: &Expression, ops: &[&TraversalOperator], s: &Scope) -> Val {
        let name = |op: &TraversalOperator| match op {
            TraversalOperator::GetAttr(i) => Some(i.as_str().to_owned()),
            _ => None,
        };
        let index = |op: &TraversalOperator| -> Option<String> {
            match op {
                TraversalOperator::Index(e) => match self.eval(e, s) {
                    Val::Str(k) => Some(format!(
                        "[{}]",
                        serde_json::to_string(&k).unwrap_or_default()
                    )),
                    Val::Num(n) => Some(format!("[{n}]")),
                    _ => None,
                },
                TraversalOperator::LegacyIndex(i) => Some(format!("[{}]", **i)),
                _ => None,
            }
        };
        if let Expression::Variable(root) = base {
            if let Some(bound) = s.binding(root.as_str()) {
                return self.apply_ops(bound.clone(), ops, s);
            }
            let root = root.as_str();
            let (value, rest): (Val, &[&TraversalOperator]) = match root {
                "var" => match ops.first().and_then(|o| name(o)) {
                    Some(v) => (
                        self.vars.get(&v).cloned().unwrap_or_else(|| {
                            unknown(format!("var.{v} has no value: pass --var {v}=VALUE or a tfvars file, or scan the plan"))
                        }),
                        &ops[1..],
                    ),
                    None => return unknown("var needs a name"),
                },
                "local" => match ops.first().and_then(|o| name(o)) {
                    Some(l) => (self.local(&l), &ops[1..]),
                    None => return unknown("local needs a name"),
                },
                "count" => (s.count_index.clone().unwrap_or_else(|| unknown("count.index outside count")), &ops[1..]),
                "each" => match (ops.first().and_then(|o| name(o)).as_deref(), &s.each) {
                    (Some("key"), Some((k, _))) => (k.clone(), &ops[1..]),
                    (Some("value"), Some((_, v))) => (v.clone(), &ops[1..]),
                    _ => return unknown("each outside for_each"),
                },
                "path" => match ops.first().and_then(|o| name(o)).as_deref() {
                    Some("module" | "root" | "cwd") => (Val::Str(self.dir.display().to_string()), &ops[1..]),
                    _ => return unknown("path attribute"),
                },
                "data" => {
                    let (Some(ty), Some(n)) = (ops.first().and_then(|o| name(o)), ops.get(1).and_then(|o| name(o))) else {
                        return unknown("data needs a type and a name");
                    };
                    let mut i = 2;
                    while ops.get(i).is_some_and(|o| index(o).is_some()) {
                        i += 1;
                    }
                    match ops.get(i).and_then(|o| name(o)) {
                        Some(attr) => (self.data_attr(&ty, &n, &attr), &ops[i + 1..]),
                        None => return unknown(format!("data.{ty}.{n}")),
                    }
                }
                "module" => {
                    let Some(call) = ops.first().and_then(|o| name(o)) else {
                        return unknown("module needs a name");
                    };
                    let mut key = call.clone();
                    let mut i = 1;
                    while let Some(ix) = ops.get(i).and_then(|o| index(o)) {
                        key.push_str(&ix);
                        i += 1;
                    }
                    let Some(output) = ops.get(i).and_then(|o| name(o)) else {
                        return unknown(format!("module.{key} as a whole object"));
                    };
                    let value = self
                        .module_outputs
                        .borrow()
                        .get(&key)
                        .and_then(|outputs| outputs.get(&output).cloned())
                        .unwrap_or_else(|| {
                            unknown(format!(
                                "module.{key}.{output} is not known (a remote module, or no such output): scan the plan"
                            ))
                        });
                    (value, &ops[i + 1..])
                }
                ty if ty.starts_with("aws_") => {
                    let Some(n) = ops.first().and_then(|o| name(o)) else {
                        return unknown(format!("{ty} needs a name"));
                    };
                    let mut idx = String::new();
                    let mut i = 1;
                    while let Some(ix) = ops.get(i).and_then(|o| index(o)) {
                        idx.push_str(&ix);
                        i += 1;
                    }
                    match ops.get(i).and_then(|o| name(o)) {
                        Some(attr) => (self.resource_attr(ty, &n, &idx, &attr), &ops[i + 1..]),
                        None => return unknown(format!("{ty}.{n} as a whole object")),
                    }
                }
                other => return unknown(format!("{other} is not evaluated")),
            };
            return self.apply_ops(value, rest, s);
        }
        let v = self.eval(base, s);
        self.apply_ops(v, ops, s)
    }

    fn apply_ops(&self, mut v: Val, ops: &[&TraversalOperator], s: &Scope) -> Val {
        for op in ops {
            v = match (op, v) {
                (_, Val::Unknown(w)) => return Val::Unknown(w),
                (TraversalOperator::GetAttr(i), Val::Map(m)) => m
                    .into_iter()
                    .find(|(k, _)| k == i.as_str())
                    .map(|(_, v)| v)
                    .unwrap_or_else(|| unknown(format!("no attribute {}", i.as_str()))),
                (TraversalOperator::Index(e), Val::List(l)) => {
                    match self.eval(e, s).text().and_then(|t| t.parse::<usize>().ok()) {
                        Some(i) => l
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| unknown("index out of range")),
                        None => return unknown("unknown index"),
                    }
                }
                (TraversalOperator::LegacyIndex(i), Val::List(l)) => l
                    .get(usize::try_from(**i).unwrap_or(usize::MAX))
                    .cloned()
                    .unwrap_or_else(|| unknown("index out of range")),
                (TraversalOperator::Index(e), Val::Map(m)) => match self.eval(e, s).text() {
                    Some(k) => m
                        .into_iter()
                        .find(|(x, _)| *x == k)
                        .map(|(_, v)| v)
                        .unwrap_or_else(|| unknown(format!("no key {k}"))),
                    None => return unknown("unknown key"),
                },
                _ => return unknown("splat or unsupported traversal"),
            };
        }
        v
    }

    fn eval(&self, e: &Expression, s: &Scope) -> Val {
        match e {
            Expression::Null(_) => Val::Null,
            Expression::Bool(b) => Val::Bool(**b),
            Expression::Number(n) => Val::Num(n.to_string()),
            Expression::String(st) => Val::Str(st.as_str().to_owned()),
            Expression::Array(a) => Val::List(a.iter().map(|x| self.eval(x, s)).collect()),
            Expression::Object(o) => Val::Map(
                o.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            ObjectKey::Ident(i) => i.as_str().to_owned(),
                            ObjectKey::Expression(x) => self.eval(x, s).text().unwrap_or_default(),
                        };
                        (key, self.eval(v.expr(), s))
                    })
                    .collect(),
            ),
            Expression::StringTemplate(t) => self.template(t, s),
            Expression::HeredocTemplate(h) => self.template(&h.template, s),
            Expression::Parenthesis(p) => self.eval(p.inner(), s),
            Expression::Variable(v) => match s.binding(v.as_str()) {
                Some(value) => value.clone(),
                None => unknown(format!("{} on its own is not evaluated", v.as_str())),
            },
            Expression::Conditional(c) => match self.eval(&c.cond_expr, s).truth() {
                Some(true) => self.eval(&c.true_expr, s),
                Some(false) => self.eval(&c.false_expr, s),
                None => {
                    let (a, b) = (self.eval(&c.true_expr, s), self.eval(&c.false_expr, s));
                    if a == b {
                        a
                    } else {
                        match self.eval(&c.cond_expr, s) {
                            Val::Unknown(why) => Val::Unknown(why),
                            _ => unknown("a condition that is not a boolean"),
                        }
                    }
                }
            },
            Expression::FuncCall(f) => {
                let args: Vec<Val> = f.args.iter().map(|a| self.eval(a, s)).collect();
                let name = f.name.name.as_str();
                if name == "try" {
                    return args
                        .into_iter()
                        .find(|a| a.unknown().is_none())
                        .unwrap_or_else(|| unknown("try: no argument is known"));
                }
                if name == "can" {
                    return Val::Bool(args.first().is_some_and(|a| a.unknown().is_none()));
                }
                if let Some(why) = args.iter().find_map(Val::unknown) {
                    return unknown(why.to_owned());
                }
                self.call(name, &args)
            }
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| &**o).collect();
                self.traversal(&t.expr, &ops, s)
            }
            Expression::UnaryOp(u) => match (&*u.operator, self.eval(&u.expr, s)) {
                (UnaryOperator::Not, v) => v
                    .truth()
                    .map_or_else(|| unknown("! of an unknown value"), |b| Val::Bool(!b)),
                (UnaryOperator::Neg, Val::Num(n)) => {
                    n.parse::<f64>().map_or_else(|_| unknown("-"), |f| num(-f))
                }
                (_, v) => v
                    .unknown()
                    .map_or_else(|| unknown("unary operator"), |w| unknown(w.to_owned())),
            },
            Expression::BinaryOp(b) => self.binary(
                *b.operator,
                self.eval(&b.lhs_expr, s),
                self.eval(&b.rhs_expr, s),
            ),
            Expression::ForExpr(f) => self.for_expr(f, s),
        }
    }

    /// `[for k, v in coll : expr if cond]` and `{for k, v in coll : key => value}`.
    fn for_expr(&self, f: &hcl_edit::expr::ForExpr, s: &Scope) -> Val {
        let items = match for_items(
            self.eval(&f.intro.collection_expr, s),
            "for over a value that is not a collection",
        ) {
            Ok(items) => items,
            Err(unknown) => return unknown,
        };
        let mut list = Vec::new();
        let mut map: Vec<(String, Val)> = Vec::new();
        for (key, value) in items {
            let mut inner = s.clone();
            if let Some(k) = &f.intro.key_var {
                inner.bindings.push((k.as_str().to_owned(), key));
            }
            inner
                .bindings
                .push((f.intro.value_var.as_str().to_owned(), value));
            if let Some(cond) = &f.cond {
                match self.eval(&cond.expr, &inner).truth() {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return unknown("a for filter is unknown"),
                }
            }
            let v = self.eval(&f.value_expr, &inner);
            match &f.key_expr {
                None => list.push(v),
                Some(k) => match self.eval(k, &inner).text() {
                    Some(k) if f.grouping => match map.iter_mut().find(|(x, _)| *x == k) {
                        Some((_, Val::List(group))) => group.push(v),
                        _ => map.push((k, Val::List(vec![v]))),
                    },
                    Some(k) => {
                        map.retain(|(x, _)| *x != k);
                        map.push((k, v));
                    }
                    None => return unknown("a for key is unknown"),
                },
            }
        }
        if f.key_expr.is_some() {
            Val::Map(map)
        } else {
            Val::List(list)
        }
    }

    fn binary(&self, op: BinaryOperator, a: Val, b: Val) -> Val {
        use BinaryOperator as B;
        match op {
            B::And | B::Or => {
                let and = op == B::And;
                match (a.truth(), b.truth()) {
                    (Some(x), _) if x != and => Val::Bool(x),
                    (_, Some(y)) if y != and => Val::Bool(y),
                    (Some(x), Some(y)) => Val::Bool(if and { x && y } else { x || y }),
                    _ => unknown("a boolean operand is unknown"),
                }
            }
            _ if a.unknown().is_some() || b.unknown().is_some() => {
                unknown(a.unknown().or(b.unknown()).unwrap_or_default().to_owned())
            }
            B::Eq => Val::Bool(
                a.to_json() == b.to_json() || (a.text().is_some() && a.text() == b.text()),
            ),
            B::NotEq => Val::Bool(
                !(a.to_json() == b.to_json() || (a.text().is_some() && a.text() == b.text())),
            ),
            _ => {
                let (Some(x), Some(y)) = (
                    a.text().and_then(|t| t.parse::<f64>().ok()),
                    b.text().and_then(|t| t.parse::<f64>().ok()),
                ) else {
                    return unknown("arithmetic on non-numbers");
                };
                match op {
                    B::Less => Val::Bool(x < y),
                    B::LessEq => Val::Bool(x <= y),
                    B::Greater => Val::Bool(x > y),
                    B::GreaterEq => Val::Bool(x >= y),
                    B::Plus => num(x + y),
                    B::Minus => num(x - y),
                    B::Mul => num(x * y),
                    B::Div if y != 0.0 => num(x / y),
                    B::Mod if y != 0.0 => num(x % y),
                    _ => unknown("division by zero"),
                }
            }
        }
    }

    fn call(&self, name: &str, args: &[Val]) -> Val {
        let text = |i: usize| args.get(i).and_then(Val::text);
        let list = |i: usize| match args.get(i) {
            Some(Val::List(l)) => Some(l.clone()),
            _ => None,
        };
        match name {
            "jsonencode" => args.first().map_or_else(
                || unknown("jsonencode()"),
                |v| Val::Str(v.to_json().to_string()),
            ),
            "jsondecode" => text(0)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .map_or_else(|| unknown("jsondecode of invalid JSON"), |v| from_json(&v)),
            "lower" => text(0).map_or_else(|| unknown("lower()"), |t| Val::Str(t.to_lowercase())),
            "upper" => text(0).map_or_else(|| unknown("upper()"), |t| Val::Str(t.to_uppercase())),
            "trimspace" => {
                text(0).map_or_else(|| unknown("trimspace()"), |t| Val::Str(t.trim().to_owned()))
            }
            "tostring" => text(0).map_or_else(|| Val::Null, Val::Str),
            "tobool" => args
                .first()
                .and_then(Val::truth)
                .map_or_else(|| unknown("tobool()"), Val::Bool),
            "tonumber" => text(0).map_or_else(|| unknown("tonumber()"), Val::Num),
            "tolist" | "toset" | "tomap" => args.first().cloned().unwrap_or(Val::Null),
            "join" => match (text(0), list(1)) {
                (Some(sep), Some(items)) => items
                    .iter()
                    .map(Val::text)
                    .collect::<Option<Vec<_>>>()
                    .map_or_else(
                        || unknown("join of non-strings"),
                        |v| Val::Str(v.join(&sep)),
                    ),
                _ => unknown("join(separator, list)"),
            },
            "split" => match (text(0), text(1)) {
                (Some(sep), Some(t)) if !sep.is_empty() => Val::List(
                    t.split(sep.as_str())
                        .map(|p| Val::Str(p.to_owned()))
                        .collect(),
                ),
                _ => unknown("split(separator, string)"),
            },
            "replace" => match (text(0), text(1), text(2)) {
                (Some(t), Some(a), Some(b)) => Val::Str(t.replace(&a, &b)),
                _ => unknown("replace()"),
            },
            "format" => match text(0) {
                Some(f) => format_fn(&f, &args[1..]),
                None => unknown("format()"),
            },
            "concat" => Val::List(
                args.iter()
                    .filter_map(|a| match a {
                        Val::List(l) => Some(l.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect(),
            ),
            "merge" => {
                let mut out: Vec<(String, Val)> = Vec::new();
                for a in args {
                    if let Val::Map(m) = a {
                        for (k, v) in m {
                            out.retain(|(x, _)| x != k);
                            out.push((k.clone(), v.clone()));
                        }
                    }
                }
                Val::Map(out)
            }
            "lookup" => match (args.first(), text(1)) {
                (Some(Val::Map(m)), Some(k)) => m
                    .iter()
                    .find(|(x, _)| *x == k)
                    .map(|(_, v)| v.clone())
                    .or_else(|| args.get(2).cloned())
                    .unwrap_or_else(|| unknown(format!("lookup: no key {k}"))),
                _ => unknown("lookup(map, key)"),
            },
            "coalesce" => args
                .iter()
                .find(|a| !matches!(a, Val::Null) && a.text().as_deref() != Some(""))
                .cloned()
                .unwrap_or(Val::Null),
            "compact" => list(0).map_or_else(
                || unknown("compact()"),
                |l| {
                    Val::List(
                        l.into_iter()
                            .filter(|v| v.text().is_some_and(|t| !t.is_empty()))
                            .collect(),
                    )
                },
            ),
            "flatten" => list(0).map_or_else(
                || unknown("flatten()"),
                |l| {
                    Val::List(
                        l.into_iter()
                            .flat_map(|v| match v {
                                Val::List(inner) => inner,
                                other => vec![other],
                            })
                            .collect(),
                    )
                },
            ),
            "distinct" => list(0).map_or_else(
                || unknown("distinct()"),
                |l| {
                    let mut out: Vec<Val> = Vec::new();
                    for v in l {
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                    Val::List(out)
                },
            ),
            "element" => match (list(0), text(1).and_then(|t| t.parse::<usize>().ok())) {
                (Some(l), Some(i)) if !l.is_empty() => l[i % l.len()].clone(),
                _ => unknown("element(list, index)"),
            },
            "length" => match args.first() {
                Some(Val::List(l)) => num(l.len() as f64),
                Some(Val::Map(m)) => num(m.len() as f64),
                Some(Val::Str(s)) => num(s.chars().count() as f64),
                _ => unknown("length()"),
            },
            "contains" => match (list(0), args.get(1)) {
                (Some(l), Some(v)) => Val::Bool(l.contains(v)),
                _ => unknown("contains(list, value)"),
            },
            "keys" | "values" => match args.first() {
                Some(Val::Map(m)) => Val::List(
                    m.iter()
                        .map(|(k, v)| {
                            if name == "keys" {
                                Val::Str(k.clone())
                            } else {
                                v.clone()
                            }
                        })
                        .collect(),
                ),
                _ => unknown(format!("{name}(map)")),
            },
            "startswith" | "endswith" => match (text(0), text(1)) {
                (Some(t), Some(p)) => Val::Bool(if name == "startswith" {
                    t.starts_with(&p)
                } else {
                    t.ends_with(&p)
                }),
                _ => unknown(format!("{name}()")),
            },
            "file" => match text(0) {
                Some(p) => {
                    let path = self.resolve(&p);
                    std::fs::read_to_string(&path)
                        .map_or_else(|e| unknown(format!("file({p}): {e}")), Val::Str)
                }
                None => unknown("file()"),
            },
            "templatefile" => match (text(0), args.get(1)) {
                (Some(p), Some(Val::Map(vars))) => {
                    let path = self.resolve(&p);
                    match std::fs::read_to_string(&path) {
                        Ok(t) => self.template_file(&p, &t, vars),
                        Err(e) => unknown(format!("templatefile({p}): {e}")),
                    }
                }
                _ => unknown("templatefile(path, vars)"),
            },
            other => unknown(format!("function {other}() is not evaluated")),
        }
    }
}

/// The (key, value) pairs a `for` iterates: index and element of a list, key and value of a
/// map. Err: the collection is unknown, or `not_collection` when it is not one.
fn for_items(collection: Val, not_collection: &str) -> Result<Vec<(Val, Val)>, Val> {
    match collection {
        Val::List(l) => Ok(l
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Val::Num(i.to_string()), v))
            .collect()),
        Val::Map(m) => Ok(m.into_iter().map(|(k, v)| (Val::Str(k), v)).collect()),
        Val::Unknown(why) => Err(Val::Unknown(why)),
        _ => Err(unknown(not_collection)),
    }
}

fn num(f: f64) -> Val {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Val::Num(format!("{}", f as i64))
    } else {
        Val::Num(f.to_string())
    }
}

fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(n.to_string()),
        Value::String(s) => Val::Str(s.clone()),
        Value::Array(a) => Val::List(a.iter().map(from_json).collect()),
        Value::Object(o) => Val::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// `format("%s-%d", ...)` with `%s`, `%d`, `%v`, `%q`, `%%`.
fn format_fn(f: &str, args: &[Val]) -> Val {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(v @ ('s' | 'd' | 'v' | 'q')) => match it.next().and_then(Val::text) {
                Some(t) if v == 'q' => out.push_str(&serde_json::to_string(&t).unwrap_or_default()),
                Some(t) => out.push_str(&t),
                None => return unknown("format: missing or non-string argument"),
            },
            _ => return unknown("format: unsupported verb"),
        }
    }
    Val::Str(out)
}

/// Whether a module `source` is a local directory (evaluated) rather than a registry, git or
/// other remote source (not evaluated).
fn is_local_source(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// The directory of a local module source: `./modules/x` -> `modules/x` under `dir` (reports
/// show clean paths).
fn child_dir(dir: &Path, source: &str) -> PathBuf {
    dir.join(source)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The local module directories (canonical paths) that the module in `dir` calls: `module`
/// blocks whose `source` is `./...` or `../...` (Terraform requires a literal source). Cheap
/// enough for a pre-pass over every module: a file without the word `module` is not parsed.
/// A file that cannot be read or parsed gives nothing here; its scan reports it.
pub fn local_module_calls(dir: &Path, files: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for path in files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        if !text.contains("module") {
            continue;
        }
        let text = if path.to_string_lossy().ends_with(".tf.json") {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => json_to_hcl(&v),
                Err(_) => continue,
            }
        } else {
            text
        };
        let Ok(body) = hcl_edit::parser::parse_body(&text) else {
            continue;
        };
        for b in body.blocks().filter(|b| b.ident.as_str() == "module") {
            let source = b
                .body
                .attributes()
                .find(|a| a.key.as_str() == "source")
                .and_then(|a| match &a.value {
                    Expression::String(s) => Some(s.value().clone()),
                    _ => None,
                });
            if let Some(source) = source.filter(|s| is_local_source(s)) {
                let child = child_dir(dir, &source);
                out.push(child.canonicalize().unwrap_or(child));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Scans the module in `dir` made of `files` (`.tf`). `vars` are `--var NAME=VALUE`.
/// Values for the root module's variables, from the command line.
#[derive(Debug, Clone, Default)]
pub struct TfVars {
    /// `--var NAME=VALUE`: the last word.
    pub values: HashMap<String, String>,
    /// `--var-file FILE` (tfvars syntax), in order: after `terraform.tfvars` and
    /// `*.auto.tfvars`, before `--var`.
    pub files: Vec<PathBuf>,
}

pub fn scan_module(dir: &Path, files: &[PathBuf], vars: &TfVars) -> IacScan {
    let mut stack = Vec::new();
    let ev = evaluate_module(dir, files, vars, None, "", &mut stack);
    let mut plan = json!({
        "format_version": "1.2",
        "planned_values": {"root_module": {"resources": ev.planned}},
        "resource_changes": ev.changes,
        "configuration": {"root_module": {"resources": ev.config}},
    });
    let mut providers = serde_json::Map::new();
    if let Some(r) = ev.provider_region {
        providers.insert(
            "aws".into(),
            json!({"expressions": {"region": {"constant_value": r}}}),
        );
    }
    for (key, r) in ev.provider_aliases {
        providers.insert(
            key,
            json!({"expressions": {"region": {"constant_value": r}}}),
        );
    }
    if !providers.is_empty() {
        plan["configuration"]["provider_config"] = Value::Object(providers);
    }
    let positions = ev.positions;
    let locate = |address: &str| -> (u32, u32) {
        positions
            .get(address)
            .map_or((1, 1), |(_, line, column)| (*line, *column))
    };
    let mut out = crate::tfplan::scan_value(&dir.display().to_string(), &plan, &locate);
    // Each finding's file is the .tf file of its resource.
    out.files = positions
        .iter()
        .map(|(address, (file, _, _))| (address.clone(), file.clone()))
        .collect();
    // Suppressions apply to every instance of the resource (`aws_kms_key.k[0]`, ...).
    for (base, code, reason) in ev.skips {
        let instance = format!("{base}[");
        let arns: Vec<String> = out
            .locations
            .iter()
            .filter(|(_, l)| l.address == base || l.address.starts_with(&instance))
            .map(|(arn, _)| arn.clone())
            .collect();
        for resource in arns {
            out.suppressions.push(crate::Suppression {
                resource,
                code: code.clone(),
                reason: reason.clone(),
            });
        }
    }
    out.file_problems = ev.problems;
    out.file_notes = ev.notes;
    out.module_dirs = ev.children;
    out
}

/// Inline suppressions of a resource block, checkov-style, in a `#` or `//` comment inside the
/// block or on the comment lines just above it:
/// `# trailseal:skip=TS011:rotation is done by re-keying (runbook RB-12)`.
/// Ok((code, reason)), or Err((line, message)) for one without a reason.
fn inline_skips(
    text: &str,
    span: std::ops::Range<usize>,
) -> Vec<Result<(String, String), (u32, String)>> {
    const MARK: &str = "trailseal:skip";
    let start = text.get(..span.start).map_or(0, |before| {
        // The comment lines directly above the block.
        let mut at = before.rfind('\n').map_or(0, |i| i + 1);
        while at > 0 {
            let prev_start = text[..at - 1].rfind('\n').map_or(0, |i| i + 1);
            let line = text[prev_start..at - 1].trim_start();
            if line.starts_with('#') || line.starts_with("//") {
                at = prev_start;
            } else {
                break;
            }
        }
        at
    });
    let Some(region) = text.get(start..span.end.max(start)) else {
        return Vec::new();
    };
    let first_line = text[..start].matches('\n').count();
    let mut out = Vec::new();
    for (i, line) in region.lines().enumerate() {
        let Some(at) = line.find(MARK) else { continue };
        let before = line[..at].trim_end();
        if !(before.contains('#') || before.contains("//")) {
            continue;
        }
        let rest = line[at + MARK.len()..].trim_start_matches([' ', '=']);
        let (code, reason) = match rest.split_once(':') {
            Some((c, r)) => (c.trim(), r.trim()),
            None => (rest.trim(), ""),
        };
        let line_no = u32::try_from(first_line + i + 1).unwrap_or(u32::MAX);
        let code = code.to_ascii_uppercase();
        if code.is_empty() || reason.is_empty() {
            out.push(Err((
                line_no,
                format!(
                    "suppression of {} has no reason: write `# {MARK}=TS011:why it does not apply`",
                    if code.is_empty() { "(no code)" } else { &code }
                ),
            )));
        } else {
            out.push(Ok((code, reason.to_owned())));
        }
    }
    out
}

/// A module evaluated into plan-shaped parts.
#[derive(Default)]
struct Evaluated {
    /// Inline suppressions: (resource address without instance key, code, reason).
    skips: Vec<(String, String, String)>,
    planned: Vec<Value>,
    changes: Vec<Value>,
    config: Vec<Value>,
    /// Address -> (file, line, column).
    positions: HashMap<String, (String, u32, u32)>,
    problems: Vec<(String, Problem)>,
    /// Things not evaluated on purpose (remote modules): reported as skipped.
    notes: Vec<(String, Problem)>,
    provider_region: Option<String>,
    /// Aliased provider configurations: (`aws.west`, Region).
    provider_aliases: Vec<(String, String)>,
    /// Local module directories evaluated as children (canonical paths).
    children: Vec<PathBuf>,
    /// The module's `output` values.
    outputs: HashMap<String, Val>,
}

/// Meta-arguments of a module call (not inputs).
const MODULE_META: &[&str] = &[
    "source",
    "version",
    "providers",
    "depends_on",
    "count",
    "for_each",
];

/// Evaluates the module in `dir`: the root module with `--var` values (`inputs` None), or a
/// local child module with the values its call passes, its addresses under `prefix`.
fn evaluate_module(
    dir: &Path,
    files: &[PathBuf],
    vars: &TfVars,
    inputs: Option<HashMap<String, Val>>,
    prefix: &str,
    stack: &mut Vec<PathBuf>,
) -> Evaluated {
    let mut result = Evaluated::default();
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    for path in files {
        let name = path.display().to_string();
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                problems.push((
                    name,
                    Problem {
                        address: None,
                        line: 1,
                        column: 1,
                        message: format!("cannot read: {e}"),
                    },
                ));
                continue;
            }
        };
        let (text, json) = if name.ends_with(".tf.json") {
            match serde_json::from_str::<Value>(&text) {
                Ok(v) => (json_to_hcl(&v), Some(text)),
                Err(e) => {
                    problems.push((
                        name,
                        Problem {
                            address: None,
                            line: u32::try_from(e.line()).unwrap_or(1),
                            column: u32::try_from(e.column()).unwrap_or(1),
                            message: format!("cannot parse: {e}"),
                        },
                    ));
                    continue;
                }
            }
        } else {
            (text, None)
        };
        match hcl_edit::parser::parse_body(&text) {
            Ok(body) => parsed.push(File {
                name,
                text,
                body,
                json,
            }),
            Err(e) => problems.push((
                name,
                Problem {
                    address: None,
                    line: u32::try_from(e.location().line()).unwrap_or(1),
                    column: u32::try_from(e.location().column()).unwrap_or(1),
                    message: format!("cannot parse: {}", e.message()),
                },
            )),
        }
    }
    let mut module = Module {
        vars: HashMap::new(),
        locals: HashMap::new(),
        local_cache: RefCell::new(HashMap::new()),
        local_stack: RefCell::new(HashSet::new()),
        resources: Vec::new(),
        data: Vec::new(),
        dir: dir.to_owned(),
        prefix: prefix.to_owned(),
        module_outputs: RefCell::new(HashMap::new()),
        providers: Vec::new(),
    };
    let mut defaults: Vec<(String, Option<&Expression>)> = Vec::new();
    let mut module_calls = Vec::new();
    let mut outputs: Vec<(String, &Block)> = Vec::new();
    for (fi, f) in parsed.iter().enumerate() {
        for b in f.body.blocks() {
            let labels: Vec<String> = b.labels.iter().map(label).collect();
            match (b.ident.as_str(), labels.as_slice()) {
                ("variable", [name]) => defaults.push((name.clone(), module.attr(b, "default"))),
                ("locals", []) => {
                    for a in b.body.attributes() {
                        module.locals.insert(a.key.as_str().to_owned(), &a.value);
                    }
                }
                ("resource", [ty, name]) => module.resources.push(Res {
                    ty: ty.clone(),
                    name: name.clone(),
                    block: b,
                    file: fi,
                }),
                ("data", [ty, name]) => module.data.push(Res {
                    ty: ty.clone(),
                    name: name.clone(),
                    block: b,
                    file: fi,
                }),
                ("module", [name]) => module_calls.push((name.clone(), fi, b)),
                ("output", [name]) => outputs.push((name.clone(), b)),
                ("provider", [name]) if name == "aws" => module.providers.push(b),
                _ => {}
            }
        }
    }
    // Variables: defaults, then terraform.tfvars, *.auto.tfvars, then --var.
    for (name, default) in &defaults {
        if let Some(e) = default {
            let v = module.eval(e, &Scope::default());
            module.vars.insert(name.clone(), v);
        }
    }
    let is_root = inputs.is_none();
    if let Some(inputs) = inputs {
        for (k, v) in inputs {
            module.vars.insert(k, v);
        }
    }
    // terraform.tfvars, then *.auto.tfvars in name order (one directory listing, no probes).
    let mut var_files: Vec<PathBuf> = Vec::new();
    if let (true, Ok(entries)) = (is_root, std::fs::read_dir(dir)) {
        let mut auto: Vec<(bool, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
            .filter_map(|e| {
                let name = e.file_name();
                let name = name.to_str()?;
                if name == "terraform.tfvars" {
                    Some((false, e.path()))
                } else if name.ends_with(".auto.tfvars") {
                    Some((true, e.path()))
                } else {
                    None
                }
            })
            .collect();
        auto.sort();
        var_files.extend(auto.into_iter().map(|(_, p)| p));
    }
    if is_root {
        var_files.extend(vars.files.iter().cloned());
    }
    for vf in &var_files {
        match std::fs::read_to_string(vf)
            .map_err(|e| e.to_string())
            .and_then(|t| tfvars(&t, &module))
        {
            Ok(values) => module.vars.extend(values),
            Err(e) => problems.push((
                vf.display().to_string(),
                Problem {
                    address: None,
                    line: 1,
                    column: 1,
                    message: format!("cannot read variables: {e}"),
                },
            )),
        }
    }
    for (k, v) in vars.values.iter().filter(|_| is_root) {
        if defaults.iter().any(|(n, _)| n == k) {
            module.vars.insert(k.clone(), Val::Str(v.clone()));
        }
    }
    // The chain of modules being evaluated, for cycles (canonical paths: only resolved when
    // the module calls others, which most do not).
    if !module_calls.is_empty() {
        stack.push(dir.canonicalize().unwrap_or_else(|_| dir.to_owned()));
    }
    for (name, fi, b) in &module_calls {
        let span = b.span().map(|r| r.start).unwrap_or(0);
        let (line, column) = line_col(&parsed[*fi].text, span);
        let source = module
            .attr(b, "source")
            .map(|e| module.eval(e, &Scope::default()))
            .and_then(|v| v.text())
            .unwrap_or_default();
        let at = |message: String| Problem {
            address: Some(format!("{prefix}module.{name}")),
            line,
            column,
            message,
        };
        if !is_local_source(&source) {
            result.notes.push((
                parsed[*fi].name.clone(),
                at(format!(
                    "{prefix}module.{name} ({source}) was not evaluated: remote module sources are not scanned; scan the plan to cover it"
                )),
            ));
            continue;
        }
        let child = child_dir(dir, &source);
        let canonical = child.canonicalize().unwrap_or_else(|_| child.clone());
        if stack.contains(&canonical) || stack.len() > 16 {
            problems.push((
                parsed[*fi].name.clone(),
                at(format!(
                    "{prefix}module.{name} ({source}) forms a module cycle"
                )),
            ));
            continue;
        }
        let mut child_files: Vec<PathBuf> = std::fs::read_dir(&child)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| {
                        p.to_str()
                            .is_some_and(|s| s.ends_with(".tf") || s.ends_with(".tf.json"))
                    })
                    .collect()
            })
            .unwrap_or_default();
        child_files.sort();
        if child_files.is_empty() {
            problems.push((
                parsed[*fi].name.clone(),
                at(format!(
                    "{prefix}module.{name}: no .tf files in {}",
                    child.display()
                )),
            ));
            continue;
        }
        // Instances of the call (count / for_each), each with its inputs.
        let scopes = module.instances(b);
        result.children.push(canonical.clone());
        for (index, scope) in scopes {
            let inputs: HashMap<String, Val> = b
                .body
                .attributes()
                .filter(|a| !MODULE_META.contains(&a.key.as_str()))
                .map(|a| (a.key.as_str().to_owned(), module.eval(&a.value, &scope)))
                .collect();
            let child_prefix = format!("{prefix}module.{name}{index}.");
            let ev = evaluate_module(
                &child,
                &child_files,
                vars,
                Some(inputs),
                &child_prefix,
                stack,
            );
            result.planned.extend(ev.planned);
            result.changes.extend(ev.changes);
            result.config.extend(ev.config);
            result.positions.extend(ev.positions);
            result.skips.extend(ev.skips);
            result.problems.extend(ev.problems);
            result.notes.extend(ev.notes);
            result.children.extend(ev.children);
            module
                .module_outputs
                .borrow_mut()
                .insert(format!("{name}{index}"), ev.outputs);
        }
    }

    // Instances of the mapped resources, as plan-shaped parts.
    for r in module
        .resources
        .iter()
        .filter(|r| TYPES.contains(&r.ty.as_str()))
    {
        let base = format!("{prefix}{}.{}", r.ty, r.name);
        if parsed[r.file].json.is_none() {
            let span = r.block.span().unwrap_or(0..0);
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
                        },
                    )),
                }
            }
        }
        let instances: Vec<(String, Scope)> = module
            .instances(r.block)
            .into_iter()
            .map(|(index, scope)| (format!("{base}{index}"), scope))
            .collect();
        let mut expressions = serde_json::Map::new();
        for a in r.block.body.attributes() {
            expressions.insert(a.key.as_str().to_owned(), json!({}));
        }
        let mut config =
            json!({"address": base, "type": r.ty, "name": r.name, "expressions": expressions});
        // `provider = aws.west`: the Region of that provider configuration applies.
        if let Some((provider, alias)) = module.provider_alias(r.block) {
            config["provider_config_key"] = json!(format!("{provider}.{alias}"));
        }
        result.config.push(config);
        for (address, scope) in instances {
            let mut values = serde_json::Map::new();
            let mut after_unknown = serde_json::Map::new();
            for a in r.block.body.attributes() {
                let key = a.key.as_str();
                if key == "count" || key == "for_each" {
                    continue;
                }
                match module.eval(&a.value, &scope) {
                    v if v.unknown().is_some() => {
                        after_unknown
                            .insert(key.to_owned(), json!(v.unknown().unwrap_or_default()));
                    }
                    v => {
                        values.insert(key.to_owned(), v.to_json());
                    }
                }
            }
            // Computed identity attributes, symbolic like the references to them.
            let index = address.strip_prefix(&base).unwrap_or_default().to_owned();
            for attr in ["arn", "key_id"] {
                if !values.contains_key(attr) {
                    if let Val::Str(v) = module.resource_attr(&r.ty, &r.name, &index, attr) {
                        values.insert(attr.to_owned(), json!(v));
                    }
                }
            }
            let (line, column) = match &parsed[r.file].json {
                Some(json) => json_position(json, &r.ty, &r.name),
                None => line_col(
                    &parsed[r.file].text,
                    r.block.span().map(|s| s.start).unwrap_or(0),
                ),
            };
            result
                .positions
                .insert(address.clone(), (parsed[r.file].name.clone(), line, column));
            result.planned.push(json!({"address": address, "mode": "managed", "type": r.ty, "name": r.name, "values": values}));
            result
                .changes
                .push(json!({"address": address, "change": {"after_unknown": after_unknown}}));
        }
    }
    for (name, b) in &outputs {
        if let Some(e) = module.attr(b, "value") {
            let v = module.eval(e, &Scope::default());
            result.outputs.insert(name.clone(), v);
        }
    }
    // Provider configurations: `aws` (the deploying Region when set) and aliases (`aws.west`).
    for b in parsed.iter().flat_map(|f| f.body.blocks()).filter(|b| {
        b.ident.as_str() == "provider" && b.labels.first().map(label).as_deref() == Some("aws")
    }) {
        let Some(r) = module
            .attr(b, "region")
            .map(|e| module.eval(e, &Scope::default()))
            .and_then(|v| v.text())
        else {
            continue;
        };
        match module
            .attr(b, "alias")
            .map(|e| module.eval(e, &Scope::default()))
            .and_then(|v| v.text())
        {
            Some(alias) => result.provider_aliases.push((format!("aws.{alias}"), r)),
            None => result.provider_region = result.provider_region.take().or(Some(r)),
        }
    }
    result.problems.extend(problems);
    if !module_calls.is_empty() {
        stack.pop();
    }
    result
}

/// Nested block types (as opposed to object-valued attributes) in `.tf.json` bodies.
const NESTED_BLOCKS: &[&str] = &[
    "statement",
    "principals",
    "not_principals",
    "condition",
    "event_selector",
    "advanced_event_selector",
    "field_selector",
    "data_resource",
    "insight_selector",
    "lifecycle",
];

/// A JSON value as an HCL expression; strings are templates (`${...}` stays live).
fn hcl_expr(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(hcl_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", hcl_expr(&Value::String(k.clone())), hcl_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn hcl_body(body: &Value, out: &mut String) {
    let Some(map) = body.as_object() else { return };
    for (k, v) in map {
        let nested: Vec<&Value> = match v {
            Value::Object(_) if NESTED_BLOCKS.contains(&k.as_str()) => vec![v],
            Value::Array(items)
                if NESTED_BLOCKS.contains(&k.as_str()) && items.iter().all(Value::is_object) =>
            {
                items.iter().collect()
            }
            _ => Vec::new(),
        };
        if nested.is_empty() {
            out.push_str(&format!("{k} = {}\n", hcl_expr(v)));
        } else {
            for b in nested {
                out.push_str(&format!("{k} {{\n"));
                hcl_body(b, out);
                out.push_str("}\n");
            }
        }
    }
}

/// Bodies of a `.tf.json` block: an object, or an array of objects.
fn bodies(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// `.tf.json` (Terraform's JSON syntax) as HCL text with the same meaning.
fn json_to_hcl(doc: &Value) -> String {
    let mut out = String::new();
    let Some(top) = doc.as_object() else {
        return out;
    };
    for (kind, content) in top {
        let Some(content) = content.as_object() else {
            continue;
        };
        match kind.as_str() {
            "resource" | "data" => {
                for (ty, named) in content {
                    for (name, body) in named.as_object().into_iter().flatten() {
                        for b in bodies(body) {
                            out.push_str(&format!("{kind} \"{ty}\" \"{name}\" {{\n"));
                            hcl_body(b, &mut out);
                            out.push_str("}\n");
                        }
                    }
                }
            }
            "variable" | "module" | "provider" => {
                for (name, body) in content {
                    for b in bodies(body) {
                        out.push_str(&format!("{kind} \"{name}\" {{\n"));
                        hcl_body(b, &mut out);
                        out.push_str("}\n");
                    }
                }
            }
            "locals" => {
                out.push_str("locals {\n");
                hcl_body(&Value::Object(content.clone()), &mut out);
                out.push_str("}\n");
            }
            _ => {}
        }
    }
    out
}

/// Line of `"NAME"` after the first `"TYPE"` in a `.tf.json` text.
fn json_position(json: &str, ty: &str, name: &str) -> (u32, u32) {
    let ty_at = json.find(&format!("\"{ty}\"")).unwrap_or(0);
    let at = json[ty_at..]
        .find(&format!("\"{name}\""))
        .map_or(ty_at, |i| ty_at + i);
    line_col(json, at)
}

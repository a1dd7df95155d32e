//! Terraform HCL (`.tf`, `.tf.json`) into evidence, without running Terraform.
//!
//! A module directory is evaluated with three-valued values (known / unknown with the reason /
//! null) into [`crate::tfplan::Planned`], what Terraform would know before apply, mapped to
//! evidence by [`crate::tfplan`] as plans are. Where things are:
//!
//! - [`load`]: reading and parsing the files, collecting blocks, variable values and their
//!   precedence (defaults, tfvars files, `--var-file`, `--var`);
//! - [`expr`]: expression evaluation (references, traversals, operators, conditionals, `for`);
//! - [`functions`]: the built-in functions;
//! - [`template`]: string templates, directives, heredocs, `templatefile()`; [`heredoc`]:
//!   indented heredocs dedented as Terraform does (around an hcl-edit bug);
//! - [`modules`]: local module calls, their outputs, cycles;
//! - [`suppress`]: inline `# trailseal:skip=` comments;
//! - [`resources`]: the AWS resources trailseal maps, into [`crate::tfplan::Res`] (symbolic
//!   computed attributes such as `aws_kms_key.k.arn`, so a trail's `kms_key_id` leads to its
//!   key), `count` / `for_each` instances, data sources, Regions;
//! - [`providers`]: provider configurations across modules (`providers` of module calls, a
//!   child module's own blocks) and their Regions;
//! - [`policy_document`]: `data "aws_iam_policy_document"` rendered to policy JSON;
//! - [`json`]: `.tf.json` converted to the same evaluation.

mod expr;
mod fastparse;
mod functions;
mod heredoc;
mod json;
mod load;
mod modules;
mod policy_document;
mod providers;
mod resources;
mod suppress;
mod template;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::cell::RefCell;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::{Block, BlockLabel, Body};

pub use modules::local_module_calls;

use crate::tfplan::{Planned, ProviderRegion};
use crate::value::Val;
use crate::{IacScan, Problem};

/// Resource types whose instances trailseal maps (others are only evaluated on demand).
const TYPES: &[&str] = &[
    "aws_cloudtrail",
    "aws_kms_key_policy",
    "aws_kms_key",
    "aws_kms_alias",
    "aws_kms_replica_key",
    "aws_s3_bucket",
    "aws_s3_bucket_policy",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_cloudtrail_event_data_store",
];

struct File {
    name: String,
    /// The HCL text (for `.tf.json`, generated from the JSON).
    text: String,
    body: Body,
    /// The span of each top-level block of `body`, in order.
    block_spans: Vec<std::ops::Range<usize>>,
    /// `.tf.json`: the original JSON text, where resource positions are looked up.
    json: Option<String>,
}

struct Res<'a> {
    ty: String,
    name: String,
    block: &'a Block,
    file: usize,
    /// The block's span in its file's text.
    span: std::ops::Range<usize>,
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
    /// Set when the instances of this (child) module are not known before apply: every
    /// resource in it is then an unknown instance with this reason.
    instances_unknown: Option<String>,
    /// The module's own `provider "aws"` blocks (the default one and aliases).
    provider_blocks: Vec<&'a Block>,
    /// The provider configurations the module can use, by local name.
    providers: providers::Providers,
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

/// The start of the reason of a value that is an evaluation error Terraform would report
/// whatever the unknown values turn out to be (a missing attribute or key of a known value,
/// an index out of range, invalid JSON...), as opposed to a value that is merely not known:
/// `try()` moves on only past errors.
const ERROR: &str = "evaluation error: ";

/// A known evaluation error (see [`ERROR`]); it is unknown to the checks, with the message.
fn error(message: impl std::fmt::Display) -> Val {
    Val::Unknown(format!("{ERROR}{message}"))
}

/// Whether `v` is, or contains, an evaluation error (see [`ERROR`]).
fn is_error(v: &Val) -> bool {
    match v {
        Val::Unknown(why) => why.starts_with(ERROR),
        Val::List(items) => items.iter().any(is_error),
        Val::Map(entries) => entries.iter().any(|(_, v)| is_error(v)),
        _ => false,
    }
}

fn label(l: &BlockLabel) -> String {
    match l {
        BlockLabel::Ident(i) => i.as_str().to_owned(),
        BlockLabel::String(s) => s.as_str().to_owned(),
    }
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    )
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
}

/// What Terraform would know before apply about the module in `dir`: each instance of the
/// mapped resources with its known values, its unknown attributes (each with the reason), the
/// references of its arguments and its provider configuration. What [`scan_module`] maps with
/// [`crate::tfplan::scan_planned`], the mapping plans use too.
pub fn planned(dir: &Path, files: &[PathBuf], vars: &TfVars) -> Planned {
    evaluate(dir, files, Vec::new(), vars).0
}

fn evaluate(
    dir: &Path,
    files: &[PathBuf],
    texts: Vec<Option<String>>,
    vars: &TfVars,
) -> (Planned, Evaluated) {
    let mut stack = Vec::new();
    let mut ev = evaluate_module(dir, files, texts, vars, None, None, "", None, &mut stack);
    let plan = Planned {
        resources: std::mem::take(&mut ev.resources),
        providers: std::mem::take(&mut ev.provider_config)
            .into_iter()
            .collect(),
        ..Planned::default()
    };
    (plan, ev)
}

/// Values for the root module's variables, from the command line.
#[derive(Debug, Clone, Default)]
pub struct TfVars {
    /// `--var NAME=VALUE`: the last word.
    pub values: std::collections::HashMap<String, String>,
    /// `--var-file FILE` (tfvars syntax, or JSON for `.json`), in order: after the automatic
    /// files (`terraform.tfvars`, `terraform.tfvars.json`, `*.auto.tfvars[.json]`), before
    /// `--var`.
    pub files: Vec<PathBuf>,
}

/// Scans the module in `dir` made of `files` (`.tf`, `.tf.json`) with the root module's
/// variable values `vars`.
pub fn scan_module(dir: &Path, files: &[PathBuf], vars: &TfVars) -> IacScan {
    scan_module_texts(dir, files, Vec::new(), vars)
}

/// [`scan_module`] with the texts of `files` the caller has already read (same order; None or
/// missing: read here), so that no file is read twice.
pub fn scan_module_texts(
    dir: &Path,
    files: &[PathBuf],
    texts: Vec<Option<String>>,
    vars: &TfVars,
) -> IacScan {
    let (plan, ev) = evaluate(dir, files, texts, vars);
    let positions = ev.positions;
    let locate = |address: &str| -> (u32, u32) {
        positions
            .get(address)
            .map_or((1, 1), |(_, line, column)| (*line, *column))
    };
    let mut out = crate::tfplan::scan_planned(&dir.display().to_string(), &plan, &locate);
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
    // A module that was not evaluated (a remote source) may set a bucket's policy too (a
    // bucket has one policy; each PutBucketPolicy replaces it): not known then.
    if let Some((_, note)) = ev.notes.first() {
        for b in &mut out.account.buckets {
            if b.exists == trailseal_model::Fact::Known(true) {
                b.policy = trailseal_model::Fact::Unknown(format!(
                    "a module that was not evaluated may set it ({})",
                    note.message
                ));
            }
        }
    }
    out.file_notes = ev.notes;
    out.module_dirs = ev.children;
    out.declared_inputs = ev.declared;
    out
}

/// A module evaluated: its resource instances and what the scan reports besides.
#[derive(Default)]
struct Evaluated {
    /// Inline suppressions: (resource address without instance key, code, reason).
    skips: Vec<(String, String, String)>,
    /// Instances of the mapped resources.
    resources: Vec<crate::tfplan::Res>,
    /// Address -> (file, line, column).
    positions: HashMap<String, (String, u32, u32)>,
    problems: Vec<(String, Problem)>,
    /// Things not evaluated on purpose (remote modules): reported as skipped.
    notes: Vec<(String, Problem)>,
    /// Provider configurations used: key, Region (see [`providers`]).
    provider_config: Vec<(String, ProviderRegion)>,
    /// Local module directories evaluated as children (canonical paths).
    children: Vec<PathBuf>,
    /// The module's `output` values.
    outputs: HashMap<String, Val>,
    /// The root module's variable names.
    declared: Vec<String>,
}

/// Evaluates the module in `dir`: the root module with `--var` values (`inputs` None), or a
/// local child module with the values and provider configurations its call passes, its
/// addresses under `prefix`.
#[allow(clippy::too_many_arguments)]
fn evaluate_module(
    dir: &Path,
    files: &[PathBuf],
    texts: Vec<Option<String>>,
    vars: &TfVars,
    inputs: Option<HashMap<String, Val>>,
    inherited: Option<providers::Providers>,
    prefix: &str,
    instances_unknown: Option<String>,
    stack: &mut Vec<PathBuf>,
) -> Evaluated {
    let mut result = Evaluated::default();
    let (parsed, mut problems) = load::parse_files(files, texts);
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
        provider_blocks: Vec::new(),
        providers: providers::Providers::default(),
        instances_unknown,
    };
    let decl = load::collect(&mut module, &parsed);
    if inputs.is_none() {
        result.declared = decl.variables.iter().map(|v| v.name.clone()).collect();
    }
    load::assign_variables(
        &mut module,
        &parsed,
        &decl.variables,
        vars,
        inputs,
        &mut problems,
    );
    // Provider blocks may use variables, and module calls pass configurations on.
    module.providers = module.provider_namespace(inherited);
    // The chain of modules being evaluated, for cycles (canonical paths: only resolved when
    // the module calls others, which most do not).
    if !decl.module_calls.is_empty() {
        stack.push(dir.canonicalize().unwrap_or_else(|_| dir.to_owned()));
    }
    modules::evaluate_calls(
        &module,
        &parsed,
        &decl.module_calls,
        dir,
        vars,
        prefix,
        stack,
        &mut result,
        &mut problems,
    );
    // Instances of the mapped resources.
    resources::emit(&module, &parsed, prefix, &mut result, &mut problems);
    for (name, b) in &decl.outputs {
        if let Some(e) = module.attr(b, "value") {
            let v = module.eval(e, &Scope::default());
            result.outputs.insert(name.clone(), v);
        }
    }
    result.provider_config.extend(module.provider_entries());
    result.problems.extend(problems);
    if !decl.module_calls.is_empty() {
        stack.pop();
    }
    result
}

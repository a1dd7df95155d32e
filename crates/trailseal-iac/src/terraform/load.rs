//! Loading a module: reading and parsing its `.tf` / `.tf.json` files, collecting its blocks,
//! and giving its variables their values in Terraform's precedence order.

use foldhash::{HashMap, HashMapExt};
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use hcl_edit::structure::Block;
use serde_json::Value;

use super::functions::from_json;
use super::json::json_to_hcl;
use super::{error, label, line_col, File, Module, Res, Scope, TfVars};
use crate::value::Val;
use crate::Problem;

/// Reads and parses the files of a module (`texts`: the texts the caller has already read,
/// in the same order; a file without one is read here); a file that cannot be read or parsed
/// is a problem (file, position, message) and the others are still evaluated.
pub(super) fn parse_files(
    files: &[PathBuf],
    mut texts: Vec<Option<String>>,
) -> (Vec<File>, Vec<(String, Problem)>) {
    let mut problems = Vec::new();
    let mut parsed = Vec::new();
    texts.resize(files.len(), None);
    for (path, text) in files.iter().zip(texts) {
        let name = path.display().to_string();
        let text = match text.map_or_else(|| std::fs::read_to_string(path), Ok) {
            Ok(t) => t,
            Err(e) => {
                problems.push((
                    name,
                    Problem {
                        address: None,
                        line: 1,
                        column: 1,
                        message: format!("cannot read: {e}"),
                        unreadable: true,
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
                            unreadable: true,
                        },
                    ));
                    continue;
                }
            }
        } else {
            // The text itself unless an indented heredoc had to be dedented (no copy).
            let dedented = match super::heredoc::dedent_indented_heredocs(&text) {
                std::borrow::Cow::Owned(d) => Some(d),
                std::borrow::Cow::Borrowed(_) => None,
            };
            (dedented.unwrap_or(text), None)
        };
        match super::fastparse::parse(&text) {
            Ok(p) => parsed.push(File {
                name,
                text,
                body: p.body,
                block_spans: p.block_spans,
                json,
            }),
            Err(e) => problems.push((
                name,
                Problem {
                    address: None,
                    line: u32::try_from(e.location().line()).unwrap_or(1),
                    column: u32::try_from(e.location().column()).unwrap_or(1),
                    message: format!("cannot parse: {}", e.message()),
                    unreadable: true,
                },
            )),
        }
    }
    (parsed, problems)
}

/// The blocks of a module other than resources, data sources, locals and providers (which go
/// into the [`Module`]).
#[derive(Default)]
pub(super) struct Declarations<'a> {
    /// `variable` blocks.
    pub(super) variables: Vec<Variable<'a>>,
    /// `module` blocks: name, file index, block.
    pub(super) module_calls: Vec<ModuleCall<'a>>,
    /// `output` blocks: name, block.
    pub(super) outputs: Vec<(String, &'a Block)>,
}

/// A `module` block: name, file index, block, the block's span in its file.
pub(super) type ModuleCall<'a> = (String, usize, &'a Block, std::ops::Range<usize>);

/// A `variable` block.
pub(super) struct Variable<'a> {
    pub(super) name: String,
    pub(super) block: &'a Block,
    /// Index of its file, and its position there.
    pub(super) file: usize,
    pub(super) line: u32,
    pub(super) column: u32,
}

/// Sorts the blocks of the parsed files into `module` and the returned declarations.
pub(super) fn collect<'a>(module: &mut Module<'a>, parsed: &'a [File]) -> Declarations<'a> {
    let mut decl = Declarations::default();
    let defaults = &mut decl.variables;
    let module_calls = &mut decl.module_calls;
    let outputs = &mut decl.outputs;
    for (fi, f) in parsed.iter().enumerate() {
        for (b, span) in f.body.blocks().zip(&f.block_spans) {
            let labels: Vec<String> = b.labels.iter().map(label).collect();
            match (b.ident.as_str(), labels.as_slice()) {
                ("variable", [name]) => {
                    let (line, column) = line_col(&f.text, span.start);
                    defaults.push(Variable {
                        name: name.clone(),
                        block: b,
                        file: fi,
                        line,
                        column,
                    });
                }
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
                    span: span.clone(),
                }),
                ("data", [ty, name]) => module.data.push(Res {
                    ty: ty.clone(),
                    name: name.clone(),
                    block: b,
                    file: fi,
                    span: span.clone(),
                }),
                ("module", [name]) => module_calls.push((name.clone(), fi, b, span.clone())),
                ("output", [name]) => outputs.push((name.clone(), b)),
                ("provider", [name]) if name == "aws" => module.provider_blocks.push(b),
                _ => {}
            }
        }
    }
    decl
}

/// Parses a variable definitions file: `name = value` lines (HCL attributes), or for a
/// `.json` file a JSON object.
pub(super) fn tfvars(
    path: &Path,
    text: &str,
    module: &Module<'_>,
) -> Result<Vec<(String, Val)>, String> {
    if path.to_string_lossy().ends_with(".json") {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let Some(object) = doc.as_object() else {
            return Err("a JSON variables file must be an object".into());
        };
        return Ok(object
            .iter()
            .map(|(k, v)| (k.clone(), from_json(v)))
            .collect());
    }
    let body = super::fastparse::parse(text)
        .map_err(|e| e.to_string())?
        .body;
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

/// The variable definitions files Terraform loads by itself in a root module, in its order
/// ("Variable definition precedence",
/// https://developer.hashicorp.com/terraform/language/values/variables#variable-definition-precedence):
/// `terraform.tfvars`, `terraform.tfvars.json`, then `*.auto.tfvars` / `*.auto.tfvars.json`
/// in lexical order of their names (later files win). One directory listing, no probes.
fn automatic_var_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<(u8, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| !t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_owned();
            let rank = match name.as_str() {
                "terraform.tfvars" => 0,
                "terraform.tfvars.json" => 1,
                n if n.ends_with(".auto.tfvars") || n.ends_with(".auto.tfvars.json") => 2,
                _ => return None,
            };
            Some((rank, name, e.path()))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, _, p)| p).collect()
}

/// Gives the module's variables their values: defaults, then (child module) the call's
/// inputs, or (root module) the automatic variable files, the `--var-file` files and `--var`;
/// then `nullable = false` and the `type` constraint apply. A value that cannot be converted
/// to the type, or a null that is not allowed, is a problem (and the variable an error value),
/// never a guess.
pub(super) fn assign_variables(
    module: &mut Module<'_>,
    parsed: &[File],
    variables: &[Variable<'_>],
    vars: &TfVars,
    inputs: Option<HashMap<String, Val>>,
    problems: &mut Vec<(String, Problem)>,
) {
    let dir = module.dir.clone();
    let is_root = inputs.is_none();
    let mut values: HashMap<String, Val> = HashMap::new();
    if let Some(inputs) = inputs {
        values.extend(inputs);
    }
    let mut var_files = Vec::new();
    if is_root {
        var_files = automatic_var_files(&dir);
        var_files.extend(vars.files.iter().cloned());
    }
    for vf in &var_files {
        match std::fs::read_to_string(vf)
            .map_err(|e| e.to_string())
            .and_then(|t| tfvars(vf, &t, module))
        {
            Ok(v) => values.extend(v),
            Err(e) => problems.push((
                vf.display().to_string(),
                Problem::file(format!("cannot read variables: {e}")),
            )),
        }
    }
    for var in variables {
        let ty = module.attr(var.block, "type");
        let at = |message: String| {
            (
                parsed
                    .get(var.file)
                    .map(|f| f.name.clone())
                    .unwrap_or_default(),
                Problem {
                    address: Some(format!("{}var.{}", module.prefix, var.name)),
                    line: var.line,
                    column: var.column,
                    message,
                    unreadable: false,
                },
            )
        };
        // --var NAME=VALUE: a string, or for a collection type an HCL expression.
        let cli = vars.values.get(&var.name).filter(|_| is_root).map(|text| {
            if ty.is_some_and(is_collection_type) {
                match hcl_edit::parser::parse_expr(text) {
                    Ok(e) => module.eval(&e, &Scope::default()),
                    Err(e) => error(format!("--var {}: {}", var.name, e.message())),
                }
            } else {
                Val::Str(text.clone())
            }
        });
        let default = module
            .attr(var.block, "default")
            .map(|e| module.eval(e, &Scope::default()));
        let Some(mut value) = cli
            .or_else(|| values.get(&var.name).cloned())
            .or_else(|| default.clone())
        else {
            continue;
        };
        // nullable = false: a null value takes the default; without one it is an error
        // (https://developer.hashicorp.com/terraform/language/values/variables#disallowing-null-input-values).
        let nullable = module
            .attr(var.block, "nullable")
            .map(|e| module.eval(e, &Scope::default()));
        if value == Val::Null && nullable == Some(Val::Bool(false)) {
            value = match default.filter(|d| *d != Val::Null) {
                Some(d) => d,
                None => {
                    let message = format!(
                        "var.{} is null, which nullable = false does not allow, and has no default",
                        var.name
                    );
                    problems.push(at(message.clone()));
                    error(message)
                }
            };
        }
        // The type constraint converts the value (`"true"` is true for bool, `"1"` is 1 for
        // number); what does not convert is an error, as in Terraform
        // (https://developer.hashicorp.com/terraform/language/expressions/type-constraints#conversion-of-primitive-types).
        if let Some(ty) = ty {
            value = match module.convert(value, ty) {
                Ok(v) => v,
                Err(e) => {
                    let message = format!(
                        "var.{}: the value does not match type {}: {e}",
                        var.name,
                        ty.to_string().trim()
                    );
                    problems.push(at(message.clone()));
                    error(message)
                }
            };
        }
        module.vars.insert(var.name.clone(), value);
    }
}

/// Whether a type constraint is a collection or structural type (a `--var` value of it is
/// an HCL expression rather than a string).
fn is_collection_type(ty: &Expression) -> bool {
    matches!(ty, Expression::FuncCall(f) if matches!(f.name.name.as_str(), "list" | "set" | "map" | "tuple" | "object"))
}

impl Module<'_> {
    /// Converts a value to a type constraint (`string`, `number`, `bool`, `any`, `list(T)`,
    /// `set(T)`, `map(T)`, `tuple([...])`, `object({...})` with `optional(T, default)`).
    /// Unknown values stay unknown; Err: the value cannot be converted.
    pub(super) fn convert(&self, v: Val, ty: &Expression) -> Result<Val, String> {
        if matches!(v, Val::Unknown(_) | Val::Null) {
            return Ok(v);
        }
        let kind = |v: &Val| match v {
            Val::Bool(_) => "a bool",
            Val::Num(_) => "a number",
            Val::Str(_) => "a string",
            Val::List(_) => "a list",
            Val::Map(_) => "an object",
            _ => "null",
        };
        match ty {
            Expression::Variable(t) => match (t.as_str(), v) {
                ("string", Val::Str(s) | Val::Num(s)) => Ok(Val::Str(s)),
                ("string", Val::Bool(b)) => Ok(Val::Str(b.to_string())),
                ("number", Val::Num(n)) => Ok(Val::Num(n)),
                ("number", Val::Str(s)) if s.trim().parse::<f64>().is_ok() => {
                    Ok(Val::Num(s.trim().to_owned()))
                }
                ("bool", Val::Bool(b)) => Ok(Val::Bool(b)),
                ("bool", Val::Str(s)) if s == "true" || s == "false" => Ok(Val::Bool(s == "true")),
                (t @ ("string" | "number" | "bool"), v) => {
                    Err(format!("{} is given where a {t} is required", kind(&v)))
                }
                (_, v) => Ok(v),
            },
            Expression::FuncCall(f) => {
                let arg = f.args.iter().next();
                match (f.name.name.as_str(), v) {
                    ("list" | "set", Val::List(l)) => match arg {
                        Some(t) => l
                            .into_iter()
                            .map(|x| self.convert(x, t))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Val::List),
                        None => Ok(Val::List(l)),
                    },
                    ("map", Val::Map(m)) => match arg {
                        Some(t) => m
                            .into_iter()
                            .map(|(k, x)| self.convert(x, t).map(|x| (k, x)))
                            .collect::<Result<Vec<_>, _>>()
                            .map(Val::Map),
                        None => Ok(Val::Map(m)),
                    },
                    ("tuple", Val::List(l)) => match arg {
                        Some(Expression::Array(types)) => {
                            if types.len() != l.len() {
                                return Err(format!(
                                    "a tuple of {} elements is required, {} are given",
                                    types.len(),
                                    l.len()
                                ));
                            }
                            l.into_iter()
                                .zip(types.iter())
                                .map(|(x, t)| self.convert(x, t))
                                .collect::<Result<Vec<_>, _>>()
                                .map(Val::List)
                        }
                        _ => Ok(Val::List(l)),
                    },
                    ("object", Val::Map(m)) => match arg {
                        Some(Expression::Object(attrs)) => {
                            let mut out = Vec::new();
                            for (k, t) in attrs.iter() {
                                let name = match k {
                                    hcl_edit::expr::ObjectKey::Ident(i) => i.as_str().to_owned(),
                                    hcl_edit::expr::ObjectKey::Expression(e) => {
                                        self.eval(e, &Scope::default()).text().unwrap_or_default()
                                    }
                                };
                                let t = t.expr();
                                let optional = match t {
                                    Expression::FuncCall(o)
                                        if o.name.name.as_str() == "optional" =>
                                    {
                                        Some(o.args.iter().nth(1))
                                    }
                                    _ => None,
                                };
                                let given =
                                    m.iter().find(|(x, _)| *x == name).map(|(_, v)| v.clone());
                                let value = match (given, optional) {
                                    (Some(v), _) => v,
                                    (None, Some(Some(d))) => self.eval(d, &Scope::default()),
                                    (None, Some(None)) => Val::Null,
                                    (None, None) => {
                                        return Err(format!("attribute {name} is required"))
                                    }
                                };
                                out.push((name, self.convert(value, t)?));
                            }
                            Ok(Val::Map(out))
                        }
                        _ => Ok(Val::Map(m)),
                    },
                    ("optional", v) => match arg {
                        Some(t) => self.convert(v, t),
                        None => Ok(v),
                    },
                    (t @ ("list" | "set" | "tuple"), v) => {
                        Err(format!("{} is given where a {t} is required", kind(&v)))
                    }
                    (t @ ("map" | "object"), v) => {
                        Err(format!("{} is given where a {t} is required", kind(&v)))
                    }
                    (_, v) => Ok(v),
                }
            }
            _ => Ok(v),
        }
    }
}

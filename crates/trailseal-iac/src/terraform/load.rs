//! Loading a module: reading and parsing its `.tf` / `.tf.json` files, collecting its blocks,
//! and giving its variables their values in Terraform's precedence order.

use std::collections::HashMap;
use std::path::PathBuf;

use hcl_edit::expr::Expression;
use hcl_edit::structure::Block;
use serde_json::Value;

use super::json::json_to_hcl;
use super::{label, File, Module, Res, Scope, TfVars};
use crate::value::Val;
use crate::Problem;

/// Reads and parses the files of a module; a file that cannot be read or parsed is a
/// problem (file, position, message) and the others are still evaluated.
pub(super) fn parse_files(files: &[PathBuf]) -> (Vec<File>, Vec<(String, Problem)>) {
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
    (parsed, problems)
}

/// The blocks of a module other than resources, data sources, locals and providers (which go
/// into the [`Module`]).
#[derive(Default)]
pub(super) struct Declarations<'a> {
    /// `variable` blocks: name and `default`.
    pub(super) variables: Vec<(String, Option<&'a Expression>)>,
    /// `module` blocks: name, file index, block.
    pub(super) module_calls: Vec<(String, usize, &'a Block)>,
    /// `output` blocks: name, block.
    pub(super) outputs: Vec<(String, &'a Block)>,
}

/// Sorts the blocks of the parsed files into `module` and the returned declarations.
pub(super) fn collect<'a>(module: &mut Module<'a>, parsed: &'a [File]) -> Declarations<'a> {
    let mut decl = Declarations::default();
    let defaults = &mut decl.variables;
    let module_calls = &mut decl.module_calls;
    let outputs = &mut decl.outputs;
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
    decl
}

/// Parses `name = value` lines of a tfvars file into values (HCL attributes).
pub(super) fn tfvars(text: &str, module: &Module<'_>) -> Result<Vec<(String, Val)>, String> {
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

/// Gives the module's variables their values: defaults, then (child module) the call's inputs,
/// or (root module) `terraform.tfvars`, `*.auto.tfvars`, the `--var-file` files and `--var`.
pub(super) fn assign_variables(
    module: &mut Module<'_>,
    defaults: &[(String, Option<&Expression>)],
    vars: &TfVars,
    inputs: Option<HashMap<String, Val>>,
    problems: &mut Vec<(String, Problem)>,
) {
    let dir = module.dir.clone();
    let dir = dir.as_path();
    // Variables: defaults, then terraform.tfvars, *.auto.tfvars, then --var.
    for (name, default) in defaults {
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
            .and_then(|t| tfvars(&t, module))
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
}

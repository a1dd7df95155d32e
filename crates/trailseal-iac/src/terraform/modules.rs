//! Local module calls (`source = "./..."`): each call (and each `count` / `for_each` instance
//! of it) evaluates the child directory with the call's inputs, its addresses under
//! `module.NAME.`, its outputs available to the caller; cycles are errors; remote sources are
//! reported as not evaluated.

use foldhash::HashMap;
use std::path::{Path, PathBuf};

use hcl_edit::expr::Expression;
use serde_json::Value;

use super::json::json_to_hcl;
use super::{evaluate_module, line_col, Evaluated, File, Module, Scope, TfVars};
use crate::value::Val;
use crate::Problem;

/// Whether a module `source` is a local directory (evaluated) rather than a registry, git or
/// other remote source (not evaluated).
pub(super) fn is_local_source(source: &str) -> bool {
    source.starts_with("./") || source.starts_with("../")
}

/// The directory of a local module source: `./modules/x` -> `modules/x` under `dir` (reports
/// show clean paths).
pub(super) fn child_dir(dir: &Path, source: &str) -> PathBuf {
    dir.join(source)
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The local module directories (canonical paths) that the module in `dir` calls: `module`
/// blocks whose `source` is `./...` or `../...` (Terraform requires a literal source). Cheap
/// enough for a pre-pass over every module: a file without the word `module` is not parsed.
/// `texts` are the files' texts, as read by the caller (None: not readable; its scan reports
/// it), so that the caller can hand them to [`super::scan_module_texts`] and each file is read
/// once.
pub fn local_module_calls(dir: &Path, files: &[PathBuf], texts: &[Option<String>]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (path, text) in files.iter().zip(texts) {
        let Some(text) = text else {
            continue;
        };
        if !text.contains("module") {
            continue;
        }
        let converted;
        let text = if path.to_string_lossy().ends_with(".tf.json") {
            match serde_json::from_str::<Value>(text) {
                Ok(v) => {
                    converted = json_to_hcl(&v);
                    &converted
                }
                Err(_) => continue,
            }
        } else {
            text
        };
        let Ok(super::fastparse::Parsed { body, .. }) = super::fastparse::parse(text) else {
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

/// Meta-arguments of a module call (not inputs).
const MODULE_META: &[&str] = &[
    "source",
    "version",
    "providers",
    "depends_on",
    "count",
    "for_each",
];

/// Evaluates the module calls of `module` (its files `parsed`) into `result`; the chain of
/// modules being evaluated is `stack`.
#[allow(clippy::too_many_arguments)]
pub(super) fn evaluate_calls<'a>(
    module: &Module<'a>,
    parsed: &'a [File],
    module_calls: &[super::load::ModuleCall<'a>],
    dir: &Path,
    vars: &TfVars,
    prefix: &str,
    stack: &mut Vec<PathBuf>,
    result: &mut Evaluated,
    problems: &mut Vec<(String, Problem)>,
) {
    for (name, fi, b, span) in module_calls {
        let (line, column) = line_col(&parsed[*fi].text, span.start);
        let source = module
            .attr(b, "source")
            .map(|e| module.eval(e, &Scope::default()))
            .and_then(|v| v.text())
            .unwrap_or_default();
        // A module that cannot be found or forms a cycle cannot be read (exit 2); a remote
        // source is a `skipped` note, not a problem.
        let at = |message: String| Problem {
            address: Some(format!("{prefix}module.{name}")),
            line,
            column,
            message,
            unreadable: true,
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
        // Instances of the call (count / for_each), each with its inputs; when they are not
        // known, one `[*]` instance whose resources are all unknown instances.
        let (scopes, instances_unknown) = match module.instances(b) {
            Ok(scopes) => (scopes, module.instances_unknown.clone()),
            Err(why) => {
                let why = format!(
                    "the instances of {prefix}module.{name} are not known before apply: {why}"
                );
                let scope = Scope {
                    count_index: Some(Val::Unknown(why.clone())),
                    each: Some((Val::Unknown(why.clone()), Val::Unknown(why.clone()))),
                    bindings: Vec::new(),
                };
                (vec![("[*]".to_owned(), scope)], Some(why))
            }
        };
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
                Vec::new(),
                vars,
                Some(inputs),
                Some(module.providers_for_call(b)),
                &child_prefix,
                instances_unknown.clone(),
                stack,
            );
            result.resources.extend(ev.resources);
            result.positions.extend(ev.positions);
            result.skips.extend(ev.skips);
            result.problems.extend(ev.problems);
            result.notes.extend(ev.notes);
            result.children.extend(ev.children);
            result.provider_config.extend(ev.provider_config);
            module
                .module_outputs
                .borrow_mut()
                .insert(format!("{name}{index}"), ev.outputs);
        }
    }
}

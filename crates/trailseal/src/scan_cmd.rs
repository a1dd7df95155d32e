//! `trailseal scan PATH...`: infrastructure as code, same checks, same codes, before deploy.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use trailseal_iac::discover::{discover, kind, Kind};
use trailseal_iac::{cfn, problem_finding, tf, tfplan, IacScan, Problem, IAC_CODES};
use trailseal_model::Finding;
use trailseal_report::{sarif_report, text_report, JsonReport, TextOptions};

use crate::audit_cmd::exit_code;
use crate::cli::{Format, ScanArgs};
use crate::output::{emit, use_color};
use crate::UsageError;

/// Files larger than this are reported, not read (a template is at most 1 MB on AWS).
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;

pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let parameters = pairs("--parameter", &args.parameters)?;
    let vars = pairs("--var", &args.vars)?;
    let requested = args.filter.codes()?;
    let codes: Vec<&str> = IAC_CODES
        .iter()
        .copied()
        .filter(|c| requested.is_empty() || requested.iter().any(|r| r.eq_ignore_ascii_case(c)))
        .collect();
    if codes.is_empty() {
        return Err(UsageError(format!(
            "--checks: none of {} applies to infrastructure as code (these do: {})",
            requested.join(","),
            IAC_CODES.join(",")
        ))
        .into());
    }

    let (files, walk_errors) = discover(&args.paths);
    let mut findings: Vec<Finding> = walk_errors
        .iter()
        .map(|(path, message)| {
            problem_finding(
                &path.display().to_string(),
                &Problem {
                    address: None,
                    line: 1,
                    column: 1,
                    message: format!("cannot read {}: {message}", path.display()),
                },
            )
        })
        .collect();
    // Terraform: one scan per directory (a module); everything else per file.
    let mut modules: std::collections::BTreeMap<PathBuf, Vec<PathBuf>> = Default::default();
    for f in files.iter().filter(|f| kind(f) == Some(Kind::Terraform)) {
        let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
        modules.entry(dir).or_default().push(f.clone());
    }
    let mut units: Vec<Unit> = files
        .iter()
        .filter(|f| kind(f) != Some(Kind::Terraform))
        .map(|f| Unit::File(f.clone()))
        .collect();
    units.extend(
        modules
            .into_iter()
            .map(|(dir, files)| Unit::Module(dir, files)),
    );
    let inputs = Inputs {
        parameters: &parameters,
        vars: &vars,
        codes: &codes,
    };
    let per_unit = scan_units(&units, &inputs);
    // A directory used as a local module is evaluated with its caller's inputs; its own
    // scan as a root module (without them) is dropped.
    let children: std::collections::HashSet<PathBuf> = per_unit
        .iter()
        .flat_map(|r| r.children.iter().cloned())
        .collect();
    let mut scanned = 0;
    for r in per_unit {
        if r.dir.as_ref().is_some_and(|d| children.contains(d)) {
            continue;
        }
        scanned += r.files;
        findings.extend(r.findings);
    }

    let rendered = match args.out.format {
        Format::Json => {
            let input = serde_json::json!({
                "paths": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
                "files": scanned,
            });
            JsonReport::new(&findings, env!("CARGO_PKG_VERSION"), Some(input)).to_string_pretty()?
        }
        Format::Sarif => {
            serde_json::to_string_pretty(&sarif_report(&findings, env!("CARGO_PKG_VERSION")))?
                + "\n"
        }
        Format::Text => {
            format!("Scanned {scanned} file(s)\n\n")
                + &text_report(
                    &findings,
                    TextOptions {
                        color: use_color(&args.out),
                        verbose: args.filter.verbose,
                        compact: true,
                    },
                )
        }
    };
    emit(&args.out, &rendered)?;
    if scanned == 0 && findings.is_empty() {
        eprintln!("trailseal: error: no CloudFormation template, Terraform file or Terraform plan JSON found under the given paths");
        return Ok(2);
    }
    Ok(exit_code(&findings, &args.filter.fail_on))
}

/// `NAME=VALUE` options into a map.
fn pairs(option: &str, values: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for p in values {
        let Some((k, v)) = p.split_once('=') else {
            return Err(UsageError(format!("{option} {p:?}: expected NAME=VALUE")).into());
        };
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(out)
}

/// What one worker scans: a file (CloudFormation, plan JSON) or a Terraform module directory.
enum Unit {
    File(PathBuf),
    Module(PathBuf, Vec<PathBuf>),
}

struct Inputs<'a> {
    parameters: &'a HashMap<String, String>,
    vars: &'a HashMap<String, String>,
    codes: &'a [&'a str],
}

/// What one unit gave.
struct UnitResult {
    files: usize,
    findings: Vec<Finding>,
    /// The module directory (canonical), for Terraform.
    dir: Option<PathBuf>,
    /// Local module directories it evaluated as children.
    children: Vec<PathBuf>,
}

/// Scans the units on every core.
fn scan_units(units: &[Unit], inputs: &Inputs<'_>) -> Vec<UnitResult> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(units.len().max(1));
    let chunk = units.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = units
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|unit| match unit {
                            Unit::File(f) => {
                                let (counted, findings) =
                                    scan_file(f, inputs.parameters, inputs.codes);
                                UnitResult {
                                    files: usize::from(counted),
                                    findings,
                                    dir: None,
                                    children: Vec::new(),
                                }
                            }
                            Unit::Module(dir, files) => {
                                let scan = tf::scan_module(dir, files, inputs.vars);
                                let evaluated =
                                    trailseal_checks::evaluate_account(&scan.account, inputs.codes);
                                UnitResult {
                                    files: files.len(),
                                    findings: scan.localize(evaluated),
                                    dir: Some(dir.canonicalize().unwrap_or_else(|_| dir.clone())),
                                    children: scan.module_dirs.clone(),
                                }
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn scan_file(
    path: &Path,
    parameters: &HashMap<String, String>,
    codes: &[&str],
) -> (bool, Vec<Finding>) {
    let name = path.display().to_string();
    let error = |message: String| {
        (
            true,
            vec![problem_finding(
                &name,
                &Problem {
                    address: None,
                    line: 1,
                    column: 1,
                    message,
                },
            )],
        )
    };
    match std::fs::metadata(path) {
        Ok(m) if m.len() > MAX_FILE_BYTES => {
            return error(format!(
                "{name} is {} bytes: larger than any template, not read",
                m.len()
            ))
        }
        Ok(_) => {}
        Err(e) => return error(format!("cannot read {name}: {e}")),
    }
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return error(format!("cannot read {name}: {e}")),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return error(format!(
            "{name} is not UTF-8 text (a binary file?): not a template or plan"
        ));
    };
    match kind(path) {
        Some(Kind::CloudFormation) if tfplan::looks_like_plan(&text) => {
            let scan: IacScan = tfplan::scan(&name, &text);
            let findings = trailseal_checks::evaluate_account(&scan.account, codes);
            (true, scan.localize(findings))
        }
        Some(Kind::CloudFormation) if cfn::looks_like_template(&text) => {
            let scan: IacScan = cfn::scan(&name, &text, parameters);
            let findings = trailseal_checks::evaluate_account(&scan.account, codes);
            (true, scan.localize(findings))
        }
        _ => (false, Vec::new()),
    }
}

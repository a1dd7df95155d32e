//! `trailseal scan PATH...`: infrastructure as code, same checks, same codes, before deploy.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, Mutex, PoisonError};

use trailseal_iac::discover::{discover, kind, sort_by_path, Kind};
use trailseal_iac::{cfn, problem_finding, tf, tfplan, IacScan, Problem};
use trailseal_model::Finding;
use trailseal_report::{RenderedSet, Renderer, Reports};

use crate::cli::ScanArgs;
use crate::UsageError;

/// Files larger than this are reported, not read (a template is at most 1 MB on AWS).
const MAX_FILE_BYTES: u64 = 10 * 1024 * 1024;
/// How many bytes of Terraform file texts the module pre-pass keeps for the scan (beyond
/// this, a file is read a second time when its module is scanned): bounds memory on very
/// large trees.
const TEXT_BUDGET: usize = 64 * 1024 * 1024;

pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err(UsageError(
            "scan reads files and directories, not standard input: give the template's path".into(),
        )
        .into());
    }
    let parameters = pairs("--parameter", &args.parameters)?;
    let vars = tf::TfVars {
        values: pairs("--var", &args.vars)?,
        files: args.var_files.clone(),
    };
    if let Some(missing) = vars.files.iter().find(|f| !f.is_file()) {
        return Err(UsageError(format!(
            "--var-file {}: no such file (a tfvars file: NAME = VALUE lines)",
            missing.display()
        ))
        .into());
    }
    let iac_codes = trailseal_checks::iac_codes();
    let codes = args.filter.codes(&iac_codes).map_err(|e| {
        let live_only: Vec<&str> = args
            .filter
            .checks
            .iter()
            .filter_map(|c| trailseal_checks::find(c.trim()))
            .filter(|c| !c.info.applies.iac)
            .map(|c| c.info.code)
            .collect();
        if live_only.is_empty() {
            e
        } else {
            UsageError(format!(
                "--checks: {} need(s) a deployed account (`trailseal audit`): none of them applies to infrastructure as code (these do: {})",
                live_only.join(","),
                iac_codes.join(",")
            ))
        }
    })?;

    // Terraform files are read as the walk finds them (each file once: the text is kept for
    // the scan, up to a memory budget), and their local module calls noted.
    let budget = AtomicUsize::new(TEXT_BUDGET);
    let (found, walk_errors) = discover(&args.paths, |path| {
        (kind(path) == Some(Kind::Terraform)).then(|| read_terraform(path, &budget))
    });
    let files: Vec<PathBuf> = found.iter().map(|(path, _)| path.clone()).collect();
    crate::output::refuse_overwriting_input(
        args.out.output.as_deref(),
        args.var_files.iter().map(PathBuf::as_path),
    )?;
    crate::output::refuse_overwriting_scanned(
        args.out.output.as_deref(),
        files.iter().map(PathBuf::as_path),
    )?;
    let walk_findings: Vec<Finding> = walk_errors
        .iter()
        .map(|(path, message)| {
            problem_finding(
                &path.display().to_string(),
                &Problem::file(format!("cannot read {}: {message}", path.display())),
            )
        })
        .collect();
    // Terraform: one scan per directory (a module); everything else per file.
    let mut tf_files: Vec<(PathBuf, PathBuf, TfFile)> = Vec::new();
    let mut units: Vec<Unit> = Vec::new();
    for (path, read) in found {
        match read {
            Some(read) => {
                let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
                tf_files.push((dir, path, read));
            }
            None => units.push(Unit::File(path)),
        }
    }
    // By directory, in `Path` order; a directory's files stay in the walk's sorted order.
    sort_by_path(&mut tf_files, |(dir, _, _)| dir);
    let mut modules: Vec<(PathBuf, Vec<(PathBuf, TfFile)>)> = Vec::new();
    for (dir, path, read) in tf_files {
        match modules.last_mut() {
            Some((last, files)) if *last == dir => files.push((path, read)),
            _ => modules.push((dir, vec![(path, read)])),
        }
    }
    units.extend(roots(modules));
    let declared = Mutex::new(HashSet::new());
    let inputs = Inputs {
        parameters: &parameters,
        vars: &vars,
        codes: &codes,
        declared: &declared,
    };

    if args.out.format == crate::cli::Format::Asff
        || args.out.output_formats.contains(&crate::cli::Format::Asff)
    {
        return Err(UsageError(
            "--format asff writes findings of a deployed AWS account (ASFF requires an account \
             id and Region): use it with `trailseal audit`; for infrastructure as code use \
             sarif, junit, ocsf or csv"
                .into(),
        )
        .into());
    }
    let crate::output::Outputs {
        renderers,
        sinks,
        files: outputs_written,
    } = crate::output::outputs(&args.out, &args.filter, true, "scan", |_| {})?;
    let written = |e: std::io::Error| crate::output::written_error(&args.out, e);
    let mut reports = Reports::new(&renderers, sinks).map_err(written)?;
    reports.add(&walk_findings).map_err(written)?;
    let scanned = scan_units(&units, &inputs, &renderers, &mut reports).map_err(written)?;
    let input = serde_json::json!({
        "paths": args.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "files": scanned,
    });
    let header = format!("Scanned {scanned} file(s)\n\n");
    let tally = crate::output::finish(reports, &outputs_written, &args.out, &input, &header)?;
    if scanned == 0 && tally.findings == 0 {
        eprintln!("trailseal: error: no CloudFormation template, Terraform file or Terraform plan JSON found under the given paths");
        return Ok(2);
    }
    if tally.unreadable_input {
        eprintln!(
            "trailseal: error: some input could not be read or parsed (TS000 above): the run fails (exit 2) whatever --fail-on says"
        );
    }
    // A --var or --parameter that no scanned file declares is a mistake (a typo, the wrong
    // directory): Terraform refuses an undeclared -var too.
    let declared = declared
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut unused: Vec<String> = vars
        .values
        .keys()
        .filter(|k| !declared.contains(*k))
        .map(|k| format!("--var {k}"))
        .chain(
            parameters
                .keys()
                .filter(|k| !declared.contains(*k))
                .map(|k| format!("--parameter {k}")),
        )
        .collect();
    if !unused.is_empty() {
        unused.sort();
        eprintln!(
            "trailseal: error: {} named by no scanned file (no template parameter or root-module variable of that name)",
            unused.join(", ")
        );
        return Ok(2);
    }
    // Templates and modules read in full that define no trail and no event data store: there
    // is nothing this control applies to, which is not "could not be evaluated" (a repository's
    // other infrastructure, scanned by a pre-commit hook or CI on every change).
    if scanned > 0 && tally.findings == 0 {
        // Unless a file holds content the scan cannot see: a nested stack, a stack set, a
        // serverless application, a macro (Transform), a Terraform CloudFormation stack. A trail
        // could be there: not "nothing to check", but "could not be evaluated" (exit 2 below).
        let hidden: Vec<String> = files
            .iter()
            .filter_map(|f| hidden_content(f).map(|what| format!("{} ({what})", f.display())))
            .collect();
        if hidden.is_empty() {
            eprintln!(
                "trailseal: note: the {scanned} file(s) scanned define nothing the selected \
                 checks apply to (no CloudTrail trail or event data store): nothing to check"
            );
            return Ok(0);
        }
        eprintln!(
            "trailseal: error: nothing could be evaluated: no trail was found, but these files \
             hold infrastructure the scan cannot read, where trails may be: {}",
            hidden.join(", ")
        );
        return Ok(2);
    }
    let code = tally.exit_code(args.filter.threshold());
    if code == 2 && !tally.unreadable_input {
        eprintln!(
            "trailseal: error: nothing could be evaluated: every file found was skipped (see the TS000 notes above)"
        );
    }
    Ok(code)
}

/// The Terraform module directories to scan as root modules: a directory another scanned
/// module calls as a local module (`source = "./modules/kms"`) is evaluated inside its caller,
/// with the caller's inputs, and not again on its own. Directories that only call each other
/// (a cycle, no root above them) are scanned as roots, which reports the cycle. `modules` are
/// the directories, sorted, with their files.
fn roots(modules: Vec<(PathBuf, Vec<(PathBuf, TfFile)>)>) -> Vec<Unit> {
    let mut calls: Vec<Vec<PathBuf>> = Vec::with_capacity(modules.len());
    let mut texts: Vec<Vec<Option<String>>> = Vec::with_capacity(modules.len());
    let modules: Vec<(PathBuf, Vec<PathBuf>)> = modules
        .into_iter()
        .map(|(dir, files)| {
            let mut module_calls = Vec::new();
            let mut module_texts = Vec::with_capacity(files.len());
            let mut paths = Vec::with_capacity(files.len());
            for (path, read) in files {
                paths.push(path);
                module_texts.push(read.text);
                module_calls.extend(read.calls);
            }
            module_calls.sort();
            module_calls.dedup();
            calls.push(module_calls);
            texts.push(module_texts);
            (dir, paths)
        })
        .collect();
    if calls.iter().all(Vec::is_empty) {
        return modules
            .into_iter()
            .zip(texts)
            .map(|((dir, files), texts)| Unit::Module(dir, files, texts))
            .collect();
    }
    let calls: Vec<(PathBuf, Vec<PathBuf>)> = parallel_map(&modules, |(dir, _)| {
        dir.canonicalize().unwrap_or_else(|_| dir.clone())
    })
    .into_iter()
    .zip(calls)
    .collect();
    let called: HashSet<&PathBuf> = calls.iter().flat_map(|(_, c)| c).collect();
    let index: HashMap<&PathBuf, usize> = calls
        .iter()
        .enumerate()
        .map(|(i, (dir, _))| (dir, i))
        .collect();
    // Everything reachable from a directory nobody calls is a child.
    let mut child = vec![false; calls.len()];
    let mut stack: Vec<usize> = (0..calls.len())
        .filter(|&i| !called.contains(&calls[i].0))
        .collect();
    let mut seen = vec![false; calls.len()];
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut seen[i], true) {
            continue;
        }
        for c in &calls[i].1 {
            if let Some(&j) = index.get(c) {
                child[j] = true;
                stack.push(j);
            }
        }
    }
    modules
        .into_iter()
        .zip(child)
        .zip(texts)
        .filter(|((_, is_child), _)| !is_child)
        .map(|(((dir, files), _), texts)| Unit::Module(dir, files, texts))
        .collect()
}

/// A Terraform file as the walk read it.
struct TfFile {
    /// Its text; None when it could not be read (it is read again, and the error reported,
    /// when its module is scanned) or past the memory budget.
    text: Option<String>,
    /// The local module directories it calls (canonical).
    calls: Vec<PathBuf>,
}

/// Reads a Terraform file for the scan: its text (kept while `budget` bytes are left) and the
/// local modules it calls.
fn read_terraform(path: &Path, budget: &AtomicUsize) -> TfFile {
    let text = read_text(path);
    let dir = path.parent().unwrap_or_else(|| Path::new(""));
    let calls = tf::local_module_calls(dir, &[path.to_path_buf()], std::slice::from_ref(&text));
    let size = text.as_ref().map_or(0, String::len);
    let kept = budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
            left.checked_sub(size)
        })
        .is_ok();
    TfFile {
        text: text.filter(|_| kept),
        calls,
    }
}

/// A file's text, read without asking for its size first as `fs::read_to_string` does: one
/// system call fewer per file on the walk, which the scan's workers wait for (into a buffer
/// kept by the walker thread, then copied to a string of the text's size). None when the file
/// cannot be read or is not UTF-8: it is read again when its module is scanned, and the error
/// reported then.
fn read_text(path: &Path) -> Option<String> {
    use std::cell::RefCell;
    use std::io::Read;
    thread_local! {
        static BUFFER: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(64 * 1024));
    }
    let file = std::fs::File::open(path).ok()?;
    BUFFER.with(|buffer| {
        let mut buffer = buffer.borrow_mut();
        buffer.clear();
        // Through `take`: `File`'s own `read_to_end` asks for the file's size first.
        file.take(u64::MAX).read_to_end(&mut buffer).ok()?;
        std::str::from_utf8(&buffer).ok().map(str::to_owned)
    })
}

/// `f` over `items` on every core, results in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = workers(items.len());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().map(f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn workers(units: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(units.max(1))
}

/// `NAME=VALUE` options into a map.
fn pairs(option: &str, values: &[String]) -> anyhow::Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for p in values {
        let Some((k, v)) = p.split_once('=') else {
            return Err(UsageError(format!("{option} {p:?}: expected NAME=VALUE")).into());
        };
        if k.trim().is_empty() {
            return Err(
                UsageError(format!("{option} {p:?} names nothing: expected NAME=VALUE")).into(),
            );
        }
        out.insert(k.trim().to_owned(), v.to_owned());
    }
    Ok(out)
}

/// What one worker scans: a file (CloudFormation, plan JSON) or a Terraform module directory.
enum Unit {
    File(PathBuf),
    /// A root module's directory, its files, and their texts when already read (see
    /// [`roots`]).
    Module(PathBuf, Vec<PathBuf>, Vec<Option<String>>),
}

struct Inputs<'a> {
    parameters: &'a HashMap<String, String>,
    vars: &'a tf::TfVars,
    codes: &'a [&'a str],
    /// Every template parameter and root-module variable the scanned files declare.
    declared: &'a Mutex<HashSet<String>>,
}

impl Inputs<'_> {
    fn declare(&self, scan: &IacScan) {
        if self.parameters.is_empty() && self.vars.values.is_empty() {
            return;
        }
        self.declared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(scan.declared_inputs.iter().cloned());
    }
}

/// Units a worker takes at a time (fewer hand-overs and wake-ups than one by one).
const CHUNK: usize = 16;
/// How many chunks ahead of the writer the workers may get (bounds the results held for
/// ordering).
const WINDOW: usize = 32;

/// Written chunks, and how many workers wait for the writer.
#[derive(Default)]
struct Progress {
    written: usize,
    waiting: usize,
}

/// Scans the units on every core and writes their findings in unit order as they come.
/// Returns the number of files scanned.
fn scan_units<W: Write>(
    units: &[Unit],
    inputs: &Inputs<'_>,
    renderers: &[Renderer],
    writer: &mut Reports<'_, W>,
) -> std::io::Result<usize> {
    let chunks: Vec<&[Unit]> = units.chunks(CHUNK).collect();
    let next = AtomicUsize::new(0);
    let progress = (Mutex::new(Progress::default()), Condvar::new());
    let (tx, rx) = mpsc::channel::<(usize, Vec<(usize, RenderedSet)>)>();
    std::thread::scope(|s| {
        for _ in 0..workers(chunks.len()) {
            let tx = tx.clone();
            let (next, progress, chunks) = (&next, &progress, &chunks);
            s.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(chunk) = chunks.get(i) else { break };
                {
                    let mut p = progress.0.lock().unwrap_or_else(PoisonError::into_inner);
                    while i >= p.written + WINDOW {
                        p.waiting += 1;
                        p = progress.1.wait(p).unwrap_or_else(PoisonError::into_inner);
                        p.waiting -= 1;
                    }
                }
                let done = chunk
                    .iter()
                    .map(|unit| {
                        let (files, findings) = scan_unit(unit, inputs);
                        (files, Reports::<W>::render(renderers, &findings))
                    })
                    .collect();
                if tx.send((i, done)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        let mut pending: BTreeMap<usize, Vec<(usize, RenderedSet)>> = BTreeMap::new();
        let (mut expected, mut files) = (0, 0);
        let mut result = Ok(());
        for (i, done) in rx {
            pending.insert(i, done);
            while let Some(done) = pending.remove(&expected) {
                for (n, rendered) in done {
                    files += n;
                    if result.is_ok() {
                        result = writer.push(rendered);
                    }
                }
                expected += 1;
            }
            let mut p = progress.0.lock().unwrap_or_else(PoisonError::into_inner);
            p.written = expected;
            if p.waiting > 0 {
                progress.1.notify_all();
            }
        }
        result.map(|()| files)
    })
}

/// Scans one unit: the number of files it covers and its findings. A panic (a bug) in a
/// parser or evaluator is reported as an error on the unit; the scan goes on.
fn scan_unit(unit: &Unit, inputs: &Inputs<'_>) -> (usize, Vec<Finding>) {
    let run = || match unit {
        Unit::File(f) => {
            let (counted, findings) = scan_file(f, inputs);
            (usize::from(counted), findings)
        }
        Unit::Module(dir, files, texts) => {
            let scan = tf::scan_module_texts(dir, files, texts.clone(), inputs.vars);
            inputs.declare(&scan);
            let evaluated = trailseal_checks::evaluate_account(&scan.account, inputs.codes);
            (files.len(), scan.localize(evaluated))
        }
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|_| {
        let path = match unit {
            Unit::File(f) => f,
            Unit::Module(dir, ..) => dir,
        };
        let name = path.display().to_string();
        (
            0,
            vec![problem_finding(
                &name,
                &Problem::file(format!(
                        "internal error while scanning {name} (a trailseal bug: please report it with the file); the rest of the scan went on"
                    )),
            )],
        )
    })
}

fn scan_file(path: &Path, inputs: &Inputs<'_>) -> (bool, Vec<Finding>) {
    let codes = inputs.codes;
    let name = path.display().to_string();
    let error = |message: String| (true, vec![problem_finding(&name, &Problem::file(message))]);
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
            let scan: IacScan = cfn::scan(&name, &text, inputs.parameters);
            inputs.declare(&scan);
            let findings = trailseal_checks::evaluate_account(&scan.account, codes);
            (true, scan.localize(findings))
        }
        _ => (false, Vec::new()),
    }
}

/// What in a file the scan cannot see into (a template or module defined elsewhere, a macro),
/// by the lines that declare it; `None` when there is nothing of the kind. SAM's own transform
/// (`AWS::Serverless-2016-10-31`) only expands serverless resources, never a trail.
fn hidden_content(path: &Path) -> Option<&'static str> {
    const TYPES: &[(&str, &str)] = &[
        ("AWS::CloudFormation::Stack", "a nested stack or stack set"),
        ("AWS::Serverless::Application", "a serverless application"),
        (
            "\"aws_cloudformation_stack",
            "a CloudFormation stack in Terraform",
        ),
    ];
    let text = std::fs::read_to_string(path).ok()?;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('#') || l.starts_with("//") {
            continue;
        }
        if let Some((_, what)) = TYPES.iter().find(|(t, _)| l.contains(t)) {
            return Some(what);
        }
        if l.contains("Fn::Transform") || l.contains("!Transform") {
            return Some("a CloudFormation macro or include");
        }
        // The template's Transform section (YAML or JSON), but SAM's own.
        let transform = line.starts_with("Transform:")
            || l.starts_with("\"Transform\":") && line.len() - l.len() <= 2;
        if transform && !l.contains("AWS::Serverless-2016-10-31") {
            return Some("a CloudFormation macro");
        }
    }
    None
}

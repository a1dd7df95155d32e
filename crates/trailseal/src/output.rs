//! Reading inputs and writing reports.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context as _;

use trailseal_model::Finding;
use trailseal_report::{Renderer, Reports, Style, TextOptions};

use crate::cli::{FilterArgs, Format, OutputArgs};
use crate::UsageError;

/// Reads a file, or standard input for `-`. Errors name the file and what to do.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    let bytes = std::fs::read(path).map_err(|e| {
        UsageError(format!(
            "cannot read {}: {e} (check the path and permissions)",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|_| {
        UsageError(format!(
            "{} is not UTF-8 text (a binary file?): the input is a JSON document",
            path.display()
        ))
        .into()
    })
}

/// Whether to colour: only on a terminal, never with --no-color or NO_COLOR, never into a file.
pub fn use_color(out: &OutputArgs) -> bool {
    !out.no_color
        && out.output.is_none()
        && std::env::var_os("NO_COLOR").is_none()
        && std::io::stdout().is_terminal()
}

/// Writes to standard output; a reader that went away (`trailseal ... | head`) is not an
/// error and never a panic.
pub fn print_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// The report style of `--format`, with the text options of `--verbose` / `--quiet`.
pub fn style(out: &OutputArgs, filter: &FilterArgs, snippets: bool) -> Style {
    style_of(out.format, use_color(out), filter, snippets)
}

/// The report style of a format.
fn style_of(format: Format, color: bool, filter: &FilterArgs, snippets: bool) -> Style {
    let text = TextOptions {
        color,
        verbose: filter.verbose,
        compact: true,
        snippets,
        quiet: filter.quiet,
        by_account: false,
    };
    match format {
        Format::Json => Style::Json,
        Format::Jsonl => Style::Jsonl,
        Format::Sarif => Style::Sarif,
        Format::Text => Style::Text(text),
        Format::Csv => Style::Csv,
        Format::Junit => Style::Junit,
        Format::Ocsf => Style::Ocsf,
        Format::OcsfJsonl => Style::OcsfJsonl,
        Format::Asff => Style::Asff,
        Format::Html => Style::Html(TextOptions {
            color: false,
            ..text
        }),
    }
}

/// The output file as it is now, when writing it could overwrite an input: only an existing
/// regular file can (a new file, `/dev/null` or a pipe cannot be one of the inputs), so most
/// runs compare nothing.
fn existing_output(output: Option<&Path>) -> Option<(&Path, std::fs::Metadata)> {
    let out = output?;
    let meta = std::fs::metadata(out).ok()?;
    meta.is_file().then_some((out, meta))
}

/// Whether `path` is the file `meta` describes (the same inode: hard links and symbolic links
/// too).
fn is_same_file(meta: &std::fs::Metadata, out: &Path, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let _ = out;
        std::fs::metadata(path).is_ok_and(|m| m.dev() == meta.dev() && m.ino() == meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        matches!((out.canonicalize(), path.canonicalize()), (Ok(x), Ok(y)) if x == y)
    }
}

/// Refuses an `--output` that is one of the command's inputs: the report would overwrite what it
/// reports on.
pub fn refuse_overwriting_input<'a>(
    output: Option<&Path>,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), UsageError> {
    refuse_overwriting(output, inputs, |_| false)
}

/// [`refuse_overwriting_input`] for a scan, whose inputs are whatever the walk found: an
/// earlier report trailseal wrote may be replaced (it is no template). Only an input that is
/// the output file is read to tell.
pub fn refuse_overwriting_scanned<'a>(
    output: Option<&Path>,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), UsageError> {
    refuse_overwriting(output, inputs, is_trailseal_report)
}

fn refuse_overwriting<'a>(
    output: Option<&Path>,
    inputs: impl IntoIterator<Item = &'a Path>,
    replaceable: impl Fn(&Path) -> bool,
) -> Result<(), UsageError> {
    let Some((out, meta)) = existing_output(output) else {
        return Ok(());
    };
    for input in inputs {
        if is_same_file(&meta, out, input) && !replaceable(input) {
            return Err(UsageError(format!(
                "the output file {} is the input {}: writing would overwrite it; write elsewhere",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

/// Whether a file is a report (or other document) trailseal wrote, by its start.
fn is_trailseal_report(path: &Path) -> bool {
    let mut head = vec![0; 4096];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    read > 0 && written_by_trailseal(&String::from_utf8_lossy(&head[..read]))
}

/// Refuses to overwrite an existing file that trailseal did not write: a report, evidence or a
/// plan (a trailseal JSON document, SARIF, a text report) may be replaced; a template, a
/// Terraform or variables file, a policy, anything else may not (`-o main.tf`, or a hard link
/// to an input, would destroy it, and a scan could read it empty).
pub fn refuse_overwriting_other_files(path: &Path) -> Result<(), UsageError> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Ok(());
    };
    if !meta.is_file() || meta.len() == 0 {
        return Ok(());
    }
    let mut head = vec![0; 4096];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..read]);
    if written_by_trailseal(&head) {
        return Ok(());
    }
    Err(UsageError(format!(
        "refusing to overwrite {}: it is not a report trailseal wrote (choose a new file name, or \
         delete it first)",
        path.display()
    )))
}

/// Whether the start of a file is a whole document trailseal writes and may replace: a JSON
/// document whose first key is `schema` naming one of trailseal's documents (never a journal:
/// replacing it would make `rollback` impossible), SARIF whose driver is trailseal, or a text
/// report whose first line is one of trailseal's headers.
fn written_by_trailseal(head: &str) -> bool {
    let text = head.trim_start();
    let whole = text;
    // CSV, JUnit, OCSF, ASFF, HTML and JSON Lines reports, each by the way trailseal starts it
    // (`lines()` takes the CRLF of CSV off).
    let csv_header = trailseal_report::csv::COLUMNS.join(",");
    let first_line = whole.lines().next().unwrap_or_default();
    let array_of = |first_key: &str| {
        whole
            .strip_prefix('[')
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix('{'))
            .is_some_and(|r| r.trim_start().starts_with(first_key))
    };
    if first_line == csv_header
        || whole.starts_with("<?xml") && whole.contains(trailseal_report::WRITTEN_BY_XML)
        || whole.starts_with("<!DOCTYPE html>") && whole.contains(trailseal_report::WRITTEN_BY_HTML)
        || array_of("\"activity_id\": 1,") && whole.contains("\"vendor_name\": \"trailseal\"")
        || first_line.starts_with("{\"activity_id\":1,")
            && first_line.contains("\"vendor_name\":\"trailseal\"")
        || array_of("\"SchemaVersion\": \"2018-10-08\"")
            && whole.contains("\"ProductName\": \"trailseal\"")
        || first_line.starts_with("{\"code\":\"TS") && first_line.contains("\"compliance\":")
        || first_line.starts_with("{\"end\":\"trailseal.audit/")
    {
        return true;
    }
    // Several plans (accounts) are a JSON array of them.
    let text = match text.strip_prefix('[') {
        Some(rest) if rest.trim_start().starts_with('{') => rest.trim_start(),
        _ => text,
    };
    if let Some(rest) = text.strip_prefix('{') {
        let rest = rest.trim_start();
        if let Some(schema) = rest
            .strip_prefix("\"schema\":")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix("\"trailseal."))
        {
            return ["audit/", "evidence/", "plan/", "lint/", "catalogue/"]
                .iter()
                .any(|d| schema.starts_with(d));
        }
        return rest.starts_with("\"$schema\":")
            && rest.contains("sarif")
            && rest.contains("\"name\": \"trailseal\"");
    }
    let first = text.lines().next().unwrap_or_default();
    let scanned = first
        .strip_prefix("Scanned ")
        .and_then(|r| r.strip_suffix(" file(s)"))
        .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
    scanned
        || (first.starts_with("Evidence ")
            || first.starts_with("Account ")
            || first.starts_with("Accounts")
            || first.starts_with("Merged "))
            && first.contains(", collected ")
        || first.starts_with("Key policy ") && first.contains(", evaluated for trail ")
}

/// Where the report goes: `--output FILE` or standard output.
pub fn report_sink(out: &OutputArgs) -> anyhow::Result<Box<dyn Write>> {
    if let Some(path) = &out.output {
        refuse_overwriting_other_files(path)?;
    }
    Ok(match &out.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the report to {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Writes the whole report of `findings` (audit, policy check, merge) and returns the exit
/// code of the one rule ([`Tally::exit_code`] with `--fail-on` / `--exit-zero`).
pub fn report(
    out: &OutputArgs,
    filter: &FilterArgs,
    findings: &[Finding],
    input: &serde_json::Value,
    text_header: &str,
    label: &str,
) -> anyhow::Result<u8> {
    Ok(report_muted(out, filter, findings, input, text_header, label)?.0)
}

/// [`report`], also returning the findings as reported (the mutelist applied, once).
pub fn report_muted(
    out: &OutputArgs,
    filter: &FilterArgs,
    findings: &[Finding],
    input: &serde_json::Value,
    text_header: &str,
    label: &str,
) -> anyhow::Result<(u8, Vec<Finding>)> {
    let outputs = outputs(out, filter, false, label, |_| {})?;
    write_all(outputs, out, filter, findings, input, text_header)
}

/// Writes `findings` into every output at once (the mutelist applied once) and ends them;
/// returns the exit code and the findings as reported.
pub fn write_all(
    outputs: Outputs,
    out: &OutputArgs,
    filter: &FilterArgs,
    findings: &[Finding],
    input: &serde_json::Value,
    text_header: &str,
) -> anyhow::Result<(u8, Vec<Finding>)> {
    let mut reports = Reports::new(&outputs.renderers, outputs.sinks)?;
    let muted = reports.mute(findings).into_owned();
    reports
        .push_muted(&muted)
        .map_err(|e| written_error(out, e))?;
    let tally = finish(reports, &outputs.files, out, input, text_header)?;
    Ok((tally.exit_code(filter.threshold()), muted))
}

/// Ends a run's reports: their last part written, the mutelist's warnings printed, the files
/// of `--output-dir` named.
pub fn finish<W: Write>(
    reports: Reports<'_, W>,
    files: &Written,
    out: &OutputArgs,
    input: &serde_json::Value,
    text_header: &str,
) -> anyhow::Result<trailseal_report::Tally> {
    let warnings = reports.mutelist_warnings();
    let tally = reports
        .finish(Some(input), text_header)
        .map_err(|e| written_error(out, e))?;
    for w in warnings {
        eprintln!("trailseal: warning: {w}");
    }
    files.announce();
    Ok(tally)
}

/// A report that could not be written: where it was going.
pub fn written_error(out: &OutputArgs, e: std::io::Error) -> anyhow::Error {
    anyhow::Error::new(e).context(match (&out.output, &out.output_dir) {
        (Some(path), _) => format!("cannot write the report to {}", path.display()),
        (None, Some(dir)) => format!("cannot write the reports into {}", dir.display()),
        (None, None) => "cannot write the report to standard output".to_owned(),
    })
}

/// Where a run's report goes: one renderer and sink (`-o FILE` or standard output), or one per
/// format of `--output-formats` into `--output-dir`. The mutelist is the first renderer's.
pub struct Outputs {
    pub renderers: Vec<Renderer>,
    pub sinks: Vec<std::io::BufWriter<Box<dyn Write>>>,
    pub files: Written,
}

/// The files `--output-dir` wrote, to name on standard error at the end.
#[derive(Default)]
pub struct Written(Vec<std::path::PathBuf>);

impl Written {
    pub fn announce(&self) {
        for f in &self.0 {
            eprintln!("trailseal: wrote {}", f.display());
        }
    }
}

/// The outputs of a report of several accounts (an organization audit, a merge): text and
/// HTML grouped by account when `by_account`, and every format with the account verdicts.
pub fn account_outputs(
    out: &OutputArgs,
    filter: &FilterArgs,
    label: &str,
    by_account: bool,
) -> anyhow::Result<Outputs> {
    let mut outputs = outputs(out, filter, false, label, |style| {
        if let Style::Text(opts) | Style::Html(opts) = style {
            opts.by_account = by_account;
        }
    })?;
    outputs.renderers = std::mem::take(&mut outputs.renderers)
        .into_iter()
        .map(Renderer::with_account_verdicts)
        .collect();
    Ok(outputs)
}

/// The file name extension of a format in `--output-dir`.
fn extension(format: Format) -> &'static str {
    match format {
        Format::Text => "txt",
        Format::Json => "json",
        Format::Jsonl => "jsonl",
        Format::Sarif => "sarif",
        Format::Csv => "csv",
        Format::Junit => "junit.xml",
        Format::Ocsf => "ocsf.json",
        Format::OcsfJsonl => "ocsf.jsonl",
        Format::Asff => "asff.json",
        Format::Html => "html",
    }
}

/// The outputs of a run. `label` names the account (or what was evaluated) in `--output-dir`
/// file names; `adjust` changes each style (e.g. text by account).
pub fn outputs(
    out: &OutputArgs,
    filter: &FilterArgs,
    snippets: bool,
    label: &str,
    adjust: impl Fn(&mut Style),
) -> anyhow::Result<Outputs> {
    let Some(dir) = &out.output_dir else {
        let mut style = style(out, filter, snippets);
        adjust(&mut style);
        return Ok(Outputs {
            renderers: vec![renderer(style, filter)?],
            sinks: vec![std::io::BufWriter::with_capacity(
                1 << 16,
                report_sink(out)?,
            )],
            files: Written::default(),
        });
    };
    if !dir.is_dir() {
        return Err(UsageError(format!(
            "--output-dir {}: not a directory (create it first)",
            dir.display()
        ))
        .into());
    }
    let mut formats = if out.output_formats.is_empty() {
        vec![out.format]
    } else {
        out.output_formats.clone()
    };
    formats.sort();
    formats.dedup();
    // Seconds and milliseconds (`20261130T074100.123Z` -> `20261130T074100123Z`): two runs in
    // one second do not meet; files are created new (never replacing one), all names checked
    // first.
    let (time, ms) = trailseal_report::now();
    let stamp: String = format!(
        "{}{:03}Z",
        time.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(15)
            .collect::<String>(),
        ms.rem_euclid(1000)
    );
    let label: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut outputs = Outputs {
        renderers: Vec::new(),
        sinks: Vec::new(),
        files: Written::default(),
    };
    let paths: Vec<std::path::PathBuf> = formats
        .iter()
        .map(|f| dir.join(format!("trailseal-{label}-{stamp}.{}", extension(*f))))
        .collect();
    if let Some(taken) = paths.iter().find(|p| p.exists()) {
        return Err(UsageError(format!(
            "{} exists already (another run at the same moment?): run again",
            taken.display()
        ))
        .into());
    }
    for (i, (format, path)) in formats.into_iter().zip(paths).enumerate() {
        let mut style = style_of(format, false, filter, snippets);
        adjust(&mut style);
        // The mutelist is applied once, by the first renderer.
        let renderer = if i == 0 {
            renderer(style, filter)?
        } else {
            Renderer::new(style, env!("CARGO_PKG_VERSION"))
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
        outputs.renderers.push(renderer);
        outputs
            .sinks
            .push(std::io::BufWriter::with_capacity(1 << 16, Box::new(file)));
        outputs.files.0.push(path);
    }
    Ok(outputs)
}

/// The renderer of `style` with the mutelist of `--mutelist`, read and checked (a file that
/// cannot be used is a usage error naming its line).
pub fn renderer(style: Style, filter: &FilterArgs) -> anyhow::Result<Renderer> {
    let mutelist = match &filter.mutelist {
        None => None,
        Some(path) => {
            let text = read_input(path)?;
            let today = trailseal_aws::now_rfc3339();
            let today = today.get(..10).unwrap_or_default();
            Some(
                trailseal_report::mutelist::Mutelist::parse(&text, today)
                    .map_err(|e| UsageError(format!("--mutelist {}: {e}", path.display())))?,
            )
        }
    };
    Ok(Renderer::new(style, env!("CARGO_PKG_VERSION")).with_mutelist(mutelist))
}

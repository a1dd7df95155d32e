//! Reading inputs and writing reports.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context as _;

use trailseal_model::Finding;
use trailseal_report::{write_report, Renderer, Style, Tally, TextOptions};

use crate::cli::{FilterArgs, Format, OutputArgs};
use crate::UsageError;

/// Reads a file, or standard input for `-`. Errors name the file and what to do.
pub fn read_input(path: &Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the policy from standard input")?;
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
    match out.format {
        Format::Json => Style::Json,
        Format::Sarif => Style::Sarif,
        Format::Text => Style::Text(TextOptions {
            color: use_color(out),
            verbose: filter.verbose,
            compact: true,
            snippets,
            quiet: filter.quiet,
        }),
    }
}

/// Refuses an `--output` that is one of the command's inputs: the report would overwrite what it
/// reports on (and a scan could destroy a file before reading it).
pub fn refuse_overwriting_input<'a>(
    output: Option<&Path>,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), UsageError> {
    let Some(out) = output.and_then(|o| o.canonicalize().ok()) else {
        return Ok(());
    };
    for input in inputs {
        if input.canonicalize().is_ok_and(|i| i == out) {
            return Err(UsageError(format!(
                "--output {} is one of the inputs: the report would overwrite it; write the \
                 report elsewhere",
                input.display()
            )));
        }
    }
    Ok(())
}

/// Where the report goes: `--output FILE` or standard output.
pub fn report_sink(out: &OutputArgs) -> anyhow::Result<Box<dyn Write>> {
    Ok(match &out.output {
        Some(path) => Box::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the report to {}", path.display()))?,
        ),
        None => Box::new(std::io::stdout().lock()),
    })
}

/// Writes a whole report (audit, policy check) the one way reports are written
/// ([`trailseal_report::write_report`]) and returns its tally for the exit code. A reader that
/// went away (`| head`) is not an error.
pub fn write_findings(
    out: &OutputArgs,
    style: Style,
    findings: &[Finding],
    input: Option<&serde_json::Value>,
    text_header: &str,
) -> anyhow::Result<Tally> {
    let renderer = Renderer::new(style, env!("CARGO_PKG_VERSION"));
    match write_report(report_sink(out)?, &renderer, findings, input, text_header) {
        Ok(tally) => Ok(tally),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Tally::of(findings)),
        Err(e) => Err(e).with_context(|| match &out.output {
            Some(path) => format!("cannot write the report to {}", path.display()),
            None => "cannot write the report to standard output".to_owned(),
        }),
    }
}

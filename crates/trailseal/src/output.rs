//! Reading inputs and writing reports.

use std::io::{IsTerminal, Read, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::cli::OutputArgs;
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
            "{} is not UTF-8 text: a policy document is JSON text",
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

/// Writes the report to --output or standard output.
pub fn emit(out: &OutputArgs, text: &str) -> anyhow::Result<()> {
    match &out.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write the report to {}", path.display())),
        None => print_stdout(text),
    }
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

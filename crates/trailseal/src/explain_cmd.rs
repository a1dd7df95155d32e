//! `trailseal explain [CODE]`.

use crate::cli::ExplainArgs;
use std::fmt::Write as _;

use crate::output::print_stdout;
use crate::UsageError;

pub fn run(args: ExplainArgs) -> anyhow::Result<u8> {
    match args.code {
        None => {
            let mut out =
                String::from("trailseal checks (run `trailseal explain CODE` for details):\n");
            for c in trailseal_checks::registry() {
                let _ = writeln!(
                    out,
                    "  {}  {:<30} {:<8} {}",
                    c.info.code,
                    c.info.name,
                    c.info.severity.as_str(),
                    c.info.title
                );
            }
            let _ = writeln!(
                out,
                "  TS000  {:<30} {:<8} trailseal scan: a file could not be read (not a check)",
                "iac-input", "high"
            );
            print_stdout(&out)?;
            Ok(0)
        }
        Some(code) => match trailseal_checks::find(&code) {
            Some(c) => {
                print_stdout(&format!(
                    "{}\n\nCompliance: {}\n",
                    c.info.doc(),
                    c.info.compliance.join(", ")
                ))?;
                Ok(0)
            }
            None if code.eq_ignore_ascii_case("TS000") => {
                print_stdout(&format!("{}\n", trailseal_iac::INPUT_DOC))?;
                Ok(0)
            }
            None => {
                let known: Vec<&str> = trailseal_checks::registry()
                    .iter()
                    .map(|c| c.info.code)
                    .collect();
                Err(UsageError(format!(
                    "unknown check code {code:?}; known codes: {}",
                    known.join(", ")
                ))
                .into())
            }
        },
    }
}

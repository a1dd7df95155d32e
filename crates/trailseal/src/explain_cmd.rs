//! `trailseal explain [CODE]`.

use crate::cli::ExplainArgs;
use crate::UsageError;

pub fn run(args: ExplainArgs) -> anyhow::Result<u8> {
    match args.code {
        None => {
            println!("trailseal checks (run `trailseal explain CODE` for details):");
            for c in trailseal_checks::registry() {
                println!(
                    "  {}  {:<30} {:<8} {}",
                    c.info.code,
                    c.info.name,
                    c.info.severity.as_str(),
                    c.info.title
                );
            }
            Ok(0)
        }
        Some(code) => match trailseal_checks::find(&code) {
            Some(c) => {
                println!("{}", c.info.doc());
                println!(
                    "\nCompliance: {}",
                    trailseal_checks::CONTROL_COMPLIANCE.join(", ")
                );
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

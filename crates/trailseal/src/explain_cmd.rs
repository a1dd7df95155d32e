//! `trailseal explain [CODE] [--format json]`: the catalogue, from the checks crate's registry.

use std::fmt::Write as _;

use serde_json::{json, Value};
use trailseal_checks::CheckInfo;

use crate::cli::{ExplainArgs, PlanFormat};
use crate::output::print_stdout;
use crate::UsageError;

fn entry(i: &CheckInfo) -> Value {
    json!({
        "code": i.code,
        "name": i.name,
        "severity": i.severity.as_str(),
        "title": i.title,
        "applies": i.applies.names(),
        "compliant": i.compliant,
        "compliance": i.compliance,
        "doc": i.doc(),
    })
}

pub fn run(args: ExplainArgs) -> anyhow::Result<u8> {
    let json = args.format == PlanFormat::Json;
    match args.code {
        None if json => {
            let doc = json!({
                "schema": "trailseal.catalogue/v1",
                "checks": trailseal_checks::catalogue().map(entry).collect::<Vec<_>>(),
            });
            print_stdout(&(serde_json::to_string_pretty(&doc)? + "\n"))?;
            Ok(0)
        }
        None => {
            let mut out = String::from(
                "trailseal checks (run `trailseal explain CODE` for details; \"compliant\" = every \
                 check marked * passes):\n",
            );
            for i in trailseal_checks::catalogue() {
                let _ = writeln!(
                    out,
                    "  {}{} {:<30} {:<8} {:<18} {}",
                    i.code,
                    if i.compliant { "*" } else { " " },
                    i.name,
                    i.severity.as_str(),
                    i.applies.names().join(","),
                    i.title
                );
            }
            print_stdout(&out)?;
            Ok(0)
        }
        Some(code) => match trailseal_checks::info(&code).or_else(|| {
            // A check's name works too (`trailseal explain key-rotation`).
            trailseal_checks::catalogue().find(|i| i.name.eq_ignore_ascii_case(&code))
        }) {
            Some(i) if json => {
                print_stdout(&(serde_json::to_string_pretty(&entry(i))? + "\n"))?;
                Ok(0)
            }
            Some(i) => {
                let mut text = i.doc();
                text += &format!("\n\nApplies to: {}", i.applies.names().join(", "));
                if i.compliant {
                    text += "\nPart of \"compliant\" (the encryption control).";
                }
                if !i.compliance.is_empty() {
                    text += &format!("\nCompliance: {}", i.compliance.join(", "));
                }
                print_stdout(&(text + "\n"))?;
                Ok(0)
            }
            None => {
                let known: Vec<&str> = trailseal_checks::catalogue().map(|i| i.code).collect();
                Err(UsageError(format!(
                    "unknown check code {code:?}; known codes: {}",
                    known.join(", ")
                ))
                .into())
            }
        },
    }
}

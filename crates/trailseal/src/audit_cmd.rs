//! `trailseal audit --evidence FILE`: the whole catalogue on collected evidence, offline.

use trailseal_model::{Evidence, Finding, EVIDENCE_SCHEMA};
use trailseal_report::{json_report, sarif_report, text_report, TextOptions};

use crate::cli::{AuditArgs, Format};
use crate::output::{emit, read_input, use_color};
use crate::{collect_cmd, UsageError};

/// Exit code for a set of findings: 2 when nothing could be evaluated, 1 when a finding at or
/// above the threshold did not pass, 0 otherwise.
pub fn exit_code(findings: &[Finding], fail_on: &str) -> u8 {
    trailseal_report::Tally::of(findings).exit_code(fail_on)
}

pub fn run(args: AuditArgs) -> anyhow::Result<u8> {
    let codes = args.filter.codes()?;
    let (evidence, source) = match &args.evidence {
        Some(path) => (read_evidence(path)?, format!("Evidence {}", path.display())),
        None => {
            let evidence = collect_cmd::collect_live(&args.aws)?;
            let source = describe_live(&evidence);
            (evidence, source)
        }
    };
    let findings = trailseal_checks::evaluate(&evidence, &codes);
    let rendered = match args.out.format {
        Format::Json => {
            let mut doc = json_report(&findings, env!("CARGO_PKG_VERSION"));
            doc["input"] = match &args.evidence {
                Some(path) => serde_json::json!({
                    "evidence_file": path.display().to_string(),
                    "collected_at": evidence.collected_at,
                }),
                None => serde_json::json!({
                    "live": true,
                    "collected_at": evidence.collected_at,
                    "accounts": evidence.accounts.iter().map(|a| serde_json::json!({
                        "account": a.account,
                        "regions": a.regions.iter().map(|r| r.region.as_str()).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                }),
            };
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Sarif => {
            serde_json::to_string_pretty(&sarif_report(&findings, env!("CARGO_PKG_VERSION")))?
                + "\n"
        }
        Format::Text => {
            let header = format!("{source}, collected {}\n\n", evidence.collected_at);
            header
                + &text_report(
                    &findings,
                    TextOptions {
                        color: use_color(&args.out),
                        verbose: args.filter.verbose,
                        compact: true,
                        snippets: false,
                    },
                )
        }
    };
    emit(&args.out, &rendered)?;
    let code = exit_code(&findings, &args.filter.fail_on);
    if code == 2 {
        eprintln!("trailseal: error: nothing could be evaluated ({source})");
    }
    Ok(code)
}

/// Reads and checks an evidence file.
pub fn read_evidence(path: &std::path::Path) -> anyhow::Result<Evidence> {
    let file = path.display().to_string();
    let text = read_input(path)?;
    let evidence: Evidence = serde_json::from_str(&text)
        .map_err(|e| UsageError(format!("{file} is not a trailseal evidence file: {e}")))?;
    if evidence.schema != EVIDENCE_SCHEMA {
        return Err(UsageError(format!(
            "{file} has schema {:?}; this trailseal reads {EVIDENCE_SCHEMA}",
            evidence.schema
        ))
        .into());
    }
    Ok(evidence)
}

/// "Account 123456789012 (aws), 3 Regions: us-east-1, eu-west-1, ap-southeast-2"
fn describe_live(evidence: &Evidence) -> String {
    let accounts: Vec<String> = evidence
        .accounts
        .iter()
        .map(|a| {
            let regions: Vec<&str> = a.regions.iter().map(|r| r.region.as_str()).collect();
            format!(
                "Account {} ({}), {} Region{}: {}",
                a.account,
                a.partition,
                regions.len(),
                if regions.len() == 1 { "" } else { "s" },
                regions.join(", ")
            )
        })
        .collect();
    accounts.join("; ")
}

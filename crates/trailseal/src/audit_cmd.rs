//! `trailseal audit --evidence FILE`: the whole catalogue on collected evidence, offline.

use trailseal_model::{Evidence, EVIDENCE_SCHEMA};

use crate::cli::AuditArgs;
use crate::documents::{other_document, Expect};
use crate::output::{read_input, report};
use crate::{collect_cmd, UsageError};

pub fn run(mut args: AuditArgs) -> anyhow::Result<u8> {
    args.aws.verbose = args.filter.verbose;
    let all: Vec<&'static str> = trailseal_checks::registry()
        .iter()
        .map(|c| c.info.code)
        .collect();
    let codes = args.filter.codes(&all)?;
    crate::output::refuse_overwriting_input(args.out.output.as_deref(), args.evidence.as_deref())?;
    let (evidence, source) = match &args.evidence {
        Some(path) => (read_evidence(path)?, format!("Evidence {}", path.display())),
        None => {
            let evidence = collect_cmd::collect_live(&args.aws)?;
            let source = describe_live(&evidence);
            (evidence, source)
        }
    };
    let findings = trailseal_checks::evaluate(&evidence, &codes);
    let input = match &args.evidence {
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
    let header = format!("{source}, collected {}\n\n", evidence.collected_at);
    let code = report(&args.out, &args.filter, &findings, &input, &header)?;
    if code == 2 {
        eprintln!("trailseal: error: nothing could be evaluated ({source})");
    }
    Ok(code)
}

/// Reads and checks an evidence file. Anything else (an audit report, a plan, a Prowler or
/// Security Hub export, a policy) is named, with what was expected and how to make it.
pub fn read_evidence(path: &std::path::Path) -> anyhow::Result<Evidence> {
    let file = path.display().to_string();
    let text = read_input(path)?;
    let expected = format!(
        "expected a trailseal evidence file ({EVIDENCE_SCHEMA}), which `trailseal collect -o FILE` writes"
    );
    if let Some(what) = other_document(&text, Expect::Evidence) {
        return Err(UsageError(format!("{file} is {what}, not evidence; {expected}")).into());
    }
    let evidence: Evidence = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{file} is not a trailseal evidence file: {e}; {expected}"
        ))
    })?;
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

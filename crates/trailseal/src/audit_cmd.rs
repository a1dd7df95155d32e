//! `trailseal audit --evidence FILE`: the whole catalogue on collected evidence, offline.

use trailseal_model::{Evidence, EVIDENCE_SCHEMA};

use crate::cli::AuditArgs;
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
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        let head: String = text.chars().take(4096).collect();
        if head.contains("AWSTemplateFormatVersion") || head.trim_start().starts_with("Resources:")
        {
            UsageError(format!(
                "{file} is a CloudFormation template (try `trailseal scan`), not evidence; {expected}"
            ))
        } else if head.contains("resource \"") || head.contains("terraform {") {
            UsageError(format!(
                "{file} is Terraform (try `trailseal scan`), not evidence; {expected}"
            ))
        } else {
            UsageError(format!("{file} is not JSON ({e}); {expected}"))
        }
    })?;
    if let Some(what) = identify_other(&value) {
        return Err(UsageError(format!("{file} is {what}, not evidence; {expected}")).into());
    }
    let evidence: Evidence = serde_json::from_value(value).map_err(|e| {
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

/// What a JSON document that is not evidence looks like it is.
fn identify_other(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    let schema = value.get("schema").and_then(Value::as_str);
    match schema {
        Some(s) if s.starts_with("trailseal.audit/") => {
            return Some(format!(
                "a trailseal report ({s}: the findings of an audit or scan)"
            ))
        }
        Some(s) if s.starts_with("trailseal.plan/") => {
            return Some(format!("a trailseal remediation plan ({s})"))
        }
        Some(s) if s.starts_with("trailseal.lint/") => {
            return Some(format!("a trailseal policy lint report ({s})"))
        }
        Some(s) if s.starts_with("trailseal.evidence/") => return None,
        _ => {}
    }
    if value.get("runs").is_some() && value.get("version").is_some() {
        return Some("a SARIF report".to_owned());
    }
    if value.get("Statement").is_some() {
        return Some("an IAM / key policy document (try `trailseal policy check`)".to_owned());
    }
    if value.get("AWSTemplateFormatVersion").is_some() || value.get("Resources").is_some() {
        return Some("a CloudFormation template (try `trailseal scan`)".to_owned());
    }
    if value.get("format_version").is_some() && value.get("planned_values").is_some() {
        return Some("a Terraform plan (try `trailseal scan`)".to_owned());
    }
    let first = match value {
        Value::Array(items) => items.first(),
        Value::Object(map) => map.get("Findings").and_then(|f| f.as_array()?.first()),
        _ => None,
    };
    if let Some(item) = first {
        if item.get("CheckID").is_some() || item.get("StatusExtended").is_some() {
            return Some("a Prowler report".to_owned());
        }
        if item.get("finding_info").is_some() || item.get("class_uid").is_some() {
            return Some("an OCSF findings file (Prowler or Security Lake)".to_owned());
        }
        if item.get("SchemaVersion").is_some() && item.get("ProductArn").is_some() {
            return Some("AWS Security Hub findings (ASFF)".to_owned());
        }
        return Some("a JSON list, not an evidence object".to_owned());
    }
    if matches!(value, Value::Array(_)) {
        return Some("an empty JSON list".to_owned());
    }
    None
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

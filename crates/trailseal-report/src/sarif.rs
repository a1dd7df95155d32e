//! SARIF 2.1.0 for code-scanning UIs (GitHub, GitLab, Azure DevOps).
//!
//! One run; one rule per check of the catalogue (plus TS000 for unreadable input), with the
//! check's title, `explain` text and compliance tags. Results are the findings that need
//! attention: `fail` (kind `fail`, level by severity), `indeterminate` (kind `review`),
//! `error` (kind `open`: could not be decided), and suppressed findings with their
//! justification. Passing findings are left out (the JSON report has them all).

use serde_json::{json, Value};
use trailseal_model::{Finding, Severity, Status};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info => "note",
    }
}

pub(crate) fn rules() -> Vec<Value> {
    trailseal_checks::catalogue()
        .map(|i| {
            json!({
                "id": i.code,
                "name": i.name,
                "shortDescription": {"text": format!("{}: {}", i.code, i.title)},
                "fullDescription": {"text": i.summary()},
                "help": {"text": i.doc()},
                "defaultConfiguration": {"level": level(i.severity)},
                "properties": {"tags": i.compliance, "problem.severity": i.severity.as_str()},
            })
        })
        .collect()
}

/// A file as a SARIF artifact URI: relative paths stay relative (to the directory the scan ran
/// in, as code-scanning UIs expect), absolute ones become `file://` URIs; characters a URI
/// cannot hold are percent-encoded.
fn artifact_uri(file: &str) -> String {
    let encoded: String = file
        .trim_start_matches("./")
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect();
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

/// The `--format sarif` document.
pub fn sarif_report(findings: &[Finding], tool_version: &str) -> Value {
    let rules = rules();
    let index = rule_index(&rules);
    let results: Vec<Value> = findings
        .iter()
        .filter_map(|f| sarif_result(f, &index))
        .collect();
    sarif_skeleton(rules, tool_version, Value::Array(results))
}

/// Rule id -> its index in the rules of the run.
pub(crate) fn rule_index(rules: &[Value]) -> std::collections::HashMap<String, usize> {
    rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r["id"].as_str()?.to_owned(), i)))
        .collect()
}

/// The SARIF document around its `results`.
pub(crate) fn sarif_skeleton(rules: Vec<Value>, tool_version: &str, results: Value) -> Value {
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "trailseal",
                "version": tool_version,
                "informationUri": "https://example.invalid/trailseal",
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// The SARIF result of one finding; None for those that need no attention (passes, skips).
pub(crate) fn sarif_result(
    f: &Finding,
    index: &std::collections::HashMap<String, usize>,
) -> Option<Value> {
    let suppressed = f.status == Status::Skipped && f.message.starts_with("suppressed: ");
    // A muted finding is the finding it was, suppressed by the mutelist.
    let status = match (&f.muted, f.status) {
        (Some(m), Status::Muted) => m.status,
        _ => f.status,
    };
    let (kind, level) = match status {
        Status::Fail => ("fail", level(f.severity)),
        Status::Indeterminate => ("review", "none"),
        Status::Error => ("open", "none"),
        Status::Skipped if suppressed => ("fail", level(f.severity)),
        Status::Pass | Status::Skipped | Status::Muted => return None,
    };
    let mut location = json!({
        "logicalLocations": [{"fullyQualifiedName": f.resource, "kind": "resource"}],
    });
    // Standard input has no location a code-scanning UI could open.
    if let Some(file) = f.file.as_deref().filter(|f| *f != "-") {
        let mut region = json!({"startLine": f.line.unwrap_or(1).max(1)});
        if let Some(c) = f.column {
            region["startColumn"] = json!(c.max(1));
        }
        location["physicalLocation"] = json!({
            "artifactLocation": {"uri": artifact_uri(file)},
            "region": region,
        });
    }
    let mut result = json!({
        "ruleId": f.code,
        "kind": kind,
        "level": level,
        "message": {"text": format!("{}: {}\nFix: {}", f.resource, f.message, f.remediation)},
        "locations": [location],
        "properties": {"status": f.status, "severity": f.severity.as_str(), "account": f.account, "region": f.region},
    });
    if let Some(i) = index.get(&f.code) {
        result["ruleIndex"] = json!(i);
    }
    if suppressed {
        result["suppressions"] = json!([{
            "kind": "inSource",
            "justification": f.message.trim_start_matches("suppressed: "),
        }]);
    }
    if let (Some(m), Status::Muted) = (&f.muted, f.status) {
        result["suppressions"] = json!([{
            "kind": "external",
            "justification": m.reason,
        }]);
    }
    Some(result)
}

#[cfg(test)]
mod tests {
    use super::artifact_uri;

    #[test]
    fn artifact_uris_are_uris() {
        assert_eq!(artifact_uri("./infra/main.tf"), "infra/main.tf");
        assert_eq!(
            artifact_uri("/srv/my infra/a.yaml"),
            "file:///srv/my%20infra/a.yaml"
        );
        assert_eq!(artifact_uri("infra/ü.json"), "infra/%C3%BC.json");
    }
}

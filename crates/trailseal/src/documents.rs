//! What a file is when it is not what a command reads: `audit --evidence` given a report or a
//! Prowler export, `policy check` / `lint` given a template or a journal. One classifier for
//! both, on the file's first few kilobytes, so that the message names the file's kind and the
//! command that reads it.

/// What the command expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Evidence,
    Policy,
    /// An audit or scan report (`trailseal merge`).
    Report,
}

/// `Some(description)` when `text` is a kind of document other than `expected` (None: it may
/// be one, and the command's own parser decides).
pub fn other_document(text: &str, expected: Expect) -> Option<String> {
    let head: String = text.chars().take(4096).collect();
    let trimmed = head.trim_start();
    // trailseal's own documents name their schema first.
    for (schema, what) in [
        (
            "trailseal.evidence/",
            "trailseal evidence (`trailseal audit --evidence` evaluates it)",
        ),
        ("trailseal.audit/", "a trailseal report"),
        ("trailseal.plan/", "a trailseal remediation plan"),
        ("trailseal.lint/", "a trailseal policy lint report"),
        ("trailseal.catalogue/", "trailseal's check catalogue"),
        (
            "trailseal.journal/",
            "a fix --apply journal (`trailseal rollback` reads it)",
        ),
    ] {
        if let Some(at) = head.find(&format!("\"{schema}")) {
            if schema == "trailseal.evidence/" && expected == Expect::Evidence
                || schema == "trailseal.audit/" && expected == Expect::Report
            {
                return None;
            }
            let version: String = head[at + 1..].chars().take_while(|c| *c != '"').collect();
            return Some(match schema {
                "trailseal.audit/" => {
                    format!("{what} ({version}: the findings of an audit or scan)")
                }
                "trailseal.plan/" | "trailseal.lint/" => format!("{what} ({version})"),
                _ => what.to_owned(),
            });
        }
    }
    if head.contains("\"$schema\"") && head.contains("sarif") {
        return Some("a SARIF report".to_owned());
    }
    if head.contains("AWSTemplateFormatVersion")
        || trimmed.starts_with("Resources:")
        || head.contains("\"Resources\"") && head.contains("\"Type\"")
    {
        return Some("a CloudFormation template (`trailseal scan` checks it)".to_owned());
    }
    if head.contains("\"planned_values\"") || head.contains("\"resource_changes\"") {
        return Some("a Terraform plan (`trailseal scan` checks it)".to_owned());
    }
    if head.contains("resource \"aws_") || head.contains("terraform {") {
        return Some("Terraform (`trailseal scan` checks it)".to_owned());
    }
    if head.contains("\"CheckID\"") || head.contains("\"StatusExtended\"") {
        return Some("a Prowler report".to_owned());
    }
    if head.contains("\"finding_info\"") || head.contains("\"class_uid\"") {
        return Some("an OCSF findings file (Prowler or Security Lake)".to_owned());
    }
    if head.contains("\"SchemaVersion\"") && head.contains("\"ProductArn\"") {
        return Some("AWS Security Hub findings (ASFF)".to_owned());
    }
    match expected {
        Expect::Evidence if head.contains("\"Statement\"") => {
            Some("an IAM / key policy document (`trailseal policy check` evaluates it)".to_owned())
        }
        Expect::Evidence if trimmed.starts_with('[') => Some(
            if trimmed[1..].trim_start().starts_with(']') {
                "an empty JSON list"
            } else {
                "a JSON list, not an evidence object"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_a_file_is() {
        let audit = "{\n  \"schema\": \"trailseal.audit/v1\",\n  \"findings\": []\n}";
        assert_eq!(
            other_document(audit, Expect::Evidence).as_deref(),
            Some("a trailseal report (trailseal.audit/v1: the findings of an audit or scan)")
        );
        let evidence = "{\"schema\": \"trailseal.evidence/v1\", \"accounts\": []}";
        assert_eq!(other_document(evidence, Expect::Evidence), None);
        assert!(other_document(evidence, Expect::Policy).is_some());
        let policy = r#"{"Version": "2012-10-17", "Statement": []}"#;
        assert_eq!(other_document(policy, Expect::Policy), None);
        assert!(other_document(policy, Expect::Evidence).is_some());
        let template = "Resources:\n  T:\n    Type: AWS::CloudTrail::Trail\n";
        assert!(
            other_document(template, Expect::Policy).is_some_and(|w| w.contains("CloudFormation"))
        );
        let journal = "{\"schema\":\"trailseal.journal/v1\",\"kind\":\"header\"}\n";
        assert!(other_document(journal, Expect::Policy).is_some_and(|w| w.contains("rollback")));
        let prowler = r#"[{"CheckID": "x", "StatusExtended": "y"}]"#;
        assert_eq!(
            other_document(prowler, Expect::Evidence).as_deref(),
            Some("a Prowler report")
        );
        assert_eq!(
            other_document("[]", Expect::Evidence).as_deref(),
            Some("an empty JSON list")
        );
    }
}

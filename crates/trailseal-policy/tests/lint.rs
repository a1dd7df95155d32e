//! Lint rules added with the readers/unknown-value work: one test per rule.

use serde_json::{json, Value};
use trailseal_policy::*;

fn codes(statement: Value) -> Vec<&'static str> {
    let doc = json!({"Version": "2012-10-17", "Statement": [statement]});
    lint(&doc.to_string())
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

fn with_condition(condition: Value) -> Value {
    json!({"Effect": "Allow", "Principal": {"AWS": "111122223333"}, "Action": "kms:Decrypt",
        "Resource": "*", "Condition": condition})
}

// IAM User Guide, "IAM JSON policy elements: Condition operators": Numeric, Date, IpAddress and
// Bool take numbers, dates, IP addresses/CIDRs and booleans, with or without IfExists and set
// qualifiers.
#[test]
fn unparseable_typed_values_are_reported_for_every_operator_form() {
    for (op, key, code) in [
        (
            "NumericLessThan",
            "kms:GrantConstraintType",
            "INVALID_NUMBER",
        ),
        (
            "NumericNotEqualsIfExists",
            "kms:GrantConstraintType",
            "INVALID_NUMBER",
        ),
        ("DateGreaterThan", "aws:CurrentTime", "INVALID_DATE"),
        (
            "ForAnyValue:DateNotEquals",
            "aws:CurrentTime",
            "INVALID_DATE",
        ),
        ("IpAddress", "aws:SourceIp", "INVALID_IP"),
        ("NotIpAddressIfExists", "aws:SourceIp", "INVALID_IP"),
        ("Bool", "aws:SecureTransport", "INVALID_BOOLEAN"),
        ("BoolIfExists", "aws:SecureTransport", "INVALID_BOOLEAN"),
    ] {
        let found = codes(with_condition(json!({op: {key: "not-a-value"}})));
        assert!(found.contains(&code), "{op}: {found:?}");
    }
}

// IAM User Guide, "AWS JSON policy elements: Principal": under "AWS", a service name or an ARN
// of another service names no principal.
#[test]
fn an_aws_principal_that_is_not_a_principal_is_malformed() {
    for bogus in ["cloudtrail.amazonaws.com", "arn:aws:s3:::logs-bucket"] {
        let found = codes(json!({"Effect": "Allow", "Principal": {"AWS": bogus},
            "Action": "kms:Decrypt", "Resource": "*"}));
        assert!(found.contains(&"MALFORMED_PRINCIPAL"), "{bogus}: {found:?}");
    }
}

// Unknown-value markers parse everywhere and are reported once per element, as a warning,
// never as an error.
#[test]
fn unknown_values_are_accepted_and_reported_once_per_element() {
    let m = unknown_value("var.x has no value");
    let statement = json!({"Effect": m, "Principal": {"AWS": format!("arn:aws:iam::{m}:root")},
        "Action": m, "Resource": m,
        "Condition": {"NumericLessThan": {"kms:GrantConstraintType": m}, "StringEquals": {m.clone(): "v"}}});
    let doc = json!({"Version": "2012-10-17", "Statement": [statement]});
    let report = lint(&doc.to_string());
    assert!(!report.is_invalid(), "{:#?}", report.diagnostics);
    let unknown: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "UNKNOWN_VALUE")
        .map(|d| d.location.path.as_str())
        .collect();
    assert_eq!(unknown.len(), 6, "{unknown:?}");
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.code != "UNKNOWN_VALUE" || d.severity == Severity::Warning));
    // and the policy serializes back to the same policy
    let p = report.policy.expect("parses");
    assert_eq!(Policy::parse(&p.to_json().to_string()).ok(), Some(p));
}

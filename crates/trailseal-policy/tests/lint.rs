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
    assert!(!report.diagnostics.is_empty());
    assert!(report
        .diagnostics
        .iter()
        .all(|d| d.code != "UNKNOWN_VALUE" || d.severity == Severity::Warning));
    // and the policy serializes back to the same policy
    let p = report.policy.expect("parses");
    assert_eq!(Policy::parse(&p.to_json().to_string()).ok(), Some(p));
}

fn admin_codes(statements: Value) -> Vec<&'static str> {
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    lint(&doc.to_string())
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect()
}

const CLOUDTRAIL_ONLY: &str = r#"{"Sid": "AllowCloudTrailEncrypt", "Effect": "Allow",
    "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*",
    "Resource": "*", "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn":
    "arn:aws:cloudtrail:*:111122223333:trail/*"}}}"#;

fn cloudtrail_only() -> Value {
    serde_json::from_str(CLOUDTRAIL_ONLY).expect("statement")
}

// AWS KMS API Reference, PutKeyPolicy, BypassPolicyLockoutSafetyCheck: "The key policy must
// allow the calling principal to make a subsequent PutKeyPolicy request on the KMS key."
// The policy most guides print for this control (only CloudTrail's statement) lets nobody.
#[test]
fn a_policy_nobody_can_administer_is_invalid() {
    let found = admin_codes(json!([cloudtrail_only()]));
    assert!(found.contains(&"NO_KEY_ADMINISTRATOR"), "{found:?}");
    let doc = json!({"Version": "2012-10-17", "Statement": [cloudtrail_only()]});
    assert!(lint(&doc.to_string()).is_invalid());
    // A Deny of kms:PutKeyPolicy to everyone locks out the account root too.
    let found = admin_codes(json!([
        cloudtrail_only(),
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:PutKeyPolicy", "Resource": "*"}
    ]));
    assert!(found.contains(&"NO_KEY_ADMINISTRATOR"), "{found:?}");
    // Service principals other than CloudTrail do not call PutKeyPolicy for anyone either,
    // but they are principals the policy names: granting one kms:* is not a lockout.
    // A condition on a key only a service request carries (aws:SourceAccount) never holds for
    // an administrator's own call.
    let found = admin_codes(json!([
        cloudtrail_only(),
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}}
    ]));
    assert!(found.contains(&"NO_KEY_ADMINISTRATOR"), "{found:?}");
}

#[test]
fn a_policy_someone_can_administer_is_not_flagged() {
    for admin in [
        // The default key policy's statement: the account, through IAM.
        json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}),
        // A key administrator role with the documented administrator actions.
        json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
               "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*"], "Resource": "*"}),
        // Every principal of the account, by kms:CallerAccount.
        json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:PutKeyPolicy", "Resource": "*",
               "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}}),
        // A condition trailseal cannot decide: not reported (undecided is not "nobody").
        json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*",
               "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}}),
    ] {
        let found = admin_codes(json!([cloudtrail_only(), admin]));
        assert!(
            !found.contains(&"NO_KEY_ADMINISTRATOR"),
            "{admin}: {found:?}"
        );
    }
}

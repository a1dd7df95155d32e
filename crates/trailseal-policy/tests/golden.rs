//! Golden tests on policies from the AWS documentation, with snapshot explanations.

use trailseal_policy::*;

fn fixture(name: &str) -> String {
    let path = format!("{}/../../examples/policies/{name}", manifest_dir());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn trail(name: &str) -> TrailContext {
    TrailContext::new(&format!(
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/{name}"
    ))
    .with_bucket("aws-cloudtrail-logs-111122223333")
}

fn explained(policy: &Policy, request: &Request) -> String {
    let e = evaluate(policy, request);
    let mut out = format!("decision: {}\n", e.decision.as_str());
    if !e.unknown_keys.is_empty() {
        out += &format!("unknown: {}\n", e.unknown_keys.join(", "));
    }
    out + &explain(policy, request, &e).join("\n")
}

#[test]
fn cloudtrail_console_key_policy() {
    let p = Policy::parse(&fixture("cloudtrail-console-key-policy.json")).unwrap();
    let t = trail("management-events");
    let encrypt = evaluate(&p, &t.generate_data_key_request());
    assert_eq!(encrypt.decision, Decision::Allow);
    assert_eq!(encrypt.deciding, vec![1]);
    assert_eq!(
        evaluate(&p, &t.describe_key_request()).decision,
        Decision::Allow
    );
    insta::assert_snapshot!(
        "console_policy_encrypt",
        explained(&p, &t.generate_data_key_request())
    );

    // The console pins aws:SourceArn to the trail it was created for: another trail of the same
    // account cannot use the key, although the encryption-context condition would let it.
    let other = trail("security-trail");
    assert_eq!(
        evaluate(&p, &other.generate_data_key_request()).decision,
        Decision::ImplicitDeny
    );
    insta::assert_snapshot!(
        "console_policy_other_trail",
        explained(&p, &other.generate_data_key_request())
    );

    let readers = who_may_decrypt(&p, &t);
    assert!(readers.has_definite_reader());
    assert!(!readers.open_to_everyone());
    insta::assert_json_snapshot!("console_policy_readers", readers);
    let report = lint(&fixture("cloudtrail-console-key-policy.json"));
    assert!(!report.is_invalid(), "{:?}", report.diagnostics);
}

#[test]
fn aws_default_key_policy_does_not_let_cloudtrail_encrypt() {
    let p = Policy::parse(&fixture("aws-default-key-policy.json")).unwrap();
    let t = trail("main");
    assert_eq!(
        evaluate(&p, &t.generate_data_key_request()).decision,
        Decision::ImplicitDeny
    );
    assert_eq!(
        evaluate(&p, &t.describe_key_request()).decision,
        Decision::ImplicitDeny
    );
    insta::assert_snapshot!(
        "default_policy_encrypt",
        explained(&p, &t.generate_data_key_request())
    );
    let readers = who_may_decrypt(&p, &t);
    assert_eq!(readers.readers.len(), 1);
    assert_eq!(readers.readers[0].kind, ReaderKind::DelegatedToIam);
    assert!(readers.has_definite_reader());
}

#[test]
fn explicit_deny_with_not_principal_blocks_cloudtrail() {
    let p = Policy::parse(&fixture("explicit-deny-cloudtrail.json")).unwrap();
    let t = trail("main");
    let e = evaluate(&p, &t.generate_data_key_request());
    assert_eq!(e.decision, Decision::ExplicitDeny);
    assert_eq!(e.deciding, vec![2]);
    insta::assert_snapshot!(
        "explicit_deny_encrypt",
        explained(&p, &t.generate_data_key_request())
    );
}

#[test]
fn deny_unless_vpce_is_indeterminate_for_cloudtrail() {
    let p = Policy::parse(&fixture("deny-unless-vpce.json")).unwrap();
    let e = evaluate(&p, &trail("main").generate_data_key_request());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:SourceVpce".to_owned()]);
}

#[test]
fn wrong_account_in_encryption_context_condition() {
    let p = Policy::parse(&fixture("wrong-account-condition.json")).unwrap();
    let e = evaluate(&p, &trail("main").generate_data_key_request());
    assert_eq!(e.decision, Decision::ImplicitDeny);
    insta::assert_snapshot!(
        "wrong_account_encrypt",
        explained(&p, &trail("main").generate_data_key_request())
    );
}

#[test]
fn lint_findings_snapshot() {
    let text = r#"{
      "Statement": [
        {"Sid": "A", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/*"},
         "Action": ["kms:Decrypt", "kms:GenerateDataKeys", "s3:GetObject", "Decrypt"], "Resource": "*",
         "Condition": {"StringEqualsIgnorecase": {"aws:SourceArn": "x"}, "Null": {"aws:SourceArn": "maybe"}}},
        {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:Decrypt",
         "Resource": "*", "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContext:aws:cloudtrail:arn": "x"},
                                          "StringEquals": {"aws:username": "${aws:username}"}}},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "NotAction": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"aws:SourceAccount": "111122223333"}}, "Conditon": {}}
      ]
    }"#;
    let report = lint(text);
    assert!(report.is_invalid());
    let lines: Vec<String> = report.diagnostics.iter().map(ToString::to_string).collect();
    insta::assert_snapshot!("lint_findings", lines.join("\n"));
}

#[test]
fn bad_input_is_an_error_naming_where_and_what() {
    let cases = [
        ("not json", "INVALID_JSON"),
        ("[1,2]", "NOT_AN_OBJECT"),
        (r#"{"Statement": 3}"#, "INVALID_TYPE"),
        (r#"{"Version":"2012-10-17"}"#, "MISSING_STATEMENT"),
        (
            r#"{"Statement":[{"Sid":"S1","Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
            "UNKNOWN_EFFECT",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Resource":"*"}]}"#,
            "MISSING_ACTION",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]}"#,
            "MISSING_PRINCIPAL",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":{"x":1},"Resource":"*"}]}"#,
            "INVALID_TYPE",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","NotAction":"kms:Decrypt","Resource":"*"}]}"#,
            "CONFLICTING_ELEMENTS",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringEquals":{"k:k":null}}}]}"#,
            "INVALID_TYPE",
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":"cloudtrail.amazonaws.com","Action":"kms:*","Resource":"*"}]}"#,
            "INVALID_PRINCIPAL",
        ),
    ];
    for (text, code) in cases {
        let err = Policy::parse(text).unwrap_err();
        assert_eq!(err.code, code, "{text}: {err}");
    }
    let err = Policy::parse(r#"{"Statement":[{"Sid":"S1","Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]}"#)
        .unwrap_err();
    assert_eq!(err.to_string(), "Statement[0] (Sid \"S1\") > Effect: Effect must be \"Allow\" or \"Deny\" (case-sensitive), found \"Permit\" [UNKNOWN_EFFECT]");
    let err = Policy::parse("{\n  \"Statement\": [\n    {\"Effect\": }\n  ]\n}").unwrap_err();
    assert!(err.message.contains("line 3"), "{err}");
}

#[test]
fn huge_and_deep_policies_do_not_panic() {
    let statement = r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}"#;
    let n = 10 * 1024 * 1024 / statement.len();
    let text = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        vec![statement; n].join(",")
    );
    assert!(text.len() > 10_000_000);
    let report = lint(&text);
    assert!(report
        .diagnostics
        .iter()
        .any(|d| d.code == "POLICY_TOO_LARGE"));
    let p = report.policy.expect("parses");
    assert_eq!(
        evaluate(&p, &trail("main").generate_data_key_request()).decision,
        Decision::ImplicitDeny
    );

    let deep = format!(
        r#"{{"Statement":{}{}}}"#,
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    let err = Policy::parse(&deep).unwrap_err();
    assert_eq!(err.code, "INVALID_JSON");
    assert!(err.message.contains("recursion limit"), "{err}");
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

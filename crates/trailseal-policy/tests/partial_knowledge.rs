//! One test per rule for partly known requests and policies: undecided statements, request
//! values known only by a pattern (KeyState::Pattern), unknown trail facts (Given), values that
//! do not parse, and unknown-value markers in the policy (see src/condition.rs, src/cloudtrail.rs).

use serde_json::{json, Value};
use trailseal_policy::*;

mod common;
use common::*;

// IAM User Guide, "Policy evaluation logic": when a Deny and an Allow are both undecided, the
// outcome depends on the keys of both; every key that matters is reported.
#[test]
fn undecided_deny_and_allow_report_the_keys_of_both() {
    let p = policy(json!([
        allow_ct(json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}})),
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}}
    ]));
    let e = evaluate(&p, &ct());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:SourceVpce", "aws:SourceIp"]);
    assert_eq!(e.deciding, vec![0, 1]);
}

// Amazon S3 User Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)", Encryption
// context: aws:s3:arn is the object ARN (log file: BUCKET/[PREFIX/]AWSLogs/ACCOUNT/CloudTrail/
// REGION/YYYY/MM/DD/FILE.json.gz), or the bucket ARN with S3 Bucket Keys. A StringEquals on one
// value cannot be known to hold; a prefix that differs from the bucket's cannot hold.
#[test]
fn the_log_object_arn_is_a_pattern_not_a_literal() {
    let t = trail();
    let object_arn = "arn:aws:s3:::logs-bucket/AWSLogs/111122223333/*";
    let check = |op: &str, value: &str| {
        let p = policy(json!([allow_ct(
            json!({op: {"kms:EncryptionContext:aws:s3:arn": value}})
        )]));
        decision(&p, &t.generate_data_key_request())
    };
    assert_eq!(check("StringEquals", object_arn), Decision::Indeterminate);
    assert_eq!(
        check("StringLike", "arn:aws:s3:::other-bucket/*"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        check("StringLike", "arn:aws:s3:::logs-bucket*"),
        Decision::Allow
    );
    // With S3 Bucket Keys unknown, the bucket ARN is possible: the object pattern does not cover it.
    assert_eq!(check("StringLike", object_arn), Decision::Indeterminate);
    let no_bucket_key = TrailContext {
        bucket_key: Given::Known(false),
        ..trail()
    };
    let p = policy(json!([allow_ct(
        json!({"StringLike": {"kms:EncryptionContext:aws:s3:arn": object_arn}})
    )]));
    assert_eq!(
        decision(&p, &no_bucket_key.generate_data_key_request()),
        Decision::Allow
    );
    // A negated operator is decided by negation.
    assert_eq!(
        check("StringNotLike", "arn:aws:s3:::other-bucket/*"),
        Decision::Allow
    );
}

// IAM User Guide, "AWS global condition context keys", aws:SecureTransport ("This key is always
// included in the request context"), and KMS API Reference ("All AWS KMS API calls must be ...
// transmitted using TLS"): a Deny when aws:SecureTransport is false never applies to CloudTrail.
#[test]
fn a_deny_without_tls_does_not_apply_to_cloudtrail() {
    let p = policy(json!([
        allow_ct(Value::Null),
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    ]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    assert_eq!(
        decision(&p, &trail().describe_key_request()),
        Decision::Allow
    );
}

// KMS Developer Guide, "Key policies in AWS KMS": in a key policy the resource is the key
// (arn:PARTITION:kms:REGION:ACCOUNT:key/ID); a pattern for another service or resource type never
// matches, even when the key ARN is not known.
#[test]
fn a_resource_no_key_arn_can_match_is_decided_without_the_key_arn() {
    let r = TrailContext {
        key_arn: None,
        ..trail()
    }
    .generate_data_key_request();
    let with_resource = |element: &str, value: &str| {
        let mut s = allow_ct(Value::Null);
        s.as_object_mut().map(|o| o.remove("Resource"));
        s[element] = json!(value);
        decision(&policy(json!([s])), &r)
    };
    assert_eq!(
        with_resource("Resource", "arn:aws:s3:::logs-bucket/*"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        with_resource("Resource", "arn:aws:kms:*:111122223333:alias/*"),
        Decision::ImplicitDeny
    );
    assert_eq!(
        with_resource("NotResource", "arn:aws:s3:::*"),
        Decision::Allow
    );
    assert_eq!(
        with_resource("Resource", "arn:aws:kms:us-east-1:111122223333:key/*"),
        Decision::Indeterminate
    );
}

// IAM User Guide, "IAM JSON policy elements: Condition operators": a value that is not a
// number/date/IP/boolean cannot be compared; under a negated operator that must not turn into
// a match. Unknown, naming the key.
#[test]
fn unparseable_condition_values_are_unknown_never_false() {
    let mut ctx = Context::absent_by_default();
    for (k, v) in [
        ("aws:MultiFactorAuthAge", "300"),
        ("aws:CurrentTime", "2026-11-24T12:00:00Z"),
        ("aws:SourceIp", "203.0.113.7"),
        ("aws:SecureTransport", "true"),
    ] {
        ctx.set(k, KeyState::Known(vec![v.into()]));
    }
    let r = request(RequestPrincipal::Anyone, "kms:Decrypt", ctx);
    for (op, key) in [
        ("NumericNotEquals", "aws:MultiFactorAuthAge"),
        ("DateNotEquals", "aws:CurrentTime"),
        ("NotIpAddress", "aws:SourceIp"),
        ("Bool", "aws:SecureTransport"),
    ] {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {op: {key: "not-a-value"}}}]),
        );
        let e = evaluate(&p, &r);
        assert_eq!(e.decision, Decision::Indeterminate, "{op}");
        assert_eq!(e.unknown_keys, vec![key.to_owned()], "{op}");
    }
    // a variable that cannot be resolved, under a negated operator
    let p = policy(
        json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceIp": "${aws:username}"}}}]),
    );
    let e = evaluate(&p, &r);
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:username".to_owned()]);
}

// CloudFormation trails without TrailName get a generated name: the trail ARN is only known to
// be arn:PARTITION:cloudtrail:REGION:ACCOUNT:trail/*. The documented StringLike still holds
// (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail"); a StringEquals on one
// trail ARN cannot be known to.
#[test]
fn an_unknown_trail_name_keeps_the_documented_condition_decidable() {
    let t = TrailContext {
        name_known: false,
        ..trail()
    };
    let documented = policy(json!([allow_ct(json!({"StringLike": {
        "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}))]));
    assert_eq!(
        decision(&documented, &t.generate_data_key_request()),
        Decision::Allow
    );
    let pinned = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": TRAIL}})
    )]));
    let e = evaluate(&pinned, &t.generate_data_key_request());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:SourceArn".to_owned()]);
    let other_account = policy(json!([allow_ct(json!({"ArnLike": {
        "aws:SourceArn": "arn:aws:cloudtrail:*:999999999999:trail/*"}}))]));
    assert_eq!(
        decision(&other_account, &t.generate_data_key_request()),
        Decision::ImplicitDeny
    );
}

// An unknown organization flag: aws:SourceAccount is unknown, the object ARN is any AWSLogs/ path.
#[test]
fn an_unknown_organization_flag_makes_the_source_account_unknown() {
    let t = TrailContext {
        is_organization_trail: Given::Unknown,
        ..trail()
    };
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceAccount": ACCT}})
    )]));
    assert_eq!(
        decision(&p, &t.generate_data_key_request()),
        Decision::Indeterminate
    );
}

// An unknown prefix: the object ARN is any BUCKET/...AWSLogs/ path, so a condition naming a
// prefix is undecided while one naming another bucket is still false.
#[test]
fn an_unknown_prefix_is_not_no_prefix() {
    let t = TrailContext {
        prefix: Given::Unknown,
        bucket_key: Given::Known(false),
        ..trail()
    };
    let check = |value: &str| {
        let p = policy(json!([allow_ct(
            json!({"StringLike": {"kms:EncryptionContext:aws:s3:arn": value}})
        )]));
        decision(&p, &t.generate_data_key_request())
    };
    assert_eq!(
        check("arn:aws:s3:::logs-bucket/AWSLogs/111122223333/*"),
        Decision::Indeterminate
    );
    assert_eq!(check("arn:aws:s3:::logs-bucket/*"), Decision::Allow);
    assert_eq!(check("arn:aws:s3:::elsewhere/*"), Decision::ImplicitDeny);
}

// Unknown values inside the policy (infrastructure as code): they match Unknown and carry the
// reason. An Allow can never remove CloudTrail's permission, a Deny can.
#[test]
fn unknown_values_in_the_policy_are_unknown_with_their_reason() {
    let marker = unknown_value("var.reader has no value");
    let allow_reader = json!({"Effect": "Allow", "Principal": {"AWS": marker}, "Action": "kms:Decrypt", "Resource": "*"});
    let p = policy(json!([allow_ct(Value::Null), allow_reader]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);

    let deny =
        json!({"Effect": "Deny", "Principal": {"AWS": marker}, "Action": "kms:*", "Resource": "*"});
    let e = evaluate(&policy(json!([allow_ct(Value::Null), deny])), &ct());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["var.reader has no value".to_owned()]);

    // a marked account ARN never names a service principal
    let partial = format!("arn:aws:iam::{}:root", unknown_value("var.account"));
    let deny = json!({"Effect": "Deny", "Principal": {"AWS": partial}, "Action": "kms:*", "Resource": "*"});
    assert_eq!(
        decision(&policy(json!([allow_ct(Value::Null), deny])), &ct()),
        Decision::Allow
    );

    // a marked condition value, key, action or resource
    for cond in [
        json!({"StringEquals": {"aws:SourceArn": unknown_value("var.trail")}}),
        json!({"StringEquals": {unknown_value("var.key"): "x"}}),
    ] {
        let e = evaluate(&policy(json!([allow_ct(cond)])), &ct());
        assert_eq!(e.decision, Decision::Indeterminate);
    }
    let mut s = allow_ct(Value::Null);
    s["Action"] = json!(unknown_value("var.action"));
    let e = evaluate(&policy(json!([s])), &ct());
    assert_eq!(
        (e.decision, e.unknown_keys),
        (Decision::Indeterminate, vec!["var.action".to_owned()])
    );

    // an unknown Effect may be an Allow or a Deny
    let mut s = allow_ct(Value::Null);
    s["Effect"] = json!(unknown_value("var.effect"));
    let alone = evaluate(&policy(json!([s.clone()])), &ct());
    assert_eq!(alone.decision, Decision::Indeterminate);
    let with_allow = evaluate(&policy(json!([allow_ct(Value::Null), s])), &ct());
    assert_eq!(with_allow.decision, Decision::Indeterminate);
    assert_eq!(with_allow.unknown_keys, vec!["var.effect".to_owned()]);
}

// CloudFormation User Guide, "AWS::CloudTrail::Trail": without TrailName the name is generated,
// so the trail ARN (aws:SourceArn, CloudTrail User Guide "Configure AWS KMS key policies for
// CloudTrail") is not known: the recommended statements must not pin a placeholder name, and
// the statements they recommend must then still let CloudTrail encrypt and describe.
#[test]
fn recommended_statements_never_pin_an_unknown_trail_name() {
    let ctx = TrailContext {
        name_known: false,
        ..trail()
    };
    let encrypt = ctx.encrypt_statement();
    let describe = ctx.describe_statement();
    for st in [&encrypt, &describe] {
        let text = st.to_string();
        assert!(!text.contains("trail/main"), "{text}");
        assert!(text.contains("trail/*"), "{text}");
    }
    let p = policy(json!([encrypt, describe]));
    assert_eq!(
        evaluate(&p, &ctx.generate_data_key_request()).decision,
        Decision::Allow
    );
    assert_eq!(
        evaluate(&p, &ctx.describe_key_request()).decision,
        Decision::Allow
    );
    // With the name known, aws:SourceArn is pinned to the trail, as AWS recommends.
    assert!(trail().encrypt_statement().to_string().contains(TRAIL));
}

// IAM User Guide, "NotPrincipal": a Deny with NotPrincipal applies to everyone not listed; a
// wholly unknown NotPrincipal value could be "*" (which exempts everyone), so whether the Deny
// applies to principals it cannot name is unknown, never "applies".
#[test]
fn a_wholly_unknown_not_principal_is_undecided_for_unnamed_principals() {
    let marker = unknown_value("var.x has no value");
    let p = policy(json!([
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": marker}, "Action": "kms:*", "Resource": "*"}
    ]));
    let request = trail().decrypt_request(RequestPrincipal::AccountMember {
        account: ACCT.into(),
    });
    let e = evaluate(&p, &request);
    assert_eq!(e.decision, Decision::Indeterminate, "{e:?}");
    assert!(e.unknown_keys.iter().any(|k| k.contains("var.x")), "{e:?}");
}

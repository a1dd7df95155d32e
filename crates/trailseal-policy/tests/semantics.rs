//! One test per evaluation rule of the IAM policy language (see src/eval.rs).

use serde_json::{json, Value};
use trailseal_policy::*;

mod common;
use common::*;

#[test]
fn explicit_deny_beats_allow_wherever_it_stands() {
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "kms:GenerateDataKey", "Resource": "*"});
    for statements in [
        json!([allow_ct(Value::Null), deny.clone()]),
        json!([deny.clone(), allow_ct(Value::Null)]),
    ] {
        let p = policy(statements);
        let e = evaluate(&p, &ct());
        assert_eq!(e.decision, Decision::ExplicitDeny);
        assert_eq!(e.deciding.len(), 1);
        assert_eq!(p.statements[e.deciding[0]].effect, Effect::Deny);
    }
}

#[test]
fn every_statement_is_considered_not_just_the_first_match() {
    let p = policy(json!([
        allow_ct(Value::Null),
        allow_ct(Value::Null),
        {"Effect": "Deny", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
    ]));
    let e = evaluate(&p, &ct());
    assert_eq!(e.decision, Decision::ExplicitDeny);
    assert_eq!(e.statements.len(), 3, "all three statements evaluated");
    assert!(e.statements.iter().all(|s| s.applies == Tri::True));
}

#[test]
fn no_matching_statement_is_implicit_deny() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "kms:*", "Resource": "*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
}

#[test]
fn deny_with_not_principal_denies_everyone_not_listed() {
    let p = policy(json!([
        allow_ct(Value::Null),
        {"Effect": "Deny", "NotPrincipal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "kms:*", "Resource": "*"}
    ]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::ExplicitDeny,
        "CloudTrail is not listed, so it is denied"
    );

    let p = policy(json!([
        allow_ct(Value::Null),
        {"Effect": "Deny",
         "NotPrincipal": {"AWS": format!("arn:aws:iam::{ACCT}:root"), "Service": "cloudtrail.amazonaws.com"},
         "Action": "kms:*", "Resource": "*"}
    ]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::Allow,
        "CloudTrail is listed, so the Deny does not apply"
    );
}

#[test]
fn not_principal_excludes_an_iam_user_only_with_its_account() {
    let bob = format!("arn:aws:iam::{ACCT}:user/Bob");
    let allow = json!({"Effect": "Allow", "Principal": {"AWS": bob}, "Action": "kms:Decrypt", "Resource": "*"});
    let deny_only_bob = json!({"Effect": "Deny", "NotPrincipal": {"AWS": [bob]}, "Action": "kms:*", "Resource": "*"});
    let deny_bob_and_account = json!({"Effect": "Deny", "NotPrincipal": {"AWS": [bob, ACCT]}, "Action": "kms:*", "Resource": "*"});
    let r = request(
        RequestPrincipal::aws(&bob),
        "kms:Decrypt",
        Context::absent_by_default(),
    );
    assert_eq!(
        decision(&policy(json!([allow.clone(), deny_only_bob])), &r),
        Decision::ExplicitDeny
    );
    assert_eq!(
        decision(&policy(json!([allow, deny_bob_and_account])), &r),
        Decision::Allow
    );
}

#[test]
fn allow_with_not_action_grants_everything_else() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "NotAction": ["kms:Decrypt", "kms:ScheduleKeyDeletion"], "Resource": "*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    assert_eq!(
        decision(&p, &trail().describe_key_request()),
        Decision::Allow
    );
    let r = request(
        RequestPrincipal::service(CLOUDTRAIL_SERVICE),
        "kms:Decrypt",
        Context::absent_by_default(),
    );
    assert_eq!(decision(&p, &r), Decision::ImplicitDeny);
}

#[test]
fn not_resource_and_resource_star_means_this_key() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:*", "NotResource": "arn:aws:kms:*:*:key/other-*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:*", "NotResource": "arn:aws:kms:*:*:key/1234abcd-*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    // A specific resource with an unknown key ARN cannot be decided; "*" always matches.
    let mut unknown_key = ct();
    unknown_key.resource = None;
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:*", "Resource": KEY}]),
    );
    assert_eq!(decision(&p, &unknown_key), Decision::Indeterminate);
    assert_eq!(
        decision(&policy(json!([allow_ct(Value::Null)])), &unknown_key),
        Decision::Allow
    );
}

#[test]
fn action_names_are_case_insensitive_with_wildcards() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "KMS:generatedatakey*", "Resource": "*"}]),
    );
    let covered = [
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    ];
    for action in covered {
        let r = request(
            RequestPrincipal::service(CLOUDTRAIL_SERVICE),
            action,
            Context::absent_by_default(),
        );
        assert_eq!(decision(&p, &r), Decision::Allow, "{action}");
    }
    let covered_by_lint_list = trailseal_policy::lint::KMS_ACTIONS
        .iter()
        .filter(|a| glob::glob_match("generatedatakey*", a, true))
        .count();
    assert_eq!(covered_by_lint_list, 4);
    let r = request(
        RequestPrincipal::service(CLOUDTRAIL_SERVICE),
        "kms:Decrypt",
        Context::absent_by_default(),
    );
    assert_eq!(decision(&p, &r), Decision::ImplicitDeny);
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:?enerateDataKey", "Resource": "*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::Allow);
}

#[test]
fn condition_key_names_are_case_insensitive_values_case_sensitive() {
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"AWS:SOURCEARN": TRAIL}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": TRAIL.to_uppercase()}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    let p = policy(json!([allow_ct(
        json!({"StringEqualsIgnoreCase": {"aws:SourceArn": TRAIL.to_uppercase()}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"StringLike": {"aws:SourceArn": "ARN:AWS:cloudtrail:*"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
}

#[test]
fn condition_block_ands_operators_and_keys_ors_values() {
    let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other";
    // values ORed
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": [other, TRAIL]}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    // keys ANDed
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": TRAIL, "aws:SourceAccount": "999999999999"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    // operators ANDed
    let p = policy(json!([allow_ct(json!({
        "StringEquals": {"aws:SourceArn": TRAIL},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:999999999999:trail/*"}}))]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    let p = policy(json!([allow_ct(json!({
        "StringEquals": {"aws:SourceArn": TRAIL, "aws:SourceAccount": ACCT},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}))]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
}

#[test]
fn negated_operators_nor_values_and_hold_when_the_key_is_absent() {
    let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other";
    let p = policy(json!([allow_ct(
        json!({"StringNotEquals": {"aws:SourceArn": [other, "x"]}})
    )]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::Allow,
        "matches none of the values"
    );
    let p = policy(json!([allow_ct(
        json!({"StringNotEquals": {"aws:SourceArn": [other, TRAIL]}})
    )]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::ImplicitDeny,
        "matches one of the values"
    );
    // DescribeKey has no encryption context: the negated operator is true.
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey", "Resource": "*",
        "Condition": {"StringNotLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "*"}}}]),
    );
    assert_eq!(
        decision(&p, &trail().describe_key_request()),
        Decision::Allow
    );
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey", "Resource": "*",
        "Condition": {"ArnNotLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:*:trail/*"}}}]),
    );
    assert_eq!(
        decision(&p, &trail().describe_key_request()),
        Decision::Allow
    );
}

#[test]
fn positive_operators_are_false_when_the_key_is_absent_unless_if_exists() {
    let describe = trail().describe_key_request();
    let stmt = |cond: Value| {
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey", "Resource": "*", "Condition": cond}])
    };
    let p = policy(stmt(
        json!({"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "*"}}),
    ));
    assert_eq!(decision(&p, &describe), Decision::ImplicitDeny);
    let p = policy(stmt(
        json!({"StringLikeIfExists": {"kms:EncryptionContext:aws:cloudtrail:arn": "nothing-like-it"}}),
    ));
    assert_eq!(
        decision(&p, &describe),
        Decision::Allow,
        "IfExists: absent key passes"
    );
    let p = policy(json!([allow_ct(
        json!({"StringLikeIfExists": {"kms:EncryptionContext:aws:cloudtrail:arn": "nothing-like-it"}})
    )]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::ImplicitDeny,
        "IfExists: present key is still compared"
    );
}

#[test]
fn null_operator_tests_presence() {
    let p = policy(json!([allow_ct(
        json!({"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "false"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "true"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
        "Action": "kms:DescribeKey", "Resource": "*", "Condition": {"Null": {"kms:EncryptionContextKeys": "true"}}}]),
    );
    assert_eq!(
        decision(&p, &trail().describe_key_request()),
        Decision::Allow
    );
    // A non-boolean Null value is invalid: never an Allow.
    let p = policy(json!([allow_ct(
        json!({"Null": {"kms:EncryptionContext:aws:cloudtrail:arn": "yes"}})
    )]));
    assert_ne!(decision(&p, &ct()), Decision::Allow);
}

#[test]
fn for_any_value_and_for_all_values() {
    let keys = "kms:EncryptionContextKeys";
    let p = policy(json!([allow_ct(
        json!({"ForAnyValue:StringEquals": {keys: ["aws:cloudtrail:arn"]}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"ForAllValues:StringEquals": {keys: ["aws:cloudtrail:arn"]}})
    )]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::ImplicitDeny,
        "aws:s3:arn is not in the allowed set"
    );
    let p = policy(json!([allow_ct(
        json!({"ForAllValues:StringEquals": {keys: ["aws:cloudtrail:arn", "aws:s3:arn"]}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    // Absent key: ForAllValues is true, ForAnyValue is false.
    let describe = trail().describe_key_request();
    let stmt = |cond: Value| {
        json!([{"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "kms:DescribeKey", "Resource": "*", "Condition": cond}])
    };
    let p = policy(stmt(
        json!({"ForAllValues:StringEquals": {keys: ["nothing"]}}),
    ));
    assert_eq!(decision(&p, &describe), Decision::Allow);
    let p = policy(stmt(
        json!({"ForAnyValue:StringEquals": {keys: ["nothing"]}}),
    ));
    assert_eq!(decision(&p, &describe), Decision::ImplicitDeny);
    // ForAnyValue with a negated operator: some value matches none of the policy values.
    let p = policy(json!([allow_ct(
        json!({"ForAnyValue:StringNotEquals": {keys: ["aws:cloudtrail:arn"]}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
}

#[test]
fn string_like_is_a_glob_not_a_regex() {
    let mut ctx = Context::absent_by_default();
    ctx.set("aws:userid", KeyState::Known(vec!["a+b".into()]));
    let allow = |pattern: &str| {
        policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringLike": {"aws:userid": pattern}}}]),
        )
    };
    let r = request(RequestPrincipal::Anyone, "kms:Decrypt", ctx.clone());
    assert_eq!(decision(&allow("a+b"), &r), Decision::Allow);
    assert_eq!(decision(&allow("a?b"), &r), Decision::Allow);
    assert_eq!(decision(&allow("a*"), &r), Decision::Allow);
    ctx.set("aws:userid", KeyState::Known(vec!["aab".into()]));
    let r = request(RequestPrincipal::Anyone, "kms:Decrypt", ctx);
    assert_eq!(decision(&allow("a+b"), &r), Decision::ImplicitDeny);
    assert_eq!(decision(&allow(".*"), &r), Decision::ImplicitDeny);
}

#[test]
fn arn_like_matches_parts_while_string_like_crosses_colons() {
    // The same pattern with one part missing: StringLike's `*` swallows "us-east-1:111122223333",
    // ArnLike compares the six parts one by one and fails.
    let pattern = "arn:aws:cloudtrail:*:trail/*";
    let p = policy(json!([allow_ct(
        json!({"StringLike": {"aws:SourceArn": pattern}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"ArnLike": {"aws:SourceArn": pattern}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    let p = policy(json!([allow_ct(
        json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"ArnEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-?ast-1:111122223333:trail/main"}})
    )]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::Allow,
        "ArnEquals takes wildcards like ArnLike"
    );
}

#[test]
fn numeric_date_bool_ip_and_binary_operators() {
    let mut ctx = Context::absent_by_default();
    ctx.set(
        "aws:MultiFactorAuthAge",
        KeyState::Known(vec!["300".into()]),
    );
    ctx.set(
        "aws:CurrentTime",
        KeyState::Known(vec!["2026-11-24T12:00:00Z".into()]),
    );
    ctx.set("aws:SecureTransport", KeyState::Known(vec!["true".into()]));
    ctx.set("aws:SourceIp", KeyState::Known(vec!["203.0.113.7".into()]));
    ctx.set(
        "kms:RecipientAttestation:ImageSha384",
        KeyState::Known(vec!["QUJD".into()]),
    );
    let r = request(RequestPrincipal::Anyone, "kms:Decrypt", ctx);
    let check = |cond: Value| {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*", "Condition": cond}]),
        );
        decision(&p, &r)
    };
    assert_eq!(
        check(json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"NumericGreaterThan": {"aws:MultiFactorAuthAge": 3600}})),
        Decision::ImplicitDeny
    );
    assert_eq!(
        check(json!({"NumericEquals": {"aws:MultiFactorAuthAge": "300.0"}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"NumericNotEquals": {"aws:MultiFactorAuthAge": ["1", "2"]}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"DateGreaterThan": {"aws:CurrentTime": "2026-11-24T13:00:00+02:00"}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"DateGreaterThan": {"aws:CurrentTime": "2026-11-24T13:00:00Z"}})),
        Decision::ImplicitDeny
    );
    assert_eq!(
        check(json!({"Bool": {"aws:SecureTransport": "true"}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"Bool": {"aws:SecureTransport": false}})),
        Decision::ImplicitDeny
    );
    assert_eq!(
        check(json!({"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}})),
        Decision::Allow
    );
    assert_eq!(
        check(json!({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}})),
        Decision::ImplicitDeny
    );
    assert_eq!(
        check(json!({"BinaryEquals": {"kms:RecipientAttestation:ImageSha384": "QUJD"}})),
        Decision::Allow
    );
    // A value that does not parse for its operator decides nothing (see
    // unparseable_condition_values_are_unknown_never_false).
    assert_eq!(
        check(json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "soon"}})),
        Decision::Indeterminate
    );
}

#[test]
fn policy_variables_only_under_2012_10_17() {
    let statements = json!([allow_ct(json!({"StringEquals": {
        "kms:EncryptionContext:aws:cloudtrail:arn": "${aws:SourceArn}"}}))]);
    assert_eq!(
        decision(&policy(statements.clone()), &ct()),
        Decision::Allow
    );
    assert_eq!(
        decision(&policy_with(Some("2008-10-17"), statements.clone()), &ct()),
        Decision::ImplicitDeny
    );
    assert_eq!(
        decision(&policy_with(None, statements), &ct()),
        Decision::ImplicitDeny
    );
    // default value for an absent key, escapes
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": "${aws:NoSuchKey, 'x'}"}})
    )]));
    let mut r = ct();
    r.context.set("aws:NoSuchKey", KeyState::Absent);
    r.context
        .set("aws:SourceArn", KeyState::Known(vec!["x".into()]));
    assert_eq!(decision(&p, &r), Decision::Allow);
    let p = policy(json!([allow_ct(
        json!({"StringLike": {"aws:SourceArn": "${*}"}})
    )]));
    r.context
        .set("aws:SourceArn", KeyState::Known(vec!["*".into()]));
    assert_eq!(decision(&p, &r), Decision::Allow);
    r.context
        .set("aws:SourceArn", KeyState::Known(vec!["anything".into()]));
    assert_eq!(
        decision(&p, &r),
        Decision::ImplicitDeny,
        "${{*}} is a literal asterisk"
    );
    // a variable whose key is unknown makes the condition unknown
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceArn": "${aws:PrincipalTag/team}"}})
    )]));
    let e = evaluate(&p, &ct());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:PrincipalTag/team".to_owned()]);
}

#[test]
fn account_root_delegates_to_iam_and_is_not_the_root_user() {
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")},
        "Action": "kms:*", "Resource": "*"}]),
    );
    let role = format!("arn:aws:iam::{ACCT}:role/LogReader");
    let e = evaluate(
        &p,
        &request(
            RequestPrincipal::aws(&role),
            "kms:Decrypt",
            Context::absent_by_default(),
        ),
    );
    assert_eq!(e.decision, Decision::Allow);
    assert_eq!(e.via_iam_accounts, vec![ACCT.to_owned()]);
    assert_eq!(
        e.statements[0].principal,
        PrincipalMatch::ViaAccount(ACCT.into())
    );
    // other accounts and services are not covered
    let outsider = "arn:aws:iam::999999999999:role/LogReader";
    assert_eq!(
        decision(
            &p,
            &request(
                RequestPrincipal::aws(outsider),
                "kms:Decrypt",
                Context::absent_by_default()
            )
        ),
        Decision::ImplicitDeny
    );
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    // a bare account id means the same
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": ACCT}, "Action": "kms:*", "Resource": "*"}]),
    );
    assert_eq!(
        evaluate(
            &p,
            &request(
                RequestPrincipal::aws(&role),
                "kms:Decrypt",
                Context::absent_by_default()
            )
        )
        .via_iam_accounts,
        vec![ACCT.to_owned()]
    );
    // a named role is direct, and matches its sessions
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": role}, "Action": "kms:*", "Resource": "*"}]),
    );
    let session = format!("arn:aws:sts::{ACCT}:assumed-role/LogReader/alice");
    let e = evaluate(
        &p,
        &request(
            RequestPrincipal::aws(&session),
            "kms:Decrypt",
            Context::absent_by_default(),
        ),
    );
    assert_eq!(e.decision, Decision::Allow);
    assert!(e.via_iam_accounts.is_empty());
}

#[test]
fn service_principal_matches_only_its_exact_name() {
    for name in [
        "CloudTrail.amazonaws.com",
        "cloudtrail.amazonaws.com.evil",
        "logs.amazonaws.com",
        "cloudtrail",
    ] {
        let p = policy(
            json!([{"Effect": "Allow", "Principal": {"Service": name}, "Action": "kms:*", "Resource": "*"}]),
        );
        assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny, "{name}");
    }
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"Service": ["logs.amazonaws.com", "cloudtrail.amazonaws.com"]},
        "Action": "kms:*", "Resource": "*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::Allow);
    // "*" covers services too
    let p = policy(
        json!([{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::Allow);
}

#[test]
fn unknown_keys_make_the_decision_indeterminate_never_allow() {
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    )]));
    let e = evaluate(&p, &ct());
    assert_eq!(e.decision, Decision::Indeterminate);
    assert_eq!(e.unknown_keys, vec!["aws:SourceVpce".to_owned()]);
    // an unknown Deny blocks a certain Allow from being reported as Allow
    let p = policy(json!([
        allow_ct(Value::Null),
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}
    ]));
    assert_eq!(decision(&p, &ct()), Decision::Indeterminate);
    // with nothing that could allow, an unknown Deny does not matter: denied either way
    let p = policy(
        json!([{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]),
    );
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
    // an unknown key in a condition that is false anyway does not matter either
    let p = policy(json!([allow_ct(
        json!({"StringEquals": {"aws:SourceVpce": "vpce-1", "aws:SourceAccount": "999999999999"}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::ImplicitDeny);
}

#[test]
fn unknown_operator_is_indeterminate_not_ignored() {
    let p = policy(json!([allow_ct(
        json!({"StringEqualz": {"aws:SourceArn": TRAIL}})
    )]));
    assert_eq!(decision(&p, &ct()), Decision::Indeterminate);
    let p = policy(json!([allow_ct(Value::Null),
        {"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
         "Condition": {"StringEqualz": {"aws:SourceArn": TRAIL}}}]));
    assert_eq!(
        decision(&p, &ct()),
        Decision::Indeterminate,
        "an unreadable Deny is never skipped"
    );
}

#[test]
fn duplicate_keys_are_read_as_iam_reads_them_last_one_wins() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Effect":"Deny",
        "Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:*","Resource":"*"}]}"#;
    let p = Policy::parse(text).unwrap();
    assert_eq!(p.statements[0].effect, Effect::Deny);
    assert_eq!(decision(&p, &ct()), Decision::ExplicitDeny);
    let report = lint(text);
    assert!(report.diagnostics.iter().any(|d| d.code == "DUPLICATE_KEY"));
}

#[test]
fn single_statement_object_and_scalar_forms() {
    let text = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
        "Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey","Resource":"*",
        "Condition":{"Bool":{"aws:SecureTransport":true}}}}"#;
    let p = Policy::parse(text).unwrap();
    assert_eq!(p.statements.len(), 1);
    assert_eq!(
        p.statements[0].conditions[0].values,
        vec!["true".to_owned()]
    );
}

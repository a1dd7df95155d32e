//! "Who may kms:Decrypt the logs" (readers.rs): one test per rule.

use serde_json::{json, Value};
use trailseal_policy::*;

const ACCT: &str = "111122223333";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";

fn policy(statements: Value) -> Policy {
    let doc = json!({"Version": "2012-10-17", "Statement": statements});
    Policy::parse(&doc.to_string()).expect("test policy parses")
}

fn readers(statements: Value) -> ReadersSummary {
    who_may_decrypt(
        &policy(statements),
        &TrailContext::new(TRAIL).with_bucket("logs-bucket"),
    )
}

fn decrypt_to_anyone(condition: Value) -> Value {
    let mut s = json!({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"});
    if !condition.is_null() {
        s["Condition"] = condition;
    }
    s
}

fn open_except(summary: &ReadersSummary) -> Option<Vec<String>> {
    match &summary.audience {
        Audience::Open { except, .. } => Some(except.clone()),
        _ => None,
    }
}

// IAM User Guide, "IAM JSON policy elements: Condition operators": a negated operator holds
// when the request value matches none of the policy values, so StringNotEquals kms:CallerAccount
// X admits every account but X.
#[test]
fn string_not_equals_caller_account_opens_decrypt_to_every_other_account() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"StringNotEquals": {"kms:CallerAccount": "999999999999"}})
    )]));
    assert_eq!(
        open_except(&r),
        Some(vec!["999999999999".to_owned()]),
        "{r:#?}"
    );
}

// Same page: keys are ANDed; an account cannot be both A and B, so nobody is named.
#[test]
fn contradictory_account_conditions_name_nobody() {
    let r = readers(json!([decrypt_to_anyone(json!({
        "StringEquals": {"kms:CallerAccount": ACCT},
        "StringEqualsIgnoreCase": {"kms:CallerAccount": "999999999999"}
    }))]));
    assert_eq!(r.audience, Audience::Nobody, "{r:#?}");
}

// Same page: values are ORed, so an empty value list matches nothing (lint reports it:
// EMPTY_VALUE, error).
#[test]
fn an_empty_value_list_names_nobody() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"StringEquals": {"kms:CallerAccount": []}})
    )]));
    assert_eq!(r.audience, Audience::Nobody, "{r:#?}");
}

// KMS Developer Guide, "Key policies in AWS KMS" / CloudTrail User Guide, "Configure AWS KMS key
// policies for CloudTrail": "*" with kms:CallerAccount = the account names every principal of
// that account, and nobody else.
#[test]
fn caller_account_equals_names_exactly_that_account() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"StringEquals": {"kms:CallerAccount": ACCT}})
    )]));
    assert_eq!(r.audience, Audience::Limited, "{r:#?}");
    assert_eq!(r.readers.len(), 1, "{r:#?}");
    assert_eq!(r.readers[0].kind, ReaderKind::Account);
    assert_eq!(r.readers[0].decision, Decision::Allow);
}

// IAM User Guide, "Policy evaluation logic": an explicit Deny removes only what it matches; a
// Deny for one account next to an unconditional "*" grant leaves every other account open.
#[test]
fn a_deny_for_one_account_does_not_hide_an_open_grant() {
    let deny_999 = json!({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"StringEquals": {"aws:PrincipalAccount": "999999999999"}}});
    let r = readers(json!([decrypt_to_anyone(Value::Null), deny_999]));
    assert_eq!(
        open_except(&r),
        Some(vec!["999999999999".to_owned()]),
        "{r:#?}"
    );
}

// Same, for a principal ARN pattern (ArnLike aws:PrincipalArn, IAM User Guide "AWS global
// condition context keys": aws:PrincipalArn is the ARN of the calling principal).
#[test]
fn a_deny_for_one_principal_arn_pattern_does_not_hide_an_open_grant() {
    let deny = json!({"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
        "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::999999999999:*"}}});
    let r = readers(json!([decrypt_to_anyone(Value::Null), deny]));
    assert!(r.open_to_everyone(), "{r:#?}");
}

// IAM User Guide, "AWS JSON policy elements: Principal": an AWS principal is "*", an account
// or an IAM/STS ARN; a service name under "AWS" or a partial wildcard names nobody.
#[test]
fn an_aws_principal_that_is_not_a_principal_names_nobody() {
    for bogus in ["cloudtrail.amazonaws.com", "arn:aws:iam::*:root"] {
        let r = readers(json!([
            {"Effect": "Allow", "Principal": {"AWS": bogus}, "Action": "kms:Decrypt", "Resource": "*"}
        ]));
        assert_eq!(r.audience, Audience::Nobody, "{bogus}: {r:#?}");
    }
}

// IAM User Guide, "AWS JSON policy elements: NotPrincipal": a request by an IAM user is
// evaluated as the user and as its account; with both listed the Deny does not apply, and the
// user may decrypt through the account's delegation (KMS: arn:aws:iam::ACCT:root).
#[test]
fn a_principal_exempted_by_not_principal_is_a_reader() {
    let bob = format!("arn:aws:iam::{ACCT}:user/Bob");
    let r = readers(json!([
        {"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{ACCT}:root")}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": [bob, format!("arn:aws:iam::{ACCT}:root")]}, "Action": "kms:*", "Resource": "*"}
    ]));
    assert_eq!(r.audience, Audience::Limited, "{r:#?}");
    let reader = r.readers.iter().find(|x| x.principal == bob);
    assert_eq!(
        reader.map(|x| (x.kind, x.decision)),
        Some((ReaderKind::DelegatedToIam, Decision::Allow)),
        "{r:#?}"
    );
}

// aws:PrincipalOrgID (IAM User Guide, "AWS global condition context keys") limits callers to
// an organization: not open, a conditional reader.
#[test]
fn an_organization_condition_limits_the_grant() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})
    )]));
    assert_eq!(r.audience, Audience::Limited, "{r:#?}");
    assert!(r
        .readers
        .iter()
        .any(|x| x.kind == ReaderKind::LimitedWildcard && x.is_definite_reader()));
}

// A role name or a tag is chosen by the caller's own account: a "*" grant limited only by
// them is open to every account.
#[test]
fn conditions_any_account_can_meet_leave_the_grant_open() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/LogReader"}})
    )]));
    match &r.audience {
        Audience::Open { conditions, .. } => {
            assert_eq!(conditions, &vec!["aws:PrincipalArn".to_owned()])
        }
        other => panic!("expected open, got {other:?}"),
    }
}

// A condition on a key trailseal cannot know (aws:SourceVpce) leaves it undecided.
#[test]
fn a_non_identity_condition_leaves_the_audience_undecided() {
    let r = readers(json!([decrypt_to_anyone(
        json!({"StringEquals": {"aws:SourceVpce": "vpce-1"}})
    )]));
    assert_eq!(
        r.audience,
        Audience::Undecided {
            unknown_keys: vec!["aws:SourceVpce".to_owned()]
        }
    );
}

// IAM condition keys, aws:PrincipalOrgPaths: a path starts with the organization id
// (`o-ID/r-ROOT/ou-.../`), so `o-abc/*` limits decryption to one organization, like
// `aws:PrincipalOrgID = o-abc`; `o-*/*` does not.
#[test]
fn an_organization_path_limits_the_readers() {
    let limited = readers(decrypt_to_anyone(
        json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-abc/*"}}),
    ));
    assert!(
        !matches!(limited.audience, Audience::Open { .. }),
        "{:?}",
        limited.audience
    );
    let open = readers(decrypt_to_anyone(
        json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-*/*"}}),
    ));
    assert!(
        matches!(open.audience, Audience::Open { .. }),
        "{:?}",
        open.audience
    );
}

// IAM User Guide, "NotPrincipal" with Deny: a role's sessions are exempt only when the session
// ARN is listed (with the role and the account); listing the role alone exempts nobody.
#[test]
fn a_not_principal_role_does_not_exempt_its_sessions() {
    let s = readers(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Admin"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Deny", "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:root", "arn:aws:iam::111122223333:role/Admin"]}, "Action": "kms:Decrypt", "Resource": "*"}
    ]));
    assert!(matches!(s.audience, Audience::Nobody), "{:?}", s.audience);
}

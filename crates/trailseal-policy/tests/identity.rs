//! Identity-based policies and how they combine with a resource's policy (IAM User Guide,
//! "Policy evaluation logic"; KMS Developer Guide, "Key policies").

use std::sync::Arc;

use trailseal_policy::{
    combine, evaluate, evaluate_identity, parse_identity_policy, Decision, Identity, Policy,
    RequestPrincipal, ResourceKind, TrailContext,
};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const ROLE: &str = "arn:aws:iam::111122223333:role/Reader";

fn identity(docs: &[&str]) -> Identity {
    Identity {
        policies: docs
            .iter()
            .enumerate()
            .map(|(i, d)| {
                (
                    format!("p{i}"),
                    Arc::new(parse_identity_policy(d).expect("identity policy")),
                )
            })
            .collect(),
        is_role: true,
        ..Identity::default()
    }
}

fn key(policy: &str, who: &Identity) -> Decision {
    let ctx = TrailContext {
        key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/k".into()),
        ..TrailContext::new(TRAIL)
    };
    let request = ctx.decrypt_request(RequestPrincipal::caller(ROLE));
    let p = Policy::parse(policy).expect("key policy");
    let e = evaluate(&p, &request);
    combine(ResourceKind::KmsKey, &p, &e, who, &request).decision
}

const ROOT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
const NAMED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Reader"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
const DECRYPT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
const DENY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*"}]}"#;
const MAYBE_DENY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;

#[test]
fn a_key_policy_naming_the_account_needs_an_identity_policy() {
    assert_eq!(key(ROOT, &identity(&[])), Decision::ImplicitDeny);
    assert_eq!(key(ROOT, &identity(&[DECRYPT])), Decision::Allow);
    // Identity policies alone never allow a KMS key.
    let none = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/x"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    assert_eq!(key(none, &identity(&[DECRYPT])), Decision::ImplicitDeny);
}

#[test]
fn a_key_policy_naming_the_principal_needs_no_identity_policy_but_a_deny_wins() {
    assert_eq!(key(NAMED, &identity(&[])), Decision::Allow);
    assert_eq!(key(NAMED, &identity(&[DENY])), Decision::ExplicitDeny);
    assert_eq!(
        key(NAMED, &identity(&[DECRYPT, DENY])),
        Decision::ExplicitDeny
    );
    // A Deny that may apply leaves it open, never Allow.
    assert_eq!(
        key(NAMED, &identity(&[MAYBE_DENY])),
        Decision::Indeterminate
    );
    assert_eq!(
        key(ROOT, &identity(&[DECRYPT, MAYBE_DENY])),
        Decision::Indeterminate
    );
}

#[test]
fn a_permissions_boundary_limits_identity_policies_and_grants_to_the_role() {
    let boundary = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    let mut who = identity(&[DECRYPT]);
    who.boundary = Some((
        "b".into(),
        Arc::new(parse_identity_policy(boundary).expect("b")),
    ));
    assert_eq!(key(ROOT, &who), Decision::ImplicitDeny);
    assert_eq!(
        key(NAMED, &who),
        Decision::ImplicitDeny,
        "a role ARN grant is limited by the boundary"
    );
    who.is_role = false;
    assert_eq!(key(NAMED, &who), Decision::Allow, "a user ARN grant is not");
}

#[test]
fn an_unreadable_policy_leaves_the_decision_open() {
    let mut who = identity(&[]);
    who.unreadable = vec!["arn:aws:iam::aws:policy/X was not listed".into()];
    assert_eq!(key(ROOT, &who), Decision::Indeterminate);
    let ctx = TrailContext::new(TRAIL);
    let d = evaluate_identity(&who, &ctx.decrypt_request(RequestPrincipal::caller(ROLE)));
    assert!(d.unknown_keys.iter().any(|k| k.contains("was not listed")));
}

#[test]
fn an_identity_policy_naming_a_principal_is_refused() {
    assert!(parse_identity_policy(NAMED).is_err());
    assert!(parse_identity_policy("not json").is_err());
    // A single statement object (not an array) is read too.
    let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}"#;
    assert_eq!(key(ROOT, &identity(&[one])), Decision::Allow);
}

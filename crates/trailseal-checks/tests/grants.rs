//! TS008 with KMS grants (KMS Developer Guide, "Grants in AWS KMS"): a grant of `Decrypt` lets
//! its grantee decrypt without any key policy statement, within its constraints; an explicit
//! Deny in the key policy still overrides it.

use std::collections::BTreeMap;

use trailseal_checks::run_trail_checks;
use trailseal_model::{Fact, Grant, Key, Status, Trail, TrailEvidence};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ROLE: &str = "arn:aws:iam::111122223333:role/LogReader";

/// CloudTrail may encrypt; no statement lets anyone decrypt.
const ENCRYPT_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}"#;

fn evidence(policy: &str, grants: Fact<Vec<Grant>>) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some(KEY.into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    TrailEvidence {
        trail,
        key: Some(Key {
            arn: Some(KEY.into()),
            region: Fact::Known("us-east-1".into()),
            policy: Fact::Known(policy.into()),
            grants,
            ..Key::default()
        }),
        ..TrailEvidence::default()
    }
}

fn decrypt_grant(grantee: &str) -> Grant {
    Grant {
        grant_id: "g-1".into(),
        grantee_principal: grantee.into(),
        operations: vec!["Decrypt".into()],
        ..Grant::default()
    }
}

fn ts008(ev: &TrailEvidence) -> (Status, String) {
    let f = run_trail_checks(ev, &["TS008"]).remove(0);
    (f.status, f.message)
}

#[test]
fn a_decrypt_grant_makes_a_reader_where_no_statement_does() {
    assert_eq!(
        ts008(&evidence(ENCRYPT_ONLY, Fact::Known(vec![]))).0,
        Status::Fail
    );
    let (status, message) = ts008(&evidence(
        ENCRYPT_ONLY,
        Fact::Known(vec![decrypt_grant(ROLE)]),
    ));
    assert_eq!(status, Status::Pass, "{message}");
    assert!(
        message.contains(ROLE) && message.contains("grant g-1"),
        "{message}"
    );
    // Another account's grantee is named as such.
    let other = "arn:aws:iam::999988887777:role/Auditor";
    let (_, message) = ts008(&evidence(
        ENCRYPT_ONLY,
        Fact::Known(vec![decrypt_grant(other)]),
    ));
    assert!(message.contains("(another account)"), "{message}");
}

#[test]
fn constraints_decide_whether_a_grant_covers_the_log_files() {
    let with = |constraint: fn(&mut Grant, BTreeMap<String, String>), trail: &str| {
        let mut g = decrypt_grant(ROLE);
        let pairs = BTreeMap::from([("aws:cloudtrail:arn".to_owned(), trail.to_owned())]);
        constraint(&mut g, pairs);
        ts008(&evidence(ENCRYPT_ONLY, Fact::Known(vec![g]))).0
    };
    let subset = |g: &mut Grant, p| g.encryption_context_subset = Some(p);
    let equals = |g: &mut Grant, p| g.encryption_context_equals = Some(p);
    assert_eq!(with(subset, TRAIL), Status::Pass);
    let other = "arn:aws:cloudtrail:us-east-1:111122223333:trail/other";
    assert_eq!(with(subset, other), Status::Fail);
    // Equals: the log files' context also holds aws:s3:arn, so it never matches exactly.
    assert_eq!(with(equals, TRAIL), Status::Fail);
    // Operations without Decrypt make no reader.
    let mut g = decrypt_grant(ROLE);
    g.operations = vec!["Encrypt".into(), "GenerateDataKey".into()];
    assert_eq!(
        ts008(&evidence(ENCRYPT_ONLY, Fact::Known(vec![g]))).0,
        Status::Fail
    );
}

#[test]
fn a_deny_of_the_key_policy_overrides_a_grant() {
    let deny = |condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[
  {{"Sid":"CT","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":"kms:GenerateDataKey*","Resource":"*"}},
  {{"Sid":"NoReaders","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*"{condition}}}]}}"#
        )
    };
    let grant = Fact::Known(vec![decrypt_grant(ROLE)]);
    assert_eq!(ts008(&evidence(&deny(""), grant.clone())).0, Status::Fail);
    // A Deny that may or may not apply: undecided, never a pass.
    let maybe = deny(r#","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#);
    assert_eq!(ts008(&evidence(&maybe, grant)).0, Status::Indeterminate);
}

#[test]
fn unreadable_grants_are_never_a_pass() {
    let (status, message) = ts008(&evidence(
        ENCRYPT_ONLY,
        Fact::Unreadable("kms:ListGrants: AccessDeniedException".into()),
    ));
    assert_eq!(status, Status::Error, "{message}");
    // Older evidence without grants: the same.
    assert_eq!(
        ts008(&evidence(ENCRYPT_ONLY, Fact::default())).0,
        Status::Error
    );
}

/// Grants to AWS services act for the service's resources (a SourceArn constraint is required
/// with a grantee service principal: "Creating grants", KMS Developer Guide), not as log
/// readers; a grantee that is no IAM principal trailseal can evaluate names nobody.
#[test]
fn service_grants_and_odd_grantees_are_no_readers() {
    let fails = |g: Grant| ts008(&evidence(ENCRYPT_ONLY, Fact::Known(vec![g]))).0;
    let mut service = decrypt_grant("");
    service.grantee_service_principal = Some("dsql.amazonaws.com".into());
    service.source_arn = Some("arn:aws:dsql:us-east-1:111122223333:cluster/c".into());
    assert_eq!(fails(service), Status::Fail);
    for grantee in [
        "dsql.amazonaws.com",
        "cloudtrail.amazonaws.com",
        "",
        "AROAEXAMPLEID123456",
        "arn:aws:iam::111122223333:role/aws-service-role/dsql.amazonaws.com/AWSServiceRoleForDsql",
    ] {
        assert_eq!(fails(decrypt_grant(grantee)), Status::Fail, "{grantee:?}");
    }
    // A SourceArn constraint on a person's grant: no reader either.
    let mut scoped = decrypt_grant(ROLE);
    scoped.source_arn = Some("arn:aws:s3:::logs".into());
    assert_eq!(fails(scoped), Status::Fail);
}

/// Constraint keys are not case sensitive (GrantConstraints, KMS API Reference); a grant to
/// an account names that account's IAM principals.
#[test]
fn constraint_keys_ignore_case_and_an_account_grant_names_its_principals() {
    let mut g = decrypt_grant(ROLE);
    g.encryption_context_subset = Some(BTreeMap::from([(
        "AWS:CloudTrail:ARN".to_owned(),
        TRAIL.to_owned(),
    )]));
    assert_eq!(
        ts008(&evidence(ENCRYPT_ONLY, Fact::Known(vec![g]))).0,
        Status::Pass
    );
    let (status, message) = ts008(&evidence(
        ENCRYPT_ONLY,
        Fact::Known(vec![decrypt_grant("arn:aws:iam::111122223333:root")]),
    ));
    assert_eq!(status, Status::Pass);
    assert!(
        message.contains("IAM principals of account 111122223333 whose IAM policies allow"),
        "{message}"
    );
}

/// A definite reader through a grant decides "someone can read" even when the key policy's own
/// readers depend on conditions trailseal cannot decide.
#[test]
fn a_grant_reader_decides_when_the_policy_readers_are_undecided() {
    let conditional = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"},
  {"Sid":"Ip","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Ops"},"Action":"kms:Decrypt","Resource":"*",
   "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
    assert_eq!(
        ts008(&evidence(conditional, Fact::Known(vec![]))).0,
        Status::Indeterminate
    );
    assert_eq!(
        ts008(&evidence(
            conditional,
            Fact::Known(vec![decrypt_grant(ROLE)])
        ))
        .0,
        Status::Pass
    );
}

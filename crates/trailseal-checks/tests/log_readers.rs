//! TS015 and the end-to-end readers analysis: a reader needs `s3:GetObject` on a log file AND
//! `kms:Decrypt` of it, each through resource policy and IAM policies as IAM combines them
//! (IAM User Guide, "Policy evaluation logic"; KMS Developer Guide, "Key policies": a key policy
//! naming the account delegates to IAM policies).

use std::sync::Arc;

use trailseal_checks::log_readers::{log_readers, RowKind};
use trailseal_checks::run_trail_checks;
use trailseal_model::{
    Bucket, Fact, Grant, IamAuthorization, IamGroup, IamIdentity, InlinePolicy, Key, ManagedPolicy,
    Status, Trail, TrailEvidence,
};
use trailseal_policy::Tri;

const ACCOUNT: &str = "111122223333";
const OTHER: &str = "999988887777";
const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The default key policy shape: the account root (delegation to IAM), CloudTrail encrypts.
const KEY_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
  {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}"#;

/// CloudTrail's documented statements only.
const BUCKET_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::logs"},
  {"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*"}]}"#;

const READ_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","kms:Decrypt"],"Resource":"*"}]}"#;
const DECRYPT_ONLY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;

/// Roles trust their own account (assumed by its principals).
const TRUST_ACCOUNT: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;

fn role(name: &str, inline: &[&str]) -> IamIdentity {
    IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:role/{name}"),
        name: name.into(),
        path: "/".into(),
        trust_policy: Some(TRUST_ACCOUNT.into()),
        inline: inline
            .iter()
            .enumerate()
            .map(|(i, d)| InlinePolicy {
                name: format!("p{i}"),
                document: (*d).into(),
            })
            .collect(),
        ..IamIdentity::default()
    }
}

fn evidence(key_policy: &str, bucket_policy: Option<&str>, iam: IamAuthorization) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some(KEY.into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    trail.s3_key_prefix = Fact::Known(None);
    trail.is_organization_trail = Fact::Known(false);
    trail.has_insight_selectors = Fact::Known(false);
    TrailEvidence {
        trail,
        key: Some(Key {
            arn: Some(KEY.into()),
            region: Fact::Known("us-east-1".into()),
            policy: Fact::Known(key_policy.into()),
            state: Fact::Known("Enabled".into()),
            key_spec: Fact::Known("SYMMETRIC_DEFAULT".into()),
            grants: Fact::Known(vec![]),
            ..Key::default()
        }),
        bucket: Some(Bucket {
            name: "logs".into(),
            region: Fact::Known("us-east-1".into()),
            exists: Fact::Known(true),
            policy: Fact::Known(bucket_policy.map(str::to_owned)),
            bucket_key: Fact::Known(false),
            object_ownership: Fact::Known("BucketOwnerEnforced".into()),
        }),
        iam: Fact::Known(Arc::new(iam)),
        bucket_in_account: Fact::Known(true),
        ..TrailEvidence::default()
    }
}

fn ts015(ev: &TrailEvidence) -> (Status, String) {
    let f = run_trail_checks(ev, &["TS015"]).remove(0);
    (f.status, f.message)
}

fn reader(ev: &TrailEvidence, principal: &str) -> Tri {
    let t = log_readers(ev).expect("analysis");
    t.rows
        .iter()
        .find(|r| r.principal == principal)
        .unwrap_or_else(|| panic!("no row {principal}: {:#?}", t.rows))
        .reader()
}

#[test]
fn a_role_with_decrypt_on_everything_through_the_account_delegation_is_a_reader() {
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL]), role("Builder", &[])],
        ..IamAuthorization::default()
    };
    let ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Investigator"),
        Tri::True
    );
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Builder"),
        Tri::False
    );
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Pass, "{message}");
    assert!(message.contains("role/Investigator"), "{message}");
    assert!(!message.contains("Builder"), "{message}");
}

#[test]
fn a_user_who_can_decrypt_but_not_read_the_objects_is_not_a_reader() {
    let user = IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        name: "alice".into(),
        path: "/".into(),
        inline: vec![InlinePolicy {
            name: "d".into(),
            document: DECRYPT_ONLY.into(),
        }],
        ..IamIdentity::default()
    };
    let iam = IamAuthorization {
        users: vec![user],
        ..IamAuthorization::default()
    };
    let ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:user/alice"),
        Tri::False
    );
    let t = log_readers(&ev).expect("analysis");
    assert_eq!(t.partial().count(), 1);
    // Only the root user can read: a finding.
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("root user"), "{message}");
    assert!(message.contains("user/alice (decrypt only)"), "{message}");
}

#[test]
fn group_policies_managed_policies_and_boundaries_count() {
    let managed = ManagedPolicy {
        arn: format!("arn:aws:iam::{ACCOUNT}:policy/ReadLogs"),
        name: "ReadLogs".into(),
        document: Some(READ_ALL.into()),
    };
    let deny_kms = ManagedPolicy {
        arn: format!("arn:aws:iam::{ACCOUNT}:policy/NoKms"),
        name: "NoKms".into(),
        document: Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#
                .into(),
        ),
    };
    let user = IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/bob"),
        name: "bob".into(),
        groups: vec!["auditors".into()],
        ..IamIdentity::default()
    };
    let mut bounded = role("Bounded", &[]);
    bounded.attached = vec![managed.arn.clone()];
    bounded.permissions_boundary = Some(deny_kms.arn.clone());
    let iam = IamAuthorization {
        users: vec![user],
        roles: vec![bounded],
        groups: vec![IamGroup {
            arn: format!("arn:aws:iam::{ACCOUNT}:group/auditors"),
            name: "auditors".into(),
            attached: vec![managed.arn.clone()],
            ..IamGroup::default()
        }],
        policies: vec![managed, deny_kms],
    };
    let ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    assert_eq!(reader(&ev, "arn:aws:iam::111122223333:user/bob"), Tri::True);
    // The boundary allows no KMS action: the role cannot decrypt.
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Bounded"),
        Tri::False
    );
}

#[test]
fn an_explicit_deny_in_the_bucket_policy_or_an_iam_policy_wins() {
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:GetObject","Resource":"*"}]}"#;
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL, deny])],
        ..IamAuthorization::default()
    };
    let ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Investigator"),
        Tri::False
    );
}

#[test]
fn a_public_bucket_is_not_a_leak_while_nobody_outside_can_decrypt() {
    let public = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}"#;
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let ev = evidence(KEY_POLICY, Some(public), iam.clone());
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Pass, "{message}");
    let t = log_readers(&ev).expect("analysis");
    let anonymous = t
        .rows
        .iter()
        .find(|r| r.kind == RowKind::Anonymous)
        .expect("row");
    assert_eq!(anonymous.read.decision, trailseal_policy::Decision::Allow);
    assert_eq!(anonymous.reader(), Tri::False);

    // With a key policy open to every account too, anyone can read the logs.
    let open_key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Open","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let (status, message) = ts015(&evidence(open_key, Some(public), iam));
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("every account"), "{message}");
}

#[test]
fn another_account_readable_through_both_policies_fails_unless_trusted() {
    let partner = "arn:aws:iam::999988887777:role/Partner";
    let bucket = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"{partner}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}]}}"#
    );
    let key = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let mut ev = evidence(&key, Some(&bucket), iam);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("role/Partner"), "{message}");
    assert!(message.contains("PartnerDecrypt"), "{message}");
    ev.trusted_accounts = vec![OTHER.into()];
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Pass, "{message}");
}

#[test]
fn a_grant_that_opens_decrypt_to_another_account() {
    let partner = "arn:aws:iam::999988887777:role/Partner";
    let bucket = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Partner","Effect":"Allow","Principal":{{"AWS":"{partner}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}]}}"#
    );
    let mut ev = evidence(KEY_POLICY, Some(&bucket), IamAuthorization::default());
    assert_eq!(
        reader(&ev, partner),
        Tri::False,
        "no decrypt without the grant"
    );
    ev.key.as_mut().expect("key").grants = Fact::Known(vec![Grant {
        grant_id: "g-9".into(),
        grantee_principal: partner.into(),
        operations: vec!["Decrypt".into()],
        ..Grant::default()
    }]);
    assert_eq!(reader(&ev, partner), Tri::True);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("grant g-9"), "{message}");
}

#[test]
fn unknown_is_never_pass() {
    // IAM not read: the account's principals depend on it; only root is known.
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), IamAuthorization::default());
    ev.iam = Fact::Unreadable("iam:GetAccountAuthorizationDetails: AccessDenied".into());
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Indeterminate, "{message}");

    // A condition on the source IP in a grant to another account: undecided, not pass.
    let bucket = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Partner","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*",
       "Condition":{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}}]}"#;
    let key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"PartnerDecrypt","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let (status, message) = ts015(&evidence(key, Some(bucket), iam.clone()));
    assert_eq!(status, Status::Indeterminate, "{message}");
    assert!(message.contains("aws:SourceIp"), "{message}");

    // The bucket policy could not be read: reading depends on it.
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam.clone());
    ev.bucket.as_mut().expect("bucket").policy = Fact::Unreadable("AccessDenied".into());
    assert_eq!(ts015(&ev).0, Status::Indeterminate);

    // An attached managed policy the answer did not list: that role is undecided.
    let mut unlisted = role("Unlisted", &[]);
    unlisted.attached = vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()];
    let ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            roles: vec![unlisted],
            ..IamAuthorization::default()
        },
    );
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Unlisted"),
        Tri::Unknown
    );
    assert_eq!(ts015(&ev).0, Status::Indeterminate);

    // Whether the bucket is in the account is not known: an IAM-only S3 grant is undecided.
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    ev.bucket_in_account = Fact::Unreadable("s3:ListBuckets: AccessDenied".into());
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Investigator"),
        Tri::Unknown
    );
}

#[test]
fn a_bucket_in_another_account_needs_its_policy_to_grant() {
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    ev.bucket_in_account = Fact::Known(false);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Investigator"),
        Tri::False
    );
}

#[test]
fn a_disabled_key_decrypts_nothing_and_an_unknown_state_decides_nothing() {
    let iam = IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    ev.key.as_mut().expect("key").state = Fact::Known("PendingDeletion".into());
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("PendingDeletion"), "{message}");
    ev.key.as_mut().expect("key").state = Fact::Unreadable("kms:DescribeKey: AccessDenied".into());
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
}

/// A key policy that lets another account decrypt (the classic cross-account share).
fn key_shared_with(account: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"Shared","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    )
}

fn bucket_with(statement: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#)
}

fn investigator() -> IamAuthorization {
    IamAuthorization {
        roles: vec![role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    }
}

#[test]
fn every_log_file_counts_not_only_one_region_or_date() {
    // A multi-Region trail: the other account may read only eu-west-1's files. It reads logs.
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/eu-west-1/*"}}"#
    ));
    let mut ev = evidence(&key_shared_with(OTHER), Some(&bucket), investigator());
    ev.trail.is_multi_region = Fact::Known(true);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    // Only one year's files: some log files, undecided (never pass).
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/us-east-1/2025/*"}}"#
    ));
    let ev = evidence(&key_shared_with(OTHER), Some(&bucket), investigator());
    assert_ne!(ts015(&ev).0, Status::Pass);
    // A Deny of one Region's folder leaves the others open to everyone.
    let open_key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Open","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let bucket = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"},
      {"Sid":"NotHome","Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/us-east-1/*"}]}"#;
    let mut ev = evidence(open_key, Some(bucket), investigator());
    ev.trail.is_multi_region = Fact::Known(true);
    assert_eq!(ts015(&ev).0, Status::Fail);
}

#[test]
fn an_organization_trail_member_folder_counts() {
    let open_key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Open","Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let bucket = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Member","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/AWSLogs/o-abc123/222233334444/*"}]}"#;
    let mut ev = evidence(open_key, Some(bucket), investigator());
    ev.trail.is_organization_trail = Fact::Known(true);
    ev.organization = Some(trailseal_model::OrganizationInfo {
        id: "o-abc123".into(),
        management_account: ACCOUNT.into(),
        member_accounts: vec![ACCOUNT.into(), "222233334444".into()],
    });
    assert_ne!(ts015(&ev).0, Status::Pass);
}

#[test]
fn a_bucket_owned_elsewhere_may_be_read_by_its_owner_through_iam_alone() {
    let mut ev = evidence(
        &key_shared_with("444455556666"),
        Some(BUCKET_POLICY),
        investigator(),
    );
    ev.bucket_in_account = Fact::Known(false);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Indeterminate, "{message}");
    ev.trusted_accounts = vec!["444455556666".into()];
    // The trail account's role cannot read (the bucket policy grants it nothing): nobody known.
    assert_ne!(ts015(&ev).0, Status::Pass);
}

#[test]
fn grants_to_an_account_and_grants_limited_to_some_files() {
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    let mut ev = evidence(KEY_POLICY, Some(&bucket), investigator());
    let grant = |constraint: Option<(&str, &str)>| Grant {
        grant_id: "g-acct".into(),
        grantee_principal: format!("arn:aws:iam::{OTHER}:root"),
        operations: vec!["Decrypt".into()],
        encryption_context_subset: constraint
            .map(|(k, v)| std::collections::BTreeMap::from([(k.to_owned(), v.to_owned())])),
        ..Grant::default()
    };
    ev.key.as_mut().expect("key").grants = Fact::Known(vec![grant(None)]);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("g-acct"), "{message}");
    // With S3 Bucket Keys every file's context is the bucket ARN: some (or all) files.
    ev.key.as_mut().expect("key").grants =
        Fact::Known(vec![grant(Some(("aws:s3:arn", "arn:aws:s3:::logs")))]);
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
    // A context key no log file has: no file.
    ev.key.as_mut().expect("key").grants = Fact::Known(vec![grant(Some(("Department", "x")))]);
    assert_eq!(ts015(&ev).0, Status::Pass);
}

#[test]
fn a_grant_does_not_override_a_deny_of_the_grantees_iam_policies() {
    let alice = IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        name: "alice".into(),
        inline: vec![InlinePolicy {
            name: "p".into(),
            document: r#"{"Version":"2012-10-17","Statement":[
              {"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},
              {"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#
                .into(),
        }],
        ..IamIdentity::default()
    };
    let encrypt_only = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}"#;
    let mut ev = evidence(
        encrypt_only,
        Some(BUCKET_POLICY),
        IamAuthorization {
            users: vec![alice],
            ..IamAuthorization::default()
        },
    );
    ev.key.as_mut().expect("key").grants = Fact::Known(vec![Grant {
        grant_id: "g-alice".into(),
        grantee_principal: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        operations: vec!["Decrypt".into()],
        ..Grant::default()
    }]);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:user/alice"),
        Tri::Unknown
    );
    assert_ne!(ts015(&ev).0, Status::Pass);
}

#[test]
fn a_deny_with_not_principal_denies_every_principal_with_a_boundary() {
    let bucket = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"OnlyAlice","Effect":"Deny","NotPrincipal":{"AWS":["arn:aws:iam::111122223333:user/alice","arn:aws:iam::111122223333:root"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}"#;
    let boundary = ManagedPolicy {
        arn: format!("arn:aws:iam::{ACCOUNT}:policy/everything"),
        name: "everything".into(),
        document: Some(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#
                .into(),
        ),
    };
    let alice = IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/alice"),
        name: "alice".into(),
        inline: vec![InlinePolicy {
            name: "p".into(),
            document: READ_ALL.into(),
        }],
        permissions_boundary: Some(boundary.arn.clone()),
        ..IamIdentity::default()
    };
    let iam = IamAuthorization {
        users: vec![alice.clone()],
        policies: vec![boundary],
        ..IamAuthorization::default()
    };
    let ev = evidence(KEY_POLICY, Some(bucket), iam);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:user/alice"),
        Tri::False
    );
    // Without the boundary, NotPrincipal exempts her.
    let mut plain = alice;
    plain.permissions_boundary = None;
    let ev = evidence(
        KEY_POLICY,
        Some(bucket),
        IamAuthorization {
            users: vec![plain],
            ..IamAuthorization::default()
        },
    );
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:user/alice"),
        Tri::True
    );
}

#[test]
fn a_trail_arn_that_does_not_name_its_account_decides_nothing() {
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*"}}"#
    ));
    let mut ev = evidence(&key_shared_with(OTHER), Some(&bucket), investigator());
    ev.trail.arn = "arn:aws:cloudtrail".into();
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
}

#[test]
fn a_direct_grant_next_to_the_account_delegation_is_not_lost() {
    let key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Builder","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/Builder"},"Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]}"#;
    let s3_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let iam = IamAuthorization {
        roles: vec![role("Builder", &[s3_only])],
        ..IamAuthorization::default()
    };
    let mut ev = evidence(key, Some(BUCKET_POLICY), iam);
    ev.bucket.as_mut().expect("bucket").region = Fact::Known("us-east-1".into());
    // S3 decrypts through kms:ViaService s3.us-east-1.amazonaws.com: decided.
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Builder"),
        Tri::True
    );
    ev.bucket.as_mut().expect("bucket").region = Fact::Known("eu-west-1".into());
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Builder"),
        Tri::False
    );
}

#[test]
fn insights_files_readable_outside_leave_the_answer_open() {
    // Insights files are written to CloudTrail-Insight/; how they are encrypted is not
    // documented, so a public read of them is not a pass.
    let public = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}"#;
    let mut ev = evidence(KEY_POLICY, Some(public), investigator());
    assert_eq!(ts015(&ev).0, Status::Pass);
    ev.trail.has_insight_selectors = Fact::Known(true);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Indeterminate, "{message}");
    assert!(message.contains("Insights"), "{message}");
}

#[test]
fn a_principal_that_may_rewrite_the_policies_can_read() {
    // Another account may PutKeyPolicy and read the objects: it can give itself decrypt.
    let key = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"PartnerAdmin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:PutKeyPolicy","kms:CreateGrant"],"Resource":"*"}}]}}"#
    );
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    let (status, message) = ts015(&evidence(&key, Some(&bucket), investigator()));
    assert_eq!(status, Status::Fail, "{message}");
    assert!(message.contains("can give itself kms:Decrypt"), "{message}");
}

#[test]
fn a_grant_is_never_certain_while_a_deny_of_the_key_policy_may_apply() {
    let key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"OffNetwork","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
       "Condition":{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:role/*"},"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}]}"#;
    let mut ev = evidence(key, Some(BUCKET_POLICY), investigator());
    ev.key.as_mut().expect("key").grants = Fact::Known(vec![Grant {
        grant_id: "g-root".into(),
        grantee_principal: format!("arn:aws:iam::{ACCOUNT}:root"),
        operations: vec!["Decrypt".into()],
        ..Grant::default()
    }]);
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:role/Investigator"),
        Tri::Unknown
    );
}

#[test]
fn every_matching_grant_counts_whatever_the_order() {
    let s3_only = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    let encrypt_only = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;
    let grant = |id: &str, who: &str| Grant {
        grant_id: id.into(),
        grantee_principal: who.into(),
        operations: vec!["Decrypt".into()],
        ..Grant::default()
    };
    for order in [false, true] {
        let mut ev = evidence(
            encrypt_only,
            Some(BUCKET_POLICY),
            IamAuthorization {
                roles: vec![role("Builder", &[s3_only])],
                ..IamAuthorization::default()
            },
        );
        let mut grants = vec![
            grant("g-root", "arn:aws:iam::111122223333:root"),
            grant("g-builder", "arn:aws:iam::111122223333:role/Builder"),
        ];
        if order {
            grants.reverse();
        }
        ev.key.as_mut().expect("key").grants = Fact::Known(grants);
        assert_eq!(
            reader(&ev, "arn:aws:iam::111122223333:role/Builder"),
            Tri::True,
            "order {order}"
        );
    }
}

#[test]
fn a_folder_grant_counts_only_where_log_files_certainly_are() {
    // An opt-in Region, or a multi-Region flag that is not known: no certain files there.
    let only = |region: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/{region}/*"}},{{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}}]}}"#
        )
    };
    let opt_in = only("me-central-1");
    let mut ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            roles: vec![role("Regional", &[&opt_in])],
            ..IamAuthorization::default()
        },
    );
    ev.trail.is_multi_region = Fact::Known(true);
    assert_ne!(ts015(&ev).0, Status::Pass);
    let west = only("us-west-2");
    let mut ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            roles: vec![role("Regional", &[&west])],
            ..IamAuthorization::default()
        },
    );
    ev.trail.is_multi_region = Fact::Unreadable("not read".into());
    assert_ne!(ts015(&ev).0, Status::Pass);
    ev.trail.is_multi_region = Fact::Known(true);
    // Files are there, but not the home Region's: a reader of part of the logs only.
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
    // A grant on one month of files: not certain that any file is there.
    let month = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/*"},{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            roles: vec![role("Monthly", &[month])],
            ..IamAuthorization::default()
        },
    );
    assert_ne!(ts015(&ev).0, Status::Pass);
}

#[test]
fn rewriting_a_policy_gets_past_its_denies() {
    // The partner may PutKeyPolicy, and a Deny refuses it Decrypt: it can replace the Deny.
    let key = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"KeyAdmins","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":["kms:Put*","kms:Create*"],"Resource":"*"}},
      {{"Sid":"NoDecrypt","Effect":"Deny","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
    );
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    assert_eq!(
        ts015(&evidence(&key, Some(&bucket), investigator())).0,
        Status::Fail
    );
    // A grant it creates itself is still refused by the Deny: only PutKeyPolicy gets past it.
    let grant_only = key.replace(r#"["kms:Put*","kms:Create*"]"#, r#""kms:CreateGrant""#);
    assert_eq!(
        ts015(&evidence(&grant_only, Some(&bucket), investigator())).0,
        Status::Pass
    );
}

#[test]
fn get_object_version_reads_the_logs_too() {
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObjectVersion","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    let (status, message) = ts015(&evidence(
        &key_shared_with(OTHER),
        Some(&bucket),
        investigator(),
    ));
    assert_eq!(status, Status::Fail, "{message}");
}

#[test]
fn a_create_grant_limited_to_the_log_context_is_not_a_pass() {
    let key = format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"Grants","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"kms:CreateGrant","Resource":"*",
        "Condition":{{"StringLike":{{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:111122223333:trail/*"}}}}}}]}}"#
    );
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:root"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    assert_ne!(
        ts015(&evidence(&key, Some(&bucket), investigator())).0,
        Status::Pass
    );
}

#[test]
fn a_key_spec_not_known_decides_nothing() {
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), investigator());
    ev.key.as_mut().expect("key").key_spec = Fact::Unreadable("not collected".into());
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
}

#[test]
fn reading_one_other_region_is_not_reading_the_logs() {
    let north = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/eu-north-1/*"},{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let home = north.replace("eu-north-1", "us-east-1");
    let with = |doc: &str| {
        let mut ev = evidence(
            KEY_POLICY,
            Some(BUCKET_POLICY),
            IamAuthorization {
                roles: vec![role("Regional", &[doc])],
                ..IamAuthorization::default()
            },
        );
        ev.trail.is_multi_region = Fact::Known(true);
        ts015(&ev).0
    };
    assert_eq!(with(north), Status::Indeterminate);
    assert_eq!(with(&home), Status::Pass);
}

#[test]
fn a_reader_role_another_account_may_assume_is_that_accounts_reader() {
    let vendor = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;
    let mut siem = role("VendorSiemIngest", &[READ_ALL]);
    siem.trust_policy = Some(vendor.into());
    let iam = IamAuthorization {
        roles: vec![siem.clone(), role("Investigator", &[READ_ALL])],
        ..IamAuthorization::default()
    };
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), iam);
    let (status, message) = ts015(&ev);
    assert_eq!(status, Status::Fail, "{message}");
    assert!(
        message.contains("through arn:aws:iam::111122223333:role/VendorSiemIngest"),
        "{message}"
    );
    ev.trusted_accounts = vec![OTHER.into()];
    assert_eq!(ts015(&ev).0, Status::Pass);
    // With an external id the vendor must present: undecided, not pass.
    let with_id = vendor.replace(
        r#""Action":"sts:AssumeRole"}"#,
        r#""Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}"#,
    );
    let mut ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            roles: vec![
                IamIdentity {
                    trust_policy: Some(with_id),
                    ..siem.clone()
                },
                role("Investigator", &[READ_ALL]),
            ],
            ..IamAuthorization::default()
        },
    );
    assert_eq!(ts015(&ev).0, Status::Indeterminate);
    // A trust policy that was not read: whoever may assume the role is not known.
    ev.iam = Fact::Known(Arc::new(IamAuthorization {
        roles: vec![IamIdentity {
            trust_policy: None,
            ..siem
        }],
        ..IamAuthorization::default()
    }));
    assert_ne!(ts015(&ev).0, Status::Pass);
}

#[test]
fn ts008_fails_when_any_account_may_give_itself_decrypt() {
    for action in ["kms:CreateGrant", "kms:PutKeyPolicy"] {
        let key = format!(
            r#"{{"Version":"2012-10-17","Statement":[
          {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
          {{"Sid":"Open","Effect":"Allow","Principal":{{"AWS":"*"}},"Action":"{action}","Resource":"*"}}]}}"#
        );
        let ev = evidence(&key, Some(BUCKET_POLICY), investigator());
        let f = run_trail_checks(&ev, &["TS008"]).remove(0);
        assert_eq!(f.status, Status::Fail, "{action}: {}", f.message);
        assert!(f.message.contains(action), "{}", f.message);
    }
    // The documented policy: no escalation.
    let ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), investigator());
    assert_eq!(
        run_trail_checks(&ev, &["TS008"]).remove(0).status,
        Status::Pass
    );
}

#[test]
fn a_service_that_serves_the_objects_is_a_reader_outside_the_account() {
    // CloudFront origin access control: the bucket and the key let cloudfront.amazonaws.com read
    // and decrypt for a distribution; whoever the distribution serves reads the logs.
    let bucket = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"OAC","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*",
       "Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::111122223333:distribution/E1"}}}]}"#;
    let key = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"OAC","Effect":"Allow","Principal":{"Service":"cloudfront.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::111122223333:distribution/E1"}}}]}"#;
    let (status, message) = ts015(&evidence(key, Some(bucket), investigator()));
    assert_eq!(status, Status::Indeterminate, "{message}");
    assert!(message.contains("cloudfront.amazonaws.com"), "{message}");
    let unconditional = |p: &str| {
        p.replace(
            r#",
       "Condition":{"StringEquals":{"AWS:SourceArn":"arn:aws:cloudfront::111122223333:distribution/E1"}}"#,
            "",
        )
    };
    let (status, message) = ts015(&evidence(
        &unconditional(key),
        Some(&unconditional(bucket)),
        investigator(),
    ));
    assert_eq!(status, Status::Fail, "{message}");
}

#[test]
fn enabled_object_acls_are_said_not_evaluated() {
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), investigator());
    assert!(log_readers(&ev).expect("analysis").notes.is_empty());
    ev.bucket.as_mut().expect("bucket").object_ownership = Fact::Known("ObjectWriter".into());
    let notes = log_readers(&ev).expect("analysis").notes;
    assert!(
        notes.iter().any(|n| n.contains("object ACLs are enabled")),
        "{notes:?}"
    );
}

#[test]
fn the_finding_lists_outsiders_first_and_at_most_fifty_rows() {
    let roles: Vec<IamIdentity> = (0..60)
        .map(|i| role(&format!("R{i:02}"), &[READ_ALL]))
        .collect();
    let partner = "arn:aws:iam::999988887777:role/Partner";
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"{partner}"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    let ev = evidence(
        &key_shared_with(OTHER),
        Some(&bucket),
        IamAuthorization {
            roles,
            ..IamAuthorization::default()
        },
    );
    let f = run_trail_checks(&ev, &["TS015"]).remove(0);
    let readers = f.evidence["readers"].as_array().expect("readers");
    assert_eq!(readers.len(), 50);
    assert_eq!(readers[0]["principal"], partner, "{readers:?}");
    assert_eq!(
        f.evidence["readers_total"], 62,
        "root, 60 roles, the partner"
    );
}

#[test]
fn what_was_not_read_is_never_a_pass() {
    // A user in a group the answer does not list: its permissions are not known.
    let user = IamIdentity {
        arn: format!("arn:aws:iam::{ACCOUNT}:user/bob"),
        name: "bob".into(),
        groups: vec!["missing".into()],
        ..IamIdentity::default()
    };
    let ev = evidence(
        KEY_POLICY,
        Some(BUCKET_POLICY),
        IamAuthorization {
            users: vec![user],
            ..IamAuthorization::default()
        },
    );
    assert_eq!(
        reader(&ev, "arn:aws:iam::111122223333:user/bob"),
        Tri::Unknown
    );
    assert_eq!(ts015(&ev).0, Status::Indeterminate);

    // The key's grants could not be read, and no statement lets the partner decrypt.
    let bucket = bucket_with(&format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{OTHER}:role/Partner"}},"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}}"#
    ));
    let mut ev = evidence(KEY_POLICY, Some(&bucket), investigator());
    ev.key.as_mut().expect("key").grants = Fact::Unreadable("kms:ListGrants: AccessDenied".into());
    assert_eq!(ts015(&ev).0, Status::Indeterminate);

    // Whether CloudTrail Insights is on is not known, and anyone may read the bucket.
    let public = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Public","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}"#;
    let mut ev = evidence(KEY_POLICY, Some(public), investigator());
    ev.trail.has_insight_selectors = Fact::Unreadable("not collected".into());
    assert_eq!(ts015(&ev).0, Status::Indeterminate);

    // Whose bucket it is, not known: an IAM-only S3 grant of the account is undecided.
    let mut ev = evidence(KEY_POLICY, Some(BUCKET_POLICY), investigator());
    ev.bucket_in_account = Fact::Unknown("not collected".into());
    assert_ne!(ts015(&ev).0, Status::Pass);
}

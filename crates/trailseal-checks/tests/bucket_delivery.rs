//! TS014 bucket-allows-cloudtrail on evidence: the bucket policy evaluated for CloudTrail's
//! GetBucketAcl and PutObject requests (CloudTrail User Guide, "Amazon S3 bucket policy for
//! CloudTrail"). Each Deny shape that breaks delivery fails; what cannot be read or known is
//! never a pass.

use trailseal_checks::run_trail_checks;
use trailseal_model::{Bucket, Fact, OrganizationInfo, Status, Trail, TrailEvidence};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The documented statements for this trail (acl check and write, pinned with aws:SourceArn).
const DOCUMENTED: &str = r#"
  {"Sid":"AWSCloudTrailAclCheck","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
   "Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::logs",
   "Condition":{"StringEquals":{"aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}},
  {"Sid":"AWSCloudTrailWrite","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
   "Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*",
   "Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control",
     "aws:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}}"#;

fn policy(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

fn evidence(bucket_policy: Fact<Option<String>>) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some(KEY.into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    trail.log_file_validation_enabled = Fact::Known(true);
    trail.has_insight_selectors = Fact::Known(false);
    TrailEvidence {
        trail,
        bucket: Some(Bucket {
            name: "logs".into(),
            region: Fact::Known("us-east-1".into()),
            exists: Fact::Known(true),
            policy: bucket_policy,
            bucket_key: Fact::Known(false),
            object_ownership: Fact::Known("BucketOwnerEnforced".into()),
        }),
        ..TrailEvidence::default()
    }
}

fn ts014(ev: &TrailEvidence) -> (Status, String) {
    let f = run_trail_checks(ev, &["TS014"]).remove(0);
    (f.status, f.message)
}

fn with(statements: &str) -> TrailEvidence {
    evidence(Fact::Known(Some(policy(statements))))
}

#[test]
fn the_documented_policy_passes() {
    let (status, message) = ts014(&with(DOCUMENTED));
    assert_eq!(status, Status::Pass, "{message}");
    // A multi-Region trail's files of every Region are covered by AWSLogs/ACCOUNT/*.
    let mut ev = with(DOCUMENTED);
    ev.trail.is_multi_region = Fact::Known(true);
    assert_eq!(ts014(&ev).0, Status::Pass);
}

#[test]
fn no_policy_a_missing_bucket_and_a_missing_grant_fail() {
    let (status, message) = ts014(&evidence(Fact::Known(None)));
    assert_eq!(status, Status::Fail);
    assert!(message.contains("no bucket policy"), "{message}");

    let mut gone = evidence(Fact::Unreadable("the bucket does not exist".into()));
    if let Some(b) = gone.bucket.as_mut() {
        b.exists = Fact::Known(false);
    }
    let (status, message) = ts014(&gone);
    assert_eq!(status, Status::Fail);
    assert!(message.contains("does not exist"), "{message}");

    // Only the write grant: GetBucketAcl is not allowed.
    let write_only = r#"{"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},
        "Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*"}"#;
    let (status, message) = ts014(&with(write_only));
    assert_eq!(status, Status::Fail);
    assert!(message.contains("s3:GetBucketAcl"), "{message}");
}

/// The classic: a Deny on PutObject unless SSE-KMS under a specific key, hardened for another
/// key than the trail's (Amazon S3 User Guide, "Requiring server-side encryption").
#[test]
fn a_deny_requiring_another_kms_key_fails_and_the_trails_key_passes() {
    let deny = |key: &str| {
        format!(
            r#"{DOCUMENTED},
        {{"Sid":"RequireKey","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*",
         "Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption-aws-kms-key-id":"{key}"}}}}}}"#
        )
    };
    let (status, message) = ts014(&with(&deny(
        "arn:aws:kms:us-east-1:111122223333:key/another",
    )));
    assert_eq!(status, Status::Fail);
    assert!(
        message.contains(r#"explicitly denied by Statement[2] (Sid "RequireKey")"#),
        "{message}"
    );
    // The trail's own key: its log files pass, but "digest files are encrypted with Amazon
    // S3-managed encryption keys (SSE-S3)" (CloudTrail User Guide, "Encrypting CloudTrail log
    // files with AWS KMS keys"): they carry no KMS key id, and the Deny refuses them.
    let (status, message) = ts014(&with(&deny(KEY)));
    assert_eq!(status, Status::Fail);
    assert!(message.contains("CloudTrail-Digest"), "{message}");
    let mut ev = with(&deny(KEY));
    ev.trail.log_file_validation_enabled = Fact::Known(false);
    assert_eq!(ts014(&ev).0, Status::Pass);
    // Validation not known: the refused digest files make it undecided, not a pass.
    ev.trail.log_file_validation_enabled = Fact::Unreadable("not read".into());
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
}

/// Insights files go to CloudTrail-Insight/ (CloudTrail User Guide, "Delivery of Insights
/// events"): a grant that leaves them out fails a trail with Insights on.
#[test]
fn insights_files_follow_the_insight_selectors() {
    let logs_and_digests = DOCUMENTED.replace(
        r#""Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*""#,
        r#""Resource":["arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail/*","arn:aws:s3:::logs/AWSLogs/111122223333/CloudTrail-Digest/*"]"#,
    );
    let mut ev = with(&logs_and_digests);
    assert_eq!(ts014(&ev).0, Status::Pass);
    ev.trail.has_insight_selectors = Fact::Known(true);
    assert_eq!(ts014(&ev).0, Status::Fail);
    ev.trail.has_insight_selectors = Fact::Unreadable("not read".into());
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
}

/// A multi-Region trail outside the aws partition writes every Region of its partition.
#[test]
fn other_partitions_have_their_regions() {
    let gov = |statements: &str| {
        let text = statements
            .replace("arn:aws:", "arn:aws-us-gov:")
            .replace("us-east-1", "us-gov-west-1");
        let mut ev = with(&text);
        ev.trail = Trail {
            arn: TRAIL
                .replace("arn:aws:", "arn:aws-us-gov:")
                .replace("us-east-1", "us-gov-west-1"),
            home_region: "us-gov-west-1".into(),
            ..ev.trail.clone()
        };
        ev.trail.is_multi_region = Fact::Known(true);
        ev
    };
    assert_eq!(ts014(&gov(DOCUMENTED)).0, Status::Pass);
    let regional = DOCUMENTED.replace(
        "AWSLogs/111122223333/*",
        "AWSLogs/111122223333/CloudTrail*/us-east-1/*",
    );
    assert_eq!(ts014(&gov(&regional)).0, Status::Fail);
}

/// Requiring SSE-S3 (AES256) refuses CloudTrail's SSE-KMS writes.
#[test]
fn a_deny_requiring_sse_s3_fails_an_encrypted_trail() {
    let statements = format!(
        r#"{DOCUMENTED},
        {{"Sid":"RequireAES256","Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::logs/*",
         "Condition":{{"StringNotEquals":{{"s3:x-amz-server-side-encryption":"AES256"}}}}}}"#
    );
    assert_eq!(ts014(&with(&statements)).0, Status::Fail);
    // A trail without a key: what CloudTrail sends is not documented, so not a pass either.
    let mut ev = with(&statements);
    ev.trail.kms_key_id = Fact::Known(None);
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
}

#[test]
fn a_grant_for_another_path_or_prefix_fails() {
    let other = DOCUMENTED.replace("AWSLogs/111122223333", "AWSLogs/999988887777");
    assert_eq!(ts014(&with(&other)).0, Status::Fail);
    // The trail writes under a prefix the grant forgets.
    let mut ev = with(DOCUMENTED);
    ev.trail.s3_key_prefix = Fact::Known(Some("trails".into()));
    assert_eq!(ts014(&ev).0, Status::Fail);
    // A prefix with a leading or trailing '/': where CloudTrail writes is not documented.
    let covers_any_prefix = DOCUMENTED.replace(
        r#""Resource":"arn:aws:s3:::logs/AWSLogs/111122223333/*""#,
        r#""Resource":"arn:aws:s3:::logs/*AWSLogs/111122223333/*""#,
    );
    let mut ev = with(&covers_any_prefix);
    ev.trail.s3_key_prefix = Fact::Known(Some("trails".into()));
    assert_eq!(ts014(&ev).0, Status::Pass);
    for odd in ["/trails", "trails/", "a//b"] {
        ev.trail.s3_key_prefix = Fact::Known(Some(odd.into()));
        assert_eq!(ts014(&ev).0, Status::Indeterminate, "{odd}");
    }
    // A grant for one Region's path does not cover a multi-Region trail.
    let regional = DOCUMENTED.replace(
        "AWSLogs/111122223333/*",
        "AWSLogs/111122223333/CloudTrail*/us-east-1/*",
    );
    let mut ev = with(&regional);
    assert_eq!(ts014(&ev).0, Status::Pass);
    ev.trail.is_multi_region = Fact::Known(true);
    assert_eq!(ts014(&ev).0, Status::Fail);
}

/// Digest files are written when log file validation is on; a grant that leaves them out
/// fails then, passes when validation is off, and is undecided when that is not known.
#[test]
fn digest_files_follow_log_file_validation() {
    let logs_only = DOCUMENTED.replace(
        "AWSLogs/111122223333/*",
        "AWSLogs/111122223333/CloudTrail/*",
    );
    let mut ev = with(&logs_only);
    assert_eq!(ts014(&ev).0, Status::Fail);
    ev.trail.log_file_validation_enabled = Fact::Known(false);
    assert_eq!(ts014(&ev).0, Status::Pass);
}

#[test]
fn what_cannot_be_read_is_never_a_pass() {
    let (status, message) = ts014(&evidence(Fact::Unreadable(
        "s3:GetBucketPolicy: AccessDenied".into(),
    )));
    assert_eq!(status, Status::Error, "{message}");
    // An older evidence file without the bucket policy.
    let (status, _) = ts014(&evidence(Fact::default()));
    assert_eq!(status, Status::Error);
    let (status, _) = ts014(&with("{not json"));
    assert_eq!(status, Status::Error);
    // A condition on a key CloudTrail's request does not define.
    let ip = format!(
        r#"{DOCUMENTED},
        {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::logs/*",
         "Condition":{{"NotIpAddress":{{"aws:SourceIp":"10.0.0.0/8"}}}}}}"#
    );
    assert_eq!(ts014(&with(&ip)).0, Status::Indeterminate);
}

/// Common hardening must stay decidable: deny insecure transport, deny outside the
/// organization unless an AWS service calls (IAM User Guide, aws:PrincipalIsAWSService).
#[test]
fn transport_and_organization_guards_are_decided() {
    let guarded = format!(
        r#"{DOCUMENTED},
        {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],
         "Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}},
        {{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::logs","arn:aws:s3:::logs/*"],
         "Condition":{{"StringNotEqualsIfExists":{{"aws:PrincipalOrgID":"o-abc"}},"Bool":{{"aws:PrincipalIsAWSService":"false"}}}}}}"#
    );
    let (status, message) = ts014(&with(&guarded));
    assert_eq!(status, Status::Pass, "{message}");
}

/// An organization trail writes every member's files under AWSLogs/ORG_ID/ACCOUNT/.
#[test]
fn organization_trails_are_checked_for_every_member() {
    let org_grant = r#"
      {"Sid":"Acl","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:GetBucketAcl","Resource":"arn:aws:s3:::logs"},
      {"Sid":"Org","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"s3:PutObject",
       "Resource":"arn:aws:s3:::logs/AWSLogs/o-abc/*","Condition":{"StringEquals":{"s3:x-amz-acl":"bucket-owner-full-control"}}}"#;
    let mut ev = with(org_grant);
    ev.trail.is_organization_trail = Fact::Known(true);
    // Without the organization (a single-account audit): the paths are not known.
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
    ev.organization = Some(OrganizationInfo {
        id: "o-abc".into(),
        management_account: "111122223333".into(),
        member_accounts: vec!["111122223333".into(), "444455556666".into()],
    });
    assert_eq!(ts014(&ev).0, Status::Pass);
    // A grant that names members one by one and forgets one.
    let some = org_grant.replace("AWSLogs/o-abc/*", "AWSLogs/o-abc/111122223333/*");
    if let Some(b) = ev.bucket.as_mut() {
        b.policy = Fact::Known(Some(policy(&some)));
    }
    let (status, message) = ts014(&ev);
    assert_eq!(status, Status::Fail);
    assert!(message.contains("444455556666"), "{message}");
    // Every member in every Region of a multi-Region trail: a Deny on one member's eu-* paths.
    let deny_member_region = format!(
        r#"{org_grant},
        {{"Sid":"NoEu","Effect":"Deny","Principal":"*","Action":"s3:PutObject",
         "Resource":"arn:aws:s3:::logs/AWSLogs/o-abc/444455556666/CloudTrail/eu-*"}}"#
    );
    if let Some(b) = ev.bucket.as_mut() {
        b.policy = Fact::Known(Some(policy(&deny_member_region)));
    }
    assert_eq!(
        ts014(&ev).0,
        Status::Pass,
        "a single-Region trail writes no eu- files"
    );
    ev.trail.is_multi_region = Fact::Known(true);
    assert_eq!(ts014(&ev).0, Status::Fail);
}

/// What decides the paths CloudTrail writes, not known: never a pass.
#[test]
fn unknown_path_facts_are_undecided() {
    let mut ev = with(DOCUMENTED);
    ev.trail.is_multi_region =
        Fact::Unreadable("cloudtrail:DescribeTrails returned no IsMultiRegionTrail".into());
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
    let mut ev = with(DOCUMENTED);
    ev.trail.s3_key_prefix = Fact::Unknown("var.prefix has no value".into());
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
    let mut ev = with(DOCUMENTED);
    ev.trail.is_organization_trail = Fact::Unknown("var.org has no value".into());
    assert_eq!(ts014(&ev).0, Status::Indeterminate);
}

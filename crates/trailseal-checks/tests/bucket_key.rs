//! S3 Bucket Keys (TS006): "If you are using an existing S3 bucket with an S3 Bucket Key,
//! kms:Decrypt permissions are required to create or update a trail with SSE-KMS encryption
//! enabled" (CloudTrail User Guide, "Configure AWS KMS key policies for CloudTrail").

use trailseal_checks::run_trail_checks;
use trailseal_model::{Bucket, Fact, Key, Status, Trail, TrailEvidence};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn key_policy(actions: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
      {{"Sid":"Root","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},
      {{"Sid":"CT","Effect":"Allow","Principal":{{"Service":"cloudtrail.amazonaws.com"}},"Action":{actions},"Resource":"*"}}]}}"#
    )
}

fn ts006(policy: &str, bucket_key: Fact<bool>) -> (Status, String) {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some(KEY.into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    trail.s3_key_prefix = Fact::Known(None);
    trail.is_organization_trail = Fact::Known(false);
    let ev = TrailEvidence {
        trail,
        key: Some(Key {
            arn: Some(KEY.into()),
            region: Fact::Known("us-east-1".into()),
            policy: Fact::Known(policy.into()),
            ..Key::default()
        }),
        bucket: Some(Bucket {
            name: "logs".into(),
            region: Fact::Known("us-east-1".into()),
            exists: Fact::Known(true),
            policy: Fact::Known(None),
            bucket_key,
            object_ownership: Fact::Known("BucketOwnerEnforced".into()),
        }),
        ..TrailEvidence::default()
    };
    let f = run_trail_checks(&ev, &["TS006"]).remove(0);
    (f.status, f.message)
}

#[test]
fn a_bucket_key_asks_for_cloudtrails_decrypt() {
    let encrypt_only = key_policy(r#""kms:GenerateDataKey*""#);
    // No Bucket Key, or not known: the encrypt permission decides, as before.
    assert_eq!(ts006(&encrypt_only, Fact::Known(false)).0, Status::Pass);
    assert_eq!(
        ts006(&encrypt_only, Fact::Unreadable("AccessDenied".into())).0,
        Status::Pass
    );
    // A Bucket Key and no kms:Decrypt for CloudTrail: undecided, with the statement to add.
    let (status, message) = ts006(&encrypt_only, Fact::Known(true));
    assert_eq!(status, Status::Indeterminate, "{message}");
    assert!(message.contains("S3 Bucket Key"), "{message}");
    // With kms:Decrypt: pass.
    let both = key_policy(r#"["kms:GenerateDataKey*","kms:Decrypt"]"#);
    let (status, message) = ts006(&both, Fact::Known(true));
    assert_eq!(status, Status::Pass, "{message}");
}

#[test]
fn a_bucket_key_does_not_narrow_the_encryption_context() {
    // Pinned to the bucket ARN only: right for new objects with a Bucket Key, not for
    // CloudTrail's own check on create or update (bucket and path) nor for older files.
    let pinned = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"CT","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":["kms:GenerateDataKey*","kms:Decrypt"],"Resource":"*",
       "Condition":{"StringEquals":{"kms:EncryptionContext:aws:s3:arn":"arn:aws:s3:::logs"}}}]}"#;
    assert_ne!(ts006(pinned, Fact::Known(true)).0, Status::Pass);
    assert_ne!(ts006(pinned, Fact::Known(false)).0, Status::Pass);
}

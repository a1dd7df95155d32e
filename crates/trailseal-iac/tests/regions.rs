//! Per-resource Regions in Terraform: aliased providers and aws_kms_replica_key.

use std::path::PathBuf;

use trailseal_iac::tf::{scan_module, TfVars};
use trailseal_model::Fact;

fn scan(main: &str) -> trailseal_model::AccountEvidence {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("main.tf");
    std::fs::write(&path, main).expect("write");
    scan_module(&PathBuf::from(dir.path()), &[path], &TfVars::default()).account
}

const REPLICA: &str = r#"
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
resource "aws_kms_key" "primary" {
  multi_region        = true
  enable_key_rotation = true
}
resource "aws_kms_replica_key" "west" {
  provider        = aws.west
  primary_key_arn = aws_kms_key.primary.arn
  enabled         = false
}
resource "aws_s3_bucket" "west" {
  provider = aws.west
  bucket   = "west-logs"
}
resource "aws_cloudtrail" "t" {
  name           = "t"
  s3_bucket_name = aws_s3_bucket.west.id
  kms_key_id     = KEY
}
"#;

#[test]
fn a_replica_key_takes_its_providers_region_and_its_primarys_rotation() {
    let ev = scan(&REPLICA.replace("KEY", "aws_kms_replica_key.west.arn"));
    let replica = ev
        .keys
        .iter()
        .find(|k| k.key_id.as_deref() == Some("aws_kms_replica_key.west"))
        .expect("replica key");
    assert_eq!(
        replica.region.known().map(String::as_str),
        Some("us-west-2")
    );
    assert_eq!(replica.multi_region.known(), Some(&true));
    assert_eq!(replica.rotation_enabled.known(), Some(&true));
    assert_eq!(replica.state.known().map(String::as_str), Some("Disabled"));
    // No policy: the AWS default key policy.
    assert!(replica
        .policy
        .known()
        .is_some_and(|p| p.contains("key-default-1")));
    assert_eq!(ev.key_refs[0].key_arn, replica.arn);
}

#[test]
fn without_a_provider_region_a_region_difference_is_unknown() {
    // The primary is in the deploying Region (not set); the bucket in us-west-2: they may be
    // the same Region, so TS005 cannot decide.
    let ts005 = |ev: &trailseal_model::AccountEvidence| {
        let trail = ev.trails.first().expect("trail");
        trailseal_checks::run_trail_checks(&ev.trail_evidence(trail), &["TS005"])
            .remove(0)
            .status
    };
    let ev = scan(&REPLICA.replace("KEY", "aws_kms_key.primary.arn"));
    assert_eq!(ts005(&ev), trailseal_model::Status::Indeterminate);
    // With the default provider's Region set, it is a definite difference.
    let ev = scan(&format!(
        "provider \"aws\" {{\n  region = \"us-east-1\"\n}}\n{}",
        REPLICA.replace("KEY", "aws_kms_key.primary.arn")
    ));
    let bucket = ev.buckets.first().expect("bucket");
    assert_eq!(bucket.region, Fact::Known("us-west-2".to_owned()));
    assert_eq!(ts005(&ev), trailseal_model::Status::Fail);
}

#[test]
fn a_replica_of_an_external_primary_has_unknown_rotation() {
    let ev = scan(
        &REPLICA
            .replace(
                "aws_kms_key.primary.arn\n  enabled",
                "\"arn:aws:kms:us-east-1:111122223333:key/mrk-1\"\n  enabled",
            )
            .replace("KEY", "aws_kms_replica_key.west.arn"),
    );
    let replica = ev
        .keys
        .iter()
        .find(|k| k.key_id.as_deref() == Some("aws_kms_replica_key.west"))
        .expect("replica key");
    assert!(matches!(replica.rotation_enabled, Fact::Unknown(_)));
    assert!(matches!(replica.key_spec, Fact::Unknown(_)));
}

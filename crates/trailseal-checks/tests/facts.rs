//! Checks on properties that are known, unknown or unreadable: one known reason to fail is
//! enough to fail, an unknown is never a pass, and what AWS's own rules imply is known.

use trailseal_checks::run_trail_checks;
use trailseal_model::{Fact, Key, LookupError, Status, Trail, TrailEvidence};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/t";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn evidence(key: Key) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some(KEY.into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    TrailEvidence {
        trail,
        key: Some(key),
        ..TrailEvidence::default()
    }
}

fn good_key() -> Key {
    Key {
        arn: Some(KEY.into()),
        region: Fact::Known("us-east-1".into()),
        state: Fact::Known("Enabled".into()),
        manager: Fact::Known("CUSTOMER".into()),
        key_spec: Fact::Known("SYMMETRIC_DEFAULT".into()),
        key_usage: Fact::Known("ENCRYPT_DECRYPT".into()),
        multi_region: Fact::Known(false),
        rotation_enabled: Fact::Known(true),
        ..Key::default()
    }
}

fn status(ev: &TrailEvidence, code: &str) -> (Status, String) {
    let f = run_trail_checks(ev, &[code]).remove(0);
    (f.status, f.message)
}

// KMS API Reference, DescribeKey: KeyUsage of a SYMMETRIC_DEFAULT key is ENCRYPT_DECRYPT
// (the only usage that spec allows; "Key spec reference", KMS Developer Guide). Some
// emulators omit the field.
#[test]
fn a_symmetric_default_key_without_key_usage_is_encrypt_decrypt() {
    let mut key = good_key();
    key.key_usage = Fact::Unreadable("kms:DescribeKey returned no KeyUsage".into());
    assert_eq!(status(&evidence(key.clone()), "TS004").0, Status::Pass);
    // Another spec does not imply a usage: not a pass.
    key.key_spec = Fact::Known("HMAC_256".into());
    assert_eq!(status(&evidence(key), "TS004").0, Status::Fail);
}

// KMS Developer Guide, "AWS managed keys": aliases under alias/aws/ are reserved for them.
#[test]
fn an_aws_managed_alias_fails_ts004_whether_or_not_it_resolves() {
    let mut ev = evidence(good_key());
    ev.trail.kms_key_id = Fact::Known(Some("alias/aws/cloudtrail".into()));
    ev.key = None;
    ev.key_error = Some(LookupError::NotFound("alias/aws/cloudtrail".into()));
    assert_eq!(status(&ev, "TS004").0, Status::Fail);
    ev.key_error = Some(LookupError::Failed("AccessDenied".into()));
    assert_eq!(status(&ev, "TS004").0, Status::Fail);
}

#[test]
fn a_known_failure_is_reported_even_when_another_property_is_unknown() {
    let mut key = good_key();
    key.manager = Fact::Unknown("var.key".into());
    key.key_spec = Fact::Known("RSA_2048".into());
    let (s, message) = status(&evidence(key), "TS004");
    assert_eq!(s, Status::Fail, "{message}");
}

#[test]
fn unknown_properties_are_indeterminate_and_unreadable_ones_errors() {
    for (code, set) in [
        (
            "TS003",
            (|k: &mut Key, f: Fact<()>| k.state = f.map(|_| String::new()))
                as fn(&mut Key, Fact<()>),
        ),
        ("TS004", |k, f| k.key_spec = f.map(|_| String::new())),
        ("TS005", |k, f| k.region = f.map(|_| String::new())),
        ("TS011", |k, f| k.rotation_enabled = f.map(|_| false)),
    ] {
        let mut key = good_key();
        set(&mut key, Fact::Unknown("var.x has no value".into()));
        let (s, m) = status(&evidence(key), code);
        assert_eq!(s, Status::Indeterminate, "{code}: {m}");
        assert!(m.contains("var.x has no value"), "{code}: {m}");
        let mut key = good_key();
        set(&mut key, Fact::Unreadable("AccessDeniedException".into()));
        let (s, m) = status(&evidence(key), code);
        assert_eq!(s, Status::Error, "{code}: {m}");
    }
}

#[test]
fn an_unknown_kms_key_id_is_indeterminate_for_every_key_check() {
    let mut ev = evidence(good_key());
    ev.trail.kms_key_id = Fact::Unknown("var.key has no value".into());
    ev.key = None;
    for code in [
        "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS011",
    ] {
        assert_eq!(status(&ev, code).0, Status::Indeterminate, "{code}");
    }
}

/// A key in another Region than the bucket fails TS005, unless it is a multi-Region key with
/// a replica there (undecided): whether it is multi-Region, when that could not be read, is
/// not a failure but an error; known single-Region, it fails.
#[test]
fn a_key_in_another_region_whose_multi_region_flag_is_unknown_is_not_a_failure() {
    let mut ev = evidence(Key {
        region: Fact::Known("us-west-2".into()),
        multi_region: Fact::Unreadable("kms:DescribeKey: AccessDeniedException".into()),
        ..good_key()
    });
    ev.bucket = Some(trailseal_model::Bucket {
        name: "logs".into(),
        region: Fact::Known("us-east-1".into()),
        ..trailseal_model::Bucket::default()
    });
    let (s, message) = status(&ev, "TS005");
    assert_eq!(s, Status::Error, "{message}");
    if let Some(key) = ev.key.as_mut() {
        key.multi_region = Fact::Known(false);
    }
    assert_eq!(status(&ev, "TS005").0, Status::Fail);
}

//! TS016 delivered-logs-encrypted on evidence: the newest log file's metadata (HeadObject)
//! against the trail's key. Amazon S3 API Reference, HeadObject: `ServerSideEncryption` and
//! `SSEKMSKeyId` ("the ID of the KMS key that was used for object encryption").

use trailseal_checks::run_trail_checks;
use trailseal_model::{DeliveredObject, Fact, Key, Status, Trail, TrailEvidence, TrailStatus};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn evidence(latest: Fact<Option<DeliveredObject>>, logging: bool) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    trail.kms_key_id = Fact::Known(Some("alias/trail-logs".into()));
    trail.s3_bucket_name = Fact::Known("logs".into());
    trail.status = Some(TrailStatus {
        is_logging: logging,
        ..TrailStatus::default()
    });
    trail.latest_log_file = latest;
    trail.log_file_search = vec!["AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/".into()];
    TrailEvidence {
        trail,
        key: Some(Key {
            arn: Some(KEY.into()),
            ..Key::default()
        }),
        ..TrailEvidence::default()
    }
}

fn file(sse: &str, key: Option<&str>) -> Fact<Option<DeliveredObject>> {
    Fact::Known(Some(DeliveredObject {
        key: "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/30/f.json.gz".into(),
        last_modified: Some("2026-11-30T10:00:00Z".into()),
        server_side_encryption: Some(sse.into()),
        kms_key_id: key.map(str::to_owned),
        bucket_key_enabled: None,
    }))
}

fn ts016(ev: &TrailEvidence) -> (Status, String) {
    let f = run_trail_checks(ev, &["TS016"]).remove(0);
    (f.status, f.message)
}

#[test]
fn a_file_under_the_trails_key_passes_by_arn_or_key_id() {
    // The trail names its key by alias; the file names it by ARN (AWS) or bare id (some
    // emulators): the same key.
    assert_eq!(
        ts016(&evidence(file("aws:kms", Some(KEY)), true)).0,
        Status::Pass
    );
    let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(
        ts016(&evidence(file("aws:kms", Some(id)), true)).0,
        Status::Pass
    );
}

#[test]
fn another_key_sse_s3_or_nothing_delivered_fails() {
    let other = "arn:aws:kms:us-east-1:111122223333:key/other";
    let (status, message) = ts016(&evidence(file("aws:kms", Some(other)), true));
    assert_eq!(status, Status::Fail);
    assert!(message.contains("not under the trail's key"), "{message}");
    assert_eq!(ts016(&evidence(file("AES256", None), true)).0, Status::Fail);
    let (status, message) = ts016(&evidence(Fact::Known(None), true));
    assert_eq!(status, Status::Fail);
    assert!(message.contains("delivery is failing"), "{message}");
}

#[test]
fn what_cannot_be_read_is_never_a_pass() {
    // Nothing delivered by a trail that is not logging: TS009 reports it.
    assert_eq!(
        ts016(&evidence(Fact::Known(None), false)).0,
        Status::Skipped
    );
    let unreadable = Fact::Unreadable("s3:ListObjectsV2: AccessDenied".into());
    assert_eq!(ts016(&evidence(unreadable, true)).0, Status::Error);
    // Older evidence without the field.
    assert_eq!(ts016(&evidence(Fact::default(), true)).0, Status::Error);
    // SSE-KMS without a key id, or a trail key that did not resolve.
    assert_eq!(
        ts016(&evidence(file("aws:kms", None), true)).0,
        Status::Error
    );
    let mut ev = evidence(file("aws:kms", Some(KEY)), true);
    ev.key = None;
    assert_eq!(ts016(&ev).0, Status::Error);
    // Unless the trail names its key by ARN.
    ev.trail.kms_key_id = Fact::Known(Some(KEY.into()));
    assert_eq!(ts016(&ev).0, Status::Pass);
}

#[test]
fn a_trail_without_a_key_fails_whatever_its_old_files_say() {
    let mut ev = evidence(file("aws:kms", Some(KEY)), true);
    ev.trail.kms_key_id = Fact::Known(None);
    assert_eq!(ts016(&ev).0, Status::Fail);
}

/// A good file does not outweigh what CloudTrail itself reports: a failed latest delivery
/// fails, a trail that is not logging is skipped (TS009).
#[test]
fn the_trail_status_comes_first() {
    let mut ev = evidence(file("aws:kms", Some(KEY)), true);
    if let Some(s) = ev.trail.status.as_mut() {
        s.latest_delivery_error = Some("KMS.AccessDeniedException".into());
    }
    assert_eq!(ts016(&ev).0, Status::Fail);
    assert_eq!(
        ts016(&evidence(file("aws:kms", Some(KEY)), false)).0,
        Status::Skipped
    );
}

/// CloudTrail writes SSE-KMS; a DSSE object, a missing header or a replica of a multi-Region
/// key are not decided.
#[test]
fn files_that_prove_nothing_are_undecided() {
    assert_eq!(
        ts016(&evidence(file("aws:kms:dsse", Some(KEY)), true)).0,
        Status::Indeterminate
    );
    let mut missing = evidence(file("aws:kms", Some(KEY)), true);
    if let Fact::Known(Some(o)) = &mut missing.trail.latest_log_file {
        o.server_side_encryption = None;
    }
    assert_eq!(ts016(&missing).0, Status::Error);
    let primary = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd";
    let replica = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd";
    let mut ev = evidence(file("aws:kms", Some(replica)), true);
    ev.key = Some(Key {
        arn: Some(primary.into()),
        ..Key::default()
    });
    assert_eq!(ts016(&ev).0, Status::Indeterminate);
}

/// Log file names do not name the trail: a folder other trails write into, or may write into
/// unseen (a Region not scanned), proves nothing about this one.
#[test]
fn a_shared_or_unseen_folder_is_undecided() {
    let mut ev = evidence(file("aws:kms", Some(KEY)), true);
    ev.log_folder_shared_with =
        vec!["arn:aws:cloudtrail:us-east-1:111122223333:trail/other".into()];
    assert_eq!(ts016(&ev).0, Status::Indeterminate);
    let mut ev = evidence(file("aws:kms", Some(KEY)), true);
    ev.log_folder_sharers_unknown = Some("us-east-1 was not scanned".into());
    assert_eq!(ts016(&ev).0, Status::Indeterminate);
}

/// CloudTrail reports a delivery inside the window, yet the folder is empty: the files go
/// elsewhere (a prefix mismatch), which is no evidence of failure.
#[test]
fn a_recent_delivery_with_an_empty_folder_is_a_path_mismatch() {
    let mut ev = evidence(Fact::Known(None), true);
    ev.trail.log_file_searched_at = Some("2026-11-30T10:00:00Z".into());
    if let Some(s) = ev.trail.status.as_mut() {
        s.latest_delivery_time = Some("2026-11-30T09:58:00Z".into());
    }
    assert_eq!(ts016(&ev).0, Status::Indeterminate);
    if let Some(s) = ev.trail.status.as_mut() {
        s.latest_delivery_time = Some("2026-11-29T09:58:00Z".into());
    }
    assert_eq!(ts016(&ev).0, Status::Fail);
}

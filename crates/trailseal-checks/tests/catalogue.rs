//! The whole catalogue (TS001-TS014, TS016) on an evidence fixture with one trail per failure cause,
//! including the cases the emulator cannot produce (KeyManager AWS, LatestDeliveryError,
//! CloudTrail Lake errors).

use std::collections::BTreeMap;

use trailseal_checks::{evaluate, registry};
use trailseal_model::{Evidence, Finding, Status};

fn fixture() -> Evidence {
    let path = &format!(
        "{}/../../examples/evidence/broken-account.json",
        manifest_dir()
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("valid evidence")
}

fn statuses() -> BTreeMap<(String, String), Status> {
    evaluate(&fixture(), &[])
        .into_iter()
        .map(|f| {
            let short = f
                .resource
                .rsplit_once("trail/")
                .map(|(_, n)| n.to_owned())
                .unwrap_or(f.resource.clone());
            ((short, f.code), f.status)
        })
        .collect()
}

#[test]
fn one_finding_per_trail_and_code_and_every_cause_detected() {
    let ev = fixture();
    let findings = evaluate(&ev, &[]);
    let trail_checks = registry()
        .iter()
        .filter(|c| matches!(c.runner, trailseal_checks::Runner::Trail(_)))
        .count();
    let per_trail = findings
        .iter()
        .filter(|f| f.resource.contains(":trail/"))
        .count();
    assert_eq!(per_trail, ev.accounts[0].trails.len() * trail_checks);

    let s = statuses();
    let st = |trail: &str, code: &str| s[&(trail.to_owned(), code.to_owned())];
    for code in [
        "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008", "TS009", "TS010",
        "TS011",
    ] {
        assert_eq!(st("healthy", code), Status::Pass, "healthy {code}");
    }
    assert_eq!(st("unencrypted", "TS001"), Status::Fail);
    assert_eq!(st("unencrypted", "TS006"), Status::Skipped);
    assert_eq!(st("disabled-key", "TS003"), Status::Fail);
    assert_eq!(st("disabled-key", "TS009"), Status::Fail);
    assert_eq!(st("pending-deletion", "TS003"), Status::Fail);
    assert_eq!(st("aws-managed", "TS004"), Status::Fail);
    assert_eq!(st("asymmetric", "TS004"), Status::Fail);
    assert_eq!(st("wrong-region", "TS005"), Status::Fail);
    // The trail names the multi-Region primary in another Region than the bucket, where a
    // replica exists: whether CloudTrail would use the replica is not documented (and the
    // replica has its own state and policy), so not a pass.
    assert_eq!(st("mrk-replica", "TS005"), Status::Indeterminate);
    assert_eq!(st("missing-key", "TS002"), Status::Fail);
    assert_eq!(st("missing-key", "TS006"), Status::Skipped);
    assert_eq!(st("denied-key", "TS002"), Status::Error);
    assert_eq!(st("denied-key", "TS003"), Status::Error);
    assert_eq!(st("default-policy", "TS006"), Status::Fail);
    assert_eq!(st("policy-unreadable", "TS006"), Status::Error);
    assert_eq!(st("stopped", "TS009"), Status::Fail);
    assert_eq!(st("stopped", "TS010"), Status::Fail);
    assert_eq!(st("stopped", "TS011"), Status::Fail);
    assert_eq!(st("eu-single", "TS009"), Status::Error);
    // Region coverage: us-east-1 and us-west-2 by the healthy multi-Region trail; eu-west-1 too;
    // ap-south-1 could not be read.
    assert_eq!(
        st("arn:aws:cloudtrail:us-west-2:111122223333:", "TS012"),
        Status::Pass
    );
    assert_eq!(
        st("arn:aws:cloudtrail:ap-south-1:111122223333:", "TS012"),
        Status::Error
    );
    assert_eq!(
        st("arn:aws:cloudtrail:eu-west-1:111122223333:", "TS013"),
        Status::Error
    );
    assert_eq!(
        st(
            "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/eds-1",
            "TS013"
        ),
        Status::Fail
    );
    // Never a pass where evidence is missing, decided from the evidence (not from how the
    // messages are worded): every check that needs what could not be read is not `pass`.
    let needs_key = [
        "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008", "TS011",
    ];
    let missing: &[(&str, &[&str])] = &[
        // DescribeKey denied: nothing about the key is known.
        ("denied-key", &needs_key),
        // GetKeyPolicy denied: the key policy checks.
        ("policy-unreadable", &["TS006", "TS007", "TS008"]),
        // GetTrailStatus throttled: delivery health.
        ("eu-single", &["TS009"]),
        // DescribeTrails failed in ap-south-1: its coverage.
        ("arn:aws:cloudtrail:ap-south-1:111122223333:", &["TS012"]),
    ];
    let mut checked = 0;
    for (resource, codes) in missing {
        for code in *codes {
            assert_ne!(st(resource, code), Status::Pass, "{resource} {code}");
            checked += 1;
        }
    }
    assert_eq!(checked, 13);
    // And wherever a message says something could not be read, the finding is not a pass
    // (a second net; the assertions above do not depend on wording).
    let unreadable: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.message.contains("could not"))
        .collect();
    assert!(unreadable.len() >= 10, "{}", unreadable.len());
    for f in unreadable {
        assert_ne!(f.status, Status::Pass, "{f:?}");
    }
    let table: Vec<String> = s
        .iter()
        .map(|((r, c), st)| format!("{r} {c} {}", st.as_str()))
        .collect();
    insta::assert_snapshot!("broken_account_statuses", table.join("\n"));
}

#[test]
fn no_trail_at_all_fails_every_region() {
    let mut ev = fixture();
    ev.accounts[0].trails.clear();
    let findings = evaluate(&ev, &["TS012"]);
    let fails = findings.iter().filter(|f| f.status == Status::Fail).count();
    assert_eq!(fails, 3, "{findings:#?}");
    assert!(findings
        .iter()
        .all(|f| f.resource.starts_with("arn:aws:cloudtrail:")
            && f.resource.ends_with("111122223333:")));
}

#[test]
fn evidence_round_trips_through_json() {
    let ev = fixture();
    let text = serde_json::to_string(&ev).unwrap();
    let again: Evidence = serde_json::from_str(&text).unwrap();
    assert_eq!(ev, again);
    assert_eq!(evaluate(&ev, &[]), evaluate(&again, &[]));
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

//! `diff` on recorded evidence pairs: a key policy edit, a key disabled, a trail deleted, the
//! same backlog twice, and a fix. Each pair is the example account and a copy changed the way
//! the AWS call would change it.

use std::path::Path;

use serde_json::Value;
use trailseal_history::{diff, Kind, Run, RunDiff, RunSummary};
use trailseal_model::{AccountEvidence, Evidence, Fact, Status};

fn example() -> AccountEvidence {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/evidence/broken-account.json");
    let evidence: Evidence =
        serde_json::from_str(&std::fs::read_to_string(path).expect("example")).expect("JSON");
    evidence.accounts.into_iter().next().expect("one account")
}

fn run(id: i64, evidence: AccountEvidence) -> Run {
    let codes: Vec<&str> = trailseal_checks::all_codes();
    run_with(id, evidence, &codes)
}

fn run_with(id: i64, evidence: AccountEvidence, codes: &[&str]) -> Run {
    let findings = trailseal_checks::evaluate_account(&evidence, codes);
    Run {
        summary: RunSummary {
            id,
            account: evidence.account.clone(),
            collected_at: format!("2026-11-2{id}T12:00:00Z"),
            recorded_at: String::new(),
            tool_version: "0.1.0".into(),
            source: "test".into(),
            audit_id: String::new(),
            codes: codes.iter().map(|c| c.to_string()).collect(),
            regions: evidence.regions.iter().map(|r| r.region.clone()).collect(),
            trails: 0,
            compliant_trails: 0,
            pass: 0,
            fail: 0,
            error: 0,
            indeterminate: 0,
        },
        evidence,
        findings,
    }
}

const HEALTHY: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/healthy";
const GOOD_KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/good";

fn key<'a>(account: &'a mut AccountEvidence, arn: &str) -> &'a mut trailseal_model::Key {
    account
        .keys
        .iter_mut()
        .find(|k| k.arn.as_deref() == Some(arn))
        .expect("key")
}

fn change<'a>(
    d: &'a RunDiff,
    code: &str,
    resource: &str,
) -> Option<&'a trailseal_history::FindingChange> {
    d.findings
        .iter()
        .find(|f| f.code == code && f.resource == resource)
}

/// The change of key `arn` (the test fails when there is none).
fn key_change<'a>(d: &'a RunDiff, arn: &str) -> &'a trailseal_history::KeyChange {
    d.keys.iter().find(|k| k.arn == arn).expect("key change")
}

#[test]
fn the_same_state_twice_is_no_change_and_no_regression() {
    let d = diff(&run(1, example()), &run(2, example()));
    assert!(d.is_empty(), "{d:#?}");
    assert_eq!(d.regressions(), 0);
    // Known failures stay out of the diff: a scheduled job alerts on change, not on backlog.
    assert!(run(2, example())
        .findings
        .iter()
        .any(|f| f.status == Status::Fail));
}

#[test]
fn a_key_policy_edit_is_shown_by_statement_with_its_effect_on_ts006() {
    let old = example();
    let mut new = example();
    let k = key(&mut new, GOOD_KEY);
    let mut policy: Value = serde_json::from_str(k.policy.known().expect("policy")).unwrap();
    let statements = policy["Statement"].as_array_mut().unwrap();
    let removed = statements.remove(1);
    assert_eq!(removed["Sid"], "Allow CloudTrail to encrypt logs");
    k.policy = Fact::Known(policy.to_string());
    let d = diff(&run(1, old), &run(2, new));
    let kc = key_change(&d, GOOD_KEY);
    let p = kc.policy.as_ref().expect("policy diff");
    assert_eq!(p.removed, vec![removed]);
    assert!(p.added.is_empty() && p.changed.is_empty());
    let ts006 = kc
        .effect
        .iter()
        .find(|f| f.code == "TS006" && f.resource == HEALTHY)
        .expect("effect on TS006");
    assert_eq!(
        (ts006.old, ts006.new, ts006.kind),
        (Some(Status::Pass), Some(Status::Fail), Kind::Worse)
    );
    // TS007 (describe) is untouched by this edit: listed in the effect as the same.
    let ts007 = kc
        .effect
        .iter()
        .find(|f| f.code == "TS007" && f.resource == HEALTHY)
        .unwrap();
    assert_eq!(ts007.kind, Kind::Same);
    assert!(change(&d, "TS006", HEALTHY).is_some_and(|f| f.kind == Kind::Worse));
    assert!(change(&d, "TS007", HEALTHY).is_none());
    assert!(d.regressions() >= 1);
    let text = trailseal_history::render::diff(&d);
    assert!(text.contains("policy statement removed"), "{text}");
    assert!(
        text.contains("TS006 arn:aws:cloudtrail:us-east-1:111122223333:trail/healthy pass -> fail"),
        "{text}"
    );
}

#[test]
fn a_disabled_key_is_a_state_change_and_a_regression() {
    let old = example();
    let mut new = example();
    key(&mut new, GOOD_KEY).state = Fact::Known("Disabled".into());
    let d = diff(&run(1, old), &run(2, new));
    let kc = key_change(&d, GOOD_KEY);
    assert_eq!(kc.changes.len(), 1);
    assert_eq!(kc.changes[0].field, "state");
    assert_eq!(
        (kc.changes[0].old.as_str(), kc.changes[0].new.as_str()),
        (Some("Enabled"), Some("Disabled"))
    );
    let ts003 = change(&d, "TS003", HEALTHY).expect("TS003 changed");
    assert_eq!((ts003.kind, ts003.new), (Kind::Worse, Some(Status::Fail)));
    assert!(d.regressions() >= 1);
}

#[test]
fn a_deleted_trail_is_removed_and_its_region_coverage_regresses() {
    // `healthy` is the only trail logging us-west-2 (multi-Region): DeleteTrail leaves the
    // Region unlogged (TS012).
    let old = example();
    let mut new = old.clone();
    new.trails.retain(|t| t.arn != HEALTHY);
    let (o, n) = (run(1, old), run(2, new));
    let d = diff(&o, &n);
    assert_eq!(d.trails_removed, vec![HEALTHY.to_owned()]);
    assert!(d.trails_added.is_empty());
    // Its own findings were passing: nothing to list for them (gone lists only failures).
    assert!(d
        .findings
        .iter()
        .filter(|f| f.resource == HEALTHY)
        .all(|f| f.kind == Kind::Gone));
    let ts012 = d
        .findings
        .iter()
        .find(|f| f.code == "TS012" && f.region == "us-west-2")
        .expect("TS012 changed");
    assert_eq!(
        (ts012.kind, ts012.old, ts012.new),
        (Kind::Worse, Some(Status::Pass), Some(Status::Fail))
    );
    assert!(d.regressions() >= 1);
    assert_eq!(d.improvements(), 0);
}

#[test]
fn a_fix_is_an_improvement_and_no_regression() {
    // EnableKey on the key of trail `disabled-key`.
    let old = example();
    let mut new = example();
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/disabled-key";
    let arn = "arn:aws:kms:us-east-1:111122223333:key/disabled";
    key(&mut new, arn).state = Fact::Known("Enabled".into());
    let d = diff(&run(1, old), &run(2, new));
    let kc = d.keys.iter().find(|k| k.arn == arn).expect("key changed");
    assert_eq!(kc.changes[0].field, "state");
    let ts003 = change(&d, "TS003", trail).expect("TS003 changed");
    assert_eq!(
        (ts003.kind, ts003.old, ts003.new),
        (Kind::Better, Some(Status::Fail), Some(Status::Pass))
    );
    assert_eq!(d.regressions(), 0, "{:#?}", d.findings);
    assert!(d.improvements() >= 1);
}

#[test]
fn a_trail_setting_change_is_listed_by_field() {
    let old = example();
    let mut new = example();
    let unencrypted = "arn:aws:cloudtrail:us-east-1:111122223333:trail/unencrypted";
    let t = new
        .trails
        .iter_mut()
        .find(|t| t.arn == unencrypted)
        .unwrap();
    t.kms_key_id = Fact::Known(Some(GOOD_KEY.into()));
    let d = diff(&run(1, old), &run(2, new));
    let tc = d
        .trails_changed
        .iter()
        .find(|t| t.arn == unencrypted)
        .expect("trail changed");
    assert_eq!(tc.changes.len(), 1);
    assert_eq!(
        (tc.changes[0].field.as_str(), tc.changes[0].new.as_str()),
        ("kms_key_id", Some(GOOD_KEY))
    );
    let ts001 = change(&d, "TS001", unencrypted).expect("TS001 changed");
    assert_eq!(ts001.kind, Kind::Better);
}

#[test]
fn a_new_failing_trail_is_a_regression() {
    let mut old = example();
    let new = example();
    let unencrypted = "arn:aws:cloudtrail:us-east-1:111122223333:trail/unencrypted";
    old.trails.retain(|t| t.arn != unencrypted);
    let d = diff(&run(1, old), &run(2, new));
    assert_eq!(d.trails_added, vec![unencrypted.to_owned()]);
    let ts001 = change(&d, "TS001", unencrypted).expect("new finding");
    assert_eq!((ts001.kind, ts001.old), (Kind::New, None));
    assert!(d.regressions() >= 1);
    // A passing finding of the new trail is not listed (it is no change of state to act on).
    assert!(change(&d, "TS010", unencrypted).is_none_or(|f| f.kind == Kind::New));
}

/// Whether any finding change is an improvement.
fn any_better(d: &RunDiff) -> bool {
    d.findings.iter().any(|f| f.kind == Kind::Better)
}

#[test]
fn fewer_checks_or_regions_are_not_verified_not_fixed() {
    // The second run evaluates TS001 only, and the key of `healthy` is disabled meanwhile.
    let old = example();
    let mut new = example();
    key(&mut new, GOOD_KEY).state = Fact::Known("Disabled".into());
    let d = diff(&run(1, old.clone()), &run_with(2, new, &["TS001"]));
    assert!(
        d.scope
            .iter()
            .any(|s| s.starts_with("checks evaluated before and not now: TS002")),
        "{:?}",
        d.scope
    );
    assert!(d
        .findings
        .iter()
        .all(|f| f.kind != Kind::Gone && f.kind != Kind::Better));
    let ts003 = change(&d, "TS003", HEALTHY).expect("TS003 listed");
    assert_eq!(ts003.kind, Kind::Unverified);
    assert!(d.regressions() > 0);
    // A Region no longer read: its coverage is not verified.
    let mut fewer = example();
    fewer.regions.retain(|r| r.region != "us-west-2");
    let d = diff(&run(1, old), &run(2, fewer));
    assert!(d
        .scope
        .iter()
        .any(|s| s.contains("Regions read before and not now: us-west-2")));
    let ts012 = d
        .findings
        .iter()
        .find(|f| f.code == "TS012" && f.region == "us-west-2")
        .expect("TS012");
    assert_eq!(ts012.kind, Kind::Unverified);
    assert!(d.regressions() > 0);
}

#[test]
fn evidence_that_can_no_longer_be_read_is_worse_and_skipped_is_never_better() {
    let disabled = "arn:aws:kms:us-east-1:111122223333:key/disabled";
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/disabled-key";
    let old = example();
    let mut new = example();
    key(&mut new, disabled).state =
        Fact::Unreadable("AccessDeniedException: kms:DescribeKey".into());
    let d = diff(&run(1, old.clone()), &run(2, new));
    let ts003 = change(&d, "TS003", trail).expect("TS003 changed");
    assert_eq!(
        (ts003.old, ts003.kind),
        (Some(Status::Fail), Kind::Worse),
        "{ts003:?}"
    );
    assert!(!any_better(&d), "{:#?}", d.findings);
    // StopLogging: checks that need delivery become skipped: not better.
    let mut stopped = example();
    let t = stopped
        .trails
        .iter_mut()
        .find(|t| t.arn == HEALTHY)
        .unwrap();
    t.status.as_mut().expect("status").is_logging = false;
    let d = diff(&run(1, old), &run(2, stopped));
    assert!(!any_better(&d), "{:#?}", d.findings);
    assert!(change(&d, "TS009", HEALTHY).is_some_and(|f| f.kind == Kind::Worse));
}

#[test]
fn deleting_a_compliant_trail_is_a_regression_even_when_coverage_holds() {
    let old = example();
    let mut new = example();
    // Another multi-Region trail keeps every Region logged.
    let other = new
        .trails
        .iter_mut()
        .find(|t| t.name == "unencrypted")
        .unwrap();
    other.is_multi_region = Fact::Known(true);
    let mut old_covered = old.clone();
    old_covered.trails = new.trails.clone();
    new.trails.retain(|t| t.arn != HEALTHY);
    let d = diff(&run(1, old_covered), &run(2, new));
    assert_eq!(d.compliant_trails_removed, vec![HEALTHY.to_owned()]);
    assert!(d.regressions() >= 1);
    assert!(trailseal_history::render::diff(&d).contains("(it was compliant: a regression)"));
}

#[test]
fn grants_that_cannot_be_read_are_a_change_not_a_removal() {
    let old = example();
    let mut new = example();
    key(&mut new, GOOD_KEY).grants =
        Fact::Unreadable("AccessDeniedException: kms:ListGrants".into());
    let d = diff(&run(1, old), &run(2, new));
    let kc = key_change(&d, GOOD_KEY);
    assert!(kc.grants_removed.is_empty());
    assert!(kc.changes.iter().any(|c| c.field == "grants"), "{kc:#?}");
}

#[test]
fn trails_of_a_region_that_could_not_be_read_are_not_deleted() {
    let old = example();
    let mut new = example();
    new.trails.retain(|t| t.home_region != "us-east-1");
    for r in &mut new.regions {
        if r.region == "us-east-1" {
            r.trails_error = Some("AccessDeniedException: cloudtrail:DescribeTrails".into());
        }
    }
    let d = diff(&run(1, old), &run(2, new));
    assert!(d.trails_removed.is_empty(), "{:?}", d.trails_removed);
    assert!(d.trails_not_read.contains(&HEALTHY.to_owned()));
    assert!(d.compliant_trails_removed.is_empty());
    let ts001 = change(&d, "TS001", HEALTHY).expect("TS001 listed");
    assert_eq!(ts001.kind, Kind::Unverified);
    assert!(d.regressions() > 0);
}

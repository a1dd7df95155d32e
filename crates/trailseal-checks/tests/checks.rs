//! Fixture + snapshot tests of the key-policy checks TS006-TS008.

use serde_json::json;
use trailseal_checks::{find, registry, run_trail_checks, KEY_POLICY_CHECKS};
use trailseal_model::{Fact, Key, Status, Trail, TrailEvidence};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";

fn fixture(name: &str) -> String {
    let path = format!("{}/../../examples/policies/{name}", manifest_dir());
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn evidence(policy: Option<String>) -> TrailEvidence {
    let mut trail = Trail::from_arn(TRAIL);
    let key_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    trail.s3_bucket_name = Fact::Known("aws-cloudtrail-logs-111122223333".into());
    trail.kms_key_id = Fact::Known(Some(key_arn.into()));
    let key = Key {
        arn: Some(key_arn.into()),
        region: Fact::Known("us-east-1".into()),
        policy: policy.map_or_else(Fact::not_collected, Fact::Known),
        // Read, and none (TS008 counts grants: tests/grants.rs).
        grants: Fact::Known(Vec::new()),
        ..Key::default()
    };
    TrailEvidence {
        trail,
        key: Some(key),
        ..TrailEvidence::default()
    }
}

fn statuses(ev: &TrailEvidence) -> Vec<(String, Status, String)> {
    run_trail_checks(ev, KEY_POLICY_CHECKS)
        .into_iter()
        .map(|f| (f.code, f.status, f.message))
        .collect()
}

#[test]
fn fixtures_give_the_expected_statuses() {
    let cases = [
        (
            "cloudtrail-console-key-policy.json",
            [Status::Pass, Status::Pass, Status::Pass],
        ),
        (
            "aws-default-key-policy.json",
            [Status::Fail, Status::Fail, Status::Pass],
        ),
        // Deny + NotPrincipal [account root] also denies the account's roles: only the root user is exempt.
        (
            "explicit-deny-cloudtrail.json",
            [Status::Fail, Status::Fail, Status::Fail],
        ),
        (
            "wrong-account-condition.json",
            [Status::Fail, Status::Pass, Status::Pass],
        ),
        (
            "deny-unless-vpce.json",
            [
                Status::Indeterminate,
                Status::Indeterminate,
                Status::Indeterminate,
            ],
        ),
    ];
    for (file, expected) in cases {
        let got = statuses(&evidence(Some(fixture(file))));
        let got_status: Vec<Status> = got.iter().map(|g| g.1).collect();
        assert_eq!(got_status, expected, "{file}: {got:#?}");
        insta::assert_json_snapshot!(file.trim_end_matches(".json"), got);
    }
}

#[test]
fn full_finding_json_for_a_failing_trail() {
    let findings = run_trail_checks(
        &evidence(Some(fixture("aws-default-key-policy.json"))),
        &["TS006"],
    );
    insta::assert_json_snapshot!("ts006_default_policy_finding", findings);
}

#[test]
fn recommended_statements_make_every_key_policy_check_pass() {
    // The remediation trailseal prints must itself pass the checks (default policy + the three statements).
    let ctx =
        trailseal_policy::TrailContext::new(TRAIL).with_bucket("aws-cloudtrail-logs-111122223333");
    let mut doc: serde_json::Value =
        serde_json::from_str(&fixture("aws-default-key-policy.json")).unwrap();
    let statements = doc["Statement"].as_array_mut().unwrap();
    statements.push(ctx.encrypt_statement());
    statements.push(ctx.describe_statement());
    statements.push(ctx.decrypt_statement());
    let got = statuses(&evidence(Some(doc.to_string())));
    assert_eq!(got.len(), 3, "TS006, TS007, TS008: {got:#?}");
    assert!(got.iter().all(|g| g.1 == Status::Pass), "{got:#?}");
    let lint = trailseal_policy::lint(&doc.to_string());
    assert!(!lint.is_invalid(), "{:?}", lint.diagnostics);
}

#[test]
fn decrypt_open_to_everyone_and_nobody_can_read() {
    let open = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let f = &run_trail_checks(&evidence(Some(open.to_string())), &["TS008"])[0];
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.message.contains("any principal in any AWS account"),
        "{}",
        f.message
    );
    assert!(f.message.contains("Sid \"Open\""), "{}", f.message);

    let nobody = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"}
    ]});
    let f = &run_trail_checks(&evidence(Some(nobody.to_string())), &["TS008"])[0];
    assert_eq!(f.status, Status::Fail);
    assert!(f.message.contains("nobody can read"), "{}", f.message);

    // A reader that is explicitly denied is not a reader.
    let denied = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Reader"}, "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:role/Reader"}, "Action": "kms:*", "Resource": "*"}
    ]});
    let f = &run_trail_checks(&evidence(Some(denied.to_string())), &["TS008"])[0];
    assert_eq!(f.status, Status::Fail);
    assert_eq!(f.evidence["blocked"][0]["decision"], "explicit_deny");
}

#[test]
fn missing_or_unreadable_evidence_is_never_a_pass() {
    // no key on the trail: skipped (TS001 reports it)
    let mut ev = evidence(None);
    ev.trail.kms_key_id = Fact::Known(Some(String::new()));
    // (Every list is checked to hold the three key policy checks: `all` over an empty list
    // would pass whatever the checks said.)
    let got = statuses(&ev);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|g| g.1 == Status::Skipped));
    // key not resolved
    let mut ev = evidence(None);
    ev.key = None;
    let got = statuses(&ev);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got.iter().all(|g| g.1 == Status::Error));
    // policy unreadable
    let mut ev = evidence(None);
    ev.key.as_mut().unwrap().policy = Fact::Unreadable("AccessDenied on kms:GetKeyPolicy".into());
    let got = statuses(&ev);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got.iter()
            .all(|g| g.1 == Status::Error && g.2.contains("AccessDenied")),
        "{got:#?}"
    );
    // policy not JSON
    let got = statuses(&evidence(Some("{not json".into())));
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(
        got.iter()
            .all(|g| g.1 == Status::Error && g.2.contains("not valid JSON")),
        "{got:#?}"
    );
}

#[test]
fn every_check_has_the_four_part_doc_and_a_stable_code() {
    for c in registry() {
        let doc = c.info.doc();
        for part in ["What it checks", "Why it matters", "Example", "How to fix"] {
            assert!(doc.contains(part), "{} doc lacks {part}", c.info.code);
        }
        assert!(
            doc.starts_with(&format!("{} {}", c.info.code, c.info.name)),
            "{}",
            c.info.code
        );
    }
    assert!(find("ts006").is_some());
    assert!(find("TS999").is_none());
    insta::assert_snapshot!("explain_ts006", find("TS006").unwrap().info.doc());
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

// IAM User Guide, "IAM JSON policy elements: Condition operators": StringNotEquals
// kms:CallerAccount X admits every other account; TS008 says so and fails.
#[test]
fn ts008_reports_every_account_but_the_excluded_one() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "AllButOne", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:CallerAccount": "999999999999"}}}
    ]});
    let f = &run_trail_checks(&evidence(Some(policy.to_string())), &["TS008"])[0];
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.message.starts_with(
            "any principal in any AWS account except account 999999999999 may decrypt"
        ),
        "{}",
        f.message
    );
    assert_eq!(f.evidence["audience"]["kind"], "open");
}

// Same page: conditions that cannot hold together name nobody: TS008 fails with "nobody".
#[test]
fn ts008_fails_when_the_only_grant_names_nobody() {
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"},
                       "StringLike": {"kms:CallerAccount": "999999999999"}}}
    ]});
    let f = &run_trail_checks(&evidence(Some(policy.to_string())), &["TS008"])[0];
    assert_eq!(f.status, Status::Fail);
    assert!(f.message.contains("nobody can read"), "{}", f.message);
}

// An unknown principal (infrastructure as code) in an Allow for kms:Decrypt cannot take
// CloudTrail's permission away (TS006 passes); in a Deny on kms:* it can (indeterminate, naming
// the reason).
#[test]
fn an_unknown_principal_matters_only_where_it_could_change_the_answer() {
    let unknown = trailseal_policy::unknown_value("var.reader has no value");
    let with = |effect: &str, action: &str| {
        let policy = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"},
            {"Effect": effect, "Principal": {"AWS": unknown}, "Action": action, "Resource": "*"}
        ]});
        run_trail_checks(&evidence(Some(policy.to_string())), &["TS006"]).remove(0)
    };
    assert_eq!(with("Allow", "kms:Decrypt").status, Status::Pass);
    let f = with("Deny", "kms:*");
    assert_eq!(f.status, Status::Indeterminate);
    assert!(
        f.message.contains("var.reader has no value"),
        "{}",
        f.message
    );
}

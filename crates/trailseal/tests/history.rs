//! `audit --history`, `trailseal history` and `trailseal diff` through the binary: recording,
//! exit codes of `--fail-on-regression`, retention, two audits at once, and databases that
//! cannot be used.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn trailseal() -> Command {
    Command::cargo_bin("trailseal").unwrap()
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/evidence/broken-account.json")
}

fn example_json() -> Value {
    serde_json::from_str(&std::fs::read_to_string(example()).unwrap()).unwrap()
}

/// `trailseal CMD ARGS --history DB`.
fn on(db: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    trailseal().args(args).arg("--history").arg(db).assert()
}

/// The example with key `good` disabled (DisableKey), collected a day later.
fn disabled_key(dir: &Path) -> PathBuf {
    let mut evidence: Value = example_json();
    evidence["collected_at"] = "2026-11-25T12:00:00Z".into();
    for key in evidence["accounts"][0]["keys"].as_array_mut().unwrap() {
        if key["arn"] == "arn:aws:kms:us-east-1:111122223333:key/good" {
            key["state"] = "Disabled".into();
        }
    }
    let path = dir.join("disabled.json");
    std::fs::write(&path, evidence.to_string()).unwrap();
    path
}

fn audit(evidence: &Path, db: &Path) -> assert_cmd::assert::Assert {
    trailseal()
        .args(["audit", "--evidence"])
        .arg(evidence)
        .arg("--history")
        .arg(db)
        .args(["--output", "/dev/null"])
        .assert()
}

#[test]
fn runs_are_recorded_listed_and_diffed_and_only_a_regression_fails() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    // The example has failing findings (exit 1): recorded all the same.
    audit(&example(), &db)
        .code(1)
        .stderr(predicate::str::contains("recorded run 1 in"));
    on(&db, &["diff", "--fail-on-regression"])
        .code(0)
        .stdout(predicate::str::contains("only one run"));
    // The same state again: a known backlog is no regression.
    audit(&example(), &db).code(1);
    on(&db, &["diff", "--fail-on-regression"])
        .code(0)
        .stdout(predicate::str::contains(
            "run 1 (2026-11-24T12:00:00Z) -> run 2",
        ))
        .stdout(predicate::str::contains("No change."));
    // The key disabled: a regression.
    audit(&disabled_key(dir.path()), &db).code(1);
    on(&db, &["diff", "--fail-on-regression"])
        .code(1)
        .stdout(predicate::str::contains("state: Enabled -> Disabled"))
        .stdout(predicate::str::contains(
            "TS003 arn:aws:cloudtrail:us-east-1:111122223333:trail/healthy pass -> fail",
        ));
    // Without the flag, diff informs and exits 0; backwards (3 -> 1) it is a fix.
    on(&db, &["diff"]).code(0);
    let out = trailseal()
        .args([
            "diff",
            "3",
            "1",
            "--format",
            "json",
            "--fail-on-regression",
            "--history",
        ])
        .arg(&db)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["schema"], "trailseal.diff/v1");
    assert_eq!(json["regressions"], 0);
    let better: Vec<&Value> = json["diffs"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["kind"] == "better")
        .collect();
    assert!(better.iter().any(|f| f["code"] == "TS003"), "{json}");

    let out = on(&db, &["history", "--format", "json"])
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: Value = serde_json::from_slice(&out).unwrap();
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0]["compliant_trails"], 2);
    assert_eq!(runs[2]["compliant_trails"], 1);
    assert_eq!(runs[0]["tool_version"], env!("CARGO_PKG_VERSION"));
    on(&db, &["history"])
        .code(0)
        .stdout(predicate::str::contains("111122223333").count(3));
    // A recorded run's evidence, evaluated again: the same findings as when it was recorded.
    let evidence = dir.path().join("run3.json");
    let out = trailseal()
        .args(["history", "--evidence", "3", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::write(&evidence, &out.stdout).unwrap();
    let again = trailseal()
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&evidence)
        .output()
        .unwrap();
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    let fails = |v: &Value| v["summary"]["fail"].as_i64();
    assert_eq!(fails(&again), runs[2]["fail"].as_i64());
}

#[test]
fn keep_retains_the_newest_runs_of_each_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    for _ in 0..3 {
        audit(&example(), &db).code(1);
    }
    trailseal()
        .args(["audit", "--evidence"])
        .arg(example())
        .arg("--history")
        .arg(&db)
        .args(["--keep", "2", "--output", "/dev/null"])
        .assert()
        .code(1);
    let out = trailseal()
        .args(["history", "--format", "json", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<i64> = json["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![3, 4]);
    audit(&example(), &db).code(1);
    on(&db, &["history", "--keep", "2"])
        .code(0)
        .stderr(predicate::str::contains("deleted 1 older runs"));
    // Fewer than two runs would leave `diff` nothing to compare.
    on(&db, &["history", "--keep", "1"]).code(2);
    // --keep needs --history, and at least one run.
    trailseal()
        .args(["audit", "--evidence"])
        .arg(example())
        .args(["--keep", "2"])
        .assert()
        .code(2);
    on(&db, &["history", "--keep", "0"]).code(2);
}

#[test]
fn two_audits_at_once_lose_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let bin = assert_cmd::cargo::cargo_bin("trailseal");
    let children: Vec<std::process::Child> = (0..6)
        .map(|_| {
            std::process::Command::new(&bin)
                .args(["audit", "--evidence"])
                .arg(example())
                .arg("--history")
                .arg(&db)
                .args(["--output", "/dev/null"])
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = trailseal()
        .args(["history", "--format", "json", "--history"])
        .arg(&db)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["runs"].as_array().unwrap().len(), 6);
}

#[test]
fn a_database_that_cannot_be_used_stops_the_audit_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    // A file that is not a database: refused before anything is evaluated, left untouched.
    let report = dir.path().join("report.json");
    std::fs::write(
        &report,
        "{\"schema\": \"trailseal.audit/v1\", \"findings\": []}",
    )
    .unwrap();
    trailseal()
        .args(["audit", "--evidence"])
        .arg(example())
        .arg("--history")
        .arg(&report)
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "is not a trailseal history database",
        ));
    assert!(std::fs::read_to_string(&report)
        .unwrap()
        .starts_with("{\"schema\""));
    for cmd in ["history", "diff"] {
        trailseal()
            .args([cmd, "--history"])
            .arg(&report)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("not a trailseal history database"));
    }
    // Nothing recorded yet: history and diff say so.
    let missing = dir.path().join("none.sqlite3");
    trailseal()
        .args(["diff", "--history"])
        .arg(&missing)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("audit --history"));
    // Runs of two accounts are not compared.
    let db = dir.path().join("h.sqlite3");
    audit(&example(), &db).code(1);
    let mut other: Value = example_json();
    other["accounts"][0]["account"] = "444455556666".into();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    audit(&other_path, &db).code(1);
    on(&db, &["diff", "1", "2"])
        .code(2)
        .stderr(predicate::str::contains("compare two runs of one account"));
    on(&db, &["diff", "7"])
        .code(2)
        .stderr(predicate::str::contains("no run 7"));
}

#[test]
fn an_organization_trail_in_a_member_account_is_recorded_and_diffed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let mut evidence: Value = example_json();
    let mut org = evidence["accounts"][0]["trails"][0].clone();
    let arn = "arn:aws:cloudtrail:us-east-1:999988887777:trail/org";
    org["arn"] = arn.into();
    org["name"] = "org".into();
    org["account"] = "999988887777".into();
    org["is_organization_trail"] = true.into();
    evidence["accounts"][0]["trails"]
        .as_array_mut()
        .unwrap()
        .push(org);
    let before = dir.path().join("before.json");
    std::fs::write(&before, evidence.to_string()).unwrap();
    let trails = evidence["accounts"][0]["trails"].as_array_mut().unwrap();
    let last = trails.last_mut().unwrap();
    last["status"]["is_logging"] = false.into();
    evidence["collected_at"] = "2026-11-25T12:00:00Z".into();
    let after = dir.path().join("after.json");
    std::fs::write(&after, evidence.to_string()).unwrap();
    audit(&before, &db).code(1);
    audit(&after, &db).code(1);
    on(&db, &["diff", "--fail-on-regression"])
        .code(1)
        .stdout(predicate::str::contains(format!(
            "TS009 {arn} pass -> fail"
        )));
}

#[test]
fn diff_compares_the_accounts_of_the_latest_audit_only_and_by_collection_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let mut other: Value = example_json();
    other["accounts"][0]["account"] = "444455556666".into();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    // Account 444455556666 regresses, then is no longer audited.
    audit(&other_path, &db).code(1);
    other["accounts"][0]["trails"]
        .as_array_mut()
        .unwrap()
        .retain(|t| t["name"] != "healthy");
    other["collected_at"] = "2026-11-25T12:00:00Z".into();
    std::fs::write(&other_path, other.to_string()).unwrap();
    audit(&other_path, &db).code(1);
    audit(&example(), &db).code(1);
    audit(&example(), &db).code(1);
    on(&db, &["diff", "--fail-on-regression"])
        .code(0)
        .stdout(predicate::str::contains("444455556666").not());
    // An older evidence file audited last is compared as the older run.
    audit(&disabled_key(dir.path()), &db).code(1);
    audit(&example(), &db).code(1);
    on(&db, &["diff", "6"])
        .code(0)
        .stdout(predicate::str::contains("-> run 6 (2026-11-24T12:00:00Z)"));
    on(&db, &["diff", "5", "--fail-on-regression"])
        .code(1)
        .stdout(predicate::str::contains("-> run 5 (2026-11-25T12:00:00Z)"));
}

#[test]
fn a_key_policy_edit_without_effect_fails_only_on_change() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let mut evidence: Value = example_json();
    audit(&example(), &db).code(1);
    for key in evidence["accounts"][0]["keys"].as_array_mut().unwrap() {
        if key["arn"] == "arn:aws:kms:us-east-1:111122223333:key/good" {
            let mut policy: Value = serde_json::from_str(key["policy"].as_str().unwrap()).unwrap();
            policy["Statement"]
                .as_array_mut()
                .unwrap()
                .retain(|s| s["Sid"] != "Allow alias creation during setup");
            key["policy"] = policy.to_string().into();
        }
    }
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, evidence.to_string()).unwrap();
    audit(&edited, &db).code(1);
    on(&db, &["diff", "--fail-on-regression"])
        .code(0)
        .stdout(predicate::str::contains("policy statement removed"));
    on(&db, &["diff", "--fail-on-change"]).code(1);
    // An empty file is no history (and is not turned into one by a reader).
    let empty = dir.path().join("empty.sqlite3");
    std::fs::write(&empty, "").unwrap();
    trailseal()
        .args(["history", "--history"])
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("empty"));
    assert_eq!(std::fs::metadata(&empty).unwrap().len(), 0);
}

/// `--history` without a file records into the user's data directory, where `history` and
/// `diff` look by default.
#[test]
fn history_without_a_file_is_the_data_directory() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    for _ in 0..2 {
        trailseal()
            .env("XDG_DATA_HOME", &data)
            .args(["audit", "--evidence"])
            .arg(example())
            .args(["--history", "--format", "json", "-o", "/dev/null"])
            .assert()
            .code(1)
            .stderr(predicate::str::contains("trailseal/history.sqlite3"));
    }
    assert!(data.join("trailseal/history.sqlite3").is_file());
    trailseal()
        .env("XDG_DATA_HOME", &data)
        .args(["diff", "--fail-on-regression"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("No change."));
    // As the last option too.
    trailseal()
        .env("XDG_DATA_HOME", &data)
        .args(["audit", "-o", "/dev/null", "--evidence"])
        .arg(example())
        .arg("--history")
        .assert()
        .code(1);
    trailseal()
        .env("XDG_DATA_HOME", &data)
        .args(["history", "--format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("\"id\": 3"));
}

/// A database another user owns, in a directory this user cannot write (a read-only mount, a
/// shared history): listed and diffed, and an audit that would record there exits 2 naming
/// the file. Run as an unprivileged user through `setpriv` when the tests run as root (CI);
/// as any other user, the directory's permissions already do it.
#[test]
fn a_database_in_a_directory_that_cannot_be_written_is_read_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    let db = shared.join("h.sqlite3");
    audit(&example(), &db).code(1);
    audit(&disabled_key(dir.path()), &db).code(1);
    // Everything the other user needs, readable (not writable) by everyone.
    let bin = dir.path().join("trailseal");
    std::fs::copy(assert_cmd::cargo::cargo_bin("trailseal"), &bin).unwrap();
    let evidence = dir.path().join("evidence.json");
    std::fs::copy(example(), &evidence).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [
        (dir.path().to_path_buf(), 0o755),
        (shared.clone(), 0o555),
        (db.clone(), 0o444),
        (bin.clone(), 0o755),
        (evidence.clone(), 0o644),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    let as_other = |args: &[&str]| {
        let mut cmd = if root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&bin);
            c
        } else {
            std::process::Command::new(&bin)
        };
        cmd.args(args).output().unwrap()
    };
    let db_arg = db.to_str().unwrap();
    let listed = as_other(&["history", "--history", db_arg]);
    assert_eq!(
        listed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&listed.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout)
            .matches("111122223333")
            .count(),
        2
    );
    let diffed = as_other(&["diff", "--history", db_arg]);
    assert_eq!(
        diffed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&diffed.stderr)
    );
    assert!(String::from_utf8_lossy(&diffed.stdout).contains("state: Enabled -> Disabled"));
    let recorded = as_other(&[
        "audit",
        "--evidence",
        evidence.to_str().unwrap(),
        "-o",
        "/dev/null",
        "--history",
        db_arg,
    ]);
    assert_eq!(recorded.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&recorded.stderr).contains(db_arg));
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn history_lists_one_account_with_account() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("h.sqlite3");
    let mut other = example_json();
    other["accounts"][0]["account"] = "444455556666".into();
    let other_path = dir.path().join("other.json");
    std::fs::write(&other_path, other.to_string()).unwrap();
    audit(&example(), &db).code(1);
    audit(&other_path, &db).code(1);
    on(&db, &["history", "--account", "444455556666"])
        .code(0)
        .stdout(predicate::str::contains("444455556666"))
        .stdout(predicate::str::contains("111122223333").not());
    on(&db, &["history", "--account", "999999999999"])
        .code(0)
        .stdout(predicate::str::contains("No runs recorded yet"));
}

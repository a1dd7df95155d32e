//! `trailseal fix --apply` and `trailseal rollback` against the AWS emulator (moto in server
//! mode, see support/moto.rs) on the demo account of scripts/seed-moto.py. moto accepts any
//! KmsKeyId and any key policy (../shared/EMULATOR.md), so the proof is trailseal's own audit
//! after the apply and state comparisons after the rollback, never moto's acceptance.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use support::moto::{moto, trailseal, Moto};

const REGIONS: &str = "us-east-1,eu-west-1,ap-southeast-2";

fn tempdir() -> PathBuf {
    let dir = tempfile::tempdir().expect("temp dir");
    dir.keep()
}

fn collect(server: &Moto, file: &Path) -> Value {
    trailseal(server)
        .args(["collect", "--regions", REGIONS, "--output"])
        .arg(file)
        .assert()
        .code(0);
    serde_json::from_str(&std::fs::read_to_string(file).expect("evidence")).expect("JSON")
}

/// What a rollback must restore: each trail's key (no key and `""` are the same: the
/// documented backout) and log file validation; each key's policy, rotation, state, aliases.
fn state(evidence: &Value) -> BTreeMap<String, String> {
    let account = &evidence["accounts"][0];
    let mut out = BTreeMap::new();
    for t in account["trails"].as_array().expect("trails") {
        let key = t["kms_key_id"]
            .as_str()
            .filter(|k| !k.is_empty())
            .unwrap_or("none");
        out.insert(
            t["arn"].as_str().unwrap_or_default().to_owned(),
            format!("{key} validation={}", t["log_file_validation_enabled"]),
        );
    }
    for k in account["keys"].as_array().expect("keys") {
        out.insert(
            k["arn"].as_str().unwrap_or_default().to_owned(),
            format!(
                "{} rotation={} state={} aliases={}",
                k["policy"], k["rotation_enabled"], k["state"], k["aliases"]
            ),
        );
    }
    out
}

fn audit_core(server: &Moto) -> BTreeMap<String, Vec<String>> {
    let out = trailseal(server)
        .args([
            "audit",
            "--format",
            "json",
            "--regions",
            REGIONS,
            "--checks",
        ])
        .arg("TS001,TS002,TS003,TS004,TS005,TS006")
        .output()
        .expect("audit");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("audit JSON");
    let mut failing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in doc["findings"].as_array().expect("findings") {
        let resource = f["resource"].as_str().unwrap_or_default();
        if let Some((_, name)) = resource.rsplit_once(":trail/") {
            if f["status"] != "pass" {
                failing
                    .entry(name.to_owned())
                    .or_default()
                    .push(f["code"].as_str().unwrap_or_default().to_owned());
            }
        }
    }
    failing
}

#[test]
fn fix_then_audit_then_fix_again_then_rollback_restores_everything() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let dir = tempdir();
    let before = state(&collect(server, &dir.join("before.json")));
    let journal = dir.join("journal.jsonl");

    // Apply: exit 1 because one trail needs a decision (an explicit Deny), not a failure.
    let out = trailseal(server)
        .args(["fix", "--regions", REGIONS, "--apply", "--yes", "--journal"])
        .arg(&journal)
        .output()
        .expect("fix --apply");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("audited again: 12 of 12 fixed trail(s) compliant"),
        "{stderr}"
    );
    assert!(!stderr.contains("FAILED"), "{stderr}");

    // trailseal's own audit: only the trail with the explicit Deny is still not compliant.
    let failing = audit_core(server);
    assert_eq!(
        failing.keys().map(String::as_str).collect::<Vec<_>>(),
        ["policy-explicit-deny"],
        "{failing:#?}"
    );

    // A second fix plans nothing.
    trailseal(server)
        .args(["fix", "--regions", REGIONS])
        .assert()
        .stdout(predicates::str::contains("Nothing to change."));

    // Rollback restores every trail, key policy, rotation setting and alias; the keys the
    // apply created are disabled and scheduled for deletion.
    trailseal(server)
        .args(["rollback", "--yes", "--delete-keys", "--pending-days", "7"])
        .arg(&journal)
        .assert()
        .code(0);
    let after_evidence = collect(server, &dir.join("after.json"));
    let after = state(&after_evidence);
    for (resource, was) in &before {
        assert_eq!(after.get(resource), Some(was), "{resource}");
    }
    assert!(
        !after_evidence
            .to_string()
            .contains("alias/trailseal-cloudtrail"),
        "the created aliases are deleted"
    );
    // A second rollback does nothing: refused, saying so.
    trailseal(server)
        .arg("rollback")
        .arg(&journal)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("already rolled back"));
}

#[test]
fn a_saved_plan_is_applied_only_if_the_account_still_gives_it() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let dir = tempdir();
    // Reviewed and applied as it is: the journal names the plan by its digest.
    let reviewed = dir.join("reviewed.json");
    let out = trailseal(server)
        .args([
            "fix",
            "--regions",
            REGIONS,
            "--trail",
            "policy-root-only",
            "--format",
            "json",
            "--out",
        ])
        .arg(&reviewed)
        .output()
        .expect("fix --out");
    let said = String::from_utf8_lossy(&out.stderr);
    let digest = said
        .split("sha256 ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no digest: {said}"))
        .to_owned();
    let applied = dir.join("applied.jsonl");
    trailseal(server)
        .args(["fix", "--regions", REGIONS, "--yes", "--journal"])
        .arg(&applied)
        .arg("--apply")
        .arg(&reviewed)
        .assert()
        .code(0);
    let journal = std::fs::read_to_string(&applied).expect("journal");
    assert!(
        journal.lines().next().is_some_and(|l| l.contains(&digest)),
        "{journal}"
    );

    let plan = dir.join("plan.json");
    trailseal(server)
        .args([
            "fix",
            "--regions",
            REGIONS,
            "--trail",
            "no-key",
            "--format",
            "json",
            "--out",
        ])
        .arg(&plan)
        .assert()
        .code(0);
    // Someone changes a trail after the plan was reviewed.
    server.python(
        "client('cloudtrail').update_trail(Name='no-key', EnableLogFileValidation=False, KmsKeyId='alias/aws/cloudtrail')",
    );
    let journal = dir.join("journal.jsonl");
    trailseal(server)
        .args(["fix", "--regions", REGIONS, "--yes", "--journal"])
        .arg(&journal)
        .arg("--apply")
        .arg(&plan)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("the account changed since"));
    assert!(!journal.exists(), "nothing applied, no journal");
}

#[test]
fn journals_edited_in_use_or_cut_off() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let dir = tempdir();
    let journal = dir.join("journal.jsonl");
    assert_cmd::Command::from_std(apply_trails(&server.endpoint(), "no-key", &journal))
        .assert()
        .code(0);
    let text = std::fs::read_to_string(&journal).expect("journal");
    let edited = dir.join("edited.jsonl");
    std::fs::write(&edited, text.replace("trail/no-key", "trail/main")).expect("write");
    for (file, says) in [
        (&edited, "does not match the lines before it"),
        (&dir.join("missing.jsonl"), "cannot read"),
    ] {
        trailseal(server)
            .args(["rollback", "--yes"])
            .arg(file)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(says));
    }
    // In use by another trailseal (an apply or rollback still running): refused.
    let held = std::fs::File::open(&journal).expect("open");
    held.lock().expect("lock");
    trailseal(server)
        .args(["rollback", "--yes"])
        .arg(&journal)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("in use by another trailseal"));
    held.unlock().expect("unlock");
    // A last line cut off (killed while writing it): refused, unless --torn-ok says that is
    // what happened; then it is ignored with a warning, and without an end line the rollback
    // says the apply was interrupted and still restores what it records.
    let cut = dir.join("cut.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    let kept = lines[..lines.len() - 1].join("\n") + "\n" + &lines[lines.len() - 1][..10];
    std::fs::write(&cut, kept).expect("write");
    trailseal(server)
        .args(["rollback", "--yes"])
        .arg(&cut)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--torn-ok"));
    trailseal(server)
        .args(["rollback", "--yes", "--torn-ok"])
        .arg(&cut)
        .assert()
        .code(0)
        .stderr(predicates::str::contains("is cut off"))
        .stderr(predicates::str::contains("no end line"));
    // Without a terminal and without --yes, nothing is changed.
    trailseal(server)
        .arg("rollback")
        .arg(&journal)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--yes"));
}

/// A small plan: a new key (created, rotation, alias), a merged policy, trail updates.
const SOME_TRAILS: &str = "no-key,key-disabled,policy-root-only";

/// The actions of the plan's steps, in order.
fn plan_steps(server: &Moto) -> Vec<String> {
    let out = trailseal(server)
        .args([
            "fix",
            "--regions",
            REGIONS,
            "--trail",
            SOME_TRAILS,
            "--format",
            "json",
        ])
        .output()
        .expect("fix");
    let plan: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| s["action"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// `fix --apply --yes --journal JOURNAL` of `trails` (comma-separated) through `endpoint`
/// (moto, or the proxy in front of it).
fn apply_trails(endpoint: &str, trails: &str, journal: &Path) -> std::process::Command {
    let mut cmd = support::moto::trailseal_at(endpoint);
    cmd.args([
        "fix",
        "--regions",
        REGIONS,
        "--trail",
        trails,
        "--apply",
        "--yes",
        "--journal",
    ])
    .arg(journal);
    cmd
}

fn assert_restored(server: &Moto, dir: &Path, before: &BTreeMap<String, String>, k: usize) {
    let after = state(&collect(server, &dir.join(format!("after-{k}.json"))));
    for (resource, was) in before {
        assert_eq!(after.get(resource), Some(was), "fault at {k}: {resource}");
    }
}

/// Fault injection at every mutating step k: a proxy in front of moto answers the k-th
/// mutating call with a non-retryable error; fix stops with a clear report and rollback
/// restores the account exactly.
#[test]
fn a_failure_at_any_step_stops_the_apply_and_rollback_restores_the_account() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let steps = plan_steps(server).len();
    assert!(steps >= 5, "a plan with keys and trails: {steps} steps");
    let dir = tempdir();
    for k in 1..=steps {
        server.post("/moto-api/reset");
        server.seed(&["--scenario", "broken"]);
        let before = state(&collect(server, &dir.join(format!("before-{k}.json"))));
        let proxy = support::proxy::start(server.port, support::proxy::Fault::Fail(k));
        let journal = dir.join(format!("journal-{k}.jsonl"));
        let out = apply_trails(&proxy.endpoint(), SOME_TRAILS, &journal)
            .output()
            .expect("fix --apply");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "fault at {k}: {stderr}");
        assert!(
            stderr.contains("FAILED") && stderr.contains("injected by the test proxy"),
            "fault at {k}: {stderr}"
        );
        trailseal(server)
            .args(["rollback", "--yes", "--delete-keys", "--pending-days", "7"])
            .arg(&journal)
            .assert()
            .code(0);
        assert_restored(server, &dir, &before, k);
    }
}

/// SIGKILL in the middle of apply (the call has reached AWS, its answer never arrives): the
/// journal has the intent without the outcome, and rollback still restores the account (a
/// key created by the killed call is found by its tags).
#[test]
fn a_killed_apply_is_rolled_back_from_its_journal() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let steps = plan_steps(server);
    // Killed in CreateKey (the key exists, its ARN was never journaled), and in the last step.
    let create = steps
        .iter()
        .position(|a| a == "create_key")
        .expect("a new key")
        + 1;
    let dir = tempdir();
    for k in [create, steps.len()] {
        server.post("/moto-api/reset");
        server.seed(&["--scenario", "broken"]);
        let before = state(&collect(server, &dir.join(format!("before-kill-{k}.json"))));
        let proxy = support::proxy::start(server.port, support::proxy::Fault::Hold(k));
        let journal = dir.join(format!("journal-kill-{k}.jsonl"));
        let mut child = apply_trails(&proxy.endpoint(), SOME_TRAILS, &journal)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn fix --apply");
        proxy
            .held
            .recv_timeout(std::time::Duration::from_secs(120))
            .expect("the held call reached moto");
        child.kill().expect("SIGKILL");
        child.wait().expect("reaped");
        let text = std::fs::read_to_string(&journal).expect("journal");
        assert!(
            !text.contains("\"kind\":\"end\""),
            "killed before the end: {text}"
        );
        trailseal(server)
            .args(["rollback", "--yes", "--delete-keys", "--pending-days", "7"])
            .arg(&journal)
            .assert()
            .code(0);
        assert_restored(server, &dir, &before, k);
        // Every key trailseal created (found by its tags) is disabled and pending deletion.
        server.python(
            "import sys\n\
             found = 0\n\
             for region in ['us-east-1', 'eu-west-1', 'ap-southeast-2']:\n    \
                 kms = client('kms', region)\n    \
                 for key in kms.list_keys()['Keys']:\n        \
                     tags = kms.list_resource_tags(KeyId=key['KeyId'])['Tags']\n        \
                     if any(t['TagKey'] == 'trailseal:journal' for t in tags):\n            \
                         found += 1\n            \
                         state = kms.describe_key(KeyId=key['KeyId'])['KeyMetadata']['KeyState']\n            \
                         assert state == 'PendingDeletion', state\n\
             assert found == 1, found\n",
        );
    }
}

/// An alias names one key per Region: when the alias the plan would create already exists
/// (on a key no trail uses, so the plan could not see it), apply refuses before any change.
#[test]
fn an_existing_alias_stops_the_apply_before_any_change() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    server.python(
        "kms = client('kms')\n\
         key = kms.create_key(Description='someone else')['KeyMetadata']['KeyId']\n\
         kms.create_alias(AliasName='alias/trailseal-cloudtrail', TargetKeyId=key)\n",
    );
    let dir = tempdir();
    let before = state(&collect(server, &dir.join("before.json")));
    let journal = dir.join("journal.jsonl");
    assert_cmd::Command::from_std(apply_trails(&server.endpoint(), "no-key", &journal))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "alias/trailseal-cloudtrail already exists",
        ));
    assert!(!journal.exists(), "nothing changed, no journal left");
    assert_restored(server, &dir, &before, 0);
}

/// A rollback never silently overwrites a change made after the apply: it stops there and
/// says so; --force restores the state before the apply anyway.
#[test]
fn a_change_made_after_the_apply_is_not_overwritten_by_rollback() {
    let (_lock, server) = moto();
    server.seed(&["--scenario", "broken"]);
    let dir = tempdir();
    let before = state(&collect(server, &dir.join("before.json")));
    let journal = dir.join("journal.jsonl");
    assert_cmd::Command::from_std(apply_trails(&server.endpoint(), "no-key", &journal))
        .assert()
        .code(0);
    // The security team points the trail at their own key after the apply.
    server.python(
        "kms = client('kms')\n\
         key = kms.create_key(Description='security team')['KeyMetadata']['Arn']\n\
         client('cloudtrail').update_trail(Name='no-key', KmsKeyId=key)\n",
    );
    let after_change = state(&collect(server, &dir.join("changed.json")));
    let no_key = before
        .keys()
        .find(|k| k.ends_with("trail/no-key"))
        .expect("trail")
        .clone();
    trailseal(server)
        .args(["rollback", "--yes"])
        .arg(&journal)
        .assert()
        .code(1)
        .stdout(predicates::str::contains("changed since the apply"));
    let now = state(&collect(server, &dir.join("now.json")));
    assert_eq!(
        now.get(&no_key),
        after_change.get(&no_key),
        "left as the team set it"
    );
    trailseal(server)
        .args(["rollback", "--yes", "--force"])
        .arg(&journal)
        .assert()
        .code(0);
    let forced = state(&collect(server, &dir.join("forced.json")));
    assert_eq!(
        forced.get(&no_key),
        before.get(&no_key),
        "--force restores it"
    );
}

//! `trailseal fix` end to end on the example evidence: the plan's contracts (text, JSON,
//! script, saved file) and exit codes. The planning itself is tested in crates/trailseal-plan.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn evidence() -> String {
    format!(
        "{}/../../examples/evidence/broken-account.json",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn fix(args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("trailseal").expect("binary");
    cmd.args(["fix", "--evidence", &evidence()]).args(args);
    cmd
}

#[test]
fn the_plan_for_the_broken_account_exits_1_because_some_trails_are_not_planned() {
    fix(&[])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("Steps (11), in order"))
        .stdout(predicate::str::contains("[NOT PLANNED]"))
        .stdout(predicate::str::contains(
            "Proof (the checks on the account as it will be after the plan)",
        ))
        .stdout(predicate::str::contains("Nothing was changed"));
}

#[test]
fn a_compliant_trail_plans_nothing_and_exits_0() {
    fix(&["--trail", "healthy"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Nothing to change."));
}

#[test]
fn json_is_the_plan_format_and_out_saves_it() {
    let dir = tempfile::tempdir().expect("dir");
    let saved = dir.path().join("plan.json");
    let out = fix(&["--trail", "unencrypted", "--format", "json", "--out"])
        .arg(&saved)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let printed: Value = serde_json::from_slice(&out).expect("JSON plan");
    assert_eq!(printed["schema"], "trailseal.plan/v1");
    assert_eq!(printed["trails"][0]["outcome"], "fixed");
    let actions: Vec<&str> = printed["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["action"].as_str())
        .collect();
    assert_eq!(
        actions[..4],
        [
            "create_key",
            "enable_key_rotation",
            "create_alias",
            "update_trail_key"
        ]
    );
    let file: Value =
        serde_json::from_str(&std::fs::read_to_string(&saved).expect("saved")).expect("saved JSON");
    assert_eq!(file, printed);
}

#[test]
fn emit_cli_prints_a_script_with_its_backout() {
    fix(&["--emit", "cli", "--trail", "unencrypted"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("#!/usr/bin/env bash"))
        .stdout(predicate::str::contains("aws kms create-key"))
        .stdout(predicate::str::contains("--kms-key-id ''"))
        .stdout(predicate::str::contains("schedule-key-deletion"));
}

#[test]
fn bad_options_exit_2_with_a_message() {
    for (args, says) in [
        (&["--trail", "no-such-trail"][..], "no such trail"),
        (&["--reader", "LogReaders"][..], "--reader LogReaders"),
        (&["--alias", "trailseal"][..], "--alias trailseal"),
        (&["--alias", "alias/aws/cloudtrail"][..], "reserved"),
        (&["--alias", "alias/"][..], "--alias alias/"),
        (&["--alias", "alias/has space"][..], "letters, digits"),
        (&["--reader", "arn:aws:s3:::bucket"][..], "role or user ARN"),
        (&["--key", "alias/mine"][..], "expected a key ARN"),
    ] {
        fix(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
    }
}

#[test]
fn emit_terraform_prints_the_change_as_code() {
    fix(&[
        "--emit",
        "terraform",
        "--trail",
        "unencrypted,default-policy",
    ])
    .assert()
    .code(0)
    .stdout(predicate::str::contains(
        "data \"aws_caller_identity\" \"current\" {}",
    ))
    .stdout(predicate::str::contains(
        "resource \"aws_kms_key\" \"trailseal_us_east_1\"",
    ))
    .stdout(predicate::str::contains(
        "to       = aws_cloudtrail.trail_unencrypted",
    ))
    .stdout(predicate::str::contains(
        "kms_key_id                 = aws_kms_key.trailseal_us_east_1.arn",
    ));
}

#[test]
fn emit_cloudformation_prints_one_regions_template() {
    let out = fix(&[
        "--emit",
        "cloudformation",
        "--trail",
        "unencrypted,default-policy",
    ])
    .assert()
    .code(0)
    .get_output()
    .stdout
    .clone();
    let template: Value = serde_json::from_slice(&out).expect("a JSON template");
    assert_eq!(template["AWSTemplateFormatVersion"], "2010-09-09");
    assert_eq!(
        template["Resources"]["TrailUnencrypted"]["DeletionPolicy"],
        "Retain"
    );
    assert_eq!(
        template["Resources"]["TrailUnencrypted"]["Properties"]["KMSKeyId"]["Fn::GetAtt"][0],
        "TrailsealKeyUsEast1"
    );
}

/// The planner's options reach it from the command line: --no-extras drops rotation and
/// validation, --enable-disabled-keys re-enables instead of replacing, --replace-key and
/// --force are accepted (the planner's own tests cover what they decide).
#[test]
fn planner_flags_reach_the_plan() {
    let actions = |args: &[&str]| -> Vec<String> {
        let out = fix(&[&["--format", "json"][..], args].concat())
            .output()
            .expect("fix");
        let plan: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
        plan["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["action"].as_str().map(str::to_owned))
            .collect()
    };
    let all = actions(&["--trail", "unencrypted"]);
    assert!(all.contains(&"enable_key_rotation".to_owned()), "{all:?}");
    let bare = actions(&["--trail", "unencrypted", "--no-extras"]);
    assert!(
        !bare
            .iter()
            .any(|a| a == "enable_key_rotation" || a == "enable_log_file_validation"),
        "{bare:?}"
    );
    let enabled = actions(&["--trail", "disabled-key", "--enable-disabled-keys"]);
    assert!(
        enabled.contains(&"enable_key".to_owned()) && !enabled.contains(&"create_key".to_owned()),
        "{enabled:?}"
    );
    fix(&["--trail", "healthy", "--replace-key", "--force"])
        .assert()
        .code(0);
}

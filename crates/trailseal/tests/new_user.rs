//! What got in a new user's way (issue "a CLI that behaves like a well-made tool"), each as a
//! test of the binary: CI gates, one exit rule, honest wording, helpful wrong-input messages,
//! completions and the manual page.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";

fn root() -> String {
    format!("{}/../..", env!("CARGO_MANIFEST_DIR"))
}

fn example(path: &str) -> String {
    format!("{}/examples/{path}", root())
}

fn trailseal() -> Command {
    let mut cmd = Command::cargo_bin("trailseal").expect("the binary");
    cmd.env_remove("NO_COLOR");
    cmd
}

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

// --- CI gates: unreadable input always fails; one exit rule --------------------------------

#[test]
fn a_ci_gate_fails_on_input_it_cannot_read_whatever_fail_on_says() {
    let dir = tempdir();
    let ok = dir.path().join("ok");
    std::fs::create_dir(&ok).expect("mkdir");
    std::fs::copy(
        example("iac/cloudformation/good.yaml"),
        ok.join("good.yaml"),
    )
    .expect("copy");
    let missing = dir.path().join("missing-path");
    for fail_on in ["critical", "none"] {
        trailseal()
            .args(["scan"])
            .arg(&missing)
            .arg(&ok)
            .args(["--fail-on", fail_on])
            .assert()
            .code(2)
            .stdout(predicate::str::contains("TS000"))
            .stderr(predicate::str::contains("could not be read"));
    }
    // A template that does not parse, next to a good one: exit 2 as well.
    std::fs::write(
        ok.join("broken.yaml"),
        "AWSTemplateFormatVersion: '2010-09-09'\nResources: [\n",
    )
    .expect("write");
    trailseal()
        .args(["scan"])
        .arg(&ok)
        .args(["--exit-zero"])
        .assert()
        .code(2);
}

#[test]
fn fail_on_is_case_insensitive_and_none_or_exit_zero_report_only() {
    // Parses, and has failures (and a property CloudFormation rejects: read, but wrong in
    // itself, so not exit 2).
    let broken = example("iac/cloudformation/false-passes.yaml");
    trailseal()
        .args(["scan", &broken, "--fail-on", "HIGH"])
        .assert()
        .code(1);
    trailseal()
        .args(["scan", &broken, "--fail-on", "None"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("FAIL"));
    trailseal()
        .args(["scan", &broken, "--exit-zero"])
        .assert()
        .code(0);
    trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .args(["--exit-zero", "--format", "JSON"])
        .assert()
        .code(0);
    trailseal()
        .args(["scan", &broken, "--fail-on", "severe"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("critical"));
}

#[test]
fn skip_checks_leaves_checks_out_and_a_typo_is_named() {
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .args(["--skip-checks", "TS011,ts013", "--format", "json"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let codes: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(!codes.is_empty());
    assert!(!codes.contains(&"TS011") && !codes.contains(&"TS013"));
    assert!(codes.contains(&"TS006"));
    trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .args(["--skip-checks", "TS0111"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--skip-checks: unknown check code \"TS0111\"",
        ));
}

#[test]
fn output_has_a_short_flag_on_every_report_command() {
    let dir = tempdir();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "audit".into(),
                "--evidence".into(),
                example("evidence/broken-account.json"),
            ],
            "audit.txt",
        ),
        (
            vec!["scan".into(), example("iac/cloudformation/good.yaml")],
            "scan.txt",
        ),
        (
            vec![
                "policy".into(),
                "check".into(),
                example("policies/aws-default-key-policy.json"),
                "--trail-arn".into(),
                TRAIL.into(),
            ],
            "check.txt",
        ),
        (
            vec![
                "policy".into(),
                "lint".into(),
                example("policies/aws-default-key-policy.json"),
            ],
            "lint.txt",
        ),
    ];
    for (args, name) in cases {
        let path = dir.path().join(name);
        let out = trailseal()
            .args(&args)
            .arg("-o")
            .arg(&path)
            .output()
            .expect("runs");
        assert!(
            out.stdout.is_empty(),
            "{name}: the report went to -o, not stdout"
        );
        assert!(matches!(out.status.code(), Some(0..=3)), "{name}: {out:?}");
        let text = std::fs::read_to_string(&path).expect("the report was written");
        assert!(!text.is_empty(), "{name} is empty");
    }
}

// --- "compliant" says what it covers, and the summary counts by severity -------------------

#[test]
fn compliant_says_what_it_covers_and_counts_the_other_problems() {
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let compliant_lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("compliant") && !l.contains("NOT COMPLIANT"))
        .collect();
    assert!(!compliant_lines.is_empty());
    for line in &compliant_lines {
        assert!(
            line.contains("encryption, TS001-TS006"),
            "{line:?} does not say what compliant covers"
        );
    }
    assert!(text.contains("Problems by severity: "), "{text}");
    assert!(text.contains(" critical"), "{text}");
}

#[test]
fn quiet_prints_only_resources_with_problems_and_the_summary() {
    let run = |extra: &[&str]| {
        let out = trailseal()
            .args([
                "audit",
                "--evidence",
                &example("evidence/broken-account.json"),
            ])
            .args(extra)
            .output()
            .expect("runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let full = run(&[]);
    let quiet = run(&["--quiet"]);
    assert!(quiet.len() < full.len());
    assert!(quiet.contains("Summary: "));
    // Every block in quiet output has a problem.
    for block in quiet.split("\n\n").filter(|b| b.starts_with("arn:")) {
        assert!(
            block.contains("FAIL ") || block.contains("ERROR") || block.contains("INDET"),
            "a block without problems in --quiet: {block}"
        );
    }
    let full_blocks = full.split("\n\n").filter(|b| b.starts_with("arn:")).count();
    let quiet_blocks = quiet
        .split("\n\n")
        .filter(|b| b.starts_with("arn:"))
        .count();
    assert!(
        quiet_blocks < full_blocks,
        "{quiet_blocks} vs {full_blocks}"
    );
}

// --- Inconsistencies ------------------------------------------------------------------------

#[test]
fn policy_lint_offers_only_the_formats_it_has_and_speaks_lower_case() {
    let dir = tempdir();
    let policy = dir.path().join("warned.json");
    std::fs::write(
        &policy,
        r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
                          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}]}"#,
    )
    .expect("write");
    let policy = policy.display().to_string();
    trailseal()
        .args(["policy", "lint", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("sarif").not());
    let out = trailseal()
        .args(["policy", "lint", &policy, "--format", "json"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let severities: Vec<&str> = doc["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["severity"].as_str())
        .collect();
    assert!(!severities.is_empty());
    for s in severities {
        assert_eq!(s, s.to_lowercase());
    }
}

#[test]
fn policy_lint_tells_an_invalid_policy_from_a_usage_error() {
    let dir = tempdir();
    let invalid = dir.path().join("invalid.json");
    std::fs::write(
        &invalid,
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#,
    )
    .expect("write");
    trailseal()
        .args(["policy", "lint"])
        .arg(&invalid)
        .assert()
        .code(3);
    trailseal()
        .args(["policy", "lint"])
        .arg(dir.path().join("no-such-file.json"))
        .assert()
        .code(2);
    trailseal()
        .args(["policy", "lint", "--frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn policy_check_folds_passes_like_the_other_commands() {
    let out = trailseal()
        .args([
            "policy",
            "check",
            &example("policies/cloudtrail-console-key-policy.json"),
            "--trail-arn",
            TRAIL,
            "--bucket",
            "logs",
        ])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("PASS  TS006 TS007"), "{text}");
    assert!(
        !text.contains("PASS  TS006 key-policy-allows-cloudtrail"),
        "{text}"
    );
}

#[test]
fn region_names_are_checked_the_same_way_everywhere_with_a_suggestion() {
    trailseal()
        .args([
            "policy",
            "check",
            &example("policies/cloudtrail-console-key-policy.json"),
            "--trail-arn",
            "arn:aws:cloudtrail:eu-west1:111122223333:trail/t",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown Region \"eu-west1\""))
        .stderr(predicate::str::contains("did you mean eu-west-1?"));
    trailseal()
        .args(["audit", "--regions", ""])
        .env("AWS_ACCESS_KEY_ID", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names an empty Region"));
    trailseal()
        .args(["audit", "--regions", "us-east-1,,eu-west-1"])
        .env("AWS_ACCESS_KEY_ID", "x")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names an empty Region"));
}

// --- Wrong input says what happened -------------------------------------------------------------

#[test]
fn evidence_that_is_something_else_is_named() {
    let dir = tempdir();
    let report = dir.path().join("report.json");
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .args(["--format", "json", "-o"])
        .arg(&report)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    trailseal()
        .args(["audit", "--evidence"])
        .arg(&report)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "is a trailseal report (trailseal.audit/v1",
        ))
        .stderr(predicate::str::contains("trailseal collect -o FILE"));
    let prowler = dir.path().join("prowler.json");
    std::fs::write(
        &prowler,
        r#"[{"CheckID": "cloudtrail_kms_encryption_enabled", "Status": "PASS", "StatusExtended": "ok"}]"#,
    )
    .expect("write");
    trailseal()
        .args(["audit", "--evidence"])
        .arg(&prowler)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is a Prowler report"));
}

#[test]
fn a_template_given_to_policy_lint_is_sent_to_scan() {
    trailseal()
        .args(["policy", "lint", &example("iac/cloudformation/broken.yaml")])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("CloudFormation template"))
        .stderr(predicate::str::contains("trailseal scan"));
}

// --- Completions and the manual page ------------------------------------------------------------

#[test]
fn completions_are_generated_for_each_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef trailseal"),
        ("fish", "complete -c trailseal"),
    ] {
        trailseal()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker))
            .stdout(predicate::str::contains("fail-on"))
            .stdout(predicate::str::contains("skip-checks"));
    }
}

#[test]
fn the_manual_page_is_generated_from_the_same_definitions() {
    trailseal()
        .args(["man"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(".TH trailseal"))
        .stdout(predicate::str::contains("audit"));
    let dir = tempdir();
    trailseal()
        .args(["man", "--dir"])
        .arg(dir.path())
        .assert()
        .code(0);
    assert!(dir.path().join("trailseal-audit.1").is_file());
    assert!(dir.path().join("trailseal-scan.1").is_file());
}

#[test]
fn explain_lists_where_each_check_applies_and_prints_json() {
    trailseal()
        .args(["explain"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TS000"))
        .stdout(predicate::str::contains("live,evidence,iac"))
        .stdout(predicate::str::contains("live,evidence "));
    let out = trailseal()
        .args(["explain", "--format", "json"])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let checks = doc["checks"].as_array().expect("checks");
    assert_eq!(
        checks.first().and_then(|c| c["code"].as_str()),
        Some("TS000")
    );
    let ts009 = checks.iter().find(|c| c["code"] == "TS009").expect("TS009");
    assert_eq!(ts009["applies"], serde_json::json!(["live", "evidence"]));
    assert_eq!(ts009["compliant"], false);
    trailseal()
        .args(["explain", "ts000"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TS000 iac-input (high)"))
        .stdout(predicate::str::contains("Applies to: iac"));
}

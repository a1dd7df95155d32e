//! What got in a new user's way (issue "a CLI that behaves like a well-made tool"), each as a
//! test of the binary: CI gates, one exit rule, honest wording, helpful wrong-input messages,
//! completions and the manual page.

mod support;

use predicates::prelude::*;
use serde_json::Value;
use support::cli::{example, json_fields, tempdir, trailseal, TF_KEY_AND_TRAIL};

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";

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
    let codes = json_fields(&out.stdout, "findings", "code");
    assert!(!codes.is_empty());
    assert!(!codes.iter().any(|c| c == "TS011" || c == "TS013"));
    assert!(codes.iter().any(|c| c == "TS006"));
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
    let severities = json_fields(&out.stdout, "diagnostics", "severity");
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
        .code(1)
        .stdout(predicate::str::contains(
            "invalid: AWS would reject this policy",
        ));
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
        ("elvish", "edit:completion:arg-completer[trailseal]"),
        ("powershell", "Register-ArgumentCompleter"),
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

// --- scan's fixes are in the file's own language, at the resource to edit ---------------------

#[test]
fn policy_lint_lists_every_problem_not_only_the_first_fatal_one() {
    let out = trailseal()
        .args(["policy", "lint", "-", "--format", "json"])
        .write_stdin(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "Broken", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
                {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
                {"Sid": "Open", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey", "Resource": "*"}
            ]}"#,
        )
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let codes = json_fields(&out.stdout, "diagnostics", "code");
    for expected in [
        "MISSING_EFFECT",
        "WILDCARD_PRINCIPAL_WITHOUT_CONDITION",
        "DUPLICATE_SID",
    ] {
        assert!(
            codes.iter().any(|c| c == expected),
            "{expected} in {codes:?}"
        );
    }
    // Whether anyone may administer the key depends on the statement that did not parse.
    assert!(
        !codes.iter().any(|c| c == "NO_KEY_ADMINISTRATOR"),
        "{codes:?}"
    );
}

#[test]
fn a_var_or_parameter_that_names_nothing_is_not_ignored() {
    let root = example("iac/terraform/root");
    trailseal()
        .args(["scan", &root, "--var", "no_such_variable=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--var no_such_variable named by no scanned file",
        ));
    trailseal()
        .args(["scan", &root, "--var", "=1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("names nothing"));
    trailseal()
        .args([
            "scan",
            &example("iac/cloudformation/good.yaml"),
            "--parameter",
            "NoSuchParameter=x",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--parameter NoSuchParameter named by no scanned file",
        ));
}

#[test]
fn the_report_never_overwrites_a_file_trailseal_did_not_write() {
    let dir = tempdir();
    let tf = dir.path().join("main.tf");
    std::fs::write(&tf, TF_KEY_AND_TRAIL.replace("POLICY", "")).expect("write");
    let vars = dir.path().join("prod.tfvars");
    std::fs::write(&vars, "validation = false\n").expect("write");
    for target in [&tf, &vars] {
        trailseal()
            .args(["scan"])
            .arg(dir.path())
            .arg("-o")
            .arg(target)
            .assert()
            .code(2)
            // An input of the scan (the input refusal) or another file (refusing to overwrite).
            .stderr(predicate::str::contains("overwrite"));
    }
    assert_eq!(
        std::fs::read_to_string(&tf).expect("read"),
        TF_KEY_AND_TRAIL.replace("POLICY", "")
    );
    assert_eq!(
        std::fs::read_to_string(&vars).expect("read"),
        "validation = false\n"
    );
    // A report of an earlier run may be replaced, and is not scanned as a template.
    let report = dir.path().join("report.json");
    for _ in 0..2 {
        let out = trailseal()
            .args(["scan", "--format", "json"])
            .arg(dir.path())
            .arg("-o")
            .arg(&report)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
    let sarif = dir.path().join("report.sarif.json");
    for _ in 0..2 {
        let out = trailseal()
            .args(["scan", "--format", "sarif"])
            .arg(dir.path())
            .arg("-o")
            .arg(&sarif)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
    }
}

#[test]
fn a_suppression_without_a_reason_is_answered_with_its_own_code() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("main.tf"),
        format!(
            "# trailseal:skip=TS010\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", "")
        )
        .replace(
            "resource \"aws_cloudtrail\" \"main\" {",
            "resource \"aws_cloudtrail\" \"main\" {\n  # trailseal:skip=TS010",
        ),
    )
    .expect("write");
    let out = trailseal()
        .args(["scan", "--format", "json"])
        .arg(dir.path())
        .output()
        .expect("runs");
    let messages = json_fields(&out.stdout, "findings", "message");
    let problem = messages
        .iter()
        .find(|m| m.contains("has no reason"))
        .unwrap_or_else(|| panic!("{messages:#?}"));
    assert!(problem.contains("trailseal:skip=TS010:"), "{problem}");
}

#[test]
fn text_snippets_cut_long_lines() {
    let dir = tempdir();
    // A one-line, 40 KB template that does not parse.
    let long = format!(
        "{{\"AWSTemplateFormatVersion\": \"2010-09-09\", \"Resources\": {{\"X\": \"{}\" ]}}}}",
        "x".repeat(40_000)
    );
    std::fs::write(dir.path().join("minified.json"), long).expect("write");
    let out = trailseal()
        .arg("scan")
        .arg(dir.path())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("more characters]"), "{text}");
    let longest = text.lines().map(str::len).max().unwrap_or(0);
    assert!(longest < 1_000, "a line of {longest} characters");
}

/// The example evidence, changed by `edit`, written to a file in `dir`.
fn edited_evidence(dir: &std::path::Path, edit: impl Fn(&mut Value)) -> std::path::PathBuf {
    let text = std::fs::read_to_string(example("evidence/broken-account.json")).expect("read");
    let mut doc: Value = serde_json::from_str(&text).expect("JSON");
    edit(&mut doc);
    let path = dir.join("evidence.json");
    std::fs::write(&path, doc.to_string()).expect("write");
    path
}

/// Statuses of `code` in a JSON report.
fn statuses_of(stdout: &[u8], code: &str) -> Vec<String> {
    let doc: Value = serde_json::from_slice(stdout).expect("JSON");
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == code)
        .filter_map(|f| f["status"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn evidence_without_scanned_regions_is_never_a_pass() {
    let dir = tempdir();
    let path = edited_evidence(dir.path(), |doc| {
        doc["accounts"][0]["regions"] = serde_json::json!([]);
        doc["accounts"][0]["trails"] = serde_json::json!([]);
        doc["accounts"][0]["event_data_stores"] = serde_json::json!([]);
    });
    let out = trailseal()
        .args(["audit", "--format", "json", "--evidence"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    for code in ["TS012", "TS013"] {
        assert_eq!(statuses_of(&out.stdout, code), vec!["error"], "{code}");
    }
}

#[test]
fn a_key_manager_that_is_neither_aws_nor_customer_decides_nothing() {
    let dir = tempdir();
    let path = edited_evidence(dir.path(), |doc| {
        for key in doc["accounts"][0]["keys"].as_array_mut().expect("keys") {
            if key["arn"] == "arn:aws:kms:us-east-1:111122223333:key/good" {
                key["manager"] = serde_json::json!("aws");
            }
        }
    });
    let out = trailseal()
        .args([
            "audit",
            "--format",
            "json",
            "--checks",
            "TS004",
            "--evidence",
        ])
        .arg(&path)
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let on_good_key: Vec<&Value> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["message"]
                .as_str()
                .is_some_and(|m| m.contains("key/good"))
        })
        .collect();
    assert!(!on_good_key.is_empty(), "{doc}");
    for f in on_good_key {
        assert_ne!(f["status"], "pass", "{f}");
    }
}

#[test]
fn output_never_replaces_a_journal_or_a_document_that_merely_mentions_trailseal() {
    let dir = tempdir();
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(
        &journal,
        "{\"schema\":\"trailseal.journal/v1\",\"kind\":\"header\"}\n",
    )
    .expect("write");
    let notes = dir.path().join("notes.md");
    std::fs::write(
        &notes,
        "# Notes\n```json\n{\"schema\": \"trailseal.audit/v1\"}\n```\nAccount 1, collected never\n",
    )
    .expect("write");
    for target in [&journal, &notes] {
        trailseal()
            .args([
                "audit",
                "--evidence",
                &example("evidence/broken-account.json"),
            ])
            .arg("-o")
            .arg(target)
            .assert()
            .code(2)
            .stderr(predicate::str::contains("refusing to overwrite"));
    }
    assert!(std::fs::read_to_string(&journal)
        .expect("read")
        .contains("trailseal.journal/v1"));
}

#[test]
fn checks_a_command_does_not_run_are_refused_not_dropped() {
    trailseal()
        .args([
            "policy",
            "check",
            &example("policies/cloudtrail-console-key-policy.json"),
            "--trail-arn",
            TRAIL,
            "--checks",
            "TS001,TS006",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--checks TS001: not run by this command",
        ));
    trailseal()
        .args([
            "audit",
            "--evidence",
            &example("evidence/broken-account.json"),
        ])
        .args(["--checks", "TS000"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a check"));
    trailseal()
        .args(["explain", "key-rotation"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("TS011 key-rotation"));
}

/// `-v` on the commands that talk to AWS adds the SDK's error chain to the one-line message
/// (nothing listens on the endpoint; no emulator needed).
#[test]
fn verbose_adds_the_sdk_detail_on_every_aws_command() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    for command in [&["audit"][..], &["collect"], &["fix"]] {
        let run = |verbose: bool| {
            let mut cmd = trailseal();
            cmd.args(command)
                .args(["--regions", "us-east-1"])
                .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{closed}"))
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "secret")
                .env("AWS_CONFIG_FILE", "/nonexistent")
                .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .env_remove("AWS_PROFILE")
                .timeout(std::time::Duration::from_secs(120));
            if verbose {
                cmd.arg("-v");
            }
            let out = cmd.output().expect("runs");
            assert_eq!(out.status.code(), Some(2), "{command:?}: {out:?}");
            String::from_utf8_lossy(&out.stderr).into_owned()
        };
        // (Without -v once: each run waits for the SDK's retries.)
        if command == ["collect"] {
            let plain = run(false);
            assert!(plain.contains("the connection was refused"), "{plain}");
            assert!(!plain.contains("AWS SDK detail"), "{plain}");
        }
        let verbose = run(true);
        assert!(
            verbose.contains("the connection was refused"),
            "{command:?}: {verbose}"
        );
        assert!(
            verbose.contains("AWS SDK detail: "),
            "{command:?}: {verbose}"
        );
    }
}

/// The partition follows the provider's Region: a GovCloud trail is arn:aws-us-gov:..., so a
/// key policy that names arn:aws:... trails does not let it encrypt (the evaluator used to
/// write arn:aws: into every symbolic ARN, a false pass), while one built from
/// data.aws_partition does. A root variable without a value is the deploying Region, assumed
/// in the aws partition (as before).
#[test]
fn the_partition_follows_the_providers_region() {
    let dir = tempdir();
    let write = |partition: &str| {
        let policy = format!(
            r#"policy = jsonencode({{ Version = "2012-10-17", Statement = [
    {{ Sid = "Admin", Effect = "Allow", Principal = {{ AWS = "arn:${{data.aws_partition.current.partition}}:iam::${{data.aws_caller_identity.current.account_id}}:root" }}, Action = "kms:*", Resource = "*" }},
    {{ Sid = "CloudTrail", Effect = "Allow", Principal = {{ Service = "cloudtrail.amazonaws.com" }}, Action = "kms:GenerateDataKey*", Resource = "*",
      Condition = {{ StringLike = {{ "kms:EncryptionContext:aws:cloudtrail:arn" = "arn:{partition}:cloudtrail:*:${{data.aws_caller_identity.current.account_id}}:trail/*" }} }} }}
  ] }})"#
        );
        std::fs::write(
            dir.path().join("main.tf"),
            format!(
                "variable \"region\" {{\n  type = string\n}}\nprovider \"aws\" {{\n  region = var.region\n}}\ndata \"aws_partition\" \"current\" {{}}\ndata \"aws_caller_identity\" \"current\" {{}}\n{}",
                TF_KEY_AND_TRAIL.replace("POLICY", &policy)
            ),
        )
        .expect("write");
    };
    let ts006 = |region: &str| {
        let mut cmd = trailseal();
        cmd.args(["scan", "--format", "json", "--checks", "TS006"])
            .arg(dir.path());
        if !region.is_empty() {
            cmd.args(["--var", &format!("region={region}")]);
        }
        let out = cmd.output().expect("runs");
        json_fields(&out.stdout, "findings", "status")
    };
    write("aws");
    assert_eq!(
        ts006("us-gov-west-1"),
        vec!["fail"],
        "arn:aws: does not match a GovCloud trail"
    );
    assert_eq!(ts006("eu-west-1"), vec!["pass"]);
    assert_eq!(
        ts006(""),
        vec!["pass"],
        "the deploying Region, in the aws partition"
    );
    write("${data.aws_partition.current.partition}");
    assert_eq!(ts006("us-gov-west-1"), vec!["pass"]);
    assert_eq!(ts006("cn-north-1"), vec!["pass"]);
}

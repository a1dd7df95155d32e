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

/// The `field` of every item of the array `list` of a command's JSON output.
fn json_fields(stdout: &[u8], list: &str, field: &str) -> Vec<String> {
    let doc: Value = serde_json::from_slice(stdout).expect("JSON on stdout");
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {doc}"))
        .iter()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
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

// --- scan's fixes are in the file's own language, at the resource to edit ---------------------

fn scan_json(dir: &std::path::Path) -> Value {
    let out = trailseal()
        .args(["scan", "--format", "json"])
        .arg(dir)
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Scans `dir` and asserts the status of `code` on `resource`.
fn assert_scanned_status(dir: &std::path::Path, resource: &str, code: &str, status: &str) {
    let doc = scan_json(dir);
    assert_eq!(finding(&doc, resource, code)["status"], status, "{doc}");
}

fn finding<'a>(doc: &'a Value, resource: &str, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == resource && f["code"] == code)
        .unwrap_or_else(|| panic!("{code} of {resource} in {doc}"))
}

/// The rendered statement in a fix: from its first line "{" (HCL) or "- " (YAML) to the line
/// before "(an item of ...".
fn suggested(remediation: &str, first: &str) -> String {
    let start = remediation
        .find(first)
        .unwrap_or_else(|| panic!("{first:?} in {remediation}"));
    let end = remediation
        .find("\n(an item of")
        .unwrap_or_else(|| panic!("the end of the statement in {remediation}"));
    remediation[start..end].to_owned()
}

const TF_KEY_AND_TRAIL: &str = r#"
resource "aws_kms_key" "logs" {
  description = "trail key"
  POLICY
}

resource "aws_cloudtrail" "main" {
  name           = "main"
  s3_bucket_name = "logs-bucket"
  kms_key_id     = aws_kms_key.logs.arn
}
"#;

#[test]
fn terraform_fixes_are_hcl_that_makes_the_rescan_pass() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let admin = r#"{ Sid = "Admin", Effect = "Allow", Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }, Action = "kms:*", Resource = "*" }"#;
    let policy =
        format!("policy = jsonencode({{ Version = \"2012-10-17\", Statement = [{admin}] }})");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", &policy)
        ),
    )
    .expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(
        fix.contains("the key policy of aws_kms_key.logs ("),
        "{fix}"
    );
    assert!(fix.contains("main.tf:3)"), "the key's line: {fix}");
    assert!(
        !fix.contains("AWS::"),
        "no CloudFormation placeholders in Terraform: {fix}"
    );
    let statement = suggested(fix, "{\n");
    assert!(
        statement.contains("data.aws_caller_identity.current.account_id"),
        "{statement}"
    );
    // TS010 is an attribute of the trail, written as the attribute.
    let ts010 = finding(&doc, "aws_cloudtrail.main", "TS010");
    assert_eq!(
        ts010["remediation"],
        format!(
            "Set `enable_log_file_validation = true` in aws_cloudtrail.main ({}:8).",
            main.display()
        )
    );
    let ts011 = finding(&doc, "aws_cloudtrail.main", "TS011");
    assert!(
        ts011["remediation"].as_str().is_some_and(
            |r| r.starts_with("Set `enable_key_rotation = true` in aws_kms_key.logs (")
        ),
        "{ts011}"
    );

    // Pasted as told, the rescan parses and passes.
    let policy = format!(
        "policy = jsonencode({{ Version = \"2012-10-17\", Statement = [{admin}, {statement}] }})"
    );
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", &policy)
        ),
    )
    .expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}

#[test]
fn cloudformation_fixes_are_yaml_with_sub_that_makes_the_rescan_pass() {
    let template = |extra: &str| {
        format!(
            r#"AWSTemplateFormatVersion: '2010-09-09'
Resources:
  LogKey:
    Type: AWS::KMS::Key
    Properties:
      KeyPolicy:
        Version: '2012-10-17'
        Statement:
          - Sid: Admin
            Effect: Allow
            Principal:
              AWS: !Sub 'arn:aws:iam::${{AWS::AccountId}}:root'
            Action: 'kms:*'
            Resource: '*'
{extra}
  Trail:
    Type: AWS::CloudTrail::Trail
    Properties:
      TrailName: main
      IsLogging: true
      S3BucketName: logs-bucket
      KMSKeyId: !GetAtt LogKey.Arn
"#
        )
    };
    let dir = tempdir();
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, template("")).expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "Trail", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(fix.contains("the key policy of LogKey ("), "{fix}");
    assert!(fix.contains("!Sub '"), "{fix}");
    let statement = suggested(fix, "- Sid: ");
    // Indented as an item of the Statement list above, pasted: the rescan passes.
    let pasted: String = statement
        .lines()
        .map(|l| format!("          {l}\n"))
        .collect();
    std::fs::write(&file, template(pasted.trim_end())).expect("write");
    let doc = scan_json(dir.path());
    assert_eq!(finding(&doc, "Trail", "TS006")["status"], "pass", "{doc}");
    let ts010 = finding(&doc, "Trail", "TS010");
    assert!(
        ts010["remediation"]
            .as_str()
            .is_some_and(|r| r
                .starts_with("Set `EnableLogFileValidation: true` in the Properties of Trail (")),
        "{ts010}"
    );
}

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
    assert_eq!(out.status.code(), Some(3));
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

/// A key without a policy argument has KMS's default policy: the fix is a whole policy (the
/// default statement and CloudTrail's), which pasted as told passes and can be administered.
#[test]
fn terraform_key_without_a_policy_gets_a_whole_policy() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", "")
        ),
    )
    .expect("write");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(fix.contains("has no policy argument"), "{fix}");
    let start = fix.find("policy = jsonencode(").expect("a policy argument");
    let end = fix[start..]
        .find("\n(")
        .map(|e| start + e)
        .expect("its end");
    let policy = &fix[start..end];
    assert!(policy.contains("Enable IAM User Permissions"), "{policy}");
    std::fs::write(
        &main,
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", policy)
        ),
    )
    .expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
}

/// A policy built from data "aws_iam_policy_document" gets a statement block for it.
#[test]
fn terraform_policy_document_gets_a_statement_block() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let write = |extra: &str| {
        std::fs::write(
            &main,
            format!(
                r#"data "aws_caller_identity" "current" {{}}
data "aws_iam_policy_document" "key" {{
  statement {{
    sid       = "Admin"
    actions   = ["kms:*"]
    resources = ["*"]
    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::${{data.aws_caller_identity.current.account_id}}:root"]
    }}
  }}
{extra}
}}
{}"#,
                TF_KEY_AND_TRAIL
                    .replace("POLICY", "policy = data.aws_iam_policy_document.key.json")
            ),
        )
        .expect("write");
    };
    write("");
    let doc = scan_json(dir.path());
    let ts006 = finding(&doc, "aws_cloudtrail.main", "TS006");
    assert_eq!(ts006["status"], "fail", "{ts006}");
    let fix = ts006["remediation"].as_str().expect("remediation");
    assert!(
        fix.contains("add this statement block to data.aws_iam_policy_document.key"),
        "{fix}"
    );
    let start = fix.find("statement {\n").expect("a statement block");
    let end = fix[start..]
        .find("\n}")
        .map(|e| start + e + 2)
        .expect("its end");
    write(&fix[start..end]);
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
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
            .stderr(predicate::str::contains("refusing to overwrite"));
    }
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

/// Two trails share a key with KMS's default policy: every fix gives the same whole policy,
/// which holds both trails' statements with distinct Sids; pasted once, both pass, and the
/// policy is one AWS accepts.
#[test]
fn trails_sharing_a_key_get_one_policy_with_distinct_sids() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let config = |policy: &str| {
        format!(
            "data \"aws_caller_identity\" \"current\" {{}}\n{}\nresource \"aws_cloudtrail\" \"other\" {{\n  name           = \"main_\"\n  s3_bucket_name = \"logs-bucket\"\n  kms_key_id     = aws_kms_key.logs.arn\n}}\n",
            TF_KEY_AND_TRAIL.replace("POLICY", policy).replace("\"main\"\n", "\"main-\"\n")
        )
    };
    std::fs::write(&main, config("")).expect("write");
    let doc = scan_json(dir.path());
    let policies: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| (f["code"] == "TS006" || f["code"] == "TS007") && f["status"] == "fail")
        .filter_map(|f| {
            let fix = f["remediation"].as_str()?;
            let start = fix.find("policy = jsonencode(")?;
            let end = start + fix[start..].find("\n(")?;
            Some(fix[start..end].to_owned())
        })
        .collect();
    assert_eq!(policies.len(), 4, "{doc}");
    assert!(policies.iter().all(|p| *p == policies[0]), "{policies:#?}");
    std::fs::write(&main, config(&policies[0])).expect("write");
    let doc = scan_json(dir.path());
    for trail in ["aws_cloudtrail.main", "aws_cloudtrail.other"] {
        for code in ["TS006", "TS007"] {
            assert_eq!(
                finding(&doc, trail, code)["status"],
                "pass",
                "{trail} {code}"
            );
        }
    }
    // Distinct Sids although the names differ only by punctuation.
    let sids: Vec<&str> = policies[0]
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Sid = "))
        .collect();
    let mut unique = sids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(sids.len(), 5, "{sids:?}");
    assert_eq!(unique.len(), sids.len(), "{sids:?}");
}

/// A GovCloud provider puts the trail, the key and the fix in the aws-us-gov partition (a
/// statement for arn:aws:... would never match the real trail).
#[test]
fn govcloud_fixes_use_the_govcloud_partition() {
    let dir = tempdir();
    let main = dir.path().join("main.tf");
    let config = |policy: &str| {
        format!(
            "provider \"aws\" {{\n  region = \"us-gov-west-1\"\n}}\ndata \"aws_caller_identity\" \"current\" {{}}\n{}",
            TF_KEY_AND_TRAIL.replace("POLICY", policy)
        )
    };
    std::fs::write(&main, config("")).expect("write");
    let doc = scan_json(dir.path());
    let fix = finding(&doc, "aws_cloudtrail.main", "TS006")["remediation"]
        .as_str()
        .expect("remediation")
        .to_owned();
    assert!(
        fix.contains("arn:aws-us-gov:cloudtrail:us-gov-west-1:"),
        "{fix}"
    );
    assert!(fix.contains("arn:aws-us-gov:iam::"), "{fix}");
    assert!(!fix.contains("arn:aws:"), "{fix}");
    let start = fix.find("policy = jsonencode(").expect("a policy");
    let end = start + fix[start..].find("\n(").expect("its end");
    std::fs::write(&main, config(&fix[start..end])).expect("write");
    assert_scanned_status(dir.path(), "aws_cloudtrail.main", "TS006", "pass");
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

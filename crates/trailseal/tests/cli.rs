//! End-to-end tests of the `trailseal` binary: output contracts and exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const TRAIL: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/management-events";

fn policy(name: &str) -> String {
    format!("{}/../../examples/policies/{name}", manifest_dir())
}

fn trailseal() -> Command {
    let mut cmd = Command::cargo_bin("trailseal").unwrap();
    cmd.env_remove("NO_COLOR");
    cmd
}

fn check(file: &str) -> Command {
    let mut cmd = trailseal();
    cmd.args([
        "policy",
        "check",
        &policy(file),
        "--trail-arn",
        TRAIL,
        "--bucket",
        "logs-bucket",
    ]);
    cmd
}

#[test]
fn console_policy_passes_with_exit_0_and_no_colour_when_piped() {
    check("cloudtrail-console-key-policy.json")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("PASS  TS006 TS007 TS008"))
        .stdout(predicate::str::contains("Summary: 3 pass, 0 fail"))
        .stdout(predicate::str::contains("\x1b[").not());
}

#[test]
fn default_policy_fails_with_exit_1_and_the_fix() {
    check("aws-default-key-policy.json")
        .assert()
        .code(1)
        .stdout(predicate::str::contains("FAIL  TS006"))
        .stdout(predicate::str::contains(
            "\"Sid\": \"TrailsealAllowCloudTrailEncrypt\"",
        ))
        .stdout(predicate::str::contains(
            "how the key policy was evaluated:",
        ));
}

#[test]
fn json_output_follows_the_contract() {
    let out = check("explicit-deny-cloudtrail.json")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(doc["schema"], "trailseal.audit/v1");
    assert_eq!(doc["tool"]["name"], "trailseal");
    assert!(doc["tool"]["version"].is_string());
    assert!(doc["trails"].is_array());
    for key in ["pass", "fail", "error", "indeterminate"] {
        assert!(doc["summary"][key].is_u64(), "summary.{key}");
    }
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 3);
    for f in findings {
        for key in [
            "code",
            "name",
            "status",
            "severity",
            "account",
            "region",
            "resource",
            "message",
            "remediation",
        ] {
            assert!(f[key].is_string(), "{key} in {f}");
        }
        assert!(f["evidence"].is_object());
        assert!(f["compliance"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "CIS-AWS-v3.0.0-3.5"));
        assert_eq!(f["resource"], TRAIL);
        assert_eq!(f["account"], "111122223333");
        assert_eq!(f["region"], "us-east-1");
    }
    assert_eq!(findings[0]["code"], "TS006");
    assert_eq!(findings[0]["status"], "fail");
    assert_eq!(findings[0]["evidence"]["decision"], "ExplicitDeny");
    assert_eq!(
        findings[0]["evidence"]["deciding_statements"][0]["sid"],
        "Nobody outside our account"
    );
    insta::assert_json_snapshot!("explicit_deny_json", doc, {".tool.version" => "[version]", ".input.policy_file" => "[file]"});
}

#[test]
fn indeterminate_when_the_policy_depends_on_unknown_keys() {
    let out = check("deny-unless-vpce.json")
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "indeterminate is not a pass");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["status"], "indeterminate");
    assert_eq!(
        doc["findings"][0]["evidence"]["unknown_keys"][0],
        "aws:SourceVpce"
    );
    assert_eq!(doc["summary"]["indeterminate"], 3);
}

#[test]
fn fail_on_ignores_findings_below_the_threshold() {
    // Grants encrypt and decrypt but not DescribeKey: only TS007 (medium) fails.
    let text = r#"{"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"},
      {"Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*"}]}"#;
    let run = |fail_on: &str| {
        trailseal()
            .args([
                "policy",
                "check",
                "-",
                "--trail-arn",
                TRAIL,
                "--fail-on",
                fail_on,
            ])
            .write_stdin(text)
            .assert()
    };
    run("medium")
        .code(1)
        .stdout(predicate::str::contains("FAIL  TS007"));
    run("high").code(0);
}

#[test]
fn output_file_is_written() {
    let dir = std::env::temp_dir().join(format!("trailseal-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("report.json");
    check("cloudtrail-console-key-policy.json")
        .args(["--format", "json", "--output", path.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(doc["summary"]["pass"], 3);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("trailseal-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let cases = [
        (
            write("notjson.json", "{ this is not json"),
            "not valid JSON",
        ),
        (write("array.json", "[1, 2, 3]"), "must be a JSON object"),
        (
            write(
                "permit.json",
                r#"{"Statement":[{"Effect":"Permit","Principal":"*","Action":"kms:*","Resource":"*"}]}"#,
            ),
            "Effect must be \"Allow\" or \"Deny\"",
        ),
        (write("binary.json", "\u{0}\u{1}garbage"), "not valid JSON"),
    ];
    for (path, message) in cases {
        trailseal()
            .args(["policy", "check", &path, "--trail-arn", TRAIL])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(path.as_str()))
            .stderr(predicate::str::contains(message));
    }
    trailseal()
        .args([
            "policy",
            "check",
            "/no/such/policy.json",
            "--trail-arn",
            TRAIL,
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read /no/such/policy.json"));
    trailseal()
        .args([
            "policy",
            "check",
            &policy("aws-default-key-policy.json"),
            "--trail-arn",
            "arn:aws:s3:::bucket",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a trail ARN"));
    trailseal().args(["policy", "check"]).assert().code(2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn lint_exit_codes_and_json() {
    trailseal()
        .args([
            "policy",
            "lint",
            &policy("cloudtrail-console-key-policy.json"),
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("valid"));
    trailseal()
        .args(["policy", "lint", "-", "--format", "json"])
        .write_stdin(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("WILDCARD_PRINCIPAL_WITHOUT_CONDITION"));
    // Nobody may call kms:PutKeyPolicy: AWS rejects the policy (lockout safety check).
    trailseal()
        .args(["policy", "lint", "-", "--format", "json"])
        .write_stdin(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("NO_KEY_ADMINISTRATOR"));
    let out = trailseal()
        .args(["policy", "lint", "-", "--format", "json"])
        .write_stdin(r#"{"Statement":[{"Effect":"Permit","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}]}"#)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "duplicate Effect: last one (Allow) wins, so it parses"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "trailseal.lint/v1");
    let codes: Vec<&str> = doc["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"DUPLICATE_KEY"), "{codes:?}");
    trailseal()
        .args(["policy", "lint", "-"])
        .write_stdin("nope")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("INVALID_JSON"));
}

#[test]
fn explain_prints_the_check_doc() {
    trailseal()
        .args(["explain", "ts006"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "TS006 key-policy-allows-cloudtrail (critical)",
        ))
        .stdout(predicate::str::contains("How to fix"))
        .stdout(predicate::str::contains("CIS-AWS-v3.0.0-3.5"));
    trailseal()
        .args(["explain"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TS008"));
    trailseal()
        .args(["explain", "TS999"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown check code"));
}

fn evidence_fixture() -> String {
    format!(
        "{}/../../examples/evidence/broken-account.json",
        manifest_dir()
    )
}

#[test]
fn audit_evidence_runs_the_whole_catalogue() {
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &evidence_fixture(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "trailseal.audit/v1");
    let codes: std::collections::BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 16, "{codes:?}");
    let trails = doc["trails"].as_array().unwrap();
    assert_eq!(trails.len(), 14);
    let compliant: Vec<&str> = trails
        .iter()
        .filter(|t| t["compliant"] == true)
        .map(|t| t["arn"].as_str().unwrap())
        .collect();
    assert_eq!(
        compliant,
        vec![
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/healthy",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/stopped"
        ]
    );
}

#[test]
fn audit_checks_filter_and_bad_input() {
    trailseal()
        .args([
            "audit",
            "--evidence",
            &evidence_fixture(),
            "--checks",
            "TS010",
            "--no-color",
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("TS010"))
        .stdout(predicate::str::contains("TS001").not());
    trailseal()
        .args([
            "audit",
            "--evidence",
            &evidence_fixture(),
            "--checks",
            "TS999",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown check code"));
    trailseal()
        .args([
            "audit",
            "--evidence",
            &policy("aws-default-key-policy.json"),
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is an IAM / key policy document"))
        .stderr(predicate::str::contains("not evidence"));
    // --evidence is offline: AWS options make no sense with it.
    trailseal()
        .args([
            "audit",
            "--evidence",
            &evidence_fixture(),
            "--regions",
            "us-east-1",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--regions"));
}

/// The human report of the evidence fixture: problems first with why and fix, passes folded.
#[test]
fn audit_text_report_snapshot() {
    let out = trailseal()
        .args(["audit", "--no-color", "--evidence", &evidence_fixture()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let text = text.replace(&evidence_fixture(), "[evidence]");
    insta::assert_snapshot!("audit_text_broken_account", text);
}

/// The JSON report of the evidence fixture (the public contract): a small snapshot of its shape
/// (everything but the findings, and one whole finding), and the contract of every finding
/// asserted one by one, so that no reviewer has to read thousands of lines.
#[test]
fn audit_json_report_snapshot() {
    let out = trailseal()
        .args([
            "audit",
            "--format",
            "json",
            "--evidence",
            &evidence_fixture(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    let findings = doc["findings"].as_array().expect("findings");
    assert!(findings.len() > 100, "{} findings", findings.len());
    for f in findings {
        let code = f["code"].as_str().expect("code");
        let info = trailseal_checks::info(code).expect("a catalogue code");
        assert_eq!(f["name"], info.name, "{f}");
        assert_eq!(f["severity"], info.severity.as_str(), "{f}");
        assert_eq!(f["compliance"], serde_json::json!(info.compliance), "{f}");
        for field in [
            "status",
            "account",
            "region",
            "resource",
            "message",
            "remediation",
        ] {
            assert!(f[field].is_string(), "{field} of {f}");
        }
        assert!(f["evidence"].is_object(), "{f}");
        let status = f["status"].as_str().unwrap_or_default();
        assert!(
            ["pass", "fail", "error", "indeterminate", "skipped"].contains(&status),
            "{f}"
        );
        if status != "pass" {
            assert!(!f["message"].as_str().unwrap_or_default().is_empty(), "{f}");
        }
    }
    let one = findings
        .iter()
        .find(|f| {
            f["code"] == "TS006"
                && f["resource"]
                    .as_str()
                    .is_some_and(|r| r.ends_with("trail/default-policy"))
        })
        .expect("TS006 of default-policy");
    let mut shape = doc.clone();
    shape["findings"] = serde_json::json!({"count": findings.len(), "TS006 default-policy": one});
    insta::assert_json_snapshot!("audit_json_report_shape", shape, {
        ".tool.version" => "[version]",
        ".input.evidence_file" => "[evidence]",
    });
}

/// `trailseal ... | head`: the closed pipe ends the output quietly, never a panic.
#[test]
fn a_closed_pipe_is_not_a_panic() {
    let bin = assert_cmd::cargo::cargo_bin("trailseal");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' audit --format json --evidence '{}' | head -c 10 >/dev/null",
            bin.display(),
            evidence_fixture()
        ))
        .output()
        .expect("bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

#[test]
fn readers_prints_the_table_and_json_offline_and_refuses_bad_input() {
    let out = trailseal()
        .args(["readers", "healthy", "--evidence", &evidence_fixture()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Can read (decrypt and download) (2):"),
        "{text}"
    );
    assert!(text.contains("role/Investigator"), "{text}");

    let out = trailseal()
        .args([
            "readers",
            "healthy",
            "--evidence",
            &evidence_fixture(),
            "--format",
            "json",
            "--trusted-accounts",
            "444455556666",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["trusted_accounts"], serde_json::json!(["444455556666"]));
    assert!(doc["readers"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["trusted"] == true));
    for key in ["conditional", "partial", "not_read"] {
        assert!(doc[key].is_array(), "{key}: {doc:#}");
    }

    // A trail that is not there, and an account id that is not one: usage errors naming them.
    for (args, says) in [
        (vec!["readers", "nope"], "no trail named"),
        (
            vec!["readers", "healthy", "--trusted-accounts", "12345"],
            "--trusted-accounts",
        ),
    ] {
        let out = trailseal()
            .args(&args)
            .args(["--evidence", &evidence_fixture()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(says),
            "{args:?}"
        );
    }
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &evidence_fixture(),
            "--trusted-accounts",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

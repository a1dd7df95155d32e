//! `trailseal scan` on the CloudFormation fixtures of examples/iac/cloudformation: every false
//! pass (and false fail) of other scanners named in the scan issue is a regression test here.

use std::collections::BTreeMap;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn fixture(name: &str) -> String {
    format!(
        "{}/../../examples/iac/cloudformation/{name}",
        manifest_dir()
    )
}

fn scan(args: &[&str]) -> (Value, i32) {
    let out = Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", "--format", "json"])
        .args(args)
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (doc, out.status.code().unwrap_or(-1))
}

/// (resource, code) -> status
fn table(doc: &Value) -> BTreeMap<(String, String), String> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                (
                    f["resource"].as_str().unwrap_or_default().to_owned(),
                    f["code"].as_str().unwrap_or_default().to_owned(),
                ),
                f["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn status<'a>(t: &'a BTreeMap<(String, String), String>, resource: &str, code: &str) -> &'a str {
    t.get(&(resource.to_owned(), code.to_owned()))
        .map(String::as_str)
        .unwrap_or_else(|| panic!("no {code} finding for {resource}"))
}

#[test]
fn a_good_template_passes_every_check_with_exit_0() {
    let (doc, code) = scan(&[&fixture("good.yaml")]);
    assert_eq!(code, 0, "{doc:#}");
    let t = table(&doc);
    for trail in ["Trail", "TrailByAlias"] {
        for c in [
            "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008", "TS010",
            "TS011", "TS014",
        ] {
            assert_eq!(status(&t, trail, c), "pass", "{trail} {c}");
        }
    }
    // Runtime-only checks are not reported for templates.
    assert!(!t.keys().any(|(_, c)| c == "TS009" || c == "TS012"));
}

#[test]
fn false_passes_and_false_fails_of_other_scanners() {
    let (doc, code) = scan(&[&fixture("false-passes.yaml")]);
    assert_eq!(code, 1);
    let t = table(&doc);
    // trivy reads `KmsKeyId`; CloudFormation's property is `KMSKeyId`.
    assert_eq!(status(&t, "WrongCaseTrail", "TS001"), "fail");
    assert_eq!(status(&t, "WrongCaseTrail", "TS000"), "error");
    let wrong_case = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "TS000" && f["resource"] == "WrongCaseTrail")
        .expect("the unknown property is reported");
    assert!(wrong_case["message"]
        .as_str()
        .unwrap_or_default()
        .contains("KMSKeyId"));
    assert!(wrong_case["line"].as_u64().is_some_and(|l| l > 1));
    // cfn-guard fails `!Ref Key`; it is a key id, and this key is fine.
    assert_eq!(status(&t, "RefKeyTrail", "TS001"), "pass");
    assert_eq!(status(&t, "RefKeyTrail", "TS006"), "pass");
    // checkov passes a conditional key that is absent with the default parameters.
    assert_eq!(status(&t, "ConditionalKeyTrail", "TS001"), "fail");
    // The key policy decides: the AWS default key policy does not let CloudTrail encrypt.
    assert_eq!(status(&t, "DefaultPolicyTrail", "TS001"), "pass");
    assert_eq!(status(&t, "DefaultPolicyTrail", "TS006"), "fail");
    // AWS-managed key.
    assert_eq!(status(&t, "AwsManagedKeyTrail", "TS004"), "fail");
    // Unknown before deployment is never a pass.
    assert_eq!(status(&t, "ExternalKeyTrail", "TS001"), "indeterminate");
    assert_eq!(status(&t, "ImportedKeyTrail", "TS001"), "indeterminate");
    assert_eq!(status(&t, "ImportedKeyTrail", "TS006"), "indeterminate");
}

#[test]
fn parameters_decide_conditions_and_external_keys_stay_indeterminate() {
    let (doc, _) = scan(&[
        &fixture("false-passes.yaml"),
        "--parameter",
        "UseKms=true",
        "--parameter",
        "ExternalKeyArn=arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ]);
    let t = table(&doc);
    assert_eq!(status(&t, "ConditionalKeyTrail", "TS001"), "pass");
    assert_eq!(status(&t, "ConditionalKeyTrail", "TS006"), "pass");
    assert_eq!(status(&t, "ExternalKeyTrail", "TS001"), "pass");
    assert_eq!(status(&t, "ExternalKeyTrail", "TS002"), "indeterminate");
    assert_eq!(status(&t, "ExternalKeyTrail", "TS006"), "indeterminate");
}

#[test]
fn json_template_long_forms_suppressions_and_locations() {
    let (doc, _) = scan(&[&fixture("long-form.json")]);
    let t = table(&doc);
    assert_eq!(status(&t, "DisabledKeyTrail", "TS003"), "fail");
    assert_eq!(status(&t, "AsymmetricKeyTrail", "TS004"), "fail");
    assert_eq!(
        status(&t, "DenyTrail", "TS006"),
        "fail",
        "explicit Deny in a Fn::Join policy string"
    );
    // A suppression on the key, with a reason, skips the check for the trails using the key.
    assert_eq!(status(&t, "DenyTrail", "TS011"), "skipped");
    // A suppression without a reason is an error, and suppresses nothing.
    assert_eq!(status(&t, "DenyKey", "TS000"), "error");
    for f in doc["findings"].as_array().expect("findings") {
        assert!(f["file"]
            .as_str()
            .is_some_and(|s| s.ends_with("long-form.json")));
        assert!(
            f["line"].as_u64().is_some() && f["column"].as_u64().is_some(),
            "{f}"
        );
    }
}

#[test]
fn whole_directory_snapshot_and_bad_files() {
    let (doc, code) = scan(&[&fixture("")]);
    // broken.yaml does not parse: input that cannot be read fails the run (exit 2).
    assert_eq!(code, 2);
    let t = table(&doc);
    // An unparseable template is an error finding naming the file and line; the rest goes on.
    let broken = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| {
            f["file"]
                .as_str()
                .is_some_and(|s| s.ends_with("broken.yaml"))
        })
        .expect("broken.yaml reported");
    assert_eq!(broken["status"], "error");
    assert!(broken["message"]
        .as_str()
        .unwrap_or_default()
        .contains("cannot parse"));
    let mut lines: Vec<String> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let file = f["file"].as_str().unwrap_or_default();
            let file = file.rsplit('/').next().unwrap_or(file);
            let resource = f["resource"].as_str().unwrap_or_default();
            let resource = resource.rsplit('/').next().unwrap_or(resource);
            format!(
                "{file:18} {resource:22} {} {}",
                f["code"].as_str().unwrap_or_default(),
                f["status"].as_str().unwrap_or_default()
            )
        })
        .collect();
    lines.sort();
    assert!(t.len() > 50);
    insta::assert_snapshot!("scan_cloudformation_statuses", lines.join("\n"));
}

#[test]
fn nothing_to_scan_is_exit_2_and_bad_parameters_are_usage_errors() {
    let dir = std::env::temp_dir().join(format!("trailseal-empty-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    Command::cargo_bin("trailseal")
        .expect("binary")
        .arg("scan")
        .arg(&dir)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no CloudFormation template, Terraform file",
        ));
    Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", &fixture("good.yaml"), "--parameter", "novalue"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("NAME=VALUE"));
    Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", &fixture("good.yaml"), "--checks", "TS012"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "applies to infrastructure as code",
        ));
}

/// Terraform plan JSON: unknown-after-apply attributes follow the configuration's references;
/// the real account from data sources is used; module and for_each addresses are kept.
#[test]
fn terraform_plan_json() {
    let plan = format!(
        "{}/../../examples/iac/terraform-plan/plan.json",
        manifest_dir()
    );
    let (doc, code) = scan(&[&plan]);
    assert_eq!(code, 1);
    let t = table(&doc);
    // kms_key_id is known only after apply; its reference is aws_kms_key.trail.arn.
    for c in [
        "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS010", "TS011",
    ] {
        assert_eq!(status(&t, "aws_cloudtrail.main", c), "pass", "main {c}");
    }
    // checkov's false pass: `var.encrypt ? aws_kms_key.trail.arn : null` with encrypt = false.
    assert_eq!(status(&t, "aws_cloudtrail.optional", "TS001"), "fail");
    // A key without a policy gets the AWS default key policy.
    assert_eq!(status(&t, "aws_cloudtrail.default_policy", "TS006"), "fail");
    assert_eq!(
        status(&t, "module.audit.aws_cloudtrail.t[\"a\"]", "TS004"),
        "fail"
    );
    let main = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == "aws_cloudtrail.main")
        .expect("main");
    assert_eq!(main["account"], "111122223333");
    assert_eq!(main["region"], "us-east-1");
    assert!(main["line"].as_u64().is_some_and(|l| l > 1));
}

/// Terraform HCL without a plan: variables, locals, policy documents, jsonencode,
/// conditionals, count and for_each, evaluated statically.
#[test]
fn terraform_hcl_module() {
    let dir = format!("{}/../../examples/iac/terraform/root", manifest_dir());
    let (doc, code) = scan(&[&dir]);
    assert_eq!(code, 1);
    let t = table(&doc);
    for c in [
        "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS010", "TS011",
    ] {
        assert_eq!(status(&t, "aws_cloudtrail.main", c), "pass", "main {c}");
        assert_eq!(
            status(&t, "aws_cloudtrail.by_alias", c),
            "pass",
            "by_alias {c}"
        );
    }
    // The local modules' directories are evaluated inside their callers only, not again as
    // root modules without inputs.
    assert!(
        !t.keys()
            .any(|(resource, _)| resource == "aws_cloudtrail.this"),
        "modules/trail scanned as a root module"
    );
    // Scanned on its own (its caller not under the path), a module directory is a root.
    let (alone, _) = scan(&[&format!("{dir}/modules/trail")]);
    assert!(table(&alone)
        .keys()
        .any(|(resource, _)| resource == "aws_cloudtrail.this"));
    // Key policies from templates with %{for} / %{if} directives (heredoc, templatefile).
    for c in ["TS001", "TS006", "TS007"] {
        assert_eq!(
            status(&t, "aws_cloudtrail.heredoc", c),
            "pass",
            "heredoc {c}"
        );
    }
    assert_eq!(status(&t, "aws_cloudtrail.from_file", "TS006"), "fail");
    // aws_kms_replica_key in the Region of an aliased provider, with the bucket there: passes,
    // rotation from the primary; the primary key for that bucket is in the wrong Region.
    for c in [
        "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS011",
    ] {
        assert_eq!(
            status(&t, "aws_cloudtrail.replica_key", c),
            "pass",
            "replica_key {c}"
        );
    }
    assert_eq!(
        status(&t, "aws_cloudtrail.primary_elsewhere", "TS005"),
        "fail"
    );
    // HCL comment suppressions: on the key, they reach the trail; without a reason, an error.
    assert_eq!(status(&t, "aws_cloudtrail.no_rotation", "TS011"), "skipped");
    assert_eq!(status(&t, "aws_cloudtrail.no_rotation", "TS000"), "error");
    assert_eq!(status(&t, "aws_cloudtrail.no_rotation", "TS010"), "pass");
    let skipped = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == "aws_cloudtrail.no_rotation" && f["code"] == "TS011")
        .expect("TS011");
    assert!(skipped["message"]
        .as_str()
        .is_some_and(|m| m.starts_with("suppressed: keys of this sandbox account")));
    // A key from a local module's output: followed to the module's key and its policy.
    for c in ["TS001", "TS002", "TS006", "TS011"] {
        assert_eq!(
            status(&t, "aws_cloudtrail.module_key", c),
            "pass",
            "module_key {c}"
        );
    }
    // checkov's false pass: `var.encrypt ? aws_kms_key.trail.arn : null`, encrypt = false.
    assert_eq!(status(&t, "aws_cloudtrail.optional", "TS001"), "fail");
    // A jsonencode policy that does not name CloudTrail.
    assert_eq!(status(&t, "aws_cloudtrail.wrong_policy", "TS006"), "fail");
    // for_each instances by address; an AWS-managed alias.
    assert_eq!(
        status(&t, "aws_cloudtrail.extra[\"audit\"]", "TS004"),
        "fail"
    );
    assert_eq!(
        status(&t, "aws_cloudtrail.extra[\"security\"]", "TS004"),
        "fail"
    );
    // A variable without a value is never a pass.
    assert_eq!(
        status(&t, "aws_cloudtrail.external[0]", "TS001"),
        "indeterminate"
    );
    let main = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == "aws_cloudtrail.main")
        .expect("main");
    assert!(main["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("main.tf")));
    assert!(main["line"].as_u64().is_some_and(|l| l > 90));

    // --var decides the condition and gives the external key.
    let (doc, _) = scan(&[
        &dir,
        "--var",
        "encrypt=true",
        "--var",
        "external_key_arn=arn:aws:kms:us-east-1:111122223333:key/abc",
        "--var",
        "allow_cloudtrail=true",
    ]);
    let t = table(&doc);
    assert_eq!(status(&t, "aws_cloudtrail.optional", "TS001"), "pass");
    assert_eq!(status(&t, "aws_cloudtrail.from_file", "TS006"), "pass");
    assert_eq!(status(&t, "aws_cloudtrail.optional", "TS006"), "pass");
    assert_eq!(status(&t, "aws_cloudtrail.external[0]", "TS001"), "pass");
    assert_eq!(
        status(&t, "aws_cloudtrail.external[0]", "TS006"),
        "indeterminate"
    );
}

/// `--format sarif`: results with file, line and column for code-scanning UIs (the document
/// itself is validated against the SARIF schema in trailseal-report's tests).
#[test]
fn sarif_output_points_at_the_files() {
    let out = Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", "--format", "sarif", &fixture("false-passes.yaml")])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(doc["version"], "2.1.0");
    let results = doc["runs"][0]["results"].as_array().expect("results");
    let wrong_case = results
        .iter()
        .find(|r| {
            r["ruleId"] == "TS001"
                && r["message"]["text"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("WrongCaseTrail"))
        })
        .expect("TS001 on WrongCaseTrail");
    let loc = &wrong_case["locations"][0]["physicalLocation"];
    assert!(loc["artifactLocation"]["uri"]
        .as_str()
        .is_some_and(|u| u.ends_with("false-passes.yaml")));
    assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l > 1));
    assert_eq!(wrong_case["level"], "error");
}

/// Bad input: a binary file, a symlink loop, an unparseable .tf file, a module cycle. Each is
/// an error finding naming the file; the rest of the scan completes.
#[test]
fn bad_input_is_reported_and_the_scan_goes_on() {
    let dir = std::env::temp_dir().join(format!("trailseal-bad-input-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tf")).expect("dir");
    std::fs::create_dir_all(dir.join("cycle/a")).expect("dir");
    std::fs::write(dir.join("binary.json"), [0xff_u8, 0xfe, 0x00, 0x01]).expect("write");
    std::fs::write(
        dir.join("tf/main.tf"),
        "resource \"aws_cloudtrail\" \"t\" {\n  name = \n",
    )
    .expect("write");
    std::fs::write(
        dir.join("cycle/a/main.tf"),
        "module \"self\" {\n  source = \"../a\"\n}\n",
    )
    .expect("write");
    std::os::unix::fs::symlink(&dir, dir.join("loop")).expect("symlink");
    std::fs::copy(fixture("good.yaml"), dir.join("good.yaml")).expect("copy");

    let (doc, code) = scan(&[dir.to_str().expect("utf-8 path")]);
    // Unreadable input fails the run whatever --fail-on says; the rest was still scanned.
    assert_eq!(code, 2);
    let errors: Vec<(String, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["status"] == "error")
        .map(|f| {
            (
                f["file"].as_str().unwrap_or_default().to_owned(),
                f["message"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let about = |file: &str, text: &str| {
        errors
            .iter()
            .any(|(f, m)| f.ends_with(file) && m.contains(text))
    };
    assert!(about("binary.json", "not UTF-8"), "{errors:?}");
    assert!(about("tf/main.tf", "cannot parse"), "{errors:?}");
    assert!(about("cycle/a/main.tf", "cycle"), "{errors:?}");
    // The good template next to them was scanned.
    let t = table(&doc);
    assert_eq!(status(&t, "Trail", "TS006"), "pass");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `.tf.json` (Terraform's JSON syntax): same evaluation, positions in the JSON file.
#[test]
fn terraform_json_syntax() {
    let dir = format!("{}/../../examples/iac/terraform/json", manifest_dir());
    let (doc, _) = scan(&[&dir]);
    let t = table(&doc);
    assert_eq!(status(&t, "aws_cloudtrail.json_trail", "TS001"), "pass");
    // The key has no policy: the AWS default key policy does not let CloudTrail encrypt.
    assert_eq!(status(&t, "aws_cloudtrail.json_trail", "TS006"), "fail");
    let f = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == "aws_cloudtrail.json_trail")
        .expect("finding");
    assert!(f["file"]
        .as_str()
        .is_some_and(|p| p.ends_with("main.tf.json")));
    assert_eq!(f["line"], 16);
}

#[test]
fn text_report_shows_the_source_of_resources_with_problems() {
    let file = format!(
        "{}/../../examples/iac/cloudformation/false-passes.yaml",
        manifest_dir()
    );
    let out = Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", "--no-color", &file])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    // The resource's header, then its first lines with their numbers.
    let header = text
        .lines()
        .position(|l| l.starts_with("DefaultPolicyTrail ("))
        .expect("resource header");
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[header].ends_with("false-passes.yaml:57)"),
        "{}",
        lines[header]
    );
    assert_eq!(lines[header + 1].trim(), "57 |   DefaultPolicyTrail:");
    assert_eq!(
        lines[header + 2].trim(),
        "58 |     Type: AWS::CloudTrail::Trail"
    );
    // Worst first: the first resource has a failing critical or high check.
    let first = text
        .lines()
        .skip_while(|l| !l.contains(" ("))
        .nth(1)
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.contains("|"),
        "snippet under the first resource: {first}"
    );
}

#[test]
fn a_reader_that_goes_away_is_not_an_error() {
    let dir = format!("{}/../../examples/iac", manifest_dir());
    for format in ["text", "json", "sarif"] {
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("trailseal"))
            .args(["scan", "--format", format, &dir])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn");
        // Read one line and close the pipe, like `| head -1`.
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0u8; 16];
        std::io::Read::read(&mut stdout, &mut first).expect("read");
        drop(stdout);
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{format}: {stderr}");
        // examples/iac has a template that does not parse (exit 2 whatever the reader does).
        assert_eq!(out.status.code(), Some(2), "{format}: {stderr}");
    }
}

/// The package directory of this checkout: cargo sets CARGO_MANIFEST_DIR when it runs tests
/// (the compile-time value is only a fallback: a target directory shared between checkouts at
/// different paths may hold binaries built elsewhere).
fn manifest_dir() -> String {
    std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned())
}

#[test]
fn terraform_var_files_then_vars() {
    let dir = format!("{}/../../examples/iac/terraform/root", manifest_dir());
    let vars = std::env::temp_dir().join(format!("trailseal-vars-{}.tfvars", std::process::id()));
    std::fs::write(
        &vars,
        "encrypt = true\nexternal_key_arn = \"arn:aws:kms:us-east-1:111122223333:key/abc\"\nallow_cloudtrail = true\n",
    )
    .expect("write");
    let file = vars.to_str().expect("utf-8 path");
    let (doc, _) = scan(&[&dir, "--var-file", file]);
    let t = table(&doc);
    assert_eq!(status(&t, "aws_cloudtrail.optional", "TS001"), "pass");
    assert_eq!(status(&t, "aws_cloudtrail.external[0]", "TS001"), "pass");
    assert_eq!(status(&t, "aws_cloudtrail.from_file", "TS006"), "pass");
    // --var comes after the var files.
    let (doc, _) = scan(&[&dir, "--var-file", file, "--var", "encrypt=false"]);
    assert_eq!(
        status(&table(&doc), "aws_cloudtrail.optional", "TS001"),
        "fail"
    );
    let _ = std::fs::remove_file(&vars);
    // A var file that does not exist is a usage error.
    let out = Command::cargo_bin("trailseal")
        .expect("binary")
        .args(["scan", &dir, "--var-file", "/nonexistent/x.tfvars"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--var-file /nonexistent/x.tfvars"));
}

//! The report formats for security teams' tools (OCSF, ASFF, JUnit, CSV, HTML) and the
//! mutelist, on examples/evidence/broken-account.json: every format validated by an independent
//! implementation of its definition (scripts/validators/validate_report.py, in the venv of
//! scripts/setup-validators.sh: ocsf-json-schema + jsonschema, botocore's Security Hub model,
//! the junit-10.xsd with xmlschema, Python's csv module), and small snapshots of one failing
//! finding in each format.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use support::cli::{example, tempdir, trailseal};

const EVIDENCE: &str = "evidence/broken-account.json";

fn validators() -> PathBuf {
    support::validators::dir("junit-10.xsd")
}

fn audit(format: &str, extra: &[&str], out: &Path) -> std::process::Output {
    trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--format",
            format,
            "-o",
        ])
        .arg(out)
        .args(extra)
        .output()
        .expect("run trailseal")
}

fn json_findings(extra: &[&str]) -> Vec<Value> {
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--format",
            "json",
        ])
        .args(extra)
        .output()
        .expect("run trailseal");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    doc["findings"].as_array().expect("findings").clone()
}

fn validate(format: &str, file: &Path, findings: usize, extra: &[&str]) {
    let dir = validators();
    let script = Path::new(&support::cli::root()).join("scripts/validators/validate_report.py");
    let out = Command::new(dir.join("bin/python"))
        .arg(script)
        .args([
            format,
            &file.display().to_string(),
            "--findings",
            &findings.to_string(),
        ])
        .args(extra)
        .env("TRAILSEAL_VALIDATORS_DIR", &dir)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "{format} is not valid:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_format_is_valid_by_an_independent_validator() {
    let dir = tempdir();
    let count = json_findings(&[]).len();
    assert!(count > 100);
    for format in ["ocsf", "ocsf-jsonl", "asff", "junit", "csv"] {
        let file = dir.path().join(format!("report.{format}"));
        let out = audit(format, &[], &file);
        // The example has failures: exit 1, in every format.
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        validate(format, &file, count, &[]);
    }
    // CSV read back and compared with the JSON report, field by field.
    let json = dir.path().join("report.json");
    audit("json", &[], &json);
    validate(
        "csv",
        &dir.path().join("report.csv"),
        count,
        &["--against", &json.display().to_string()],
    );
}

/// The failing TS006 finding of the trail whose key policy is the AWS default, in each format
/// (times redacted): what a reviewer checks the mapping on.
#[test]
fn one_failing_finding_in_each_format() {
    let dir = tempdir();
    let trail = "arn:aws:cloudtrail:us-east-1:111122223333:trail/default-policy";
    let read = |format: &str| {
        let file = dir.path().join(format!("r.{format}"));
        audit(format, &[], &file);
        std::fs::read_to_string(&file).expect("read the report")
    };
    let pick = |objects: Value, matches: &dyn Fn(&Value) -> bool| -> Value {
        objects
            .as_array()
            .expect("an array")
            .iter()
            .find(|o| matches(o))
            .cloned()
            .expect("the finding")
    };
    let mut ocsf = pick(serde_json::from_str(&read("ocsf")).expect("JSON"), &|o| {
        o["resources"][0]["uid"] == trail && o["metadata"]["event_code"] == "TS006"
    });
    ocsf["time"] = Value::from("[time]");
    ocsf["finding_info"]["created_time"] = Value::from("[time]");
    ocsf["unmapped"]["evidence"] = Value::from("[the check's evaluation, as in --format json]");
    insta::assert_json_snapshot!("ocsf_ts006", ocsf);

    let mut asff = pick(serde_json::from_str(&read("asff")).expect("JSON"), &|o| {
        o["Resources"][0]["Id"] == trail && o["GeneratorId"] == "TS006"
    });
    for key in ["CreatedAt", "UpdatedAt"] {
        asff[key] = Value::from("[time]");
    }
    insta::assert_json_snapshot!("asff_ts006", asff);

    let csv = read("csv");
    let rows: Vec<&str> = csv.split("\r\n").collect();
    let row = rows
        .iter()
        .find(|r| r.contains(trail) && r.contains(",TS006,"))
        .expect("the CSV row");
    insta::assert_snapshot!("csv_ts006", format!("{}\n{row}", rows[0]));

    let junit = read("junit");
    let opening = format!("<testcase name=\"{trail} ");
    let start = junit
        .match_indices(&opening)
        .map(|(i, _)| i)
        .find(|&i| {
            junit[i..]
                .lines()
                .next()
                .is_some_and(|l| l.contains("classname=\"TS006 "))
        })
        .expect("the test case");
    let end = start + junit[start..].find("</testcase>").expect("its end") + "</testcase>".len();
    insta::assert_snapshot!("junit_ts006", &junit[start..end]);

    let html = read("html");
    let opening = "<article class=\"finding fail\" data-status=\"fail\" data-severity=\"critical\" data-check=\"TS006\"";
    let start = html
        .match_indices(opening)
        .map(|(i, _)| i)
        .find(|&i| {
            html[..i]
                .rfind("<section class=\"resource\">")
                .is_some_and(|s| html[s..i].contains(&format!("<h2>{trail}")))
        })
        .expect("the HTML article");
    let end = start + html[start..].find("</article>").expect("its end") + "</article>".len();
    insta::assert_snapshot!("html_ts006", &html[start..end]);
}

#[test]
fn html_is_one_self_contained_page() {
    let dir = tempdir();
    let file = dir.path().join("report.html");
    let out = audit("html", &[], &file);
    assert_eq!(out.status.code(), Some(1));
    let html = std::fs::read_to_string(&file).expect("read");
    assert!(html.starts_with("<!DOCTYPE html>"));
    // Nothing from the network: no external scripts, styles, images or fonts.
    for needle in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
        assert!(!html.contains(needle), "{needle}");
    }
    // Every finding is there, with its filter attributes.
    assert_eq!(
        html.matches("<article class=\"finding").count(),
        json_findings(&[]).len()
    );
    assert!(html.contains("data-status=\"fail\" data-severity=\"critical\" data-check=\"TS006\""));
    // A resource name is text, never markup.
    assert!(!html.contains("<script>alert"));
}

/// The HTML report in a real browser (Debian's chromium through playwright-core): no console
/// error, no network request, every filter shows exactly the findings it names, nothing
/// scrolls sideways on a phone. Screenshots at phone and desktop widths are kept in
/// `$CARGO_TARGET_DIR/trailseal-artifacts/html/` (look at them).
#[test]
fn html_works_in_a_browser_at_phone_and_desktop_widths() {
    let dir = tempdir();
    let file = dir.path().join("report.html");
    audit("html", &[], &file);
    let validators = validators();
    assert!(
        validators
            .join("node/node_modules/playwright-core")
            .exists(),
        "playwright-core is not installed: run scripts/setup-validators.sh"
    );
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "no chromium at {chromium}: install it (Debian: apt-get install chromium) or set CHROMIUM"
    );
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(&support::cli::root()).join("target"));
    let shots = target.join("trailseal-artifacts/html");
    let script = Path::new(&support::cli::root()).join("scripts/validators/html_check.cjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&file)
        .arg(&shots)
        .env("TRAILSEAL_VALIDATORS_DIR", &validators)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for name in ["phone", "desktop"] {
        assert!(shots.join(format!("report-{name}.png")).exists());
    }
    eprintln!("screenshots: {}", shots.display());
}

#[test]
fn asff_needs_an_account_so_scan_refuses_it() {
    let out = trailseal()
        .args(["scan", &example("iac"), "--format", "asff"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trailseal audit"));
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

#[test]
fn the_mutelist_mutes_with_a_reason_and_never_fails_the_run() {
    let dir = tempdir();
    // Every problem of the example accepted, but with a reason; one entry expired, one that
    // matches nothing.
    let list = write(
        dir.path(),
        "mutelist.yaml",
        "mutes:\n  - reason: \"accepted for the test\"\n    expires: 2999-12-31\n  - checks: [TS011]\n    reason: expired\n    expires: 2020-01-01\n  - resources: [\"arn:aws:cloudtrail:*:*:trail/none-such\"]\n    reason: nothing\n",
    );
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--format",
            "json",
            "--mutelist",
        ])
        .arg(&list)
        .output()
        .expect("run");
    // Everything is muted: nothing fails the run.
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let findings = doc["findings"].as_array().expect("findings");
    let muted: Vec<&Value> = findings.iter().filter(|f| f["status"] == "muted").collect();
    assert!(!muted.is_empty());
    assert!(muted
        .iter()
        .all(|f| f["muted_reason"] == "accepted for the test"
            && f["muted_status"]
                .as_str()
                .is_some_and(|s| ["fail", "error", "indeterminate"].contains(&s))));
    // Never dropped: the same findings as without the mutelist.
    assert_eq!(findings.len(), json_findings(&[]).len());
    assert_eq!(doc["summary"]["muted"].as_u64(), Some(muted.len() as u64));
    // A muted TS00x does not make a trail compliant.
    assert!(doc["trails"]
        .as_array()
        .expect("trails")
        .iter()
        .any(|t| t["compliant"] == false));
    assert_eq!(doc["input"]["mutelist"][1]["expired"], true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("expired on 2020-01-01"), "{stderr}");
    assert!(stderr.contains("matched no finding"), "{stderr}");

    // Text says MUTED with the reason; SARIF marks them suppressed.
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--no-color",
            "--mutelist",
        ])
        .arg(&list)
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("MUTED") && text.contains("muted: accepted for the test"),
        "{text}"
    );
    assert!(text.contains("muted (accepted in the mutelist"), "{text}");
    let out = trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--format",
            "sarif",
            "--mutelist",
        ])
        .arg(&list)
        .output()
        .expect("run");
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("SARIF");
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert!(results
        .iter()
        .all(|r| r["suppressions"][0]["kind"] == "external"));
}

#[test]
fn a_bad_mutelist_is_a_usage_error_naming_the_line() {
    let dir = tempdir();
    for (text, expected) in [
        (
            "mutes:\n  - checks: [TS011]\n",
            "line 2: an entry without `reason`",
        ),
        (
            "mutes:\n  - checks: [TS099]\n    reason: x\n",
            "line 2: checks: unknown check code",
        ),
        (
            "mutes:\n  - reason: x\n    expires: 2027-02-30\n",
            "line 3: `expires`",
        ),
        ("mutes:\n  - reason: [\n", "not YAML"),
    ] {
        let list = write(dir.path(), "bad.yaml", text);
        let out = trailseal()
            .args(["audit", "--evidence", &example(EVIDENCE), "--mutelist"])
            .arg(&list)
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected) && stderr.contains("bad.yaml"),
            "{text}: {stderr}"
        );
    }
    // scan takes the same file.
    let list = write(
        dir.path(),
        "scan.yaml",
        "mutes:\n  - checks: [\"TS0*\"]\n    reason: accepted\n",
    );
    let out = trailseal()
        .args(["scan", &example("iac"), "--format", "json", "--mutelist"])
        .arg(&list)
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["status"] == "muted"));
}

/// One run, several formats: `--output-dir DIR --output-formats ...`, file names with the
/// account and the time; the mutelist applied once (the same counts in every file).
#[test]
fn several_formats_from_one_run() {
    let dir = tempdir();
    let list = write(
        dir.path(),
        "m.yaml",
        "mutes:\n  - checks: [TS011]\n    reason: rotation is handled elsewhere\n",
    );
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).expect("mkdir");
    let out = trailseal()
        .args(["audit", "--evidence", &example(EVIDENCE), "--output-dir"])
        .arg(&reports)
        .args([
            "--output-formats",
            "json,html,csv,junit,ocsf,sarif,text",
            "--mutelist",
        ])
        .arg(&list)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut names: Vec<String> = std::fs::read_dir(&reports)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    assert!(
        names
            .iter()
            .all(|n| n.starts_with("trailseal-111122223333-2")),
        "{names:?}"
    );
    for ext in [
        ".json",
        ".html",
        ".csv",
        ".junit.xml",
        ".ocsf.json",
        ".sarif",
        ".txt",
    ] {
        assert!(names.iter().any(|n| n.ends_with(ext)), "{ext}: {names:?}");
    }
    let path = |ext: &str| reports.join(names.iter().find(|n| n.ends_with(ext)).expect(ext));
    let json_name = names
        .iter()
        .find(|n| n.ends_with(".json") && !n.ends_with(".ocsf.json"))
        .expect("the JSON report");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join(json_name)).expect("read"))
            .expect("JSON");
    let muted = json["summary"]["muted"].as_u64().expect("muted count");
    assert!(muted > 0);
    // The mutelist was applied once: its count is the findings muted, not a multiple.
    assert_eq!(json["input"]["mutelist"][0]["muted"].as_u64(), Some(muted));
    let csv = std::fs::read_to_string(path(".csv")).expect("csv");
    assert_eq!(csv.matches(",muted,").count() as u64, muted);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("trailseal: wrote ").count(), 7, "{stderr}");
}

/// Review findings: re-running into the same `-o` file works in every format; a mutelist never
/// turns unreadable input into a pass; merge's own mutelist decides over the reports' mutes.
#[test]
fn reruns_unreadable_input_and_merge_mutes() {
    let dir = tempdir();
    for format in [
        "csv",
        "junit",
        "ocsf",
        "ocsf-jsonl",
        "asff",
        "html",
        "jsonl",
    ] {
        let file = dir.path().join(format!("again.{format}"));
        for _ in 0..2 {
            let out = audit(format, &[], &file);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    // A template that cannot be parsed stays exit 2, muted or not.
    let iac = dir.path().join("iac");
    std::fs::create_dir(&iac).expect("mkdir");
    std::fs::write(
        iac.join("broken.yaml"),
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources: [\n",
    )
    .expect("write");
    let list = write(dir.path(), "all.yaml", "mutes:\n  - reason: everything\n");
    let out = trailseal()
        .args(["scan"])
        .arg(&iac)
        .args(["--mutelist"])
        .arg(&list)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A nested stack may hold a trail: no trail found is not "nothing to check".
    let nested = dir.path().join("nested");
    std::fs::create_dir(&nested).expect("mkdir");
    std::fs::write(
        nested.join("root.yaml"),
        "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  Logging:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n      TemplateURL: https://example.invalid/logging.yaml\n",
    )
    .expect("write");
    let out = trailseal().arg("scan").arg(&nested).output().expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nested stack"));

    // Only a real macro or nested stack counts: SAM's own transform, a comment, a resource
    // type whose name holds "Transform" do not.
    for (name, text) in [
        (
            "sam.yaml",
            "AWSTemplateFormatVersion: \"2010-09-09\"\nTransform: AWS::Serverless-2016-10-31\nResources:\n  Fn:\n    Type: AWS::Serverless::Function\n",
        ),
        (
            "glue.yaml",
            "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n  T:\n    Type: AWS::Glue::MLTransform\n",
        ),
        (
            "main.tf",
            "# Transform the bucket names\nresource \"aws_s3_bucket\" \"b\" {\n  bucket = \"b\"\n}\n",
        ),
    ] {
        let d = dir.path().join(name.replace('.', "-"));
        std::fs::create_dir(&d).expect("mkdir");
        std::fs::write(d.join(name), text).expect("write");
        let out = trailseal().arg("scan").arg(&d).output().expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // -o never writes over a file the scan reads.
        let out = trailseal()
            .arg("scan")
            .arg(&d)
            .arg("-o")
            .arg(d.join(name))
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{name}");
        assert_eq!(std::fs::read_to_string(d.join(name)).expect("read"), text);
    }

    // A report written with a mutelist, merged with one whose entry has expired: not muted.
    let shard = dir.path().join("muted.json");
    let mute = write(
        dir.path(),
        "m.yaml",
        "mutes:\n  - checks: [TS001]\n    reason: accepted\n",
    );
    trailseal()
        .args([
            "audit",
            "--evidence",
            &example(EVIDENCE),
            "--format",
            "json",
            "-o",
        ])
        .arg(&shard)
        .arg("--mutelist")
        .arg(&mute)
        .output()
        .expect("run");
    let expired = write(
        dir.path(),
        "expired.yaml",
        "mutes:\n  - checks: [TS001]\n    reason: accepted\n    expires: 2020-01-01\n",
    );
    let out = trailseal()
        .args(["merge", "--format", "json", "--mutelist"])
        .arg(&expired)
        .arg(&shard)
        .output()
        .expect("run");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(doc["summary"].get("muted").is_none(), "{}", doc["summary"]);
}

//! Helpers of the CLI tests that run the binary on files (no emulator).

use assert_cmd::Command;
use serde_json::Value;

pub fn root() -> String {
    format!("{}/../..", env!("CARGO_MANIFEST_DIR"))
}

pub fn example(path: &str) -> String {
    format!("{}/examples/{path}", root())
}

pub fn trailseal() -> Command {
    let mut cmd = Command::cargo_bin("trailseal").expect("the binary");
    cmd.env_remove("NO_COLOR");
    cmd
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// The `field` of every item of the array `list` of a command's JSON output.
pub fn json_fields(stdout: &[u8], list: &str, field: &str) -> Vec<String> {
    let doc: Value = serde_json::from_slice(stdout).expect("JSON on stdout");
    doc[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} in {doc}"))
        .iter()
        .filter_map(|item| item[field].as_str().map(str::to_owned))
        .collect()
}

pub fn scan_json(dir: &std::path::Path) -> Value {
    let out = trailseal()
        .args(["scan", "--format", "json"])
        .arg(dir)
        .output()
        .expect("runs");
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// Scans `dir` and asserts the status of `code` on `resource`.
pub fn assert_scanned_status(dir: &std::path::Path, resource: &str, code: &str, status: &str) {
    let doc = scan_json(dir);
    assert_eq!(finding(&doc, resource, code)["status"], status, "{doc}");
}

pub fn finding<'a>(doc: &'a Value, resource: &str, code: &str) -> &'a Value {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"] == resource && f["code"] == code)
        .unwrap_or_else(|| panic!("{code} of {resource} in {doc}"))
}

/// The rendered statement in a fix: from its first line "{" (HCL) or "- " (YAML) to the line
/// before "(an item of ...".
pub fn suggested(remediation: &str, first: &str) -> String {
    let start = remediation
        .find(first)
        .unwrap_or_else(|| panic!("{first:?} in {remediation}"));
    let end = remediation
        .find("\n(an item of")
        .unwrap_or_else(|| panic!("the end of the statement in {remediation}"));
    remediation[start..end].to_owned()
}

pub const TF_KEY_AND_TRAIL: &str = r#"
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

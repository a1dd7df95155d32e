//! Helpers shared by the IaC tests: a Terraform module written to a temporary directory, the
//! plan-shaped document and evidence it gives, and the checks' statuses on a scan.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use trailseal_iac::terraform::{plan_document, scan_module, TfVars};
use trailseal_iac::{IacScan, IAC_CODES};
use trailseal_model::Status;

/// Writes `files` (paths relative to the root module; `policies/x.tpl` in subdirectories)
/// into a temporary directory; the root module's files are the ones not in a subdirectory.
pub fn module(files: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut tf = Vec::new();
    for (name, text) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&path, text).expect("write");
        if !name.contains('/') && (name.ends_with(".tf") || name.ends_with(".tf.json")) {
            tf.push(path);
        }
    }
    (dir, tf)
}

/// `--var NAME=VALUE` settings.
pub fn vars(values: &[(&str, &str)]) -> TfVars {
    TfVars {
        values: values
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        files: Vec::new(),
    }
}

/// The scan of a module with `--var` settings.
pub fn scan_with(files: &[(&str, &str)], values: &[(&str, &str)]) -> IacScan {
    let (dir, tf) = module(files);
    scan_module(dir.path(), &tf, &vars(values))
}

/// The scan of a one-file module.
pub fn hcl(main: &str) -> IacScan {
    scan_with(&[("main.tf", main)], &[])
}

/// The plan-shaped document of a module with `--var` settings.
pub fn plan_with(files: &[(&str, &str)], values: &[(&str, &str)]) -> Value {
    let (dir, tf) = module(files);
    plan_document(dir.path(), &tf, &vars(values))
}

/// (resource, code) -> (status, message) of the checks on a scan, as `trailseal scan` reports
/// them.
pub fn findings(scan: &IacScan) -> HashMap<(String, String), (Status, String)> {
    let findings = trailseal_checks::evaluate_account(&scan.account, IAC_CODES);
    scan.localize(findings)
        .into_iter()
        .map(|f| ((f.resource, f.code), (f.status, f.message)))
        .collect()
}

/// The status of `code` on `resource` (panics, listing every finding, when there is none).
pub fn status(scan: &IacScan, resource: &str, code: &str) -> Status {
    let all = findings(scan);
    match all.get(&(resource.to_owned(), code.to_owned())) {
        Some((s, _)) => *s,
        None => panic!("no {code} finding on {resource}: {all:#?}"),
    }
}

/// The known value of an attribute of an instance in a plan-shaped document (None when absent
/// or unknown).
pub fn value<'a>(doc: &'a Value, address: &str, attr: &str) -> Option<&'a Value> {
    doc["planned_values"]["root_module"]["resources"]
        .as_array()?
        .iter()
        .find(|r| r["address"] == address)?
        .get("values")?
        .get(attr)
}

/// The reason an attribute of an instance is unknown (None when it is not).
pub fn unknown<'a>(doc: &'a Value, address: &str, attr: &str) -> Option<&'a str> {
    doc["resource_changes"]
        .as_array()?
        .iter()
        .find(|r| r["address"] == address)?
        .pointer(&format!("/change/after_unknown/{attr}"))?
        .as_str()
}

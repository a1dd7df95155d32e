//! Helpers shared by the IaC tests: a Terraform module written to a temporary directory, the
//! plan (`terraform::planned`) and evidence it gives, and the checks' statuses on a scan.
#![allow(dead_code)] // each test binary uses its own subset

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::Value;
use trailseal_iac::terraform::{planned, scan_module, TfVars};
use trailseal_iac::tfplan::{Planned, Res};
use trailseal_iac::IacScan;
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

/// What Terraform would know before apply of a module with `--var` settings.
pub fn plan_with(files: &[(&str, &str)], values: &[(&str, &str)]) -> Planned {
    let (dir, tf) = module(files);
    planned(dir.path(), &tf, &vars(values))
}

/// (resource, code) -> (status, message) of the checks on a scan, as `trailseal scan` reports
/// them.
pub fn findings(scan: &IacScan) -> HashMap<(String, String), (Status, String)> {
    let findings =
        trailseal_checks::evaluate_account(&scan.account, &trailseal_checks::iac_codes());
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

/// The first instance of the resource at `address` (an instance address, or the resource's).
pub fn instance<'a>(doc: &'a Planned, address: &str) -> &'a Res {
    doc.resource(address)
        .or_else(|| {
            doc.resources.iter().find(|r| {
                r.address
                    .strip_prefix(address)
                    .is_some_and(|rest| rest.starts_with('['))
            })
        })
        .unwrap_or_else(|| panic!("no instance of {address}: {doc:#?}"))
}

/// The known value of an attribute of an instance (None when absent or unknown).
pub fn value<'a>(doc: &'a Planned, address: &str, attr: &str) -> Option<&'a Value> {
    let r = doc.resource(address)?;
    if r.unknown.contains_key(attr) {
        return None;
    }
    r.values.get(attr)
}

/// The reason an attribute of an instance is unknown (None when it is not).
pub fn unknown<'a>(doc: &'a Planned, address: &str, attr: &str) -> Option<&'a str> {
    doc.resource(address)?.unknown.get(attr)?.as_deref()
}

/// The references of an argument of the resource at `address` (any instance).
pub fn references(doc: &Planned, address: &str, attr: &str) -> Vec<String> {
    instance(doc, address)
        .config
        .as_ref()
        .and_then(|c| c.get(attr))
        .cloned()
        .unwrap_or_default()
}

/// The instance addresses, in order.
pub fn addresses(doc: &Planned) -> Vec<String> {
    doc.resources.iter().map(|r| r.address.clone()).collect()
}

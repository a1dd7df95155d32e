//! The catalogue has one home (this crate's registry): docs/checks.md is generated from it, and
//! no other crate writes a check's name, severity or code list of its own.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// docs/checks.md as the registry gives it.
fn checks_md() -> String {
    let mut out = String::from(
        "# The check catalogue\n\n\
         Generated from the registry in `crates/trailseal-checks` (the test \
         `docs_checks_md_is_generated_from_the_registry` fails when this file differs; run it with \
         `TRAILSEAL_UPDATE_DOCS=1` to rewrite it). `trailseal explain CODE` prints each check's \
         documentation; `trailseal explain --format json` prints this catalogue for tools.\n\n\
         A trail is **compliant** when every check marked *compliant* passes: TS001-TS006, the \
         encryption control itself. The other checks are reported beside it.\n\n\
         | code | name | severity | applies to | compliant | what fails |\n\
         | --- | --- | --- | --- | --- | --- |\n",
    );
    for i in trailseal_checks::catalogue() {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            i.code,
            i.name,
            i.severity.as_str(),
            i.applies.names().join(", "),
            if i.compliant { "yes" } else { "" },
            i.title
        );
    }
    out += "\nWhere a check applies: `live` = `trailseal audit` against AWS, `evidence` = \
            `trailseal audit --evidence FILE`, `iac` = `trailseal scan` (CloudFormation, \
            Terraform HCL and plan JSON).\n\n## Compliance references\n\n";
    for i in trailseal_checks::catalogue().filter(|i| !i.compliance.is_empty()) {
        out += &format!("- **{}**: {}\n", i.code, i.compliance.join(", "));
    }
    out
}

#[test]
fn docs_checks_md_is_generated_from_the_registry() {
    let path = workspace().join("docs/checks.md");
    let want = checks_md();
    if std::env::var_os("TRAILSEAL_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &want).expect("write docs/checks.md");
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        have, want,
        "docs/checks.md is stale: rerun with TRAILSEAL_UPDATE_DOCS=1"
    );
}

#[test]
fn every_code_is_listed_once_in_order_with_its_doc_header() {
    let codes: Vec<&str> = trailseal_checks::catalogue().map(|i| i.code).collect();
    assert_eq!(codes.first(), Some(&"TS000"));
    assert!(codes.len() >= 14, "{codes:?}");
    let mut sorted = codes.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted, codes, "codes are unique and in order");
    for i in trailseal_checks::catalogue() {
        let header = format!("{} {} ({})", i.code, i.name, i.severity.as_str());
        assert!(
            i.doc().starts_with(&header),
            "{}: the doc starts with {header:?}",
            i.code
        );
        assert!(
            !i.summary().is_empty(),
            "{}: the doc has a first section",
            i.code
        );
        assert!(
            i.applies.live || i.applies.evidence || i.applies.iac,
            "{} applies somewhere",
            i.code
        );
    }
    assert_eq!(
        trailseal_checks::compliant_codes(),
        vec!["TS001", "TS002", "TS003", "TS004", "TS005", "TS006"]
    );
    // CIS ids carry the benchmark version (the number moved between versions).
    for i in trailseal_checks::catalogue() {
        for id in i.compliance.iter().filter(|id| id.starts_with("CIS-")) {
            assert!(
                id.starts_with("CIS-AWS-v"),
                "{}: {id} has no version",
                i.code
            );
        }
    }
}

/// Every `.rs` file under `crates/*/src` outside this crate.
fn other_sources() -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let mut stack = vec![workspace().join("crates")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read crates/").flatten() {
            let path = entry.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if name != "trailseal-checks" && name != "tests" && name != "target" {
                    stack.push(path);
                }
            } else if name.ends_with(".rs") && path.components().any(|c| c.as_os_str() == "src") {
                let text = std::fs::read_to_string(&path).expect("read source");
                out.push((path, text));
            }
        }
    }
    assert!(out.len() > 20, "found the other crates' sources");
    out
}

#[test]
fn no_other_crate_spells_a_checks_name_or_severity() {
    let sources = other_sources();
    for i in trailseal_checks::catalogue() {
        let name = format!("\"{}\"", i.name);
        for (path, text) in &sources {
            assert!(
                !text.contains(&name),
                "{} writes {}'s name {name}: ask trailseal_checks::info(\"{}\")",
                path.display(),
                i.code,
                i.code
            );
        }
    }
    for (path, text) in &sources {
        // A finding built outside the catalogue (code, name and severity written by hand).
        assert!(
            !(text.contains("code: \"TS") || text.contains("\"id\": \"TS")),
            "{} builds a check's entry by hand",
            path.display()
        );
        // The compliant set and the IaC set are the registry's.
        assert!(
            !text.contains("\"TS001\", \"TS002\", \"TS003\", \"TS004\", \"TS005\", \"TS006\"]"),
            "{} lists the compliant codes by hand: trailseal_checks::compliant_codes()",
            path.display()
        );
    }
}

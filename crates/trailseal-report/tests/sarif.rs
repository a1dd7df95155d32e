//! The SARIF output validates against the official SARIF 2.1.0 JSON schema (vendored from the
//! OASIS sarif-spec repository: tests/sarif-schema-2.1.0.json).

mod common;
use common::findings;

use serde_json::Value;
use trailseal_report::sarif_report;

fn schema() -> Value {
    serde_json::from_str(include_str!("sarif-schema-2.1.0.json")).expect("schema JSON")
}

#[test]
fn sarif_is_valid_against_the_2_1_0_schema() {
    let doc = sarif_report(&findings(), "0.1.0");
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(!results.is_empty());
    // Failures only (and undecided/suppressed ones), each pointing at a rule of the catalogue.
    let rules = doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules");
    for r in results {
        let i = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[i]["id"], r["ruleId"]);
        assert_ne!(r["properties"]["status"], "pass");
    }
    let suppressed = results
        .iter()
        .find(|r| r["suppressions"].is_array())
        .expect("the suppressed finding");
    assert_eq!(
        suppressed["locations"][0]["physicalLocation"]["region"]["startLine"],
        12
    );
}

#[test]
fn an_invalid_document_is_rejected_so_the_validation_is_real() {
    let mut doc = sarif_report(&findings(), "0.1.0");
    doc["runs"][0]["results"][0]["kind"] = Value::from("not-a-kind");
    let validator = jsonschema::draft7::new(&schema()).expect("schema compiles");
    assert!(!validator.is_valid(&doc));
}

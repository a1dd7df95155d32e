//! The streamed reports (`trailseal scan` writes findings unit by unit) are byte for byte the
//! documents rendered from all findings at once, whatever the units, for every format; the
//! text report keeps its worst-first order across units, also when its blocks go to a
//! temporary file.

mod common;
use common::findings;

use std::collections::BTreeMap;

use trailseal_model::{Finding, Severity, Status};
use trailseal_report::{
    sarif_report, text_report, JsonReport, Renderer, ReportWriter, Style, Tally, TextOptions,
};

/// The findings cut into units of whole resources, in an order unlike the report's.
fn units(findings: &[Finding]) -> Vec<Vec<Finding>> {
    let mut by_resource: BTreeMap<String, Vec<Finding>> = BTreeMap::new();
    for f in findings {
        by_resource
            .entry(f.resource.clone())
            .or_default()
            .push(f.clone());
    }
    let mut resources: Vec<Vec<Finding>> = by_resource.into_values().collect();
    resources.reverse();
    // Units of 1, 2, 3, ... resources, and an empty unit.
    let mut out = vec![Vec::new()];
    let mut size = 1;
    while !resources.is_empty() {
        let take = size.min(resources.len());
        out.push(resources.drain(..take).flatten().collect());
        size += 1;
    }
    out
}

fn streamed(style: Style, units: &[Vec<Finding>], spill: usize) -> (String, Tally) {
    let renderer = Renderer::new(style, "0.1.0");
    let mut out = Vec::new();
    let mut writer = ReportWriter::new(&mut out, &renderer)
        .expect("start")
        .spill_threshold(spill);
    for u in units {
        writer.push(renderer.render(u)).expect("push");
    }
    let input = serde_json::json!({"paths": ["x"], "files": 3});
    let tally = writer.finish(Some(&input), "Header\n\n").expect("finish");
    (String::from_utf8(out).expect("UTF-8"), tally)
}

#[test]
fn streamed_json_is_the_json_report() {
    let units = units(&findings());
    // Findings in the order of the units.
    let all: Vec<Finding> = units.concat();
    let input = serde_json::json!({"paths": ["x"], "files": 3});
    let expected = JsonReport::new(&all, "0.1.0", Some(input))
        .to_string_pretty()
        .expect("json");
    let (got, tally) = streamed(Style::Json, &units, 1 << 20);
    assert_eq!(got, expected);
    assert_eq!(tally, Tally::of(&all));
    // The live audit's trails are in it.
    assert!(!tally.verdicts.is_empty());
    serde_json::from_str::<serde_json::Value>(&got).expect("valid JSON");
}

#[test]
fn streamed_json_without_findings() {
    let input = serde_json::json!({"paths": ["x"], "files": 3});
    let expected = JsonReport::new(&[], "0.1.0", Some(input))
        .to_string_pretty()
        .expect("json");
    let (got, tally) = streamed(Style::Json, &[Vec::new(), Vec::new()], 1 << 20);
    assert_eq!(got, expected);
    assert!(got.contains("\"findings\": [],"));
    assert_eq!(tally.exit_code(Some(Severity::Info)), 2);
}

#[test]
fn streamed_sarif_is_the_sarif_report() {
    let units = units(&findings());
    let all: Vec<Finding> = units.concat();
    let expected =
        serde_json::to_string_pretty(&sarif_report(&all, "0.1.0")).expect("sarif") + "\n";
    let (got, _) = streamed(Style::Sarif, &units, 1 << 20);
    assert_eq!(got, expected);
}

#[test]
fn streamed_text_is_the_text_report_in_memory_and_spilled() {
    let all = findings();
    for verbose in [false, true] {
        let opts = TextOptions {
            color: false,
            verbose,
            compact: true,
            snippets: false,
            quiet: false,
            by_account: false,
        };
        let expected = format!("Header\n\n{}", text_report(&all, opts));
        // 64 bytes: nearly every block goes to the temporary file.
        for spill in [1 << 20, 64, 0] {
            let (got, _) = streamed(Style::Text(opts), &units(&all), spill);
            assert_eq!(got, expected, "verbose {verbose}, spill at {spill}");
        }
    }
}

#[test]
fn tally_exit_codes() {
    let all = findings();
    let t = Tally::of(&all);
    assert_eq!(t.exit_code(Some(Severity::Info)), 1);
    assert_eq!(t.worst_problem, Some(Severity::Critical));
    assert_eq!(t.exit_code(Some(Severity::Critical)), 1);
    let passes: Vec<Finding> = all
        .iter()
        .filter(|f| f.status == Status::Pass)
        .cloned()
        .collect();
    assert_eq!(Tally::of(&passes).exit_code(Some(Severity::Info)), 0);
    let errors: Vec<Finding> = all
        .iter()
        .filter(|f| f.status == Status::Error)
        .cloned()
        .collect();
    assert!(!errors.is_empty());
    assert_eq!(Tally::of(&errors).exit_code(Some(Severity::Info)), 2);
    // Adding up units gives the tally of the whole.
    let mut sum = Tally::default();
    for u in units(&all) {
        sum.add(Tally::of(&u));
    }
    assert_eq!(sum.summary, t.summary);
    assert_eq!(sum.worst_problem, t.worst_problem);
    assert_eq!(sum.findings, all.len());
    assert_eq!(sum.problems_by_severity, t.problems_by_severity);
    // Report only: findings never fail the run...
    assert_eq!(t.exit_code(None), 0);
    // ...but input that could not be read always does, whatever the threshold.
    let mut with_unreadable = passes.clone();
    with_unreadable.push(trailseal_checks::input_finding(
        "main.tf",
        "main.tf",
        1,
        1,
        "cannot parse",
        true,
    ));
    let u = Tally::of(&with_unreadable);
    assert!(u.unreadable_input);
    for threshold in [None, Some(Severity::Critical), Some(Severity::Info)] {
        assert_eq!(u.exit_code(threshold), 2);
    }
}

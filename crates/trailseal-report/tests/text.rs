//! The text report's grouping: the same problem in several Regions is one block, and each
//! check's "why" is printed once.

mod common;

use trailseal_model::{Finding, Status};
use trailseal_report::{text_report, TextOptions};

fn opts() -> TextOptions {
    TextOptions {
        color: false,
        verbose: false,
        compact: true,
        snippets: false,
        quiet: false,
        by_account: false,
    }
}

/// The Lake call failing alike in three Regions (as on the emulator), and differently in a
/// fourth.
fn lake_errors() -> Vec<Finding> {
    let template = common::findings()
        .into_iter()
        .find(|f| f.code == "TS013" && f.status == Status::Error)
        .expect("a TS013 error in the fixture");
    let region = template.region.clone();
    let mut out = Vec::new();
    for (r, message) in [
        ("us-east-1", None),
        ("eu-west-1", None),
        ("ap-southeast-2", None),
        ("sa-east-1", Some("could not list: AccessDeniedException")),
    ] {
        let mut f = template.clone();
        f.resource = f.resource.replace(&region, r);
        f.message = message.map_or_else(|| f.message.replace(&region, r), str::to_owned);
        f.remediation = f.remediation.replace(&region, r);
        f.region = r.to_owned();
        out.push(f);
    }
    out
}

#[test]
fn the_same_problem_in_several_regions_is_one_block() {
    let text = text_report(&lake_errors(), opts());
    assert!(
        text.contains("3 Regions (ap-southeast-2, eu-west-1, us-east-1)"),
        "{text}"
    );
    // The different one keeps its own block; no Region is lost.
    assert!(text.contains("sa-east-1"), "{text}");
    assert_eq!(text.matches("ERROR TS013").count(), 2, "{text}");
    // The summary still counts every finding.
    assert!(text.contains("4 error"), "{text}");
}

#[test]
fn each_checks_why_is_printed_once() {
    let text = text_report(&common::findings(), opts());
    let whys: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("why: "))
        .collect();
    assert!(!whys.is_empty());
    let mut unique = whys.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), whys.len(), "{whys:#?}");
}

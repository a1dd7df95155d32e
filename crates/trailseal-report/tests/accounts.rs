//! Account verdicts of reports of several accounts (organization audits, merges).

use serde_json::json;
use trailseal_model::{Finding, Severity, Status};
use trailseal_report::Tally;

fn coverage(status: Status, account_error: bool) -> Finding {
    Finding {
        code: "TS012".into(),
        name: trailseal_checks::info("TS012")
            .map_or("", |i| i.name)
            .into(),
        status,
        severity: Severity::High,
        account: "111122223333".into(),
        region: if account_error {
            String::new()
        } else {
            "us-east-1".into()
        },
        resource: "arn:aws:cloudtrail:us-east-1:111122223333:".into(),
        message: String::new(),
        remediation: String::new(),
        evidence: if account_error {
            json!({"account_error": "could not assume the role"})
        } else {
            json!({"logging_trails": []})
        },
        compliance: vec![],
        file: None,
        line: None,
        column: None,
        muted: None,
    }
}

/// Not readable in one report: not decided; but a known failure in another report of the
/// same account (a merge) decides it: not compliant.
#[test]
fn an_unreadable_account_is_not_decided_unless_a_failure_is_known() {
    let alone = Tally::of(&[coverage(Status::Error, true)]).account_verdicts();
    assert_eq!(alone[0].compliant, None);
    let both = Tally::of(&[coverage(Status::Error, true), coverage(Status::Fail, false)])
        .account_verdicts();
    assert_eq!(both[0].compliant, Some(false), "{both:?}");
    let read = Tally::of(&[coverage(Status::Pass, false)]).account_verdicts();
    assert_eq!(read[0].compliant, Some(true));
}

/// An accepted risk does not fail the run, but never makes an account compliant.
#[test]
fn a_muted_coverage_problem_does_not_make_the_account_compliant() {
    let mut muted = coverage(Status::Error, false);
    muted.muted = Some(trailseal_model::Muted {
        status: Status::Error,
        reason: "accepted".into(),
        expires: None,
        entry: 1,
    });
    muted.status = Status::Muted;
    let verdicts = Tally::of(&[muted]).account_verdicts();
    assert_eq!(verdicts[0].compliant, Some(false), "{verdicts:?}");
}

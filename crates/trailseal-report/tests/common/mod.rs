//! The findings the renderer tests use: the whole catalogue on the broken-account evidence
//! fixture, plus an IaC-style finding with a location and an inline suppression.

use trailseal_model::{Evidence, Finding, Status};

pub fn findings() -> Vec<Finding> {
    let text = include_str!("../../../../examples/evidence/broken-account.json");
    let evidence: Evidence = serde_json::from_str(text).expect("evidence");
    let mut findings = trailseal_checks::evaluate(&evidence, &[]);
    let mut located = findings[0].clone();
    located.file = Some("infra/template.yaml".into());
    located.line = Some(12);
    located.column = Some(3);
    located.status = Status::Skipped;
    located.message = "suppressed: handled by runbook RB-12 (was: ...)".into();
    findings.push(located);
    findings
}

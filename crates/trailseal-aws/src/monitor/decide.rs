//! From an event and the account's findings to AWS Config evaluations and an SNS
//! notification. Pure: no AWS.
//!
//! A trail is **COMPLIANT** when TS001-TS006 (the control itself) all ran and passed, whatever
//! the threshold, and every other check of at least the configured severity (`fail_on`,
//! default high: TS009, TS014-TS016) passes. Anything else is **NON_COMPLIANT**: a failure, and also `error` or
//! `indeterminate` (AWS Config has no "undecided" for custom rules: PutEvaluations takes only
//! COMPLIANT, NON_COMPLIANT and NOT_APPLICABLE; unknown is never compliant), with the codes in
//! the annotation. A trail that no longer exists is NOT_APPLICABLE, as Config expects for
//! deleted resources.

use serde::Serialize;
use trailseal_model::{AccountEvidence, Finding, Severity, Status, Trail};

use super::event::ApiCall;

/// PutEvaluations' `ComplianceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Compliance {
    #[serde(rename = "COMPLIANT")]
    Compliant,
    #[serde(rename = "NON_COMPLIANT")]
    NonCompliant,
    #[serde(rename = "NOT_APPLICABLE")]
    NotApplicable,
}

/// The longest annotation PutEvaluations takes.
pub const ANNOTATION_MAX: usize = 256;

/// One trail's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    pub compliance: Compliance,
    pub annotation: String,
    /// `CODE status` of every finding that keeps it from COMPLIANT.
    pub problems: Vec<String>,
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max.saturating_sub(3);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &text[..end])
}

/// A verdict of "cannot be decided" (an error reading the account, an event that cannot be
/// matched): never compliant.
pub fn undecided(reason: &str) -> Verdict {
    Verdict {
        compliance: Compliance::NonCompliant,
        annotation: clip(&format!("cannot be decided: {reason}"), ANNOTATION_MAX),
        problems: vec![format!("undecided: {reason}")],
    }
}

/// The verdict on trail `arn` from the account's findings.
/// `compliant`: the control's own checks (`trailseal_checks::compliant_codes()`), which must
/// have run and passed whatever `fail_on` says.
pub fn trail_verdict(
    arn: &str,
    findings: &[Finding],
    fail_on: Severity,
    compliant: &[&str],
) -> Verdict {
    let of: Vec<&Finding> = findings.iter().filter(|f| f.resource == arn).collect();
    let mut problems: Vec<String> = Vec::new();
    let mut first_message: Option<&str> = None;
    for f in &of {
        // The control's own checks must pass (a skipped one did not: TS002-TS006 are skipped
        // when there is no key); the others count from the threshold up.
        let bad = if compliant.contains(&f.code.as_str()) {
            f.status != Status::Pass
        } else {
            f.severity >= fail_on
                && matches!(
                    f.status,
                    Status::Fail | Status::Error | Status::Indeterminate
                )
        };
        if bad {
            problems.push(format!("{} {}", f.code, f.status.as_str()));
            first_message.get_or_insert(&f.message);
        }
    }
    let missing: Vec<&str> = compliant
        .iter()
        .copied()
        .filter(|c| !of.iter().any(|f| f.code == *c))
        .collect();
    if !missing.is_empty() {
        problems.push(format!("not evaluated: {}", missing.join(", ")));
    }
    if problems.is_empty() {
        return Verdict {
            compliance: Compliance::Compliant,
            annotation: clip(
                &format!(
                    "trailseal: every check at or above {} passes",
                    fail_on.as_str()
                ),
                ANNOTATION_MAX,
            ),
            problems,
        };
    }
    let annotation = match first_message {
        Some(m) => format!("{}: {m}", problems.join(", ")),
        None => problems.join(", "),
    };
    Verdict {
        compliance: Compliance::NonCompliant,
        annotation: clip(&annotation, ANNOTATION_MAX),
        problems,
    }
}

/// The account's Regions that are not covered by a logging trail (TS012 not passing), as
/// `REGION: message`.
pub fn uncovered_regions(account: &str, findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.code == "TS012" && f.account == account && f.status != Status::Pass)
        .map(|f| format!("{} ({}): {}", f.region, f.status.as_str(), f.message))
        .collect()
}

/// Finds the trail an event or a configuration item names: by ARN, or by name in `region`.
pub fn find_trail<'a>(
    evidence: &'a AccountEvidence,
    reference: &str,
    region: &str,
) -> Option<&'a Trail> {
    evidence
        .trails
        .iter()
        .find(|t| t.arn == reference)
        .or_else(|| {
            evidence
                .trails
                .iter()
                .find(|t| t.name == reference && t.home_region == region)
        })
}

/// Whether `reference` (a key ARN, or an id, alias name or alias ARN) names `configured` (a
/// trail's `KmsKeyId`, or the key ARN it resolved to).
fn same_key(configured: &str, reference: &str) -> bool {
    configured == reference
        || (!reference.starts_with("arn:")
            && (configured.ends_with(&format!("/{reference}"))
                || configured.ends_with(&format!(":{reference}"))))
}

/// Whether an event names the key a trail uses. CloudTrail names a KMS call's key by its full
/// ARN in the record's `resources`: when it does, that ARN decides (a multi-Region key's
/// replicas share the id, not the ARN); else the request's key id, ARN or alias.
fn names_key(evidence: &AccountEvidence, trail: &Trail, call: &ApiCall) -> bool {
    let Some(configured) = trail.key_id() else {
        return false;
    };
    let resolved = evidence.trail_evidence(trail).key.and_then(|k| k.arn);
    let mut references: Vec<&str> = call.resources.iter().map(String::as_str).collect();
    if references.is_empty() {
        references.extend(call.key.as_deref());
    }
    references.extend(call.alias.as_deref());
    references
        .iter()
        .any(|r| same_key(configured, r) || resolved.as_deref().is_some_and(|a| same_key(a, r)))
}

/// Whether the trail's key could not be read: a KMS call on any key may be about it.
pub fn key_unresolved(evidence: &AccountEvidence, trail: &Trail) -> bool {
    trail.key_id().is_some() && evidence.trail_evidence(trail).key.is_none()
}

/// The trails an API call can have changed: the trail a CloudTrail call names; the trails on
/// the key or alias of a KMS call (and those whose key cannot be read: a key policy that
/// locks the function out looks like that); the trails delivering to the bucket of an S3 call.
pub fn affected_trails<'a>(call: &ApiCall, evidence: &'a AccountEvidence) -> Vec<&'a Trail> {
    match call.event_source.as_str() {
        "cloudtrail.amazonaws.com" => call
            .trail
            .as_deref()
            .and_then(|t| find_trail(evidence, t, &call.region))
            .into_iter()
            .collect(),
        "s3.amazonaws.com" => evidence
            .trails
            .iter()
            .filter(|t| {
                call.bucket.is_some()
                    && (t.s3_bucket_name.known() == call.bucket.as_ref()
                        || !t.s3_bucket_name.is_known())
            })
            .collect(),
        _ => evidence
            .trails
            .iter()
            .filter(|t| names_key(evidence, t, call) || key_unresolved(evidence, t))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(code: &str, status: Status, severity: Severity) -> Finding {
        Finding {
            code: code.into(),
            name: String::new(),
            status,
            severity,
            account: "111122223333".into(),
            region: "us-east-1".into(),
            resource: "arn:t".into(),
            message: format!("{code} says so"),
            remediation: String::new(),
            evidence: serde_json::Value::Null,
            compliance: Vec::new(),
            file: None,
            line: None,
            column: None,
            muted: None,
        }
    }

    /// The verdict on the test trail with the catalogue's control checks.
    fn verdict(findings: &[Finding], fail_on: Severity) -> Verdict {
        trail_verdict(
            "arn:t",
            findings,
            fail_on,
            &trailseal_checks::compliant_codes(),
        )
    }

    fn all_pass() -> Vec<Finding> {
        trailseal_checks::compliant_codes()
            .iter()
            .map(|c| finding(c, Status::Pass, Severity::High))
            .collect()
    }

    #[test]
    fn compliant_only_when_every_check_at_the_threshold_passes_and_all_six_ran() {
        let v = verdict(&all_pass(), Severity::High);
        assert_eq!(v.compliance, Compliance::Compliant);
        // A medium failure is below the threshold.
        let mut f = all_pass();
        f.push(finding("TS010", Status::Fail, Severity::Medium));
        assert_eq!(
            verdict(&f, Severity::High).compliance,
            Compliance::Compliant
        );
        assert_eq!(
            verdict(&f, Severity::Medium).compliance,
            Compliance::NonCompliant
        );
        // Undecided is never compliant.
        let mut f = all_pass();
        f[5].status = Status::Indeterminate;
        let v = verdict(&f, Severity::High);
        assert_eq!(v.compliance, Compliance::NonCompliant);
        assert!(
            v.annotation
                .starts_with("TS006 indeterminate: TS006 says so"),
            "{}",
            v.annotation
        );
        // A check left out is not a pass.
        let f = all_pass()[..5].to_vec();
        let v = verdict(&f, Severity::High);
        assert_eq!(v.compliance, Compliance::NonCompliant);
        assert!(
            v.annotation.contains("not evaluated: TS006"),
            "{}",
            v.annotation
        );
        // The control's own checks count at any threshold: an unencrypted trail (TS001 high)
        // is not compliant at `critical`, nor one whose TS004 could not be decided or whose
        // TS002 was skipped.
        for (i, status) in [(0, Status::Fail), (3, Status::Error), (1, Status::Skipped)] {
            let mut f = all_pass();
            f[i].status = status;
            let v = verdict(&f, Severity::Critical);
            assert_eq!(v.compliance, Compliance::NonCompliant, "{i} {status:?}");
        }
        // Another trail's findings say nothing about this one.
        assert_eq!(
            trail_verdict(
                "arn:other",
                &all_pass(),
                Severity::High,
                &trailseal_checks::compliant_codes()
            )
            .compliance,
            Compliance::NonCompliant
        );
    }

    #[test]
    fn annotations_fit_put_evaluations() {
        let mut f = all_pass();
        f[0].status = Status::Fail;
        f[0].message = "é".repeat(400);
        let v = verdict(&f, Severity::High);
        assert!(v.annotation.len() <= ANNOTATION_MAX);
        assert!(v.annotation.ends_with("..."));
        assert!(undecided(&"x".repeat(1000)).annotation.len() <= ANNOTATION_MAX);
    }
}

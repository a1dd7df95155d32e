//! TS007 key-policy-allows-describe (medium)
//!
//! What it checks
//!   The key policy is evaluated for CloudTrail's `kms:DescribeKey` request (principal
//!   `cloudtrail.amazonaws.com`, `aws:SourceArn` = the trail ARN, no encryption context).
//!
//! Why it matters
//!   CloudTrail describes the key when a trail is created or updated to use it; the
//!   documented key policy grants it. Without it, updating the trail's encryption settings
//!   can fail even though log encryption itself would work.
//!
//! Example
//!   A hand-written key policy that grants `kms:GenerateDataKey*` to CloudTrail but not
//!   `kms:DescribeKey`, or one whose DescribeKey statement requires an encryption-context key
//!   (DescribeKey never carries an encryption context, so such a condition is always false).
//!
//! How to fix
//!   Add (merge) the documented statement:
//!     {"Sid": "TrailsealAllowCloudTrailDescribeKey", "Effect": "Allow",
//!      "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:DescribeKey",
//!      "Resource": "*", "Condition": {"StringEquals": {"aws:SourceArn": "<trail ARN>"}}}

use trailseal_model::{Finding, Severity, Status, TrailEvidence};
use trailseal_policy::{evaluate, Decision};

use crate::support::{
    evaluation_evidence, finding, labels, load, near_misses, undecided_because, Loaded,
};
use crate::{Applies, Check, CheckInfo, Runner, CONTROL_COMPLIANCE};

pub(crate) const CHECK: Check = Check {
    info: CheckInfo {
        code: "TS007",
        name: "key-policy-allows-describe",
        severity: Severity::Medium,
        title: "the key policy does not let CloudTrail kms:DescribeKey",
        compliance: CONTROL_COMPLIANCE,
        applies: Applies::EVERYWHERE,
        compliant: false,
        source: include_str!("ts007_key_policy_allows_describe.rs"),
    },
    runner: Runner::Trail(run),
};

fn run(ev: &TrailEvidence) -> Finding {
    let info = &CHECK.info;
    let Loaded {
        policy,
        ctx,
        alternatives,
    } = match load(info, ev) {
        Ok(loaded) => loaded,
        Err(finding) => return *finding,
    };
    let request = ctx.describe_key_request();
    let mut e = evaluate(&policy, &request);
    // Infrastructure as code: the same answer wherever the stack is deployed?
    if e.decision != Decision::Indeterminate {
        if let Some(why) = alternatives.differ(&e.decision, |p, c| {
            evaluate(p, &c.describe_key_request()).decision
        }) {
            e.decision = Decision::Indeterminate;
            e.unknown_keys = vec![why];
        }
    }
    // The statement to add, written out only when the check does not pass (most pass, and a
    // scan evaluates thousands of trails).
    let statement = || serde_json::to_string_pretty(&ctx.describe_statement()).unwrap_or_default();
    // Whether the fix holds the statement (every `add()` ends up in it).
    let added = std::cell::Cell::new(false);
    let add = || {
        added.set(true);
        format!(
            "Add this statement to the key policy (merge; keep the existing statements):\n{}",
            statement()
        )
    };
    let (status, message, remediation) = match e.decision {
        Decision::Allow => (
            Status::Pass,
            format!(
                "CloudTrail may describe the key: allowed by {}",
                labels(&policy, &e.deciding)
            ),
            "Nothing to do.".to_owned(),
        ),
        Decision::ExplicitDeny => (
            Status::Fail,
            format!(
                "CloudTrail may not describe the key: explicitly denied by {}",
                labels(&policy, &e.deciding)
            ),
            format!(
                "Exclude cloudtrail.amazonaws.com from {}. {}",
                labels(&policy, &e.deciding),
                add()
            ),
        ),
        Decision::ImplicitDeny => {
            let mut message =
                "CloudTrail may not describe the key: no statement allows kms:DescribeKey"
                    .to_owned();
            for miss in near_misses(&policy, &e) {
                message += &format!("; {miss}");
            }
            (Status::Fail, message, add())
        }
        Decision::Indeterminate => (
            Status::Indeterminate,
            format!(
                "whether CloudTrail may describe the key depends on {} (decided by {}){}",
                e.unknown_keys.join(", "),
                labels(&policy, &e.deciding),
                undecided_because(ev, &e.unknown_keys)
            ),
            add(),
        ),
    };
    // The statement the fix prints, for renderers that write it in another language
    // (infrastructure as code: YAML, HCL).
    let mut evidence = evaluation_evidence(&policy, &request, &e);
    if status != Status::Pass && added.get() {
        evidence["statement_to_add"] = ctx.describe_statement();
    }
    finding(info, ev, status, message, remediation, evidence)
}

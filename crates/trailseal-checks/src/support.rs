//! Helpers shared by the checks: building findings and loading the key policy.

use serde_json::{json, Value};
use trailseal_model::{Finding, Status, TrailEvidence};
use trailseal_policy::{Evaluation, Policy, Request, Statement, TrailContext, Tri};

use crate::{CheckInfo, CONTROL_COMPLIANCE};

pub(crate) fn finding(
    info: &CheckInfo,
    ev: &TrailEvidence,
    status: Status,
    message: String,
    remediation: String,
    evidence: Value,
) -> Finding {
    Finding {
        code: info.code.to_owned(),
        name: info.name.to_owned(),
        status,
        severity: info.severity,
        account: ev.trail.account.clone(),
        region: ev.trail.home_region.clone(),
        resource: ev.trail.arn.clone(),
        message,
        remediation,
        evidence,
        compliance: CONTROL_COMPLIANCE.iter().map(|s| (*s).to_owned()).collect(),
        file: None,
        line: None,
    }
}

/// The parsed key policy and the trail's request context, or the finding that says why the
/// policy checks cannot run (no key: skipped; key or policy unreadable: error).
pub(crate) fn load(
    info: &CheckInfo,
    ev: &TrailEvidence,
) -> Result<(Policy, TrailContext), Box<Finding>> {
    let fail = |status: Status, message: String, remediation: &str| {
        Box::new(finding(
            info,
            ev,
            status,
            message,
            remediation.to_owned(),
            json!({}),
        ))
    };
    if ev.trail.key_id().is_none() {
        return Err(fail(
            Status::Skipped,
            "the trail has no KMS key (see TS001), so there is no key policy to evaluate".into(),
            "Encrypt the trail with a customer-managed KMS key first (TS001).",
        ));
    }
    let Some(key) = &ev.key else {
        return Err(fail(
            Status::Error,
            "the trail's KMS key could not be resolved, so its policy could not be evaluated (see TS002)".into(),
            "Make sure the key exists and the auditing principal may call kms:DescribeKey on it.",
        ));
    };
    let Some(text) = &key.policy else {
        let why = key
            .read_error
            .clone()
            .unwrap_or_else(|| "the key policy was not collected".into());
        return Err(fail(
            Status::Error,
            format!("could not read the key policy: {why}"),
            "Grant the auditing principal kms:GetKeyPolicy on the key (see the README's minimal audit policy).",
        ));
    };
    let policy = Policy::parse(text).map_err(|e| {
        fail(
            Status::Error,
            format!("the key policy is not a valid policy document: {e}"),
            "Fix the key policy document; `trailseal policy lint` lists every problem.",
        )
    })?;
    let ctx = TrailContext {
        trail_arn: ev.trail.arn.clone(),
        bucket: ev.trail.s3_bucket_name.clone(),
        prefix: ev.trail.s3_key_prefix.clone(),
        key_arn: key.arn.clone(),
        is_organization_trail: ev.trail.is_organization_trail,
    };
    Ok((policy, ctx))
}

pub(crate) fn labels(policy: &Policy, indices: &[usize]) -> String {
    let labels: Vec<String> = indices
        .iter()
        .map(|&i| policy.statements[i].label())
        .collect();
    labels.join(", ")
}

/// The evidence object of an evaluation: decision, deciding statements, unknown keys,
/// the request, and the explanation lines.
pub(crate) fn evaluation_evidence(policy: &Policy, request: &Request, e: &Evaluation) -> Value {
    let deciding: Vec<Value> = e
        .deciding
        .iter()
        .map(|&i| json!({"index": i, "sid": policy.statements[i].sid}))
        .collect();
    let context: serde_json::Map<String, Value> = request
        .context
        .entries()
        .map(|(k, s)| (k.to_owned(), serde_json::to_value(s).unwrap_or(Value::Null)))
        .collect();
    json!({
        "decision": e.decision.as_str(),
        "deciding_statements": deciding,
        "unknown_keys": e.unknown_keys,
        "request": {
            "principal": request.principal.describe(),
            "action": request.action,
            "resource": request.resource,
            "context": context,
            "other_keys": "unknown",
        },
        "explanation": trailseal_policy::explain(policy, request, e),
    })
}

/// For a denied request: the Allow statements that name the principal and cover the action but
/// fail a condition, with the first failing condition ("would allow, but ...").
pub(crate) fn near_misses(policy: &Policy, e: &Evaluation) -> Vec<String> {
    e.statements
        .iter()
        .filter(|r| {
            r.effect == trailseal_policy::Effect::Allow && r.applies == Tri::False && r.action
        })
        .filter(|r| r.principal != trailseal_policy::PrincipalMatch::No)
        .filter_map(|r| {
            let s: &Statement = &policy.statements[r.index];
            let c = r.conditions.iter().find(|c| c.result == Tri::False)?;
            let cond = &s.conditions[c.index];
            Some(format!(
                "{} would allow it, but its condition {} {} {:?} does not hold",
                s.label(),
                cond.operator_text,
                cond.key,
                cond.values
            ))
        })
        .collect()
}

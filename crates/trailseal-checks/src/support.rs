//! Helpers shared by the checks: building findings and loading the key policy.

use serde_json::{json, Value};
use trailseal_model::{Finding, Status, TrailEvidence};
use trailseal_policy::{Evaluation, Given, Policy, Request, Statement, TrailContext, Tri};

use std::cell::RefCell;
use std::rc::Rc;

use crate::CheckInfo;
use trailseal_model::{AccountEvidence, Key, LookupError};

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
        compliance: info.compliance.iter().map(|s| (*s).to_owned()).collect(),
        file: None,
        line: None,
        column: None,
    }
}

/// A finding about an account or Region (resource `arn:aws:cloudtrail:REGION:ACCOUNT:`) or an
/// account-level resource such as an event data store.
#[allow(clippy::too_many_arguments)]
pub(crate) fn account_finding(
    info: &CheckInfo,
    account: &AccountEvidence,
    region: &str,
    resource: Option<&str>,
    status: Status,
    message: String,
    remediation: String,
    evidence: Value,
) -> Finding {
    let partition = if account.partition.is_empty() {
        "aws"
    } else {
        account.partition.as_str()
    };
    Finding {
        code: info.code.to_owned(),
        name: info.name.to_owned(),
        status,
        severity: info.severity,
        account: account.account.clone(),
        region: region.to_owned(),
        resource: resource
            .map(str::to_owned)
            .unwrap_or_else(|| format!("arn:{partition}:cloudtrail:{region}:{}:", account.account)),
        message,
        remediation,
        evidence,
        compliance: info.compliance.iter().map(|s| (*s).to_owned()).collect(),
        file: None,
        line: None,
        column: None,
    }
}

/// A finding with no evidence, for checks that stop before evaluating anything.
fn early(
    info: &CheckInfo,
    ev: &TrailEvidence,
    status: Status,
    message: String,
    remediation: &str,
) -> Box<Finding> {
    Box::new(finding(
        info,
        ev,
        status,
        message,
        remediation.to_owned(),
        json!({}),
    ))
}

/// The trail's resolved key, or the finding that says why a key check cannot run:
/// no key on the trail -> skipped (TS001 reports it); the key does not exist -> skipped
/// (TS002 reports it); the key could not be read -> error.
pub(crate) fn key<'a>(info: &CheckInfo, ev: &'a TrailEvidence) -> Result<&'a Key, Box<Finding>> {
    let fail = |status: Status, message: String, remediation: &str| {
        early(info, ev, status, message, remediation)
    };
    let Some(reference) = ev.trail.key_id() else {
        if let Some(why) = &ev.trail.kms_key_id_unknown {
            return Err(fail(
                Status::Indeterminate,
                format!("the trail's key cannot be known before deployment: {why}"),
                "Give the key statically, or audit the deployed account (trailseal audit).",
            ));
        }
        return Err(fail(
            Status::Skipped,
            "the trail has no KMS key (see TS001)".into(),
            "Encrypt the trail with a customer-managed KMS key first (TS001).",
        ));
    };
    match (&ev.key, &ev.key_error) {
        (Some(key), _) => Ok(key),
        (None, Some(LookupError::NotFound(why))) => Err(fail(
            Status::Skipped,
            format!("the trail's key {reference} does not exist (see TS002): {why}"),
            "Point the trail at an existing customer-managed key (TS002).",
        )),
        (None, Some(LookupError::Failed(why))) => Err(fail(
            Status::Error,
            format!("could not read the trail's key {reference}: {why}"),
            "Grant the auditing principal kms:DescribeKey on the key (see the README's minimal audit policy).",
        )),
        (None, Some(LookupError::Unknown(why))) => Err(fail(
            Status::Indeterminate,
            format!("the trail's key {reference} cannot be known before deployment: {why}"),
            "Define the key in the same template/configuration, or audit the deployed account (trailseal audit).",
        )),
        (None, None) => Err(fail(
            Status::Error,
            format!("the trail's key {reference} could not be resolved, so it could not be checked (see TS002)"),
            "Make sure the key exists and the auditing principal may call kms:DescribeKey on it.",
        )),
    }
}

/// The parsed key policy and the trail's request context, or the finding that says why the
/// policy checks cannot run.
pub(crate) fn load(
    info: &CheckInfo,
    ev: &TrailEvidence,
) -> Result<(Rc<Policy>, TrailContext), Box<Finding>> {
    let key = key(info, ev)?;
    let fail = |status: Status, message: String, remediation: &str| {
        early(info, ev, status, message, remediation)
    };
    let Some(text) = &key.policy else {
        if let Some(why) = &key.unknown {
            return Err(fail(
                Status::Indeterminate,
                format!("the key policy cannot be known before deployment: {why}"),
                "Give the policy's values statically, or audit the deployed account (trailseal audit).",
            ));
        }
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
    let policy = parse_cached(text).map_err(|e| {
        fail(
            Status::Error,
            format!("the key policy is not a valid policy document: {e}"),
            "Fix the key policy document; `trailseal policy lint` lists every problem.",
        )
    })?;
    // The evidence knows the trail's name, prefix (None: no prefix) and organization flag; a
    // missing bucket name is unknown, and so is the bucket's S3 Bucket Keys setting.
    let ctx = TrailContext {
        bucket: match &ev.trail.s3_bucket_name {
            Some(b) => Given::Known(b.clone()),
            None => Given::Unknown,
        },
        prefix: Given::Known(ev.trail.s3_key_prefix.clone()),
        key_arn: key.arn.clone(),
        is_organization_trail: Given::Known(ev.trail.is_organization_trail),
        ..TrailContext::new(&ev.trail.arn)
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
            r.effect == trailseal_policy::Effect::Allow
                && r.applies == Tri::False
                && r.action == Tri::True
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

/// The status for a key property that is missing: `indeterminate` when it cannot be known
/// before deployment (infrastructure as code), `error` when it could not be read.
pub(crate) fn missing(key: &Key) -> Status {
    if key.unknown.is_some() {
        Status::Indeterminate
    } else {
        Status::Error
    }
}

/// ` (cannot be known before deployment: REASON)` when a key property is statically unknown.
pub(crate) fn unknown_suffix(key: &Key) -> String {
    key.unknown
        .as_deref()
        .map(|why| format!(" (cannot be known before deployment: {why})"))
        .unwrap_or_default()
}

thread_local! {
    /// The last key policy parsed on this thread: TS006, TS007 and TS008 run one after the
    /// other on the same trail's key, so each policy is parsed once per trail, not three times.
    static LAST_POLICY: RefCell<Option<(String, Rc<Policy>)>> = const { RefCell::new(None) };
}

fn parse_cached(text: &str) -> Result<Rc<Policy>, trailseal_policy::PolicyError> {
    LAST_POLICY.with(|cell| {
        if let Some((cached, policy)) = &*cell.borrow() {
            if cached == text {
                return Ok(Rc::clone(policy));
            }
        }
        let policy = Rc::new(Policy::parse(text)?);
        *cell.borrow_mut() = Some((text.to_owned(), Rc::clone(&policy)));
        Ok(policy)
    })
}

//! Helpers shared by the checks: building findings and loading the key policy.

use serde_json::{json, Value};
use trailseal_model::{Finding, Status, TrailEvidence};
use trailseal_policy::{Evaluation, Given, Policy, Request, Statement, TrailContext, Tri};

use std::cell::RefCell;
use std::rc::Rc;

use crate::deployment::Alternatives;
use crate::CheckInfo;
use trailseal_model::{AccountEvidence, Fact, Key, LookupError};

pub(crate) fn finding(
    info: &CheckInfo,
    ev: &TrailEvidence,
    status: Status,
    message: String,
    remediation: String,
    evidence: Value,
) -> Finding {
    let remediation = fix_for(status, &message, remediation);
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
        compliance: info.compliance.iter().map(|s| (*s).into()).collect(),
        file: None,
        line: None,
        column: None,
        muted: None,
    }
}

/// The `error` finding of an account-level check when the evidence holds no scanned Region for
/// the account (an evidence file without any): nothing is known about `what`, which is not a
/// pass. None when a Region was scanned.
pub(crate) fn no_region_scanned(
    info: &CheckInfo,
    account: &AccountEvidence,
    what: &str,
) -> Option<Finding> {
    if let Some(error) = &account.error {
        return Some(account_finding(
            info,
            account,
            "",
            None,
            Status::Error,
            format!("could not read the account ({error}): {what} is not known"),
            "Make the account readable and audit it again: for --org / --accounts, the role \
             --role-name names must exist in the account and trust the auditing principal \
             (with --external-id if its trust policy requires one)."
                .into(),
            json!({"account_error": error}),
        ));
    }
    account.regions.is_empty().then(|| {
        account_finding(
            info,
            account,
            "",
            None,
            Status::Error,
            format!("the evidence holds no scanned Region for this account: {what} is not known"),
            "Collect the account again (trailseal collect), with the Regions to scan.".into(),
            json!({}),
        )
    })
}

/// The fix of an `error` finding must match its error: "grant the auditing principal ..." only
/// when the error can be a permissions problem. A server error (HTTP 5xx), throttling beyond the
/// retries or an endpoint that did not answer gets "try again" instead.
pub(crate) fn fix_for(status: Status, message: &str, remediation: String) -> String {
    if status != Status::Error || !remediation.starts_with("Grant") {
        return remediation;
    }
    let m = message.to_ascii_lowercase();
    let permissions = [
        "accessdenied",
        "not authorized",
        "unauthorized",
        "forbidden",
    ]
    .iter()
    .any(|p| m.contains(p));
    let transient = [
        "http 5",
        "internalerror",
        "internalfailure",
        "internal server error",
        "serviceunavailable",
        "throttl",
        "requestlimitexceeded",
        "timed out",
        "could not reach",
    ]
    .iter()
    .any(|p| m.contains(p));
    if transient && !permissions {
        "AWS did not answer this call (a server error, throttling beyond the retries, or an \
         endpoint that did not respond): not a permissions problem. Run the audit again later; if \
         it persists, check the service's health in this Region and any AWS_ENDPOINT_URL setting."
            .to_owned()
    } else {
        remediation
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
    let remediation = fix_for(status, &message, remediation);
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
        compliance: info.compliance.iter().map(|s| (*s).into()).collect(),
        file: None,
        line: None,
        column: None,
        muted: None,
    }
}

/// A finding with no evidence, for checks that stop before evaluating anything.
pub(crate) fn early(
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

/// The trail's `KmsKeyId`, or the finding that says why a key check cannot run: no key on
/// the trail -> skipped (TS001 reports it); unknown before deployment -> indeterminate; not
/// read -> error.
pub(crate) fn key_reference<'a>(
    info: &CheckInfo,
    ev: &'a TrailEvidence,
) -> Result<&'a str, Box<Finding>> {
    let fail = |status: Status, message: String, remediation: &str| {
        early(info, ev, status, message, remediation)
    };
    match ev.trail.key_setting() {
        Fact::Known(Some(reference)) => Ok(reference),
        Fact::Known(None) => Err(fail(
            Status::Skipped,
            "the trail has no KMS key (see TS001)".into(),
            "Encrypt the trail with a customer-managed KMS key first (TS001).",
        )),
        Fact::Unknown(why) => Err(fail(
            Status::Indeterminate,
            format!("the trail's key cannot be known before deployment: {why}"),
            "Give the key statically, or audit the deployed account (trailseal audit).",
        )),
        Fact::Unreadable(why) => Err(fail(
            Status::Error,
            format!("the trail's KmsKeyId could not be read: {why}"),
            "Grant the auditing principal cloudtrail:DescribeTrails.",
        )),
    }
}

/// The trail's resolved key, or the finding that says why a key check cannot run:
/// see [`key_reference`]; the key does not exist -> skipped (TS002 reports it); the key could
/// not be read -> error.
pub(crate) fn key<'a>(info: &CheckInfo, ev: &'a TrailEvidence) -> Result<&'a Key, Box<Finding>> {
    let fail = |status: Status, message: String, remediation: &str| {
        early(info, ev, status, message, remediation)
    };
    let reference = key_reference(info, ev)?;
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

/// A trail fact for building requests: what is not known stays unknown.
pub(crate) fn given<T: Clone>(fact: &Fact<T>) -> Given<T> {
    match fact.known() {
        Some(v) => Given::Known(v.clone()),
        None => Given::Unknown,
    }
}

/// What the key-policy checks evaluate: the parsed key policy, the trail's request context,
/// and the other deployments to evaluate when the deploying account or Region is symbolic.
pub(crate) struct Loaded {
    pub policy: Rc<Policy>,
    pub ctx: TrailContext,
    pub alternatives: Rc<Alternatives>,
}

/// The parsed key policy and the trail's request context, or the finding that says why the
/// policy checks cannot run.
pub(crate) fn load(info: &CheckInfo, ev: &TrailEvidence) -> Result<Loaded, Box<Finding>> {
    let key = key(info, ev)?;
    let fail = |status: Status, message: String, remediation: &str| {
        early(info, ev, status, message, remediation)
    };
    let text = match &key.policy {
        Fact::Known(text) => text,
        Fact::Unknown(why) => {
            return Err(fail(
                Status::Indeterminate,
                format!("the key policy cannot be known before deployment: {why}"),
                "Give the policy's values statically, or audit the deployed account (trailseal audit).",
            ))
        }
        Fact::Unreadable(why) => {
            return Err(fail(
                Status::Error,
                format!("could not read the key policy: {why}"),
                "Grant the auditing principal kms:GetKeyPolicy on the key (see the README's minimal audit policy).",
            ))
        }
    };
    let policy = parse_cached(text).map_err(|e| {
        fail(
            Status::Error,
            format!("the key policy is not a valid policy document: {e}"),
            "Fix the key policy document; `trailseal policy lint` lists every problem.",
        )
    })?;
    // What is not known about the trail stays unknown in the request CloudTrail makes: the
    // trail's name (so aws:SourceArn), the bucket and prefix (so the log object ARN), the
    // organization flag (so aws:SourceAccount); the S3 Bucket Keys setting stays unknown in the
    // encryption context (it applies to new objects only), and asks for CloudTrail's Decrypt.
    let ctx = TrailContext {
        name_known: ev.trail.name_unknown.is_none(),
        bucket: given(&ev.trail.s3_bucket_name),
        prefix: given(&ev.trail.s3_key_prefix),
        // The key ARN is the request's resource only when the key's Region is known (an ARN
        // built for a key whose Region is not known holds a placeholder, never a real Region).
        key_arn: key.arn.clone().filter(|_| key.region.is_known()),
        is_organization_trail: given(&ev.trail.is_organization_trail),
        // The bucket's current S3 Bucket Key setting applies to new objects only: the log
        // files' encryption context stays open to both forms (TS006 reads the setting).
        bucket_key_decrypt: ev
            .bucket
            .as_ref()
            .is_some_and(|b| b.bucket_key.is(&true) == Some(true)),
        ..TrailContext::new(&ev.trail.arn)
    };
    let alternatives = alternatives_cached(text, &policy, &ctx);
    Ok(Loaded {
        policy,
        ctx,
        alternatives,
    })
}

pub(crate) fn labels(policy: &Policy, indices: &[usize]) -> String {
    let labels: Vec<String> = indices
        .iter()
        .map(|&i| policy.statements[i].label())
        .collect();
    labels.join(", ")
}

/// The evidence object of an evaluation: decision, deciding statements, unknown keys,
/// the request, and the explanation lines. Built member by member (what `json!` would build,
/// in the same order), without serializing: two per trail in a scan.
pub(crate) fn evaluation_evidence(policy: &Policy, request: &Request, e: &Evaluation) -> Value {
    fn object<const N: usize>(members: [(&str, Value); N]) -> Value {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        )
    }
    let deciding: Vec<Value> = e
        .deciding
        .iter()
        .map(|&i| {
            let sid = policy.statements[i].sid.clone();
            object([("index", i.into()), ("sid", sid.into())])
        })
        .collect();
    let context: serde_json::Map<String, Value> = request
        .context
        .entries()
        .map(|(k, s)| (k.to_owned(), s.to_json()))
        .collect();
    let explanation: Vec<Value> = trailseal_policy::explain(policy, request, e)
        .into_iter()
        .map(Value::String)
        .collect();
    object([
        ("decision", e.decision.as_str().into()),
        ("deciding_statements", deciding.into()),
        ("unknown_keys", e.unknown_keys.as_slice().into()),
        (
            "request",
            object([
                ("principal", request.principal.describe().into()),
                ("action", request.action.as_str().into()),
                ("resource", request.resource.clone().into()),
                ("context", context.into()),
                ("other_keys", "unknown".into()),
            ]),
        ),
        ("explanation", explanation.into()),
    ])
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

/// The value of a property the check needs, or the finding (`indeterminate` / `error`) that
/// says why the check cannot decide. `what` names the property ("the state of KEY").
pub(crate) fn require<'a, T>(
    info: &CheckInfo,
    ev: &TrailEvidence,
    fact: &'a Fact<T>,
    what: &str,
    remediation: &str,
) -> Result<&'a T, Box<Finding>> {
    match fact {
        Fact::Known(v) => Ok(v),
        Fact::Unknown(why) => Err(early(
            info,
            ev,
            Status::Indeterminate,
            format!("{what} cannot be known before deployment: {why}"),
            "Give the value statically, or audit the deployed account (trailseal audit).",
        )),
        Fact::Unreadable(why) => Err(early(
            info,
            ev,
            Status::Error,
            format!("could not read {what}: {why}"),
            remediation,
        )),
    }
}

/// Why a key-policy answer is undecided, after "depends on KEYS": the trail facts that are not
/// known before deployment (its name, bucket, prefix, organization flag), or else that the
/// keys are not part of CloudTrail's request.
pub(crate) fn undecided_because(ev: &TrailEvidence, keys: &[String]) -> String {
    let t = &ev.trail;
    let mut gaps: Vec<String> = Vec::new();
    if let Some(why) = &t.name_unknown {
        gaps.push(format!("the trail's name ({why})"));
    }
    for (what, fact) in [
        ("the bucket", t.s3_bucket_name.as_ref().map(|_| ())),
        ("the S3 key prefix", t.s3_key_prefix.as_ref().map(|_| ())),
        (
            "whether it is an organization trail",
            t.is_organization_trail.as_ref().map(|_| ()),
        ),
    ] {
        if let Fact::Unknown(why) | Fact::Unreadable(why) = fact {
            gaps.push(format!("{what} ({why})"));
        }
    }
    if !gaps.is_empty() {
        format!(
            "; what the request holds is not known before deployment: {}",
            gaps.join("; ")
        )
    } else if keys.iter().all(|k| k.starts_with("the deploying account")) {
        String::new()
    } else {
        ", which CloudTrail's request does not define".to_owned()
    }
}

/// The key's Region for the commands a remediation prints (`<key Region>` when not known).
pub(crate) fn key_region_text(key: &Key) -> String {
    key.region
        .known()
        .cloned()
        .unwrap_or_else(|| "<key Region>".into())
}

/// The key's ARN for messages (`the key` when it is not known).
pub(crate) fn key_name(key: &Key) -> String {
    key.arn.clone().unwrap_or_else(|| "the key".to_owned())
}

thread_local! {
    /// The last key policy parsed on this thread: TS006, TS007 and TS008 run one after the
    /// other on the same trail's key, so each policy is parsed once per trail, not three times.
    static LAST_POLICY: RefCell<Option<(String, Rc<Policy>)>> = const { RefCell::new(None) };
    /// Likewise the other deployments to evaluate ([`Alternatives`]) for the last policy and
    /// trail context: computing them parses the policy once per substituted account or Region.
    #[allow(clippy::type_complexity)]
    static LAST_ALTERNATIVES: RefCell<Option<(String, TrailContext, Rc<Alternatives>)>> =
        const { RefCell::new(None) };
}

fn alternatives_cached(text: &str, policy: &Policy, ctx: &TrailContext) -> Rc<Alternatives> {
    LAST_ALTERNATIVES.with(|cell| {
        if let Some((t, c, alternatives)) = &*cell.borrow() {
            if t == text && c == ctx {
                return Rc::clone(alternatives);
            }
        }
        let alternatives = Rc::new(Alternatives::of(text, policy, ctx));
        *cell.borrow_mut() = Some((text.to_owned(), ctx.clone(), Rc::clone(&alternatives)));
        alternatives
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The evidence is the object `json!` builds from the same parts (what it was built with
    /// before it was built member by member): same members, same order, same values.
    #[test]
    fn evaluation_evidence_is_what_json_builds() {
        let policy = Policy::parse(
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
                {"Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
                 "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}}
            ]}"#,
        )
        .expect("policy");
        let ctx = TrailContext::new("arn:aws:cloudtrail:eu-west-1:111122223333:trail/t");
        let request = ctx.generate_data_key_request();
        let e = trailseal_policy::evaluate(&policy, &request);
        assert!(!e.deciding.is_empty());
        let context: serde_json::Map<String, Value> = request
            .context
            .entries()
            .map(|(k, s)| (k.to_owned(), serde_json::to_value(s).expect("state")))
            .collect();
        let expected = json!({
            "decision": e.decision.as_str(),
            "deciding_statements": e.deciding.iter().map(|&i| json!({"index": i, "sid": policy.statements[i].sid})).collect::<Vec<_>>(),
            "unknown_keys": e.unknown_keys,
            "request": {
                "principal": request.principal.describe(),
                "action": request.action,
                "resource": request.resource,
                "context": context,
                "other_keys": "unknown",
            },
            "explanation": trailseal_policy::explain(&policy, &request, &e),
        });
        let got = evaluation_evidence(&policy, &request, &e);
        assert_eq!(got.to_string(), expected.to_string());
    }

    #[test]
    fn an_error_gets_a_permissions_fix_only_when_it_can_be_about_permissions() {
        let grant = "Grant the auditing principal cloudtrail:ListEventDataStores.".to_owned();
        for (message, permissions) in [
            (
                "cloudtrail:ListEventDataStores: HTTP 500 without an AWS error code",
                false,
            ),
            (
                "cloudtrail:GetTrailStatus: ThrottlingException: Rate exceeded",
                false,
            ),
            (
                "kms:DescribeKey: could not reach AWS: the connection was refused",
                false,
            ),
            (
                "kms:DescribeKey: AccessDeniedException: not authorized",
                true,
            ),
            ("kms:GetKeyPolicy: something unexpected", true),
        ] {
            let fix = fix_for(Status::Error, message, grant.clone());
            assert_eq!(fix == grant, permissions, "{message}: {fix}");
        }
        // Other statuses keep their fix.
        assert_eq!(fix_for(Status::Fail, "HTTP 500", grant.clone()), grant);
    }
}

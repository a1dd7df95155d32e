//! Who may decrypt the logs under a key the plan creates or reuses: `--reader` values, and the
//! readers carried over from the key a trail leaves.

use trailseal_model::{AccountEvidence, Fact, TrailEvidence};
use trailseal_policy::{
    who_may_decrypt, Decision, Effect, Policy, PrincipalKind, Principals, RequestPrincipal,
    TrailContext,
};

use crate::planner::PlanError;
use crate::statements::Readers;

/// `--reader`: an account id or a principal ARN.
pub(crate) fn parse_readers(values: &[String]) -> Result<Readers, PlanError> {
    let mut readers = Readers::default();
    for v in values {
        let v = v.trim();
        if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
            readers.add_account(v);
        } else if is_principal_arn(v) {
            readers.add_principal(v);
        } else {
            return Err(PlanError(format!(
                "--reader {v}: expected a 12-digit account id or an IAM role or user ARN (arn:aws:iam::111122223333:role/LogReaders), without wildcards"
            )));
        }
    }
    Ok(readers)
}

/// The readers of the old key that the new key keeps: principals an Allow statement of the
/// old key policy names directly for `kms:Decrypt`, without a condition, and that the old
/// policy really lets decrypt (no Deny). Anyone else who could decrypt (through the account's
/// IAM delegation, under conditions, by a wildcard) is named as not carried over: a key policy
/// that names a principal of its own account needs no IAM permission ("Key policies in AWS
/// KMS"), so carrying a grant over without its conditions would widen it.
pub(crate) fn carry_readers(
    account: &AccountEvidence,
    ev: &TrailEvidence,
    ctx: &TrailContext,
    readers: &mut Readers,
    notes: &mut Vec<String>,
) {
    let Some(key) = &ev.key else {
        if ev.trail.key_id().is_some() {
            notes.push("the old key could not be read: nobody is carried over from its policy as a log reader; name them with --reader".into());
        }
        return;
    };
    let text = match &key.policy {
        Fact::Known(t) => t,
        _ => {
            notes.push("the old key's policy could not be read: nobody is carried over from it as a log reader; name them with --reader".into());
            return;
        }
    };
    let Ok(policy) = Policy::parse(text) else {
        notes.push("the old key's policy could not be evaluated: nobody is carried over from it as a log reader; name them with --reader".into());
        return;
    };
    let summary = who_may_decrypt(&policy, ctx);
    // Whether the old policy lets `raw` (a role or user ARN, or an account's root) decrypt.
    let allowed = |raw: &str, root_of: Option<&str>| {
        summary.readers.iter().any(|r| {
            r.decision == Decision::Allow
                && match (&r.request_principal, root_of) {
                    (RequestPrincipal::Aws { arn, role_arn, .. }, None) => {
                        arn == raw || role_arn.as_deref() == Some(raw)
                    }
                    (RequestPrincipal::AccountMember { account }, Some(root)) => account == root,
                    _ => false,
                }
        })
    };
    let mut carried: Vec<String> = Vec::new();
    for s in &policy.statements {
        let decrypt = s
            .action
            .items
            .iter()
            .any(|a| trailseal_policy::glob::glob_match(a, "kms:Decrypt", true));
        if s.effect != Effect::Allow || s.principal.negated || s.action.negated || !decrypt {
            continue;
        }
        let Principals::Entries(entries) = &s.principal.items else {
            continue;
        };
        for e in entries
            .iter()
            .filter(|e| e.kind == PrincipalKind::Aws && !e.is_wildcard())
        {
            let raw = e.raw.as_str();
            let named = is_principal_arn(raw) || e.account_root().is_some();
            if !named || !s.conditions.is_empty() || !allowed(raw, e.account_root()) {
                continue;
            }
            match e.account_root() {
                // The trail's own account: the new key's decrypt statement covers it.
                Some(a) if a == account.account => {}
                Some(a) => readers.add_account(a),
                None => readers.add_principal(raw),
            }
            carried.push(raw.to_owned());
        }
    }
    for r in &summary.readers {
        let covered = match &r.request_principal {
            RequestPrincipal::Aws { arn, role_arn, .. } => carried
                .iter()
                .any(|c| c == arn || Some(c) == role_arn.as_ref()),
            RequestPrincipal::AccountMember { account: a } => {
                *a == account.account
                    || carried
                        .iter()
                        .any(|c| trailseal_policy::cloudtrail::arn_parts(c).map(|p| p.3) == Some(a))
            }
            _ => false,
        };
        if !covered {
            notes.push(format!(
                "not carried over to the new key: {} (the old key's policy lets it decrypt only through IAM, under conditions or by a wildcard); add it with --reader if it must read the logs",
                r.principal
            ));
        }
    }
}

/// An IAM role or user ARN (what `--reader` and carried-over readers may name).
pub(crate) fn is_principal_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", p, "iam", "", acct, resource] => {
            !p.is_empty()
                && acct.len() == 12
                && acct.bytes().all(|b| b.is_ascii_digit())
                && (resource.starts_with("role/") || resource.starts_with("user/"))
                && resource.len() > 5
                && !resource.contains(['*', '?', ' ', '\'', '"', '$', '`'])
        }
        _ => false,
    }
}

//! The proof of a planned key policy, with the engine the checks use: on the evidence as it
//! will be after the plan, TS001-TS008 pass for every trail that uses the key, some principal
//! may administer the key (`kms:PutKeyPolicy`), and somebody other than CloudTrail may decrypt
//! the logs. Who may administer and who may decrypt are listed in the plan.

use trailseal_checks::run_trail_checks;
use trailseal_model::{AccountEvidence, Status};
use trailseal_policy::{who_may_administer, who_may_decrypt, Policy, Reader, TrailContext};

use crate::assemble::new_key_arn;
use crate::planner::KeyWork;
use crate::{KeyTarget, Proof, ProvenTrail};

const PROVEN: &[&str] = &[
    "TS001", "TS002", "TS003", "TS004", "TS005", "TS006", "TS007", "TS008",
];

fn definite(readers: &[Reader]) -> Vec<String> {
    let mut out: Vec<String> = readers
        .iter()
        .filter(|r| r.is_definite_reader())
        .map(|r| r.principal.clone())
        .collect();
    out.dedup();
    out
}

pub(crate) fn prove(post: &AccountEvidence, partition: &str, id: &str, k: &KeyWork) -> Proof {
    let target = k
        .target
        .clone()
        .unwrap_or(KeyTarget::New { id: id.to_owned() });
    let mut proof = Proof {
        key: target,
        trails: Vec::new(),
        administrators: Vec::new(),
        readers: Vec::new(),
        failures: Vec::new(),
    };
    for arn in &k.trails {
        let Some(trail) = post.trails.iter().find(|t| t.arn == *arn) else {
            proof.failures.push(format!("{arn}: not in the evidence"));
            continue;
        };
        let findings = run_trail_checks(&post.trail_evidence(trail), PROVEN);
        for f in &findings {
            if f.status != Status::Pass {
                proof.failures.push(format!(
                    "{arn}: {} {}: {}",
                    f.code,
                    f.status.as_str(),
                    f.message
                ));
            }
        }
        proof.trails.push(ProvenTrail {
            trail_arn: arn.clone(),
            checks: findings
                .iter()
                .map(|f| format!("{}: {}", f.code, f.status.as_str()))
                .collect(),
        });
    }
    let key_arn = match &k.existing {
        Some(key) => key.arn.clone().unwrap_or_default(),
        None => new_key_arn(partition, &post.account, &k.region, id),
    };
    let policy_text = post
        .key(&key_arn)
        .and_then(|key| key.policy.known().cloned());
    let Some(text) = policy_text else {
        proof
            .failures
            .push("the key's policy after the plan is not known".into());
        return proof;
    };
    let policy = match Policy::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            proof
                .failures
                .push(format!("the planned key policy is not valid: {e}"));
            return proof;
        }
    };
    let ctx = match k.trails.first() {
        Some(arn) => TrailContext::new(arn),
        None => TrailContext::default(),
    };
    let ctx = TrailContext {
        key_arn: Some(key_arn),
        ..ctx
    };
    // What AWS would reject (lint errors: the size quota, a lockout, ...).
    for d in trailseal_policy::lint(&text).diagnostics {
        if d.severity == trailseal_policy::Severity::Error {
            proof.failures.push(format!(
                "the key policy after the change: {} {}",
                d.code, d.message
            ));
        }
    }
    let admins = who_may_administer(&policy, &ctx);
    proof.administrators = definite(&admins.readers);
    if proof.administrators.is_empty() {
        proof.failures.push(match &admins.audience {
            trailseal_policy::Audience::Undecided { unknown_keys } => format!(
                "nobody is certain to be able to administer the key after the change (kms:PutKeyPolicy depends on {})",
                unknown_keys.join(", ")
            ),
            _ => "nobody may administer the key after the change (kms:PutKeyPolicy): AWS would reject the policy, or the key could never be managed again".into(),
        });
    }
    proof.readers = definite(&who_may_decrypt(&policy, &ctx).readers);
    // --edit-deny rewrites existing statements: it must change nothing but CloudTrail's
    // exemption, so who may decrypt and who may administer are the same as before.
    if let (Some(_), Some(before)) = (&k.narrowed, &k.before) {
        match Policy::parse(before) {
            Ok(old) => {
                let decrypt = |p: &Policy| who_may_decrypt(p, &ctx);
                let admin = |p: &Policy| who_may_administer(p, &ctx);
                let (d0, d1) = (decrypt(&old), decrypt(&policy));
                let (a0, a1) = (admin(&old), admin(&policy));
                if d0.audience != d1.audience || definite(&d0.readers) != proof.readers {
                    proof.failures.push(
                        "narrowing the Deny changes who may decrypt the logs besides CloudTrail"
                            .into(),
                    );
                }
                if a0.audience != a1.audience || definite(&a0.readers) != proof.administrators {
                    proof
                        .failures
                        .push("narrowing the Deny changes who may administer the key".into());
                }
            }
            Err(e) => proof.failures.push(format!(
                "the key policy before the change cannot be evaluated: {e}"
            )),
        }
    }
    if proof.readers.is_empty() {
        proof
            .failures
            .push("nobody but CloudTrail may decrypt the logs after the change".into());
    }
    proof
}

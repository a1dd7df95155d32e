//! Identity-based policies (the inline and managed policies of IAM users, roles and groups, and
//! permissions boundaries), and how they combine with a resource's policy (a key policy, a
//! bucket policy) for a principal of the resource's own account.
//!
//! An identity policy has no Principal: it applies to the identity it is attached to. It is
//! evaluated by the same engine as key and bucket policies, as if each statement said
//! `"Principal": "*"` ([`parse_identity_policy`]), so conditions, variables, NotAction and
//! unknown values mean the same everywhere.
//!
//! How the policies combine follows the IAM User Guide, "Policy evaluation logic" (within one
//! account):
//! - an explicit Deny in any policy denies;
//! - the identity's policies together allow when any of them allows; a permissions boundary
//!   must allow as well;
//! - a resource-based policy that names the principal itself (a user ARN, or a role: then
//!   limited by the role's permissions boundary) allows on its own, and one that names the
//!   account (`arn:aws:iam::ACCOUNT:root`) leaves the decision to the identity's policies;
//! - KMS keys are the exception: identity policies alone never allow, the key policy must
//!   allow (directly, or by naming the account) ([`ResourceKind::KmsKey`]).
//!
//! The account's root user is not subject to identity policies or boundaries
//! ([`Identity::root`]). Service control policies, resource control policies and session
//! policies can only take permissions away; they are not read (see the callers' notes).

use std::sync::Arc;

use serde::Serialize;

use crate::diagnostic::PolicyError;
use crate::eval::{evaluate, push_unique, Decision, Evaluation, PrincipalMatch, Tri};
use crate::model::{Clause, Effect, Policy, Principals};
use crate::request::Request;

/// Parses an identity-based policy: every statement applies to the identity it is attached to.
/// A statement that names a Principal is refused (IAM refuses such identity policies).
pub fn parse_identity_policy(text: &str) -> Result<Policy, PolicyError> {
    parse_completed(text, "identity", ("Principal", "NotPrincipal"), true)
}

/// Parses a role's trust policy (who may assume the role): its statements name no Resource (the
/// role itself), read as `"Resource": "*"`.
pub fn parse_trust_policy(text: &str) -> Result<Policy, PolicyError> {
    parse_completed(text, "trust", ("Resource", "NotResource"), false)
}

/// Parses a policy whose statements lack one element by design (identity policies: Principal;
/// trust policies: Resource), read as `*`. With `refuse`, a statement that has it is an error.
fn parse_completed(
    text: &str,
    kind: &str,
    (element, negated): (&str, &str),
    refuse: bool,
) -> Result<Policy, PolicyError> {
    let invalid = |message: String| PolicyError {
        code: "INVALID_POLICY",
        location: crate::diagnostic::Location::document(""),
        message,
    };
    let mut json: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| invalid(format!("the {kind} policy is not JSON: {e}")))?;
    let complete = |statement: &mut serde_json::Value| -> Result<(), PolicyError> {
        let Some(map) = statement.as_object_mut() else {
            return Ok(()); // the parser names the defect
        };
        if map.contains_key(element) || map.contains_key(negated) {
            if refuse {
                return Err(invalid(format!(
                    "an {kind} policy statement cannot name a {element}"
                )));
            }
            return Ok(());
        }
        map.insert(element.into(), serde_json::Value::String("*".into()));
        Ok(())
    };
    match json.get_mut("Statement") {
        Some(serde_json::Value::Array(statements)) => {
            for s in statements {
                complete(s)?;
            }
        }
        Some(statement) => complete(statement)?,
        None => {}
    }
    Policy::parse(&json.to_string())
}

/// One identity's policies, parsed.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// Inline, attached and group policies, each with a label naming where it comes from.
    pub policies: Vec<(String, Arc<Policy>)>,
    /// The permissions boundary, when one is set.
    pub boundary: Option<(String, Arc<Policy>)>,
    /// A role (a resource policy naming the role is limited by its boundary); false for users.
    pub is_role: bool,
    /// The account's root user: no identity policy or boundary applies to it.
    pub root: bool,
    /// Policies that apply but could not be read or parsed (why, each): they may allow or
    /// deny, so nothing short of an explicit Deny is decided.
    pub unreadable: Vec<String>,
}

impl Identity {
    pub fn root() -> Identity {
        Identity {
            root: true,
            ..Identity::default()
        }
    }
}

/// What an identity's policies decide for one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityDecision {
    pub decision: Decision,
    /// The deciding statements, as `POLICY LABEL: STATEMENT LABEL`.
    pub statements: Vec<String>,
    pub unknown_keys: Vec<String>,
    /// A Deny may apply (a statement of undecided applicability or effect).
    pub maybe_denied: bool,
}

/// The four sets the engine decides from, across several policies.
#[derive(Default)]
struct Tally {
    deny_true: Vec<String>,
    deny_unknown: Vec<String>,
    allow_true: Vec<String>,
    allow_unknown: Vec<String>,
    unknown_keys: Vec<String>,
}

impl Tally {
    fn add(&mut self, label: &str, policy: &Policy, eval: &Evaluation) {
        for r in &eval.statements {
            let name = format!(
                "{label}: {}",
                policy
                    .statements
                    .get(r.index)
                    .map(|s| s.label())
                    .unwrap_or_default()
            );
            let slot = match (r.effect, r.applies) {
                (_, Tri::False) => continue,
                (Effect::Deny, Tri::True) => &mut self.deny_true,
                (Effect::Allow, Tri::True) => &mut self.allow_true,
                (Effect::Deny, Tri::Unknown) => &mut self.deny_unknown,
                (Effect::Allow, Tri::Unknown) => &mut self.allow_unknown,
                // Of unknown effect: both a possible Allow and a possible Deny.
                (Effect::Unknown, _) => {
                    self.allow_unknown.push(name.clone());
                    &mut self.deny_unknown
                }
            };
            slot.push(name);
            if r.applies == Tri::Unknown || r.effect == Effect::Unknown {
                for k in r.unknown_keys() {
                    push_unique(&mut self.unknown_keys, &k);
                }
            }
        }
    }

    /// The engine's rule (see [`evaluate`]) over the statements of every policy.
    fn decide(self) -> IdentityDecision {
        let maybe_denied = !self.deny_unknown.is_empty();
        let (decision, statements) = if !self.deny_true.is_empty() {
            (Decision::ExplicitDeny, self.deny_true)
        } else if self.allow_true.is_empty() && self.allow_unknown.is_empty() {
            (Decision::ImplicitDeny, Vec::new())
        } else if !self.deny_unknown.is_empty() {
            let mut s = self.deny_unknown;
            if self.allow_true.is_empty() {
                s.extend(self.allow_unknown);
            }
            (Decision::Indeterminate, s)
        } else if !self.allow_true.is_empty() {
            (Decision::Allow, self.allow_true)
        } else {
            (Decision::Indeterminate, self.allow_unknown)
        };
        // Kept while a Deny may apply: a caller that combines this decision with others (a
        // grant) says what it depends on.
        let unknown_keys = if decision == Decision::Indeterminate || maybe_denied {
            self.unknown_keys
        } else {
            Vec::new()
        };
        IdentityDecision {
            decision,
            statements,
            unknown_keys,
            maybe_denied,
        }
    }
}

fn decide(policies: &[(String, Arc<Policy>)], request: &Request) -> IdentityDecision {
    let mut tally = Tally::default();
    for (label, policy) in policies {
        tally.add(label, policy, &evaluate(policy, request));
    }
    tally.decide()
}

/// The identity's policies for `request` (its boundary not applied).
pub fn evaluate_identity(identity: &Identity, request: &Request) -> IdentityDecision {
    if identity.root {
        return IdentityDecision {
            decision: Decision::Allow,
            statements: vec!["the account's root user".into()],
            unknown_keys: Vec::new(),
            maybe_denied: false,
        };
    }
    let mut decision = decide(&identity.policies, request);
    if !identity.unreadable.is_empty() && decision.decision != Decision::ExplicitDeny {
        decision.decision = Decision::Indeterminate;
        decision.maybe_denied = true;
        for why in &identity.unreadable {
            push_unique(&mut decision.unknown_keys, why);
        }
    }
    decision
}

/// The permissions boundary for `request`: `Allow` when there is none.
pub fn evaluate_boundary(identity: &Identity, request: &Request) -> IdentityDecision {
    match (&identity.boundary, identity.root) {
        (Some(boundary), false) => decide(std::slice::from_ref(boundary), request),
        _ => IdentityDecision {
            decision: Decision::Allow,
            statements: Vec::new(),
            unknown_keys: Vec::new(),
            maybe_denied: false,
        },
    }
}

/// What kind of resource the resource-based policy protects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// A KMS key: the key policy must allow, identity policies alone never do.
    KmsKey,
    /// Any other resource (an S3 bucket) of the principal's own account: the resource policy
    /// or the identity's policies allow.
    Other,
    /// A resource of another account than the principal's: its policy (naming the principal
    /// or its account) and the principal's own policies must both allow.
    OtherAccount,
}

/// The combined decision for a principal, with the statements that decided and the keys that
/// left it open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Combined {
    pub decision: Decision,
    pub via: Vec<String>,
    pub unknown_keys: Vec<String>,
}

fn allowed(d: Decision) -> Tri {
    match d {
        Decision::Allow => Tri::True,
        Decision::ExplicitDeny | Decision::ImplicitDeny => Tri::False,
        Decision::Indeterminate => Tri::Unknown,
    }
}

/// Whether an evaluation has a Deny that may apply (`Unknown`) or does (`True`).
fn denied(eval: &Evaluation) -> Tri {
    if eval.decision == Decision::ExplicitDeny {
        return Tri::True;
    }
    let maybe = eval
        .statements
        .iter()
        .any(|r| r.applies == Tri::Unknown && matches!(r.effect, Effect::Deny | Effect::Unknown));
    if maybe {
        Tri::Unknown
    } else {
        Tri::False
    }
}

fn has_deny_not_principal(policy: &Policy) -> bool {
    policy
        .statements
        .iter()
        .any(|s| s.effect != Effect::Allow && s.principal.negated)
}

/// The policy with every Deny + NotPrincipal statement applying to every principal.
fn deny_not_principal_as_everyone(policy: &Policy) -> Policy {
    let mut p = policy.clone();
    for s in &mut p.statements {
        if s.effect != Effect::Allow && s.principal.negated {
            s.principal = Clause {
                negated: false,
                items: Principals::Any,
            };
        }
    }
    p
}

fn identity_denied(d: &IdentityDecision) -> Tri {
    match d.decision {
        Decision::ExplicitDeny => Tri::True,
        _ if d.maybe_denied => Tri::Unknown,
        _ => Tri::False,
    }
}

/// Combines a resource policy's evaluation (for the principal, as `resource`) with the
/// principal's own policies (`kind` says which rule joins them).
pub fn combine(
    kind: ResourceKind,
    resource_policy: &Policy,
    resource: &Evaluation,
    identity: &Identity,
    request: &Request,
) -> Combined {
    let id = evaluate_identity(identity, request);
    let boundary = evaluate_boundary(identity, request);
    let mut via = Vec::new();
    let mut unknown_keys = resource.unknown_keys.clone();
    for k in id.unknown_keys.iter().chain(&boundary.unknown_keys) {
        push_unique(&mut unknown_keys, k);
    }
    // Allowed by the resource policy, statement by statement: naming the principal (Direct) or
    // its account (ViaAccount); a statement of unknown effect or principal may be either.
    let (mut res_direct, mut res_via) = (Tri::False, Tri::False);
    for r in resource
        .statements
        .iter()
        .filter(|r| r.applies != Tri::False)
    {
        let applies = if r.effect == Effect::Allow {
            r.applies
        } else if r.effect == Effect::Unknown {
            Tri::Unknown
        } else {
            continue;
        };
        let direct = match r.principal {
            PrincipalMatch::Direct => applies,
            PrincipalMatch::Unknown => Tri::Unknown,
            _ => Tri::False,
        };
        res_direct = res_direct.or(direct);
        res_via = res_via.or(applies);
    }
    let id_allowed = allowed(id.decision).and(allowed(boundary.decision));
    // A resource policy naming a role (not a session) is limited by the role's boundary.
    let direct = if identity.is_role {
        res_direct.and(allowed(boundary.decision))
    } else {
        res_direct
    };
    let allow = match kind {
        ResourceKind::KmsKey => direct.or(res_via.and(id_allowed)),
        ResourceKind::Other => direct.or(id_allowed),
        ResourceKind::OtherAccount => res_via.and(id_allowed),
    };
    // "The NotPrincipal element with a Deny effect will always deny any IAM principal that has
    // a permissions boundary policy attached, regardless of the values specified in the
    // NotPrincipal element" (IAM User Guide, "Permissions boundaries for IAM entities").
    let resource_deny = match (&identity.boundary, identity.root) {
        (Some(_), false) if has_deny_not_principal(resource_policy) => denied(&evaluate(
            &deny_not_principal_as_everyone(resource_policy),
            request,
        )),
        _ => denied(resource),
    };
    let deny = resource_deny
        .or(identity_denied(&id))
        .or(identity_denied(&boundary));
    let decision = if deny == Tri::True {
        Decision::ExplicitDeny
    } else if allow == Tri::False {
        Decision::ImplicitDeny
    } else if deny == Tri::Unknown || allow == Tri::Unknown {
        Decision::Indeterminate
    } else {
        Decision::Allow
    };
    let resource_labels = |indices: &[usize]| -> Vec<String> {
        indices
            .iter()
            .filter_map(|&i| resource_policy.statements.get(i))
            .map(|s| s.label())
            .collect()
    };
    match decision {
        Decision::ExplicitDeny => {
            if resource.decision == Decision::ExplicitDeny {
                via.extend(resource_labels(&resource.deciding));
            }
            for d in [&id, &boundary] {
                if d.decision == Decision::ExplicitDeny {
                    via.extend(d.statements.iter().cloned());
                }
            }
        }
        Decision::Allow | Decision::Indeterminate => {
            if resource.decision != Decision::ImplicitDeny {
                via.extend(resource_labels(&resource.deciding));
            }
            if id.decision != Decision::ImplicitDeny && (res_direct != Tri::True) {
                via.extend(id.statements.iter().cloned());
            }
        }
        Decision::ImplicitDeny => {}
    }
    if decision != Decision::Indeterminate {
        unknown_keys.clear();
    }
    Combined {
        decision,
        via,
        unknown_keys,
    }
}

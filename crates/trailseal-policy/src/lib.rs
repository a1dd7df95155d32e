//! # trailseal-policy
//!
//! The IAM policy language as KMS key policies use it: parse, validate (lint), and evaluate a
//! request with three-valued logic (a context key is Known, Absent or Unknown).
//!
//! Pure: no AWS SDK, no async, no I/O.
//!
//! ```
//! use trailseal_policy::{Policy, TrailContext, evaluate, Decision};
//!
//! let policy = Policy::parse(r#"{
//!   "Version": "2012-10-17",
//!   "Statement": [{
//!     "Sid": "Allow CloudTrail to encrypt logs",
//!     "Effect": "Allow",
//!     "Principal": {"Service": "cloudtrail.amazonaws.com"},
//!     "Action": "kms:GenerateDataKey*",
//!     "Resource": "*",
//!     "Condition": {"StringLike": {
//!       "kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}
//!   }]}"#).unwrap();
//! let trail = TrailContext::new("arn:aws:cloudtrail:us-east-1:111122223333:trail/main");
//! let eval = evaluate(&policy, &trail.generate_data_key_request());
//! assert_eq!(eval.decision, Decision::Allow);
//! ```

pub mod cloudtrail;
mod condition;
pub mod delivery;
pub mod diagnostic;
pub mod eval;
pub mod explain;
pub mod glob;
pub mod identity;
pub mod json;
pub mod lint;
pub mod model;
pub mod parse;
pub mod readers;
pub mod request;
pub mod unknown;
mod values;
mod vars;

pub use cloudtrail::{Given, TrailContext, CLOUDTRAIL_SERVICE};
pub use diagnostic::{Diagnostic, Location, PolicyError, Severity};
pub use eval::{evaluate, Decision, Evaluation, PrincipalMatch, Tri};
pub use explain::explain;
pub use identity::{
    combine, evaluate_identity, parse_identity_policy, parse_trust_policy, Combined, Identity,
    IdentityDecision, ResourceKind,
};
pub use lint::{lint, LintReport};
pub use model::*;
pub use readers::{
    named_principals, who_may, who_may_administer, who_may_decrypt, Access, Audience, Reader,
    ReaderKind, ReadersSummary,
};
pub use request::{Context, KeyState, Request, RequestPrincipal, FRESH};
pub use unknown::{unknown_reason, unknown_value};
pub use values::parse_date;

impl Policy {
    /// Parses a policy document. Fails only on problems that make evaluation unsound (not JSON,
    /// not an object, a statement without a valid Effect/Action/Principal/Resource, values of the
    /// wrong JSON type); everything else is left to [`lint`].
    pub fn parse(text: &str) -> Result<Policy, PolicyError> {
        let (policy, diagnostics) = parse::parse_document(text);
        match (policy, diagnostics.iter().find(|d| d.fatal)) {
            (Some(p), None) => Ok(p),
            (_, Some(d)) => Err(PolicyError::from(d)),
            (None, None) => Err(PolicyError {
                code: "INVALID_POLICY",
                location: Location::document(""),
                message: "the policy could not be parsed".into(),
            }),
        }
    }

    /// Serializes back to policy JSON (array forms throughout; duplicates already resolved).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::{json, Map, Value};
        let list =
            |items: &[String]| Value::Array(items.iter().cloned().map(Value::String).collect());
        let statements: Vec<Value> = self
            .statements
            .iter()
            .map(|s| {
                let mut m = Map::new();
                if let Some(sid) = &s.sid {
                    m.insert("Sid".into(), json!(sid));
                }
                let effect = match (&s.effect, &s.effect_marker) {
                    (Effect::Unknown, Some(marker)) => marker.clone(),
                    (effect, _) => effect.to_string(),
                };
                m.insert("Effect".into(), json!(effect));
                let principal = match &s.principal.items {
                    Principals::Any => json!("*"),
                    Principals::Entries(entries) => {
                        let mut by_type: Map<String, Value> = Map::new();
                        for e in entries {
                            let slot = by_type
                                .entry(e.type_key.clone())
                                .or_insert_with(|| json!([]));
                            if let Value::Array(a) = slot {
                                a.push(json!(e.raw));
                            }
                        }
                        Value::Object(by_type)
                    }
                };
                m.insert(
                    if s.principal.negated {
                        "NotPrincipal"
                    } else {
                        "Principal"
                    }
                    .into(),
                    principal,
                );
                m.insert(
                    if s.action.negated {
                        "NotAction"
                    } else {
                        "Action"
                    }
                    .into(),
                    list(&s.action.items),
                );
                m.insert(
                    if s.resource.negated {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    list(&s.resource.items),
                );
                if !s.conditions.is_empty() {
                    let mut cond: Map<String, Value> = Map::new();
                    for c in &s.conditions {
                        let slot = cond
                            .entry(c.operator_text.clone())
                            .or_insert_with(|| json!({}));
                        if let Value::Object(o) = slot {
                            o.insert(c.key.clone(), list(&c.values));
                        }
                    }
                    m.insert("Condition".into(), Value::Object(cond));
                }
                Value::Object(m)
            })
            .collect();
        let mut doc = Map::new();
        if let Some(v) = &self.version {
            doc.insert("Version".into(), json!(v));
        }
        if let Some(id) = &self.id {
            doc.insert("Id".into(), json!(id));
        }
        doc.insert("Statement".into(), Value::Array(statements));
        Value::Object(doc)
    }
}

/// ASCII case-insensitive prefix test that never slices inside a UTF-8 character.
pub(crate) fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    s.get(..prefix.len())
        .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
}

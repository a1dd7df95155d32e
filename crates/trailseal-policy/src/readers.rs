//! "Who may decrypt the logs": every principal that an Allow statement covering `kms:Decrypt`
//! names, each evaluated against the whole policy (so Denies count) with the log file's
//! encryption context.
//!
//! Principals are modelled as:
//! - a named role/user/session ARN;
//! - "IAM principals of account A" for `arn:aws:iam::A:root` (KMS delegates to IAM there);
//! - "any principal" for `*`, which is either open to everyone or limited by conditions.

use serde::Serialize;

use crate::cloudtrail::{TrailContext, CLOUDTRAIL_SERVICE};
use crate::eval::{evaluate, Decision};
use crate::glob::glob_match;
use crate::model::{Effect, Policy, PrincipalKind, Principals};
use crate::request::RequestPrincipal;

/// Condition keys that describe *who* calls. A wildcard grant limited only by these still
/// names a set of real principals (e.g. everyone in account A), so it counts as a reader.
pub const IDENTITY_KEYS: &[&str] = &[
    "kms:CallerAccount",
    "aws:PrincipalAccount",
    "aws:PrincipalArn",
    "aws:PrincipalOrgID",
    "aws:PrincipalOrgPaths",
    "aws:PrincipalType",
    "aws:PrincipalIsAWSService",
    "aws:PrincipalServiceName",
    "aws:userid",
    "aws:username",
];

pub fn is_identity_key(key: &str) -> bool {
    IDENTITY_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || crate::starts_with_ignore_case(key, "aws:PrincipalTag/")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderKind {
    /// `arn:aws:iam::A:root`: principals of A whose IAM policies also allow kms:Decrypt.
    DelegatedToIam,
    /// A named role, user or session.
    Named,
    /// An AWS service principal other than CloudTrail.
    Service,
    /// `*` limited by conditions.
    LimitedWildcard,
    /// `*` with nothing that limits it: anyone in any account.
    OpenToEveryone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reader {
    pub principal: String,
    pub kind: ReaderKind,
    pub decision: Decision,
    /// Statements that decided.
    pub statements: Vec<usize>,
    /// Keys that limit the grant (for `Indeterminate`): the conditions a caller must meet.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
}

impl Reader {
    /// Allowed outright, or limited only by who the caller is.
    pub fn is_definite_reader(&self) -> bool {
        self.decision == Decision::Allow
            || (self.decision == Decision::Indeterminate
                && self.conditions.iter().all(|k| is_identity_key(k)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadersSummary {
    /// Principals that may decrypt (Allow) or may under conditions (Indeterminate).
    pub readers: Vec<Reader>,
    /// Principals named in an Allow for kms:Decrypt that are nevertheless denied.
    pub blocked: Vec<Reader>,
}

impl ReadersSummary {
    pub fn open_to_everyone(&self) -> bool {
        self.readers
            .iter()
            .any(|r| r.kind == ReaderKind::OpenToEveryone)
    }
    pub fn has_definite_reader(&self) -> bool {
        self.readers.iter().any(Reader::is_definite_reader)
    }
}

/// Lists who may `kms:Decrypt` the trail's log files.
pub fn who_may_decrypt(policy: &Policy, trail: &TrailContext) -> ReadersSummary {
    let mut candidates: Vec<RequestPrincipal> = Vec::new();
    let mut add = |p: RequestPrincipal| {
        if !candidates.contains(&p) {
            candidates.push(p);
        }
    };
    for s in policy
        .statements
        .iter()
        .filter(|s| s.effect == Effect::Allow)
    {
        let covers = s
            .action
            .items
            .iter()
            .any(|a| glob_match(a, "kms:Decrypt", true));
        if covers == s.action.negated {
            continue;
        }
        match (&s.principal.items, s.principal.negated) {
            (Principals::Any, _) | (_, true) => add(RequestPrincipal::Anyone),
            (Principals::Entries(entries), false) => {
                for e in entries {
                    if e.is_wildcard() {
                        add(RequestPrincipal::Anyone);
                    } else if let Some(account) = e.account_root() {
                        add(RequestPrincipal::AccountMember {
                            account: account.to_owned(),
                        });
                    } else if e.kind == PrincipalKind::Aws {
                        add(RequestPrincipal::aws(&e.raw));
                    } else if e.kind == PrincipalKind::Service && e.raw != CLOUDTRAIL_SERVICE {
                        add(RequestPrincipal::service(&e.raw));
                    }
                }
            }
        }
    }

    let mut summary = ReadersSummary {
        readers: Vec::new(),
        blocked: Vec::new(),
    };
    for principal in candidates {
        let eval = evaluate(policy, &trail.decrypt_request(principal.clone()));
        let kind = match (&principal, eval.decision) {
            (RequestPrincipal::Anyone, Decision::Allow) => ReaderKind::OpenToEveryone,
            (RequestPrincipal::Anyone, _) => ReaderKind::LimitedWildcard,
            (RequestPrincipal::AccountMember { .. }, _) => ReaderKind::DelegatedToIam,
            (RequestPrincipal::Service { .. }, _) => ReaderKind::Service,
            (RequestPrincipal::Aws { .. }, _) => {
                if eval.via_iam_accounts.is_empty() {
                    ReaderKind::Named
                } else {
                    ReaderKind::DelegatedToIam
                }
            }
        };
        let reader = Reader {
            principal: principal.describe(),
            kind,
            decision: eval.decision,
            statements: eval.deciding.clone(),
            conditions: eval.unknown_keys.clone(),
        };
        match eval.decision {
            Decision::Allow | Decision::Indeterminate => summary.readers.push(reader),
            Decision::ExplicitDeny | Decision::ImplicitDeny => summary.blocked.push(reader),
        }
    }
    summary
}

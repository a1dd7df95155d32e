//! "Who may decrypt the logs" (and, the same way, "who may administer the key":
//! [`who_may_administer`]): the key policy is evaluated for `kms:Decrypt` of a log file by
//! every kind of principal the policy can tell apart, Denies included:
//! - each principal ARN the policy names (in Principal, NotPrincipal, or as a literal
//!   `aws:PrincipalArn` value), so a principal exempted from a Deny by NotPrincipal is seen;
//! - "IAM principals of account A" for every account id that appears anywhere in the policy
//!   (`arn:aws:iam::A:root` delegates to IAM in A; `"*"` with `kms:CallerAccount` = A names
//!   every principal of A);
//! - "IAM principals of every other account" ([`RequestPrincipal::OtherAccount`]): an account
//!   the policy does not mention, for which `kms:CallerAccount`, `aws:PrincipalAccount` and
//!   `aws:PrincipalArn` are decided exactly (`StringNotEquals kms:CallerAccount X` holds,
//!   `StringEquals aws:PrincipalAccount 999` or `ArnLike aws:PrincipalArn
//!   arn:aws:iam::999:*` does not).
//!
//! The result ([`Audience`]) is nobody, exactly the listed readers, open to every account (but
//! the listed exceptions), or undecided with the reason.

use serde::Serialize;

use crate::cloudtrail::{TrailContext, CLOUDTRAIL_SERVICE};
use crate::eval::{evaluate, push_unique, Decision, Evaluation, PrincipalMatch, Tri};
use crate::glob::glob_match;
use crate::model::{
    is_aws_principal_value, Effect, Policy, PrincipalEntry, PrincipalKind, Principals,
};
use crate::request::{Context, KeyState, RequestPrincipal};
use crate::unknown::unknown_reason;

/// Condition keys that describe *who* calls. A grant limited only by these still names a set
/// of real principals, so it counts as a reader.
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

/// Identity keys that limit callers to an organization: a principal cannot choose them.
pub const ORGANIZATION_KEYS: &[&str] = &["aws:PrincipalOrgID", "aws:PrincipalOrgPaths"];

pub fn is_identity_key(key: &str) -> bool {
    IDENTITY_KEYS.iter().any(|k| k.eq_ignore_ascii_case(key))
        || crate::starts_with_ignore_case(key, "aws:PrincipalTag/")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReaderKind {
    /// `arn:aws:iam::A:root`: principals of A whose IAM policies also allow kms:Decrypt.
    DelegatedToIam,
    /// Every IAM principal of an account, by the key policy alone (e.g. `"*"` with
    /// `kms:CallerAccount`).
    Account,
    /// A named role, user or session.
    Named,
    /// An AWS service principal other than CloudTrail.
    Service,
    /// Principals of accounts the policy does not name, limited to an organization
    /// (`aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`), or under conditions trailseal cannot
    /// decide ([`Audience::Undecided`]).
    LimitedWildcard,
    /// Principals of every account the policy does not name ([`Audience::Open`]), possibly
    /// under conditions any account can meet.
    OpenToEveryone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reader {
    pub principal: String,
    /// The principal the policy was evaluated for (what `principal` describes).
    #[serde(skip)]
    pub request_principal: RequestPrincipal,
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

/// Who may decrypt, as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Audience {
    /// No principal other than CloudTrail may decrypt.
    Nobody,
    /// Exactly the principals in [`ReadersSummary::readers`] (some possibly only under the
    /// conditions listed there).
    Limited,
    /// IAM principals of every AWS account may decrypt, except the accounts in `except`.
    /// `conditions`: identity keys a caller must satisfy that any account can meet (its own
    /// role names, tags...); empty when unconditional.
    Open {
        except: Vec<String>,
        conditions: Vec<String>,
    },
    /// Whether principals of any account may decrypt depends on these keys.
    Undecided { unknown_keys: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadersSummary {
    pub audience: Audience,
    /// Principals that may decrypt (Allow) or may under conditions (Indeterminate).
    pub readers: Vec<Reader>,
    /// Principals named in an Allow for kms:Decrypt that are nevertheless denied.
    pub blocked: Vec<Reader>,
}

impl ReadersSummary {
    pub fn open_to_everyone(&self) -> bool {
        matches!(self.audience, Audience::Open { .. })
    }
    pub fn has_definite_reader(&self) -> bool {
        self.readers.iter().any(Reader::is_definite_reader)
    }
}

#[derive(Default)]
struct Candidates {
    list: Vec<(RequestPrincipal, bool)>,
}

impl Candidates {
    /// `named`: an Allow covering kms:Decrypt names it (reported in `blocked` when denied).
    fn add(&mut self, p: RequestPrincipal, named: bool) {
        match self.list.iter_mut().find(|(q, _)| *q == p) {
            Some(entry) => entry.1 |= named,
            None => self.list.push((p, named)),
        }
    }

    fn add_entry(&mut self, e: &PrincipalEntry, named: bool) {
        if unknown_reason(&e.raw).is_some() || e.is_wildcard() {
            return;
        }
        match e.kind {
            PrincipalKind::Aws if is_aws_principal_value(&e.raw) => match e.account_root() {
                Some(account) => self.add(
                    RequestPrincipal::AccountMember {
                        account: account.to_owned(),
                    },
                    named,
                ),
                None => self.add(RequestPrincipal::caller(&e.raw), named),
            },
            PrincipalKind::Service if e.raw != CLOUDTRAIL_SERVICE => {
                self.add(RequestPrincipal::service(&e.raw), named)
            }
            _ => {}
        }
    }
}

/// Every 12-digit run of digits (each window of longer runs) in `s`.
fn account_ids(s: &str, out: &mut Vec<String>) {
    let bytes = s.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        if !bytes[start].is_ascii_digit() {
            start += 1;
            continue;
        }
        let mut end = start;
        while end < bytes.len() && bytes[end].is_ascii_digit() {
            end += 1;
        }
        if end - start >= 12 {
            for i in start..=end - 12 {
                if let Some(id) = s.get(i..i + 12) {
                    push_unique(out, id);
                }
            }
        }
        start = end;
    }
}

/// Every account id the policy (or the trail) mentions anywhere.
fn mentioned_accounts(policy: &Policy, trail: &TrailContext) -> Vec<String> {
    let mut out = Vec::new();
    account_ids(trail.account(), &mut out);
    for s in &policy.statements {
        if let Principals::Entries(entries) = &s.principal.items {
            for e in entries {
                account_ids(&e.raw, &mut out);
            }
        }
        for text in s.action.items.iter().chain(&s.resource.items) {
            account_ids(text, &mut out);
        }
        for c in &s.conditions {
            account_ids(&c.key, &mut out);
            for v in &c.values {
                account_ids(v, &mut out);
            }
        }
    }
    out
}

/// What a principal does with the key, for [`who_may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// `kms:Decrypt` of the trail's log files ([`TrailContext::decrypt_request`]).
    DecryptLogs,
    /// `kms:PutKeyPolicy` ([`TrailContext::administer_request`]): whoever may do this can
    /// change everything else; nobody means the key can no longer be managed.
    Administer,
}

impl Access {
    fn action(self) -> &'static str {
        match self {
            Access::DecryptLogs => "kms:Decrypt",
            Access::Administer => "kms:PutKeyPolicy",
        }
    }

    /// The request context of every caller, before the caller's own keys (built once per
    /// analysis: the encryption context is the same for all).
    fn context(self, trail: &TrailContext) -> Context {
        match self {
            Access::DecryptLogs => trail.decrypt_context(),
            Access::Administer => TrailContext::administer_context(),
        }
    }
}

fn covers(items: &[String], negated: bool, action: &str) -> bool {
    let listed = items.iter().any(|a| glob_match(a, action, true));
    let marker = items.iter().any(|a| unknown_reason(a).is_some());
    marker || listed != negated
}

/// Lists who may `kms:Decrypt` the trail's log files.
pub fn who_may_decrypt(policy: &Policy, trail: &TrailContext) -> ReadersSummary {
    who_may(policy, trail, Access::DecryptLogs)
}

/// Lists who may administer the key (`kms:PutKeyPolicy`). [`Audience::Nobody`]: AWS rejects
/// the policy unless its lockout safety check is bypassed, and then nobody can manage the key.
pub fn who_may_administer(policy: &Policy, trail: &TrailContext) -> ReadersSummary {
    who_may(policy, trail, Access::Administer)
}

/// Lists who may do `access` (see the module documentation; the same analysis for each).
pub fn who_may(policy: &Policy, trail: &TrailContext, access: Access) -> ReadersSummary {
    let candidates = candidates(policy, trail, access.action());
    who_may_among(policy, trail, access, candidates)
}

/// Every principal `policy` names or mentions, as [`who_may`] evaluates them for `action`: the
/// principal ARNs (Principal, NotPrincipal, literal `aws:PrincipalArn` values; a role as its
/// session), service principals other than CloudTrail, and the IAM principals of each account
/// id that appears anywhere ([`RequestPrincipal::AccountMember`]).
pub fn named_principals(
    policy: &Policy,
    trail: &TrailContext,
    action: &str,
) -> Vec<RequestPrincipal> {
    candidates(policy, trail, action)
        .list
        .into_iter()
        .map(|(p, _)| p)
        .collect()
}

fn candidates(policy: &Policy, trail: &TrailContext, action: &str) -> Candidates {
    let mut candidates = Candidates::default();
    for s in &policy.statements {
        let grants = s.effect != Effect::Deny && covers(&s.action.items, s.action.negated, action);
        if let Principals::Entries(entries) = &s.principal.items {
            for e in entries {
                candidates.add_entry(e, grants && !s.principal.negated);
            }
        }
        for c in &s.conditions {
            if c.key.eq_ignore_ascii_case("aws:PrincipalArn") {
                for v in &c.values {
                    if !v.contains(['*', '?']) && is_aws_principal_value(v) {
                        candidates.add(RequestPrincipal::caller(v), false);
                    }
                }
            }
        }
    }
    let accounts = mentioned_accounts(policy, trail);
    for account in &accounts {
        candidates.add(
            RequestPrincipal::AccountMember {
                account: account.clone(),
            },
            false,
        );
    }
    candidates
}

fn who_may_among(
    policy: &Policy,
    trail: &TrailContext,
    access: Access,
    candidates: Candidates,
) -> ReadersSummary {
    let mut readers = Vec::new();
    let mut blocked = Vec::new();
    let mut except = Vec::new();
    let context = access.context(trail);
    let request = |principal: &RequestPrincipal| {
        trail.principal_request(&context, access.action(), principal.clone())
    };
    for (principal, named) in &candidates.list {
        let eval = evaluate(policy, &request(principal));
        // Delegated when every Allow that may apply names the account, not the principal.
        let mut allows = eval
            .statements
            .iter()
            .filter(|r| r.effect == Effect::Allow && r.applies != Tri::False)
            .peekable();
        let delegated = allows.peek().is_some()
            && allows.all(|r| matches!(r.principal, PrincipalMatch::ViaAccount(_)));
        let kind = match principal {
            RequestPrincipal::Service { .. } => ReaderKind::Service,
            _ if delegated => ReaderKind::DelegatedToIam,
            RequestPrincipal::AccountMember { .. } => ReaderKind::Account,
            _ => ReaderKind::Named,
        };
        let reader = reader(principal, kind, &eval, eval.unknown_keys.clone());
        match eval.decision {
            Decision::Allow | Decision::Indeterminate => readers.push(reader),
            Decision::ExplicitDeny | Decision::ImplicitDeny => {
                if let RequestPrincipal::AccountMember { account } = principal {
                    except.push(account.clone());
                }
                if *named {
                    blocked.push(reader);
                }
            }
        }
    }

    // Principals of every other account.
    let other = RequestPrincipal::OtherAccount;
    let eval = evaluate(policy, &request(&other));
    let audience = match eval.decision {
        Decision::Allow => {
            readers.push(reader(
                &other,
                ReaderKind::OpenToEveryone,
                &eval,
                Vec::new(),
            ));
            Audience::Open {
                except,
                conditions: Vec::new(),
            }
        }
        Decision::ExplicitDeny | Decision::ImplicitDeny => Audience::Limited,
        Decision::Indeterminate => {
            // Is it an organization condition that limits them? Ask again for a principal of
            // an organization the policy does not name.
            // An organization the policy does not name, by an id of the documented shape
            // (`o-` and 10-32 characters); its paths start with the id (`o-ID/r-ROOT/...`,
            // aws:PrincipalOrgPaths in the IAM condition keys). A policy pattern that the id
            // happens to match makes the answer "open", the safe side.
            const OTHER_ORG: &str = "o-0trailseal0other0org";
            let mut outside = request(&other);
            outside.context.set(
                "aws:PrincipalOrgID",
                KeyState::Known(vec![OTHER_ORG.to_owned()]),
            );
            outside.context.set(
                "aws:PrincipalOrgPaths",
                KeyState::Pattern(vec![format!("{OTHER_ORG}/*")]),
            );
            let outside = evaluate(policy, &outside);
            match outside.decision {
                Decision::ExplicitDeny | Decision::ImplicitDeny => {
                    let conditions = eval.unknown_keys.clone();
                    readers.push(reader(
                        &other,
                        ReaderKind::LimitedWildcard,
                        &eval,
                        conditions,
                    ));
                    Audience::Limited
                }
                Decision::Allow => {
                    readers.push(reader(
                        &other,
                        ReaderKind::OpenToEveryone,
                        &outside,
                        Vec::new(),
                    ));
                    Audience::Open {
                        except,
                        conditions: Vec::new(),
                    }
                }
                // Conditions any account can meet (its own role names, tags): open.
                Decision::Indeterminate
                    if outside.unknown_keys.iter().all(|k| is_identity_key(k)) =>
                {
                    let conditions = outside.unknown_keys.clone();
                    readers.push(reader(
                        &other,
                        ReaderKind::OpenToEveryone,
                        &outside,
                        conditions.clone(),
                    ));
                    Audience::Open { except, conditions }
                }
                Decision::Indeterminate => {
                    let unknown_keys = outside.unknown_keys.clone();
                    readers.push(reader(
                        &other,
                        ReaderKind::LimitedWildcard,
                        &outside,
                        unknown_keys.clone(),
                    ));
                    Audience::Undecided { unknown_keys }
                }
            }
        }
    };
    let audience = match audience {
        Audience::Limited if readers.is_empty() => Audience::Nobody,
        a => a,
    };
    ReadersSummary {
        audience,
        readers,
        blocked,
    }
}

fn reader(
    principal: &RequestPrincipal,
    kind: ReaderKind,
    eval: &Evaluation,
    conditions: Vec<String>,
) -> Reader {
    Reader {
        principal: principal.describe(),
        request_principal: principal.clone(),
        kind,
        decision: eval.decision,
        statements: eval.deciding.clone(),
        conditions,
    }
}

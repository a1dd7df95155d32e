//! Evaluation of a request against a key policy, in three-valued logic.
//!
//! Rules (each has a test in `tests/semantics.rs`):
//! - every statement is considered; an applicable Deny beats any Allow;
//! - a statement applies when principal, action, resource and every condition hold;
//! - a context key may be Known, Absent or Unknown; a condition on an Unknown key is Unknown,
//!   and an Unknown that could change the outcome makes the decision `Indeterminate`;
//! - in a KMS key policy, `arn:aws:iam::ACCT:root` (or `ACCT`) delegates to the IAM policies of
//!   ACCT: an Allow reached only that way is reported in [`Evaluation::via_iam_accounts`];
//! - a value holding the unknown-value marker ([`crate::unknown_value`]) matches Unknown, and a
//!   statement whose Effect is unknown counts as a possible Allow and a possible Deny.

use serde::Serialize;

use crate::condition::evaluate_condition;
use crate::glob::{arn_match, arn_token_parts, covers, matches_tokens, may_intersect, tokens, Tok};
use crate::model::*;
use crate::request::{Request, RequestPrincipal};
use crate::unknown::{is_whole_marker, unknown_reason};
use crate::vars::{expand, Expanded};

/// Three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
    /// The outcome depends on context keys whose values are unknown.
    Indeterminate,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "Allow",
            Decision::ExplicitDeny => "ExplicitDeny",
            Decision::ImplicitDeny => "ImplicitDeny",
            Decision::Indeterminate => "Indeterminate",
        }
    }
}

/// How a statement's Principal/NotPrincipal relates to the request principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "match", content = "account")]
pub enum PrincipalMatch {
    /// Named directly (or `*`).
    Direct,
    /// Through an account principal (`arn:aws:iam::ACCT:root`): delegated to IAM in ACCT.
    ViaAccount(String),
    No,
    /// Cannot tell (e.g. "any principal" against a statement naming an account).
    Unknown,
}

impl PrincipalMatch {
    fn tri(&self) -> Tri {
        match self {
            PrincipalMatch::Direct | PrincipalMatch::ViaAccount(_) => Tri::True,
            PrincipalMatch::No => Tri::False,
            PrincipalMatch::Unknown => Tri::Unknown,
        }
    }
    fn rank(&self) -> u8 {
        match self {
            PrincipalMatch::Direct => 3,
            PrincipalMatch::ViaAccount(_) => 2,
            PrincipalMatch::Unknown => 1,
            PrincipalMatch::No => 0,
        }
    }
}

/// The result of one condition (operator + key) of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    /// Index into [`Statement::conditions`].
    pub index: usize,
    pub result: Tri,
    /// Keys whose unknown value made this condition unknown.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_keys: Vec<String>,
}

/// How one statement fared. Conditions are only evaluated when principal, action and resource
/// can match (otherwise `conditions` is empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementResult {
    pub index: usize,
    pub effect: Effect,
    pub principal: PrincipalMatch,
    /// Index of the Action pattern that matched (None for NotAction, or no match).
    pub action_pattern: Option<usize>,
    pub action: Tri,
    pub resource: Tri,
    pub conditions: Vec<ConditionResult>,
    pub applies: Tri,
    /// Why principal, action, resource or effect are unknown (unknown-value marker reasons,
    /// `aws:PrincipalAccount`, `resource (key ARN)`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
}

impl StatementResult {
    /// Every reason this statement's applicability is unknown.
    pub fn unknown_keys(&self) -> Vec<String> {
        let mut keys = self.unknown.clone();
        for c in &self.conditions {
            for k in &c.unknown_keys {
                push_unique(&mut keys, k);
            }
        }
        keys
    }
}

/// The full result: decision, deciding statements, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evaluation {
    pub decision: Decision,
    /// Indices of the statements that decided (the applicable Denies for ExplicitDeny, the
    /// applicable Allows for Allow, the undecidable ones for Indeterminate).
    pub deciding: Vec<usize>,
    /// The context keys whose unknown values made the decision indeterminate.
    pub unknown_keys: Vec<String>,
    /// Non-empty when the Allow comes only from account principals: the request is allowed
    /// only if IAM policies in these accounts allow it too (KMS key policy delegation).
    pub via_iam_accounts: Vec<String>,
    pub statements: Vec<StatementResult>,
}

impl Evaluation {
    pub fn is_allowed(&self) -> bool {
        self.decision == Decision::Allow
    }
}

/// Evaluates `request` against `policy`.
pub fn evaluate(policy: &Policy, request: &Request) -> Evaluation {
    let vars = policy.supports_variables();
    // A pattern resource, tokenized once for every statement.
    let resource_tokens: Option<Vec<Tok>> = match (&request.resource, request.resource_pattern) {
        (Some(resource), true) => Some(crate::request::pattern_tokens(resource)),
        _ => None,
    };
    let statements: Vec<StatementResult> = policy
        .statements
        .iter()
        .map(|s| evaluate_statement(s, request, vars, &resource_tokens))
        .collect();

    // A statement of unknown effect that may apply is both a possible Allow and a possible Deny.
    let pick = |effect: Effect, applies: Tri| -> Vec<usize> {
        statements
            .iter()
            .filter(|r| {
                (r.effect == effect && r.applies == applies)
                    || (r.effect == Effect::Unknown
                        && applies == Tri::Unknown
                        && r.applies != Tri::False)
            })
            .map(|r| r.index)
            .collect()
    };
    let deny_true = pick(Effect::Deny, Tri::True);
    let deny_unknown = pick(Effect::Deny, Tri::Unknown);
    let allow_true = pick(Effect::Allow, Tri::True);
    let allow_unknown = pick(Effect::Allow, Tri::Unknown);

    let (decision, deciding) = if !deny_true.is_empty() {
        (Decision::ExplicitDeny, deny_true)
    } else if allow_true.is_empty() && allow_unknown.is_empty() {
        // Nothing can allow: denied whatever the unknown Denies do.
        (Decision::ImplicitDeny, Vec::new())
    } else if !deny_unknown.is_empty() {
        // Undecided Denies; when no Allow is certain, the undecided Allows matter too.
        let mut deciding = deny_unknown;
        if allow_true.is_empty() {
            for i in allow_unknown {
                if !deciding.contains(&i) {
                    deciding.push(i);
                }
            }
            deciding.sort_unstable();
        }
        (Decision::Indeterminate, deciding)
    } else if !allow_true.is_empty() {
        (Decision::Allow, allow_true)
    } else {
        (Decision::Indeterminate, allow_unknown)
    };

    let mut unknown_keys = Vec::new();
    let mut via_iam_accounts = Vec::new();
    match decision {
        Decision::Indeterminate => {
            for &i in &deciding {
                for k in statements[i].unknown_keys() {
                    push_unique(&mut unknown_keys, &k);
                }
            }
        }
        Decision::Allow => {
            let direct = deciding
                .iter()
                .any(|&i| statements[i].principal == PrincipalMatch::Direct);
            if !direct {
                for &i in &deciding {
                    if let PrincipalMatch::ViaAccount(a) = &statements[i].principal {
                        push_unique(&mut via_iam_accounts, a);
                    }
                }
            }
        }
        _ => {}
    }
    Evaluation {
        decision,
        deciding,
        unknown_keys,
        via_iam_accounts,
        statements,
    }
}

pub(crate) fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

fn evaluate_statement(
    s: &Statement,
    req: &Request,
    vars: bool,
    resource_tokens: &Option<Vec<Tok>>,
) -> StatementResult {
    let mut unknown = Vec::new();
    let mut principal = match_principal(&s.principal, &req.principal, &mut unknown);
    if s.effect != Effect::Allow {
        // A Deny naming an account applies to every principal of that account.
        if let PrincipalMatch::ViaAccount(_) = principal {
            principal = PrincipalMatch::Direct;
        }
    }
    if principal == PrincipalMatch::Unknown && unknown.is_empty() {
        push_unique(&mut unknown, "aws:PrincipalAccount");
    }
    let (action, action_pattern) = match_action(&s.action, &req.action, &mut unknown);
    let resource = match_resource(&s.resource, req, vars, resource_tokens, &mut unknown);
    let mut applies = principal.tri().and(action).and(resource);
    if s.effect == Effect::Unknown {
        if let Some(r) = s.effect_marker.as_deref().and_then(unknown_reason) {
            push_unique(&mut unknown, r);
        }
    }
    let mut conditions = Vec::new();
    if applies != Tri::False {
        for (index, c) in s.conditions.iter().enumerate() {
            let mut unknown_keys = Vec::new();
            let result = evaluate_condition(c, &req.context, vars, &mut unknown_keys);
            applies = applies.and(result);
            conditions.push(ConditionResult {
                index,
                result,
                unknown_keys,
            });
        }
    }
    if applies == Tri::False {
        unknown.clear();
    }
    StatementResult {
        index: s.index,
        effect: s.effect,
        principal,
        action_pattern,
        action,
        resource,
        conditions,
        applies,
        unknown,
    }
}

fn match_action(
    clause: &Clause<Vec<String>>,
    action: &str,
    unknown: &mut Vec<String>,
) -> (Tri, Option<usize>) {
    let known = clause
        .items
        .iter()
        .position(|p| unknown_reason(p).is_none() && crate::glob::glob_match(p, action, true));
    let marker = clause.items.iter().find_map(|p| unknown_reason(p));
    let listed = match (known, marker) {
        (Some(_), _) => Tri::True,
        (None, Some(r)) => {
            push_unique(unknown, r);
            Tri::Unknown
        }
        (None, None) => Tri::False,
    };
    if clause.negated {
        (!listed, None)
    } else {
        (listed, known)
    }
}

fn match_principal(
    clause: &Clause<Principals>,
    req: &RequestPrincipal,
    unknown: &mut Vec<String>,
) -> PrincipalMatch {
    let entries = match &clause.items {
        Principals::Any => {
            return if clause.negated {
                PrincipalMatch::No
            } else {
                PrincipalMatch::Direct
            };
        }
        Principals::Entries(e) => e,
    };
    let mut note = |m: &PrincipalMatch, e: &PrincipalEntry| {
        if *m == PrincipalMatch::Unknown {
            if let Some(r) = unknown_reason(&e.raw).or_else(|| unknown_reason(&e.type_key)) {
                push_unique(unknown, r);
            }
        }
    };
    if !clause.negated {
        let mut best = PrincipalMatch::No;
        for e in entries {
            let m = match_entry(e, req);
            note(&m, e);
            if m.rank() > best.rank() {
                best = m;
            }
        }
        return best;
    }
    // NotPrincipal: the statement applies to every principal that is not listed. A named IAM
    // principal counts as listed only when both its own ARN and its account are listed (IAM
    // evaluates the request as both); an unnamed principal is never fully listed.
    if entries.iter().any(PrincipalEntry::is_wildcard) {
        return PrincipalMatch::No;
    }
    let listed_by = |test: &dyn Fn(&PrincipalEntry) -> bool, unknown: &mut Vec<String>| -> Tri {
        let mut any = Tri::False;
        for e in entries {
            let m = if unknown_reason(&e.raw).is_some() || unknown_reason(&e.type_key).is_some() {
                if marker_could_name(e, req) {
                    if let Some(r) = unknown_reason(&e.raw).or_else(|| unknown_reason(&e.type_key))
                    {
                        push_unique(unknown, r);
                    }
                    Tri::Unknown
                } else {
                    Tri::False
                }
            } else {
                Tri::from_bool(test(e))
            };
            any = any.or(m);
        }
        any
    };
    let listed = match req {
        RequestPrincipal::Service { name } => listed_by(
            &|e| e.kind == PrincipalKind::Service && e.raw == *name,
            unknown,
        ),
        RequestPrincipal::Aws { arn, account, .. } => {
            let me = listed_by(&|e| e.kind == PrincipalKind::Aws && e.raw == *arn, unknown);
            let acct = listed_by(&|e| e.account_root() == Some(account.as_str()), unknown);
            me.and(acct)
        }
        // Never fully listed by name; but an entry that is wholly unknown (or of an unknown
        // type) could be `*`, which exempts everyone.
        RequestPrincipal::AccountMember { .. }
        | RequestPrincipal::OtherAccount
        | RequestPrincipal::Anyone => {
            match entries
                .iter()
                .find(|e| is_whole_marker(&e.raw) || unknown_reason(&e.type_key).is_some())
            {
                Some(e) => {
                    if let Some(r) = unknown_reason(&e.raw).or_else(|| unknown_reason(&e.type_key))
                    {
                        push_unique(unknown, r);
                    }
                    Tri::Unknown
                }
                None => Tri::False,
            }
        }
    };
    match listed {
        Tri::True => PrincipalMatch::No,
        Tri::False => PrincipalMatch::Direct,
        Tri::Unknown => PrincipalMatch::Unknown,
    }
}

/// Whether an entry holding an unknown-value marker could name `req`: a marker that is the
/// whole value (or the type) could be `*`; a marked `AWS` ARN or account never names a
/// service, a marked service name never names an IAM principal.
fn marker_could_name(e: &PrincipalEntry, req: &RequestPrincipal) -> bool {
    if unknown_reason(&e.type_key).is_some() || is_whole_marker(&e.raw) {
        return true;
    }
    match e.kind {
        PrincipalKind::Aws => !matches!(req, RequestPrincipal::Service { .. }),
        PrincipalKind::Service => matches!(
            req,
            RequestPrincipal::Service { .. } | RequestPrincipal::Anyone
        ),
        _ => false,
    }
}

fn match_entry(e: &PrincipalEntry, req: &RequestPrincipal) -> PrincipalMatch {
    if unknown_reason(&e.raw).is_some() || unknown_reason(&e.type_key).is_some() {
        return if marker_could_name(e, req) {
            PrincipalMatch::Unknown
        } else {
            PrincipalMatch::No
        };
    }
    if e.is_wildcard() {
        return PrincipalMatch::Direct;
    }
    if e.kind == PrincipalKind::Aws && !is_aws_principal_value(&e.raw) {
        return PrincipalMatch::No; // names nobody (lint MALFORMED_PRINCIPAL / PARTIAL_WILDCARD_PRINCIPAL)
    }
    match (e.kind, req) {
        (PrincipalKind::Service, RequestPrincipal::Service { name }) if e.raw == *name => {
            PrincipalMatch::Direct
        }
        (
            PrincipalKind::Aws,
            RequestPrincipal::Aws {
                arn,
                account,
                role_arn,
            },
        ) => match e.account_root() {
            Some(a) if a == account => PrincipalMatch::ViaAccount(a.to_owned()),
            Some(_) => PrincipalMatch::No,
            None if e.raw == *arn || role_arn.as_deref() == Some(e.raw.as_str()) => {
                PrincipalMatch::Direct
            }
            None => PrincipalMatch::No,
        },
        (PrincipalKind::Aws, RequestPrincipal::AccountMember { account }) => match e.account_root()
        {
            Some(a) if a == account => PrincipalMatch::ViaAccount(a.to_owned()),
            _ => PrincipalMatch::No,
        },
        (PrincipalKind::Aws, RequestPrincipal::Anyone) if e.account_root().is_some() => {
            PrincipalMatch::Unknown
        }
        _ => PrincipalMatch::No,
    }
}

/// A Resource pattern against a request resource that is itself a pattern
/// ([`Request::resource_pattern`]): True when the statement's pattern covers every resource the
/// request stands for, Unknown when it may match some, False when it matches none. ARN patterns
/// are compared part by part, as [`arn_match`] does.
fn pattern_resource_match(policy: &[Tok], arn_pattern: bool, request_tokens: &[Tok]) -> Tri {
    let decide = |p: &[Tok], r: &[Tok]| {
        if covers(p, r, false) {
            Tri::True
        } else if may_intersect(p, r, false) {
            Tri::Unknown
        } else {
            Tri::False
        }
    };
    if !arn_pattern {
        return decide(policy, request_tokens);
    }
    match (arn_token_parts(policy), arn_token_parts(request_tokens)) {
        (Some(p), Some(r)) => {
            let mut acc = Tri::True;
            for (a, b) in p.iter().zip(&r) {
                acc = acc.and(decide(a, b));
                if acc == Tri::False {
                    break;
                }
            }
            acc
        }
        _ => Tri::False,
    }
}

/// Every KMS key ARN matches this (`arn:PARTITION:kms:REGION:ACCOUNT:key/ID`).
const ANY_KEY_ARN: &str = "arn:*:kms:*:*:key/*";

/// Whether a Resource pattern can match some KMS key ARN (ARN patterns part by part, as
/// `arn_match` reads them).
fn can_match_a_key(pattern: &[Tok], arn_pattern: bool) -> bool {
    let key = tokens(ANY_KEY_ARN, true);
    if !arn_pattern {
        return may_intersect(pattern, &key, false);
    }
    match (arn_token_parts(pattern), arn_token_parts(&key)) {
        (Some(p), Some(k)) => p.iter().zip(&k).all(|(a, b)| may_intersect(a, b, false)),
        _ => false, // not six parts: arn_match never matches
    }
}

fn match_resource(
    clause: &Clause<Vec<String>>,
    req: &Request,
    vars: bool,
    resource_tokens: &Option<Vec<Tok>>,
    unknown: &mut Vec<String>,
) -> Tri {
    let mut any = Tri::False;
    for pattern in &clause.items {
        let m = if pattern == "*" {
            Tri::True
        } else if let Some(r) = unknown_reason(pattern) {
            push_unique(unknown, r);
            Tri::Unknown
        } else {
            match expand(pattern, vars, true, &req.context) {
                Expanded::Pattern(p) => match (&req.resource, resource_tokens) {
                    (Some(_), Some(tokens)) => {
                        let m = pattern_resource_match(&p, pattern.starts_with("arn:"), tokens);
                        if m == Tri::Unknown {
                            push_unique(unknown, "resource (which of the log files)");
                        }
                        m
                    }
                    (Some(resource), None) => Tri::from_bool(if pattern.starts_with("arn:") {
                        arn_match(&p, resource)
                    } else {
                        matches_tokens(&p, resource, false)
                    }),
                    // The key ARN is not known, but a pattern no key ARN can match (another
                    // service, another resource type) is decided.
                    (None, _) if !can_match_a_key(&p, pattern.starts_with("arn:")) => Tri::False,
                    (None, _) => {
                        push_unique(unknown, "resource (key ARN)");
                        Tri::Unknown
                    }
                },
                Expanded::Unknown(k) => {
                    push_unique(unknown, &k);
                    Tri::Unknown
                }
                Expanded::NoMatch(_) => Tri::False,
            }
        };
        any = any.or(m);
        if any == Tri::True {
            break;
        }
    }
    if clause.negated {
        !any
    } else {
        any
    }
}

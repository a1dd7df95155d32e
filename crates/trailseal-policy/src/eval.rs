//! Evaluation of a request against a key policy, in three-valued logic.
//!
//! Rules (each has a test in `tests/semantics.rs`):
//! - every statement is considered; an applicable Deny beats any Allow;
//! - a statement applies when principal, action, resource and every condition hold;
//! - a context key may be Known, Absent or Unknown; a condition on an Unknown key is Unknown,
//!   and an Unknown that could change the outcome makes the decision `Indeterminate`;
//! - in a KMS key policy, `arn:aws:iam::ACCT:root` (or `ACCT`) delegates to the IAM policies of
//!   ACCT: an Allow reached only that way is reported in [`Evaluation::via_iam_accounts`].

use std::net::IpAddr;

use serde::Serialize;

use crate::glob::{arn_match, matches_tokens, Tok};
use crate::model::*;
use crate::request::{Context, KeyState, Request, RequestPrincipal};
use crate::values::{parse_bool, parse_cidr, parse_date, parse_number};
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
    pub action: bool,
    pub resource: Tri,
    pub conditions: Vec<ConditionResult>,
    pub applies: Tri,
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
    let statements: Vec<StatementResult> = policy
        .statements
        .iter()
        .map(|s| evaluate_statement(s, request, vars))
        .collect();

    let pick = |effect: Effect, applies: Tri| -> Vec<usize> {
        statements
            .iter()
            .filter(|r| r.effect == effect && r.applies == applies)
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
        (Decision::Indeterminate, deny_unknown)
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
                let r = &statements[i];
                if r.principal == PrincipalMatch::Unknown {
                    push_unique(&mut unknown_keys, "aws:PrincipalAccount");
                }
                if r.resource == Tri::Unknown {
                    push_unique(&mut unknown_keys, "resource (key ARN)");
                }
                for c in &r.conditions {
                    for k in &c.unknown_keys {
                        push_unique(&mut unknown_keys, k);
                    }
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

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_owned());
    }
}

fn evaluate_statement(s: &Statement, req: &Request, vars: bool) -> StatementResult {
    let mut principal = match_principal(&s.principal, &req.principal);
    if s.effect == Effect::Deny {
        // A Deny naming an account applies to every principal of that account.
        if let PrincipalMatch::ViaAccount(_) = principal {
            principal = PrincipalMatch::Direct;
        }
    }
    let mut action_pattern = None;
    let action = if s.action.negated {
        !s.action
            .items
            .iter()
            .any(|p| crate::glob::glob_match(p, &req.action, true))
    } else {
        action_pattern = s
            .action
            .items
            .iter()
            .position(|p| crate::glob::glob_match(p, &req.action, true));
        action_pattern.is_some()
    };
    let resource = match_resource(&s.resource, req, vars);
    let mut applies = principal.tri().and(Tri::from_bool(action)).and(resource);
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
    StatementResult {
        index: s.index,
        effect: s.effect,
        principal,
        action_pattern,
        action,
        resource,
        conditions,
        applies,
    }
}

fn match_principal(clause: &Clause<Principals>, req: &RequestPrincipal) -> PrincipalMatch {
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
    if !clause.negated {
        return entries
            .iter()
            .map(|e| match_entry(e, req))
            .max_by_key(PrincipalMatch::rank)
            .unwrap_or(PrincipalMatch::No);
    }
    // NotPrincipal: the statement applies to every principal that is not listed. A named IAM
    // principal counts as listed only when both its own ARN and its account are listed (IAM
    // evaluates the request as both); an unnamed principal is never fully listed.
    if entries.iter().any(PrincipalEntry::is_wildcard) {
        return PrincipalMatch::No;
    }
    let listed = match req {
        RequestPrincipal::Service { name } => entries
            .iter()
            .any(|e| e.kind == PrincipalKind::Service && e.raw == *name),
        RequestPrincipal::Aws { arn, account, .. } => {
            let me = entries
                .iter()
                .any(|e| e.kind == PrincipalKind::Aws && e.raw == *arn);
            let acct = entries
                .iter()
                .any(|e| e.account_root() == Some(account.as_str()));
            me && acct
        }
        RequestPrincipal::AccountMember { .. } | RequestPrincipal::Anyone => false,
    };
    if listed {
        PrincipalMatch::No
    } else {
        PrincipalMatch::Direct
    }
}

fn match_entry(e: &PrincipalEntry, req: &RequestPrincipal) -> PrincipalMatch {
    if e.is_wildcard() {
        return PrincipalMatch::Direct;
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

fn match_resource(clause: &Clause<Vec<String>>, req: &Request, vars: bool) -> Tri {
    let mut any = Tri::False;
    for pattern in &clause.items {
        let m = if pattern == "*" {
            Tri::True
        } else {
            match &req.resource {
                None => Tri::Unknown,
                Some(resource) => match expand(pattern, vars, true, &req.context) {
                    Expanded::Pattern(p) => Tri::from_bool(if pattern.starts_with("arn:") {
                        arn_match(&p, resource)
                    } else {
                        matches_tokens(&p, resource, false)
                    }),
                    Expanded::Unknown(_) => Tri::Unknown,
                    Expanded::NoMatch => Tri::False,
                },
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

fn positive(base: BaseOperator) -> BaseOperator {
    use BaseOperator::*;
    match base {
        StringNotEquals => StringEquals,
        StringNotEqualsIgnoreCase => StringEqualsIgnoreCase,
        StringNotLike => StringLike,
        NumericNotEquals => NumericEquals,
        DateNotEquals => DateEquals,
        NotIpAddress => IpAddress,
        ArnNotEquals => ArnEquals,
        ArnNotLike => ArnLike,
        other => other,
    }
}

/// Evaluates one condition (operator + key + values) against the context.
pub(crate) fn evaluate_condition(
    c: &Condition,
    ctx: &Context,
    vars: bool,
    unknown: &mut Vec<String>,
) -> Tri {
    let Some(op) = c.operator else {
        // An operator IAM does not know: we cannot say what it would do.
        push_unique(unknown, &c.key);
        return Tri::Unknown;
    };
    let state = ctx.get(&c.key);
    if op.base == BaseOperator::Null {
        let mut expects_absent = Vec::with_capacity(c.values.len());
        for v in &c.values {
            match parse_bool(v) {
                Some(b) => expects_absent.push(b),
                None => {
                    push_unique(unknown, &c.key);
                    return Tri::Unknown; // invalid Null value (lint NULL_NON_BOOLEAN)
                }
            }
        }
        return match state {
            KeyState::Unknown => {
                push_unique(unknown, &c.key);
                Tri::Unknown
            }
            KeyState::Absent => Tri::from_bool(expects_absent.contains(&true)),
            KeyState::Known(_) => Tri::from_bool(expects_absent.contains(&false)),
        };
    }
    match state {
        KeyState::Unknown => {
            push_unique(unknown, &c.key);
            Tri::Unknown
        }
        KeyState::Absent => Tri::from_bool(match op.set {
            SetQualifier::ForAllValues => true,
            SetQualifier::ForAnyValue => op.if_exists,
            SetQualifier::Single => op.if_exists || op.base.is_negated(),
        }),
        KeyState::Known(values) => {
            let mut test =
                |vals: &[String]| match_values(op.base, vals, &c.values, ctx, vars, unknown);
            match op.set {
                SetQualifier::Single => test(values),
                SetQualifier::ForAnyValue => values
                    .iter()
                    .fold(Tri::False, |acc, v| acc.or(test(std::slice::from_ref(v)))),
                SetQualifier::ForAllValues => values
                    .iter()
                    .fold(Tri::True, |acc, v| acc.and(test(std::slice::from_ref(v)))),
            }
        }
    }
}

/// Single-valued semantics: a positive operator holds when some request value matches some
/// policy value (values ORed); a negated operator holds when none does (NOR).
fn match_values(
    base: BaseOperator,
    request_values: &[String],
    policy_values: &[String],
    ctx: &Context,
    vars: bool,
    unknown: &mut Vec<String>,
) -> Tri {
    let pos = positive(base);
    let mut any = Tri::False;
    'outer: for v in request_values {
        for pv in policy_values {
            any = any.or(compare(pos, v, pv, ctx, vars, unknown));
            if any == Tri::True {
                break 'outer;
            }
        }
    }
    if base.is_negated() {
        !any
    } else {
        any
    }
}

fn compare(
    op: BaseOperator,
    value: &str,
    policy_value: &str,
    ctx: &Context,
    vars: bool,
    unknown: &mut Vec<String>,
) -> Tri {
    use BaseOperator::*;
    let with_pattern =
        |wildcards: bool, unknown: &mut Vec<String>, f: &dyn Fn(&[Tok]) -> bool| -> Tri {
            match expand(policy_value, vars && op.takes_variables(), wildcards, ctx) {
                Expanded::Pattern(p) => Tri::from_bool(f(&p)),
                Expanded::Unknown(k) => {
                    push_unique(unknown, &k);
                    Tri::Unknown
                }
                Expanded::NoMatch => Tri::False,
            }
        };
    let numeric =
        |cmp: fn(f64, f64) -> bool| match (parse_number(value), parse_number(policy_value)) {
            (Some(a), Some(b)) => Tri::from_bool(cmp(a, b)),
            _ => Tri::False,
        };
    let date = |cmp: fn(f64, f64) -> bool| match (parse_date(value), parse_date(policy_value)) {
        (Some(a), Some(b)) => Tri::from_bool(cmp(a, b)),
        _ => Tri::False,
    };
    match op {
        StringEquals => with_pattern(false, unknown, &|p| matches_tokens(p, value, false)),
        StringEqualsIgnoreCase => with_pattern(false, unknown, &|p| matches_tokens(p, value, true)),
        StringLike => with_pattern(true, unknown, &|p| matches_tokens(p, value, false)),
        ArnEquals | ArnLike => with_pattern(true, unknown, &|p| arn_match(p, value)),
        NumericEquals => numeric(|a, b| a == b),
        NumericLessThan => numeric(|a, b| a < b),
        NumericLessThanEquals => numeric(|a, b| a <= b),
        NumericGreaterThan => numeric(|a, b| a > b),
        NumericGreaterThanEquals => numeric(|a, b| a >= b),
        DateEquals => date(|a, b| a == b),
        DateLessThan => date(|a, b| a < b),
        DateLessThanEquals => date(|a, b| a <= b),
        DateGreaterThan => date(|a, b| a > b),
        DateGreaterThanEquals => date(|a, b| a >= b),
        Bool => match (parse_bool(value), parse_bool(policy_value)) {
            (Some(a), Some(b)) => Tri::from_bool(a == b),
            _ => Tri::False,
        },
        BinaryEquals => Tri::from_bool(value == policy_value),
        IpAddress => match (parse_cidr(policy_value), value.trim().parse::<IpAddr>()) {
            (Some(cidr), Ok(ip)) => Tri::from_bool(cidr.contains(ip)),
            _ => Tri::False,
        },
        // Negated operators were mapped to their positive twin by the caller; Null handled above.
        StringNotEquals
        | StringNotEqualsIgnoreCase
        | StringNotLike
        | NumericNotEquals
        | DateNotEquals
        | NotIpAddress
        | ArnNotEquals
        | ArnNotLike
        | Null => Tri::Unknown,
    }
}

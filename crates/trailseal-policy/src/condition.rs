//! Evaluation of one condition (operator + key + values) in three-valued logic.
//!
//! - a key that is Unknown makes the condition Unknown; Absent follows IAM's rules (negated
//!   operators and `...IfExists` hold, others do not; `ForAllValues` holds);
//! - a key known only by a pattern ([`KeyState::Pattern`]) is decided when the answer is the
//!   same for every value the pattern allows, Unknown otherwise;
//! - a policy value that cannot be read for its operator (a number, date, IP address or
//!   boolean that does not parse), an unknown-value marker, or a policy variable that cannot
//!   be resolved under a negated operator is Unknown: it never silently grants or denies.

use std::net::IpAddr;

use crate::eval::{push_unique, Tri};
use crate::glob::{arn_match, arn_token_parts, covers, matches_tokens, may_intersect, Tok};
use crate::model::*;
use crate::request::{pattern_tokens, Context, KeyState};
use crate::unknown::unknown_reason;
use crate::values::{parse_bool, parse_cidr, parse_date, parse_number};
use crate::vars::{expand, Expanded};

/// One request value: known text, or one alternative of a [`KeyState::Pattern`].
#[derive(Clone, Copy)]
enum Value<'a> {
    Text(&'a str),
    Pattern(&'a [Tok]),
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
    if let Some(r) = unknown_reason(&c.key).or_else(|| unknown_reason(&c.operator_text)) {
        let what = if r.trim().is_empty() {
            "a condition not known before deployment"
        } else {
            r
        };
        push_unique(unknown, what);
        return Tri::Unknown;
    }
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
                    push_unique(unknown, unknown_reason(v).unwrap_or(&c.key));
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
            KeyState::Known(_) | KeyState::Pattern(_) => {
                Tri::from_bool(expects_absent.contains(&false))
            }
        };
    }
    let cx = Cx {
        ctx,
        vars,
        key: &c.key,
        negated: op.base.is_negated(),
    };
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
        // A multivalued key without a set operator: AWS documents only that such keys need
        // ForAnyValue/ForAllValues; what IAM does without one is not documented, so the
        // condition is unknown (lint MULTIVALUED_KEY_WITHOUT_SET_OPERATOR).
        KeyState::Known(_) | KeyState::Pattern(_)
            if op.set == SetQualifier::Single && crate::lint::multi_valued(&c.key) =>
        {
            push_unique(unknown, &c.key);
            Tri::Unknown
        }
        KeyState::Known(values) => {
            let values: Vec<Value> = values.iter().map(|v| Value::Text(v)).collect();
            let mut test = |vals: &[Value]| match_values(op.base, vals, &c.values, &cx, unknown);
            match op.set {
                SetQualifier::Single => test(&values),
                SetQualifier::ForAnyValue => values
                    .iter()
                    .fold(Tri::False, |acc, v| acc.or(test(std::slice::from_ref(v)))),
                SetQualifier::ForAllValues => values
                    .iter()
                    .fold(Tri::True, |acc, v| acc.and(test(std::slice::from_ref(v)))),
            }
        }
        KeyState::Pattern(alternatives) => {
            // One value, matching one of the alternatives: decided only when every
            // alternative gives the same answer. With one value, the set qualifiers agree.
            let mut result: Option<Tri> = None;
            for alt in alternatives {
                let tokens = pattern_tokens(alt);
                let r = match_values(op.base, &[Value::Pattern(&tokens)], &c.values, &cx, unknown);
                result = Some(match result {
                    None => r,
                    Some(prev) if prev == r => r,
                    Some(_) => Tri::Unknown,
                });
            }
            let result = result.unwrap_or(Tri::Unknown);
            if result == Tri::Unknown {
                push_unique(unknown, &c.key);
            }
            result
        }
    }
}

/// What a comparison needs besides the two values.
struct Cx<'a> {
    ctx: &'a Context,
    vars: bool,
    key: &'a str,
    /// The condition's operator is negated (a value that cannot be resolved is then Unknown).
    negated: bool,
}

/// Single-valued semantics: a positive operator holds when some request value matches some
/// policy value (values ORed); a negated operator holds when none does (NOR).
fn match_values(
    base: BaseOperator,
    request_values: &[Value],
    policy_values: &[String],
    cx: &Cx,
    unknown: &mut Vec<String>,
) -> Tri {
    let pos = positive(base);
    let mut any = Tri::False;
    'outer: for v in request_values {
        for pv in policy_values {
            let r = match unknown_reason(pv) {
                Some(reason) => {
                    push_unique(unknown, reason);
                    Tri::Unknown
                }
                None => compare(pos, *v, pv, cx, unknown),
            };
            any = any.or(r);
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

/// The text of a pattern without wildcards.
fn literal_text(tokens: &[Tok]) -> Option<String> {
    tokens
        .iter()
        .map(|t| match t {
            Tok::Lit(c) => Some(*c),
            _ => None,
        })
        .collect()
}

/// A string operator against a request pattern: True when the policy pattern covers it, False
/// when they cannot meet, Unknown otherwise.
fn decide_string(policy: &[Tok], request: &[Tok], ignore_case: bool) -> Tri {
    if covers(policy, request, ignore_case) {
        Tri::True
    } else if !may_intersect(policy, request, ignore_case) {
        Tri::False
    } else {
        Tri::Unknown
    }
}

/// `ArnLike`/`ArnEquals` against a request pattern, part by part.
fn decide_arn(policy: &[Tok], request: &[Tok]) -> Tri {
    let wildcard = |t: &Tok| matches!(t, Tok::Star | Tok::One);
    let Some(policy_parts) = arn_token_parts(policy) else {
        return Tri::False; // not an ARN pattern: matches no value
    };
    let Some(request_parts) = arn_token_parts(request) else {
        return if request.iter().any(wildcard) {
            Tri::Unknown
        } else {
            Tri::False
        };
    };
    if request_parts[..5].iter().any(|p| p.iter().any(wildcard)) {
        return Tri::Unknown; // a wildcard might stand for colons: parts are not known
    }
    let mut all = true;
    for (p, r) in policy_parts.iter().zip(&request_parts) {
        if !may_intersect(p, r, false) {
            return Tri::False;
        }
        all &= covers(p, r, false);
    }
    if all {
        Tri::True
    } else {
        Tri::Unknown
    }
}

fn compare(
    op: BaseOperator,
    value: Value,
    policy_value: &str,
    cx: &Cx,
    unknown: &mut Vec<String>,
) -> Tri {
    use BaseOperator::*;
    if let Value::Pattern(tokens) = value {
        if let Some(text) = literal_text(tokens) {
            return compare(op, Value::Text(&text), policy_value, cx, unknown);
        }
    }
    let undecidable = |unknown: &mut Vec<String>| {
        push_unique(unknown, cx.key);
        Tri::Unknown
    };
    let text = match value {
        Value::Text(t) => Some(t),
        Value::Pattern(_) => None,
    };
    let with_pattern = |wildcards: bool,
                        unknown: &mut Vec<String>,
                        on_text: &dyn Fn(&[Tok], &str) -> bool,
                        on_pattern: &dyn Fn(&[Tok], &[Tok]) -> Tri|
     -> Tri {
        match expand(
            policy_value,
            cx.vars && op.takes_variables(),
            wildcards,
            cx.ctx,
        ) {
            Expanded::Pattern(p) => match value {
                Value::Text(t) => Tri::from_bool(on_text(&p, t)),
                Value::Pattern(r) => on_pattern(&p, r),
            },
            Expanded::Unknown(k) => {
                push_unique(unknown, &k);
                Tri::Unknown
            }
            // A variable naming an absent key without a default matches nothing; under a
            // negated operator that would grant or deny on a value nobody wrote: Unknown.
            Expanded::NoMatch(k) if cx.negated => {
                push_unique(unknown, &k);
                Tri::Unknown
            }
            Expanded::NoMatch(_) => Tri::False,
        }
    };
    let typed = |parse: fn(&str) -> Option<f64>,
                 cmp: fn(f64, f64) -> bool,
                 unknown: &mut Vec<String>|
     -> Tri {
        match (text.and_then(parse), parse(policy_value)) {
            (Some(a), Some(b)) => Tri::from_bool(cmp(a, b)),
            _ => {
                push_unique(unknown, cx.key);
                Tri::Unknown
            }
        }
    };
    match op {
        StringEquals => with_pattern(
            false,
            unknown,
            &|p, t| matches_tokens(p, t, false),
            &|p, r| decide_string(p, r, false),
        ),
        StringEqualsIgnoreCase => with_pattern(
            false,
            unknown,
            &|p, t| matches_tokens(p, t, true),
            &|p, r| decide_string(p, r, true),
        ),
        StringLike => with_pattern(
            true,
            unknown,
            &|p, t| matches_tokens(p, t, false),
            &|p, r| decide_string(p, r, false),
        ),
        ArnEquals | ArnLike => with_pattern(true, unknown, &|p, t| arn_match(p, t), &decide_arn),
        NumericEquals => typed(parse_number, |a, b| a == b, unknown),
        NumericLessThan => typed(parse_number, |a, b| a < b, unknown),
        NumericLessThanEquals => typed(parse_number, |a, b| a <= b, unknown),
        NumericGreaterThan => typed(parse_number, |a, b| a > b, unknown),
        NumericGreaterThanEquals => typed(parse_number, |a, b| a >= b, unknown),
        DateEquals => typed(parse_date, |a, b| a == b, unknown),
        DateLessThan => typed(parse_date, |a, b| a < b, unknown),
        DateLessThanEquals => typed(parse_date, |a, b| a <= b, unknown),
        DateGreaterThan => typed(parse_date, |a, b| a > b, unknown),
        DateGreaterThanEquals => typed(parse_date, |a, b| a >= b, unknown),
        Bool => match (text.and_then(parse_bool), parse_bool(policy_value)) {
            (Some(a), Some(b)) => Tri::from_bool(a == b),
            _ => undecidable(unknown),
        },
        BinaryEquals => match text {
            Some(t) => Tri::from_bool(t == policy_value),
            None => undecidable(unknown),
        },
        IpAddress => match (
            parse_cidr(policy_value),
            text.and_then(|t| t.trim().parse::<IpAddr>().ok()),
        ) {
            (Some(cidr), Some(ip)) => Tri::from_bool(cidr.contains(ip)),
            _ => undecidable(unknown),
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
        | Null => undecidable(unknown),
    }
}

//! Human explanations of an [`Evaluation`]: for each statement, whether it applies and which
//! element or condition decided that.

use crate::eval::{Evaluation, PrincipalMatch, StatementResult, Tri};
use crate::model::{Policy, Statement};
use crate::request::{KeyState, Request};

fn tri_word(t: Tri) -> &'static str {
    match t {
        Tri::True => "true",
        Tri::False => "false",
        Tri::Unknown => "unknown",
    }
}

fn quote_list(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("\"{v}\"")).collect();
    if quoted.len() == 1 {
        quoted[0].clone()
    } else {
        format!("[{}]", quoted.join(", "))
    }
}

fn key_state(state: &KeyState) -> String {
    match state {
        KeyState::Known(v) => format!("request has {}", quote_list(v)),
        KeyState::Absent => "key absent from request".into(),
        KeyState::Unknown => "value unknown".into(),
        KeyState::Pattern(p) => format!("request value matches one of {}", quote_list(p)),
    }
}

/// One line per statement, plus indented lines giving the reasons for statements that could
/// apply. Statements are listed in document order; deciding ones are marked with `*`.
pub fn explain(policy: &Policy, request: &Request, eval: &Evaluation) -> Vec<String> {
    let mut lines = Vec::new();
    for (stmt, result) in policy.statements.iter().zip(&eval.statements) {
        let mark = if eval.deciding.contains(&stmt.index) {
            "*"
        } else {
            " "
        };
        let verdict = match result.applies {
            Tri::True => "applies".to_owned(),
            Tri::Unknown => "may apply (depends on unknown values)".to_owned(),
            Tri::False => format!("does not apply ({})", why_not(stmt, result)),
        };
        lines.push(format!(
            "{mark} {} {}: {verdict}",
            stmt.label(),
            stmt.effect
        ));
        if result.applies == Tri::False && result.conditions.iter().all(|c| c.result != Tri::False)
        {
            continue;
        }
        lines.push(format!(
            "    principal: {}",
            principal_reason(request, &result.principal, stmt.principal.negated)
        ));
        if let Some(i) = result.action_pattern {
            lines.push(format!(
                "    action: {} matches \"{}\"",
                request.action, stmt.action.items[i]
            ));
        } else if stmt.action.negated {
            lines.push(format!(
                "    action: {} is not in NotAction",
                request.action
            ));
        }
        for c in &result.conditions {
            let cond = &stmt.conditions[c.index];
            let state = key_state(request.context.get(&cond.key));
            let note = if cond.operator.is_none() {
                " (operator unknown to IAM)"
            } else {
                ""
            };
            lines.push(format!(
                "    condition {} {} {}: {} ({state}){note}",
                cond.operator_text,
                cond.key,
                quote_list(&cond.values),
                tri_word(c.result)
            ));
        }
    }
    lines
}

fn principal_reason(request: &Request, m: &PrincipalMatch, negated: bool) -> String {
    let who = request.principal.describe();
    if negated {
        return match m {
            PrincipalMatch::No => format!("{who} is listed in NotPrincipal"),
            PrincipalMatch::Unknown => format!("{who}: whether NotPrincipal lists it is unknown"),
            _ => format!("{who} is not listed in NotPrincipal, so the statement covers it"),
        };
    }
    match m {
        PrincipalMatch::Direct => format!("{who} is named (or covered by *)"),
        PrincipalMatch::ViaAccount(a) => {
            format!("{who} is in account {a}, which the statement names: delegated to IAM policies in {a}")
        }
        PrincipalMatch::No => format!("{who} is not named"),
        PrincipalMatch::Unknown => format!("{who}: whether the statement names it is unknown"),
    }
}

fn why_not(stmt: &Statement, r: &StatementResult) -> String {
    if r.principal == PrincipalMatch::No {
        return format!(
            "{} does not match",
            if stmt.principal.negated {
                "NotPrincipal"
            } else {
                "Principal"
            }
        );
    }
    if r.action == Tri::False {
        return format!(
            "{} does not cover the action",
            if stmt.action.negated {
                "NotAction"
            } else {
                "Action"
            }
        );
    }
    if r.resource == Tri::False {
        return "Resource does not match".into();
    }
    match r.conditions.iter().find(|c| c.result == Tri::False) {
        Some(c) => {
            let cond = &stmt.conditions[c.index];
            format!("condition {} {} is false", cond.operator_text, cond.key)
        }
        None => "no match".into(),
    }
}

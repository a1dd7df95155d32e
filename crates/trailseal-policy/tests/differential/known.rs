//! The known disagreements (trailseal bugs and documented differences), with the predicates that
//! excuse one statement, and how a disagreement is explained.

use super::*;

// ---------------------------------------------------------------------------------------------
// Known disagreements. When the two answers differ, the test asks iam-simulate, statement by
// statement, which statements of the policy apply to the request (each statement alone, made a
// Deny: it applies iff the answer is ExplicitlyDenied) and compares with the statements that
// apply in trailseal. Every statement on which they differ must show a known rule below, and
// there must be at least one; nothing else is excused. In the default batch every entry must
// still explain a disagreement, so a fixed bug (or an upgraded iam-simulate) makes the test fail
// until its entry is removed: the lists can only shrink safely.
// ---------------------------------------------------------------------------------------------

/// One explained kind of disagreement.
pub(crate) struct Known {
    pub(crate) name: &'static str,
    /// What differs and which side is right.
    pub(crate) description: &'static str,
    /// The AWS documentation page that decides it.
    pub(crate) reference: &'static str,
    /// Whether a statement on which the two evaluators differ shows the rule. The flag says
    /// whether the statement applies in trailseal (it does not in iam-simulate, and vice versa).
    pub(crate) statement: fn(&Case, &Value, bool) -> bool,
}

/// trailseal bugs found by this test, to be fixed in `crates/trailseal-policy/src/`. Delete the
/// entry with the fix: the test then checks that the disagreement is gone.
pub(crate) const KNOWN_BUGS: &[Known] = &[];

/// Places where iam-simulate is wrong (each documented in `docs/policy-differential.md`).
pub(crate) const KNOWN_DIFFERENCES: &[Known] = &[
    Known {
        name: "not-principal-needs-account-and-arn",
        description: "a Deny with NotPrincipal that lists only some of the caller's names (its \
                      account alone, its ARN without its account, a session's role): iam-simulate \
                      exempts the caller, trailseal denies it; AWS exempts only a principal listed \
                      together with its account (and, for a session, its role): trailseal is right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html",
        statement: not_principal_partly_lists_caller,
    },
    Known {
        name: "arn-operator-with-policy-variable",
        description: "ArnEquals/ArnLike/ArnNotEquals/ArnNotLike with a policy variable in the value \
                      (`arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*`): iam-simulate does not \
                      substitute it, trailseal does; AWS: conditions support variables with string \
                      and ARN operators, so trailseal is right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-reference-policy-checks.html#access-analyzer-reference-policy-checks-error-invalid-variable-for-operator",
        statement: has_arn_operator_with_variable,
    },
    Known {
        name: "variables-need-version-2012-10-17",
        description: "a policy without \"Version\": \"2012-10-17\" that uses `${...}` in a condition: \
                      iam-simulate substitutes the variable, trailseal compares the literal text; \
                      AWS: policy variables work only under Version 2012-10-17 (without a Version \
                      element the policy is 2008-10-17 and `${...}` is literal), so trailseal is \
                      right",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html",
        statement: has_variable_without_version_2012,
    },
    Known {
        name: "multivalued-key-without-set-operator",
        description: "a condition on a multivalued key (`kms:EncryptionContextKeys`) without \
                      ForAnyValue/ForAllValues: iam-simulate never matches it, trailseal reports \
                      Indeterminate; AWS documents only that multivalued keys require a set \
                      operator, not what happens without one, so trailseal does not decide",
        reference: "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html",
        statement: undecided_multivalued_key_without_set_operator,
    },
];

/// The known entries that explain a disagreement (empty: unexplained).
pub(crate) fn explained(case: &Case, o: &Outcome) -> Vec<&'static Known> {
    let Some(sim_applies) = &o.sim_applies else {
        return Vec::new();
    };
    if o.agrees(case) || o.trailseal.is_none() {
        return Vec::new();
    }
    let mut used: Vec<&'static Known> = Vec::new();
    let mut contested = 0;
    for (i, s) in case.statements().iter().enumerate() {
        let ours = o.applies.get(i).copied().flatten();
        let theirs = sim_applies.get(i).copied();
        if ours == theirs {
            continue;
        }
        contested += 1;
        // A statement trailseal cannot decide did not decide a definite answer (an undecided
        // statement that could change it would make the answer Indeterminate): the
        // disagreement then lies with the others. When the answer is Indeterminate, the
        // undecided statement must show a rule trailseal leaves undecided by design.
        let ours = match ours {
            Some(ours) => ours,
            None if o.trailseal != Some(Decision::Indeterminate) => {
                contested -= 1;
                continue;
            }
            None => false,
        };
        match KNOWN_BUGS
            .iter()
            .chain(KNOWN_DIFFERENCES)
            .find(|k| (k.statement)(case, s, ours))
        {
            Some(k) => {
                if !used.iter().any(|u| u.name == k.name) {
                    used.push(k);
                }
            }
            None => return Vec::new(),
        }
    }
    if contested == 0 {
        return Vec::new(); // same statements apply, different decisions: a combination bug
    }
    used
}

pub(crate) fn supports_variables(case: &Case) -> bool {
    case.policy["Version"] == "2012-10-17"
}

/// A Deny whose NotPrincipal names the IAM caller partly: some of its names (its ARN, its
/// account, a session's role) but not both its ARN and its account.
pub(crate) fn not_principal_partly_lists_caller(case: &Case, s: &Value, ours: bool) -> bool {
    let Caller::Iam {
        arn,
        account,
        principal_arn,
    } = &case.caller
    else {
        return false;
    };
    let Some(np) = s.get("NotPrincipal") else {
        return false;
    };
    let names = aws_principals(np);
    let listed = |n: &str| names.iter().any(|x| x == n);
    let by_arn = listed(arn);
    let by_account = listed(account) || listed(&format!("arn:aws:iam::{account}:root"));
    let by_role = principal_arn != arn && listed(principal_arn);
    ours && s["Effect"] == "Deny" && (by_arn || by_account || by_role) && !(by_arn && by_account)
}

pub(crate) fn has_arn_operator_with_variable(case: &Case, s: &Value, _ours: bool) -> bool {
    supports_variables(case)
        && conditions(s).iter().any(|(op, _key, values)| {
            op.starts_with("Arn") && values.iter().any(|v| !variables(v).is_empty())
        })
}

pub(crate) fn has_variable_without_version_2012(case: &Case, s: &Value, _ours: bool) -> bool {
    !supports_variables(case)
        && conditions(s)
            .iter()
            .any(|(_op, _key, values)| values.iter().any(|v| !variables(v).is_empty()))
}

pub(crate) fn undecided_multivalued_key_without_set_operator(
    case: &Case,
    s: &Value,
    ours: bool,
) -> bool {
    !ours
        && matches!(case.context.get(EC_KEYS), Some(Val::Set(_)))
        && conditions(s).iter().any(|(op, key, _values)| {
            !op.starts_with("For") && op != "Null" && key.eq_ignore_ascii_case(EC_KEYS)
        })
}

/// The `AWS` entries of a Principal/NotPrincipal element.
pub(crate) fn aws_principals(element: &Value) -> Vec<String> {
    match &element["AWS"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The (operator, key, values) triples of a statement's Condition block.
pub(crate) fn conditions(statement: &Value) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let Some(block) = statement.get("Condition").and_then(Value::as_object) else {
        return out;
    };
    for (op, keys) in block {
        for (key, values) in keys.as_object().into_iter().flatten() {
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect(),
                Value::String(v) => vec![v.clone()],
                _ => Vec::new(),
            };
            out.push((op.clone(), key.clone(), values));
        }
    }
    out
}

/// The keys of the `${key}` / `${key, 'default'}` policy variables in a value.
pub(crate) fn variables(value: &str) -> Vec<&str> {
    value
        .split("${")
        .skip(1)
        .filter_map(|rest| rest.split('}').next())
        .map(|v| v.split(',').next().unwrap_or(v).trim())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The world the cases live in.
// ---------------------------------------------------------------------------------------------

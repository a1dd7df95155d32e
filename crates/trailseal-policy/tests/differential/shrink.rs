//! Shrinking a disagreement to a minimal repro.

use super::*;

/// Smaller variants of a case: one statement, condition, list element or context key fewer.
pub(crate) fn smaller(case: &Case) -> Vec<Case> {
    let mut out = Vec::new();
    let statements = case.statements().to_vec();
    let with_statements = |s: Vec<Value>| {
        let mut c = case.clone();
        c.policy["Statement"] = Value::Array(s);
        c
    };
    for i in 0..statements.len() {
        if statements.len() > 1 {
            let mut s = statements.clone();
            s.remove(i);
            out.push(with_statements(s));
        }
        let Some(st) = statements[i].as_object() else {
            continue;
        };
        for (field, value) in st {
            match value {
                Value::Array(items) if items.len() > 1 => {
                    for j in 0..items.len() {
                        let mut s = statements.clone();
                        let mut items = items.clone();
                        items.remove(j);
                        s[i][field] = one_or_many(items);
                        out.push(with_statements(s));
                    }
                }
                Value::Object(map) if field == "Condition" => {
                    for (op, block) in map {
                        let Some(block) = block.as_object() else {
                            continue;
                        };
                        for key in block.keys() {
                            let mut s = statements.clone();
                            let cond = s[i]["Condition"]
                                .as_object_mut()
                                .expect("Condition is an object");
                            let b = cond[op].as_object_mut().expect("block is an object");
                            b.remove(key);
                            if b.is_empty() {
                                cond.remove(op);
                            }
                            if cond.is_empty() {
                                s[i].as_object_mut().expect("statement").remove("Condition");
                            }
                            out.push(with_statements(s));
                        }
                    }
                }
                Value::Object(map) if field.ends_with("Principal") => {
                    for (ty, v) in map {
                        if map.len() > 1 {
                            let mut s = statements.clone();
                            s[i][field]
                                .as_object_mut()
                                .expect("principal map")
                                .remove(ty);
                            out.push(with_statements(s));
                        }
                        if let Value::Array(items) = v {
                            for j in 0..items.len() {
                                let mut s = statements.clone();
                                let mut items = items.clone();
                                items.remove(j);
                                if items.is_empty() {
                                    continue;
                                }
                                s[i][field][ty] = one_or_many(items);
                                out.push(with_statements(s));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    for key in case.context.keys() {
        let mut c = case.clone();
        c.context.remove(key);
        out.push(c);
    }
    out
}

pub(crate) fn is_unexplained(case: &Case, outcome: &Outcome) -> bool {
    !outcome.agrees(case) && explained(case, outcome).is_empty()
}

/// Greedy shrinking, one node run per round over all candidates of the current case.
pub(crate) fn shrink(node: &str, dir: &PathBuf, case: &Case, outcome: &Outcome) -> (Case, Outcome) {
    let (mut case, mut outcome) = (case.clone(), outcome.clone());
    for _round in 0..60 {
        let mut candidates = smaller(&case);
        for (i, c) in candidates.iter_mut().enumerate() {
            c.id = i;
        }
        if candidates.is_empty() {
            break;
        }
        let results = outcomes(node, dir, &candidates);
        match candidates
            .into_iter()
            .zip(results)
            .find(|(c, o)| is_unexplained(c, o))
        {
            Some((c, o)) => (case, outcome) = (c, o),
            None => break,
        }
    }
    (case, outcome)
}

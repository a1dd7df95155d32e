//! Terraform's built-in functions (the ones configurations use to build key ids, names and
//! policies): `jsonencode`, `format`, `merge`, `lookup`, `coalesce`, `file`, `templatefile`...

use serde_json::Value;

use super::{error, is_error, unknown, Module};
use crate::value::Val;

/// Functions that give a known (or partly known) result on partly unknown arguments, as
/// Terraform's do; every other function gives an unknown result when any argument contains
/// an unknown value.
const PARTIAL: &[&str] = &[
    "coalesce", "lookup", "merge", "one", "length", "keys", "values", "contains", "element",
    "concat", "tolist", "toset", "tomap",
];

/// The reason of the first evaluation error inside `v`.
fn first_error(v: &Val) -> Option<Val> {
    match v {
        Val::Unknown(_) if is_error(v) => Some(v.clone()),
        Val::List(items) => items.iter().find_map(first_error),
        Val::Map(entries) => entries.iter().find_map(|(_, v)| first_error(v)),
        _ => None,
    }
}

impl<'a> Module<'a> {
    /// Calls the function `name` on its evaluated arguments, which may be (partly) unknown.
    pub(super) fn call_fn(&self, name: &str, args: Vec<Val>) -> Val {
        match name {
            // try() returns its first argument that evaluates without an error; an argument
            // that is not wholly known makes the result unknown, since whether it will fail
            // cannot be known: only a known error moves on. can() likewise. "The try function
            // can only catch and handle dynamic errors resulting from access to data that isn't
            // known until runtime" (https://developer.hashicorp.com/terraform/language/functions/try,
            // .../functions/can).
            "try" => {
                for a in args {
                    if is_error(&a) {
                        continue;
                    }
                    if let Some(why) = a.unknown() {
                        return unknown(why.to_owned());
                    }
                    return a;
                }
                return error("try(): no argument could be evaluated without an error");
            }
            "can" => {
                return match args.first() {
                    Some(a) if is_error(a) => Val::Bool(false),
                    Some(a) => a
                        .unknown()
                        .map_or(Val::Bool(true), |why| unknown(why.to_owned())),
                    None => error("can() needs an argument"),
                }
            }
            _ => {}
        }
        // A known error is an error whatever the unknown values turn out to be.
        if let Some(e) = args.iter().find_map(first_error) {
            return e;
        }
        if PARTIAL.contains(&name) {
            return self.call_partial(name, &args);
        }
        // jsonencode() of a key policy with unknown values inside: the policy engine's
        // unknown-value markers stand for them, so what is known of the policy still counts.
        if name == "jsonencode" {
            if let Some(text) = args
                .first()
                .filter(|v| !matches!(v, Val::Unknown(_)))
                .and_then(Val::policy_json)
            {
                return Val::Str(text);
            }
        }
        if let Some(why) = args.iter().find_map(Val::unknown) {
            return unknown(why.to_owned());
        }
        self.call(name, &args)
    }

    /// The functions of [`PARTIAL`]: a wholly unknown argument where Terraform needs it
    /// makes the result unknown; unknown parts elsewhere stay where they are.
    fn call_partial(&self, name: &str, args: &[Val]) -> Val {
        let whole = |v: &Val| match v {
            Val::Unknown(why) => Some(unknown(why.clone())),
            _ => None,
        };
        match name {
            // The first argument that is not null or an empty string; an unknown one before it
            // could be either (https://developer.hashicorp.com/terraform/language/functions/coalesce).
            "coalesce" => {
                for a in args {
                    match a {
                        Val::Unknown(why) => return unknown(why.clone()),
                        Val::Null => {}
                        Val::Str(s) if s.is_empty() => {}
                        _ => return a.clone(),
                    }
                }
                error("coalesce(): no non-null, non-empty argument")
            }
            // A known key of a known map, whatever the other values are
            // (https://developer.hashicorp.com/terraform/language/functions/lookup).
            "lookup" => match (args.first(), args.get(1)) {
                (Some(m), _) if whole(m).is_some() => whole(m).unwrap_or(Val::Null),
                (_, Some(k)) if k.unknown().is_some() => {
                    unknown(k.unknown().unwrap_or_default().to_owned())
                }
                (Some(Val::Map(m)), Some(k)) => match k.text() {
                    Some(k) => m
                        .iter()
                        .find(|(x, _)| *x == k)
                        .map(|(_, v)| v.clone())
                        .or_else(|| args.get(2).cloned())
                        .unwrap_or_else(|| error(format!("lookup(): no key {k}"))),
                    None => error("lookup(): the key is not a string"),
                },
                _ => error("lookup(map, key, default)"),
            },
            // Later maps win key by key; a wholly unknown map could hold any key
            // (https://developer.hashicorp.com/terraform/language/functions/merge).
            "merge" => {
                let mut out: Vec<(String, Val)> = Vec::new();
                for a in args {
                    match a {
                        Val::Unknown(why) => return unknown(why.clone()),
                        Val::Null => {}
                        Val::Map(m) => {
                            for (k, v) in m {
                                out.retain(|(x, _)| x != k);
                                out.push((k.clone(), v.clone()));
                            }
                        }
                        _ => return error("merge() of a value that is not a map"),
                    }
                }
                Val::Map(out)
            }
            // https://developer.hashicorp.com/terraform/language/functions/one
            "one" => match args.first() {
                Some(Val::Unknown(why)) => unknown(why.clone()),
                Some(Val::Null) => Val::Null,
                Some(Val::List(l)) => match l.as_slice() {
                    [] => Val::Null,
                    [v] => v.clone(),
                    _ => error("one() of a list with more than one element"),
                },
                _ => error("one(list)"),
            },
            // The number of elements is known when the elements are not.
            "length" => match args.first() {
                Some(Val::Unknown(why)) => unknown(why.clone()),
                Some(Val::List(l)) => super::functions::num(l.len() as f64),
                Some(Val::Map(m)) => super::functions::num(m.len() as f64),
                Some(Val::Str(s)) => super::functions::num(s.chars().count() as f64),
                _ => error("length() of a value that has none"),
            },
            "keys" | "values" => match args.first() {
                Some(Val::Unknown(why)) => unknown(why.clone()),
                Some(Val::Map(m)) => Val::List(
                    m.iter()
                        .map(|(k, v)| {
                            if name == "keys" {
                                Val::Str(k.clone())
                            } else {
                                v.clone()
                            }
                        })
                        .collect(),
                ),
                _ => error(format!("{name}() of a value that is not a map")),
            },
            // True as soon as a known element equals the value; false only when every
            // element is known.
            "contains" => match (args.first(), args.get(1)) {
                (Some(Val::Unknown(why)), _) => unknown(why.clone()),
                (_, Some(v)) if v.unknown().is_some() => {
                    unknown(v.unknown().unwrap_or_default().to_owned())
                }
                (Some(Val::List(l)), Some(v)) => {
                    let same = |x: &Val| x == v || (x.text().is_some() && x.text() == v.text());
                    if l.iter().any(|x| x.unknown().is_none() && same(x)) {
                        Val::Bool(true)
                    } else if let Some(why) = l.iter().find_map(Val::unknown) {
                        unknown(why.to_owned())
                    } else {
                        Val::Bool(false)
                    }
                }
                _ => error("contains(list, value)"),
            },
            "element" => match (args.first(), args.get(1)) {
                (Some(Val::Unknown(why)), _) => unknown(why.clone()),
                (_, Some(i)) if i.unknown().is_some() => {
                    unknown(i.unknown().unwrap_or_default().to_owned())
                }
                (Some(Val::List(l)), Some(i)) => {
                    match i.text().and_then(|t| t.parse::<usize>().ok()) {
                        Some(i) if !l.is_empty() => l[i % l.len()].clone(),
                        Some(_) => error("element() of an empty list"),
                        None => error("element(): the index is not a whole number"),
                    }
                }
                _ => error("element(list, index)"),
            },
            "concat" => {
                let mut out = Vec::new();
                for a in args {
                    match a {
                        Val::Unknown(why) => return unknown(why.clone()),
                        Val::List(l) => out.extend(l.iter().cloned()),
                        _ => return error("concat() of a value that is not a list"),
                    }
                }
                Val::List(out)
            }
            // Conversions keep the unknown parts where they are.
            _ => args.first().cloned().unwrap_or(Val::Null),
        }
    }

    pub(super) fn call(&self, name: &str, args: &[Val]) -> Val {
        let text = |i: usize| args.get(i).and_then(Val::text);
        let list = |i: usize| match args.get(i) {
            Some(Val::List(l)) => Some(l.clone()),
            _ => None,
        };
        match name {
            "jsonencode" => args.first().map_or_else(
                || unknown("jsonencode()"),
                |v| Val::Str(v.to_json().to_string()),
            ),
            "jsondecode" => text(0)
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .map_or_else(|| error("jsondecode of invalid JSON"), |v| from_json(&v)),
            "lower" => text(0).map_or_else(|| unknown("lower()"), |t| Val::Str(t.to_lowercase())),
            "upper" => text(0).map_or_else(|| unknown("upper()"), |t| Val::Str(t.to_uppercase())),
            "trimspace" => {
                text(0).map_or_else(|| unknown("trimspace()"), |t| Val::Str(t.trim().to_owned()))
            }
            "tostring" => text(0).map_or_else(|| Val::Null, Val::Str),
            "tobool" => args.first().and_then(Val::truth).map_or_else(
                || error("tobool() of a value that is not a boolean"),
                Val::Bool,
            ),
            "tonumber" => match args.first() {
                Some(Val::Null) => Val::Null,
                _ => text(0).filter(|t| t.parse::<f64>().is_ok()).map_or_else(
                    || error("tonumber() of a value that is not a number"),
                    Val::Num,
                ),
            },
            "join" => match (text(0), list(1)) {
                (Some(sep), Some(items)) => items
                    .iter()
                    .map(Val::text)
                    .collect::<Option<Vec<_>>>()
                    .map_or_else(
                        || unknown("join of non-strings"),
                        |v| Val::Str(v.join(&sep)),
                    ),
                _ => unknown("join(separator, list)"),
            },
            "split" => match (text(0), text(1)) {
                (Some(sep), Some(t)) if !sep.is_empty() => Val::List(
                    t.split(sep.as_str())
                        .map(|p| Val::Str(p.to_owned()))
                        .collect(),
                ),
                _ => unknown("split(separator, string)"),
            },
            "replace" => match (text(0), text(1), text(2)) {
                (Some(t), Some(a), Some(b)) => Val::Str(t.replace(&a, &b)),
                _ => unknown("replace()"),
            },
            "format" => match text(0) {
                Some(f) => format_fn(&f, &args[1..]),
                None => unknown("format()"),
            },
            "compact" => list(0).map_or_else(
                || unknown("compact()"),
                |l| {
                    Val::List(
                        l.into_iter()
                            .filter(|v| v.text().is_some_and(|t| !t.is_empty()))
                            .collect(),
                    )
                },
            ),
            "flatten" => list(0).map_or_else(
                || unknown("flatten()"),
                |l| {
                    Val::List(
                        l.into_iter()
                            .flat_map(|v| match v {
                                Val::List(inner) => inner,
                                other => vec![other],
                            })
                            .collect(),
                    )
                },
            ),
            "distinct" => list(0).map_or_else(
                || unknown("distinct()"),
                |l| {
                    let mut out: Vec<Val> = Vec::new();
                    for v in l {
                        if !out.contains(&v) {
                            out.push(v);
                        }
                    }
                    Val::List(out)
                },
            ),
            "startswith" | "endswith" => match (text(0), text(1)) {
                (Some(t), Some(p)) => Val::Bool(if name == "startswith" {
                    t.starts_with(&p)
                } else {
                    t.ends_with(&p)
                }),
                _ => unknown(format!("{name}()")),
            },
            "file" => match text(0) {
                Some(p) => {
                    let path = self.resolve(&p);
                    std::fs::read_to_string(&path)
                        .map_or_else(|e| error(format!("file({p}): {e}")), Val::Str)
                }
                None => unknown("file()"),
            },
            "templatefile" => match (text(0), args.get(1)) {
                (Some(p), Some(Val::Map(vars))) => {
                    let path = self.resolve(&p);
                    match std::fs::read_to_string(&path) {
                        Ok(t) => self.template_file(&p, &t, vars),
                        Err(e) => unknown(format!("templatefile({p}): {e}")),
                    }
                }
                _ => unknown("templatefile(path, vars)"),
            },
            other => unknown(format!("function {other}() is not evaluated")),
        }
    }
}

pub(super) fn num(f: f64) -> Val {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        Val::Num(format!("{}", f as i64))
    } else {
        Val::Num(f.to_string())
    }
}

pub(super) fn from_json(v: &Value) -> Val {
    match v {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(n.to_string()),
        Value::String(s) => Val::Str(s.clone()),
        Value::Array(a) => Val::List(a.iter().map(from_json).collect()),
        Value::Object(o) => Val::Map(o.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

/// `format("%s-%d", ...)` with `%s`, `%d`, `%v`, `%q`, `%%`.
pub(super) fn format_fn(f: &str, args: &[Val]) -> Val {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some(v @ ('s' | 'd' | 'v' | 'q')) => match it.next().and_then(Val::text) {
                Some(t) if v == 'q' => out.push_str(&serde_json::to_string(&t).unwrap_or_default()),
                Some(t) => out.push_str(&t),
                None => return unknown("format: missing or non-string argument"),
            },
            _ => return unknown("format: unsupported verb"),
        }
    }
    Val::Str(out)
}

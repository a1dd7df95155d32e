//! Terraform's built-in functions (the ones configurations use to build key ids, names and
//! policies): `jsonencode`, `format`, `merge`, `lookup`, `coalesce`, `file`, `templatefile`...

use serde_json::Value;

use super::{unknown, Module};
use crate::value::Val;

impl<'a> Module<'a> {
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
                .map_or_else(|| unknown("jsondecode of invalid JSON"), |v| from_json(&v)),
            "lower" => text(0).map_or_else(|| unknown("lower()"), |t| Val::Str(t.to_lowercase())),
            "upper" => text(0).map_or_else(|| unknown("upper()"), |t| Val::Str(t.to_uppercase())),
            "trimspace" => {
                text(0).map_or_else(|| unknown("trimspace()"), |t| Val::Str(t.trim().to_owned()))
            }
            "tostring" => text(0).map_or_else(|| Val::Null, Val::Str),
            "tobool" => args
                .first()
                .and_then(Val::truth)
                .map_or_else(|| unknown("tobool()"), Val::Bool),
            "tonumber" => text(0).map_or_else(|| unknown("tonumber()"), Val::Num),
            "tolist" | "toset" | "tomap" => args.first().cloned().unwrap_or(Val::Null),
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
            "concat" => Val::List(
                args.iter()
                    .filter_map(|a| match a {
                        Val::List(l) => Some(l.clone()),
                        _ => None,
                    })
                    .flatten()
                    .collect(),
            ),
            "merge" => {
                let mut out: Vec<(String, Val)> = Vec::new();
                for a in args {
                    if let Val::Map(m) = a {
                        for (k, v) in m {
                            out.retain(|(x, _)| x != k);
                            out.push((k.clone(), v.clone()));
                        }
                    }
                }
                Val::Map(out)
            }
            "lookup" => match (args.first(), text(1)) {
                (Some(Val::Map(m)), Some(k)) => m
                    .iter()
                    .find(|(x, _)| *x == k)
                    .map(|(_, v)| v.clone())
                    .or_else(|| args.get(2).cloned())
                    .unwrap_or_else(|| unknown(format!("lookup: no key {k}"))),
                _ => unknown("lookup(map, key)"),
            },
            "coalesce" => args
                .iter()
                .find(|a| !matches!(a, Val::Null) && a.text().as_deref() != Some(""))
                .cloned()
                .unwrap_or(Val::Null),
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
            "element" => match (list(0), text(1).and_then(|t| t.parse::<usize>().ok())) {
                (Some(l), Some(i)) if !l.is_empty() => l[i % l.len()].clone(),
                _ => unknown("element(list, index)"),
            },
            "length" => match args.first() {
                Some(Val::List(l)) => num(l.len() as f64),
                Some(Val::Map(m)) => num(m.len() as f64),
                Some(Val::Str(s)) => num(s.chars().count() as f64),
                _ => unknown("length()"),
            },
            "contains" => match (list(0), args.get(1)) {
                (Some(l), Some(v)) => Val::Bool(l.contains(v)),
                _ => unknown("contains(list, value)"),
            },
            "keys" | "values" => match args.first() {
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
                _ => unknown(format!("{name}(map)")),
            },
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
                        .map_or_else(|e| unknown(format!("file({p}): {e}")), Val::Str)
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

//! Expression evaluation: literals, references (`var.`, `local.`, `each.`, `count.`,
//! `path.`, `data.`, `module.`, resources), traversals, conditionals, operators and `for`
//! expressions. Function calls are in [`super::functions`], templates in [`super::template`].

use hcl_edit::expr::{BinaryOperator, Expression, ObjectKey, TraversalOperator, UnaryOperator};

use super::functions::num;
use super::{error, unknown, Module, Scope};
use crate::value::Val;

impl<'a> Module<'a> {
    pub(super) fn traversal(
        &self,
        base: &Expression,
        ops: &[&TraversalOperator],
        s: &Scope,
    ) -> Val {
        let name = |op: &TraversalOperator| match op {
            TraversalOperator::GetAttr(i) => Some(i.as_str().to_owned()),
            _ => None,
        };
        let index = |op: &TraversalOperator| -> Option<String> {
            match op {
                TraversalOperator::Index(e) => match self.eval(e, s) {
                    Val::Str(k) => Some(format!(
                        "[{}]",
                        serde_json::to_string(&k).unwrap_or_default()
                    )),
                    Val::Num(n) => Some(format!("[{n}]")),
                    _ => None,
                },
                TraversalOperator::LegacyIndex(i) => Some(format!("[{}]", **i)),
                _ => None,
            }
        };
        if let Expression::Variable(root) = base {
            if let Some(bound) = s.binding(root.as_str()) {
                return self.apply_ops(bound.clone(), ops, s);
            }
            let root = root.as_str();
            let (value, rest): (Val, &[&TraversalOperator]) = match root {
                "var" => match ops.first().and_then(|o| name(o)) {
                    Some(v) => (
                        self.vars.get(&v).cloned().unwrap_or_else(|| {
                            unknown(format!("var.{v} has no value: pass --var {v}=VALUE or a tfvars file, or scan the plan"))
                        }),
                        &ops[1..],
                    ),
                    None => return unknown("var needs a name"),
                },
                "local" => match ops.first().and_then(|o| name(o)) {
                    Some(l) => (self.local(&l), &ops[1..]),
                    None => return unknown("local needs a name"),
                },
                "count" => (s.count_index.clone().unwrap_or_else(|| unknown("count.index outside count")), &ops[1..]),
                "each" => match (ops.first().and_then(|o| name(o)).as_deref(), &s.each) {
                    (Some("key"), Some((k, _))) => (k.clone(), &ops[1..]),
                    (Some("value"), Some((_, v))) => (v.clone(), &ops[1..]),
                    _ => return unknown("each outside for_each"),
                },
                "path" => match ops.first().and_then(|o| name(o)).as_deref() {
                    Some("module" | "root" | "cwd") => (Val::Str(self.dir.display().to_string()), &ops[1..]),
                    _ => return unknown("path attribute"),
                },
                "data" => {
                    let (Some(ty), Some(n)) = (ops.first().and_then(|o| name(o)), ops.get(1).and_then(|o| name(o))) else {
                        return unknown("data needs a type and a name");
                    };
                    let mut i = 2;
                    while ops.get(i).is_some_and(|o| index(o).is_some()) {
                        i += 1;
                    }
                    match ops.get(i).and_then(|o| name(o)) {
                        Some(attr) => (self.data_attr(&ty, &n, &attr), &ops[i + 1..]),
                        None => return unknown(format!("data.{ty}.{n}")),
                    }
                }
                "module" => {
                    let Some(call) = ops.first().and_then(|o| name(o)) else {
                        return unknown("module needs a name");
                    };
                    let mut key = call.clone();
                    let mut i = 1;
                    while let Some(ix) = ops.get(i).and_then(|o| index(o)) {
                        key.push_str(&ix);
                        i += 1;
                    }
                    let Some(output) = ops.get(i).and_then(|o| name(o)) else {
                        return unknown(format!("module.{key} as a whole object"));
                    };
                    let value = self
                        .module_outputs
                        .borrow()
                        .get(&key)
                        .and_then(|outputs| outputs.get(&output).cloned())
                        .unwrap_or_else(|| {
                            unknown(format!(
                                "module.{key}.{output} is not known (a remote module, or no such output): scan the plan"
                            ))
                        });
                    (value, &ops[i + 1..])
                }
                ty if ty.starts_with("aws_") => {
                    let Some(n) = ops.first().and_then(|o| name(o)) else {
                        return unknown(format!("{ty} needs a name"));
                    };
                    let mut idx = String::new();
                    let mut i = 1;
                    while let Some(ix) = ops.get(i).and_then(|o| index(o)) {
                        idx.push_str(&ix);
                        i += 1;
                    }
                    // `aws_kms_key.k[*].arn`: the attribute of every instance, as a list.
                    if idx.is_empty()
                        && matches!(
                            ops.get(i),
                            Some(TraversalOperator::FullSplat(_) | TraversalOperator::AttrSplat(_))
                        )
                    {
                        let Some(attr) = ops.get(i + 1).and_then(|o| name(o)) else {
                            return unknown(format!("{ty}.{n}[*] as whole objects"));
                        };
                        let Some(res) =
                            self.resources.iter().find(|r| r.ty == ty && r.name == n)
                        else {
                            return unknown(format!("{ty}.{n} is not defined in this module"));
                        };
                        return match self.instances(res.block) {
                            Ok(instances) => Val::List(
                                instances
                                    .iter()
                                    .map(|(suffix, _)| {
                                        let v = self.resource_attr(ty, &n, suffix, &attr);
                                        self.apply_ops(v, &ops[i + 2..], s)
                                    })
                                    .collect(),
                            ),
                            Err(why) => unknown(why),
                        };
                    }
                    match ops.get(i).and_then(|o| name(o)) {
                        Some(attr) => (self.resource_attr(ty, &n, &idx, &attr), &ops[i + 1..]),
                        None => return unknown(format!("{ty}.{n} as a whole object")),
                    }
                }
                other => return unknown(format!("{other} is not evaluated")),
            };
            return self.apply_ops(value, rest, s);
        }
        let v = self.eval(base, s);
        self.apply_ops(v, ops, s)
    }

    /// Applies attribute accesses, indexes and splats to a value. A missing attribute or key
    /// of a known value, or an index out of range, is an evaluation error (as in Terraform);
    /// an unknown value or index gives an unknown value.
    pub(super) fn apply_ops(&self, v: Val, ops: &[&TraversalOperator], s: &Scope) -> Val {
        let Some((op, rest)) = ops.split_first() else {
            return v;
        };
        if let Val::Unknown(w) = v {
            return Val::Unknown(w);
        }
        let index = |e: &Expression| -> Result<Val, Val> {
            match self.eval(e, s) {
                Val::Unknown(w) => Err(Val::Unknown(w)),
                i => Ok(i),
            }
        };
        let next = match (op, v) {
            // `list[*].attr`: the rest applies to each element; a single value is a
            // one-element list and null an empty one (Terraform's splat rules).
            (TraversalOperator::AttrSplat(_) | TraversalOperator::FullSplat(_), v) => {
                let items = match v {
                    Val::List(l) => l,
                    Val::Null => Vec::new(),
                    other => vec![other],
                };
                return Val::List(
                    items
                        .into_iter()
                        .map(|x| self.apply_ops(x, rest, s))
                        .collect(),
                );
            }
            (TraversalOperator::GetAttr(i), Val::Map(m)) => m
                .into_iter()
                .find(|(k, _)| k == i.as_str())
                .map(|(_, v)| v)
                .unwrap_or_else(|| error(format!("no attribute {}", i.as_str()))),
            (TraversalOperator::Index(e), Val::List(l)) => match index(e) {
                Err(u) => return u,
                Ok(i) => match i.text().and_then(|t| t.parse::<usize>().ok()) {
                    Some(i) => l
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| error(format!("index {i} out of range"))),
                    None => error("a list index that is not a whole number"),
                },
            },
            (TraversalOperator::LegacyIndex(i), Val::List(l)) => l
                .get(usize::try_from(**i).unwrap_or(usize::MAX))
                .cloned()
                .unwrap_or_else(|| error(format!("index {} out of range", **i))),
            (TraversalOperator::Index(e), Val::Map(m)) => match index(e) {
                Err(u) => return u,
                Ok(k) => match k.text() {
                    Some(k) => m
                        .into_iter()
                        .find(|(x, _)| *x == k)
                        .map(|(_, v)| v)
                        .unwrap_or_else(|| error(format!("no key {k}"))),
                    None => error("a map key that is not a string"),
                },
            },
            (_, Val::Null) => error("an attribute or index of a null value"),
            _ => error("an attribute or index of a value that has none"),
        };
        self.apply_ops(next, rest, s)
    }

    pub(super) fn eval(&self, e: &Expression, s: &Scope) -> Val {
        match e {
            Expression::Null(_) => Val::Null,
            Expression::Bool(b) => Val::Bool(**b),
            Expression::Number(n) => Val::Num(n.to_string()),
            Expression::String(st) => Val::Str(st.as_str().to_owned()),
            Expression::Array(a) => Val::List(a.iter().map(|x| self.eval(x, s)).collect()),
            Expression::Object(o) => {
                let mut entries = Vec::new();
                for (k, v) in o.iter() {
                    let key = match k {
                        ObjectKey::Ident(i) => i.as_str().to_owned(),
                        ObjectKey::Expression(x) => match self.eval(x, s) {
                            // A key known only later: which entry this is is unknown, so the
                            // whole object is (never an entry under a made-up key).
                            Val::Unknown(why) => return Val::Unknown(why),
                            key => match key.text() {
                                Some(t) => t,
                                None => return error("an object key that is not a string"),
                            },
                        },
                    };
                    entries.push((key, self.eval(v.expr(), s)));
                }
                Val::Map(entries)
            }
            Expression::StringTemplate(t) => self.template(t, s),
            Expression::HeredocTemplate(h) => self.template(&h.template, s),
            Expression::Parenthesis(p) => self.eval(p.inner(), s),
            Expression::Variable(v) => match s.binding(v.as_str()) {
                Some(value) => value.clone(),
                None => unknown(format!("{} on its own is not evaluated", v.as_str())),
            },
            Expression::Conditional(c) => match self.eval(&c.cond_expr, s).truth() {
                Some(true) => self.eval(&c.true_expr, s),
                Some(false) => self.eval(&c.false_expr, s),
                None => {
                    let (a, b) = (self.eval(&c.true_expr, s), self.eval(&c.false_expr, s));
                    if a == b {
                        a
                    } else {
                        match self.eval(&c.cond_expr, s) {
                            Val::Unknown(why) => Val::Unknown(why),
                            _ => unknown("a condition that is not a boolean"),
                        }
                    }
                }
            },
            Expression::FuncCall(f) => {
                let args: Vec<Val> = f.args.iter().map(|a| self.eval(a, s)).collect();
                self.call_fn(f.name.name.as_str(), args)
            }
            Expression::Traversal(t) => {
                let ops: Vec<&TraversalOperator> = t.operators.iter().map(|o| &**o).collect();
                self.traversal(&t.expr, &ops, s)
            }
            Expression::UnaryOp(u) => match (&*u.operator, self.eval(&u.expr, s)) {
                (UnaryOperator::Not, v) => v
                    .truth()
                    .map_or_else(|| unknown("! of an unknown value"), |b| Val::Bool(!b)),
                (UnaryOperator::Neg, Val::Num(n)) => {
                    n.parse::<f64>().map_or_else(|_| unknown("-"), |f| num(-f))
                }
                (_, v) => v
                    .unknown()
                    .map_or_else(|| unknown("unary operator"), |w| unknown(w.to_owned())),
            },
            Expression::BinaryOp(b) => self.binary(
                *b.operator,
                self.eval(&b.lhs_expr, s),
                self.eval(&b.rhs_expr, s),
            ),
            Expression::ForExpr(f) => self.for_expr(f, s),
        }
    }

    /// `[for k, v in coll : expr if cond]` and `{for k, v in coll : key => value}`.
    pub(super) fn for_expr(&self, f: &hcl_edit::expr::ForExpr, s: &Scope) -> Val {
        let items = match for_items(
            self.eval(&f.intro.collection_expr, s),
            "for over a value that is not a collection",
        ) {
            Ok(items) => items,
            Err(unknown) => return unknown,
        };
        let mut list = Vec::new();
        let mut map: Vec<(String, Val)> = Vec::new();
        for (key, value) in items {
            let mut inner = s.clone();
            if let Some(k) = &f.intro.key_var {
                inner.bindings.push((k.as_str().to_owned(), key));
            }
            inner
                .bindings
                .push((f.intro.value_var.as_str().to_owned(), value));
            if let Some(cond) = &f.cond {
                match self.eval(&cond.expr, &inner).truth() {
                    Some(true) => {}
                    Some(false) => continue,
                    None => return unknown("a for filter is unknown"),
                }
            }
            let v = self.eval(&f.value_expr, &inner);
            match &f.key_expr {
                None => list.push(v),
                Some(k) => match self.eval(k, &inner).text() {
                    Some(k) if f.grouping => match map.iter_mut().find(|(x, _)| *x == k) {
                        Some((_, Val::List(group))) => group.push(v),
                        _ => map.push((k, Val::List(vec![v]))),
                    },
                    Some(k) => {
                        map.retain(|(x, _)| *x != k);
                        map.push((k, v));
                    }
                    None => return unknown("a for key is unknown"),
                },
            }
        }
        if f.key_expr.is_some() {
            Val::Map(map)
        } else {
            Val::List(list)
        }
    }

    pub(super) fn binary(&self, op: BinaryOperator, a: Val, b: Val) -> Val {
        use BinaryOperator as B;
        match op {
            B::And | B::Or => {
                let and = op == B::And;
                match (a.truth(), b.truth()) {
                    (Some(x), _) if x != and => Val::Bool(x),
                    (_, Some(y)) if y != and => Val::Bool(y),
                    (Some(x), Some(y)) => Val::Bool(if and { x && y } else { x || y }),
                    _ => unknown("a boolean operand is unknown"),
                }
            }
            _ if a.unknown().is_some() || b.unknown().is_some() => {
                unknown(a.unknown().or(b.unknown()).unwrap_or_default().to_owned())
            }
            B::Eq => Val::Bool(
                a.to_json() == b.to_json() || (a.text().is_some() && a.text() == b.text()),
            ),
            B::NotEq => Val::Bool(
                !(a.to_json() == b.to_json() || (a.text().is_some() && a.text() == b.text())),
            ),
            _ => {
                let (Some(x), Some(y)) = (
                    a.text().and_then(|t| t.parse::<f64>().ok()),
                    b.text().and_then(|t| t.parse::<f64>().ok()),
                ) else {
                    return unknown("arithmetic on non-numbers");
                };
                match op {
                    B::Less => Val::Bool(x < y),
                    B::LessEq => Val::Bool(x <= y),
                    B::Greater => Val::Bool(x > y),
                    B::GreaterEq => Val::Bool(x >= y),
                    B::Plus => num(x + y),
                    B::Minus => num(x - y),
                    B::Mul => num(x * y),
                    B::Div if y != 0.0 => num(x / y),
                    B::Mod if y != 0.0 => num(x % y),
                    _ => unknown("division by zero"),
                }
            }
        }
    }
}

/// The (key, value) pairs a `for` iterates: index and element of a list, key and value of a
/// map. Err: the collection is unknown, or `not_collection` when it is not one.
pub(super) fn for_items(collection: Val, not_collection: &str) -> Result<Vec<(Val, Val)>, Val> {
    match collection {
        Val::List(l) => Ok(l
            .into_iter()
            .enumerate()
            .map(|(i, v)| (Val::Num(i.to_string()), v))
            .collect()),
        Val::Map(m) => Ok(m.into_iter().map(|(k, v)| (Val::Str(k), v)).collect()),
        Val::Unknown(why) => Err(Val::Unknown(why)),
        _ => Err(unknown(not_collection)),
    }
}

//! CloudFormation values and intrinsic functions, three-valued: a value is known, or
//! `Unknown(reason)` when only deployment can tell (an `!ImportValue`, a parameter without a
//! value, a condition on such a parameter), or `NoValue` (`!Ref AWS::NoValue`).

use std::collections::{HashMap, HashSet};

use crate::yaml::{Node, Value};

pub use crate::value::{Val, ACCOUNT, REGION};

/// What `Ref` and `Fn::GetAtt` of a resource give.
pub trait Resources {
    fn resource_ref(&self, id: &str) -> Option<Val>;
    fn resource_attr(&self, id: &str, attribute: &str) -> Option<Val>;
}

pub struct Evaluator<'a> {
    pub parameters: HashMap<String, Val>,
    pub mappings: Option<&'a Node>,
    pub conditions: Option<&'a Node>,
    pub resources: &'a dyn Resources,
    condition_stack: std::cell::RefCell<HashSet<String>>,
}

fn unknown_fn(name: &str) -> Val {
    Val::Unknown(format!("{name} is only resolved at deploy time"))
}

impl<'a> Evaluator<'a> {
    pub fn new(
        parameters: HashMap<String, Val>,
        mappings: Option<&'a Node>,
        conditions: Option<&'a Node>,
        resources: &'a dyn Resources,
    ) -> Self {
        Evaluator {
            parameters,
            mappings,
            conditions,
            resources,
            condition_stack: std::cell::RefCell::new(HashSet::new()),
        }
    }

    pub fn eval(&self, node: &Node) -> Val {
        match &node.value {
            Value::Null => Val::Null,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => Val::Num(n.clone()),
            Value::String(s) => Val::Str(s.clone()),
            Value::Seq(items) => Val::List(
                items
                    .iter()
                    .map(|n| self.eval(n))
                    .filter(|v| *v != Val::NoValue)
                    .collect(),
            ),
            Value::Map(entries) => {
                if let [(name, _, arg)] = entries.as_slice() {
                    if let Some(v) = self.intrinsic(name, arg) {
                        return v;
                    }
                }
                Val::Map(
                    entries
                        .iter()
                        .map(|(k, _, v)| (k.clone(), self.eval(v)))
                        .filter(|(_, v)| *v != Val::NoValue)
                        .collect(),
                )
            }
        }
    }

    fn intrinsic(&self, name: &str, arg: &Node) -> Option<Val> {
        Some(match name {
            "Ref" => match self.eval(arg) {
                Val::Str(target) => self.reference(&target),
                Val::Unknown(why) => Val::Unknown(why),
                _ => Val::Unknown("Ref needs a name".into()),
            },
            "Fn::GetAtt" => {
                let (resource, attribute) = match self.eval(arg) {
                    Val::List(items) if items.len() == 2 => {
                        match (items[0].text(), items[1].text()) {
                            (Some(r), Some(a)) => (r, a),
                            _ => {
                                return Some(Val::Unknown(
                                    "Fn::GetAtt with unknown arguments".into(),
                                ))
                            }
                        }
                    }
                    Val::Str(s) => match s.split_once('.') {
                        Some((r, a)) => (r.to_owned(), a.to_owned()),
                        None => return Some(Val::Unknown(format!("Fn::GetAtt {s}"))),
                    },
                    other => {
                        return Some(Val::Unknown(format!(
                            "Fn::GetAtt with arguments {:?}",
                            other.to_json()
                        )))
                    }
                };
                self.resources
                    .resource_attr(&resource, &attribute)
                    .unwrap_or_else(|| {
                        Val::Unknown(format!(
                            "{resource}.{attribute} is only known after deployment"
                        ))
                    })
            }
            "Fn::Sub" => self.sub(arg),
            "Fn::Join" => match self.eval(arg) {
                Val::List(items) if items.len() == 2 => {
                    let Some(delim) = items[0].text() else {
                        return Some(Val::Unknown("Fn::Join delimiter".into()));
                    };
                    match &items[1] {
                        Val::List(parts) => {
                            let mut out = Vec::new();
                            for p in parts {
                                match p {
                                    Val::Unknown(why) => return Some(Val::Unknown(why.clone())),
                                    other => match other.text() {
                                        Some(t) => out.push(t),
                                        None => {
                                            return Some(Val::Unknown(
                                                "Fn::Join of a non-string".into(),
                                            ))
                                        }
                                    },
                                }
                            }
                            Val::Str(out.join(&delim))
                        }
                        Val::Unknown(why) => Val::Unknown(why.clone()),
                        _ => Val::Unknown("Fn::Join needs a list".into()),
                    }
                }
                Val::Unknown(why) => Val::Unknown(why),
                _ => Val::Unknown("Fn::Join needs [delimiter, list]".into()),
            },
            "Fn::Select" => match self.eval(arg) {
                Val::List(items) if items.len() == 2 => {
                    let index = items[0].text().and_then(|t| t.parse::<usize>().ok());
                    match (index, &items[1]) {
                        (Some(i), Val::List(list)) => list.get(i).cloned().unwrap_or_else(|| {
                            Val::Unknown(format!("Fn::Select index {i} out of range"))
                        }),
                        (_, Val::Unknown(why)) => Val::Unknown(why.clone()),
                        _ => Val::Unknown("Fn::Select with unknown arguments".into()),
                    }
                }
                other => other.unknown().map_or_else(
                    || Val::Unknown("Fn::Select needs [index, list]".into()),
                    |w| Val::Unknown(w.to_owned()),
                ),
            },
            "Fn::Split" => match self.eval(arg) {
                Val::List(items) if items.len() == 2 => match (items[0].text(), &items[1]) {
                    (Some(d), Val::Str(s)) if !d.is_empty() => Val::List(
                        s.split(d.as_str())
                            .map(|p| Val::Str(p.to_owned()))
                            .collect(),
                    ),
                    (_, Val::Unknown(why)) => Val::Unknown(why.clone()),
                    _ => Val::Unknown("Fn::Split with unknown arguments".into()),
                },
                _ => Val::Unknown("Fn::Split needs [delimiter, string]".into()),
            },
            "Fn::FindInMap" => self.find_in_map(arg),
            "Fn::If" => match &arg.value {
                Value::Seq(items) if items.len() == 3 => {
                    let cond = items[0].as_str().map(|c| self.condition(c));
                    match cond {
                        Some(Some(true)) => self.eval(&items[1]),
                        Some(Some(false)) => self.eval(&items[2]),
                        _ => {
                            let (a, b) = (self.eval(&items[1]), self.eval(&items[2]));
                            if a == b {
                                a
                            } else {
                                Val::Unknown(format!(
                                    "depends on condition {} which is only known at deploy time",
                                    items[0].as_str().unwrap_or("?")
                                ))
                            }
                        }
                    }
                }
                _ => Val::Unknown("Fn::If needs [condition, then, else]".into()),
            },
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" | "Condition" => {
                match self.condition_fn(name, arg) {
                    Some(b) => Val::Bool(b),
                    None => Val::Unknown(format!("{name} is only known at deploy time")),
                }
            }
            "Fn::ToJsonString" => {
                let v = self.eval(arg);
                match v.unknown() {
                    Some(why) => Val::Unknown(why.to_owned()),
                    None => Val::Str(v.to_json().to_string()),
                }
            }
            "Fn::Length" => match self.eval(arg) {
                Val::List(items) => Val::Num(items.len().to_string()),
                other => other.unknown().map_or_else(
                    || Val::Unknown("Fn::Length needs a list".into()),
                    |w| Val::Unknown(w.to_owned()),
                ),
            },
            "Fn::ImportValue" => unknown_fn("Fn::ImportValue (another stack's output)"),
            "Fn::GetAZs" | "Fn::Base64" | "Fn::Cidr" | "Fn::Transform" => unknown_fn(name),
            _ => return None,
        })
    }

    /// `Ref`: parameters, pseudo parameters, resources.
    pub fn reference(&self, name: &str) -> Val {
        match name {
            "AWS::AccountId" => return Val::Str(ACCOUNT.into()),
            "AWS::Region" => return Val::Str(REGION.into()),
            "AWS::Partition" => return Val::Str("aws".into()),
            "AWS::URLSuffix" => return Val::Str("amazonaws.com".into()),
            "AWS::NoValue" => return Val::NoValue,
            "AWS::StackName" | "AWS::StackId" | "AWS::NotificationARNs" => {
                return Val::Unknown(format!("{name} is only known at deploy time"))
            }
            _ => {}
        }
        if let Some(v) = self.parameters.get(name) {
            return v.clone();
        }
        self.resources.resource_ref(name).unwrap_or_else(|| {
            Val::Unknown(format!(
                "Ref to {name}, which this template does not define"
            ))
        })
    }

    fn sub(&self, arg: &Node) -> Val {
        let (template, vars) = match self.eval(arg) {
            Val::Str(s) => (s, Vec::new()),
            Val::List(items) if !items.is_empty() => {
                let Some(t) = items[0].text() else {
                    return Val::Unknown("Fn::Sub template".into());
                };
                let vars = match items.get(1) {
                    Some(Val::Map(entries)) => entries.clone(),
                    _ => Vec::new(),
                };
                (t, vars)
            }
            Val::Unknown(why) => return Val::Unknown(why),
            _ => return Val::Unknown("Fn::Sub needs a string".into()),
        };
        let mut out = String::new();
        let mut rest = template.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                rest = "";
                break;
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            let value = match vars.iter().find(|(k, _)| k == name) {
                Some((_, v)) => v.clone(),
                None => match name.split_once('.') {
                    Some((resource, attribute)) => self
                        .resources
                        .resource_attr(resource, attribute)
                        .unwrap_or_else(|| {
                            Val::Unknown(format!("{name} is only known after deployment"))
                        }),
                    None => self.reference(name),
                },
            };
            match value {
                Val::Unknown(why) => return Val::Unknown(why),
                v => match v.text() {
                    Some(t) => out.push_str(&t),
                    None => return Val::Unknown(format!("${{{name}}} is not a string")),
                },
            }
        }
        out.push_str(rest);
        Val::Str(out)
    }

    fn find_in_map(&self, arg: &Node) -> Val {
        let Val::List(keys) = self.eval(arg) else {
            return Val::Unknown("Fn::FindInMap needs [map, key, key]".into());
        };
        if let Some(why) = keys.iter().find_map(Val::unknown) {
            return Val::Unknown(why.to_owned());
        }
        let names: Vec<String> = keys.iter().filter_map(Val::text).collect();
        let [map, top, second] = names.as_slice() else {
            return Val::Unknown("Fn::FindInMap needs [map, key, key]".into());
        };
        match self
            .mappings
            .and_then(|m| m.get(map))
            .and_then(|m| m.get(top))
            .and_then(|m| m.get(second))
        {
            Some(node) => self.eval(node),
            None => Val::Unknown(format!(
                "Fn::FindInMap {map}/{top}/{second} is not in Mappings"
            )),
        }
    }

    /// A named condition: Some(true/false), or None when it depends on deploy-time values.
    pub fn condition(&self, name: &str) -> Option<bool> {
        if !self.condition_stack.borrow_mut().insert(name.to_owned()) {
            return None; // a cycle: CloudFormation rejects it; undecidable here
        }
        let result = self
            .conditions
            .and_then(|c| c.get(name))
            .and_then(|node| self.eval(node).truth());
        self.condition_stack.borrow_mut().remove(name);
        result
    }

    fn condition_fn(&self, name: &str, arg: &Node) -> Option<bool> {
        match name {
            "Condition" => self.condition(arg.as_str()?),
            "Fn::Equals" => {
                let Val::List(items) = self.eval(arg) else {
                    return None;
                };
                let [a, b] = items.as_slice() else {
                    return None;
                };
                if a.unknown().is_some() || b.unknown().is_some() {
                    return None;
                }
                Some(
                    a.text().or_else(|| Some(a.to_json().to_string()))
                        == b.text().or_else(|| Some(b.to_json().to_string())),
                )
            }
            "Fn::Not" => match &arg.value {
                Value::Seq(items) if items.len() == 1 => self.eval(&items[0]).truth().map(|b| !b),
                _ => None,
            },
            "Fn::And" | "Fn::Or" => {
                let Value::Seq(items) = &arg.value else {
                    return None;
                };
                let values: Vec<Option<bool>> =
                    items.iter().map(|n| self.eval(n).truth()).collect();
                let and = name == "Fn::And";
                // A decisive known operand decides even when others are unknown.
                if values.contains(&Some(!and)) {
                    return Some(!and);
                }
                if values.iter().all(Option::is_some) {
                    return Some(and);
                }
                None
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    struct NoResources;
    impl Resources for NoResources {
        fn resource_ref(&self, _: &str) -> Option<Val> {
            None
        }
        fn resource_attr(&self, _: &str, _: &str) -> Option<Val> {
            None
        }
    }

    fn eval_with(doc: &str, value: &str) -> Val {
        let root = parse(doc).expect("template");
        let params = HashMap::from([
            ("Env".to_owned(), Val::Str("prod".into())),
            ("Missing".to_owned(), Val::Unknown("no value".into())),
        ]);
        let node = parse(value).expect("value");
        let ev = Evaluator::new(
            params,
            root.get("Mappings"),
            root.get("Conditions"),
            &NoResources,
        );
        ev.eval(&node)
    }

    const DOC: &str = "Mappings:\n  M:\n    prod: {Key: k1}\nConditions:\n  IsProd: !Equals [!Ref Env, prod]\n  Unknown: !Equals [!Ref Missing, x]\n  Both: !And [!Condition Unknown, !Condition IsProd]\n  Either: !Or [!Condition Unknown, !Condition IsProd]\n";

    #[test]
    fn intrinsics() {
        let s = |v: &str| Val::Str(v.to_owned());
        assert_eq!(
            eval_with(DOC, "!Sub 'arn:${AWS::Partition}:x:${AWS::Region}:${AWS::AccountId}:${Env}-${!Literal}'"),
            s(&format!("arn:aws:x:{REGION}:{ACCOUNT}:prod-${{Literal}}"))
        );
        assert_eq!(
            eval_with(DOC, "!Sub ['${A}-${B}', {A: a, B: !Ref Env}]"),
            s("a-prod")
        );
        assert_eq!(eval_with(DOC, "!Join ['-', [a, !Ref Env]]"), s("a-prod"));
        assert_eq!(eval_with(DOC, "!Select [1, !Split [',', 'a,b,c']]"), s("b"));
        assert_eq!(eval_with(DOC, "!FindInMap [M, !Ref Env, Key]"), s("k1"));
        assert_eq!(eval_with(DOC, "!If [IsProd, yes, no]"), s("yes"));
        assert!(matches!(
            eval_with(DOC, "!If [Unknown, yes, no]"),
            Val::Unknown(_)
        ));
        // An unknown condition does not matter when both branches agree.
        assert_eq!(eval_with(DOC, "!If [Unknown, same, same]"), s("same"));
        assert!(matches!(
            eval_with(DOC, "!Sub '${Missing}'"),
            Val::Unknown(_)
        ));
        assert!(matches!(eval_with(DOC, "!ImportValue x"), Val::Unknown(_)));
        assert_eq!(eval_with(DOC, "!Ref AWS::NoValue"), Val::NoValue);
        assert_eq!(
            eval_with(DOC, "[a, !Ref AWS::NoValue]"),
            Val::List(vec![s("a")])
        );
    }

    #[test]
    fn conditions_are_three_valued() {
        let root = parse(DOC).expect("template");
        let params = HashMap::from([
            ("Env".to_owned(), Val::Str("prod".into())),
            ("Missing".to_owned(), Val::Unknown("no value".into())),
        ]);
        let ev = Evaluator::new(
            params,
            root.get("Mappings"),
            root.get("Conditions"),
            &NoResources,
        );
        assert_eq!(ev.condition("IsProd"), Some(true));
        assert_eq!(ev.condition("Unknown"), None);
        assert_eq!(ev.condition("Both"), None);
        // A known true operand decides an Or even next to an unknown one.
        assert_eq!(ev.condition("Either"), Some(true));
        assert_eq!(ev.condition("NotDefined"), None);
    }
}

//! A key policy's change, statement by statement.
//!
//! Statements are matched by `Sid` when both policies give it to exactly one statement, and
//! otherwise by their whole text (JSON, key order ignored): a statement without a Sid that was
//! edited shows as one removed and one added. A policy that is not JSON is compared as text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// What changed between two key policies.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PolicyDiff {
    /// Statements only the new policy has.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<Value>,
    /// Statements only the old policy had.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<Value>,
    /// Statements with the same Sid and another content.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<ChangedStatement>,
    /// The policy's own fields (`Version`, `Id`): `FIELD: OLD -> NEW`. A `Version` change
    /// changes how policy variables are read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub document: Vec<String>,
    /// Set when a policy is not JSON: the whole text changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangedStatement {
    pub sid: String,
    pub old: Value,
    pub new: Value,
}

impl PolicyDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.document.is_empty()
            && self.text.is_none()
    }
}

fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    }
}

/// The Sid of a statement, when it names exactly one statement of `all`.
fn unique_sid<'a>(statement: &'a Value, all: &[Value]) -> Option<&'a str> {
    let sid = statement.get("Sid")?.as_str()?;
    let same = all
        .iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
        .count();
    (same == 1).then_some(sid)
}

/// Compares two key policies (their text as GetKeyPolicy returns it).
pub fn diff_policies(old: &str, new: &str) -> PolicyDiff {
    let (Ok(old_json), Ok(new_json)) = (
        serde_json::from_str::<Value>(old),
        serde_json::from_str::<Value>(new),
    ) else {
        if old == new {
            return PolicyDiff::default();
        }
        return PolicyDiff {
            text: Some((old.to_owned(), new.to_owned())),
            ..PolicyDiff::default()
        };
    };
    let old_statements = statements(&old_json);
    let new_statements = statements(&new_json);
    let mut out = PolicyDiff::default();
    for field in ["Version", "Id"] {
        let (o, n) = (old_json.get(field), new_json.get(field));
        if o != n {
            let show = |v: Option<&Value>| v.map_or("(none)".to_owned(), Value::to_string);
            out.document
                .push(format!("{field}: {} -> {}", show(o), show(n)));
        }
    }
    let by_sid = |list: &[Value]| -> BTreeMap<String, Value> {
        list.iter()
            .filter_map(|s| unique_sid(s, list).map(|sid| (sid.to_owned(), s.clone())))
            .collect()
    };
    let old_sids = by_sid(&old_statements);
    let new_sids = by_sid(&new_statements);
    // Statements matched by Sid: changed or the same.
    for (sid, old_s) in &old_sids {
        if let Some(new_s) = new_sids.get(sid) {
            if canonical(old_s) != canonical(new_s) {
                out.changed.push(ChangedStatement {
                    sid: sid.clone(),
                    old: old_s.clone(),
                    new: new_s.clone(),
                });
            }
        }
    }
    // The others, by content (as a multiset).
    let matched = |s: &Value, list: &[Value], other: &BTreeMap<String, Value>| {
        unique_sid(s, list).is_some_and(|sid| other.contains_key(sid))
    };
    let mut old_rest: Vec<&Value> = old_statements
        .iter()
        .filter(|s| !matched(s, &old_statements, &new_sids))
        .collect();
    for s in new_statements
        .iter()
        .filter(|s| !matched(s, &new_statements, &old_sids))
    {
        let text = canonical(s);
        match old_rest.iter().position(|o| canonical(o) == text) {
            Some(i) => {
                old_rest.remove(i);
            }
            None => out.added.push(s.clone()),
        }
    }
    out.removed = old_rest.into_iter().cloned().collect();
    out
}

/// JSON text with object keys sorted (serde_json's map keeps insertion order here), and lists
/// of strings sorted and without repeats: in a policy statement (Action, Resource, Principal,
/// condition values) a list of strings is a set, its order means nothing.
fn canonical(v: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                Value::Object(
                    entries
                        .into_iter()
                        .map(|(k, v)| (k.clone(), sorted(v)))
                        .collect(),
                )
            }
            Value::Array(list) if list.iter().all(Value::is_string) => {
                let mut strings: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                strings.sort_unstable();
                strings.dedup();
                Value::Array(strings.into_iter().map(Value::from).collect())
            }
            Value::Array(list) => Value::Array(list.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(v).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn policy(statements: Value) -> String {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    }

    #[test]
    fn statements_are_matched_by_sid_then_by_content() {
        let admin = json!({"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"});
        let ct = json!({"Sid": "CT", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*"});
        let ct_narrow = json!({"Resource": "*", "Sid": "CT", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/t"}}});
        let anon =
            json!({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"});
        let d = diff_policies(
            &policy(json!([admin, ct])),
            &policy(json!([ct_narrow, anon, admin])),
        );
        assert_eq!(d.added, vec![anon]);
        assert!(d.removed.is_empty());
        assert_eq!(d.changed.len(), 1);
        assert_eq!(d.changed[0].sid, "CT");
        // Key order and statement order alone are no change.
        let reordered = json!({"Resource": "*", "Action": "kms:*", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Effect": "Allow", "Sid": "Admin"});
        assert!(diff_policies(&policy(json!([admin])), &policy(json!([reordered]))).is_empty());
        // Nor is the order of a list of actions or principals.
        let a = json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::1:root", "arn:aws:iam::2:root"]}, "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": "*"});
        let b = json!({"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::2:root", "arn:aws:iam::1:root"]}, "Action": ["kms:DescribeKey", "kms:Decrypt"], "Resource": "*"});
        assert!(diff_policies(&policy(json!([a])), &policy(json!([b.clone()]))).is_empty());
        // The policy language version is a change (it changes how variables are read).
        let old = json!({"Version": "2012-10-17", "Statement": [b.clone()]}).to_string();
        let new = json!({"Version": "2008-10-17", "Statement": [b]}).to_string();
        let d = diff_policies(&old, &new);
        assert_eq!(
            d.document,
            vec!["Version: \"2012-10-17\" -> \"2008-10-17\"".to_owned()]
        );
    }

    #[test]
    fn statements_without_sid_and_text_policies() {
        let a =
            json!({"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"});
        let b =
            json!({"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"});
        let d = diff_policies(
            &policy(json!([a.clone(), a.clone()])),
            &policy(json!([a.clone(), b.clone()])),
        );
        assert_eq!(d.added, vec![b]);
        assert_eq!(d.removed, vec![a]);
        let t = diff_policies("not json", "{}");
        assert_eq!(t.text, Some(("not json".into(), "{}".into())));
        assert!(diff_policies("same", "same").is_empty());
    }
}

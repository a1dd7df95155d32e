//! `data "aws_iam_policy_document"` rendered to policy JSON.

use hcl_edit::structure::Block;
use serde_json::{json, Value};

use super::{unknown, Module, Scope};
use crate::value::Val;

impl<'a> Module<'a> {
    /// Renders `data "aws_iam_policy_document"` to policy JSON.
    pub(super) fn policy_document(&self, block: &'a Block) -> Val {
        let s = Scope::default();
        let mut statements = Vec::new();
        for st in block
            .body
            .blocks()
            .filter(|b| b.ident.as_str() == "statement")
        {
            let mut out = serde_json::Map::new();
            let get = |name: &str| self.attr(st, name).map(|e| self.eval(e, &s));
            if let Some(v) = get("sid") {
                out.insert("Sid".into(), v.to_json());
            }
            out.insert(
                "Effect".into(),
                get("effect").map_or(json!("Allow"), |v| v.to_json()),
            );
            for (attr, key) in [
                ("actions", "Action"),
                ("not_actions", "NotAction"),
                ("resources", "Resource"),
                ("not_resources", "NotResource"),
            ] {
                if let Some(v) = get(attr) {
                    if let Some(why) = v.unknown() {
                        return unknown(why.to_owned());
                    }
                    out.insert(key.into(), v.to_json());
                }
            }
            for (blk, key) in [
                ("principals", "Principal"),
                ("not_principals", "NotPrincipal"),
            ] {
                let mut principals = serde_json::Map::new();
                for p in st.body.blocks().filter(|b| b.ident.as_str() == blk) {
                    let ty = self.attr(p, "type").map(|e| self.eval(e, &s));
                    let ids = self.attr(p, "identifiers").map(|e| self.eval(e, &s));
                    match (ty, ids) {
                        (Some(Val::Str(t)), Some(ids)) if ids.unknown().is_none() => {
                            let entry = principals.entry(t).or_insert_with(|| json!([]));
                            if let (Some(list), Value::Array(new)) =
                                (entry.as_array_mut(), ids.to_json())
                            {
                                list.extend(new);
                            }
                        }
                        _ => {
                            return unknown(
                                "a principals block of the policy document is not static",
                            )
                        }
                    }
                }
                if !principals.is_empty() {
                    out.insert(key.into(), Value::Object(principals));
                }
            }
            let mut conditions = serde_json::Map::new();
            for c in st.body.blocks().filter(|b| b.ident.as_str() == "condition") {
                let test = self.attr(c, "test").map(|e| self.eval(e, &s));
                let var = self.attr(c, "variable").map(|e| self.eval(e, &s));
                let values = self.attr(c, "values").map(|e| self.eval(e, &s));
                match (test, var, values) {
                    (Some(Val::Str(t)), Some(Val::Str(k)), Some(v)) if v.unknown().is_none() => {
                        let op = conditions.entry(t).or_insert_with(|| json!({}));
                        if let Some(op) = op.as_object_mut() {
                            op.insert(k, v.to_json());
                        }
                    }
                    _ => return unknown("a condition block of the policy document is not static"),
                }
            }
            if !conditions.is_empty() {
                out.insert("Condition".into(), Value::Object(conditions));
            }
            statements.push(Value::Object(out));
        }
        Val::Str(json!({"Version": "2012-10-17", "Statement": statements}).to_string())
    }
}

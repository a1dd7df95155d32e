//! `data "aws_iam_policy_document"` rendered to policy JSON, as the AWS provider does
//! (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/data-sources/iam_policy_document):
//! `statement` blocks and `dynamic "statement"` blocks (and dynamic `principals`,
//! `not_principals`, `condition` inside statements), `source_policy_documents` ("Statements
//! defined in source_policy_documents must have unique sids"; the document's own statements
//! replace source statements with the same sid), `override_policy_documents` (statements with a
//! non-blank sid replace those with the same sid, the others are appended), `policy_id`,
//! `version`. Anything unknown makes the whole document unknown, with the reason: a statement
//! (a Deny) is never dropped.

use hcl_edit::structure::{Block, Body};
use serde_json::{json, Map, Value};

use super::expr::for_items;
use super::{error, unknown, Module, Scope};
use crate::value::Val;

type Rendered = Result<Value, Val>;

impl<'a> Module<'a> {
    /// Renders `data "aws_iam_policy_document"` to policy JSON.
    pub(super) fn policy_document(&self, block: &'a Block) -> Val {
        match self.render_policy_document(block) {
            Ok(doc) => Val::Str(doc.to_string()),
            Err(v) => v,
        }
    }

    fn render_policy_document(&self, block: &Block) -> Rendered {
        let s = Scope::default();
        let get = |name: &str| -> Result<Option<Val>, Val> {
            match self.attr(block, name).map(|e| self.eval(e, &s)) {
                Some(v) if v.unknown().is_some() => Err(unknown(format!(
                    "{name} of the policy document: {}",
                    v.unknown().unwrap_or_default()
                ))),
                other => Ok(other),
            }
        };
        // `source_json` / `override_json` (AWS provider before 5.0) merge documents the way
        // their provider version did: not rendered here, so the document is not known.
        for old in ["source_json", "override_json"] {
            if self.attr(block, old).is_some() {
                return Err(unknown(format!(
                    "{old} of the policy document (AWS provider before 5.0) is not evaluated"
                )));
            }
        }
        // Source documents: merged, their sids unique.
        let mut merged: Vec<Value> = Vec::new();
        let mut id: Option<Value> = None;
        for doc in documents(get("source_policy_documents")?, "source_policy_documents")? {
            if let Some(v) = doc.get("Id") {
                id = Some(v.clone());
            }
            for st in statements(&doc) {
                if let Some(sid) = sid(&st) {
                    if merged.iter().any(|x| self::sid(x) == Some(sid)) {
                        return Err(error(format!(
                            "source_policy_documents: duplicate Sid {sid} (the provider requires unique sids)"
                        )));
                    }
                }
                merged.push(st);
            }
        }
        // The document's own statements (static and dynamic blocks, in order).
        let mut own: Vec<Value> = Vec::new();
        for (st, scope) in self.blocks(&block.body, "statement", &s)? {
            let st = self.statement(st, &scope)?;
            if let Some(sid) = sid(&st) {
                if own.iter().any(|x| self::sid(x) == Some(sid)) {
                    return Err(error(format!(
                        "duplicate Sid {sid} in the statements of the policy document"
                    )));
                }
            }
            own.push(st);
        }
        for st in own {
            replace_or_append(&mut merged, st);
        }
        // The document's version (default 2012-10-17) wins over the source documents'.
        let mut version = get("version")?.map_or(json!("2012-10-17"), |v| v.to_json());
        if let Some(v) = get("policy_id")? {
            id = Some(v.to_json());
        }
        // Override documents, in order: same sid replaces, others are appended.
        for doc in documents(
            get("override_policy_documents")?,
            "override_policy_documents",
        )? {
            if let Some(v) = doc.get("Version") {
                version = v.clone();
            }
            if let Some(v) = doc.get("Id") {
                id = Some(v.clone());
            }
            for st in statements(&doc) {
                replace_or_append(&mut merged, st);
            }
        }
        let mut out = Map::new();
        out.insert("Version".into(), version);
        if let Some(id) = id {
            out.insert("Id".into(), id);
        }
        out.insert("Statement".into(), Value::Array(merged));
        Ok(Value::Object(out))
    }

    /// The nested blocks `name` of a body, static ones and those a `dynamic "name"` block
    /// generates (with its iterator bound: `name.key`, `name.value`, or the `iterator`
    /// argument's name), in the order written. An unknown `for_each` makes them unknown.
    fn blocks<'b>(
        &self,
        body: &'b Body,
        name: &str,
        s: &Scope,
    ) -> Result<Vec<(&'b Body, Scope)>, Val> {
        let mut out = Vec::new();
        for b in body.blocks() {
            if b.ident.as_str() == name {
                out.push((&b.body, s.clone()));
                continue;
            }
            let dynamic_name = b.labels.first().map(super::label);
            if b.ident.as_str() != "dynamic" || dynamic_name.as_deref() != Some(name) {
                continue;
            }
            let Some(content) = b.body.blocks().find(|c| c.ident.as_str() == "content") else {
                return Err(error(format!("dynamic \"{name}\" without a content block")));
            };
            let iterator = match b.body.attributes().find(|a| a.key.as_str() == "iterator") {
                Some(a) => match &a.value {
                    hcl_edit::expr::Expression::Variable(v) => v.as_str().to_owned(),
                    _ => name.to_owned(),
                },
                None => name.to_owned(),
            };
            let Some(fe) = b.body.attributes().find(|a| a.key.as_str() == "for_each") else {
                return Err(error(format!("dynamic \"{name}\" without for_each")));
            };
            let collection = self.eval(&fe.value, s);
            let items = match collection {
                Val::Unknown(why) => {
                    return Err(unknown(format!(
                    "the {name} blocks of dynamic \"{name}\" (for_each = {}) are not known: {why}",
                    fe.value.to_string().trim()
                )))
                }
                // A set's elements are its keys.
                Val::List(l) if is_set(&fe.value) => {
                    Ok(l.into_iter().map(|v| (v.clone(), v)).collect())
                }
                c => for_items(c, "a dynamic block's for_each is not a collection"),
            }?;
            for (key, value) in items {
                let mut inner = s.clone();
                inner.bindings.push((
                    iterator.clone(),
                    Val::Map(vec![("key".into(), key), ("value".into(), value)]),
                ));
                out.push((&content.body, inner));
            }
        }
        Ok(out)
    }

    /// One `statement` block as policy JSON. An unknown effect, action, resource, principal
    /// identifier or condition value becomes the policy engine's unknown-value marker (what is
    /// known of the statement still counts); an unknown `sid` (statements are merged by sid),
    /// principal type or condition test/variable makes the document unknown.
    fn statement(&self, st: &Body, s: &Scope) -> Rendered {
        let value = |name: &str| -> Option<Val> {
            st.attributes()
                .find(|a| a.key.as_str() == name)
                .map(|a| self.eval(&a.value, s))
        };
        let get = |name: &str| -> Result<Option<Val>, Val> {
            let v = st
                .attributes()
                .find(|a| a.key.as_str() == name)
                .map(|a| self.eval(&a.value, s));
            match v {
                Some(v) if v.unknown().is_some() => Err(unknown(format!(
                    "{name} of a policy statement: {}",
                    v.unknown().unwrap_or_default()
                ))),
                other => Ok(other),
            }
        };
        let mut out = Map::new();
        if let Some(v) = get("sid")? {
            if v != Val::Null && v.text().as_deref() != Some("") {
                out.insert("Sid".into(), v.to_json());
            }
        }
        // A known evaluation error is an error, whatever else is unknown.
        for name in [
            "effect",
            "actions",
            "not_actions",
            "resources",
            "not_resources",
        ] {
            if let Some(v) = value(name).filter(super::is_error) {
                return Err(v);
            }
        }
        let effect = value("effect").map_or(json!("Allow"), |v| v.to_json_marked());
        let marked = effect
            .as_str()
            .and_then(trailseal_policy::unknown_reason)
            .is_some();
        if effect != json!("Allow") && effect != json!("Deny") && !marked {
            return Err(error(format!(
                "a statement effect {effect} (Allow or Deny)"
            )));
        }
        out.insert("Effect".into(), effect);
        for (attr, key) in [
            ("actions", "Action"),
            ("not_actions", "NotAction"),
            ("resources", "Resource"),
            ("not_resources", "NotResource"),
        ] {
            if let Some(v) = value(attr) {
                if v != Val::Null {
                    out.insert(key.into(), v.to_json_marked());
                }
            }
        }
        for (blk, key) in [
            ("principals", "Principal"),
            ("not_principals", "NotPrincipal"),
        ] {
            let mut principals = Map::new();
            for (p, ps) in self.blocks(st, blk, s)? {
                let attr = |n: &str| {
                    p.attributes()
                        .find(|a| a.key.as_str() == n)
                        .map(|a| self.eval(&a.value, &ps))
                };
                match (attr("type"), attr("identifiers")) {
                    // "To have Terraform render JSON containing "Principal": "*", use
                    // type = "*" and identifiers = ["*"]" (aws_iam_policy_document docs).
                    (Some(Val::Str(t)), Some(Val::List(ids)))
                        if t == "*" && ids == [Val::Str("*".into())] =>
                    {
                        principals.insert("*".into(), Value::Null);
                    }
                    (Some(Val::Str(t)), Some(ids)) if !super::is_error(&ids) => {
                        let entry = principals.entry(t).or_insert_with(|| json!([]));
                        match (entry.as_array_mut(), ids.to_json_marked()) {
                            (Some(list), Value::Array(new)) => list.extend(new),
                            (Some(list), one) => list.push(one),
                            _ => {}
                        }
                    }
                    (t, ids) => {
                        let why = t
                            .as_ref()
                            .and_then(Val::unknown)
                            .or(ids.as_ref().and_then(Val::unknown))
                            .unwrap_or("type or identifiers missing");
                        return Err(unknown(format!(
                            "a {blk} block of the policy document is not known: {why}"
                        )));
                    }
                }
            }
            if principals.contains_key("*") {
                if principals.len() > 1 {
                    return Err(error(format!(
                        "{blk}: type \"*\" together with other principal types"
                    )));
                }
                out.insert(key.into(), json!("*"));
            } else if !principals.is_empty() {
                out.insert(key.into(), Value::Object(principals));
            }
        }
        let mut conditions = Map::new();
        for (c, cs) in self.blocks(st, "condition", s)? {
            let attr = |n: &str| {
                c.attributes()
                    .find(|a| a.key.as_str() == n)
                    .map(|a| self.eval(&a.value, &cs))
            };
            match (attr("test"), attr("variable"), attr("values")) {
                (Some(Val::Str(t)), Some(Val::Str(k)), Some(v)) if !super::is_error(&v) => {
                    let op = conditions.entry(t).or_insert_with(|| json!({}));
                    if let Some(op) = op.as_object_mut() {
                        // Two condition blocks with the same test and variable: how the
                        // provider combines them has changed between versions
                        // (terraform-provider-aws #33068), so the document is not known.
                        if op.contains_key(&k) {
                            return Err(unknown(format!(
                                "two condition blocks test {k} with the same operator: how the AWS provider combines them depends on its version"
                            )));
                        }
                        op.insert(k, v.to_json_marked());
                    }
                }
                (t, k, v) => {
                    let why = [t, k, v]
                        .iter()
                        .find_map(|x| x.as_ref().and_then(Val::unknown).map(str::to_owned))
                        .unwrap_or_else(|| "test, variable or values missing".into());
                    return Err(unknown(format!(
                        "a condition block of the policy document is not known: {why}"
                    )));
                }
            }
        }
        if !conditions.is_empty() {
            out.insert("Condition".into(), Value::Object(conditions));
        }
        Ok(Value::Object(out))
    }
}

/// Whether a for_each expression makes a set (`toset(...)`): its elements are the keys.
fn is_set(e: &hcl_edit::expr::Expression) -> bool {
    matches!(e, hcl_edit::expr::Expression::FuncCall(f) if f.name.name.as_str() == "toset")
}

/// The policy documents of a `source_policy_documents` / `override_policy_documents` list.
fn documents(v: Option<Val>, name: &str) -> Result<Vec<Value>, Val> {
    let items = match v {
        None | Some(Val::Null) => return Ok(Vec::new()),
        Some(Val::List(items)) => items,
        Some(_) => return Err(error(format!("{name} is not a list"))),
    };
    items
        .into_iter()
        .map(|d| match d {
            Val::Str(text) if text.trim().is_empty() => Ok(json!({})),
            Val::Str(text) => serde_json::from_str::<Value>(&text)
                .map_err(|e| error(format!("{name}: a document that is not JSON: {e}"))),
            Val::Null => Ok(json!({})),
            _ => Err(error(format!("{name}: an element that is not a string"))),
        })
        .collect()
}

/// The statements of a policy document (an object or a list of them).
fn statements(doc: &Value) -> Vec<Value> {
    match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(st @ Value::Object(_)) => vec![st.clone()],
        _ => Vec::new(),
    }
}

fn sid(st: &Value) -> Option<&str> {
    st.get("Sid")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// A statement with a non-blank sid replaces the statement with the same sid; others are
/// appended.
fn replace_or_append(merged: &mut Vec<Value>, st: Value) {
    if let Some(sid) = sid(&st).map(str::to_owned) {
        if let Some(slot) = merged
            .iter_mut()
            .find(|x| self::sid(x) == Some(sid.as_str()))
        {
            *slot = st;
            return;
        }
    }
    merged.push(st);
}

//! `.tf.json` files (Terraform's JSON syntax) converted to HCL text with the same meaning, and
//! resource positions looked up in the JSON.

use serde_json::Value;

use super::line_col;

/// Nested block types (as opposed to object-valued attributes) in `.tf.json` bodies.
const NESTED_BLOCKS: &[&str] = &[
    "statement",
    "principals",
    "not_principals",
    "condition",
    "event_selector",
    "advanced_event_selector",
    "field_selector",
    "data_resource",
    "insight_selector",
    "lifecycle",
];

/// A JSON value as an HCL expression; strings are templates (`${...}` stays live).
pub(super) fn hcl_expr(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let mut out = String::from('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c => out.push(c),
                }
            }
            out.push('"');
            out
        }
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(hcl_expr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{} = {}", hcl_expr(&Value::String(k.clone())), hcl_expr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

pub(super) fn hcl_body(body: &Value, out: &mut String) {
    let Some(map) = body.as_object() else { return };
    for (k, v) in map {
        let nested: Vec<&Value> = match v {
            Value::Object(_) if NESTED_BLOCKS.contains(&k.as_str()) => vec![v],
            Value::Array(items)
                if NESTED_BLOCKS.contains(&k.as_str()) && items.iter().all(Value::is_object) =>
            {
                items.iter().collect()
            }
            _ => Vec::new(),
        };
        if nested.is_empty() {
            out.push_str(&format!("{k} = {}\n", hcl_expr(v)));
        } else {
            for b in nested {
                out.push_str(&format!("{k} {{\n"));
                hcl_body(b, out);
                out.push_str("}\n");
            }
        }
    }
}

/// Bodies of a `.tf.json` block: an object, or an array of objects.
pub(super) fn bodies(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// `.tf.json` (Terraform's JSON syntax) as HCL text with the same meaning.
pub(super) fn json_to_hcl(doc: &Value) -> String {
    let mut out = String::new();
    let Some(top) = doc.as_object() else {
        return out;
    };
    for (kind, content) in top {
        let Some(content) = content.as_object() else {
            continue;
        };
        match kind.as_str() {
            "resource" | "data" => {
                for (ty, named) in content {
                    for (name, body) in named.as_object().into_iter().flatten() {
                        for b in bodies(body) {
                            out.push_str(&format!("{kind} \"{ty}\" \"{name}\" {{\n"));
                            hcl_body(b, &mut out);
                            out.push_str("}\n");
                        }
                    }
                }
            }
            "variable" | "module" | "provider" => {
                for (name, body) in content {
                    for b in bodies(body) {
                        out.push_str(&format!("{kind} \"{name}\" {{\n"));
                        hcl_body(b, &mut out);
                        out.push_str("}\n");
                    }
                }
            }
            "locals" => {
                out.push_str("locals {\n");
                hcl_body(&Value::Object(content.clone()), &mut out);
                out.push_str("}\n");
            }
            _ => {}
        }
    }
    out
}

/// Line of `"NAME"` after the first `"TYPE"` in a `.tf.json` text.
pub(super) fn json_position(json: &str, ty: &str, name: &str) -> (u32, u32) {
    let ty_at = json.find(&format!("\"{ty}\"")).unwrap_or(0);
    let at = json[ty_at..]
        .find(&format!("\"{name}\""))
        .map_or(ty_at, |i| ty_at + i);
    line_col(json, at)
}

//! Fixes written in the scanned file's own language, at the resource to edit.
//!
//! The checks word their fixes for a live account (a JSON statement, an AWS CLI command). For
//! infrastructure as code that is the wrong language: a JSON statement with
//! `${AWS::AccountId}` pasted into Terraform's `jsonencode` does not even parse. Here the
//! finding's fix is rewritten for the file it came from:
//! - key policy statements (TS006, TS007) as a CloudFormation YAML or JSON statement (`!Sub` /
//!   `Fn::Sub` for the account and Region) or as an HCL object for `jsonencode` (with
//!   `data.aws_caller_identity`), naming the key resource whose policy must change and its line;
//! - attribute settings (TS001, TS003, TS010, TS011) as the attribute, on the resource that
//!   carries it (the trail, or its key).
//!
//! Findings whose key is not defined in the scanned files (an ARN of an existing key) keep the
//! check's own fix.

use serde_json::Value;
use trailseal_model::Finding;

use crate::value::{ACCOUNT, REGION};
use crate::Location;

/// The language a scan's resources are written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    #[default]
    CloudFormationYaml,
    CloudFormationJson,
    /// Terraform HCL, and plans (whose fixes go into the `.tf` files).
    Terraform,
}

/// Where the resource to edit is: its address and `file:line`.
pub(crate) struct Target<'a> {
    pub location: &'a Location,
    pub file: &'a str,
}

impl Target<'_> {
    fn describe(&self) -> String {
        format!(
            "{} ({}:{})",
            self.location.address, self.file, self.location.line
        )
    }
}

/// Rewrites `f`'s remediation for `lang`. `trail` is the trail's own definition, `key` the
/// definition of its key when the key is in the scanned files.
pub(crate) fn rewrite(f: &mut Finding, lang: Lang, trail: &Target<'_>, key: Option<&Target<'_>>) {
    if f.status == trailseal_model::Status::Pass || f.status == trailseal_model::Status::Skipped {
        return;
    }
    match f.code.as_str() {
        "TS006" | "TS007" => {
            let (Some(key), Some(statement)) = (key, f.evidence.get("statement_to_add").cloned())
            else {
                return;
            };
            let json = serde_json::to_string_pretty(&statement).unwrap_or_default();
            let Some(at) = f.remediation.find(&json) else {
                return;
            };
            let before = f.remediation[..at].replace(
                "the key policy",
                &format!("the key policy of {}", key.describe()),
            );
            let rendered = match lang {
                Lang::CloudFormationYaml => format!(
                    "{}\n(an item of its KeyPolicy Statement list, in YAML)",
                    yaml(&statement, 0).trim_end()
                ),
                Lang::CloudFormationJson => format!(
                    "{}\n(an item of its KeyPolicy Statement list)",
                    serde_json::to_string_pretty(&cfn_json(&statement)).unwrap_or_default()
                ),
                Lang::Terraform => {
                    let mut text = format!(
                        "{}\n(an item of the Statement list in its policy's jsonencode(...)",
                        hcl(&statement, 0)
                    );
                    if json.contains(ACCOUNT) {
                        text += "; declare data \"aws_caller_identity\" \"current\" {} once in the module";
                    }
                    if json.contains(REGION) {
                        text += "; declare data \"aws_region\" \"current\" {} once in the module";
                    }
                    text + ")"
                }
            };
            let after = &f.remediation[at + json.len()..];
            f.remediation = format!("{before}{rendered}{after}");
        }
        "TS010" => {
            f.remediation = attribute(
                lang,
                trail,
                (
                    "enable_log_file_validation = true",
                    "EnableLogFileValidation",
                    "true",
                ),
            );
        }
        "TS001" => {
            f.remediation = attribute(
                lang,
                trail,
                (
                    "kms_key_id = aws_kms_key.KEY.arn",
                    "KMSKeyId",
                    "!GetAtt KEY.Arn",
                ),
            ) + " (KEY: a customer-managed symmetric key in the bucket's Region whose policy lets \
                  CloudTrail encrypt; see `trailseal explain TS006`)";
        }
        "TS003" if f.status == trailseal_model::Status::Fail => {
            if let Some(key) = key {
                f.remediation = attribute(lang, key, ("is_enabled = true", "Enabled", "true"));
            }
        }
        "TS011" if f.status == trailseal_model::Status::Fail => {
            if let Some(key) = key {
                f.remediation = attribute(
                    lang,
                    key,
                    ("enable_key_rotation = true", "EnableKeyRotation", "true"),
                );
            }
        }
        _ => {}
    }
}

/// "Set `X` in R (file:line)." in the file's language: (Terraform argument, CloudFormation
/// property, its value).
fn attribute(lang: Lang, on: &Target<'_>, (hcl, property, value): (&str, &str, &str)) -> String {
    match lang {
        Lang::Terraform => format!("Set `{hcl}` in {}.", on.describe()),
        Lang::CloudFormationYaml => format!(
            "Set `{property}: {value}` in the Properties of {}.",
            on.describe()
        ),
        Lang::CloudFormationJson => {
            let value = match value.strip_prefix("!GetAtt ") {
                Some(att) => {
                    let (resource, attr) = att.split_once('.').unwrap_or((att, "Arn"));
                    format!("{{\"Fn::GetAtt\": [\"{resource}\", \"{attr}\"]}}")
                }
                None => value.to_owned(),
            };
            format!(
                "Set `\"{property}\": {value}` in the Properties of {}.",
                on.describe()
            )
        }
    }
}

/// The statement's account and Region placeholders as CloudFormation pseudo parameters.
fn cfn_sub(s: &str) -> Option<String> {
    (s.contains(ACCOUNT) || s.contains(REGION)).then(|| {
        s.replace("${", "${!")
            .replace(ACCOUNT, "${AWS::AccountId}")
            .replace(REGION, "${AWS::Region}")
    })
}

/// The statement as CloudFormation JSON (`{"Fn::Sub": ...}` where a placeholder is).
fn cfn_json(v: &Value) -> Value {
    match v {
        Value::String(s) => match cfn_sub(s) {
            Some(sub) => serde_json::json!({ "Fn::Sub": sub }),
            None => v.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(cfn_json).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), cfn_json(v))).collect())
        }
        other => other.clone(),
    }
}

fn yaml_scalar(s: &str) -> String {
    match cfn_sub(s) {
        Some(sub) => format!("!Sub '{}'", sub.replace('\'', "''")),
        None => format!("'{}'", s.replace('\'', "''")),
    }
}

fn yaml_key(k: &str) -> String {
    if !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        k.to_owned()
    } else {
        format!("'{}'", k.replace('\'', "''"))
    }
}

/// A block-style YAML item (`- Sid: ...`) at `indent` spaces.
fn yaml(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            let mut out = String::new();
            for (i, (k, v)) in map.iter().enumerate() {
                let lead = if indent == 0 && i == 0 {
                    "- ".to_owned()
                } else if indent == 0 {
                    "  ".to_owned()
                } else {
                    pad.clone()
                };
                let inner = if indent == 0 { 4 } else { indent + 2 };
                match v {
                    Value::Object(_) => {
                        out += &format!("{lead}{}:\n{}", yaml_key(k), yaml(v, inner));
                    }
                    Value::Array(items) => {
                        out += &format!("{lead}{}:\n", yaml_key(k));
                        let item_pad = " ".repeat(inner);
                        for item in items {
                            out += &format!("{item_pad}- {}\n", scalar_yaml(item));
                        }
                    }
                    _ => out += &format!("{lead}{}: {}\n", yaml_key(k), scalar_yaml(v)),
                }
            }
            out
        }
        other => format!("{pad}{}\n", scalar_yaml(other)),
    }
}

fn scalar_yaml(v: &Value) -> String {
    match v {
        Value::String(s) => yaml_scalar(s),
        other => other.to_string(),
    }
}

/// The statement as an HCL object for `jsonencode`, placeholders as Terraform references.
fn hcl(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent + 2);
    let close = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            let mut out = String::from("{\n");
            for (k, v) in map {
                let key = if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                {
                    k.clone()
                } else {
                    hcl_string(k)
                };
                out += &format!("{pad}{key} = {}\n", hcl(v, indent + 2));
            }
            out + &close + "}"
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|i| hcl(i, indent + 2)).collect();
            format!("[{}]", items.join(", "))
        }
        Value::String(s) => hcl_string(s),
        other => other.to_string(),
    }
}

/// A quoted HCL string: literal `${` and `%{` escaped, the placeholders as references.
fn hcl_string(s: &str) -> String {
    let escaped = s
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace("${", "$${")
        .replace("%{", "%%{")
        .replace(ACCOUNT, "${data.aws_caller_identity.current.account_id}")
        .replace(REGION, "${data.aws_region.current.name}");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> Value {
        serde_json::json!({
            "Sid": "TrailsealAllowCloudTrailEncrypt",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": ["kms:GenerateDataKey*"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:SourceArn": format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main")},
                "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": format!("arn:aws:cloudtrail:*:{ACCOUNT}:trail/*")}
            }
        })
    }

    #[test]
    fn terraform_gets_hcl_with_references_that_parse() {
        let text = hcl(&statement(), 0);
        assert!(text.contains("\"aws:SourceArn\" = \"arn:aws:cloudtrail:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:trail/main\""), "{text}");
        assert!(!text.contains("AWS::"), "{text}");
        assert!(!text.contains(ACCOUNT), "{text}");
        // It is an HCL expression: inside jsonencode(...) it parses.
        let module = format!("locals {{\n  p = jsonencode({{ Statement = [{text}] }})\n}}\n");
        assert!(
            module.parse::<hcl_edit::structure::Body>().is_ok(),
            "{module}"
        );
    }

    #[test]
    fn cloudformation_yaml_uses_sub_and_is_valid_yaml() {
        let text = yaml(&statement(), 0);
        assert!(
            text.starts_with("- Sid: 'TrailsealAllowCloudTrailEncrypt'\n"),
            "{text}"
        );
        assert!(
            text.contains("'aws:SourceArn': !Sub 'arn:aws:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/main'"),
            "{text}"
        );
        let doc = format!("Statement:\n{}", indent_lines(&text, 2));
        let parsed = crate::yaml::parse(&doc);
        assert!(parsed.is_ok(), "{doc}");
    }

    fn indent_lines(text: &str, n: usize) -> String {
        text.lines()
            .map(|l| format!("{}{l}\n", " ".repeat(n)))
            .collect()
    }

    #[test]
    fn cloudformation_json_uses_fn_sub() {
        let v = cfn_json(&statement());
        assert_eq!(
            v["Condition"]["StringEquals"]["aws:SourceArn"],
            serde_json::json!({"Fn::Sub": "arn:aws:cloudtrail:${AWS::Region}:${AWS::AccountId}:trail/main"})
        );
        assert_eq!(v["Resource"], "*");
    }
}

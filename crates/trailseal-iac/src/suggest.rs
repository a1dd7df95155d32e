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

/// How a key's policy is written, so that a fix adds the statement where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicySite {
    /// No policy argument: KMS's default key policy applies (the account's IAM principals only).
    Default,
    /// The policy argument of `setter` (the key itself, or an `aws_kms_key_policy`), built from
    /// the `data.aws_iam_policy_document` `document` when there is one.
    Argument {
        setter: String,
        document: Option<String>,
    },
}

/// What a fix may point at: the trail, its key, how the key's policy is written and where.
pub(crate) struct Places<'a> {
    pub trail: &'a Target<'a>,
    pub key: Option<&'a Target<'a>>,
    pub policy: Option<&'a PolicySite>,
    /// The resource that sets the policy, when it is not the key (`aws_kms_key_policy`).
    pub setter: Option<&'a Target<'a>>,
    /// Every statement the key's failing TS006/TS007 findings add, for all its trails (with
    /// [`unique_sid`]): a key with KMS's default policy gets one whole policy holding them all,
    /// the same in each of those findings.
    pub key_statements: &'a [Value],
    /// This finding's own [`statement_to_add`] (computed once per finding by the caller).
    pub statement: Option<&'a Value>,
}

/// The statement a failing TS006/TS007 finding adds, with a Sid that is unique per trail: the
/// trail's name and a short hash of its ARN (two trails named `a-b` and `a_b`, or alike in
/// two Regions, share a key and must not give two equal Sids, which AWS rejects).
pub(crate) fn statement_to_add(f: &Finding) -> Option<Value> {
    if f.status != trailseal_model::Status::Fail || !matches!(f.code.as_str(), "TS006" | "TS007") {
        return None;
    }
    let mut statement = f.evidence.get("statement_to_add").cloned()?;
    if let Some(sid) = statement
        .get("Sid")
        .and_then(Value::as_str)
        .map(str::to_owned)
    {
        statement["Sid"] = Value::String(unique_sid(&sid, &f.resource));
    }
    Some(statement)
}

/// Where `needle` first is in `haystack`, as `str::find` says, for a long needle (a statement
/// of several hundred bytes): `find` prepares a Two-Way search over the whole needle each
/// time, where the few places that start with the needle's first byte are all there is to try.
fn find(haystack: &str, needle: &str) -> Option<usize> {
    let (haystack, needle) = (haystack.as_bytes(), needle.as_bytes());
    let Some(&first) = needle.first() else {
        return Some(0);
    };
    memchr::memchr_iter(first, haystack).find(|&i| haystack[i..].starts_with(needle))
}

fn unique_sid(sid: &str, trail_arn: &str) -> String {
    use sha2::Digest as _;
    let name: String = trail_arn
        .rsplit_once("trail/")
        .map_or("", |(_, n)| n)
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(32)
        .collect();
    let digest = sha2::Sha256::digest(trail_arn.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{sid}{name}{hash}")
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

/// Whether [`rewrite`] may change `f` (a problem of a check whose fix it writes).
pub(crate) fn rewrites(f: &Finding) -> bool {
    use trailseal_model::Status;
    matches!(
        f.status,
        Status::Fail | Status::Error | Status::Indeterminate
    ) && matches!(
        f.code.as_str(),
        "TS001" | "TS003" | "TS006" | "TS007" | "TS010" | "TS011"
    )
}

/// Rewrites `f`'s remediation for `lang`, at the places `at` names.
pub(crate) fn rewrite(f: &mut Finding, lang: Lang, at: &Places<'_>) {
    use trailseal_model::Status;
    if f.status == Status::Pass || f.status == Status::Skipped {
        return;
    }
    let replica = at
        .key
        .is_some_and(|k| k.location.address.contains("aws_kms_replica_key."));
    match f.code.as_str() {
        // Only a failing check adds a statement: an indeterminate one keeps the check's own
        // advice (make the statements explicit), which names what is undecided.
        "TS006" | "TS007" if f.status == Status::Fail => {
            if let Some(fix) = statement_fix(f, lang, at) {
                f.remediation = fix;
            }
        }
        "TS010" => {
            f.remediation = attribute(
                lang,
                at.trail,
                (
                    "enable_log_file_validation = true",
                    "EnableLogFileValidation",
                    "true",
                ),
            );
        }
        "TS001" if f.status == Status::Fail => {
            f.remediation = attribute(
                lang,
                at.trail,
                ("kms_key_id = aws_kms_key.KEY.arn", "KMSKeyId", "!GetAtt KEY.Arn"),
            ) + " (KEY: a customer-managed symmetric key in the bucket's Region whose policy lets \
                  CloudTrail encrypt; see `trailseal explain TS006`)";
        }
        "TS003" if f.status == Status::Fail => {
            if let Some(key) = at.key {
                // aws_kms_replica_key's argument is `enabled`.
                let hcl = if replica {
                    "enabled = true"
                } else {
                    "is_enabled = true"
                };
                f.remediation = attribute(lang, key, (hcl, "Enabled", "true"));
            }
        }
        "TS011" if f.status == Status::Fail => {
            if let Some(key) = at.key {
                f.remediation = if replica && lang == Lang::Terraform {
                    format!(
                        "Rotation is a property of the primary key of {}: set \
                         `enable_key_rotation = true` on the aws_kms_key its primary_key_arn names.",
                        key.describe()
                    )
                } else {
                    attribute(
                        lang,
                        key,
                        ("enable_key_rotation = true", "EnableKeyRotation", "true"),
                    )
                };
            }
        }
        _ => {}
    }
}

/// The fix of TS006 / TS007: the statement the check prints, in the file's language, added
/// where the key's policy is written. None: keep the check's own fix (the key is not in the
/// scanned files, or the fix has no statement).
fn statement_fix(f: &Finding, lang: Lang, at: &Places<'_>) -> Option<String> {
    let key = at.key?;
    let original = f.evidence.get("statement_to_add")?;
    let json = serde_json::to_string_pretty(original).unwrap_or_default();
    let start = find(&f.remediation, &json)?;
    let statement = at.statement?.clone();
    // A whole policy for a key with KMS's default one: the default statement, and every
    // statement its trails need (the same policy in each of their findings).
    // Built only for such a key.
    let whole = || {
        let mut all = vec![root_statement(&json)];
        all.extend(at.key_statements.iter().cloned());
        if !at.key_statements.contains(&statement) {
            all.push(statement.clone());
        }
        all
    };
    let policy_of = match (at.policy, at.setter) {
        (_, Some(setter)) => setter.describe(),
        (Some(PolicySite::Argument { setter, .. }), None) if *setter != key.location.address => {
            setter.clone()
        }
        _ => key.describe(),
    };
    let before =
        f.remediation[..start].replace("the key policy", &format!("the key policy of {policy_of}"));
    let after = &f.remediation[start + json.len()..];
    let needs = declarations(&json, lang);
    let rendered = match (lang, at.policy) {
        (Lang::CloudFormationYaml, Some(PolicySite::Default)) => format!(
            "{} has no KeyPolicy, so KMS's default key policy applies (the account's IAM \
             principals only). Give it this KeyPolicy (the default statement and what every \
             trail using the key needs; the same in each of their findings):\n\
             KeyPolicy:\n  Version: '2012-10-17'\n  Statement:\n{}",
            key.describe(),
            whole()
                .iter()
                .map(|st| indent(&yaml(st, 0), 4))
                .collect::<String>()
                .trim_end()
        ),
        (Lang::CloudFormationJson, Some(PolicySite::Default)) => format!(
            "{} has no KeyPolicy, so KMS's default key policy applies (the account's IAM \
             principals only). Give it this KeyPolicy (the default statement and what every \
             trail using the key needs; the same in each of their findings):\n{}",
            key.describe(),
            serde_json::to_string_pretty(&cfn_json(&serde_json::json!({
                "Version": "2012-10-17",
                "Statement": whole(),
            })))
            .unwrap_or_default()
        ),
        (Lang::Terraform, Some(PolicySite::Default)) => format!(
            "{} has no policy argument, so KMS's default key policy applies (the account's IAM \
             principals only). Give it this policy (the default statement and what every trail \
             using the key needs; the same in each of their findings):\n\
             policy = jsonencode({})\n({})",
            key.describe(),
            hcl(
                &serde_json::json!({
                    "Version": "2012-10-17",
                    "Statement": whole(),
                }),
                0
            ),
            declarations(&format!("{ACCOUNT}{json}"), lang).trim_start_matches("; ")
        ),
        (Lang::CloudFormationYaml, _) => format!(
            "{before}{}\n(an item of its KeyPolicy Statement list, in YAML){after}",
            yaml(&statement, 0).trim_end()
        ),
        (Lang::CloudFormationJson, _) => format!(
            "{before}{}\n(an item of its KeyPolicy Statement list){after}",
            serde_json::to_string_pretty(&cfn_json(&statement)).unwrap_or_default()
        ),
        (
            Lang::Terraform,
            Some(PolicySite::Argument {
                document: Some(doc),
                ..
            }),
        ) => format!(
            "{} builds its policy from {doc}: add this statement block to {doc}:\n{}\n({})",
            policy_of,
            document_block(&statement),
            if needs.is_empty() {
                "a block of its own, next to the other statement blocks".to_owned()
            } else {
                needs.trim_start_matches("; ").to_owned()
            }
        ),
        (Lang::Terraform, _) => format!(
            "{before}{}\n(an item of the Statement list in its policy's jsonencode(...){needs}; \
             if the policy is JSON text instead, a heredoc, write the same statement in JSON, \
             `\"Key\": value` for `Key = value`){after}",
            hcl(&statement, 0),
        ),
    };
    Some(rendered)
}

/// The `data` sources a Terraform fix refers to, to declare once in the module.
fn declarations(text: &str, lang: Lang) -> String {
    let mut out = String::new();
    if lang == Lang::Terraform {
        if text.contains(ACCOUNT) {
            out += "; declare data \"aws_caller_identity\" \"current\" {} once in the module";
        }
        if text.contains(REGION) {
            out += "; declare data \"aws_region\" \"current\" {} once in the module";
        }
    }
    out
}

/// The default key policy's statement (KMS Developer Guide, "Default key policy"): the
/// account's IAM principals may use the key, as their IAM policies allow. In the partition of
/// the statements it goes with (`arn:aws-us-gov:...` in GovCloud).
fn root_statement(statements: &str) -> Value {
    let partition = statements
        .split("arn:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .filter(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or("aws");
    serde_json::json!({
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:{partition}:iam::{ACCOUNT}:root")},
        "Action": "kms:*",
        "Resource": "*",
    })
}

fn indent(text: &str, n: usize) -> String {
    text.lines()
        .map(|l| format!("{}{l}\n", " ".repeat(n)))
        .collect()
}

/// The statement as a `statement { }` block of `data "aws_iam_policy_document"`.
fn document_block(statement: &Value) -> String {
    let list = |v: Option<&Value>| -> String {
        let items: Vec<String> = match v {
            Some(Value::Array(items)) => items.iter().map(|i| hcl(i, 0)).collect(),
            Some(other) => vec![hcl(other, 0)],
            None => Vec::new(),
        };
        format!("[{}]", items.join(", "))
    };
    let mut out = String::from("statement {\n");
    if let Some(sid) = statement.get("Sid") {
        out += &format!("  sid       = {}\n", hcl(sid, 0));
    }
    if let Some(effect) = statement.get("Effect") {
        out += &format!("  effect    = {}\n", hcl(effect, 0));
    }
    out += &format!("  actions   = {}\n", list(statement.get("Action")));
    out += &format!("  resources = {}\n", list(statement.get("Resource")));
    if let Some(Value::Object(principals)) = statement.get("Principal") {
        for (ty, ids) in principals {
            out += &format!(
                "  principals {{\n    type        = {}\n    identifiers = {}\n  }}\n",
                hcl_string(ty),
                list(Some(ids))
            );
        }
    }
    if let Some(Value::Object(tests)) = statement.get("Condition") {
        for (test, vars) in tests {
            if let Value::Object(vars) = vars {
                for (variable, values) in vars {
                    out += &format!(
                        "  condition {{\n    test     = {}\n    variable = {}\n    values   = {}\n  }}\n",
                        hcl_string(test),
                        hcl_string(variable),
                        list(Some(values))
                    );
                }
            }
        }
    }
    out + "}"
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
    let mut out = String::new();
    write_hcl(&mut out, v, indent);
    out
}

/// [`hcl`] into one buffer (a key policy's fix is written for every failing trail).
fn write_hcl(out: &mut String, v: &Value, indent: usize) {
    let spaces = |out: &mut String, n: usize| out.extend(std::iter::repeat_n(' ', n));
    match v {
        Value::Object(map) => {
            out.push_str("{\n");
            for (k, v) in map {
                spaces(out, indent + 2);
                if !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit())
                {
                    out.push_str(k);
                } else {
                    write_hcl_string(out, k);
                }
                out.push_str(" = ");
                write_hcl(out, v, indent + 2);
                out.push('\n');
            }
            spaces(out, indent);
            out.push('}');
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            // Objects one per line, at the list's indentation plus two.
            out.push_str("[\n");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(",\n");
                }
                spaces(out, indent + 2);
                write_hcl(out, item, indent + 2);
            }
            out.push('\n');
            spaces(out, indent);
            out.push(']');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_hcl(out, item, indent + 2);
            }
            out.push(']');
        }
        Value::String(s) => write_hcl_string(out, s),
        other => out.push_str(&other.to_string()),
    }
}

/// A quoted HCL string: literal `${` and `%{` escaped, the placeholders as references.
fn hcl_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    write_hcl_string(&mut out, s);
    out
}

/// [`hcl_string`] in one pass. The placeholders hold none of the characters escaped, so
/// escaping first and replacing them after (as a chain of `replace` would) is the same as
/// doing both at each position.
fn write_hcl_string(out: &mut String, s: &str) {
    out.push('"');
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        let (with, len) = if rest.starts_with(ACCOUNT) {
            (
                "${data.aws_caller_identity.current.account_id}",
                ACCOUNT.len(),
            )
        } else if rest.starts_with(REGION) {
            ("${data.aws_region.current.name}", REGION.len())
        } else if rest.starts_with("${") {
            ("$${", 2)
        } else if rest.starts_with("%{") {
            ("%%{", 2)
        } else if c == '\\' {
            ("\\\\", 1)
        } else if c == '"' {
            ("\\\"", 1)
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        out.push_str(with);
        rest = rest.get(len..).unwrap_or_default();
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The chained-`replace` and `format!` writer [`hcl`] replaced: the oracle of the
    /// one-buffer one.
    fn hcl_before(v: &Value, indent: usize) -> String {
        fn string(s: &str) -> String {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace("${", "$${")
                .replace("%{", "%%{")
                .replace(ACCOUNT, "${data.aws_caller_identity.current.account_id}")
                .replace(REGION, "${data.aws_region.current.name}");
            format!("\"{escaped}\"")
        }
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
                        string(k)
                    };
                    out += &format!("{pad}{key} = {}\n", hcl_before(v, indent + 2));
                }
                out + &close + "}"
            }
            Value::Array(items) if items.iter().any(Value::is_object) => {
                let items: Vec<String> = items
                    .iter()
                    .map(|i| format!("{pad}{}", hcl_before(i, indent + 2)))
                    .collect();
                format!("[\n{}\n{close}]", items.join(",\n"))
            }
            Value::Array(items) => {
                let items: Vec<String> = items.iter().map(|i| hcl_before(i, indent + 2)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::String(s) => string(s),
            other => other.to_string(),
        }
    }

    /// Strings made of the pieces that matter: the placeholders, `${`, `%{`, `$`, `%`, `{`,
    /// quotes, backslashes, zeros around the account, other text.
    fn arb_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(ACCOUNT.to_owned()),
            Just(REGION.to_owned()),
            Just("${".to_owned()),
            Just("%{".to_owned()),
            Just("$".to_owned()),
            Just("%".to_owned()),
            Just("{".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("0".to_owned()),
            "[a-z_1é]{0,3}",
        ];
        prop::collection::vec(piece, 0..8).prop_map(|p| p.concat())
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            arb_text().prop_map(Value::String),
            any::<i32>().prop_map(|n| serde_json::json!(n)),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (prop_oneof![arb_text(), "[a-z_][a-z0-9_]{0,4}"], inner),
                    0..4
                )
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn hcl_writes_what_the_chained_replaces_wrote(v in arb_value(), indent in 0usize..5) {
            prop_assert_eq!(hcl(&v, indent), hcl_before(&v, indent));
        }

        /// `find` finds what `str::find` finds: the first place, overlaps and repeats of the
        /// needle's first byte included (a small alphabet makes them common).
        #[test]
        fn find_is_str_find(haystack in "[{ab\"é\n]{0,40}", needle in "[{ab\"é\n]{0,6}") {
            prop_assert_eq!(find(&haystack, &needle), haystack.find(needle.as_str()));
            let statement = serde_json::to_string_pretty(&statement()).expect("json");
            let text = format!("{haystack}{statement}{haystack}{statement}");
            prop_assert_eq!(find(&text, &statement), text.find(statement.as_str()));
        }
    }

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

//! JSON text -> [`Policy`], collecting [`Diagnostic`]s on the way.
//!
//! The parser is lenient where evaluation stays sound (an unknown condition operator evaluates
//! as "unknown", an unknown principal type never matches) and stops with a *fatal* diagnostic
//! where it would not (a statement without `Effect`, `Action` given as an object, ...).
//! Fatal problems are ones AWS rejects too, so no real key policy has them.

use crate::diagnostic::{Diagnostic, Location, Severity};
use crate::json::Json;
use crate::model::*;

/// Largest key policy KMS accepts (32 KB).
pub const KMS_POLICY_MAX_BYTES: usize = 32 * 1024;

const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// Parses policy text. Returns the policy when no fatal diagnostic was raised, and every
/// diagnostic found while parsing (lint adds semantic ones on top, see [`crate::lint`]).
pub fn parse_document(text: &str) -> (Option<Policy>, Vec<Diagnostic>) {
    let (policy, _, diags) = parse_document_partial(text);
    (policy, diags)
}

/// [`parse_document`], plus the statements that did parse when another one could not (fatal):
/// lint still reports every problem of those, not only the first fatal one.
pub(crate) fn parse_document_partial(
    text: &str,
) -> (Option<Policy>, Option<Policy>, Vec<Diagnostic>) {
    let mut p = Parser::default();
    let policy = match Json::parse(text) {
        Ok(json) => {
            if text.len() > KMS_POLICY_MAX_BYTES {
                p.push(
                    "POLICY_TOO_LARGE",
                    Severity::Error,
                    false,
                    Location::document(""),
                    format!(
                        "the policy is {} bytes; KMS key policies are limited to {} bytes",
                        text.len(),
                        KMS_POLICY_MAX_BYTES
                    ),
                );
            }
            p.duplicates(&json, &mut Vec::new(), None);
            p.document(&json)
        }
        Err(e) => {
            p.fatal(
                "INVALID_JSON",
                Location::document(""),
                format!("not valid JSON: {e}"),
            );
            None
        }
    };
    (policy, p.partial, p.diags)
}

#[derive(Default)]
struct Parser {
    diags: Vec<Diagnostic>,
    /// The statements that parsed, when another statement could not.
    partial: Option<Policy>,
}

/// Marker: a fatal diagnostic was pushed.
struct Fatal;

/// Keeps, for every key, only its last occurrence (IAM's reading), in document order.
fn last_wins(members: &[(String, Json)]) -> Vec<(&str, &Json)> {
    members
        .iter()
        .enumerate()
        .filter(|(i, (k, _))| !members[i + 1..].iter().any(|(k2, _)| k2 == k))
        .map(|(_, (k, v))| (k.as_str(), v))
        .collect()
}

impl Parser {
    fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        fatal: bool,
        location: Location,
        message: String,
    ) {
        self.diags.push(Diagnostic {
            code,
            severity,
            fatal,
            location,
            message,
        });
    }

    fn fatal(&mut self, code: &'static str, location: Location, message: String) -> Fatal {
        self.push(code, Severity::Error, true, location, message);
        Fatal
    }

    fn error(&mut self, code: &'static str, location: Location, message: String) {
        self.push(code, Severity::Error, false, location, message);
    }

    /// Reports every object, at any depth, that names a key twice.
    fn duplicates(
        &mut self,
        json: &Json,
        path: &mut Vec<String>,
        stmt: Option<(usize, Option<String>)>,
    ) {
        match json {
            Json::Object(members) => {
                for (i, (k, _)) in members.iter().enumerate() {
                    if members[..i].iter().any(|(k2, _)| k2 == k) {
                        let loc = location_of(path, &stmt, Some(k));
                        self.push(
                            "DUPLICATE_KEY",
                            Severity::SecurityWarning,
                            false,
                            loc,
                            format!(
                                "\"{k}\" appears more than once in the same object; IAM uses the last \
                                 one and ignores the others, while readers usually see the first"
                            ),
                        );
                    }
                }
                for (k, v) in members {
                    path.push(k.clone());
                    self.duplicates(v, path, stmt.clone());
                    path.pop();
                }
            }
            Json::Array(items) => {
                let at_statements = stmt.is_none() && path.len() == 1 && path[0] == "Statement";
                for (i, item) in items.iter().enumerate() {
                    if at_statements {
                        let sid = match item.get("Sid") {
                            Some(Json::String(s)) => Some(s.clone()),
                            _ => None,
                        };
                        self.duplicates(item, &mut Vec::new(), Some((i, sid)));
                    } else {
                        self.duplicates(item, path, stmt.clone());
                    }
                }
            }
            _ => {}
        }
    }

    fn document(&mut self, json: &Json) -> Option<Policy> {
        let Json::Object(members) = json else {
            self.fatal(
                "NOT_AN_OBJECT",
                Location::document(""),
                format!("a policy must be a JSON object, found {}", json.type_name()),
            );
            return None;
        };
        for (k, _) in members {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                self.error(
                    "UNKNOWN_ELEMENT",
                    Location::document(k.clone()),
                    format!(
                        "unknown top-level element \"{k}\"{}",
                        suggest(k, &["Version", "Id", "Statement"])
                    ),
                );
            }
        }
        let version = match json.get("Version") {
            None => {
                self.push(
                    "MISSING_VERSION",
                    Severity::Warning,
                    false,
                    Location::document("Version"),
                    "no Version: IAM applies the 2008-10-17 rules, under which policy variables such \
                     as ${aws:username} are plain text; add \"Version\": \"2012-10-17\""
                        .into(),
                );
                None
            }
            Some(Json::String(v)) => {
                if v != "2012-10-17" && v != "2008-10-17" {
                    self.error(
                        "INVALID_VERSION",
                        Location::document("Version"),
                        format!("Version \"{v}\" is not one of \"2012-10-17\", \"2008-10-17\""),
                    );
                }
                Some(v.clone())
            }
            Some(other) => {
                self.fatal(
                    "INVALID_TYPE",
                    Location::document("Version"),
                    format!("Version must be a string, found {}", other.type_name()),
                );
                return None;
            }
        };
        let id = match json.get("Id") {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(other) => {
                self.fatal(
                    "INVALID_TYPE",
                    Location::document("Id"),
                    format!("Id must be a string, found {}", other.type_name()),
                );
                return None;
            }
        };
        let raw_statements: Vec<&Json> = match json.get("Statement") {
            None => {
                self.fatal(
                    "MISSING_STATEMENT",
                    Location::document("Statement"),
                    "the policy has no Statement".into(),
                );
                return None;
            }
            Some(s @ Json::Object(_)) => vec![s],
            Some(Json::Array(items)) => {
                if items.is_empty() {
                    self.error(
                        "EMPTY_STATEMENT",
                        Location::document("Statement"),
                        "Statement is an empty array: the policy allows nothing".into(),
                    );
                }
                items.iter().collect()
            }
            Some(other) => {
                self.fatal(
                    "INVALID_TYPE",
                    Location::document("Statement"),
                    format!(
                        "Statement must be an object or an array of objects, found {}",
                        other.type_name()
                    ),
                );
                return None;
            }
        };
        let mut statements = Vec::with_capacity(raw_statements.len());
        let mut failed = false;
        for (index, raw) in raw_statements.into_iter().enumerate() {
            match self.statement(index, raw) {
                Ok(s) => statements.push(s),
                Err(Fatal) => failed = true,
            }
        }
        let policy = Policy {
            version,
            id,
            statements,
        };
        if failed {
            self.partial = Some(policy);
            return None;
        }
        Some(policy)
    }

    fn statement(&mut self, index: usize, json: &Json) -> Result<Statement, Fatal> {
        let Json::Object(members) = json else {
            return Err(self.fatal(
                "INVALID_TYPE",
                Location::statement(index, None, ""),
                format!("a statement must be an object, found {}", json.type_name()),
            ));
        };
        let sid = match json.get("Sid") {
            None => None,
            Some(Json::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(self.fatal(
                    "INVALID_TYPE",
                    Location::statement(index, None, "Sid"),
                    format!("Sid must be a string, found {}", other.type_name()),
                ))
            }
        };
        let loc = |path: &str| Location::statement(index, sid.as_deref(), path);
        for (k, _) in members {
            if !STATEMENT_ELEMENTS.contains(&k.as_str()) {
                self.error(
                    "UNKNOWN_ELEMENT",
                    loc(k),
                    format!(
                        "unknown statement element \"{k}\"{}",
                        suggest(k, STATEMENT_ELEMENTS)
                    ),
                );
            }
        }
        let effect = match json.get("Effect") {
            None => {
                return Err(self.fatal(
                    "MISSING_EFFECT",
                    loc("Effect"),
                    "the statement has no Effect".into(),
                ))
            }
            Some(Json::String(e)) if e == "Allow" => Effect::Allow,
            Some(Json::String(e)) if e == "Deny" => Effect::Deny,
            Some(Json::String(e)) if crate::unknown_reason(e).is_some() => Effect::Unknown,
            Some(Json::String(e)) => {
                return Err(self.fatal(
                    "UNKNOWN_EFFECT",
                    loc("Effect"),
                    format!("Effect must be \"Allow\" or \"Deny\" (case-sensitive), found \"{e}\""),
                ))
            }
            Some(other) => {
                return Err(self.fatal(
                    "INVALID_TYPE",
                    loc("Effect"),
                    format!("Effect must be a string, found {}", other.type_name()),
                ))
            }
        };

        let (negated, principal_json) = self.pair(
            json,
            "Principal",
            "NotPrincipal",
            &loc,
            "MISSING_PRINCIPAL",
            "a key policy statement needs a Principal (or NotPrincipal)",
        )?;
        let principal = Clause {
            negated,
            items: self.principals(
                principal_json,
                &loc(if negated { "NotPrincipal" } else { "Principal" }),
            )?,
        };

        let (negated, action_json) = self.pair(
            json,
            "Action",
            "NotAction",
            &loc,
            "MISSING_ACTION",
            "the statement has no Action (or NotAction)",
        )?;
        let name = if negated { "NotAction" } else { "Action" };
        let actions = self.string_list(action_json, &loc(name))?;
        for a in &actions {
            if !is_valid_action(a) && crate::unknown_reason(a).is_none() {
                self.error(
                    "INVALID_ACTION",
                    loc(name),
                    format!("\"{a}\" is not an action name of the form service:Action (wildcards * and ? allowed)"),
                );
            }
        }
        let action = Clause {
            negated,
            items: actions,
        };

        let (negated, resource_json) = self.pair(json, "Resource", "NotResource", &loc, "MISSING_RESOURCE",
            "the statement has no Resource (or NotResource); in a key policy use \"Resource\": \"*\"")?;
        let resource = Clause {
            negated,
            items: self.string_list(
                resource_json,
                &loc(if negated { "NotResource" } else { "Resource" }),
            )?,
        };

        let conditions = match json.get("Condition") {
            None => Vec::new(),
            Some(c) => self.conditions(c, &loc)?,
        };
        let effect_marker = match (effect, json.get("Effect")) {
            (Effect::Unknown, Some(Json::String(e))) => Some(e.clone()),
            _ => None,
        };
        Ok(Statement {
            index,
            sid,
            effect,
            effect_marker,
            principal,
            action,
            resource,
            conditions,
        })
    }

    /// Exactly one of `name` / `not_name` must be present.
    fn pair<'a>(
        &mut self,
        json: &'a Json,
        name: &str,
        not_name: &str,
        loc: &dyn Fn(&str) -> Location,
        missing_code: &'static str,
        missing_message: &str,
    ) -> Result<(bool, &'a Json), Fatal> {
        match (json.get(name), json.get(not_name)) {
            (Some(v), None) => Ok((false, v)),
            (None, Some(v)) => Ok((true, v)),
            (Some(_), Some(_)) => Err(self.fatal(
                "CONFLICTING_ELEMENTS",
                loc(name),
                format!("the statement has both {name} and {not_name}; use one"),
            )),
            (None, None) => Err(self.fatal(missing_code, loc(name), missing_message.into())),
        }
    }

    fn string_list(&mut self, json: &Json, loc: &Location) -> Result<Vec<String>, Fatal> {
        match json {
            Json::String(s) => Ok(vec![s.clone()]),
            Json::Array(items) => {
                if items.is_empty() {
                    self.error(
                        "EMPTY_VALUE",
                        loc.clone(),
                        "an empty array matches nothing".into(),
                    );
                }
                items
                    .iter()
                    .map(|i| match i {
                        Json::String(s) => Ok(s.clone()),
                        other => Err(self.fatal(
                            "INVALID_TYPE",
                            loc.clone(),
                            format!("expected strings, found {}", other.type_name()),
                        )),
                    })
                    .collect()
            }
            other => Err(self.fatal(
                "INVALID_TYPE",
                loc.clone(),
                format!(
                    "expected a string or an array of strings, found {}",
                    other.type_name()
                ),
            )),
        }
    }

    fn principals(&mut self, json: &Json, loc: &Location) -> Result<Principals, Fatal> {
        match json {
            Json::String(s) if s == "*" => Ok(Principals::Any),
            // An unknown-value marker: of unknown type and value.
            Json::String(s) if crate::unknown_reason(s).is_some() => {
                Ok(Principals::Entries(vec![PrincipalEntry {
                    kind: PrincipalKind::Other,
                    type_key: s.clone(),
                    raw: s.clone(),
                }]))
            }
            Json::String(s) => Err(self.fatal(
                "INVALID_PRINCIPAL",
                loc.clone(),
                format!("a string principal must be \"*\"; write {{\"AWS\": \"{s}\"}} or {{\"Service\": \"{s}\"}}"),
            )),
            Json::Object(members) => {
                let mut entries = Vec::new();
                for (type_key, value) in last_wins(members) {
                    let kind = match type_key {
                        "AWS" => PrincipalKind::Aws,
                        "Service" => PrincipalKind::Service,
                        "Federated" => PrincipalKind::Federated,
                        "CanonicalUser" => PrincipalKind::CanonicalUser,
                        other if crate::unknown_reason(other).is_some() => PrincipalKind::Other,
                        other => {
                            self.error(
                                "UNKNOWN_PRINCIPAL_TYPE",
                                loc.clone(),
                                format!(
                                    "unknown principal type \"{other}\" (matches nothing){}",
                                    suggest(other, &["AWS", "Service", "Federated", "CanonicalUser"])
                                ),
                            );
                            PrincipalKind::Other
                        }
                    };
                    let sub = Location { path: format!("{} > {type_key}", loc.path), ..loc.clone() };
                    for raw in self.string_list(value, &sub)? {
                        self.check_principal(kind, &raw, &sub);
                        entries.push(PrincipalEntry { kind, type_key: type_key.to_owned(), raw });
                    }
                }
                if entries.is_empty() {
                    self.error("EMPTY_VALUE", loc.clone(), "the principal names nobody".into());
                }
                Ok(Principals::Entries(entries))
            }
            other => Err(self.fatal(
                "INVALID_TYPE",
                loc.clone(),
                format!("a principal must be \"*\" or an object, found {}", other.type_name()),
            )),
        }
    }

    fn check_principal(&mut self, kind: PrincipalKind, raw: &str, loc: &Location) {
        if crate::unknown_reason(raw).is_some() {
            return; // reported once by lint as UNKNOWN_VALUE
        }
        let has_wildcard = raw.contains('*') || raw.contains('?');
        if has_wildcard && !(kind == PrincipalKind::Aws && raw == "*") {
            self.error(
                "PARTIAL_WILDCARD_PRINCIPAL",
                loc.clone(),
                format!(
                    "\"{raw}\": wildcards are not allowed inside a principal (only \"*\" on its own): \
                     AWS rejects it, and trailseal reads it as a literal name that matches nobody. Use \"*\" with a condition \
                     such as aws:PrincipalArn ArnLike"
                ),
            );
            return;
        }
        if kind == PrincipalKind::Aws && !is_aws_principal_value(raw) {
            // IAM also accepts unique ids (AIDA.../AROA...) after it converts ARNs; keep those quiet.
            let unique_id = raw.len() >= 16
                && raw.starts_with("A")
                && raw.bytes().all(|b| b.is_ascii_alphanumeric());
            if !unique_id {
                self.error(
                    "MALFORMED_PRINCIPAL",
                    loc.clone(),
                    format!("\"{raw}\" is neither \"*\", a 12-digit account id nor an IAM or STS ARN (arn:aws:iam::ACCOUNT:...): it names nobody"),
                );
            }
        }
    }

    fn conditions(
        &mut self,
        json: &Json,
        loc: &dyn Fn(&str) -> Location,
    ) -> Result<Vec<Condition>, Fatal> {
        let Json::Object(ops) = json else {
            return Err(self.fatal(
                "INVALID_TYPE",
                loc("Condition"),
                format!("Condition must be an object, found {}", json.type_name()),
            ));
        };
        let mut out = Vec::new();
        for (op_text, block) in last_wins(ops) {
            let op_loc = loc(&format!("Condition > {op_text}"));
            let operator = Operator::parse(op_text);
            if operator.is_none() && crate::unknown_reason(op_text).is_none() {
                let base = op_text
                    .trim_start_matches("ForAnyValue:")
                    .trim_start_matches("ForAllValues:");
                let names: Vec<&str> = BaseOperator::ALL.iter().map(|o| o.name()).collect();
                let hint = if base == "NullIfExists" || base.ends_with("NullIfExists") {
                    " (Null cannot take IfExists)".to_owned()
                } else {
                    suggest(base.trim_end_matches("IfExists"), &names)
                };
                self.error(
                    "UNKNOWN_CONDITION_OPERATOR",
                    op_loc.clone(),
                    format!("unknown condition operator \"{op_text}\"{hint}; trailseal evaluates it as unknown"),
                );
            }
            let Json::Object(keys) = block else {
                return Err(self.fatal(
                    "INVALID_TYPE",
                    op_loc,
                    format!(
                        "a condition operator must map to an object of keys, found {}",
                        block.type_name()
                    ),
                ));
            };
            if keys.is_empty() {
                self.error(
                    "EMPTY_VALUE",
                    op_loc.clone(),
                    "the operator has no condition keys".into(),
                );
            }
            for (key, values) in last_wins(keys) {
                let key_loc = Location {
                    path: format!("{} > {key}", op_loc.path),
                    ..op_loc.clone()
                };
                let values = self.condition_values(values, &key_loc)?;
                out.push(Condition {
                    operator_text: op_text.to_owned(),
                    operator,
                    key: key.to_owned(),
                    values,
                });
            }
        }
        Ok(out)
    }

    fn condition_values(&mut self, json: &Json, loc: &Location) -> Result<Vec<String>, Fatal> {
        let scalar = |j: &Json| match j {
            Json::String(s) => Some(s.clone()),
            Json::Number(n) => Some(n.clone()),
            Json::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        if let Some(v) = scalar(json) {
            return Ok(vec![v]);
        }
        if let Json::Array(items) = json {
            if items.is_empty() {
                self.error(
                    "EMPTY_VALUE",
                    loc.clone(),
                    "no condition values: a positive operator can never match, a negated one always does (IAM ORs the values)".into(),
                );
            }
            return items
                .iter()
                .map(|i| {
                    scalar(i).ok_or_else(|| {
                        self.fatal(
                            "INVALID_TYPE",
                            loc.clone(),
                            format!(
                                "condition values must be strings, numbers or booleans, found {}",
                                i.type_name()
                            ),
                        )
                    })
                })
                .collect();
        }
        Err(self.fatal(
            "INVALID_TYPE",
            loc.clone(),
            format!(
                "a condition value must be a scalar or an array of scalars, found {}",
                json.type_name()
            ),
        ))
    }
}

fn location_of(
    path: &[String],
    stmt: &Option<(usize, Option<String>)>,
    key: Option<&str>,
) -> Location {
    let mut parts: Vec<&str> = path.iter().map(String::as_str).collect();
    if let Some(k) = key {
        parts.push(k);
    }
    match stmt {
        Some((i, sid)) => Location::statement(*i, sid.as_deref(), parts.join(" > ")),
        None => {
            // A single statement object: the path starts with "Statement".
            if parts.first() == Some(&"Statement") {
                Location::statement(0, None, parts[1..].join(" > "))
            } else {
                Location::document(parts.join(" > "))
            }
        }
    }
}

/// `service:Action` with a non-empty service prefix, or `*`.
pub(crate) fn is_valid_action(a: &str) -> bool {
    if a == "*" {
        return true;
    }
    let Some((service, name)) = a.split_once(':') else {
        return false;
    };
    !service.is_empty()
        && !name.is_empty()
        && service
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'*' || b == b'?' || b == b'-' || b == b'_')
}

/// ` (did you mean "X"?)` when `word` differs from a known name only in case or by a typo.
fn suggest(word: &str, known: &[&str]) -> String {
    let lower = word.to_ascii_lowercase();
    let best = known
        .iter()
        .map(|k| (edit_distance(&lower, &k.to_ascii_lowercase()), *k))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((d, k)) if d <= 2 && k != word => format!(" (did you mean \"{k}\"?)"),
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > 3 || a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

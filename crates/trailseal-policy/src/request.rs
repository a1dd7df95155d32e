//! The request a policy is evaluated against, with three-valued context keys.

use serde::Serialize;

use crate::glob::Tok;

/// In a [`KeyState::Pattern`]: one value (an account id, an organization id) that appears
/// nowhere in the policy being evaluated. Used for "an account the policy does not name".
pub const FRESH: &str = "⟨fresh⟩";

/// What is known about one condition key in the request context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "values")]
pub enum KeyState {
    /// Present, with these values (one for single-valued keys).
    Known(Vec<String>),
    /// Definitely not in the request.
    Absent,
    /// Could be anything, or absent: a condition on it cannot be decided.
    Unknown,
    /// Present, single-valued, and only known to match one of these patterns (which one is
    /// unknown): `*` stands for any string, `?` for any one character, [`FRESH`] for a value
    /// that appears nowhere in the policy; every other character stands for itself. Every
    /// string the patterns allow is taken as possible, so a condition decides True only when it
    /// holds for all of them, False only when it holds for none. Build with
    /// [`KeyState::pattern`].
    Pattern(Vec<String>),
}

impl KeyState {
    /// The state as its derived `Serialize` writes it (`{"state": "known", "values": [..]}`),
    /// built directly: evidence holds one per context key of every evaluated request, and
    /// going through the serializer cost several times more.
    pub fn to_json(&self) -> serde_json::Value {
        let (state, values) = match self {
            KeyState::Known(v) => ("known", Some(v)),
            KeyState::Absent => ("absent", None),
            KeyState::Unknown => ("unknown", None),
            KeyState::Pattern(v) => ("pattern", Some(v)),
        };
        let mut map = serde_json::Map::with_capacity(2);
        map.insert("state".to_owned(), state.into());
        if let Some(values) = values {
            map.insert("values".to_owned(), values.as_slice().into());
        }
        serde_json::Value::Object(map)
    }

    /// A [`KeyState::Pattern`], or `Known` when it is a single pattern without wildcards.
    pub fn pattern(alternatives: Vec<String>) -> KeyState {
        match alternatives.as_slice() {
            [one] if !one.contains(['*', '?']) && !one.contains(FRESH) => {
                KeyState::Known(alternatives)
            }
            _ => KeyState::Pattern(alternatives),
        }
    }
}

/// Text that must appear literally in a [`KeyState::Pattern`]: `*` and `?` (which S3 keys may
/// contain) become `?`, which matches them and more (sound: the pattern only grows).
pub fn pattern_literal(text: &str) -> String {
    text.replace(['*'], "?")
}

/// The tokens of one [`KeyState::Pattern`] alternative.
pub(crate) fn pattern_tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(FRESH) {
            out.push(Tok::Fresh);
            rest = after;
            continue;
        }
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { break };
        out.push(match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
        rest = chars.as_str();
    }
    out
}

/// The request context: condition key -> state. Keys are matched case-insensitively. Keys not
/// listed take the `default` state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(String, KeyState)>,
    default: KeyState,
}

impl Context {
    /// A context in which every key not set explicitly is [`KeyState::Unknown`].
    pub fn unknown_by_default() -> Self {
        Context {
            entries: Vec::new(),
            default: KeyState::Unknown,
        }
    }

    /// A context in which every key not set explicitly is [`KeyState::Absent`].
    pub fn absent_by_default() -> Self {
        Context {
            entries: Vec::new(),
            default: KeyState::Absent,
        }
    }

    /// Sets a key (replacing an earlier setting of the same key, compared case-insensitively).
    pub fn set(&mut self, key: &str, state: KeyState) -> &mut Self {
        match self
            .entries
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            Some(entry) => entry.1 = state,
            None => self.entries.push((key.to_owned(), state)),
        }
        self
    }

    pub fn with(mut self, key: &str, state: KeyState) -> Self {
        self.set(key, state);
        self
    }

    pub fn known(self, key: &str, value: impl Into<String>) -> Self {
        self.with(key, KeyState::Known(vec![value.into()]))
    }

    pub fn get(&self, key: &str) -> &KeyState {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, s)| s)
            .unwrap_or(&self.default)
    }

    /// The explicitly set keys, in insertion order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &KeyState)> {
        self.entries.iter().map(|(k, s)| (k.as_str(), s))
    }

    pub fn default_state(&self) -> &KeyState {
        &self.default
    }
}

/// Who makes the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum RequestPrincipal {
    /// An AWS service principal such as `cloudtrail.amazonaws.com`.
    Service { name: String },
    /// A named IAM principal. For an assumed-role session, `arn` is the session ARN
    /// (`arn:aws:sts::ACCT:assumed-role/ROLE/SESSION`) and `role_arn` the role's ARN.
    Aws {
        arn: String,
        account: String,
        role_arn: Option<String>,
    },
    /// Some IAM principal of this account that the policy does not name individually.
    AccountMember { account: String },
    /// Some IAM principal of an AWS account that the policy does not mention anywhere (its
    /// account id appears in no policy string).
    OtherAccount,
    /// Any principal at all that the policy does not name individually, from any account.
    Anyone,
}

impl RequestPrincipal {
    pub fn service(name: &str) -> Self {
        RequestPrincipal::Service {
            name: name.to_owned(),
        }
    }

    /// A named IAM principal; the account is read from the ARN, and for an STS assumed-role
    /// session ARN the role ARN is derived too.
    pub fn aws(arn: &str) -> Self {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let account = parts.get(4).copied().unwrap_or_default().to_owned();
        let role_arn = match (parts.get(1), parts.get(2), parts.get(5)) {
            (Some(partition), Some(&"sts"), Some(resource)) => resource
                .strip_prefix("assumed-role/")
                .and_then(|r| r.split('/').next())
                .map(|role| format!("arn:{partition}:iam::{account}:role/{role}")),
            _ => None,
        };
        RequestPrincipal::Aws {
            arn: arn.to_owned(),
            account,
            role_arn,
        }
    }

    /// The principal that calls for a named IAM principal: a role never calls itself, its
    /// sessions do (`arn:PARTITION:sts::ACCOUNT:assumed-role/NAME/SESSION`, here a session name
    /// the policy does not name); a user or a session calls as itself.
    pub fn caller(arn: &str) -> Self {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if let [_, partition, "iam", _, account, resource] = parts.as_slice() {
            if let Some(name) = resource
                .strip_prefix("role/")
                .and_then(|r| r.rsplit('/').next())
            {
                return RequestPrincipal::Aws {
                    arn: format!("arn:{partition}:sts::{account}:assumed-role/{name}/{FRESH}"),
                    account: (*account).to_owned(),
                    role_arn: Some(arn.to_owned()),
                };
            }
        }
        RequestPrincipal::aws(arn)
    }

    pub fn describe(&self) -> String {
        match self {
            // A role's session the policy does not name: reported as the role.
            RequestPrincipal::Aws {
                arn,
                role_arn: Some(role),
                ..
            } if arn.ends_with(FRESH) => role.clone(),
            RequestPrincipal::Service { name } => format!("service {name}"),
            RequestPrincipal::Aws { arn, .. } => arn.clone(),
            RequestPrincipal::AccountMember { account } => {
                format!("IAM principals of account {account}")
            }
            RequestPrincipal::OtherAccount => {
                "IAM principals of every account the policy does not name".to_owned()
            }
            RequestPrincipal::Anyone => "any principal, any account".to_owned(),
        }
    }
}

/// A request: principal, action, resource, context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub principal: RequestPrincipal,
    /// `service:Action`, e.g. `kms:GenerateDataKey`.
    pub action: String,
    /// The resource ARN (the key's ARN). `None` when unknown: only `"Resource": "*"` then
    /// matches for certain.
    pub resource: Option<String>,
    /// `resource` is a pattern (`*` any run of characters, `?` one) standing for every
    /// resource it matches (a trail's log files): a statement's Resource applies (True) only
    /// when it covers them all, may apply (Unknown) when it matches some, not at all (False)
    /// when it matches none.
    pub resource_pattern: bool,
    pub context: Context,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_state_is_built_as_serde_writes_it() {
        let two = vec!["a".to_owned(), "b\"*".to_owned()];
        for state in [
            KeyState::Known(two.clone()),
            KeyState::Known(Vec::new()),
            KeyState::Absent,
            KeyState::Unknown,
            KeyState::Pattern(two),
        ] {
            let expected = serde_json::to_value(&state).expect("serializable");
            assert_eq!(state.to_json(), expected);
            // The same text (member order included).
            assert_eq!(state.to_json().to_string(), expected.to_string());
        }
    }
}

//! The three-valued value shared by the CloudFormation and Terraform evaluators: a value is
//! known, or `Unknown(reason)` when only deployment can tell, or `Null` / `NoValue`
//! (CloudFormation's `!Ref AWS::NoValue`); plus the symbolic deploying account and Region.

/// The deploying account and Region, as symbols used consistently in every ARN the scan
/// builds, so that `!Sub arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:...`
/// in a key policy matches the trail's own ARN. Reports show them as `${AWS::AccountId}` and
/// `${AWS::Region}`.
pub const ACCOUNT: &str = trailseal_model::SYMBOLIC_ACCOUNT;
pub const REGION: &str = trailseal_model::SYMBOLIC_REGION;

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    NoValue,
    Bool(bool),
    Num(String),
    Str(String),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
    Unknown(String),
}

impl Val {
    /// The first unknown part, if any (NoValue entries are dropped as CloudFormation does).
    pub fn unknown(&self) -> Option<&str> {
        match self {
            Val::Unknown(why) => Some(why),
            Val::List(items) => items.iter().find_map(Val::unknown),
            Val::Map(entries) => entries.iter().find_map(|(_, v)| v.unknown()),
            _ => None,
        }
    }

    /// A scalar as text (`Str`, `Num`, `Bool`).
    pub fn text(&self) -> Option<String> {
        match self {
            Val::Str(s) | Val::Num(s) => Some(s.clone()),
            Val::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// A key policy document (an object with a `Statement`) as JSON text in which every unknown
    /// value is the policy engine's unknown-value marker ([`trailseal_policy::unknown_value`]),
    /// so that what is known of the policy is still evaluated: an unknown principal in an Allow
    /// for `kms:Decrypt` cannot remove CloudTrail's permission. `None` when the policy's shape
    /// is unknown (the statement list, a whole statement, a condition block or an operator's
    /// keys): a statement could then be a Deny, so nothing can be decided.
    pub fn policy_json(&self) -> Option<String> {
        let Val::Map(doc) = self else {
            return None;
        };
        let statements = match doc.iter().find(|(k, _)| k == "Statement").map(|(_, v)| v) {
            Some(Val::List(items)) => items.iter().collect::<Vec<_>>(),
            Some(st @ Val::Map(_)) => vec![st],
            _ => return None,
        };
        for st in statements {
            let Val::Map(entries) = st else {
                return None;
            };
            let condition = entries
                .iter()
                .find(|(k, _)| k == "Condition")
                .map(|(_, v)| v);
            let shape_unknown = match condition {
                Some(Val::Unknown(_)) => true,
                Some(Val::Map(ops)) => ops.iter().any(|(_, keys)| !matches!(keys, Val::Map(_))),
                _ => false,
            };
            if shape_unknown {
                return None;
            }
        }
        serde_json::to_string(&Marked(self)).ok()
    }

    /// JSON in which every unknown value is the policy engine's unknown-value marker.
    pub fn to_json_marked(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            // A reason cannot contain the marker's closing bracket.
            Val::Unknown(why) => J::String(trailseal_policy::unknown_value(&why.replace('⟩', ")"))),
            Val::List(items) => J::Array(
                items
                    .iter()
                    .filter(|v| **v != Val::NoValue)
                    .map(Val::to_json_marked)
                    .collect(),
            ),
            Val::Map(entries) => J::Object(
                entries
                    .iter()
                    .filter(|(_, v)| *v != Val::NoValue)
                    .map(|(k, v)| (k.clone(), v.to_json_marked()))
                    .collect(),
            ),
            other => other.to_json(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Val::Null | Val::NoValue | Val::Unknown(_) => J::Null,
            Val::Bool(b) => J::Bool(*b),
            Val::Num(n) => n
                .parse::<serde_json::Number>()
                .map(J::Number)
                .unwrap_or_else(|_| J::String(n.clone())),
            Val::Str(s) => J::String(s.clone()),
            Val::List(items) => J::Array(
                items
                    .iter()
                    .filter(|v| **v != Val::NoValue)
                    .map(Val::to_json)
                    .collect(),
            ),
            Val::Map(entries) => J::Object(
                entries
                    .iter()
                    .filter(|(_, v)| *v != Val::NoValue)
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Known true/false, or None.
    pub fn truth(&self) -> Option<bool> {
        match self {
            Val::Bool(b) => Some(*b),
            Val::Str(s) => match s.to_ascii_lowercase().as_str() {
                "true" => Some(true),
                "false" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }
}

/// A value serialized as [`Val::to_json_marked`] would be, straight to text (no
/// `serde_json::Value` in between: a key policy of every module of a scan goes through this).
/// An object with a key twice is written as `to_json_marked`'s map makes it (the last value,
/// at the first key's place) by building that map.
struct Marked<'a>(&'a Val);

impl serde::Serialize for Marked<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Val::Unknown(_) => self.0.to_json_marked().serialize(s),
            Val::List(items) => {
                let kept = || items.iter().filter(|v| **v != Val::NoValue);
                let mut seq = s.serialize_seq(Some(kept().count()))?;
                for item in kept() {
                    seq.serialize_element(&Marked(item))?;
                }
                seq.end()
            }
            Val::Map(entries) => {
                let kept = || entries.iter().filter(|(_, v)| *v != Val::NoValue);
                let twice = kept()
                    .enumerate()
                    .any(|(i, (k, _))| kept().take(i).any(|(earlier, _)| earlier == k));
                if twice {
                    return self.0.to_json_marked().serialize(s);
                }
                let mut map = s.serialize_map(Some(kept().count()))?;
                for (k, v) in kept() {
                    map.serialize_entry(k, &Marked(v))?;
                }
                map.end()
            }
            other => other.to_json().serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_val() -> impl Strategy<Value = Val> {
        let leaf = prop_oneof![
            Just(Val::Null),
            Just(Val::NoValue),
            any::<bool>().prop_map(Val::Bool),
            "-?[0-9]{1,4}(\\.[0-9]{1,3})?|1e400|x".prop_map(Val::Num),
            "[a-c\"\\\\\u{1}é]{0,6}".prop_map(Val::Str),
            "[a-c⟩]{0,6}".prop_map(Val::Unknown),
        ];
        leaf.prop_recursive(4, 40, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Val::List),
                // Few key names: duplicates are common.
                prop::collection::vec(("[ab]", inner), 0..5).prop_map(Val::Map),
            ]
        })
    }

    proptest! {
        /// The direct serialization writes what the `serde_json::Value` did.
        #[test]
        fn marked_text_is_to_json_marked_text(v in arb_val()) {
            prop_assert_eq!(
                serde_json::to_string(&Marked(&v)).expect("serializable"),
                v.to_json_marked().to_string()
            );
        }
    }
}

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
        Some(self.to_json_marked().to_string())
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

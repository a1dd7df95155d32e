//! The three-valued value shared by the CloudFormation and Terraform evaluators: a value is
//! known, or `Unknown(reason)` when only deployment can tell, or `Null` / `NoValue`
//! (CloudFormation's `!Ref AWS::NoValue`); plus the symbolic deploying account and Region.

/// The deploying account and Region, as symbols used consistently in every ARN the scan
/// builds, so that `!Sub arn:${AWS::Partition}:cloudtrail:${AWS::Region}:${AWS::AccountId}:...`
/// in a key policy matches the trail's own ARN. Reports show them as `${AWS::AccountId}` and
/// `${AWS::Region}`.
pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "deploying-region-1";

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

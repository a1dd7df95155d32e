//! The typed model of an IAM policy document (as used for KMS key policies).

use std::fmt;

/// A parsed policy. Build one with [`crate::Policy::parse`].
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// `Version`, as written. `None` when absent (IAM then applies 2008-10-17 rules).
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

impl Policy {
    /// Policy variables (`${aws:username}`) are only substituted under Version 2012-10-17.
    pub fn supports_variables(&self) -> bool {
        self.version.as_deref() == Some("2012-10-17")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Effect {
    Allow,
    Deny,
    /// An unknown-value marker (see [`crate::unknown_value`]): the statement may be either.
    Unknown,
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
            Effect::Unknown => "(unknown effect)",
        })
    }
}

/// One statement. `index` is its 0-based position in the document.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// The `Effect` as written when it is [`Effect::Unknown`] (the unknown-value marker).
    pub effect_marker: Option<String>,
    /// `Principal` (negated = false) or `NotPrincipal` (negated = true).
    pub principal: Clause<Principals>,
    /// `Action` or `NotAction`.
    pub action: Clause<Vec<String>>,
    /// `Resource` or `NotResource`.
    pub resource: Clause<Vec<String>>,
    /// Every (operator, key) pair of the `Condition` block; all of them must hold.
    pub conditions: Vec<Condition>,
}

impl Statement {
    /// `Statement[2] "Sid"` style label used in explanations and diagnostics.
    pub fn label(&self) -> String {
        statement_label(self.index, self.sid.as_deref())
    }
}

pub(crate) fn statement_label(index: usize, sid: Option<&str>) -> String {
    match sid {
        Some(sid) if !sid.is_empty() => format!("Statement[{index}] (Sid \"{sid}\")"),
        _ => format!("Statement[{index}]"),
    }
}

/// An element that has a negated twin (`Action`/`NotAction`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Clause<T> {
    pub negated: bool,
    pub items: T,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Principals {
    /// `"Principal": "*"`.
    Any,
    /// `"Principal": {"AWS": [...], "Service": ...}` flattened into entries.
    Entries(Vec<PrincipalEntry>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrincipalKind {
    Aws,
    Service,
    Federated,
    CanonicalUser,
    /// An unknown principal type: never matches anything.
    Other,
}

impl PrincipalKind {
    pub fn json_key(self) -> &'static str {
        match self {
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
            PrincipalKind::Other => "Other",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalEntry {
    pub kind: PrincipalKind,
    /// The type key as written (differs from `kind.json_key()` only for `Other`).
    pub type_key: String,
    /// The value as written (`"111122223333"`, `"arn:aws:iam::111122223333:root"`, ...).
    pub raw: String,
}

impl PrincipalEntry {
    /// `"*"` for the AWS type means everyone, like `"Principal": "*"`.
    pub fn is_wildcard(&self) -> bool {
        self.kind == PrincipalKind::Aws && self.raw == "*"
    }

    /// The account id when this entry names a whole account (`ID` or `arn:...:iam::ID:root`).
    /// In a KMS key policy such an entry delegates access to IAM policies of that account;
    /// it does not mean the root user.
    pub fn account_root(&self) -> Option<&str> {
        if self.kind != PrincipalKind::Aws {
            return None;
        }
        if is_account_id(&self.raw) {
            return Some(&self.raw);
        }
        let rest = self.raw.strip_prefix("arn:")?;
        let mut parts = rest.splitn(5, ':');
        let _partition = parts.next()?;
        let service = parts.next()?;
        let region = parts.next()?;
        let account = parts.next()?;
        let resource = parts.next()?;
        (service == "iam" && region.is_empty() && resource == "root" && is_account_id(account))
            .then_some(account)
    }
}

/// Whether an `AWS` principal value can name a principal: `*`, a 12-digit account id, or an IAM
/// or STS ARN (`arn:PARTITION:iam::ACCOUNT:...`, `arn:PARTITION:sts::ACCOUNT:...`) without
/// wildcards. Anything else (a service name under `AWS`, `arn:aws:iam::*:root`, an S3 ARN)
/// names nobody: IAM rejects such a policy, and no request principal is ever that string.
pub fn is_aws_principal_value(raw: &str) -> bool {
    if raw == "*" || is_account_id(raw) {
        return true;
    }
    if raw.contains(['*', '?']) {
        return false;
    }
    let mut parts = raw.splitn(6, ':');
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("arn"), Some(p), Some("iam" | "sts"), Some(""), Some(acct), Some(res))
            if !p.is_empty() && is_account_id(acct) && !res.is_empty()
    )
}

pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// One `"Operator": {"key": values}` pair of a Condition block.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The operator as written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub operator_text: String,
    /// The parsed operator; `None` for an operator IAM does not know (evaluates as unknown).
    pub operator: Option<Operator>,
    /// The condition key as written (matched case-insensitively).
    pub key: String,
    /// The values, scalars rendered as text (`true`, `12`).
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operator {
    pub set: SetQualifier,
    pub base: BaseOperator,
    pub if_exists: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    Single,
    ForAnyValue,
    ForAllValues,
}

macro_rules! base_operators {
    ($($name:ident),* $(,)?) => {
        /// The condition operators of the IAM policy language.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum BaseOperator { $($name),* }
        impl BaseOperator {
            pub const ALL: &'static [BaseOperator] = &[$(BaseOperator::$name),*];
            pub fn name(self) -> &'static str {
                match self { $(BaseOperator::$name => stringify!($name)),* }
            }
        }
    };
}

base_operators!(
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
);

impl BaseOperator {
    /// Negated operators are true when the key is absent and NOR over the policy values.
    pub fn is_negated(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }

    /// Whether policy variables are substituted in this operator's values.
    pub fn takes_variables(self) -> bool {
        use BaseOperator::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }

    fn by_name(name: &str) -> Option<BaseOperator> {
        BaseOperator::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
    }
}

impl Operator {
    /// Parses an operator name such as `ForAllValues:StringLikeIfExists`. Case-sensitive, as
    /// written in the IAM documentation; anything else is unknown.
    pub fn parse(text: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = text.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else if let Some(r) = text.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else {
            (SetQualifier::Single, text)
        };
        if let Some(base) = BaseOperator::by_name(rest) {
            return Some(Operator {
                set,
                base,
                if_exists: false,
            });
        }
        let base = BaseOperator::by_name(rest.strip_suffix("IfExists")?)?;
        if base == BaseOperator::Null {
            return None; // NullIfExists is not an operator
        }
        Some(Operator {
            set,
            base,
            if_exists: true,
        })
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.set {
            SetQualifier::Single => {}
            SetQualifier::ForAnyValue => f.write_str("ForAnyValue:")?,
            SetQualifier::ForAllValues => f.write_str("ForAllValues:")?,
        }
        f.write_str(self.base.name())?;
        if self.if_exists {
            f.write_str("IfExists")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_parse_with_qualifiers_and_suffix() {
        let op = Operator::parse("ForAllValues:StringLikeIfExists").unwrap();
        assert_eq!(op.set, SetQualifier::ForAllValues);
        assert_eq!(op.base, BaseOperator::StringLike);
        assert!(op.if_exists);
        assert_eq!(op.to_string(), "ForAllValues:StringLikeIfExists");
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("StringEqualz").is_none());
    }

    #[test]
    fn account_root_forms() {
        let e = |raw: &str| PrincipalEntry {
            kind: PrincipalKind::Aws,
            type_key: "AWS".into(),
            raw: raw.into(),
        };
        assert_eq!(e("111122223333").account_root(), Some("111122223333"));
        assert_eq!(
            e("arn:aws:iam::111122223333:root").account_root(),
            Some("111122223333")
        );
        assert_eq!(
            e("arn:aws-us-gov:iam::111122223333:root").account_root(),
            Some("111122223333")
        );
        assert_eq!(
            e("arn:aws:iam::111122223333:role/root"),
            e("arn:aws:iam::111122223333:role/root")
        );
        assert_eq!(
            e("arn:aws:iam::111122223333:role/root").account_root(),
            None
        );
        assert_eq!(e("1111222233334").account_root(), None);
    }
}

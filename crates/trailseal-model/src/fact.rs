//! [`Fact`]: one property of a resource, as far as it can be known.
//!
//! "Unknown is never pass" is enforced here, in the type: a property is `Known`, or it is
//! `Unknown` (infrastructure as code: only deployment can tell, e.g. a Terraform variable
//! without a value) or `Unreadable` (a live read failed, e.g. AccessDenied). There is no way to
//! read a value out of a `Fact` without deciding what the other two cases mean, and no
//! `unwrap_or(default)`: a default belongs to the producer, which applies it only when an
//! argument is *absent* (and then builds `Known(default)`), never when its value is unknown.
//!
//! Serialized as the bare value when known, `{"unknown": REASON}` or `{"unreadable": ERROR}`
//! otherwise, so evidence files written before this type existed still read the same.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact<T> {
    /// The value, as AWS returns it or as the configuration sets it (defaults applied to absent
    /// arguments only).
    Known(T),
    /// Cannot be known before deployment; the reason names the expression (`var.key has no
    /// value`, `aws_kms_key.k.is_enabled is known only after apply`).
    Unknown(String),
    /// Could not be read or was not collected; the reason names the call and the error.
    Unreadable(String),
}

/// What a `Fact` that is not known says instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotKnown<'a> {
    Unknown(&'a str),
    Unreadable(&'a str),
}

impl<T> Fact<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn into_known(self) -> Option<T> {
        match self {
            Fact::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_known(&self) -> bool {
        matches!(self, Fact::Known(_))
    }

    /// Why the value is not known (None when it is).
    pub fn not_known(&self) -> Option<NotKnown<'_>> {
        match self {
            Fact::Known(_) => None,
            Fact::Unknown(why) => Some(NotKnown::Unknown(why)),
            Fact::Unreadable(why) => Some(NotKnown::Unreadable(why)),
        }
    }

    pub fn as_ref(&self) -> Fact<&T> {
        match self {
            Fact::Known(v) => Fact::Known(v),
            Fact::Unknown(why) => Fact::Unknown(why.clone()),
            Fact::Unreadable(why) => Fact::Unreadable(why.clone()),
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Fact<U> {
        match self {
            Fact::Known(v) => Fact::Known(f(v)),
            Fact::Unknown(why) => Fact::Unknown(why),
            Fact::Unreadable(why) => Fact::Unreadable(why),
        }
    }

    /// Chains a derivation that may itself be not known.
    pub fn and_then<U>(self, f: impl FnOnce(T) -> Fact<U>) -> Fact<U> {
        match self {
            Fact::Known(v) => f(v),
            Fact::Unknown(why) => Fact::Unknown(why),
            Fact::Unreadable(why) => Fact::Unreadable(why),
        }
    }

    /// "Not collected": the state of a property nobody has read (the `Default`).
    pub fn not_collected() -> Self {
        Fact::Unreadable("not collected".into())
    }
}

impl<T: PartialEq> Fact<T> {
    /// Three-valued comparison: `Some(true/false)` when known, `None` otherwise.
    pub fn is(&self, value: &T) -> Option<bool> {
        self.known().map(|v| v == value)
    }
}

impl Fact<String> {
    pub fn as_deref(&self) -> Fact<&str> {
        match self {
            Fact::Known(v) => Fact::Known(v.as_str()),
            Fact::Unknown(why) => Fact::Unknown(why.clone()),
            Fact::Unreadable(why) => Fact::Unreadable(why.clone()),
        }
    }
}

impl<T> Default for Fact<T> {
    /// Nothing was read: never a value.
    fn default() -> Self {
        Fact::not_collected()
    }
}

impl<T> From<T> for Fact<T> {
    fn from(v: T) -> Self {
        Fact::Known(v)
    }
}

impl<T: Serialize> Serialize for Fact<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Unknown<'a> {
            unknown: &'a str,
        }
        #[derive(Serialize)]
        struct Unreadable<'a> {
            unreadable: &'a str,
        }
        match self {
            Fact::Known(v) => v.serialize(s),
            Fact::Unknown(why) => Unknown { unknown: why }.serialize(s),
            Fact::Unreadable(why) => Unreadable { unreadable: why }.serialize(s),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Fact<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr<T> {
            Unknown { unknown: String },
            Unreadable { unreadable: String },
            Known(T),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::Unknown { unknown } => Fact::Unknown(unknown),
            Repr::Unreadable { unreadable } => Fact::Unreadable(unreadable),
            Repr::Known(v) => Fact::Known(v),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_known_as_the_bare_value_and_round_trips() {
        let cases: Vec<Fact<Option<String>>> = vec![
            Fact::Known(Some("k".into())),
            Fact::Known(None),
            Fact::Unknown("var.key has no value".into()),
            Fact::Unreadable("AccessDenied".into()),
        ];
        let json = serde_json::to_string(&cases).unwrap();
        assert_eq!(
            json,
            r#"["k",null,{"unknown":"var.key has no value"},{"unreadable":"AccessDenied"}]"#
        );
        let back: Vec<Fact<Option<String>>> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, cases);
    }

    #[test]
    fn default_is_never_a_value() {
        let f: Fact<bool> = Fact::default();
        assert_eq!(f.known(), None);
        assert_eq!(f.is(&true), None);
        assert!(matches!(f.not_known(), Some(NotKnown::Unreadable(_))));
    }
}

//! The unknown-value marker: a policy value that is not known before deployment.
//!
//! Infrastructure-as-code front ends build key policies from variables that may have no value
//! yet. Instead of giving up on the whole policy, they put the marker `⟨unknown: REASON⟩`
//! (U+27E8, U+27E9: printable, never part of a real policy) where the value goes, alone or
//! inside a larger string (`arn:aws:iam::⟨unknown: var.account has no value⟩:root`).
//!
//! Evaluation reads a marked principal, action, resource, condition operator, condition key or
//! condition value as *unknown*: it matches Unknown, and REASON is reported in
//! [`crate::Evaluation::unknown_keys`] when it matters. A marked `Effect` makes the statement
//! count both as a possible Allow and as a possible Deny. Parsing and lint accept marked values
//! (lint reports each once, as `UNKNOWN_VALUE`, severity warning).

const OPEN: &str = "⟨unknown: ";
const CLOSE: char = '⟩';

/// The marker for a value that is not known, with the reason (e.g. `var.account has no value`).
pub fn unknown_value(reason: &str) -> String {
    format!("{OPEN}{reason}{CLOSE}")
}

/// The reason of the first marker in `s`, if `s` contains one (anywhere in the string).
pub fn unknown_reason(s: &str) -> Option<&str> {
    // Fast path (evaluation calls this on every policy value): the marker's first character
    // U+27E8 is encoded starting with the byte 0xE2, which real policies almost never hold.
    if !s.as_bytes().contains(&0xE2) {
        return None;
    }
    let start = s.find(OPEN)? + OPEN.len();
    let rest = s.get(start..)?;
    let end = rest.find(CLOSE)?;
    rest.get(..end)
}

/// Whether `s` is nothing but one marker (so it could stand for any value at all, `*` included).
pub(crate) fn is_whole_marker(s: &str) -> bool {
    unknown_reason(s).is_some_and(|r| s.len() == OPEN.len() + r.len() + CLOSE.len_utf8())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_round_trip() {
        let m = unknown_value("var.account has no value");
        assert_eq!(m, "⟨unknown: var.account has no value⟩");
        assert_eq!(unknown_reason(&m), Some("var.account has no value"));
        let inside = format!("arn:aws:iam::{m}:root");
        assert_eq!(unknown_reason(&inside), Some("var.account has no value"));
        assert!(is_whole_marker(&m));
        assert!(!is_whole_marker(&inside));
        assert_eq!(unknown_reason("arn:aws:iam::111122223333:root"), None);
        assert_eq!(unknown_reason("⟨unknown: unterminated"), None);
    }
}

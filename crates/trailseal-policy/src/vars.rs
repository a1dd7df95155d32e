//! Policy variables: `${aws:username}`, `${aws:SourceAccount, 'default'}`, and the escapes
//! `${*}`, `${?}`, `${$}` (literal `*`, `?`, `$`). Only under Version 2012-10-17; under
//! 2008-10-17 (or no Version) the text is literal.

use crate::glob::{tokens, Tok};
use crate::request::{Context, KeyState};

/// A policy value after substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expanded {
    Pattern(Vec<Tok>),
    /// A variable refers to this key, whose value is unknown.
    Unknown(String),
    /// A variable refers to this key, absent from the request, with no default: the value
    /// matches nothing.
    NoMatch(String),
}

/// Expands `value`. `wildcards`: whether literal `*`/`?` in the policy text are wildcards
/// (Like operators, Resource) or plain characters (Equals operators).
pub(crate) fn expand(value: &str, variables: bool, wildcards: bool, ctx: &Context) -> Expanded {
    if !variables || !value.contains("${") {
        return Expanded::Pattern(tokens(value, wildcards));
    }
    let mut out = Vec::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.extend(tokens(&rest[..start], wildcards));
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.extend(tokens(&rest[start..], wildcards));
            rest = "";
            break;
        };
        let inner = after[..end].trim();
        rest = &after[end + 1..];
        match inner {
            "*" => out.push(Tok::Lit('*')),
            "?" => out.push(Tok::Lit('?')),
            "$" => out.push(Tok::Lit('$')),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((k, d)) => (k.trim(), parse_default(d.trim())),
                    None => (inner, None),
                };
                match ctx.get(key) {
                    KeyState::Known(values) if values.len() == 1 => {
                        out.extend(values[0].chars().map(Tok::Lit));
                    }
                    KeyState::Known(_) | KeyState::Unknown | KeyState::Pattern(_) => {
                        return Expanded::Unknown(key.to_owned())
                    }
                    KeyState::Absent => match default {
                        Some(d) => out.extend(d.chars().map(Tok::Lit)),
                        None => return Expanded::NoMatch(key.to_owned()),
                    },
                }
            }
        }
    }
    out.extend(tokens(rest, wildcards));
    Expanded::Pattern(out)
}

fn parse_default(text: &str) -> Option<&str> {
    text.strip_prefix('\'')?.strip_suffix('\'')
}

/// Whether `value` uses a policy variable (a `${` that is closed by `}`).
pub(crate) fn has_variable(value: &str) -> bool {
    value.find("${").is_some_and(|i| value[i..].contains('}'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::matches_tokens;

    fn pat(e: Expanded) -> Vec<Tok> {
        match e {
            Expanded::Pattern(p) => p,
            other => panic!("expected a pattern, got {other:?}"),
        }
    }

    #[test]
    fn substitution_escapes_and_defaults() {
        let ctx = Context::absent_by_default().known("aws:username", "al*ce");
        let p = pat(expand("home/${aws:username}/*", true, true, &ctx));
        // the variable's `*` is literal, the policy's trailing `*` is a wildcard
        assert!(matches_tokens(&p, "home/al*ce/x", false));
        assert!(!matches_tokens(&p, "home/alice/x", false));
        let p = pat(expand("a${*}b${?}${$}", true, true, &ctx));
        assert!(matches_tokens(&p, "a*b?$", false));
        assert!(!matches_tokens(&p, "aXbY$", false));
        let p = pat(expand(
            "${aws:PrincipalTag/team, 'none'}",
            true,
            false,
            &ctx,
        ));
        assert!(matches_tokens(&p, "none", false));
        assert_eq!(
            expand("${aws:userid}", true, false, &ctx),
            Expanded::NoMatch("aws:userid".into())
        );
        let unknown = Context::unknown_by_default();
        assert_eq!(
            expand("${aws:userid}", true, false, &unknown),
            Expanded::Unknown("aws:userid".into())
        );
    }

    #[test]
    fn old_version_keeps_text_literal() {
        let ctx = Context::absent_by_default().known("aws:username", "alice");
        let p = pat(expand("${aws:username}", false, true, &ctx));
        assert!(matches_tokens(&p, "${aws:username}", false));
        assert!(!matches_tokens(&p, "alice", false));
    }
}

//! Wildcard matching as IAM does it: `*` matches any run of characters (including none), `?`
//! exactly one character, everything else itself. Hand-written on purpose: no regex is ever
//! built from policy text, so `a+b` or `(x)` match only themselves.
//!
//! Patterns are token lists so that policy variables can contribute *literal* `*`/`?`
//! (`${*}`, or a variable whose value contains `*`) next to real wildcards.

/// One pattern token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tok {
    Lit(char),
    /// `*`
    Star,
    /// `?`
    One,
}

/// Tokens of `pattern`, reading `*` and `?` as wildcards when `wildcards` is true.
pub fn tokens(pattern: &str, wildcards: bool) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' if wildcards => Tok::Star,
            '?' if wildcards => Tok::One,
            c => Tok::Lit(c),
        })
        .collect()
}

fn char_eq(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Matches a token pattern against the whole of `text`. Linear-time greedy algorithm with a
/// single backtrack point (the last `*`), O(len(pattern) * len(text)) worst case, no recursion.
pub fn matches_tokens(pattern: &[Tok], text: &str, ignore_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text, ignore_case)
}

pub(crate) fn matches_chars(pattern: &[Tok], text: &[char], ignore_case: bool) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None; // (pattern index after the star, text index)
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                backtrack = Some((p + 1, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if char_eq(*c, text[t], ignore_case) => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((bp, bt)) => {
                    p = bp;
                    t = bt + 1;
                    backtrack = Some((bp, bt + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Star)
}

/// `*`/`?` glob match of plain strings (both wildcards active).
pub fn glob_match(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if !ignore_case && !pattern.contains(['*', '?']) {
        return pattern == text;
    }
    matches_tokens(&tokens(pattern, true), text, ignore_case)
}

/// ARN matching as `ArnLike`/`ArnEquals` do it: the six colon-separated parts
/// (`arn:partition:service:region:account:resource`) are matched separately, so a `*` never
/// crosses a `:` before the resource part (the resource part itself may contain colons).
/// Both sides must have all six parts.
pub fn arn_match(pattern: &[Tok], value: &str) -> bool {
    let value_parts: Vec<&str> = value.splitn(6, ':').collect();
    if value_parts.len() != 6 {
        return false;
    }
    let mut pattern_parts: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    for _ in 0..5 {
        let Some(pos) = rest.iter().position(|t| *t == Tok::Lit(':')) else {
            return false;
        };
        pattern_parts.push(&rest[..pos]);
        rest = &rest[pos + 1..];
    }
    pattern_parts.push(rest);
    pattern_parts
        .iter()
        .zip(&value_parts)
        .all(|(p, v)| matches_tokens(p, v, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_and_question_mark() {
        assert!(glob_match(
            "kms:GenerateDataKey*",
            "kms:GenerateDataKey",
            false
        ));
        assert!(glob_match(
            "kms:GenerateDataKey*",
            "kms:GenerateDataKeyPairWithoutPlaintext",
            false
        ));
        assert!(!glob_match("kms:GenerateDataKey*", "kms:Decrypt", false));
        assert!(glob_match("kms:?ecrypt", "kms:Decrypt", false));
        assert!(!glob_match("kms:?ecrypt", "kms:ReDecrypt", false));
        assert!(glob_match("*", "", false));
        assert!(glob_match("a*b*c", "aXXbYYbZZc", false));
        assert!(!glob_match("a*b*c", "aXXbYYbZZ", false));
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        assert!(glob_match("a+b", "a+b", false));
        assert!(!glob_match("a+b", "aab", false));
        assert!(glob_match("(x).[y]", "(x).[y]", false));
        assert!(!glob_match(".*", "anything", false));
        assert!(glob_match("^$|\\", "^$|\\", false));
    }

    #[test]
    fn case_handling() {
        assert!(glob_match(
            "KMS:generatedatakey*",
            "kms:GenerateDataKeyPair",
            true
        ));
        assert!(!glob_match(
            "KMS:generatedatakey*",
            "kms:GenerateDataKeyPair",
            false
        ));
    }

    #[test]
    fn arn_parts_do_not_let_star_cross_colons() {
        let p = tokens("arn:aws:cloudtrail:*:111122223333:trail/*", true);
        assert!(arn_match(
            &p,
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"
        ));
        assert!(!arn_match(
            &p,
            "arn:aws:cloudtrail:us-east-1:999999999999:trail/main"
        ));
        // `*` in the region part cannot swallow "us-east-1:999999999999:x"
        let p = tokens("arn:aws:cloudtrail:*:trail/*", true);
        assert!(!arn_match(
            &p,
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/main"
        ));
        // the resource part may contain colons
        let p = tokens("arn:aws:logs:*:*:log-group:*", true);
        assert!(arn_match(
            &p,
            "arn:aws:logs:us-east-1:111122223333:log-group:x:log-stream:y"
        ));
    }

    #[test]
    fn literal_star_tokens_from_variables() {
        let mut p = tokens("a", true);
        p.push(Tok::Lit('*'));
        assert!(matches_tokens(&p, "a*", false));
        assert!(!matches_tokens(&p, "ab", false));
    }
}

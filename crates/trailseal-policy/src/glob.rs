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
    /// Only in request patterns ([`crate::KeyState::Pattern`]): one value (an account id, an
    /// organization id) that appears nowhere in the policy being evaluated, and has no `:`.
    /// It never matches a policy literal or `?`; only a policy `*` can absorb it.
    Fresh,
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
    // Fast path, no allocation: ASCII text and literals (ARNs, account ids, key names). For
    // ASCII, comparing lowercase characters is comparing ASCII-lowercase bytes.
    if text.is_ascii()
        && pattern
            .iter()
            .all(|t| !matches!(t, Tok::Lit(c) if !c.is_ascii()))
    {
        return match_seq(pattern, text.as_bytes(), |c, b| {
            c == b as char || (ignore_case && c.eq_ignore_ascii_case(&(b as char)))
        });
    }
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text, ignore_case)
}

pub(crate) fn matches_chars(pattern: &[Tok], text: &[char], ignore_case: bool) -> bool {
    match_seq(pattern, text, |c, t| char_eq(c, t, ignore_case))
}

/// The matcher of [`matches_tokens`], over any sequence of characters or bytes.
fn match_seq<T: Copy>(pattern: &[Tok], text: &[T], eq: impl Fn(char, T) -> bool) -> bool {
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
            Some(Tok::Lit(c)) if eq(*c, text[t]) => {
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
    if pattern.is_ascii() && text.is_ascii() {
        // No token vector: the pattern's bytes are its tokens.
        let toks = pattern.bytes().map(|b| match b {
            b'*' => Tok::Star,
            b'?' => Tok::One,
            b => Tok::Lit(b as char),
        });
        let mut buf = [Tok::Star; 64];
        if pattern.len() <= buf.len() {
            for (slot, t) in buf.iter_mut().zip(toks) {
                *slot = t;
            }
            return matches_tokens(&buf[..pattern.len()], text, ignore_case);
        }
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
    let Some(pattern_parts) = arn_token_parts(pattern) else {
        return false;
    };
    pattern_parts
        .iter()
        .zip(&value_parts)
        .all(|(p, v)| matches_tokens(p, v, false))
}

/// How many leading tokens are the same literal in both patterns.
fn common_literal_prefix(a: &[Tok], b: &[Tok], ignore_case: bool) -> usize {
    a.iter()
        .zip(b)
        .take_while(
            |(x, y)| matches!((x, y), (Tok::Lit(p), Tok::Lit(q)) if char_eq(*p, *q, ignore_case)),
        )
        .count()
}

/// Both patterns start with literals, and the literals differ before either has a wildcard:
/// no string matches both (a quick answer for `covers` and `may_intersect`).
fn literal_prefixes_differ(a: &[Tok], b: &[Tok], ignore_case: bool) -> bool {
    for (x, y) in a.iter().zip(b) {
        match (x, y) {
            (Tok::Lit(p), Tok::Lit(q)) => {
                if !char_eq(*p, *q, ignore_case) {
                    return true;
                }
            }
            _ => return false,
        }
    }
    false
}

/// Whether every string `inner` can stand for is matched by `outer` (sound, not complete): a
/// `*` of `outer` absorbs any run of `inner` tokens, a `?` one literal or `?`, a literal the
/// same literal. Used to decide a Like operator for a request value known only by a pattern.
pub fn covers(outer: &[Tok], inner: &[Tok], ignore_case: bool) -> bool {
    if literal_prefixes_differ(outer, inner, ignore_case) {
        return false;
    }
    // The common literal prefix is matched one for one: compare what follows it.
    let same = common_literal_prefix(outer, inner, ignore_case);
    let (outer, inner) = (&outer[same..], &inner[same..]);
    let (n, m) = (outer.len(), inner.len());
    // reach[i * w + j]: outer[..i] covers inner[..j] (one allocation: this runs for every
    // statement of every identity policy in a readers analysis).
    let w = m + 1;
    let mut reach = vec![false; (n + 1) * w];
    reach[0] = true;
    for i in 0..=n {
        for j in 0..=m {
            if !reach[i * w + j] {
                continue;
            }
            let Some(o) = outer.get(i) else { continue };
            match (o, inner.get(j)) {
                (Tok::Star, next) => {
                    reach[(i + 1) * w + j] = true;
                    if next.is_some() {
                        reach[i * w + j + 1] = true;
                    }
                }
                (Tok::One, Some(Tok::Lit(_) | Tok::One)) => reach[(i + 1) * w + j + 1] = true,
                (Tok::Lit(a), Some(Tok::Lit(b))) if char_eq(*a, *b, ignore_case) => {
                    reach[(i + 1) * w + j + 1] = true
                }
                _ => {}
            }
        }
    }
    reach[n * w + m]
}

/// Whether some string is matched both by the policy pattern `policy` and by the request
/// pattern `request` (exact for `*`/`?`/literals; a [`Tok::Fresh`] in `request` is assumed to
/// be matchable by any stretch of `policy` that contains a wildcard, never by literals alone).
/// `false` proves the two cannot meet.
pub fn may_intersect(policy: &[Tok], request: &[Tok], ignore_case: bool) -> bool {
    if literal_prefixes_differ(policy, request, ignore_case) {
        return false;
    }
    let same = common_literal_prefix(policy, request, ignore_case);
    let (policy, request) = (&policy[same..], &request[same..]);
    let (n, m) = (policy.len(), request.len());
    let mut seen = vec![vec![false; m + 1]; n + 1];
    let mut stack = vec![(0usize, 0usize)];
    let is_star = |t: Option<&Tok>| matches!(t, Some(Tok::Star) | Some(Tok::Fresh));
    while let Some((i, j)) = stack.pop() {
        if seen[i][j] {
            continue;
        }
        seen[i][j] = true;
        if i == n && j == m {
            return true;
        }
        let mut go = |a: usize, b: usize| {
            if !seen[a][b] {
                stack.push((a, b));
            }
        };
        let (p, r) = (policy.get(i), request.get(j));
        if is_star(p) {
            go(i + 1, j);
        }
        if r == Some(&Tok::Star) {
            go(i, j + 1);
        }
        if r == Some(&Tok::Fresh) {
            let mut wild = false;
            for k in i..=n {
                if wild {
                    go(k, j + 1);
                }
                match policy.get(k) {
                    Some(Tok::Star) | Some(Tok::Fresh) => {
                        go(k, j + 1); // the star absorbs the value and goes on
                        wild = true;
                    }
                    Some(Tok::One) => wild = true,
                    Some(Tok::Lit(':')) => break, // the value has no colon
                    _ => {}
                }
            }
            continue;
        }
        // both sides consume one character
        let (Some(p), Some(r)) = (p, r) else { continue };
        let next_i = if is_star(Some(p)) { i } else { i + 1 };
        let next_j = if *r == Tok::Star { j } else { j + 1 };
        if next_i == i && next_j == j {
            continue;
        }
        let compatible = match (p, r) {
            (Tok::Lit(a), Tok::Lit(b)) => char_eq(*a, *b, ignore_case),
            _ => true,
        };
        if compatible {
            go(next_i, next_j);
        }
    }
    false
}

/// The six parts of an ARN pattern (split at the first five literal `:`), if it has them.
pub fn arn_token_parts(pattern: &[Tok]) -> Option<Vec<&[Tok]>> {
    let mut parts: Vec<&[Tok]> = Vec::with_capacity(6);
    let mut rest = pattern;
    for _ in 0..5 {
        let pos = rest.iter().position(|t| *t == Tok::Lit(':'))?;
        parts.push(&rest[..pos]);
        rest = &rest[pos + 1..];
    }
    parts.push(rest);
    Some(parts)
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
    fn pattern_against_pattern() {
        let t = |s: &str| tokens(s, true);
        let trail = t("arn:aws:cloudtrail:us-east-1:111122223333:trail/*");
        assert!(covers(
            &t("arn:aws:cloudtrail:*:111122223333:trail/*"),
            &trail,
            false
        ));
        assert!(!covers(
            &t("arn:aws:cloudtrail:us-east-1:111122223333:trail/main"),
            &trail,
            false
        ));
        assert!(may_intersect(
            &t("arn:aws:cloudtrail:us-east-1:111122223333:trail/main"),
            &trail,
            false
        ));
        // string-wise a `*` crosses colons, so only a literal difference before it separates
        assert!(may_intersect(
            &t("arn:aws:cloudtrail:*:999999999999:trail/*"),
            &trail,
            false
        ));
        assert!(!may_intersect(
            &t("arn:aws:s3:::other/*"),
            &t("arn:aws:s3:::logs/AWSLogs/1/*"),
            false
        ));
        assert!(!covers(&t("a?"), &t("a*"), false));
        assert!(covers(&t("a*"), &t("a?b"), false));
        assert!(may_intersect(&t("*x"), &t("a*"), false));
        assert!(!may_intersect(&t("b*"), &t("a*"), false));
        assert!(!may_intersect(&t("ab"), &t("a"), false));
        let fresh = [Tok::Lit('a'), Tok::Lit(':'), Tok::Fresh, Tok::Lit(':')];
        assert!(
            !may_intersect(&t("a:123:"), &fresh, false),
            "literals never match a fresh value"
        );
        assert!(may_intersect(&t("a:1*:"), &fresh, false));
        assert!(may_intersect(&t("a:*"), &fresh, false));
        assert!(covers(&t("a:*"), &fresh, false));
        assert!(!covers(&t("a:1*:"), &fresh, false));
    }

    #[test]
    fn literal_star_tokens_from_variables() {
        let mut p = tokens("a", true);
        p.push(Tok::Lit('*'));
        assert!(matches_tokens(&p, "a*", false));
        assert!(!matches_tokens(&p, "ab", false));
    }
}

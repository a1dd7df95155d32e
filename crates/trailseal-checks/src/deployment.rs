//! The deploying account and Region of infrastructure as code.
//!
//! When a configuration does not say which account and Region it deploys to, the scan uses
//! symbols for them ([`SYMBOLIC_ACCOUNT`], [`SYMBOLIC_REGION`]): one fixed but unknown value
//! each, used consistently, so a key policy written with `${AWS::AccountId}` matches the
//! trail's own ARN. Compared with a literal the policy names (`"aws:SourceAccount":
//! "444455556666"`, `"aws:SourceArn": "arn:aws:cloudtrail:eu-*:..."`), a symbol is neither equal
//! nor different, and a pattern (`eu-*`, `*-1`, `1111*`, `0*`) may or may not match it: it
//! depends on where the stack is deployed. So when a value the policy compares with the request
//! could tell accounts or Regions apart ([`sensitivity`]), the request is also evaluated with
//! the symbol replaced (in the policy and the request alike) by each value it could take: for
//! the account, each account the policy names or a pattern of it matches, and one it does not
//! name; for the Region, every Region of the partition plus each Region-like name the policy
//! holds. When the answers differ, the check is `indeterminate`, naming the value that changes
//! it. A policy that compares nothing account- or Region-specific (the usual `*`, or values
//! built from `${AWS::AccountId}` / `${AWS::Region}`) costs nothing extra.

use std::rc::Rc;

use trailseal_model::{AWS_REGIONS, SYMBOLIC_ACCOUNT, SYMBOLIC_REGION};
use trailseal_policy::{Given, Policy, Principals, TrailContext};

/// An account that no policy is expected to name: with the symbol, the two "other" accounts
/// (a pattern may match the symbol itself, `0*`).
const FRESH_ACCOUNT: &str = "987654321098";

/// The other deployments to evaluate: (policy, request context, what was substituted).
pub(crate) struct Alternatives(Vec<(Rc<Policy>, TrailContext, String)>);

impl Alternatives {
    /// The alternatives of `policy` (its `text`) for `ctx`: none when the context holds no
    /// symbol, or when no value the policy compares could tell one account or Region from
    /// another (see [`sensitivity`]).
    pub(crate) fn of(text: &str, policy: &Policy, ctx: &TrailContext) -> Alternatives {
        let mentions = |symbol: &str| {
            ctx.trail_arn.contains(symbol)
                || ctx.key_arn.as_deref().is_some_and(|k| k.contains(symbol))
        };
        let (by_account, by_region) = sensitivity(policy);
        let mut accounts: Vec<Option<String>> = vec![None];
        if mentions(SYMBOLIC_ACCOUNT) && by_account {
            let mut names = vec![FRESH_ACCOUNT.to_owned()];
            for a in account_candidates(text) {
                if !names.contains(&a) {
                    names.push(a);
                }
            }
            accounts.extend(names.into_iter().map(Some));
        }
        let mut regions: Vec<Option<String>> = vec![None];
        if mentions(SYMBOLIC_REGION) && by_region {
            let mut names: Vec<String> = AWS_REGIONS.iter().map(|r| (*r).to_owned()).collect();
            for r in region_literals(text) {
                if !names.contains(&r) {
                    names.push(r);
                }
            }
            regions.extend(names.into_iter().map(Some));
        }
        let mut out = Vec::new();
        for account in &accounts {
            for region in &regions {
                if account.is_none() && region.is_none() {
                    continue; // the base case, evaluated by the caller
                }
                let mut policy_text = text.to_owned();
                let mut c = ctx.clone();
                let mut what = Vec::new();
                if let Some(a) = account {
                    policy_text = policy_text.replace(SYMBOLIC_ACCOUNT, a);
                    c = substitute(&c, SYMBOLIC_ACCOUNT, a);
                    what.push(format!("the deploying account is {a}"));
                }
                if let Some(r) = region {
                    policy_text = policy_text.replace(SYMBOLIC_REGION, r);
                    c = substitute(&c, SYMBOLIC_REGION, r);
                    what.push(format!("the deploying Region is {r}"));
                }
                if let Ok(p) = Policy::parse(&policy_text) {
                    out.push((Rc::new(p), c, what.join(" and ")));
                }
            }
        }
        Alternatives(out)
    }

    /// `Some(reason)` when `f` gives another answer than `base` in some deployment.
    pub(crate) fn differ<T: PartialEq>(
        &self,
        base: &T,
        f: impl Fn(&Policy, &TrailContext) -> T,
    ) -> Option<String> {
        self.0.iter().find(|(p, c, _)| f(p, c) != *base).map(|(_, _, what)| {
            format!(
                "the deploying account and Region, which the configuration does not set: the answer changes if {what}"
            )
        })
    }
}

fn substitute(ctx: &TrailContext, from: &str, to: &str) -> TrailContext {
    let s = |v: &str| v.replace(from, to);
    TrailContext {
        trail_arn: s(&ctx.trail_arn),
        key_arn: ctx.key_arn.as_deref().map(s),
        bucket: match &ctx.bucket {
            Given::Known(b) => Given::Known(s(b)),
            Given::Unknown => Given::Unknown,
        },
        prefix: match &ctx.prefix {
            Given::Known(p) => Given::Known(p.as_deref().map(s)),
            Given::Unknown => Given::Unknown,
        },
        ..ctx.clone()
    }
}

/// Whether a value the policy compares with the request (a Resource, a principal, a
/// condition value) could tell one deploying (account, Region) from another. An ARN-shaped
/// value matters for the Region when its Region part is neither `*`, empty nor the symbol, and
/// for the account likewise (an S3 ARN: when its path holds digits or a Region-like name); any
/// other value with a wildcard or digits may stand for either.
/// Actions never hold them.
fn sensitivity(policy: &Policy) -> (bool, bool) {
    let mut account = false;
    let mut region = false;
    let mut look = |v: &str| {
        if v == "*" || v.is_empty() {
            return;
        }
        let parts: Vec<&str> = v.splitn(6, ':').collect();
        match parts.as_slice() {
            ["arn", _, _, r, a, ..] => {
                region |= !matches!(*r, "*" | "" | SYMBOLIC_REGION);
                account |= !matches!(*a, "*" | "" | SYMBOLIC_ACCOUNT);
                // `*` crosses colons in StringLike: a wildcard before the Region part.
                if parts[..3].iter().any(|p| p.contains(['*', '?'])) {
                    region = true;
                    account = true;
                }
                // An S3 ARN has neither: the account and Region of a log path are in its
                // resource part (`BUCKET/AWSLogs/ACCOUNT/CloudTrail/REGION/...`).
                if parts[2] == "s3" {
                    let path = parts
                        .get(5)
                        .map(|p| p.replace(SYMBOLIC_ACCOUNT, "").replace(SYMBOLIC_REGION, ""))
                        .unwrap_or_default();
                    account |= path.bytes().any(|b| b.is_ascii_digit());
                    region |= REGION_LIKE.iter().any(|p| path.contains(p));
                }
            }
            _ if v == SYMBOLIC_ACCOUNT || v == SYMBOLIC_REGION => {}
            _ => {
                let wild = v.contains(['*', '?']);
                region |= wild || REGION_LIKE.iter().any(|p| v.contains(p));
                account |= wild || v.bytes().any(|b| b.is_ascii_digit());
            }
        }
    };
    for st in &policy.statements {
        st.resource.items.iter().for_each(|r| look(r));
        if let Principals::Entries(entries) = &st.principal.items {
            entries.iter().for_each(|e| look(&e.raw));
        }
        for c in &st.conditions {
            c.values.iter().for_each(|v| look(v));
        }
    }
    (account, region)
}

/// Region-name prefixes.
const REGION_LIKE: &[&str] = &[
    "us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-", "cn-",
];

/// Accounts the policy may single out: every 12-digit run in `text` (the symbol excluded), and
/// for each digit run ending in a wildcard (`1111*`, `1111????????`) an account it matches.
fn account_candidates(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for run in text.split(|c: char| !(c.is_ascii_digit() || c == '*' || c == '?')) {
        let digits: String = run.chars().take_while(char::is_ascii_digit).collect();
        let candidate = if run.len() == 12 && digits.len() == 12 {
            digits
        } else if !digits.is_empty() && digits.len() < 12 && run.len() > digits.len() {
            format!("{digits:0<12}")
        } else {
            continue;
        };
        if candidate != SYMBOLIC_ACCOUNT && !out.contains(&candidate) {
            out.push(candidate);
        }
    }
    out
}

/// Region-like names in `text` (`xx-word-N`, `xx-gov-word-N`), for Regions not in the list.
fn region_literals(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for token in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-')) {
        let parts: Vec<&str> = token.split('-').collect();
        let looks = parts.len() >= 3
            && parts[0].len() == 2
            && parts[0].chars().all(|c| c.is_ascii_lowercase())
            && parts[1..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty();
        if looks && token != SYMBOLIC_REGION && !out.iter().any(|x| x == token) {
            out.push(token.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals() {
        assert_eq!(
            account_candidates(
                "arn:aws:iam::444455556666:root 000000000000 1234567890123 1111* 22??"
            ),
            vec!["444455556666", "111100000000", "220000000000"]
        );
        assert_eq!(
            region_literals(
                "arn:aws:cloudtrail:eu-west-9:1:trail/x us-gov-west-1 deploying-region-1"
            ),
            vec!["eu-west-9", "us-gov-west-1"]
        );
    }
}

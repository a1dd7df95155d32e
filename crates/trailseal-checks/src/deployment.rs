//! The deploying account and Region of infrastructure as code.
//!
//! When a configuration does not say which account and Region it deploys to, the scan uses
//! symbols for them ([`SYMBOLIC_ACCOUNT`], [`SYMBOLIC_REGION`]): one fixed but unknown value
//! each, used consistently, so a key policy written with `${AWS::AccountId}` matches the
//! trail's own ARN. Compared with a literal the policy names (`"aws:SourceAccount":
//! "444455556666"`, `"aws:SourceArn": "arn:aws:cloudtrail:eu-*:..."`), a symbol is neither equal
//! nor different: it depends on where the stack is deployed. So when the policy names other
//! accounts or Regions, the request is also evaluated with the symbol replaced (in the policy
//! and the request alike) by each value it could take: each account the policy names, and
//! every Region of the partition plus each Region-like name the policy holds. When the answers
//! differ, the check is `indeterminate`, naming the value that changes it.

use std::rc::Rc;

use trailseal_model::{AWS_REGIONS, SYMBOLIC_ACCOUNT, SYMBOLIC_REGION};
use trailseal_policy::{Given, Policy, TrailContext};

/// Region-name prefixes: a policy holding none of them names no Region.
const REGION_PREFIXES: &[&str] = &[
    "us-", "eu-", "ap-", "sa-", "ca-", "me-", "af-", "il-", "mx-", "cn-",
];

/// The other deployments to evaluate: (policy, request context, what was substituted).
pub(crate) struct Alternatives(Vec<(Rc<Policy>, TrailContext, String)>);

impl Alternatives {
    /// The alternatives of `text` / `ctx` (none when the context holds no symbol, or the policy
    /// names no other account or Region).
    pub(crate) fn of(text: &str, ctx: &TrailContext) -> Alternatives {
        let mentions = |symbol: &str| {
            ctx.trail_arn.contains(symbol)
                || ctx.key_arn.as_deref().is_some_and(|k| k.contains(symbol))
        };
        let mut accounts: Vec<Option<String>> = vec![None];
        if mentions(SYMBOLIC_ACCOUNT) {
            accounts.extend(account_literals(text).into_iter().map(Some));
        }
        let mut regions: Vec<Option<String>> = vec![None];
        if mentions(SYMBOLIC_REGION) && REGION_PREFIXES.iter().any(|p| text.contains(p)) {
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

/// Every run of exactly 12 digits in `text` (account ids), the symbol excluded.
fn account_literals(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for run in text.split(|c: char| !c.is_ascii_digit()) {
        if run.len() == 12 && run != SYMBOLIC_ACCOUNT && !out.iter().any(|x| x == run) {
            out.push(run.to_owned());
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
            account_literals("arn:aws:iam::444455556666:root 000000000000 1234567890123"),
            vec!["444455556666"]
        );
        assert_eq!(
            region_literals(
                "arn:aws:cloudtrail:eu-west-9:1:trail/x us-gov-west-1 deploying-region-1"
            ),
            vec!["eu-west-9", "us-gov-west-1"]
        );
    }
}

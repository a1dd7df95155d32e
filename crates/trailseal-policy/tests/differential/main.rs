//! Differential test of the policy engine against an independent IAM evaluator,
//! `@cloud-copilot/iam-simulate` (npm, pinned in `scripts/differential/package-lock.json`).
//!
//! A seeded generator builds random KMS key policies (principals, NotPrincipal, actions,
//! NotAction, resources, NotResource, conditions over the keys of CloudTrail's and log readers'
//! requests) and random requests whose context is fully known (every key has a value or is
//! absent: iam-simulate has no "unknown"). Both evaluators decide every pair, once, in one
//! `node scripts/differential/simulate.mjs` run; every disagreement must be a known bug of
//! trailseal ([`KNOWN_BUGS`]) or a documented difference ([`KNOWN_DIFFERENCES`], see
//! `docs/policy-differential.md`), else the test fails printing a shrunk repro.
//!
//! How a trailseal decision maps to iam-simulate's (each case says which identity policies the
//! caller has; see `docs/policy-differential.md` for why):
//! - a service principal (`cloudtrail.amazonaws.com`, ...) has no identity policies: the key
//!   policy alone decides; `Allow` <-> `Allowed`.
//! - an IAM principal, variant "iam allows everything" (an identity policy allowing `*` on `*`):
//!   `Allow`, direct or through `arn:aws:iam::ACCT:root` delegation (`via_iam_accounts`),
//!   <-> `Allowed`. Same-account and cross-account alike.
//! - an IAM principal of the key's account, variant "no identity policy": only a direct grant
//!   in the key policy allows, so `Allow` with empty `via_iam_accounts` <-> `Allowed` and
//!   `Allow` only via IAM <-> `ImplicitlyDenied`. This checks the delegation bookkeeping.
//! - `ExplicitDeny` <-> `ExplicitlyDenied`, `ImplicitDeny` <-> `ImplicitlyDenied`. trailseal's
//!   `Indeterminate` is never expected here (every key is known) and counts as a disagreement.
//!
//! Needs Node.js and the npm package: `scripts/differential/setup.sh` (run by
//! `scripts/test.sh`). Without them the test FAILS with that instruction. Environment:
//! `TRAILSEAL_DIFF_CASES` (default 6000), `TRAILSEAL_DIFF_SEED` (decimal or 0x-hex),
//! `TRAILSEAL_IAM_SIMULATE_DIR` (where setup.sh installed the package), `TRAILSEAL_NODE` (the
//! node binary, default `node`).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::{json, Value};
use trailseal_policy::{evaluate, Decision, Policy, Request, Tri};
use trailseal_policy::{Context, KeyState, RequestPrincipal};

mod generate;
mod known;
mod shrink;
mod simulate;

use generate::*;
use known::*;
use shrink::*;
use simulate::*;

fn describe(case: &Case, outcome: &Outcome) -> String {
    let context: BTreeMap<&str, Value> = case
        .context
        .iter()
        .map(|(k, v)| {
            (
                *k,
                match v {
                    Val::One(s) => json!(s),
                    Val::Set(s) => json!(s),
                },
            )
        })
        .collect();
    format!(
        "policy:   {}\nrequest:  caller {:?}, action {}, resource {KEY}, identity policies {}\n          \
         context {} (every other key absent)\ntrailseal: {:?} (via IAM of {:?}) -> expects iam-simulate {:?}\n\
         iam-simulate: {:?}{}{}",
        serde_json::to_string(&case.policy).unwrap_or_default(),
        case.caller,
        case.action,
        match &case.identity_policy {
            Some(p) => format!("[{p}]"),
            None => format!("{:?}", case.identity),
        },
        serde_json::to_string(&context).unwrap_or_default(),
        outcome.trailseal,
        outcome.via_iam,
        outcome.expected(case),
        outcome.simulate,
        if outcome.ignored_keys.is_empty() {
            String::new()
        } else {
            format!(" (ignored context keys {:?})", outcome.ignored_keys)
        },
        match &outcome.sim_applies {
            Some(theirs) => format!(
                "\nstatements that apply: trailseal {:?}, iam-simulate {:?}",
                applying(outcome.applies.iter().map(|a| a.unwrap_or(false))),
                applying(theirs.iter().copied())
            ),
            None => String::new(),
        }
    )
}

/// Indices of the statements that apply.
fn applying(flags: impl Iterator<Item = bool>) -> Vec<usize> {
    flags
        .enumerate()
        .filter_map(|(i, a)| a.then_some(i))
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    let v = std::env::var(name).ok()?;
    let v = v.trim();
    let parsed = match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => v.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={v} is not a number")))
}

/// The minimal repro of each known entry (as in docs/policy-differential.md): each must still be
/// a disagreement explained by exactly that entry.
fn documented_repros() -> Vec<(&'static str, Case)> {
    let reader = IAM_CALLERS[0].clone();
    let case =
        |policy: Value, caller: Caller, action: &'static str, ctx: &[(&'static str, Val)]| Case {
            id: 0,
            policy,
            identity: match caller {
                Caller::Service(_) => Identity::NoPolicies,
                Caller::Iam { .. } => Identity::AllowAll,
            },
            caller,
            action,
            context: ctx.iter().cloned().collect(),
            identity_policy: None,
        };
    let one = |v: &str| Val::One(v.to_owned());
    vec![
        (
            "not-principal-needs-account-and-arn",
            case(
                json!({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*"},
                    {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"},
                     "Action": "kms:Decrypt", "Resource": "*"}]}),
                reader.clone(),
                "kms:Decrypt",
                &[],
            ),
        ),
        (
            "arn-operator-with-policy-variable",
            case(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL}, "Action": "kms:GenerateDataKey*",
                    "Resource": "*", "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:${aws:SourceAccount}:trail/*"}}}]}),
                Caller::Service(CLOUDTRAIL),
                "kms:GenerateDataKey",
                &[
                    ("aws:SourceArn", one(TRAIL)),
                    ("aws:SourceAccount", one(ACCT)),
                ],
            ),
        ),
        (
            "variables-need-version-2012-10-17",
            case(
                json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"},
                    "Action": "kms:Decrypt", "Resource": "*",
                    "Condition": {"StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}}}]}),
                reader,
                "kms:Decrypt",
                &[
                    ("kms:CallerAccount", one(ACCT)),
                    ("aws:PrincipalAccount", one(ACCT)),
                ],
            ),
        ),
        (
            "multivalued-key-without-set-operator",
            case(
                json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": CLOUDTRAIL}, "Action": "kms:GenerateDataKey*",
                    "Resource": "*", "Condition": {"StringLike": {EC_KEYS: "aws:s3:arn"}}}]}),
                Caller::Service(CLOUDTRAIL),
                "kms:GenerateDataKey",
                &[(
                    EC_KEYS,
                    Val::Set(vec!["aws:cloudtrail:arn".into(), "aws:s3:arn".into()]),
                )],
            ),
        ),
    ]
}

#[test]
fn every_known_disagreement_has_a_live_minimal_repro() {
    let (node, dir) = check_installed();
    let repros = documented_repros();
    let cases: Vec<Case> = repros
        .iter()
        .enumerate()
        .map(|(i, (_, c))| Case { id: i, ..c.clone() })
        .collect();
    let results = outcomes(&node, &dir, &cases);
    for ((name, _), (c, o)) in repros.iter().zip(cases.iter().zip(&results)) {
        let known: Vec<&str> = explained(c, o).iter().map(|k| k.name).collect();
        assert_eq!(known, vec![*name], "repro of {name}:\n{}", describe(c, o));
    }
    let listed: Vec<&str> = KNOWN_BUGS
        .iter()
        .chain(KNOWN_DIFFERENCES)
        .map(|k| k.name)
        .collect();
    let documented: Vec<&str> = repros.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        listed, documented,
        "each KNOWN_BUGS / KNOWN_DIFFERENCES entry needs its repro here (same order)"
    );
}

const DEFAULT_SEED: u64 = 0x7472_6169_6c73_6561; // "trailsea"
const DEFAULT_CASES: u64 = 6000;

#[test]
fn trailseal_agrees_with_iam_simulate() {
    let (node, dir) = check_installed();
    let seed = env_number("TRAILSEAL_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_number("TRAILSEAL_DIFF_CASES").unwrap_or(DEFAULT_CASES) as usize;
    let default_batch = seed == DEFAULT_SEED && count == DEFAULT_CASES as usize;

    let started = Instant::now();
    let cases = generate(seed, count);
    let results = outcomes(&node, &dir, &cases);
    let elapsed = started.elapsed();

    // The generator only sends keys the action can carry: a dropped key would silently change
    // the request iam-simulate evaluates.
    for (c, o) in cases.iter().zip(&results) {
        assert!(
            o.ignored_keys.is_empty(),
            "iam-simulate ignored context keys {:?} of case {}: fix the generator\n{}",
            o.ignored_keys,
            c.id,
            describe(c, o)
        );
    }

    let mut by_known: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexplained = Vec::new();
    let (mut agree, mut rejected, mut known_count) = (0, 0, 0);
    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for (c, o) in cases.iter().zip(&results) {
        let answer = match &o.simulate {
            Sim::Decision(d) => d.clone(),
            Sim::Rejected(_) => "refused".to_owned(),
        };
        *tally.entry(answer).or_default() += 1;
        if matches!(o.simulate, Sim::Rejected(_)) {
            rejected += 1;
        } else if o.agrees(c) {
            agree += 1;
        } else {
            let known = explained(c, o);
            if known.is_empty() {
                unexplained.push((c, o));
            } else {
                known_count += 1;
            }
            for k in known {
                *by_known.entry(k.name).or_default() += 1;
            }
        }
    }
    eprintln!(
        "differential: seed {seed:#x}, {} cases in {:.1} s: {agree} agree, {rejected} refused by \
         iam-simulate, {known_count} known disagreements, {} unexplained",
        cases.len(),
        elapsed.as_secs_f64(),
        unexplained.len()
    );
    eprintln!("iam-simulate answers: {tally:?}");
    for k in KNOWN_BUGS.iter().chain(KNOWN_DIFFERENCES) {
        if let Some(n) = by_known.get(k.name) {
            eprintln!(
                "  {n:>5} x {}: {}\n          see {}",
                k.name, k.description, k.reference
            );
        }
    }

    if let Some(path) = std::env::var_os("TRAILSEAL_DIFF_DUMP") {
        let text: String = unexplained
            .iter()
            .map(|(c, o)| format!("--- case {}\n{}\n", c.id, describe(c, o)))
            .collect();
        std::fs::write(&path, text).expect("write TRAILSEAL_DIFF_DUMP");
    }

    if !unexplained.is_empty() {
        let mut report = String::new();
        for (c, o) in unexplained.iter().take(3) {
            let (c, o) = shrink(&node, &dir, c, o);
            report.push_str(&format!("\n--- minimal repro\n{}\n", describe(&c, &o)));
        }
        panic!(
            "{} disagreement(s) between trailseal and iam-simulate that are neither a KNOWN_BUG \
             nor a KNOWN_DIFFERENCE (first ones, shrunk):{report}\nEither fix the bug, or add \
             an entry with a precise predicate (and docs/policy-differential.md for a \
             difference). Rerun with TRAILSEAL_DIFF_SEED={seed:#x} TRAILSEAL_DIFF_CASES={count}.",
            unexplained.len()
        );
    }

    if default_batch {
        let stale: Vec<&str> = KNOWN_BUGS
            .iter()
            .chain(KNOWN_DIFFERENCES)
            .filter(|k| !by_known.contains_key(k.name))
            .map(|k| k.name)
            .collect();
        assert!(
            stale.is_empty(),
            "known disagreements that no longer occur in the default batch (fixed? remove them \
             from the list and from docs/policy-differential.md): {stale:?}"
        );
        // Most pairs must be compared for real, or the test proves little.
        assert!(
            rejected * 10 < cases.len(),
            "iam-simulate refused {rejected} of {} cases: the generator writes invalid policies",
            cases.len()
        );
    }
}

//! A plan for people: text (what, where, why, with the equivalent AWS CLI commands and how
//! to back each change out) and a shell script of the same commands (`fix --emit cli`).
//!
//! The backout commands are the documented ones: `aws cloudtrail update-trail --kms-key-id ""`
//! turns encryption off (there is no `--no-kms-key-id`), and a key is removed with
//! `aws kms schedule-key-deletion` (there is no `aws kms delete-key`).

use std::fmt::Write as _;

use crate::{KeyTarget, Outcome, Plan, Step};

/// `s` quoted for a POSIX shell.
fn sh(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b))
    {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The shell variable holding a new key's ARN.
fn var(id: &str) -> String {
    let name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("KEY_{name}")
}

fn key_arg(key: &KeyTarget) -> String {
    match key {
        KeyTarget::Existing { arn } => sh(arn),
        KeyTarget::New { id } => format!("\"${}\"", var(id)),
    }
}

/// Compact JSON of a policy text (one shell argument).
fn compact(policy: &str) -> String {
    serde_json::from_str::<serde_json::Value>(policy)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| policy.to_owned())
}

/// The AWS CLI command that makes a step.
pub fn command(step: &Step) -> String {
    let r = sh(step.region());
    match step {
        Step::CreateKey {
            id,
            description,
            policy,
            ..
        } => format!(
            "{}=$(aws kms create-key --region {r} --key-spec SYMMETRIC_DEFAULT --key-usage ENCRYPT_DECRYPT --description {} --policy {} --query KeyMetadata.Arn --output text)",
            var(id),
            sh(description),
            sh(&compact(policy))
        ),
        Step::EnableKeyRotation { key, .. } => {
            format!("aws kms enable-key-rotation --region {r} --key-id {}", key_arg(key))
        }
        Step::CreateAlias { alias, key, .. } => format!(
            "aws kms create-alias --region {r} --alias-name {} --target-key-id {}",
            sh(alias),
            key_arg(key)
        ),
        Step::EnableKey { key_arn, .. } => {
            format!("aws kms enable-key --region {r} --key-id {}", sh(key_arn))
        }
        Step::PutKeyPolicy {
            key_arn,
            after,
            ..
        } => format!(
            "aws kms put-key-policy --region {r} --key-id {} --policy-name default --policy {}",
            sh(key_arn),
            sh(&compact(after))
        ),
        Step::UpdateTrailKey {
            trail_arn,
            after,
            ..
        } => format!(
            "aws cloudtrail update-trail --region {r} --name {} --kms-key-id {}",
            sh(trail_arn),
            key_arg(after)
        ),
        Step::EnableLogFileValidation { trail_arn, .. } => format!(
            "aws cloudtrail update-trail --region {r} --name {} --enable-log-file-validation",
            sh(trail_arn)
        ),
    }
}

/// The AWS CLI commands that undo a step.
pub fn backout(step: &Step) -> Vec<String> {
    let r = sh(step.region());
    match step {
        Step::CreateKey { id, .. } => vec![
            format!("aws kms disable-key --region {r} --key-id \"${}\"", var(id)),
            format!(
                "aws kms schedule-key-deletion --region {r} --key-id \"${}\" --pending-window-in-days 30",
                var(id)
            ),
        ],
        Step::EnableKeyRotation { key, .. } => vec![format!(
            "aws kms disable-key-rotation --region {r} --key-id {}",
            key_arg(key)
        )],
        Step::CreateAlias { alias, .. } => vec![format!(
            "aws kms delete-alias --region {r} --alias-name {}",
            sh(alias)
        )],
        Step::EnableKey { key_arn, .. } => vec![format!(
            "aws kms disable-key --region {r} --key-id {}",
            sh(key_arn)
        )],
        Step::PutKeyPolicy {
            key_arn,
            before,
            ..
        } => vec![format!(
            "aws kms put-key-policy --region {r} --key-id {} --policy-name default --policy {}",
            sh(key_arn),
            sh(&compact(before))
        )],
        Step::UpdateTrailKey {
            trail_arn,
            before,
            ..
        } => vec![format!(
            "aws cloudtrail update-trail --region {r} --name {} --kms-key-id {}",
            sh(trail_arn),
            sh(before.as_deref().unwrap_or(""))
        )],
        Step::EnableLogFileValidation { trail_arn, .. } => vec![format!(
            "aws cloudtrail update-trail --region {r} --name {} --no-enable-log-file-validation",
            sh(trail_arn)
        )],
    }
}

/// Why a step is there, in a line.
pub fn why(step: &Step) -> String {
    match step {
        Step::CreateKey { region, .. } => format!(
            "create a customer-managed symmetric key in {region} (the bucket's Region) whose policy lets the account administer it, CloudTrail encrypt, and the log readers decrypt"
        ),
        Step::EnableKeyRotation { .. } => "turn on yearly key rotation (TS011)".into(),
        Step::CreateAlias { alias, .. } => {
            format!("name the key {alias}, so the next fix finds and reuses it")
        }
        Step::EnableKey { .. } => "re-enable the disabled key (TS003)".into(),
        Step::PutKeyPolicy {
            added, narrowed, ..
        } if !narrowed.is_empty() => format!(
            "UNSAFE (--edit-deny): exempt CloudTrail from {} (added to NotPrincipal), add trailseal's statements ({}); the other statements are kept as they are",
            narrowed.join(", "),
            added.join(", ")
        ),
        Step::PutKeyPolicy { added, .. } => format!(
            "add trailseal's statements to the key policy ({}); every existing statement is kept as it is",
            added.join(", ")
        ),
        Step::UpdateTrailKey { before: Some(b), .. } => {
            format!("point the trail at the key (it uses {b} now, which CloudTrail cannot use)")
        }
        Step::UpdateTrailKey { before: None, .. } => {
            "encrypt the trail's log files with the key (TS001)".into()
        }
        Step::EnableLogFileValidation { .. } => "turn on log file validation (TS010)".into(),
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Compliant => "compliant",
        Outcome::Fixed => "fixed by this plan",
        Outcome::NeedsDecision => "NEEDS A DECISION",
        Outcome::CannotPlan => "NOT PLANNED",
        Outcome::Refused => "REFUSED",
    }
}

/// The plan as text.
pub fn text(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "trailseal fix: plan for account {}", plan.account);
    let _ = writeln!(out);
    let _ = writeln!(out, "Trails");
    for t in &plan.trails {
        let _ = writeln!(out, "  {}  [{}]", t.trail_arn, outcome(t.outcome));
        if t.outcome != Outcome::Compliant {
            for r in &t.reasons {
                let _ = writeln!(out, "      {r}");
            }
        }
    }
    let _ = writeln!(out);
    if plan.steps.is_empty() {
        let _ = writeln!(out, "Nothing to change.");
    } else {
        let _ = writeln!(out, "Steps ({}), in order", plan.steps.len());
        for (i, step) in plan.steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}: {}", i + 1, step.target(), why(step));
            let _ = writeln!(out, "       {}", command(step));
        }
    }
    if !plan.proofs.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Proof (the checks on the account as it will be after the plan)"
        );
        for p in &plan.proofs {
            let verdict = if p.holds() { "holds" } else { "FAILS" };
            let _ = writeln!(out, "  {}: {verdict}", p.key);
            for t in &p.trails {
                let _ = writeln!(out, "      {}: {}", t.trail_arn, t.checks.join(", "));
            }
            let _ = writeln!(
                out,
                "      may administer the key: {}",
                list(&p.administrators)
            );
            let _ = writeln!(out, "      may decrypt the logs: {}", list(&p.readers));
            for f in &p.failures {
                let _ = writeln!(out, "      FAILS: {f}");
            }
        }
        if plan.is_forced() && plan.options.force {
            let _ = writeln!(out, "  --force: the plan keeps changes whose proof fails.");
        }
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Backout (reverse order)");
        for step in plan.steps.iter().rev() {
            for c in backout(step) {
                let _ = writeln!(out, "  {c}");
            }
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Nothing was changed: this is a plan. Run the commands above (or `trailseal fix --emit cli` for a script), then `trailseal audit`."
        );
    }
    out
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "nobody".into()
    } else {
        items.join("; ")
    }
}

/// The plan as a bash script (`fix --emit cli`), with the backout as comments.
pub fn cli_script(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "#!/usr/bin/env bash");
    let _ = writeln!(
        out,
        "# trailseal fix: plan for account {} ({} steps). Review before running.",
        plan.account,
        plan.steps.len()
    );
    let _ = writeln!(out, "set -euo pipefail");
    let _ = writeln!(
        out,
        "if [ \"$(aws sts get-caller-identity --query Account --output text)\" != {account} ]; then\n  echo 'trailseal: these commands are for account {account}: use its credentials' >&2\n  exit 1\nfi",
        account = sh(&plan.account)
    );
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out);
        let _ = writeln!(out, "# {}. {}: {}", i + 1, step.target(), why(step));
        let _ = writeln!(out, "{}", command(step));
    }
    if !plan.steps.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "# Backout, in this order:");
        for step in plan.steps.iter().rev() {
            for c in backout(step) {
                let _ = writeln!(out, "#   {c}");
            }
        }
    }
    out
}

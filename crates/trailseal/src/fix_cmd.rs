//! `trailseal fix`: the remediation plan (crate `trailseal-plan`) for the account read live
//! or from an evidence file. Prints it (text, JSON, or as a script); with `--apply`, applies
//! it with a journal (crate `trailseal-aws`) and audits the trails it fixed again.
//!
//! Exit codes: 0 when every trail considered is compliant or fixed by the plan (and, with
//! `--apply`, compliant when read again), 1 when some trail is not (needs a decision, cannot
//! be planned, refused, a step failed), 2 on bad input (including a saved plan the account no
//! longer gives).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use trailseal_aws::journal::JournalWriter;
use trailseal_aws::Applier;
use trailseal_model::Status;
use trailseal_plan::{plan, render, Options, Outcome, Plan, PLAN_SCHEMA};

use crate::cli::{Emit, FixArgs, PlanFormat};
use crate::output::print_stdout;
use crate::{audit_cmd, collect_cmd, UsageError};

pub fn run(mut args: FixArgs) -> anyhow::Result<u8> {
    args.aws.verbose = args.verbose;
    if let Some(k) = &args.key {
        let parts: Vec<&str> = k.splitn(6, ':').collect();
        let ok = matches!(parts.as_slice(), ["arn", _, "kms", r, a, res]
            if !r.is_empty() && a.len() == 12 && res.starts_with("key/"));
        if !ok {
            return Err(UsageError(format!(
                "--key {k}: expected a key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID); the key must be in the trails' bucket Region"
            ))
            .into());
        }
    }
    let evidence = match &args.evidence {
        Some(path) => audit_cmd::read_evidence(path)?,
        None => collect_cmd::collect_live_with(&args.aws, args.key.iter().cloned().collect())?,
    };
    let options = Options {
        trails: args.trails.clone(),
        no_extras: args.no_extras,
        alias: args.alias.clone(),
        key: args.key.clone(),
        readers: args.readers.clone(),
        enable_disabled_keys: args.enable_disabled_keys,
        replace_key: args.replace_key,
        edit_deny: args.edit_deny,
        force: args.force,
    };
    // "The alias name must begin with alias/ followed by a name ... can contain only
    // alphanumeric characters, forward slashes (/), underscores (_), and dashes (-)", and
    // alias/aws/ is reserved for AWS-managed keys (AWS KMS API Reference, CreateAlias).
    let name = args.alias.strip_prefix("alias/").unwrap_or_default();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_-".contains(&b))
        || name == "aws"
        || name.starts_with("aws/")
    {
        return Err(UsageError(format!(
            "--alias {}: a key alias is alias/NAME, NAME of letters, digits, /, _ and - (alias/aws/ is reserved for AWS-managed keys)",
            args.alias
        ))
        .into());
    }
    // Each --trail names a trail of some account in the evidence.
    for w in &options.trails {
        let known = evidence
            .accounts
            .iter()
            .flat_map(|a| &a.trails)
            .any(|t| t.arn == *w || t.name == *w);
        if !known {
            return Err(UsageError(format!(
                "--trail {w}: no such trail in the evidence (give its ARN or name; `trailseal audit` lists them)"
            ))
            .into());
        }
    }
    let mut plans: Vec<Plan> = Vec::new();
    let mut planned_accounts = Vec::new();
    for account in &evidence.accounts {
        // The --trail values that name this account's trails (none: not planned).
        let mine: Vec<String> = options
            .trails
            .iter()
            .filter(|w| account.trails.iter().any(|t| t.arn == **w || t.name == **w))
            .cloned()
            .collect();
        if !options.trails.is_empty() && mine.is_empty() {
            continue;
        }
        let options = Options {
            trails: mine,
            ..options.clone()
        };
        plans.push(plan(account, &options).map_err(|e| UsageError(e.to_string()))?);
        planned_accounts.push(account);
    }
    if plans.is_empty() {
        return Err(UsageError(match options.trails.first() {
            Some(w) => format!("--trail {w}: no such trail in the evidence (give its ARN or name; `trailseal audit` lists them)"),
            None => "the evidence holds no account".to_owned(),
        })
        .into());
    }
    let json = || -> anyhow::Result<String> {
        let value = if plans.len() == 1 {
            serde_json::to_value(&plans[0])?
        } else {
            serde_json::to_value(&plans)?
        };
        Ok(serde_json::to_string_pretty(&value)? + "\n")
    };
    if let Some(path) = &args.out {
        crate::output::refuse_overwriting_input(Some(path), args.evidence.as_deref())?;
        crate::output::refuse_overwriting_other_files(path)?;
        std::fs::write(path, json()?)
            .with_context(|| format!("cannot write the plan to {}", path.display()))?;
        let digests: Vec<String> = plans
            .iter()
            .map(trailseal_aws::journal::plan_digest)
            .collect();
        if path.is_file() {
            eprintln!(
                "trailseal: plan saved to {} (sha256 {}; the journal of its apply records it)",
                path.display(),
                digests.join(", ")
            );
        }
    }
    if let Some(saved) = &args.apply {
        return apply(&args, saved.as_deref(), plans);
    }
    let text = match (args.emit, args.format) {
        (Some(kind @ (Emit::Terraform | Emit::Cloudformation)), _) => {
            let mut code = Vec::new();
            for (p, account) in plans.iter().zip(&planned_accounts) {
                let (written, language) = match kind {
                    Emit::Terraform => (trailseal_plan::terraform::emit(p, account), "Terraform"),
                    _ => (
                        trailseal_plan::cloudformation::emit(p, account),
                        "a CloudFormation template",
                    ),
                };
                code.push(written.map_err(|e| {
                    UsageError(format!(
                        "the plan cannot be written as {language}: {e} (--emit cli can)"
                    ))
                })?);
            }
            code.join("\n")
        }
        (Some(Emit::Cli), _) => plans
            .iter()
            .map(render::cli_script)
            .collect::<Vec<_>>()
            .join("\n"),
        (None, PlanFormat::Json) => json()?,
        (None, PlanFormat::Text) => plans
            .iter()
            .map(render::text)
            .collect::<Vec<_>>()
            .join("\n"),
    };
    print_stdout(&text)?;
    Ok(if plans.iter().all(Plan::fixes_everything) {
        0
    } else {
        1
    })
}

/// Asks on the terminal; without one, --yes is required.
pub fn confirm(question: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(
            "refusing to change the account without confirmation: run on a terminal, or pass --yes"
                .into(),
        )
        .into());
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// The plan saved with --out, checked.
fn read_plan(path: &Path) -> anyhow::Result<Plan> {
    let text = crate::output::read_input(path)?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{} is not a trailseal plan (from `trailseal fix --out FILE`): {e}",
            path.display()
        ))
    })?;
    if plan.schema != PLAN_SCHEMA {
        return Err(UsageError(format!(
            "{} has schema {:?}; this trailseal applies {PLAN_SCHEMA}",
            path.display(),
            plan.schema
        ))
        .into());
    }
    Ok(plan)
}

fn apply(args: &FixArgs, saved: Option<&Path>, fresh: Vec<Plan>) -> anyhow::Result<u8> {
    let [fresh] = <[Plan; 1]>::try_from(fresh)
        .map_err(|_| UsageError("--apply works on one account at a time".into()))?;
    let plan = match saved {
        None => fresh,
        Some(path) => {
            let saved = read_plan(path)?;
            if saved.account != fresh.account {
                return Err(UsageError(format!(
                    "{} is a plan for account {}; the credentials are for account {}: nothing was changed",
                    path.display(),
                    saved.account,
                    fresh.account
                ))
                .into());
            }
            // The account still gives exactly this plan (computed with the saved options)?
            let account = collect_cmd::collect_live(&args.aws)?
                .accounts
                .into_iter()
                .next()
                .ok_or_else(|| UsageError("the collection holds no account".into()))?;
            let now = trailseal_plan::plan(&account, &saved.options)
                .map_err(|e| UsageError(e.to_string()))?;
            let text = |s: &trailseal_plan::Step| serde_json::to_string(s).unwrap_or_default();
            let was: Vec<String> = saved.steps.iter().map(text).collect();
            let is: Vec<String> = now.steps.iter().map(text).collect();
            if was != is || saved.trails != now.trails || saved.proofs != now.proofs {
                let mut changes = Vec::new();
                for (s, t) in saved.steps.iter().zip(&was) {
                    if !is.contains(t) {
                        changes.push(format!(
                            "  no longer planned: {}: {}",
                            s.target(),
                            render::why(s)
                        ));
                    }
                }
                for (s, t) in now.steps.iter().zip(&is) {
                    if !was.contains(t) {
                        changes.push(format!("  now planned: {}: {}", s.target(), render::why(s)));
                    }
                }
                return Err(UsageError(format!(
                    "the account changed since {} was computed (a trail, key or key policy is not as it was); nothing was changed. Compute a new plan and review it.\n{}",
                    path.display(),
                    changes.join("\n")
                ))
                .into());
            }
            saved
        }
    };
    print_stdout(&render::text(&plan))?;
    if plan.steps.is_empty() {
        eprintln!("trailseal: nothing to apply");
        return Ok(if plan.fixes_everything() { 0 } else { 1 });
    }
    if !confirm(
        &format!(
            "Apply these {} changes to account {}?",
            plan.steps.len(),
            plan.account
        ),
        args.yes,
    )? {
        eprintln!("trailseal: not applied");
        return Ok(1);
    }
    let path = args.journal.clone().unwrap_or_else(|| {
        let stamp = trailseal_aws::now_rfc3339().replace([':', '-'], "");
        PathBuf::from(format!("trailseal-journal-{}-{stamp}.jsonl", plan.account))
    });
    let writer = JournalWriter::create(&path).map_err(|e| UsageError(e.to_string()))?;
    eprintln!(
        "trailseal: journal {} (undo with: trailseal rollback {})",
        path.display(),
        path.display()
    );
    let runtime = crate::org_cmd::async_runtime()?;
    let report = runtime.block_on(async {
        let config = trailseal_aws::load_config(args.aws.profile.as_deref()).await?;
        let applier = Applier::new(config).await?;
        applier.apply(&plan, writer).await
    });
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            // Refused before the first change: the journal is empty, remove it.
            if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
                let _ = std::fs::remove_file(&path);
            }
            return Err(UsageError(e.to_string()).into());
        }
    };
    for line in &report.done {
        eprintln!("  done     {line}");
    }
    for line in &report.failed {
        eprintln!("  FAILED   {line}");
    }
    for line in &report.skipped {
        eprintln!("  not run  {line}");
    }
    // The trails the plan fixes, read again and audited.
    let after = collect_cmd::collect_live(&args.aws)?;
    let mut still = Vec::new();
    let fixed = plan
        .trails
        .iter()
        .filter(|t| t.outcome == Outcome::Fixed)
        .count();
    for account in &after.accounts {
        for t in plan.trails.iter().filter(|t| t.outcome == Outcome::Fixed) {
            let Some(trail) = account.trails.iter().find(|x| x.arn == t.trail_arn) else {
                still.push(format!(
                    "{}: not in the account as read again (see the collection's notes)",
                    t.trail_arn
                ));
                continue;
            };
            let findings = trailseal_checks::run_trail_checks(
                &account.trail_evidence(trail),
                &trailseal_checks::compliant_codes(),
            );
            for f in findings.iter().filter(|f| f.status != Status::Pass) {
                still.push(format!(
                    "{}: {} {}: {}",
                    t.trail_arn,
                    f.code,
                    f.status.as_str(),
                    f.message
                ));
            }
        }
    }
    eprintln!(
        "trailseal: audited again: {} of {fixed} fixed trail(s) compliant",
        fixed
            - still
                .iter()
                .map(|s| s.split(": ").next().unwrap_or_default())
                .collect::<std::collections::BTreeSet<_>>()
                .len()
    );
    for s in &still {
        eprintln!("  {s}");
    }
    Ok(
        if report.ok() && still.is_empty() && plan.fixes_everything() {
            0
        } else {
            1
        },
    )
}

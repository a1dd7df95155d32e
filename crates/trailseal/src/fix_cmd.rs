//! `trailseal fix`: the remediation plan (crate `trailseal-plan`) for the account read live
//! or from an evidence file. Prints it (text, JSON, or as a script) and changes nothing.
//!
//! Exit codes: 0 when every trail considered is compliant or fixed by the plan, 1 when some
//! trail is not (needs a decision, cannot be planned, refused), 2 on bad input.

use anyhow::Context as _;
use trailseal_plan::{plan, render, Options, Plan};

use crate::cli::{Emit, FixArgs, PlanFormat};
use crate::output::print_stdout;
use crate::{audit_cmd, collect_cmd, UsageError};

pub fn run(args: FixArgs) -> anyhow::Result<u8> {
    let evidence = match &args.evidence {
        Some(path) => audit_cmd::read_evidence(path)?,
        None => collect_cmd::collect_live(&args.aws)?,
    };
    let options = Options {
        trails: args.trails.clone(),
        no_extras: args.no_extras,
        alias: args.alias.clone(),
        readers: args.readers.clone(),
        enable_disabled_keys: args.enable_disabled_keys,
        replace_key: args.replace_key,
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
        std::fs::write(path, json()?)
            .with_context(|| format!("cannot write the plan to {}", path.display()))?;
        eprintln!("trailseal: plan saved to {}", path.display());
    }
    let text = match (args.emit, args.format) {
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

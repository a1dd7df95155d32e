//! `trailseal monitor`: the stack that keeps the control true (`--emit`), the handler run once
//! locally (`--event`), and the Lambda `bootstrap` entry point.

use std::process::ExitCode;

use anyhow::Context as _;
use trailseal_aws::monitor::{self, event, Settings};
use trailseal_model::{AccountEvidence, Finding};
use trailseal_plan::monitor_stack::Stack;

use crate::cli::{MonitorArgs, StackFormat};
use crate::UsageError;

/// The stack's contents: the audit's read-only actions, the events that can break the control.
pub fn stack() -> Stack<'static> {
    Stack {
        read_actions: trailseal_aws::READ_ONLY_ACTIONS,
        cloudtrail_events: event::CLOUDTRAIL_EVENTS,
        kms_events: event::KMS_EVENTS,
        s3_events: event::S3_EVENTS,
    }
}

/// The catalogue the monitor's handler runs (`compliant`: `trailseal_checks::compliant_codes()`).
fn checks<'a>(compliant: &'a [&'a str]) -> monitor::Checks<'a> {
    monitor::Checks {
        evaluate: &evaluate_all,
        compliant,
    }
}

fn evaluate_all(evidence: &AccountEvidence) -> Vec<Finding> {
    let codes: Vec<&str> = trailseal_checks::all_codes();
    trailseal_checks::evaluate_account(evidence, &codes)
}

pub fn run(args: MonitorArgs) -> anyhow::Result<u8> {
    if let Some(format) = args.emit {
        let text = match format {
            StackFormat::Cloudformation => stack().cloudformation(),
            StackFormat::Terraform => stack().terraform(),
        };
        match &args.output {
            Some(path) => {
                crate::output::refuse_overwriting_other_files(path)?;
                std::fs::write(path, text)
                    .with_context(|| format!("cannot write the stack to {}", path.display()))?;
            }
            None => crate::output::print_stdout(&text)?,
        }
        return Ok(0);
    }
    let Some(path) = &args.event else {
        return Err(UsageError("give --emit FORMAT or --event FILE".into()).into());
    };
    let text = crate::output::read_input(path)?;
    let event: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "{} is not JSON: {e}; expected an AWS Config rule invocation or an EventBridge event",
            path.display()
        ))
    })?;
    let mut settings = Settings::from_env().map_err(UsageError)?;
    let options = crate::org_cmd::collect_options(&args.aws)?;
    if options.regions.is_some() {
        settings.regions = options.regions;
    }
    let runtime = crate::org_cmd::async_runtime()?;
    let compliant = trailseal_checks::compliant_codes();
    let outcome = runtime.block_on(async {
        let config = trailseal_aws::load_config_with(
            args.aws.profile.as_deref(),
            &crate::org_cmd::timeouts(&args.aws),
        )
        .await?;
        if let Some(region) = config.region() {
            settings.region = region.as_ref().to_owned();
        }
        Ok::<_, trailseal_aws::CollectError>(
            monitor::handle(&config, &settings, &event, checks(&compliant)).await,
        )
    });
    let outcome = outcome.map_err(|e| crate::org_cmd::usage_error(e, args.aws.verbose))?;
    crate::output::print_stdout(&(serde_json::to_string_pretty(&outcome)? + "\n"))?;
    if let Some(error) = &outcome.error {
        eprintln!("trailseal: error: {error}");
        return Ok(2);
    }
    let broken = outcome.notification.is_some()
        || outcome
            .trails
            .iter()
            .any(|t| t.compliance == monitor::decide::Compliance::NonCompliant);
    Ok(u8::from(broken))
}

/// When the process is a Lambda function's `bootstrap` (`AWS_LAMBDA_RUNTIME_API` set, invoked
/// as `bootstrap`), serves invocations and never returns to the command line.
pub fn lambda_bootstrap() -> Option<ExitCode> {
    std::env::var_os("AWS_LAMBDA_RUNTIME_API")?;
    let program = std::env::args_os().next()?;
    let name = std::path::Path::new(&program).file_name()?;
    if name != "bootstrap" {
        return None;
    }
    // Lambda sets these; the runtime client cannot start without them.
    for var in [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ] {
        if std::env::var_os(var).is_none() {
            eprintln!(
                "trailseal: error: {var} is not set: run as the bootstrap of a Lambda function"
            );
            return Some(ExitCode::from(2));
        }
    }
    // Wrong settings do not stop the function: each invocation is answered "cannot be
    // decided" with the reason (a function that fails every event would be retried and
    // dropped, and Config would hear nothing).
    let settings = Settings::from_env_or_misconfigured();
    if let Some(why) = &settings.misconfigured {
        eprintln!("trailseal: error: the function is misconfigured: {why}");
    }
    let runtime = match crate::org_cmd::async_runtime() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("trailseal: error: {e:#}");
            return Some(ExitCode::from(2));
        }
    };
    let compliant = trailseal_checks::compliant_codes();
    let result = runtime.block_on(async {
        let config = trailseal_aws::load_config(None)
            .await
            .map_err(|e| e.to_string())?;
        monitor::runtime::run(config, settings, checks(&compliant)).await
    });
    match result {
        Ok(()) => Some(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("trailseal: error: the Lambda runtime stopped: {e}");
            Some(ExitCode::from(2))
        }
    }
}

//! `trailseal policy check` and `trailseal policy lint`.

use anyhow::Context as _;
use serde_json::json;
use trailseal_model::{Fact, Key, Trail, TrailEvidence};
use trailseal_policy::{cloudtrail::arn_parts, lint, Severity as LintSeverity};

use crate::cli::{Format, LintFormat, PolicyCheckArgs, PolicyCommand, PolicyLintArgs};
use crate::documents::{other_document, Expect};
use crate::output::{print_stdout, read_input};
use crate::UsageError;

pub fn run(cmd: PolicyCommand) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Check(args) => check(*args),
        PolicyCommand::Lint(args) => lint_cmd(args),
    }
}

fn validate_trail_arn(arn: &str) -> Result<(), UsageError> {
    // The same Region names --regions accepts without asking AWS.
    if let Some((_, "cloudtrail", region, _, _)) = arn_parts(arn) {
        if !region.is_empty() && !trailseal_aws::known_region(region) {
            let hint = trailseal_aws::closest_known_region(region)
                .map(|r| format!("; did you mean {r}?"))
                .unwrap_or_default();
            return Err(UsageError(format!(
                "--trail-arn {arn:?}: unknown Region {region:?}{hint}"
            )));
        }
    }
    match arn_parts(arn) {
        Some((_, "cloudtrail", region, account, resource))
            if !region.is_empty()
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("trail/").is_some_and(|n| !n.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(UsageError(format!(
            "--trail-arn {arn:?} is not a trail ARN; expected arn:aws:cloudtrail:REGION:ACCOUNT:trail/NAME"
        ))),
    }
}

fn check(args: PolicyCheckArgs) -> anyhow::Result<u8> {
    validate_trail_arn(&args.trail_arn)?;
    crate::output::refuse_overwriting_input(args.out.output.as_deref(), [args.policy.as_path()])?;
    let file = args.policy.display().to_string();
    let text = read_input(&args.policy)?;
    refuse_other_documents(&file, &text)?;
    let report = lint(&text);
    if report.policy.is_none() {
        let fatal: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.fatal)
            .map(|d| d.to_string())
            .collect();
        return Err(UsageError(format!(
            "{file} is not a policy trailseal can evaluate:\n  {}\n(run `trailseal policy lint {file}` for every problem)",
            fatal.join("\n  ")
        ))
        .into());
    }
    let errors: Vec<String> = report
        .diagnostics
        .iter()
        .filter(|d| d.severity == LintSeverity::Error)
        .map(|d| d.to_string())
        .collect();
    if !errors.is_empty() {
        eprintln!(
            "trailseal: warning: {file} has problems AWS would reject (evaluated anyway; see `trailseal policy lint`):\n  {}",
            errors.join("\n  ")
        );
    }

    let mut trail = Trail::from_arn(&args.trail_arn);
    trail.s3_bucket_name = match &args.bucket {
        Some(b) => Fact::Known(b.clone()),
        None => Fact::Unknown("no --bucket was given".into()),
    };
    trail.s3_key_prefix = Fact::Known(args.prefix.clone());
    trail.is_organization_trail = Fact::Known(args.organization_trail);
    trail.kms_key_id = Fact::Known(Some(
        args.key_arn
            .clone()
            .unwrap_or_else(|| format!("key policy {file}")),
    ));
    let key = Key {
        arn: args.key_arn.clone(),
        policy: Fact::Known(text),
        // The question is what this policy allows: no grant is considered (`audit` reads the
        // key's grants, and TS008 counts them there).
        grants: Fact::Known(Vec::new()),
        ..Key::default()
    };
    let evidence = TrailEvidence {
        trail,
        key: Some(key),
        ..TrailEvidence::default()
    };
    let codes = args.filter.codes(trailseal_checks::KEY_POLICY_CHECKS)?;
    let mut findings = trailseal_checks::run_trail_checks(&evidence, &codes);
    if args.out.format == Format::Sarif {
        // Code-scanning UIs place results in files: the policy file.
        for f in &mut findings {
            f.file = Some(file.clone());
        }
    }
    let input = json!({"policy_file": file, "trail_arn": args.trail_arn, "bucket": args.bucket});
    let mut header = format!(
        "Key policy {file}, evaluated for trail {}\n",
        args.trail_arn
    );
    if args.bucket.is_none() {
        header += "(no --bucket: the log object ARN in the encryption context is unknown)\n";
    }
    header.push('\n');
    crate::output::report(
        &args.out,
        &args.filter,
        &findings,
        &input,
        &header,
        "policy",
    )
}

/// Refuses a file that is infrastructure as code, a report or another trailseal document
/// rather than a policy, saying which command reads it.
fn refuse_other_documents(file: &str, text: &str) -> Result<(), UsageError> {
    match other_document(text, Expect::Policy) {
        Some(what) => Err(UsageError(format!(
            "{file} is {what}, not a policy document"
        ))),
        None => Ok(()),
    }
}

fn lint_cmd(args: PolicyLintArgs) -> anyhow::Result<u8> {
    crate::output::refuse_overwriting_input(args.output.as_deref(), [args.policy.as_path()])?;
    if let Some(path) = &args.output {
        crate::output::refuse_overwriting_other_files(path)?;
    }
    let file = args.policy.display().to_string();
    let text = read_input(&args.policy)?;
    refuse_other_documents(&file, &text)?;
    let report = lint(&text);
    let invalid = report.is_invalid();
    let rendered = match args.format {
        LintFormat::Json => {
            let doc = json!({
                "schema": "trailseal.lint/v1",
                "tool": {"name": "trailseal", "version": env!("CARGO_PKG_VERSION")},
                "file": file,
                "valid": !invalid,
                "diagnostics": report.diagnostics,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        LintFormat::Text => {
            let mut out = String::new();
            for d in &report.diagnostics {
                out += &format!("{file}: {d}\n");
            }
            let count = |s: LintSeverity| {
                report
                    .diagnostics
                    .iter()
                    .filter(|d| d.severity == s)
                    .count()
            };
            out += &format!(
                "{file}: {} ({} error, {} security-warning, {} warning, {} suggestion)\n",
                if invalid {
                    "invalid: AWS would reject this policy"
                } else {
                    "valid"
                },
                count(LintSeverity::Error),
                count(LintSeverity::SecurityWarning),
                count(LintSeverity::Warning),
                count(LintSeverity::Suggestion),
            );
            out
        }
    };
    match &args.output {
        Some(path) => std::fs::write(path, &rendered)
            .with_context(|| format!("cannot write the diagnostics to {}", path.display()))?,
        None => print_stdout(&rendered)?,
    }
    // PRODUCT.md's exit codes: not a JSON document at all is input that cannot be parsed (2, as
    // everywhere, like a usage error); a document AWS would reject, or warnings, are findings
    // (1; `valid` in the JSON tells them apart).
    let unparseable = report
        .diagnostics
        .iter()
        .any(|d| matches!(d.code, "INVALID_JSON" | "NOT_AN_OBJECT" | "INVALID_TYPE"));
    if unparseable {
        return Ok(2);
    }
    if invalid {
        return Ok(1);
    }
    let warned = report.diagnostics.iter().any(|d| {
        matches!(
            d.severity,
            LintSeverity::SecurityWarning | LintSeverity::Warning
        )
    });
    Ok(u8::from(warned))
}

//! `trailseal policy check` and `trailseal policy lint`.

use serde_json::json;
use trailseal_model::{Fact, Key, Severity, Status, Trail, TrailEvidence};
use trailseal_policy::{cloudtrail::arn_parts, lint, Severity as LintSeverity};
use trailseal_report::{json_report, sarif_report, text_report, TextOptions};

use crate::cli::{Format, PolicyCheckArgs, PolicyCommand, PolicyLintArgs};
use crate::output::{emit, read_input, use_color};
use crate::UsageError;

pub fn run(cmd: PolicyCommand) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Check(args) => check(args),
        PolicyCommand::Lint(args) => lint_cmd(args),
    }
}

fn validate_trail_arn(arn: &str) -> Result<(), UsageError> {
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
    let file = args.policy.display().to_string();
    let text = read_input(&args.policy)?;
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
        ..Key::default()
    };
    let evidence = TrailEvidence {
        trail,
        key: Some(key),
        ..TrailEvidence::default()
    };
    let findings =
        trailseal_checks::run_trail_checks(&evidence, trailseal_checks::KEY_POLICY_CHECKS);

    let rendered = match args.out.format {
        Format::Json => {
            let mut doc = json_report(&findings, env!("CARGO_PKG_VERSION"));
            doc["input"] =
                json!({"policy_file": file, "trail_arn": args.trail_arn, "bucket": args.bucket});
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Sarif => {
            let located: Vec<_> = findings
                .iter()
                .cloned()
                .map(|mut f| {
                    f.file = Some(file.clone());
                    f
                })
                .collect();
            serde_json::to_string_pretty(&sarif_report(&located, env!("CARGO_PKG_VERSION")))? + "\n"
        }
        Format::Text => {
            let mut header = format!(
                "Key policy {file}, evaluated for trail {}\n",
                args.trail_arn
            );
            if args.bucket.is_none() {
                header +=
                    "(no --bucket: the log object ARN in the encryption context is unknown)\n";
            }
            header.push('\n');
            let opts = TextOptions {
                color: use_color(&args.out),
                verbose: args.verbose,
                compact: false,
                snippets: false,
            };
            header + &text_report(&findings, opts)
        }
    };
    emit(&args.out, &rendered)?;
    let threshold = Severity::parse(&args.fail_on).unwrap_or(Severity::Info);
    let failing = findings.iter().any(|f| {
        matches!(
            f.status,
            Status::Fail | Status::Error | Status::Indeterminate
        ) && f.severity >= threshold
    });
    Ok(u8::from(failing))
}

fn lint_cmd(args: PolicyLintArgs) -> anyhow::Result<u8> {
    let file = args.policy.display().to_string();
    let text = read_input(&args.policy)?;
    let report = lint(&text);
    let invalid = report.is_invalid();
    let rendered = match args.out.format {
        Format::Sarif => {
            return Err(UsageError(
                "--format sarif is for findings (audit, scan, policy check); policy lint prints text or json".into(),
            )
            .into())
        }
        Format::Json => {
            let doc = json!({
                "schema": "trailseal.lint/v1",
                "tool": {"name": "trailseal", "version": env!("CARGO_PKG_VERSION")},
                "file": file,
                "valid": !invalid,
                "diagnostics": report.diagnostics,
            });
            serde_json::to_string_pretty(&doc)? + "\n"
        }
        Format::Text => {
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
    emit(&args.out, &rendered)?;
    if invalid {
        return Ok(2);
    }
    let warned = report.diagnostics.iter().any(|d| {
        matches!(
            d.severity,
            LintSeverity::SecurityWarning | LintSeverity::Warning
        )
    });
    Ok(u8::from(warned))
}

//! `trailseal collect`: read AWS (read-only) into an evidence file. Also the live half of
//! `trailseal audit`.

use std::io::IsTerminal;
use std::time::Instant;

use anyhow::Context as _;
use trailseal_aws::{CollectError, CollectOptions, Collector};
use trailseal_model::{Evidence, ToolInfo, EVIDENCE_SCHEMA};

use crate::cli::{AwsArgs, CollectArgs};
use crate::UsageError;

pub fn run(mut args: CollectArgs) -> anyhow::Result<u8> {
    args.aws.verbose = args.verbose;
    if let Some(path) = &args.output {
        crate::output::refuse_overwriting_other_files(path)?;
        // Before reading the whole account: a path that cannot be written fails now.
        if path.is_dir() {
            return Err(UsageError(format!("--output {} is a directory", path.display())).into());
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            if !parent.is_dir() {
                return Err(UsageError(format!(
                    "--output {}: the directory {} does not exist",
                    path.display(),
                    parent.display()
                ))
                .into());
            }
        }
    }
    let evidence = collect_live(&args.aws)?;
    let text = serde_json::to_string_pretty(&evidence)? + "\n";
    match &args.output {
        Some(path) => {
            std::fs::write(path, text)
                .with_context(|| format!("cannot write the evidence to {}", path.display()))?;
            let a = &evidence.accounts;
            eprintln!(
                "trailseal: wrote {} ({} trail(s), {} key(s) in {} Region(s))",
                path.display(),
                a.iter().map(|a| a.trails.len()).sum::<usize>(),
                a.iter().map(|a| a.keys.len()).sum::<usize>(),
                a.iter().map(|a| a.regions.len()).sum::<usize>(),
            );
        }
        None => crate::output::print_stdout(&text)?,
    }
    Ok(0)
}

/// Collects the configured account. Usage problems (unknown Region, unusable credentials) are
/// [`UsageError`]s: exit code 2.
pub fn collect_live(args: &AwsArgs) -> anyhow::Result<Evidence> {
    collect_live_with(args, Vec::new())
}

/// [`collect_live`], also reading the keys `extra_keys` name (key ARNs).
pub fn collect_live_with(args: &AwsArgs, extra_keys: Vec<String>) -> anyhow::Result<Evidence> {
    let regions: Vec<String> = args.regions.iter().map(|r| r.trim().to_owned()).collect();
    if regions.iter().any(String::is_empty) {
        return Err(UsageError(format!(
            "--regions {:?} names an empty Region: give names like us-east-1,eu-west-1, or leave \
             --regions out to scan every Region enabled for the account",
            args.regions.join(",")
        ))
        .into());
    }
    let options = CollectOptions {
        regions: (!regions.is_empty()).then_some(regions),
        concurrency: usize::from(args.concurrency),
        extra_keys,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let started = Instant::now();
    let collection = runtime.block_on(async {
        let config = trailseal_aws::load_config(args.profile.as_deref()).await?;
        Collector::new(config, options.concurrency)
            .collect(&options)
            .await
    });
    let collection = collection.map_err(|e| match e {
        CollectError::UnknownRegion { .. } => UsageError(format!("--regions: {e}")),
        CollectError::Credentials { ref detail, .. } if args.verbose => {
            UsageError(format!("{e}\n  AWS SDK detail: {detail}"))
        }
        other => UsageError(other.to_string()),
    })?;
    for note in &collection.notes {
        eprintln!("trailseal: note: {note}");
    }
    if std::io::stderr().is_terminal() {
        let a = &collection.account;
        eprintln!(
            "trailseal: read account {}: {} trail(s), {} key(s), {} Region(s) in {:.1} s",
            a.account,
            a.trails.len(),
            a.keys.len(),
            a.regions.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(Evidence {
        schema: EVIDENCE_SCHEMA.to_owned(),
        tool: ToolInfo {
            name: "trailseal".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        collected_at: trailseal_aws::now_rfc3339(),
        accounts: vec![collection.account],
    })
}

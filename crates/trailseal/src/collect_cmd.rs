//! `trailseal collect`: read AWS (read-only) into an evidence file. Also the live half of
//! `trailseal audit`.

use std::io::{IsTerminal, Write};
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
    if let Some(options) = crate::org_cmd::options(&args.aws, &args.accounts)? {
        return collect_accounts(&args, &options);
    }
    if args.output_dir.is_some() {
        return Err(UsageError(
            "--output-dir writes one file per account: use it with --org or --accounts (one \
             account: --output FILE)"
                .into(),
        )
        .into());
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
    let options = CollectOptions {
        extra_keys,
        ..crate::org_cmd::collect_options(args)?
    };
    let runtime = crate::org_cmd::async_runtime()?;
    let started = Instant::now();
    let collection = runtime.block_on(async {
        let config = trailseal_aws::load_config_with(
            args.profile.as_deref(),
            &crate::org_cmd::timeouts(args),
        )
        .await?;
        Collector::new(config, options.concurrency)
            .collect(&options)
            .await
    });
    let collection =
        collection.map_err(|e: CollectError| crate::org_cmd::usage_error(e, args.verbose))?;
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
    Ok(Evidence::of_account(
        env!("CARGO_PKG_VERSION"),
        trailseal_aws::now_rfc3339(),
        collection.account,
    ))
}

/// `collect --org` / `--accounts`: one evidence file for every account (written account by
/// account, never held whole in memory), or one per account with `--output-dir`.
fn collect_accounts(args: &CollectArgs, options: &trailseal_aws::OrgOptions) -> anyhow::Result<u8> {
    if let Some(dir) = &args.output_dir {
        if !dir.is_dir() {
            return Err(UsageError(format!(
                "--output-dir {}: not a directory (create it first)",
                dir.display()
            ))
            .into());
        }
    }
    let tool = ToolInfo {
        name: "trailseal".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let prepared = crate::org_cmd::prepare(&args.aws, options)?;
    let mut single: Option<Box<dyn Write>> = match (&args.output_dir, &args.output) {
        (Some(_), _) => None,
        (None, Some(path)) => Some(Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot write the evidence to {}", path.display()))?,
        ))),
        (None, None) => Some(Box::new(std::io::BufWriter::new(std::io::stdout().lock()))),
    };
    let head = format!(
        "{{\n  \"schema\": {},\n  \"tool\": {},\n  \"accounts\": [",
        serde_json::to_string(EVIDENCE_SCHEMA)?,
        serde_json::to_string(&tool)?
    );
    let mut failure: Option<anyhow::Error> = None;
    let mut count = (0usize, 0usize, 0usize);
    if let Some(out) = single.as_mut() {
        out.write_all(head.as_bytes())?;
    }
    let mut first = true;
    prepared.collect(options, |account| {
        if failure.is_some() {
            return;
        }
        count.0 += 1;
        count.1 += account.trails.len();
        count.2 += usize::from(account.error.is_some());
        let result = (|| -> anyhow::Result<()> {
            match (&args.output_dir, single.as_mut()) {
                (Some(dir), _) => {
                    let path = dir.join(format!("evidence-{}.json", account.account));
                    let evidence =
                        Evidence::of_account(&tool.version, trailseal_aws::now_rfc3339(), account);
                    std::fs::write(&path, serde_json::to_string_pretty(&evidence)? + "\n")
                        .with_context(|| format!("cannot write {}", path.display()))?;
                }
                (None, Some(out)) => {
                    let text = serde_json::to_string_pretty(&account)?;
                    let indented: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    out.write_all(indented.join("\n").as_bytes())?;
                    first = false;
                }
                (None, None) => {}
            }
            Ok(())
        })();
        if let Err(e) = result {
            failure = Some(e);
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    if let Some(mut out) = single {
        let tail = format!(
            "{}],\n  \"collected_at\": {}\n}}\n",
            if first { "" } else { "\n  " },
            serde_json::to_string(&trailseal_aws::now_rfc3339())?
        );
        out.write_all(tail.as_bytes())?;
        out.flush()?;
    }
    let (accounts, trails, errors) = count;
    let target = match (&args.output_dir, &args.output) {
        (Some(dir), _) => Some(format!(
            "{} evidence files into {}",
            accounts,
            dir.display()
        )),
        (None, Some(path)) => Some(path.display().to_string()),
        (None, None) => None,
    };
    if let Some(target) = target {
        eprintln!(
            "trailseal: wrote {target} ({accounts} account(s), {trails} trail(s){})",
            if errors > 0 {
                format!(", {errors} account(s) not readable")
            } else {
                String::new()
            }
        );
    }
    // Nothing read is not a collection: like `audit`, exit 2.
    if accounts > 0 && errors == accounts {
        eprintln!("trailseal: error: no account could be read");
        return Ok(2);
    }
    Ok(0)
}

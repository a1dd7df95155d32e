//! `trailseal rollback JOURNAL`: undoes what a `fix --apply` journal records (crate
//! `trailseal-aws`). Exit 0 when every step is rolled back (or was already), 1 when an undo
//! failed, 2 when the journal cannot be used (missing, cut off, edited, another account).

use anyhow::Context as _;
use trailseal_aws::journal::{self, Entry, JournalWriter};
use trailseal_aws::{Applier, RollbackOptions};

use crate::cli::RollbackArgs;
use crate::UsageError;

pub fn run(args: RollbackArgs) -> anyhow::Result<u8> {
    let journal = journal::read(&args.journal).map_err(|e| UsageError(e.to_string()))?;
    let undone: Vec<usize> = journal
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::RolledBack { seq, .. } => Some(*seq),
            _ => None,
        })
        .collect();
    let pending: Vec<String> = journal
        .entries
        .iter()
        .filter_map(|e| match e {
            Entry::Intent { seq, step, .. } if !undone.contains(seq) => Some(format!(
                "  {seq}. {}: {}",
                step.target(),
                trailseal_plan::render::why(step)
            )),
            _ => None,
        })
        .collect();
    if pending.is_empty() {
        println!(
            "Nothing to roll back: every step of {} is already rolled back.",
            args.journal.display()
        );
        return Ok(0);
    }
    let Some((account, _, _)) = journal.begin() else {
        return Err(UsageError(format!("{}: no begin line", args.journal.display())).into());
    };
    println!(
        "Rolling back {} step(s) of account {account}, newest first:",
        pending.len()
    );
    for p in pending.iter().rev() {
        println!("{p}");
    }
    if !crate::fix_cmd::confirm("Undo these changes?", args.yes)? {
        eprintln!("trailseal: not rolled back");
        return Ok(1);
    }
    let writer =
        JournalWriter::append(&args.journal, &journal).map_err(|e| UsageError(e.to_string()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let options = RollbackOptions {
        delete_keys: args.delete_keys,
        pending_days: args.pending_days,
    };
    let report = runtime
        .block_on(async {
            let config = trailseal_aws::load_config(args.profile.as_deref()).await;
            let applier = Applier::new(config).await?;
            applier.rollback(&journal, writer, options).await
        })
        .map_err(|e| UsageError(e.to_string()))?;
    for line in &report.done {
        println!("  undone   {line}");
    }
    for line in &report.failed {
        println!("  FAILED   {line}");
    }
    Ok(if report.failed.is_empty() { 0 } else { 1 })
}

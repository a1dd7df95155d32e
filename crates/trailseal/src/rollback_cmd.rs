//! `trailseal rollback JOURNAL`: undoes what a `fix --apply` journal records (crate
//! `trailseal-aws`). Exit 0 when every step is rolled back (or was already), 1 when an undo
//! failed or found a later change (the rollback stops there), 2 when the journal cannot be
//! used (missing, edited, in use, another account).

use trailseal_aws::journal::{Entry, JournalWriter};
use trailseal_aws::{Applier, RollbackOptions};

use crate::cli::RollbackArgs;
use crate::output::print_stdout;
use crate::UsageError;

pub fn run(args: RollbackArgs) -> anyhow::Result<u8> {
    // Locked for the whole rollback: an apply or another rollback of it still running is
    // refused.
    let (journal, writer) =
        JournalWriter::open(&args.journal, args.torn_ok).map_err(|e| UsageError(e.to_string()))?;
    for w in &journal.warnings {
        eprintln!("trailseal: warning: {}: {w}", args.journal.display());
    }
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
        return Err(UsageError(format!(
            "{} is already rolled back: nothing to do",
            args.journal.display()
        ))
        .into());
    }
    let Some((account, _, _)) = journal.begin() else {
        return Err(UsageError(format!("{}: no begin line", args.journal.display())).into());
    };
    let mut text = format!(
        "Rolling back {} step(s) of account {account}, newest first:\n",
        pending.len()
    );
    for p in pending.iter().rev() {
        text += &format!("{p}\n");
    }
    if args.delete_keys {
        text += &format!(
            "The keys the apply created are scheduled for deletion in {} days: log files written \
             under them since the apply can no longer be decrypted once they are deleted.\n",
            args.pending_days
        );
    }
    print_stdout(&text)?;
    if !crate::fix_cmd::confirm("Undo these changes?", args.yes)? {
        eprintln!("trailseal: not rolled back");
        return Ok(1);
    }
    let runtime = crate::org_cmd::async_runtime()?;
    let options = RollbackOptions {
        delete_keys: args.delete_keys,
        pending_days: args.pending_days,
        force: args.force,
    };
    let report = runtime
        .block_on(async {
            let config = trailseal_aws::load_config(args.profile.as_deref()).await?;
            let applier = Applier::new(config).await?;
            applier.rollback(&journal, writer, options).await
        })
        .map_err(|e| UsageError(e.to_string()))?;
    let mut text = String::new();
    for line in &report.done {
        text += &format!("  undone   {line}\n");
    }
    for line in &report.failed {
        text += &format!("  FAILED   {line}\n");
    }
    for line in &report.skipped {
        text += &format!("  not run  {line}\n");
    }
    if !report.ok() {
        text += "Stopped at the first step that could not be undone; run rollback again once it is resolved.\n";
    }
    print_stdout(&text)?;
    Ok(if report.ok() { 0 } else { 1 })
}

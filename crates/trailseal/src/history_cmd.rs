//! `audit --history [DB]` (recording), `trailseal history` (the runs) and `trailseal diff`
//! (what changed). The database and the diff are trailseal-history's; this is the wiring.

use std::path::{Path, PathBuf};

use trailseal_history::{History, NewRun};
use trailseal_model::{AccountEvidence, Finding};

use crate::cli::{DiffArgs, HistoryArgs};
use crate::UsageError;

/// Where the history lives when `--history` names no file: the user's data directory
/// (`$XDG_DATA_HOME/trailseal/history.sqlite3`, i.e. `~/.local/share/...` on Linux,
/// `~/Library/Application Support/...` on macOS).
pub fn default_path() -> anyhow::Result<PathBuf> {
    match dirs::data_dir() {
        Some(dir) => Ok(dir.join("trailseal").join("history.sqlite3")),
        None => Err(UsageError(
            "no data directory is known for this user (HOME is not set): pass a file with \
             --history DB"
                .into(),
        )
        .into()),
    }
}

/// `--history` without a file is the default database.
fn resolve(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    match path {
        Some(p) if !p.as_os_str().is_empty() => Ok(p.to_owned()),
        _ => default_path(),
    }
}

/// The history an audit records into: opened (created, migrated) before anything is read from
/// AWS, so that a database that cannot be written fails the run at once.
pub struct Recorder {
    history: History,
    keep: Option<u32>,
    source: String,
    /// Shared by every account of this audit.
    audit_id: String,
    codes: Vec<&'static str>,
    /// The accounts whose run could not be recorded, and why: the audit goes on, and exits 2
    /// at the end.
    pub failures: Vec<(String, trailseal_history::Error)>,
    pub recorded: Vec<i64>,
}

impl Recorder {
    pub fn open(
        path: Option<&Path>,
        keep: Option<u32>,
        source: String,
        codes: &[&'static str],
    ) -> anyhow::Result<Recorder> {
        let path = resolve(path)?;
        let history = History::open(&path).map_err(|e| UsageError(e.to_string()))?;
        Ok(Recorder {
            history,
            keep,
            source,
            audit_id: format!("{}-{}", trailseal_aws::now_rfc3339(), std::process::id()),
            codes: codes.to_vec(),
            failures: Vec::new(),
            recorded: Vec::new(),
        })
    }

    /// Records one account's run: the findings about it (its Regions, and its trails, also
    /// an organization trail of another account that its evidence holds).
    pub fn record(&mut self, account: &AccountEvidence, collected_at: &str, findings: &[Finding]) {
        let trails: std::collections::HashSet<&str> =
            account.trails.iter().map(|t| t.arn.as_str()).collect();
        let mine: Vec<Finding> = findings
            .iter()
            .filter(|f| f.account == account.account || trails.contains(f.resource.as_str()))
            .cloned()
            .collect();
        let run = NewRun {
            collected_at,
            recorded_at: &trailseal_aws::now_rfc3339(),
            tool_version: env!("CARGO_PKG_VERSION"),
            source: &self.source,
            audit_id: &self.audit_id,
            codes: &self.codes,
            evidence: account,
            findings: &mine,
        };
        match self.history.record(&run, self.keep) {
            Ok(id) => self.recorded.push(id),
            Err(e) => self.failures.push((account.account.clone(), e)),
        }
    }

    /// Says where the runs went (stderr, so that the report on stdout stays clean); an error
    /// while recording makes the run exit 2.
    pub fn finish(self, code: u8) -> u8 {
        if !self.recorded.is_empty() {
            let runs: Vec<String> = self.recorded.iter().map(i64::to_string).collect();
            eprintln!(
                "trailseal: recorded run{} {} in {} (`trailseal diff` shows what changed)",
                if runs.len() == 1 { "" } else { "s" },
                runs.join(", "),
                self.history.path().display()
            );
        }
        for (account, e) in &self.failures {
            eprintln!("trailseal: error: the run of account {account} was not recorded: {e}");
        }
        if self.failures.is_empty() {
            code
        } else {
            2
        }
    }
}

/// `trailseal history`: the runs, oldest first.
pub fn history(args: HistoryArgs) -> anyhow::Result<u8> {
    let path = resolve(args.history.as_deref())?;
    if let Some(id) = args.evidence {
        let history = History::open_existing(&path).map_err(|e| UsageError(e.to_string()))?;
        let run = history.run(id).map_err(|e| UsageError(e.to_string()))?;
        let evidence = trailseal_model::Evidence::of_account(
            &run.summary.tool_version,
            run.summary.collected_at,
            run.evidence,
        );
        crate::output::print_stdout(&(serde_json::to_string_pretty(&evidence)? + "\n"))?;
        return Ok(0);
    }
    let mut history = if args.keep.is_some() {
        History::open(&path)
    } else {
        History::open_existing(&path)
    }
    .map_err(|e| UsageError(e.to_string()))?;
    if let Some(keep) = args.keep {
        let deleted = history.keep(keep).map_err(|e| UsageError(e.to_string()))?;
        eprintln!(
            "trailseal: kept the newest {keep} runs of each account; deleted {deleted} older runs"
        );
    }
    let runs = history
        .list(args.account.as_deref())
        .map_err(|e| UsageError(e.to_string()))?;
    let text = match args.format.as_str() {
        "json" => {
            serde_json::to_string_pretty(&serde_json::json!({
                "schema": "trailseal.history/v1",
                "database": path.display().to_string(),
                "runs": runs,
            }))? + "\n"
        }
        _ => trailseal_history::render::runs(&runs),
    };
    crate::output::print_stdout(&text)?;
    Ok(0)
}

/// `trailseal diff [OLD] [NEW]`: no run: the last two runs of each account; one: that run and
/// the account's run before it; two: those two (of the same account).
pub fn diff(args: DiffArgs) -> anyhow::Result<u8> {
    let path = resolve(args.history.as_deref())?;
    let history = History::open_existing(&path).map_err(|e| UsageError(e.to_string()))?;
    let usage = |e: trailseal_history::Error| UsageError(e.to_string());
    let pairs: Vec<(Option<i64>, i64)> = match args.runs.as_slice() {
        [] => history.latest_pairs().map_err(usage)?,
        [one] => vec![(history.previous(*one).map_err(usage)?, *one)],
        [old, new] => vec![(Some(*old), *new)],
        _ => return Err(UsageError("diff takes at most two runs: OLD NEW".into()).into()),
    };
    if pairs.is_empty() {
        return Err(UsageError(format!(
            "{} holds no runs: `trailseal audit --history` records them",
            path.display()
        ))
        .into());
    }
    let mut diffs = Vec::new();
    let mut alone = Vec::new();
    for (old, new) in pairs {
        let new_run = history.run(new).map_err(usage)?;
        let Some(old) = old else {
            alone.push(new_run.summary);
            continue;
        };
        let old_run = history.run(old).map_err(usage)?;
        if old_run.summary.account != new_run.summary.account {
            return Err(UsageError(format!(
                "run {old} is of account {} and run {new} of account {}: compare two runs of \
                 one account",
                old_run.summary.account, new_run.summary.account
            ))
            .into());
        }
        diffs.push(trailseal_history::diff(&old_run, &new_run));
    }
    let regressions: usize = diffs.iter().map(|d| d.regressions()).sum();
    let changed = diffs.iter().any(|d| !d.is_empty());
    let text = match args.format.as_str() {
        "json" => {
            serde_json::to_string_pretty(&serde_json::json!({
                "schema": "trailseal.diff/v1",
                "database": path.display().to_string(),
                "regressions": regressions,
                "changed": changed,
                "diffs": diffs,
                "single_runs": alone,
            }))? + "\n"
        }
        _ => {
            let mut text = String::new();
            for d in &diffs {
                text += &trailseal_history::render::diff(d);
            }
            for r in &alone {
                text += &format!(
                    "Account {}: only one run ({}, {}); nothing to compare yet\n",
                    r.account, r.id, r.collected_at
                );
            }
            text
        }
    };
    crate::output::print_stdout(&text)?;
    let fail = (args.fail_on_regression && regressions > 0) || (args.fail_on_change && changed);
    Ok(u8::from(fail))
}

//! `trailseal merge REPORT...`: one report from several (the shards of an organization audit,
//! or audits of separate accounts), in any output format, with the exit code of the whole.

use std::collections::HashMap;
use std::path::Path;

use trailseal_model::Finding;

use crate::cli::MergeArgs;
use crate::documents::{other_document, Expect};
use crate::output::read_input;
use crate::UsageError;

pub fn run(args: MergeArgs) -> anyhow::Result<u8> {
    crate::output::refuse_overwriting_input(
        args.out.output.as_deref(),
        args.reports.iter().map(|p| p.as_path()),
    )?;
    let mut findings: Vec<Finding> = Vec::new();
    // Where each finding came from, by identity: the same finding twice is kept once.
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut inputs = Vec::new();
    let mut dropped = 0;
    for path in &args.reports {
        let (found, input) = read_report(path)?;
        inputs.push(serde_json::json!({
            "report": path.display().to_string(),
            "findings": found.len(),
            "input": input,
        }));
        for f in found {
            let id = identity(&f);
            match seen.get(&id) {
                Some(&first) => {
                    // Two reports disagree (audits at different times): the worse result is
                    // kept, never an old pass over a newer failure.
                    if findings[first] != f {
                        let keep_new = rank(f.status) > rank(findings[first].status);
                        eprintln!(
                            "trailseal: warning: {} {} of account {} differs between {} and {}; \
                             keeping the worse ({})",
                            f.code,
                            f.resource,
                            f.account,
                            args.reports[origin(&inputs, first)].display(),
                            path.display(),
                            if keep_new {
                                f.status
                            } else {
                                findings[first].status
                            }
                            .as_str()
                        );
                        if keep_new {
                            findings[first] = f;
                        }
                    }
                    dropped += 1;
                }
                None => {
                    seen.insert(id, findings.len());
                    findings.push(f);
                }
            }
        }
    }
    check_shards(&args.reports, &inputs)?;
    // merge's own mutelist decides: the reports' mutes are undone first (an entry that expired
    // since, or was removed, no longer mutes). Without --mutelist the reports' mutes stay.
    if args.filter.mutelist.is_some() {
        for f in &mut findings {
            if let Some(m) = f.muted.take() {
                f.status = m.status;
            }
        }
    }
    let all: Vec<&'static str> = trailseal_checks::catalogue().map(|c| c.code).collect();
    let codes = args.filter.codes(&all)?;
    // Input that was not read, and accounts that could not be read, are never filtered away.
    findings.retain(|f| {
        trailseal_checks::is_input_finding(f)
            || f.evidence.get("account_error").is_some()
            || codes.contains(&f.code.as_str())
    });
    if dropped > 0 {
        eprintln!(
            "trailseal: note: {dropped} finding(s) appeared in more than one report, kept once"
        );
    }
    let accounts: std::collections::BTreeSet<&str> =
        findings.iter().map(|f| f.account.as_str()).collect();
    let by_account = accounts.len() > 1;
    let outputs = crate::output::account_outputs(&args.out, &args.filter, "merged", by_account)?;
    let input = serde_json::json!({ "merged": inputs });
    let header = format!(
        "Merged {} report(s): {} finding(s) of {} account(s), collected {}\n\n",
        args.reports.len(),
        findings.len(),
        accounts.len(),
        trailseal_aws::now_rfc3339()
    );
    let (code, _) =
        crate::output::write_all(outputs, &args.out, &args.filter, &findings, &input, &header)?;
    Ok(code)
}

/// The report a kept finding came from: the index of the input whose findings include it.
fn origin(inputs: &[serde_json::Value], index: usize) -> usize {
    let mut total = 0;
    for (i, input) in inputs.iter().enumerate() {
        total += input["findings"].as_u64().unwrap_or(0) as usize;
        if index < total {
            return i;
        }
    }
    inputs.len().saturating_sub(1)
}

/// What makes a finding the same finding in two reports.
fn identity(f: &Finding) -> String {
    format!(
        "{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}\u{1}{}",
        f.code,
        f.account,
        f.region,
        f.resource,
        f.file.as_deref().unwrap_or(""),
        f.line.unwrap_or(0)
    )
}

/// The findings (and the `input` section) of a `--format json` report, or of JSON Lines.
fn read_report(path: &Path) -> anyhow::Result<(Vec<Finding>, serde_json::Value)> {
    let file = path.display().to_string();
    let text = read_input(path)?;
    let expected = "expected a trailseal report: `trailseal audit --format json` (or --format \
                    jsonl) writes one";
    if let Some(what) = other_document(&text, Expect::Report) {
        return Err(UsageError(format!(
            "{file} is {what}, not a trailseal JSON report; {expected}"
        ))
        .into());
    }
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(UsageError(format!("{file} is empty; {expected}")).into());
    }
    #[derive(serde::Deserialize)]
    struct Report {
        schema: String,
        findings: Vec<Finding>,
        #[serde(default)]
        input: serde_json::Value,
    }
    // A whole JSON document (a report), unless it is a single finding (JSON Lines of one line).
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        if value.get("code").is_none() {
            if value.get("schema").is_none() {
                return Err(
                    UsageError(format!("{file} is not a trailseal report; {expected}")).into(),
                );
            }
            let report: Report = serde_json::from_value(value).map_err(|e| {
                UsageError(format!("{file} is not a trailseal report: {e}; {expected}"))
            })?;
            if report.schema != trailseal_report::SCHEMA {
                return Err(UsageError(format!(
                    "{file} has schema {:?}; this trailseal merges {}",
                    report.schema,
                    trailseal_report::SCHEMA
                ))
                .into());
            }
            return Ok((report.findings, report.input));
        }
    }
    // JSON Lines: every line a finding, then the end record with their number.
    let mut out = Vec::new();
    let mut end: Option<serde_json::Value> = None;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| {
            UsageError(format!(
                "{file}, line {}: not JSON ({e}); {expected}",
                i + 1
            ))
        })?;
        if end.is_some() {
            return Err(UsageError(format!(
                "{file}, line {}: a line after the end record; {expected}",
                i + 1
            ))
            .into());
        }
        if value.get("end").is_some() {
            end = Some(value);
            continue;
        }
        let f: Finding = serde_json::from_value(value).map_err(|e| {
            UsageError(format!(
                "{file}, line {}: not a trailseal finding ({e}); {expected}",
                i + 1
            ))
        })?;
        out.push(f);
    }
    let Some(end) = end else {
        return Err(UsageError(format!(
            "{file} has no end record: the JSON Lines report was cut off (the run was stopped \
             or the file truncated); audit again"
        ))
        .into());
    };
    if end["end"] != trailseal_report::SCHEMA || end["findings"].as_u64() != Some(out.len() as u64)
    {
        return Err(UsageError(format!(
            "{file}: its end record says {} finding(s) of {}, the file holds {}: not a whole report",
            end["findings"],
            end["end"],
            out.len()
        ))
        .into());
    }
    // The end record carries what was evaluated (the shard among it).
    let input = match end.get("input") {
        Some(input) if !input.is_null() => input.clone(),
        _ => serde_json::json!({"format": "jsonl"}),
    };
    Ok((out, input))
}

/// How bad a status is, to keep the worse of two disagreeing findings.
fn rank(status: trailseal_model::Status) -> u8 {
    use trailseal_model::Status;
    match status {
        Status::Pass => 0,
        Status::Skipped | Status::Muted => 1,
        Status::Indeterminate => 2,
        Status::Error => 3,
        Status::Fail => 4,
    }
}

/// Shards of one organization audit must all be there: a merge of some of them would report
/// the accounts of the others as if they did not exist.
fn check_shards(
    paths: &[std::path::PathBuf],
    inputs: &[serde_json::Value],
) -> Result<(), UsageError> {
    let mut by_count: std::collections::BTreeMap<u32, std::collections::BTreeSet<u32>> =
        std::collections::BTreeMap::new();
    for (path, input) in paths.iter().zip(inputs) {
        let Some(shard) = input["input"]["shard"].as_str() else {
            continue;
        };
        let parsed = shard
            .split_once('/')
            .and_then(|(i, n)| Some((i.parse::<u32>().ok()?, n.parse::<u32>().ok()?)));
        let Some((i, n)) = parsed else {
            return Err(UsageError(format!(
                "{}: its input names shard {shard:?}, which is not I/N",
                path.display()
            )));
        };
        if !by_count.entry(n).or_default().insert(i) {
            return Err(UsageError(format!(
                "shard {i}/{n} is given twice (the second is {})",
                path.display()
            )));
        }
    }
    if by_count.len() > 1 {
        return Err(UsageError(format!(
            "the reports are shards of different splits ({}): merge the shards of one run",
            by_count
                .keys()
                .map(|n| format!("of {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for (n, got) in by_count {
        let missing: Vec<String> = (1..=n)
            .filter(|i| !got.contains(i))
            .map(|i| format!("{i}/{n}"))
            .collect();
        if !missing.is_empty() {
            return Err(UsageError(format!(
                "shard(s) {} missing: a merge of some shards would leave their accounts out; \
                 give every shard's report",
                missing.join(", ")
            )));
        }
    }
    Ok(())
}

//! # trailseal-report
//!
//! Renderers for findings: the JSON contract of ../shared/PRODUCT.md (`trailseal.audit/v1`)
//! and a human text format grouped by resource (what is wrong, why it matters, the fix).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{json, Value};
use trailseal_model::{Finding, Status, Summary};

pub const SCHEMA: &str = "trailseal.audit/v1";

/// The codes that must all pass for a trail to be compliant.
pub const COMPLIANCE_CODES: &[&str] = &["TS001", "TS002", "TS003", "TS004", "TS005", "TS006"];

/// A trail's compliance verdict: present only when every code of [`COMPLIANCE_CODES`] was
/// evaluated for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailVerdict {
    pub arn: String,
    pub compliant: bool,
    /// Codes among TS001-TS006 that did not pass.
    pub failing: Vec<String>,
}

pub fn trail_verdicts(findings: &[Finding]) -> Vec<TrailVerdict> {
    let mut by_trail: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings
        .iter()
        .filter(|f| f.resource.starts_with("arn:") && f.resource.contains(":trail/"))
    {
        by_trail.entry(f.resource.as_str()).or_default().push(f);
    }
    by_trail
        .into_iter()
        .filter(|(_, fs)| {
            COMPLIANCE_CODES
                .iter()
                .all(|c| fs.iter().any(|f| f.code == *c))
        })
        .map(|(arn, fs)| {
            let failing: Vec<String> = fs
                .iter()
                .filter(|f| COMPLIANCE_CODES.contains(&f.code.as_str()) && f.status != Status::Pass)
                .map(|f| f.code.clone())
                .collect();
            TrailVerdict {
                arn: arn.to_owned(),
                compliant: failing.is_empty(),
                failing,
            }
        })
        .collect()
}

/// The `--format json` document.
pub fn json_report(findings: &[Finding], tool_version: &str) -> Value {
    json!({
        "schema": SCHEMA,
        "tool": {"name": "trailseal", "version": tool_version},
        "findings": findings,
        "trails": trail_verdicts(findings),
        "summary": Summary::of(findings),
    })
}

/// Text rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (only on a terminal, never with --no-color).
    pub color: bool,
    /// Show passing findings in full (otherwise one line each).
    pub verbose: bool,
}

fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

fn status_label(status: Status, color: bool) -> String {
    let (text, code) = match status {
        Status::Pass => ("PASS ", "32"),
        Status::Fail => ("FAIL ", "31;1"),
        Status::Error => ("ERROR", "35;1"),
        Status::Indeterminate => ("INDET", "33;1"),
        Status::Skipped => ("SKIP ", "2"),
    };
    paint(color, code, text)
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Human text, grouped by resource, failing findings first within each resource.
pub fn text_report(findings: &[Finding], opts: TextOptions) -> String {
    let mut out = String::new();
    let mut groups: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups.entry(f.resource.as_str()).or_default().push(f);
    }
    for (resource, mut fs) in groups {
        fs.sort_by_key(|f| {
            (
                f.status == Status::Pass || f.status == Status::Skipped,
                f.code.clone(),
            )
        });
        let first = fs[0];
        let location = match (&first.file, first.line) {
            (Some(file), Some(line)) => format!("{file}:{line}"),
            (Some(file), None) => file.clone(),
            _ => format!("account {}, {}", first.account, first.region),
        };
        out += &format!("{} ({location})\n", paint(opts.color, "1", resource));
        for f in fs {
            out += &format!(
                "  {} {} {} [{}]\n",
                status_label(f.status, opts.color),
                f.code,
                f.name,
                f.severity.as_str()
            );
            let quiet = matches!(f.status, Status::Pass | Status::Skipped) && !opts.verbose;
            out += &format!("{}\n", indent(&f.message, "        "));
            if quiet {
                continue;
            }
            if let Some(check) = trailseal_checks::find(&f.code) {
                let why = check.info.section("Why it matters");
                if !why.is_empty() {
                    out += &format!("        {} {why}\n", paint(opts.color, "1", "why:"));
                }
            }
            out += &format!(
                "        {}\n{}\n",
                paint(opts.color, "1", "fix:"),
                indent(&f.remediation, "          ")
            );
            if let Some(lines) = f.evidence.get("explanation").and_then(Value::as_array) {
                out += &format!(
                    "        {}\n",
                    paint(opts.color, "1", "how the key policy was evaluated:")
                );
                for l in lines.iter().filter_map(Value::as_str) {
                    out += &format!("          {l}\n");
                }
            }
        }
        out.push('\n');
    }
    let s = Summary::of(findings);
    out += &format!(
        "Summary: {} pass, {} fail, {} error, {} indeterminate, {} skipped\n",
        s.pass, s.fail, s.error, s.indeterminate, s.skipped
    );
    out
}

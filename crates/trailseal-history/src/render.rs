//! Text renderings of `trailseal history` and `trailseal diff` (JSON is the types' serde form).

use std::fmt::Write;

use serde_json::Value;

use crate::diff::{FindingChange, Kind, RunDiff};
use crate::store::RunSummary;

/// The table of runs.
pub fn runs(runs: &[RunSummary]) -> String {
    let mut out = String::new();
    if runs.is_empty() {
        out.push_str("No runs recorded yet: `trailseal audit --history` records one.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:>5}  {:<20}  {:<12}  {:>6}  {:>9}  {:>5}  {:>5}  {:>5}  {:>5}  {:<8}  source",
        "run",
        "collected",
        "account",
        "trails",
        "compliant",
        "pass",
        "fail",
        "error",
        "indet",
        "version"
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{:>5}  {:<20}  {:<12}  {:>6}  {:>9}  {:>5}  {:>5}  {:>5}  {:>5}  {:<8}  {}",
            r.id,
            r.collected_at,
            r.account,
            r.trails,
            r.compliant_trails,
            r.pass,
            r.fail,
            r.error,
            r.indeterminate,
            r.tool_version,
            r.source
        );
    }
    out
}

fn status(s: Option<trailseal_model::Status>) -> &'static str {
    s.map(|s| s.as_str()).unwrap_or("absent")
}

fn finding_line(out: &mut String, indent: &str, f: &FindingChange) {
    let _ = writeln!(
        out,
        "{indent}{} {} {} -> {}  {}",
        f.code,
        f.resource,
        status(f.old),
        status(f.new),
        f.message
    );
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One account's diff, for a terminal or a mail.
pub fn diff(d: &RunDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Account {}: run {} ({}) -> run {} ({})",
        d.account, d.old.id, d.old.collected_at, d.new.id, d.new.collected_at
    );
    if d.is_empty() {
        out.push_str("  No change.\n");
        return out;
    }
    let _ = writeln!(
        out,
        "  {} regression{}, {} improvement{}",
        d.regressions(),
        if d.regressions() == 1 { "" } else { "s" },
        d.improvements(),
        if d.improvements() == 1 { "" } else { "s" },
    );
    for arn in &d.trails_added {
        let _ = writeln!(out, "  Trail added: {arn}");
    }
    for s in &d.scope {
        let _ = writeln!(out, "  Looked differently: {s}");
    }
    for arn in &d.trails_removed {
        let compliant = if d.compliant_trails_removed.contains(arn) {
            " (it was compliant: a regression)"
        } else {
            ""
        };
        let _ = writeln!(out, "  Trail removed: {arn}{compliant}");
    }
    for arn in &d.trails_not_read {
        let _ = writeln!(
            out,
            "  Trail not read this time (its Region was not read): {arn}"
        );
    }
    for t in &d.trails_changed {
        let _ = writeln!(out, "  Trail changed: {}", t.arn);
        for c in &t.changes {
            let _ = writeln!(out, "    {}: {} -> {}", c.field, show(&c.old), show(&c.new));
        }
    }
    for k in &d.keys {
        let _ = writeln!(out, "  Key {}: {}", k.what, k.arn);
        for c in &k.changes {
            let _ = writeln!(out, "    {}: {} -> {}", c.field, show(&c.old), show(&c.new));
        }
        if let Some(p) = &k.policy {
            for s in &p.added {
                let _ = writeln!(out, "    policy statement added: {s}");
            }
            for s in &p.removed {
                let _ = writeln!(out, "    policy statement removed: {s}");
            }
            for s in &p.changed {
                let _ = writeln!(out, "    policy statement {:?} changed:", s.sid);
                let _ = writeln!(out, "      was: {}", s.old);
                let _ = writeln!(out, "      now: {}", s.new);
            }
            for line in &p.document {
                let _ = writeln!(out, "    policy {line}");
            }
            if let Some((old, new)) = &p.text {
                let _ = writeln!(
                    out,
                    "    policy text changed:\n      was: {old}\n      now: {new}"
                );
            }
        }
        for g in &k.grants_added {
            let _ = writeln!(out, "    grant added: {g}");
        }
        for g in &k.grants_removed {
            let _ = writeln!(out, "    grant removed: {g}");
        }
        if !k.effect.is_empty() {
            out.push_str("    effect on the trails using it:\n");
            for f in &k.effect {
                finding_line(&mut out, "      ", f);
            }
        }
    }
    for (kind, heading) in [
        (Kind::New, "New and not passing"),
        (Kind::Worse, "Worse"),
        (
            Kind::Unverified,
            "Not verified this time (the run did not look: not a pass)",
        ),
        (Kind::Changed, "Changed"),
        (Kind::Better, "Better"),
        (Kind::Gone, "Gone with their resource (were not passing)"),
    ] {
        let of: Vec<&FindingChange> = d.findings.iter().filter(|f| f.kind == kind).collect();
        if of.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {heading}:");
        for f in of {
            finding_line(&mut out, "    ", f);
        }
    }
    out
}

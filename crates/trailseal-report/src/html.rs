//! `--format html`: one self-contained page for people who will not read JSON: no network, no
//! external assets (inline CSS and script; the findings are HTML, readable without the script
//! and printable). A summary (counts, compliant and non-compliant trails, accounts), then the
//! resources worst first, each finding with its message, why it matters, the fix and the
//! key-policy evaluation trace; filters by status, severity, check, account and Region.
//! Checked in a headless browser (Debian's chromium) in the test suite: no console errors, no
//! network requests, the filters work, at phone and desktop widths.

use std::collections::BTreeMap;

use serde_json::Value;
use trailseal_model::{Finding, Status};

use crate::junit::escape;
use crate::{block_key, BlockKey, Tally};

fn status_class(s: Status) -> &'static str {
    s.as_str()
}

/// One finding as an `<article>` with its filter attributes.
fn article(f: &Finding) -> String {
    let mut out = format!(
        "<article class=\"finding {status}\" data-status=\"{status}\" data-severity=\"{sev}\" \
         data-check=\"{code}\" data-account=\"{account}\" data-region=\"{region}\">\n\
         <h3><span class=\"badge {status}\">{status}</span> {code} {name} <span \
         class=\"sev\">{sev}</span></h3>\n<p class=\"message\">{message}</p>\n",
        status = status_class(f.status),
        sev = f.severity.as_str(),
        code = escape(&f.code),
        name = escape(&f.name),
        account = escape(&f.account),
        region = escape(&f.region),
        message = escape(&f.message),
    );
    if let Some(m) = &f.muted {
        out += &format!(
            "<p class=\"muted-reason\">Muted (was {}): {}{}</p>\n",
            m.status.as_str(),
            escape(&m.reason),
            m.expires
                .as_deref()
                .map(|d| format!(", until {}", escape(d)))
                .unwrap_or_default()
        );
    }
    let problem = matches!(
        f.status,
        Status::Fail | Status::Error | Status::Indeterminate | Status::Muted
    );
    if problem {
        out += "<details><summary>Why it matters, how to fix it</summary>\n";
        if let Some(check) = trailseal_checks::find(&f.code) {
            let why = check.info.section("Why it matters");
            if !why.is_empty() {
                out += &format!("<p><strong>Why:</strong> {}</p>\n", escape(&why));
            }
        }
        out += &format!(
            "<p><strong>Fix:</strong></p><pre>{}</pre>\n",
            escape(&f.remediation)
        );
        if let Some(lines) = f.evidence.get("explanation").and_then(Value::as_array) {
            out += "<p><strong>How the key policy was evaluated:</strong></p><pre>";
            for l in lines.iter().filter_map(Value::as_str) {
                out += &escape(l);
                out.push('\n');
            }
            out += "</pre>\n";
        }
        if !f.compliance.is_empty() {
            out += &format!(
                "<p class=\"compliance\">{}</p>\n",
                escape(&f.compliance.join(" · "))
            );
        }
        out += "</details>\n";
    }
    out += "</article>\n";
    out
}

/// The block of each resource, with its place in the report (as the text report's).
pub(crate) fn blocks(findings: &[Finding], by_account: bool) -> Vec<(BlockKey, String)> {
    let mut groups: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in findings {
        groups
            .entry((f.file.as_deref().unwrap_or(""), f.resource.as_str()))
            .or_default()
            .push(f);
    }
    let verdicts: BTreeMap<String, crate::TrailVerdict> = crate::trail_verdicts(findings)
        .into_iter()
        .map(|v| (v.arn.clone(), v))
        .collect();
    groups
        .into_iter()
        .map(|((file, resource), mut fs)| {
            let mut key = block_key(file, resource, &fs);
            if by_account {
                key.0 = fs[0].account.clone();
            }
            fs.sort_by_key(|f| (f.status == Status::Pass, f.code.clone()));
            let location = crate::location(fs[0]);
            let verdict = match verdicts.get(resource) {
                Some(v) if v.compliant => " <span class=\"verdict ok\">compliant</span>".to_owned(),
                Some(v) => format!(
                    " <span class=\"verdict bad\">not compliant ({})</span>",
                    escape(&v.failing.join(", "))
                ),
                None => String::new(),
            };
            let mut out = format!(
                "<section class=\"resource\">\n<h2>{}{verdict}</h2>\n<p class=\"where\">{}</p>\n",
                escape(resource),
                escape(&location)
            );
            for f in fs {
                out += &article(f);
            }
            out += "</section>\n";
            (key, out)
        })
        .collect()
}

/// The page up to the findings: title, what was evaluated, the summary and the filters.
pub(crate) fn head(header: &str, tally: &Tally) -> String {
    let s = &tally.summary;
    let mut out = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"trailseal\">\n\
         <title>trailseal report</title>\n<style>\n",
    );
    out += STYLE;
    out += "</style>\n</head>\n<body>\n<header>\n<h1>trailseal report</h1>\n";
    for line in header.lines().filter(|l| !l.trim().is_empty()) {
        out += &format!("<p>{}</p>\n", escape(line));
    }
    out += "</header>\n<section id=\"summary\">\n<h2>Summary</h2>\n<ul class=\"counts\">\n";
    for (name, n) in [
        ("fail", s.fail),
        ("error", s.error),
        ("indeterminate", s.indeterminate),
        ("muted", s.muted),
        ("skipped", s.skipped),
        ("pass", s.pass),
    ] {
        out += &format!("<li class=\"{name}\"><strong>{n}</strong> {name}</li>\n");
    }
    out += "</ul>\n";
    if !tally.verdicts.is_empty() {
        let (ok, bad): (Vec<_>, Vec<_>) = tally.verdicts.iter().partition(|v| v.compliant);
        out += &format!(
            "<p>Trails: <strong>{}</strong> compliant, <strong>{}</strong> not compliant \
             ({}).</p>\n",
            ok.len(),
            bad.len(),
            escape(&crate::compliant_scope())
        );
        if !bad.is_empty() {
            out += "<details open><summary>Not compliant</summary><ul>\n";
            for v in &bad {
                out += &format!(
                    "<li>{} <span class=\"sev\">{}</span></li>\n",
                    escape(&v.arn),
                    escape(&v.failing.join(", "))
                );
            }
            out += "</ul></details>\n";
        }
        if !ok.is_empty() {
            out += "<details><summary>Compliant</summary><ul>\n";
            for v in &ok {
                out += &format!("<li>{}</li>\n", escape(&v.arn));
            }
            out += "</ul></details>\n";
        }
    }
    let accounts = tally.account_verdicts();
    if accounts.len() > 1 {
        out += "<details><summary>Accounts</summary><ul>\n";
        for a in &accounts {
            let state = match a.compliant {
                Some(true) => "compliant".to_owned(),
                Some(false) => format!("not compliant: {}", a.why.join("; ")),
                None => format!("not decided: {}", a.why.join("; ")),
            };
            out += &format!("<li>{}: {}</li>\n", escape(&a.account), escape(&state));
        }
        out += "</ul></details>\n";
    }
    out += "</section>\n<form id=\"filters\" aria-label=\"Filters\">\n";
    for (id, label) in [
        ("status", "Status"),
        ("severity", "Severity"),
        ("check", "Check"),
        ("account", "Account"),
        ("region", "Region"),
    ] {
        out += &format!(
            "<label>{label} <select id=\"f-{id}\" data-filter=\"{id}\"><option value=\"\">all</option></select></label>\n"
        );
    }
    out += "<output id=\"shown\"></output>\n</form>\n<main id=\"findings\">\n";
    out
}

/// The heading of an account's resources.
pub(crate) fn account_heading(account: &str) -> String {
    format!("<h2 class=\"account\">Account {}</h2>\n", escape(account))
}

/// The end of the page: the filter script.
pub(crate) const TAIL: &str = concat!(
    "</main>\n<script>\n",
    include_str!("html_filters.js"),
    "</script>\n</body>\n</html>\n"
);

const STYLE: &str = include_str!("html_style.css");

//! # trailseal-report
//!
//! Renderers for findings: the JSON contract of ../shared/PRODUCT.md (`trailseal.audit/v1`)
//! and a human text format grouped by resource (what is wrong, why it matters, the fix).

pub mod asff;
pub mod csv;
mod html;
mod junit;
pub mod mutelist;
pub mod ocsf;
mod pretty;
mod reports;
mod sarif;
mod stream;
mod tally;

use std::collections::{BTreeMap, HashMap};
// Writing to a String cannot fail (`let _ = write!(..)`).
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{json, Value};
use trailseal_model::{Finding, Severity, Status, Summary};

pub use reports::{RenderedSet, Reports};
pub use sarif::sarif_report;
pub use stream::{write_report, Rendered, Renderer, ReportWriter, Style};
pub use tally::{AccountTally, AccountVerdict, Tally};

pub const SCHEMA: &str = "trailseal.audit/v1";

/// The mark of a JUnit report trailseal wrote (after the XML declaration): `-o` replaces such a
/// file, and no other.
pub const WRITTEN_BY_XML: &str = "<!-- written by trailseal -->";
/// The mark of an HTML report trailseal wrote.
pub const WRITTEN_BY_HTML: &str = "<meta name=\"generator\" content=\"trailseal\">";

/// A trail's compliance verdict: present only when every code of the catalogue's "compliant"
/// set (`trailseal_checks::compliant_codes`, TS001-TS006) was evaluated for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrailVerdict {
    pub arn: String,
    pub compliant: bool,
    /// Codes among TS001-TS006 that did not pass.
    pub failing: Vec<String>,
}

pub fn trail_verdicts(findings: &[Finding]) -> Vec<TrailVerdict> {
    verdicts_of(findings.iter())
}

fn verdicts_of<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<TrailVerdict> {
    let compliance_codes = trailseal_checks::compliant_codes();
    let mut by_trail: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in findings.filter(|f| f.resource.starts_with("arn:") && f.resource.contains(":trail/")) {
        by_trail.entry(f.resource.as_str()).or_default().push(f);
    }
    by_trail
        .into_iter()
        .filter(|(_, fs)| {
            compliance_codes
                .iter()
                .all(|c| fs.iter().any(|f| f.code == *c))
        })
        .map(|(arn, fs)| {
            let failing: Vec<String> = fs
                .iter()
                .filter(|f| compliance_codes.contains(&f.code.as_str()) && f.status != Status::Pass)
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

/// The `--format json` document, borrowing the findings: serialize it directly (no
/// intermediate `Value` tree of every finding) with [`JsonReport::to_string_pretty`].
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    pub schema: &'static str,
    pub tool: Value,
    pub findings: &'a [Finding],
    pub trails: Vec<TrailVerdict>,
    pub summary: Summary,
    /// What was evaluated (evidence file, live account, scanned paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
}

impl<'a> JsonReport<'a> {
    pub fn new(findings: &'a [Finding], tool_version: &str, input: Option<Value>) -> Self {
        JsonReport {
            schema: SCHEMA,
            tool: json!({"name": "trailseal", "version": tool_version}),
            findings,
            trails: trail_verdicts(findings),
            summary: Summary::of(findings),
            input,
        }
    }

    pub fn to_string_pretty(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self).map(|s| s + "\n")
    }
}

/// The `--format json` document as a value.
pub fn json_report(findings: &[Finding], tool_version: &str) -> Value {
    serde_json::to_value(JsonReport::new(findings, tool_version, None)).unwrap_or(Value::Null)
}

/// Text rendering options.
#[derive(Debug, Clone, Copy, Default)]
pub struct TextOptions {
    /// ANSI colours (only on a terminal, never with --no-color).
    pub color: bool,
    /// Show passing and skipped findings in full, like problems (why, fix, evaluation).
    pub verbose: bool,
    /// Fold the passing checks of a resource into one line of codes (the audit, with many
    /// resources). Otherwise each passing check keeps its line and message (policy check).
    pub compact: bool,
    /// Under a resource with problems, the first lines of its definition in its file
    /// (infrastructure as code: `trailseal scan`).
    pub snippets: bool,
    /// Only resources with problems (and the summary): `--quiet`.
    pub quiet: bool,
    /// Several accounts (an organization audit): resources grouped under a heading per
    /// account, worst first within each.
    pub by_account: bool,
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
        Status::Muted => ("MUTED", "2;33"),
    };
    paint(color, code, text)
}

/// Appends `text` with `prefix` before each of its lines (no line break after the last).
fn push_indented(out: &mut String, text: &str, prefix: &str) {
    for (i, line) in text.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(prefix);
        out.push_str(line);
    }
}

/// A check's "Why it matters", read from its documentation once per run: the text report
/// prints it under every problem, and reading it means going through the check's source text
/// (a third of the text report's cost when it was read for every finding).
fn why_it_matters(code: &str) -> Option<&'static str> {
    static WHY: std::sync::LazyLock<Vec<(&'static str, String)>> = std::sync::LazyLock::new(|| {
        trailseal_checks::registry()
            .iter()
            .map(|c| (c.info.code, c.info.section("Why it matters")))
            .collect()
    });
    // Codes compare as `trailseal_checks::find` compares them (a merged report's findings
    // come from files).
    WHY.iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, why)| why.as_str())
}

fn is_problem(f: &Finding) -> bool {
    matches!(
        f.status,
        Status::Fail | Status::Error | Status::Indeterminate
    )
}

/// Where a resource's text block goes in the report: by account when the report groups by
/// account (else the first element is empty), then worst first (real failures before errors,
/// by highest severity, then more problems), then by file and resource.
pub type BlockKey = (
    String,
    std::cmp::Reverse<Option<Severity>>,
    std::cmp::Reverse<Option<Severity>>,
    std::cmp::Reverse<usize>,
    String,
    String,
);

/// Human text, grouped by resource. Resources with problems come first (worst severity
/// first); each problem is shown with its message, why it matters, the fix and, for key policy
/// checks, how the policy was evaluated. Passing and skipped findings take one line each (all
/// of them in full with `verbose`); a resource with no problem takes two lines. Trails carry
/// their verdict (compliant = TS001-TS006 pass).
pub fn text_report(findings: &[Finding], opts: TextOptions) -> String {
    let mut blocks = text_blocks(findings, opts);
    blocks.sort_by(|a, b| a.0.cmp(&b.0));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (_, text) in blocks {
        drop_repeated_why(text.as_bytes(), &mut seen, &mut out);
    }
    // Whole lines of UTF-8 text were copied.
    let mut out = String::from_utf8(out)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    out += &text_footer(&Tally::of(findings));
    out
}

/// The last lines of the text report: trail verdicts and the summary.
pub fn text_footer(tally: &Tally) -> String {
    let mut out = String::new();
    if !tally.verdicts.is_empty() {
        let compliant = tally.verdicts.iter().filter(|v| v.compliant).count();
        out += &format!(
            "Trails: {} compliant, {} not compliant ({})\n",
            compliant,
            tally.verdicts.len() - compliant,
            compliant_scope()
        );
    }
    let accounts = tally.account_verdicts();
    if accounts.len() > 1 {
        let count = |v: Option<bool>| accounts.iter().filter(|a| a.compliant == v).count();
        let undecided = match count(None) {
            0 => String::new(),
            n => format!(", {n} not decided"),
        };
        out += &format!(
            "Accounts: {} compliant, {} not compliant{undecided} (compliant: every trail logging \
             the account compliant, every Region covered)\n",
            count(Some(true)),
            count(Some(false)),
        );
    }
    let s = &tally.summary;
    out += &format!(
        "Summary: {} pass, {} fail, {} error, {} indeterminate, {} skipped{}\n",
        s.pass,
        s.fail,
        s.error,
        s.indeterminate,
        s.skipped,
        if s.muted > 0 {
            format!(
                ", {} muted (accepted in the mutelist; they do not fail the run)",
                s.muted
            )
        } else {
            String::new()
        }
    );
    let by_severity: Vec<String> = ["info", "low", "medium", "high", "critical"]
        .iter()
        .zip(tally.problems_by_severity)
        .rev()
        .filter(|(_, n)| *n > 0)
        .map(|(name, n)| format!("{n} {name}"))
        .collect();
    if !by_severity.is_empty() {
        out += &format!(
            "Problems by severity: {} (fail, error and indeterminate)\n",
            by_severity.join(", ")
        );
    }
    out
}

/// What "compliant" covers, said wherever the word is printed: "encryption, TS001-TS006".
pub fn compliant_scope() -> String {
    let codes = trailseal_checks::compliant_codes();
    match (codes.first(), codes.last()) {
        (Some(first), Some(last)) => format!("encryption, {first}-{last}"),
        _ => "encryption".to_owned(),
    }
}

/// The text block of each resource (file and resource) of `findings`, with its place in the
/// report. All the findings of a resource must be in `findings`.
pub fn text_blocks(findings: &[Finding], opts: TextOptions) -> Vec<(BlockKey, String)> {
    let (merged, findings) = merge_regional(findings);
    // Grouped by file too: two templates may use the same logical id.
    let mut groups: BTreeMap<(&str, &str), Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().copied().chain(merged.iter()) {
        groups
            .entry((f.file.as_deref().unwrap_or(""), f.resource.as_str()))
            .or_default()
            .push(f);
    }
    // Merged findings are about Regions, never trails.
    let verdicts: BTreeMap<String, TrailVerdict> = verdicts_of(findings.iter().copied())
        .into_iter()
        .map(|v| (v.arn.clone(), v))
        .collect();
    // Source files for the snippets, each read once.
    let mut sources = HashMap::new();
    groups
        .into_iter()
        // --quiet keeps problems, and notes about input that was not evaluated (TS000 skipped).
        .filter(|(_, fs)| {
            !opts.quiet
                || fs
                    .iter()
                    .any(|f| is_problem(f) || trailseal_checks::is_input_finding(f))
        })
        .map(|((file, resource), fs)| {
            let mut key = block_key(file, resource, &fs);
            if opts.by_account {
                key.0 = fs[0].account.clone();
            }
            let block = text_block(resource, fs, verdicts.get(resource), opts, &mut sources);
            (key, block)
        })
        .collect()
}

/// Identical problems of several Regions of an account (the same check, status, message and fix
/// but for the Region's name: the same call failing in every Region) become one finding whose
/// resource lists the Regions; the others are returned as they are.
fn merge_regional(findings: &[Finding]) -> (Vec<Finding>, Vec<&Finding>) {
    let regional = |f: &Finding| {
        is_problem(f)
            && f.file.is_none()
            && !f.region.is_empty()
            && f.resource.ends_with(':')
            && f.resource.contains(&format!(":{}:", f.region))
    };
    let key = |f: &Finding| {
        (
            f.account.clone(),
            f.code.clone(),
            f.status.as_str(),
            f.message.replace(&f.region, "<Region>"),
            f.remediation.replace(&f.region, "<Region>"),
        )
    };
    let mut groups: BTreeMap<_, Vec<&Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| regional(f)) {
        groups.entry(key(f)).or_default().push(f);
    }
    let mut merged = Vec::new();
    let mut kept: Vec<&Finding> = Vec::new();
    for f in findings {
        if !regional(f) || groups.get(&key(f)).is_none_or(|g| g.len() < 2) {
            kept.push(f);
        }
    }
    for ((_, _, _, message, remediation), group) in groups.into_iter().filter(|(_, g)| g.len() >= 2)
    {
        let mut regions: Vec<&str> = group.iter().map(|f| f.region.as_str()).collect();
        regions.sort_unstable();
        let mut f = group[0].clone();
        f.resource = format!("{} Regions ({})", regions.len(), regions.join(", "));
        f.region = String::new();
        f.message = message.replace("<Region>", "each of these Regions");
        f.remediation = remediation.replace("<Region>", "each of these Regions");
        merged.push(f);
    }
    (merged, kept)
}

/// Whether `line` (indentation trimmed as `str::trim_start` trims it) is a "why" line.
fn is_why_line(line: &[u8]) -> bool {
    let why = |t: &[u8]| t.starts_with(b"why: ") || t.starts_with(b"\x1b[1mwhy:");
    let start = line
        .iter()
        .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0C))
        .unwrap_or(line.len());
    match line.get(start) {
        // Other whitespace (vertical tab, Unicode) may follow: trimmed as text.
        Some(&b) if b >= 0x80 || b == 0x0B => {
            std::str::from_utf8(line).is_ok_and(|s| why(s.trim_start().as_bytes()))
        }
        _ => why(line.get(start..).unwrap_or_default()),
    }
}

/// A check's "why it matters" is the same text every time: in a report it is printed the first
/// time only. Appends `block` to `out` without the "why" lines already in `seen` (blocks are
/// passed in report order; `seen` holds the "why" lines so far). Bytes, not text: whole lines
/// are copied, so UTF-8 stays UTF-8, and a report's blocks need no validation on the way out.
pub fn drop_repeated_why(
    block: &[u8],
    seen: &mut std::collections::HashSet<Vec<u8>>,
    out: &mut Vec<u8>,
) {
    out.reserve(block.len());
    // Only lines holding "why:" can go; the text between them is copied as it is.
    let (mut copied, mut checked) = (0, 0);
    for at in memchr::memmem::find_iter(block, b"why:") {
        let start = memchr::memrchr(b'\n', &block[..at]).map_or(0, |i| i + 1);
        if start < checked {
            continue; // another "why:" in a line already looked at
        }
        let end = memchr::memchr(b'\n', &block[at..]).map_or(block.len(), |i| at + i + 1);
        checked = end;
        let line = &block[start..end];
        if !is_why_line(line) {
            continue;
        }
        if seen.contains(line) {
            out.extend_from_slice(&block[copied..start]);
            copied = end;
        } else {
            seen.insert(line.to_vec());
        }
    }
    out.extend_from_slice(&block[copied..]);
}

pub(crate) fn block_key(file: &str, resource: &str, fs: &[&Finding]) -> BlockKey {
    let worst_fail = fs
        .iter()
        .filter(|f| f.status == Status::Fail)
        .map(|f| f.severity)
        .max();
    let worst = fs
        .iter()
        .filter(|f| is_problem(f))
        .map(|f| f.severity)
        .max();
    let problems = fs.iter().filter(|f| is_problem(f)).count();
    (
        String::new(),
        std::cmp::Reverse(worst_fail),
        std::cmp::Reverse(worst),
        std::cmp::Reverse(problems),
        file.to_owned(),
        resource.to_owned(),
    )
}

/// Where a resource is: `file:line` (infrastructure as code), or `account A, REGION`.
pub(crate) fn location(f: &Finding) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{file}:{line}"),
        (Some(file), None) => file.clone(),
        _ if f.region.is_empty() => format!("account {}", f.account),
        _ => format!("account {}, {}", f.account, f.region),
    }
}

fn text_block(
    resource: &str,
    mut fs: Vec<&Finding>,
    verdict: Option<&TrailVerdict>,
    opts: TextOptions,
    sources: &mut HashMap<String, Option<String>>,
) -> String {
    let mut out = String::new();
    let order = |f: &Finding| {
        (
            !is_problem(f),
            f.status != Status::Fail,
            f.status == Status::Skipped,
            std::cmp::Reverse(f.severity),
        )
    };
    fs.sort_by(|a, b| order(a).cmp(&order(b)).then_with(|| a.code.cmp(&b.code)));
    let first = fs[0];
    let location = location(first);
    // Problems of checks outside "compliant" (TS007-TS013), counted beside the verdict so that
    // "compliant" is never read as "no problem".
    let other_problems = fs
        .iter()
        .filter(|f| is_problem(f) && !trailseal_checks::info(&f.code).is_some_and(|i| i.compliant))
        .count();
    let others = match other_problems {
        0 => String::new(),
        1 => "; 1 other problem below".to_owned(),
        n => format!("; {n} other problems below"),
    };
    let verdict = match verdict {
        Some(v) if v.compliant => format!(
            ": {} ({}){others}",
            paint(opts.color, "32", "compliant"),
            compliant_scope()
        ),
        Some(v) => {
            // Name the checks that failed; the ones skipped because of them follow.
            let mut failing: Vec<&str> = fs
                .iter()
                .filter(|f| {
                    is_problem(f) && trailseal_checks::info(&f.code).is_some_and(|i| i.compliant)
                })
                .map(|f| f.code.as_str())
                .collect();
            if failing.is_empty() {
                failing = v.failing.iter().map(String::as_str).collect();
            }
            failing.sort_unstable();
            format!(
                ": {} ({}: {} not passing){others}",
                paint(opts.color, "31;1", "NOT COMPLIANT"),
                compliant_scope(),
                failing.join(", ")
            )
        }
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "{} ({location}){verdict}",
        paint(opts.color, "1", resource)
    );
    if opts.snippets && fs.iter().any(|f| is_problem(f)) {
        if let (Some(file), Some(line)) = (&first.file, first.line) {
            let text = sources
                .entry(file.clone())
                .or_insert_with(|| std::fs::read_to_string(file).ok());
            if let Some(text) = text {
                out += &snippet(text, line, opts.color);
            }
        }
    }
    let mut quiet_pass: Vec<&str> = Vec::new();
    let mut quiet_skip: Vec<(&str, &str)> = Vec::new();
    for f in fs {
        if opts.compact && !opts.verbose && !is_problem(f) && f.status != Status::Muted {
            if f.status == Status::Pass {
                quiet_pass.push(&f.code);
            } else {
                quiet_skip.push((&f.code, &f.message));
            }
            continue;
        }
        let _ = writeln!(
            out,
            "  {} {} {} [{}]",
            status_label(f.status, opts.color),
            f.code,
            f.name,
            f.severity.as_str()
        );
        push_indented(&mut out, &f.message, "        ");
        out.push('\n');
        if let Some(m) = &f.muted {
            let _ = writeln!(
                out,
                "        {} {} (was {}; mutelist entry {}{})",
                paint(opts.color, "1", "muted:"),
                m.reason,
                m.status.as_str(),
                m.entry,
                m.expires
                    .as_deref()
                    .map(|d| format!(", until {d}"))
                    .unwrap_or_default()
            );
        }
        if !is_problem(f) && !opts.verbose {
            continue;
        }
        if let Some(why) = why_it_matters(&f.code).filter(|w| !w.is_empty()) {
            let _ = writeln!(out, "        {} {why}", paint(opts.color, "1", "why:"));
        }
        let _ = writeln!(out, "        {}", paint(opts.color, "1", "fix:"));
        push_indented(&mut out, &f.remediation, "          ");
        out.push('\n');
        if let Some(lines) = f.evidence.get("explanation").and_then(Value::as_array) {
            let _ = writeln!(
                out,
                "        {}",
                paint(opts.color, "1", "how the key policy was evaluated:")
            );
            for l in lines.iter().filter_map(Value::as_str) {
                let _ = writeln!(out, "          {l}");
            }
        }
    }
    if !quiet_pass.is_empty() {
        quiet_pass.sort_unstable();
        let _ = writeln!(
            out,
            "  {} {}",
            status_label(Status::Pass, opts.color),
            quiet_pass.join(" ")
        );
    }
    // Skipped checks share their reason (e.g. "the key could not be resolved").
    let mut reasons: Vec<(&str, Vec<&str>)> = Vec::new();
    for (code, message) in quiet_skip {
        match reasons.iter_mut().find(|(m, _)| *m == message) {
            Some((_, codes)) => codes.push(code),
            None => reasons.push((message, vec![code])),
        }
    }
    for (message, mut codes) in reasons {
        codes.sort_unstable();
        let _ = writeln!(
            out,
            "  {} {}: {message}",
            status_label(Status::Skipped, opts.color),
            codes.join(" ")
        );
    }
    out.push('\n');
    out
}

/// How many lines of a resource's definition the text report shows.
const SNIPPET_LINES: usize = 6;
/// How many characters of each of those lines (a minified template is one long line).
const SNIPPET_WIDTH: usize = 160;

/// `text` cut to `width` characters, with how much was left out.
fn clip(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(width) {
        None => std::borrow::Cow::Borrowed(text),
        Some((cut, _)) => std::borrow::Cow::Owned(format!(
            "{} [... {} more characters]",
            &text[..cut],
            text[cut..].chars().count()
        )),
    }
}

/// The first lines of a definition starting at `line` (1-based) of a file's `text`, numbered,
/// up to a blank line. (No snippet when the file cannot be read again: it was read for the
/// scan, so that rarely happens.)
fn snippet(text: &str, line: u32, color: bool) -> String {
    let start = usize::try_from(line).unwrap_or(1).max(1);
    let width = (start + SNIPPET_LINES).to_string().len();
    let mut out = String::new();
    for (i, l) in text
        .lines()
        .enumerate()
        .skip(start - 1)
        .take(SNIPPET_LINES)
        .take_while(|(i, l)| *i + 1 == start || !l.trim().is_empty())
    {
        let number = format!("{:>width$} |", i + 1);
        out += &format!(
            "    {} {}\n",
            paint(color, "2", &number),
            clip(l.trim_end(), SNIPPET_WIDTH)
        );
    }
    out
}

/// A finding's identity across runs: check, account, Region and resource (and the file and line
/// of infrastructure as code). OCSF's `finding_info.uid` and ASFF's `Id`, so that a new run
/// updates the same finding in Security Hub or a SIEM.
pub(crate) fn uid(f: &Finding) -> String {
    let mut id = format!(
        "trailseal/{}/{}/{}/{}",
        f.code, f.account, f.region, f.resource
    );
    if let Some(file) = &f.file {
        id.push_str(&format!("/{file}:{}", f.line.unwrap_or(0)));
    }
    id
}

/// Now: RFC 3339 UTC (seconds) and milliseconds since the epoch (the time reports carry).
pub fn now() -> (String, i64) {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let ms = i64::try_from(since.as_millis()).unwrap_or(i64::MAX);
    (rfc3339(since.as_secs()), ms)
}

/// `YYYY-MM-DDTHH:MM:SSZ` of seconds since the epoch (the civil-from-days algorithm of
/// H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
fn rfc3339(secs: u64) -> String {
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod time_tests {
    #[test]
    fn rfc3339_of_known_instants() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(super::rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}

#[cfg(test)]
mod why_tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    /// The text version it replaces (blocks were turned into text, lines compared as text).
    fn drop_repeated_why_text(block: &str, seen: &mut HashSet<String>) -> String {
        let mut out = String::new();
        for line in block.split_inclusive('\n') {
            let trimmed = line.trim_start();
            let is_why = trimmed.starts_with("why: ") || trimmed.starts_with("\x1b[1mwhy:");
            if is_why && !seen.insert(line.to_owned()) {
                continue;
            }
            out.push_str(line);
        }
        out
    }

    proptest! {
        /// Whatever the lines (indentation of any whitespace, Unicode included; color codes;
        /// repeated blocks), the same lines are kept as by the text version.
        #[test]
        fn repeated_why_lines_are_dropped_as_the_text_version_drops_them(
            blocks in prop::collection::vec(
                prop::collection::vec(
                    (
                        prop_oneof![Just(""), Just("        "), Just("\t"), Just("\u{a0} "), Just("\u{b}"), Just("\u{2003}"), Just("x why: ")],
                        prop_oneof![Just("why: "), Just("\x1b[1mwhy:"), Just("why:"), Just("fix: "), Just("")],
                        prop_oneof![Just("it matters"), Just("a"), Just("é\r"), Just(""), Just(" why: twice"), Just("why:")],
                    ),
                    0..8,
                ),
                1..5,
            )
        ) {
            let blocks: Vec<String> = blocks
                .iter()
                .map(|lines| lines.iter().map(|(a, b, c)| format!("{a}{b}{c}\n")).collect())
                .collect();
            let (mut seen_text, mut seen_bytes) = (HashSet::new(), HashSet::new());
            let mut bytes = Vec::new();
            let mut text = String::new();
            for block in &blocks {
                text += &drop_repeated_why_text(block, &mut seen_text);
                drop_repeated_why(block.as_bytes(), &mut seen_bytes, &mut bytes);
            }
            prop_assert_eq!(String::from_utf8(bytes).expect("UTF-8"), text);
        }
    }

    #[test]
    fn a_check_why_is_its_documented_section() {
        for check in trailseal_checks::registry() {
            let why = check.info.section("Why it matters");
            assert_eq!(why_it_matters(check.info.code), Some(why.as_str()));
            // Any case, as `trailseal_checks::find` looks codes up.
            let lower = check.info.code.to_ascii_lowercase();
            assert_eq!(why_it_matters(&lower), Some(why.as_str()));
        }
        assert_eq!(why_it_matters("TS999"), None);
    }
}

//! Streaming reports: findings are rendered a unit at a time (a template, a Terraform module;
//! on worker threads, with [`Renderer::render`]) and written in order by [`ReportWriter`], so
//! memory does not grow with the number of findings. The documents are byte for byte those of
//! [`crate::JsonReport`], [`crate::sarif_report`] and [`crate::text_report`].
//!
//! JSON and SARIF are written as they come: the document is serialized once with a sentinel in
//! place of its array of findings (results), which splits it into the part before and the part
//! after; the array's items are serialized one by one at the sentinel's depth. Text is sorted
//! worst first over the whole report, so its blocks are kept (in memory, or in a temporary file
//! past a threshold) with their sort keys and written at the end.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};

use serde::Serialize;
use serde_json::{json, Value};
use trailseal_model::{Finding, Severity, Status, Summary};

use crate::sarif::{rule_index, rules, sarif_result, sarif_skeleton};
use crate::{
    text_blocks, text_footer, trail_verdicts, BlockKey, TextOptions, TrailVerdict, SCHEMA,
};

/// Which document to write.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    Json,
    /// One finding per line (JSON Lines), written as the findings come, then one end record
    /// `{"end": "trailseal.audit/v1", "findings": N, "summary": {...}}`: a stream without it
    /// was cut off.
    Jsonl,
    Sarif,
    Text(TextOptions),
    /// One row per finding, RFC 4180 ([`crate::csv::COLUMNS`]).
    Csv,
    /// JUnit XML: a test suite per check, a test case per resource and check.
    Junit,
    /// OCSF Detection Finding objects in a JSON array.
    Ocsf,
    /// OCSF Detection Finding objects, one per line.
    OcsfJsonl,
    /// AWS Security Finding Format objects in a JSON array (BatchImportFindings).
    Asff,
    /// One self-contained HTML page.
    Html(TextOptions),
}

impl Style {
    /// Whether the document is assembled at the end from kept blocks (sorted, grouped).
    fn blocks(&self) -> bool {
        matches!(self, Style::Text(_) | Style::Junit | Style::Html(_))
    }

    /// Whether the findings are written as lines, as they come (no document around them).
    fn lines(&self) -> bool {
        matches!(self, Style::Jsonl | Style::OcsfJsonl | Style::Csv)
    }
}

/// An account's verdict in a report of several accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountVerdict {
    pub account: String,
    /// `true`: every trail of the account and every trail logging it is compliant (TS001-TS006)
    /// and every scanned Region is covered (TS012); `false`: one of them is not; `null`: not
    /// decided (a trail logging it is not in this report, or not every check ran).
    pub compliant: Option<bool>,
    /// Why it is not compliant, or not decided.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub why: Vec<String>,
}

/// What a report adds up about one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountTally {
    /// Problems among the account's compliance checks (TS001-TS006) and TS012.
    problems: BTreeSet<String>,
    /// TS012 findings (the account-level check ran).
    coverage: usize,
    /// Trails TS012 names as logging the account (its own, or its organization's).
    covering: BTreeSet<String>,
    /// The account's own trails that have findings.
    trails: BTreeSet<String>,
    /// The account could not be read (its role could not be assumed): not decided.
    unreadable: Option<String>,
}

impl AccountTally {
    fn add(&mut self, other: AccountTally) {
        self.problems.extend(other.problems);
        self.coverage += other.coverage;
        self.covering.extend(other.covering);
        self.trails.extend(other.trails);
        if self.unreadable.is_none() {
            self.unreadable = other.unreadable;
        }
    }
}

/// The code of Region coverage, whose findings name the trails logging each Region.
const COVERAGE_CODE: &str = "TS012";

fn account_tallies(findings: &[Finding]) -> BTreeMap<String, AccountTally> {
    let compliant = trailseal_checks::compliant_codes();
    let mut out: BTreeMap<String, AccountTally> = BTreeMap::new();
    for f in findings {
        if f.account.is_empty() || f.file.is_some() {
            continue;
        }
        let a = out.entry(f.account.clone()).or_default();
        // An account that could not be read: not decided, unless another report of it (a
        // merge) says it fails.
        if let Some(error) = f.evidence.get("account_error").and_then(Value::as_str) {
            a.unreadable = Some(error.to_owned());
            a.coverage += usize::from(f.code == COVERAGE_CODE);
            continue;
        }
        let counted = compliant.contains(&f.code.as_str()) || f.code == COVERAGE_CODE;
        let problem = matches!(
            effective(f),
            Status::Fail | Status::Error | Status::Indeterminate
        );
        if counted && problem {
            a.problems.insert(f.code.clone());
        }
        if f.code == COVERAGE_CODE {
            a.coverage += 1;
            if let Some(list) = f.evidence.get("logging_trails").and_then(Value::as_array) {
                a.covering
                    .extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
            }
        }
        if f.resource.starts_with("arn:") && f.resource.contains(":trail/") {
            a.trails.insert(f.resource.clone());
        }
    }
    out
}

/// What the report adds up while it is written: the summary, the trail verdicts and what the
/// exit code needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub summary: Summary,
    pub verdicts: Vec<TrailVerdict>,
    /// Some finding is neither `error` nor `skipped`: something was evaluated.
    pub evaluated: bool,
    /// The highest severity of a `fail`, `error` or `indeterminate` finding.
    pub worst_problem: Option<Severity>,
    pub findings: usize,
    /// Problems (`fail`, `error`, `indeterminate`) by severity: info, low, medium, high,
    /// critical.
    pub problems_by_severity: [usize; 5],
    /// Some input could not be read (a TS000 `error`): the run exits 2 whatever --fail-on says.
    pub unreadable_input: bool,
    /// Per account (live audits and evidence; not infrastructure as code).
    pub accounts: BTreeMap<String, AccountTally>,
}

fn is_problem(f: &Finding) -> bool {
    matches!(
        f.status,
        Status::Fail | Status::Error | Status::Indeterminate
    )
}

/// The status a finding has for verdicts: a muted finding is what it was (an accepted risk does
/// not fail the run, but never makes anything compliant or evaluated).
fn effective(f: &Finding) -> Status {
    match (&f.muted, f.status) {
        (Some(m), Status::Muted) => m.status,
        (_, s) => s,
    }
}

fn severity_index(s: Severity) -> usize {
    match s {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 2,
        Severity::High => 3,
        Severity::Critical => 4,
    }
}

impl Tally {
    pub fn of(findings: &[Finding]) -> Tally {
        let mut problems_by_severity = [0; 5];
        for f in findings.iter().filter(|f| is_problem(f)) {
            problems_by_severity[severity_index(f.severity)] += 1;
        }
        Tally {
            problems_by_severity,
            unreadable_input: findings.iter().any(trailseal_checks::is_unreadable_input),
            summary: Summary::of(findings),
            verdicts: trail_verdicts(findings),
            evaluated: findings
                .iter()
                .any(|f| !matches!(effective(f), Status::Error | Status::Skipped)),
            worst_problem: findings
                .iter()
                .filter(|f| is_problem(f))
                .map(|f| f.severity)
                .max(),
            findings: findings.len(),
            accounts: account_tallies(findings),
        }
    }

    /// Each account's verdict (see [`AccountVerdict`]), by account id.
    pub fn account_verdicts(&self) -> Vec<AccountVerdict> {
        let verdicts: BTreeMap<&str, &TrailVerdict> =
            self.verdicts.iter().map(|v| (v.arn.as_str(), v)).collect();
        self.accounts
            .iter()
            .map(|(account, a)| {
                let mut why: Vec<String> = a
                    .problems
                    .iter()
                    .map(|code| format!("{code} does not pass"))
                    .collect();
                let mut undecided = Vec::new();
                if let Some(error) = &a.unreadable {
                    undecided.push(format!("the account could not be read: {error}"));
                }
                if a.coverage == 0 {
                    undecided.push(format!("{COVERAGE_CODE} did not run"));
                }
                for arn in a.trails.iter().chain(&a.covering) {
                    match verdicts.get(arn.as_str()) {
                        Some(v) if !v.compliant => {
                            why.push(format!("trail {arn} is not compliant"));
                        }
                        Some(_) => {}
                        None => undecided.push(format!("trail {arn} has no verdict here")),
                    }
                }
                why.sort();
                why.dedup();
                let compliant = if !why.is_empty() {
                    Some(false)
                } else if undecided.is_empty() {
                    Some(true)
                } else {
                    why = undecided;
                    None
                };
                AccountVerdict {
                    account: account.clone(),
                    compliant,
                    why,
                }
            })
            .collect()
    }

    /// Adds the tally of other findings (a trail's findings are all in one of them).
    pub fn add(&mut self, other: Tally) {
        let (a, b) = (&mut self.summary, other.summary);
        a.pass += b.pass;
        a.fail += b.fail;
        a.error += b.error;
        a.indeterminate += b.indeterminate;
        a.skipped += b.skipped;
        a.muted += b.muted;
        self.verdicts.extend(other.verdicts);
        self.evaluated |= other.evaluated;
        self.worst_problem = self.worst_problem.max(other.worst_problem);
        self.findings += other.findings;
        for (a, b) in self
            .problems_by_severity
            .iter_mut()
            .zip(other.problems_by_severity)
        {
            *a += b;
        }
        self.unreadable_input |= other.unreadable_input;
        for (account, tally) in other.accounts {
            self.accounts.entry(account).or_default().add(tally);
        }
    }

    /// The one exit-code rule of `audit`, `audit --evidence`, `policy check` and `scan`:
    /// 2 when some input could not be read (TS000) or nothing could be evaluated, whatever the
    /// threshold; else 1 when a problem (fail, error or indeterminate) is at or above
    /// `threshold` (`None`: report only, never); else 0.
    pub fn exit_code(&self, threshold: Option<Severity>) -> u8 {
        if !self.evaluated || self.unreadable_input {
            return 2;
        }
        u8::from(threshold.is_some_and(|t| self.worst_problem.is_some_and(|s| s >= t)))
    }
}

/// One unit's findings, rendered.
#[derive(Debug, Default)]
pub struct Rendered {
    /// JSON / SARIF: the array items, each starting with a newline and indentation, joined by
    /// commas. Text: the blocks one after the other.
    bytes: Vec<u8>,
    /// How many array items `bytes` holds (JSON / SARIF).
    items: usize,
    /// Text: each block's key and length in `bytes`.
    blocks: Vec<(BlockKey, usize)>,
    tally: Tally,
}

/// Renders findings for a [`ReportWriter`]; shared by the worker threads.
#[derive(Debug)]
pub struct Renderer {
    style: Style,
    tool_version: String,
    /// The document split at its array of findings (JSON, SARIF): indentation of the array's
    /// items and of its closing bracket.
    item_indent: String,
    close_indent: String,
    sarif_rules: Vec<Value>,
    sarif_index: HashMap<String, usize>,
    /// JSON: each account's verdict whatever their number ([`Renderer::with_account_verdicts`]).
    accounts: bool,
    /// Accepted risks, applied to every finding rendered ([`Renderer::with_mutelist`]).
    mutelist: Option<std::sync::Arc<crate::mutelist::Mutelist>>,
    /// The report's time: RFC 3339 and milliseconds since the epoch (OCSF, ASFF, JUnit).
    now: (String, i64),
}

/// Stands for the array of findings (results) in the serialized skeleton.
const SENTINEL: &str = "\u{1}trailseal-stream-items\u{1}";

#[derive(Serialize)]
struct JsonSkeleton<'a> {
    schema: &'static str,
    tool: Value,
    findings: &'static str,
    trails: &'a [TrailVerdict],
    /// Reports of several accounts: each account's verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    accounts: Option<Vec<AccountVerdict>>,
    summary: &'a Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    input: Option<&'a Value>,
}

impl Renderer {
    pub fn new(style: Style, tool_version: &str) -> Renderer {
        let sarif_rules = rules();
        let sarif_index = rule_index(&sarif_rules);
        let mut r = Renderer {
            style,
            tool_version: tool_version.to_owned(),
            item_indent: String::new(),
            close_indent: String::new(),
            sarif_rules,
            sarif_index,
            accounts: false,
            mutelist: None,
            now: crate::now(),
        };
        if let Some((head, _)) = r.skeleton(&Tally::default(), None) {
            let key_indent = head
                .rsplit('\n')
                .next()
                .map_or(0, |line| line.len() - line.trim_start().len());
            r.close_indent = " ".repeat(key_indent);
            r.item_indent = " ".repeat(key_indent + 2);
        }
        r
    }

    /// Applies a mutelist to every finding this renderer renders: the findings it covers are
    /// rendered `muted`, with the reason.
    pub fn with_mutelist(mut self, mutelist: Option<crate::mutelist::Mutelist>) -> Renderer {
        self.mutelist = mutelist.map(std::sync::Arc::new);
        self
    }

    /// The mutelist's warnings (expired entries, entries that matched nothing) once every
    /// finding was rendered.
    pub fn mutelist_warnings(&self) -> Vec<String> {
        self.mutelist
            .as_ref()
            .map(|m| m.warnings())
            .unwrap_or_default()
    }

    /// A report of an account selection (`--org`, `--accounts`, `merge`): the JSON lists each
    /// account's verdict also when it holds one account (a shard may).
    pub fn with_account_verdicts(mut self) -> Renderer {
        self.accounts = true;
        self
    }

    /// The document without its findings, split where they go (None for text).
    fn skeleton(&self, tally: &Tally, input: Option<&Value>) -> Option<(String, String)> {
        let doc = match self.style {
            Style::Json => serde_json::to_string_pretty(&JsonSkeleton {
                schema: SCHEMA,
                tool: json!({"name": "trailseal", "version": self.tool_version}),
                findings: SENTINEL,
                trails: &tally.verdicts,
                accounts: Some(tally.account_verdicts())
                    .filter(|a| a.len() > 1 || self.accounts && !a.is_empty()),
                summary: &tally.summary,
                input,
            }),
            Style::Sarif => serde_json::to_string_pretty(&sarif_skeleton(
                self.sarif_rules.clone(),
                &self.tool_version,
                Value::String(SENTINEL.to_owned()),
            )),
            // A bare JSON array of objects.
            Style::Ocsf | Style::Asff => return Some((String::new(), String::new())),
            Style::Text(_)
            | Style::Jsonl
            | Style::Csv
            | Style::Junit
            | Style::OcsfJsonl
            | Style::Html(_) => return None,
        }
        .ok()?;
        let marker = serde_json::to_string(SENTINEL).ok()?;
        let (head, tail) = doc.split_once(&marker)?;
        Some((head.to_owned(), tail.to_owned()))
    }

    /// Renders the findings of whole resources (every finding of a resource, or of a trail,
    /// in the same call).
    pub fn render(&self, findings: &[Finding]) -> Rendered {
        self.render_muted(&self.mute(findings))
    }

    /// The findings with this renderer's mutelist applied (as they are without one).
    pub fn mute<'f>(&self, findings: &'f [Finding]) -> std::borrow::Cow<'f, [Finding]> {
        match &self.mutelist {
            Some(list) => {
                let mut copy = findings.to_vec();
                list.apply(&mut copy);
                std::borrow::Cow::Owned(copy)
            }
            None => std::borrow::Cow::Borrowed(findings),
        }
    }

    /// Renders findings the mutelist was already applied to ([`Renderer::mute`]).
    fn render_muted(&self, findings: &[Finding]) -> Rendered {
        let mut out = Rendered {
            tally: Tally::of(findings),
            ..Rendered::default()
        };
        match self.style {
            Style::Json => {
                for f in findings {
                    self.item(&mut out, f);
                }
            }
            Style::Jsonl => {
                for f in findings {
                    if serde_json::to_writer(&mut out.bytes, f).is_ok() {
                        out.bytes.push(b'\n');
                        out.items += 1;
                    }
                }
            }
            Style::Sarif => {
                for r in findings
                    .iter()
                    .filter_map(|f| sarif_result(f, &self.sarif_index))
                {
                    self.item(&mut out, &r);
                }
            }
            Style::Text(opts) => {
                for (key, text) in text_blocks(findings, opts) {
                    out.bytes.extend_from_slice(text.as_bytes());
                    out.blocks.push((key, text.len()));
                }
            }
            Style::Html(opts) => {
                for (key, text) in crate::html::blocks(findings, opts.by_account) {
                    out.bytes.extend_from_slice(text.as_bytes());
                    out.blocks.push((key, text.len()));
                }
            }
            Style::Junit => {
                for f in findings {
                    let text = crate::junit::case(f);
                    let key: BlockKey = (
                        f.code.clone(),
                        std::cmp::Reverse(None),
                        std::cmp::Reverse(None),
                        std::cmp::Reverse(0),
                        format!("{}\u{1}{}", f.account, f.file.as_deref().unwrap_or("")),
                        format!("{}\u{1}{}", f.resource, f.region),
                    );
                    out.bytes.extend_from_slice(text.as_bytes());
                    out.blocks.push((key, text.len()));
                }
            }
            Style::Csv => {
                for f in findings {
                    out.bytes
                        .extend_from_slice(crate::csv::finding(f).as_bytes());
                    out.items += 1;
                }
            }
            Style::Ocsf | Style::OcsfJsonl => {
                for f in findings {
                    let value =
                        crate::ocsf::finding(f, &self.tool_version, self.now.1, &crate::uid(f));
                    if let Style::Ocsf = self.style {
                        self.item(&mut out, &value);
                    } else if serde_json::to_writer(&mut out.bytes, &value).is_ok() {
                        out.bytes.push(b'\n');
                        out.items += 1;
                    }
                }
            }
            Style::Asff => {
                for (_, value) in crate::asff::findings(findings, &self.now.0) {
                    self.item(&mut out, &value);
                }
            }
        }
        out
    }

    fn item(&self, out: &mut Rendered, value: &impl Serialize) {
        let mark = out.bytes.len();
        if out.items > 0 {
            out.bytes.push(b',');
        }
        out.bytes.push(b'\n');
        out.bytes.extend_from_slice(self.item_indent.as_bytes());
        let formatter = Nested {
            base: self.item_indent.as_bytes(),
            level: 0,
            has_value: false,
        };
        let mut ser = serde_json::Serializer::with_formatter(&mut out.bytes, formatter);
        if value.serialize(&mut ser).is_ok() {
            out.items += 1;
        } else {
            out.bytes.truncate(mark);
        }
    }
}

/// serde_json's pretty format (two spaces) for a value nested at `base` indentation: what
/// `to_string_pretty` of the whole document writes for it, without a second pass.
struct Nested<'a> {
    base: &'a [u8],
    level: usize,
    has_value: bool,
}

impl Nested<'_> {
    fn newline<W: ?Sized + Write>(&self, w: &mut W, comma: bool) -> io::Result<()> {
        w.write_all(if comma { b",\n" } else { b"\n" })?;
        w.write_all(self.base)?;
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl serde_json::ser::Formatter for Nested<'_> {
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(b"]")
    }

    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }

    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.level -= 1;
        if self.has_value {
            self.newline(w, false)?;
        }
        w.write_all(b"}")
    }

    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.newline(w, !first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b": ")
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, _w: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

/// Writes rendered units in the order they are pushed, then the end of the document.
pub struct ReportWriter<'r, W: Write> {
    out: W,
    renderer: &'r Renderer,
    items: usize,
    tally: Tally,
    /// Text: block key, offset and length in `spill`.
    blocks: Vec<(BlockKey, u64, usize)>,
    spill: Spill,
    /// The reader of the output went away (`| head`): keep counting, stop writing.
    closed: bool,
}

impl<'r, W: Write> ReportWriter<'r, W> {
    /// Starts the document (JSON and SARIF: everything before the findings).
    pub fn new(out: W, renderer: &'r Renderer) -> io::Result<Self> {
        let mut w = ReportWriter {
            out,
            renderer,
            items: 0,
            tally: Tally::default(),
            blocks: Vec::new(),
            spill: Spill::new(64 << 20),
            closed: false,
        };
        if let Some((head, _)) = renderer.skeleton(&Tally::default(), None) {
            w.write(head.as_bytes())?;
            w.write(b"[")?;
        }
        if let Style::Csv = renderer.style {
            w.write(crate::csv::header().as_bytes())?;
        }
        Ok(w)
    }

    /// Text blocks past this many bytes go to a temporary file (tests set it low).
    pub fn spill_threshold(mut self, bytes: usize) -> Self {
        self.spill.threshold = bytes;
        self
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.out.write_all(bytes) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            other => other,
        }
    }

    /// Adds a unit's findings.
    pub fn push(&mut self, r: Rendered) -> io::Result<()> {
        self.tally.add(r.tally);
        if self.renderer.style.blocks() {
            let mut at = 0;
            for (key, len) in r.blocks {
                let offset = self.spill.append(&r.bytes[at..at + len])?;
                self.blocks.push((key, offset, len));
                at += len;
            }
            return Ok(());
        }
        if r.items == 0 {
            return Ok(());
        }
        if self.renderer.style.lines() {
            self.write(&r.bytes)?;
            self.items += r.items;
            // Each account's findings are out as soon as they are known.
            return match self.out.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                    self.closed = true;
                    Ok(())
                }
                other => other,
            };
        }
        if self.items > 0 {
            self.write(b",")?;
        }
        self.write(&r.bytes)?;
        self.items += r.items;
        Ok(())
    }

    /// Ends the document: JSON's `input` (what was evaluated), text's header line(s) above
    /// the blocks. Returns what the report added up.
    pub fn finish(mut self, input: Option<&Value>, text_header: &str) -> io::Result<Tally> {
        // What the mutelist did, with what was evaluated.
        let with_mutes;
        let input = match (&self.renderer.mutelist, input) {
            (Some(list), input) => {
                let mut value = input.cloned().unwrap_or_else(|| json!({}));
                if let Some(map) = value.as_object_mut() {
                    map.insert("mutelist".to_owned(), list.summary());
                }
                with_mutes = value;
                Some(&with_mutes)
            }
            (None, input) => input,
        };
        self.tally.verdicts.sort_by(|a, b| a.arn.cmp(&b.arn));
        if let Style::Text(opts) = self.renderer.style {
            self.write(text_header.as_bytes())?;
            let mut blocks = std::mem::take(&mut self.blocks);
            blocks.sort_by(|a, b| a.0.cmp(&b.0));
            let mut seen = std::collections::HashSet::new();
            let verdicts: BTreeMap<String, AccountVerdict> = self
                .tally
                .account_verdicts()
                .into_iter()
                .map(|v| (v.account.clone(), v))
                .collect();
            let mut account: Option<String> = None;
            for (key, offset, len) in blocks {
                if opts.by_account && account.as_ref() != Some(&key.0) {
                    let heading = account_heading(&key.0, verdicts.get(&key.0), opts.color);
                    self.write(heading.as_bytes())?;
                    account = Some(key.0.clone());
                }
                let text = self.spill.read(offset, len)?;
                let text = crate::drop_repeated_why(&String::from_utf8_lossy(&text), &mut seen);
                self.write(text.as_bytes())?;
            }
            let footer = text_footer(&self.tally);
            self.write(footer.as_bytes())?;
        } else if let Style::Junit = self.renderer.style {
            let s = self.tally.summary;
            self.write(
                crate::junit::head(self.tally.findings, s.fail, s.error + s.indeterminate)
                    .as_bytes(),
            )?;
            let mut blocks = std::mem::take(&mut self.blocks);
            blocks.sort_by(|a, b| a.0.cmp(&b.0));
            let timestamp = self.renderer.now.0.clone();
            // One suite per check: its cases are read back, counted, written.
            let mut i = 0;
            while i < blocks.len() {
                let code = blocks[i].0 .0.clone();
                let mut cases = Vec::new();
                while i < blocks.len() && blocks[i].0 .0 == code {
                    let (_, offset, len) = &blocks[i];
                    cases.push(
                        String::from_utf8_lossy(&self.spill.read(*offset, *len)?).into_owned(),
                    );
                    i += 1;
                }
                self.write(crate::junit::suite(&code, &timestamp, &cases).as_bytes())?;
            }
            self.write(crate::junit::TAIL.as_bytes())?;
        } else if let Style::Html(opts) = self.renderer.style {
            self.write(crate::html::head(text_header, &self.tally).as_bytes())?;
            let mut blocks = std::mem::take(&mut self.blocks);
            blocks.sort_by(|a, b| a.0.cmp(&b.0));
            let mut account: Option<String> = None;
            for (key, offset, len) in blocks {
                if opts.by_account && account.as_ref() != Some(&key.0) {
                    self.write(crate::html::account_heading(&key.0).as_bytes())?;
                    account = Some(key.0.clone());
                }
                let text = self.spill.read(offset, len)?;
                self.write(&text)?;
            }
            self.write(crate::html::TAIL.as_bytes())?;
        } else if let Style::Jsonl = self.renderer.style {
            // The end record: a stream without it was cut off (`trailseal merge` refuses it).
            let end = json!({
                "end": SCHEMA,
                "findings": self.tally.findings,
                "summary": self.tally.summary,
                "input": input,
            });
            self.write(format!("{end}\n").as_bytes())?;
        } else if let Some((_, tail)) = self.renderer.skeleton(&self.tally, input) {
            if self.items > 0 {
                let close = format!("\n{}", self.renderer.close_indent);
                self.write(close.as_bytes())?;
            }
            self.write(b"]")?;
            self.write(tail.as_bytes())?;
            self.write(b"\n")?;
        }
        if !self.closed {
            match self.out.flush() {
                Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
        Ok(self.tally)
    }
}

/// `== Account 111122223333: NOT COMPLIANT (TS012 does not pass) ==`
fn account_heading(account: &str, verdict: Option<&AccountVerdict>, color: bool) -> String {
    let state = match verdict.map(|v| (v.compliant, v.why.join("; "))) {
        Some((Some(true), _)) => crate::paint(color, "32", "compliant"),
        Some((Some(false), why)) => {
            format!("{} ({why})", crate::paint(color, "31;1", "NOT COMPLIANT"))
        }
        Some((None, why)) => format!("not decided ({why})"),
        None => "not decided".to_owned(),
    };
    format!("== Account {account}: {state} ==\n\n")
}

/// Bytes kept for later: in memory up to a threshold, then in an unnamed temporary file.
struct Spill {
    memory: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
    len: u64,
    threshold: usize,
}

impl Spill {
    fn new(threshold: usize) -> Spill {
        Spill {
            memory: Vec::new(),
            file: None,
            len: 0,
            threshold,
        }
    }

    /// Appends; returns the offset.
    fn append(&mut self, bytes: &[u8]) -> io::Result<u64> {
        let offset = self.len;
        if self.file.is_none() && self.memory.len() + bytes.len() > self.threshold {
            let mut file = io::BufWriter::new(tempfile::tempfile()?);
            file.write_all(&self.memory)?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes)?,
            None => self.memory.extend_from_slice(bytes),
        }
        self.len += bytes.len() as u64;
        Ok(offset)
    }

    fn read(&mut self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        match &mut self.file {
            None => {
                let start = usize::try_from(offset).unwrap_or(usize::MAX);
                Ok(self
                    .memory
                    .get(start..start.saturating_add(len))
                    .unwrap_or_default()
                    .to_vec())
            }
            Some(file) => {
                file.flush()?;
                let f = file.get_mut();
                f.seek(SeekFrom::Start(offset))?;
                let mut buf = vec![0; len];
                f.read_exact(&mut buf)?;
                Ok(buf)
            }
        }
    }
}

/// One run's reports in one or several formats (`--output-dir DIR --output-formats a,b`): the
/// same findings, the mutelist applied once, each format written to its own sink.
pub struct Reports<'r, W: Write> {
    renderers: &'r [Renderer],
    writers: Vec<ReportWriter<'r, W>>,
}

/// Each format's rendering of one unit of findings (see [`Reports::render`]).
#[derive(Debug, Default)]
pub struct RenderedSet(Vec<Rendered>);

impl<'r, W: Write> Reports<'r, W> {
    /// Starts a document per renderer, each into its sink (as many sinks as renderers).
    pub fn new(renderers: &'r [Renderer], sinks: Vec<W>) -> io::Result<Self> {
        let writers = renderers
            .iter()
            .zip(sinks)
            .map(|(r, sink)| ReportWriter::new(sink, r))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Reports { renderers, writers })
    }

    /// Renders a unit in every format, the mutelist (the first renderer's) applied once. Runs
    /// on worker threads.
    pub fn render(renderers: &[Renderer], findings: &[Finding]) -> RenderedSet {
        let Some(first) = renderers.first() else {
            return RenderedSet::default();
        };
        let findings = first.mute(findings);
        RenderedSet(
            renderers
                .iter()
                .map(|r| r.render_muted(&findings))
                .collect(),
        )
    }

    /// Adds a unit's renderings, in order.
    pub fn push(&mut self, set: RenderedSet) -> io::Result<()> {
        for (writer, rendered) in self.writers.iter_mut().zip(set.0) {
            writer.push(rendered)?;
        }
        Ok(())
    }

    /// Adds findings the first renderer's mutelist was already applied to ([`Renderer::mute`]).
    pub fn push_muted(&mut self, findings: &[Finding]) -> io::Result<()> {
        let set = RenderedSet(
            self.renderers
                .iter()
                .map(|r| r.render_muted(findings))
                .collect(),
        );
        self.push(set)
    }

    /// Renders and adds a unit (on this thread).
    pub fn add(&mut self, findings: &[Finding]) -> io::Result<()> {
        let set = Self::render(self.renderers, findings);
        self.push(set)
    }

    /// Ends every document; returns the tally of the first (all formats count alike).
    pub fn finish(self, input: Option<&Value>, text_header: &str) -> io::Result<Tally> {
        // What the mutelist did goes with every format's input, not only the first's.
        let with_mutes;
        let input = match self.renderers.first().and_then(|r| r.mutelist.as_ref()) {
            Some(list) => {
                let mut value = input.cloned().unwrap_or_else(|| json!({}));
                if let Some(map) = value.as_object_mut() {
                    map.insert("mutelist".to_owned(), list.summary());
                }
                with_mutes = value;
                Some(&with_mutes)
            }
            None => input,
        };
        let mut first = None;
        for writer in self.writers {
            let tally = writer.finish(input, text_header)?;
            first.get_or_insert(tally);
        }
        Ok(first.unwrap_or_default())
    }

    /// The mutelist's warnings (once).
    pub fn mutelist_warnings(&self) -> Vec<String> {
        self.renderers
            .first()
            .map(Renderer::mutelist_warnings)
            .unwrap_or_default()
    }
}

/// The one way `audit`, `audit --evidence`, `policy check` (and, unit by unit, `scan`) write
/// their report: the findings through a [`ReportWriter`] into `out`, then the tally that
/// [`Tally::exit_code`] turns into the exit code.
pub fn write_report<W: Write>(
    out: W,
    renderer: &Renderer,
    findings: &[Finding],
    input: Option<&Value>,
    text_header: &str,
) -> io::Result<Tally> {
    let mut writer = ReportWriter::new(io::BufWriter::with_capacity(1 << 16, out), renderer)?;
    writer.push(renderer.render(findings))?;
    writer.finish(input, text_header)
}

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

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Seek, SeekFrom, Write};

use serde::Serialize;
use serde_json::{json, Value};
use trailseal_model::{Finding, Summary};

use crate::sarif::{rule_index, rules, sarif_result, sarif_skeleton};
use crate::tally::AccountVerdict;
use crate::{text_blocks, text_footer, BlockKey, Tally, TextOptions, TrailVerdict, SCHEMA};

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
    /// JSON: how a finding's members are laid out at `item_indent`.
    layout: crate::pretty::Layout,
    sarif_rules: Vec<Value>,
    sarif_index: HashMap<String, usize>,
    /// JSON: each account's verdict whatever their number ([`Renderer::with_account_verdicts`]).
    accounts: bool,
    /// Accepted risks, applied to every finding rendered ([`Renderer::with_mutelist`]).
    pub(crate) mutelist: Option<std::sync::Arc<crate::mutelist::Mutelist>>,
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
            layout: crate::pretty::Layout::default(),
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
        r.layout = crate::pretty::Layout::new(r.item_indent.as_bytes());
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
    pub(crate) fn render_muted(&self, findings: &[Finding]) -> Rendered {
        let mut out = Rendered {
            tally: Tally::of(findings),
            ..Rendered::default()
        };
        match self.style {
            Style::Json => {
                // About 1.2 KB per finding: grown once rather than doubled a few times.
                out.bytes.reserve(findings.len() * 1536);
                let mut cache = crate::pretty::ComplianceCache::default();
                for f in findings {
                    self.start_item(&mut out);
                    crate::pretty::finding(&mut out.bytes, f, &self.layout, &mut cache);
                    out.items += 1;
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

    /// The separator and indentation before an array item.
    fn start_item(&self, out: &mut Rendered) {
        if out.items > 0 {
            out.bytes.push(b',');
        }
        out.bytes.push(b'\n');
        out.bytes.extend_from_slice(self.item_indent.as_bytes());
    }

    fn item(&self, out: &mut Rendered, value: &impl Serialize) {
        let mark = out.bytes.len();
        self.start_item(out);
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
        const SPACES: &[u8] = &[b' '; 64];
        w.write_all(if comma { b",\n" } else { b"\n" })?;
        w.write_all(self.base)?;
        let mut indent = 2 * self.level;
        while indent > 0 {
            let n = indent.min(SPACES.len());
            w.write_all(&SPACES[..n])?;
            indent -= n;
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

    /// Records that `account` was audited, also when it has no finding (a `--checks` subset):
    /// it then has a verdict (not decided) instead of none.
    pub fn note_account(&mut self, account: &str) {
        self.tally.accounts.entry(account.to_owned()).or_default();
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
            let mut kept = Vec::new();
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
                kept.clear();
                crate::drop_repeated_why(&text, &mut seen, &mut kept);
                self.write(&kept)?;
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
                let text = self.spill.read(offset, len)?.into_owned();
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
    /// In memory: chunks of at least [`SPILL_CHUNK`] bytes, each starting at the offset beside
    /// it (appended bytes are never split, and a growing buffer is never copied).
    memory: Vec<(u64, Vec<u8>)>,
    file: Option<io::BufWriter<std::fs::File>>,
    len: u64,
    threshold: usize,
}

/// The size of a [`Spill`]'s chunks in memory.
const SPILL_CHUNK: usize = 1 << 20;

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
        let in_memory = usize::try_from(self.len).unwrap_or(usize::MAX);
        if self.file.is_none() && in_memory.saturating_add(bytes.len()) > self.threshold {
            let mut file = io::BufWriter::new(tempfile::tempfile()?);
            for (_, chunk) in &self.memory {
                file.write_all(chunk)?;
            }
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes)?,
            None => match self.memory.last_mut() {
                Some((_, chunk)) if chunk.capacity() - chunk.len() >= bytes.len() => {
                    chunk.extend_from_slice(bytes);
                }
                _ => {
                    let mut chunk = Vec::with_capacity(bytes.len().max(SPILL_CHUNK));
                    chunk.extend_from_slice(bytes);
                    self.memory.push((offset, chunk));
                }
            },
        }
        self.len += bytes.len() as u64;
        Ok(offset)
    }

    /// The `len` bytes appended at `offset` (borrowed while they are in memory).
    fn read(&mut self, offset: u64, len: usize) -> io::Result<std::borrow::Cow<'_, [u8]>> {
        match &mut self.file {
            None => {
                // The chunk the bytes were appended to: the last one starting at or before.
                let at = self.memory.partition_point(|(start, _)| *start <= offset);
                let bytes = at
                    .checked_sub(1)
                    .and_then(|i| self.memory.get(i))
                    .and_then(|(start, chunk)| {
                        let from = usize::try_from(offset - start).ok()?;
                        chunk.get(from..from.checked_add(len)?)
                    })
                    .unwrap_or_default();
                Ok(std::borrow::Cow::Borrowed(bytes))
            }
            Some(file) => {
                file.flush()?;
                let f = file.get_mut();
                f.seek(SeekFrom::Start(offset))?;
                let mut buf = vec![0; len];
                f.read_exact(&mut buf)?;
                Ok(std::borrow::Cow::Owned(buf))
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        // Megabytes per case: few cases.
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the sizes (some past a chunk) and wherever the threshold sends the rest to
        /// the file, every appended run of bytes reads back as it was.
        #[test]
        fn spilled_bytes_read_back_as_appended(
            sizes in prop::collection::vec(prop_oneof![0usize..3_000, Just(SPILL_CHUNK - 1), Just(SPILL_CHUNK + 7)], 1..40),
            threshold in prop_oneof![Just(usize::MAX), 0usize..4_000_000],
        ) {
            let mut spill = Spill::new(threshold);
            let mut appended = Vec::new();
            for (i, size) in sizes.iter().enumerate() {
                let bytes: Vec<u8> = (0..*size).map(|j| ((i * 31 + j) % 251) as u8).collect();
                let offset = spill.append(&bytes).expect("append");
                appended.push((offset, bytes));
            }
            for (offset, bytes) in &appended {
                let read = spill.read(*offset, bytes.len()).expect("read");
                prop_assert_eq!(&read[..], &bytes[..]);
            }
        }
    }
}

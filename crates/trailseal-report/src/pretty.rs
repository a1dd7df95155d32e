//! The JSON report's findings written by hand, byte for byte what serde_json's pretty printer
//! writes for them at their depth in the document (the tests below compare the two).
//!
//! Why by hand: a scan of 2,500 files writes about 27,000 findings (34 MB of JSON), and
//! serde_json's string escaping looks at one byte at a time; it was 11% of the scan's
//! instructions (bench/README.md, "`trailseal scan` vs checkov"). Here strings are checked 16
//! bytes at a time, the separator, indentation and name before each member of a finding are
//! laid out once per report ([`Layout`]), and a finding's list of compliance ids, the same for
//! every finding of a check, is written once and copied.

use std::borrow::Cow;

use serde_json::Value;
use trailseal_model::{Finding, Muted};

/// Whether `b` needs an escape in a JSON string, as serde_json escapes it: `"`, `\` and the
/// control characters below 0x20 (0x7F and non-ASCII are written as they are). Compares, not a
/// table: the compiler checks sixteen bytes at once with them.
#[inline(always)]
fn escaped(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// Whether any of sixteen bytes needs an escape (checked together).
#[inline(always)]
fn dirty(block: &[u8; 16]) -> bool {
    block.iter().fold(false, |any, &b| any | escaped(b))
}

/// Where the first byte of `bytes` that needs an escape is: sixteen bytes at a time, the last
/// few padded to sixteen (most strings of a report are short and need none).
fn next_escape(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while let Some(block) = bytes.get(i..).and_then(|rest| rest.first_chunk::<16>()) {
        if dirty(block) {
            break;
        }
        i += 16;
    }
    let rest = bytes.get(i..)?;
    if let Some(head) = rest.get(..rest.len().min(16)) {
        if head.len() < 16 {
            let mut padded = [b'a'; 16];
            padded[..head.len()].copy_from_slice(head);
            if !dirty(&padded) {
                return None;
            }
        }
    }
    rest.iter().position(|&b| escaped(b)).map(|p| i + p)
}

/// Writes `s` as a JSON string (quotes included).
pub(crate) fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rest = s.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    while let Some(at) = next_escape(rest) {
        let (clean, tail) = rest.split_at(at);
        let Some((&b, tail)) = tail.split_first() else {
            break;
        };
        out.extend_from_slice(clean);
        rest = tail;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            _ => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
        }
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

/// Newline and indentation: `base`, then two spaces per `level`.
fn newline(out: &mut Vec<u8>, base: &[u8], level: usize) {
    out.push(b'\n');
    out.extend_from_slice(base);
    out.resize(out.len() + 2 * level, b' ');
}

/// Writes `value` as serde_json's pretty printer does when the value's own line is indented
/// by `base` plus two spaces per `level`.
pub(crate) fn value(out: &mut Vec<u8>, v: &Value, base: &[u8], level: usize) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // serde_json's own digits (itoa / ryu).
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => string(out, s),
        Value::Array(items) if items.is_empty() => out.extend_from_slice(b"[]"),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, base, level + 1);
                value(out, item, base, level + 1);
            }
            newline(out, base, level);
            out.push(b']');
        }
        Value::Object(map) if map.is_empty() => out.extend_from_slice(b"{}"),
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                newline(out, base, level + 1);
                string(out, k);
                out.extend_from_slice(b": ");
                value(out, item, base, level + 1);
            }
            newline(out, base, level);
            out.push(b'}');
        }
    }
}

/// A finding's members, in the order of its derived `Serialize` (the order of the contract).
#[derive(Debug, Clone, Copy)]
enum Field {
    Code,
    Name,
    Status,
    Severity,
    Account,
    Region,
    Resource,
    Message,
    Remediation,
    Evidence,
    Compliance,
    File,
    Line,
    Column,
    MutedStatus,
    MutedReason,
    MutedExpires,
    MutedEntry,
}

impl Field {
    const ALL: [Field; 18] = [
        Field::Code,
        Field::Name,
        Field::Status,
        Field::Severity,
        Field::Account,
        Field::Region,
        Field::Resource,
        Field::Message,
        Field::Remediation,
        Field::Evidence,
        Field::Compliance,
        Field::File,
        Field::Line,
        Field::Column,
        Field::MutedStatus,
        Field::MutedReason,
        Field::MutedExpires,
        Field::MutedEntry,
    ];

    fn key(self) -> &'static str {
        match self {
            Field::Code => "code",
            Field::Name => "name",
            Field::Status => "status",
            Field::Severity => "severity",
            Field::Account => "account",
            Field::Region => "region",
            Field::Resource => "resource",
            Field::Message => "message",
            Field::Remediation => "remediation",
            Field::Evidence => "evidence",
            Field::Compliance => "compliance",
            Field::File => "file",
            Field::Line => "line",
            Field::Column => "column",
            Field::MutedStatus => "muted_status",
            Field::MutedReason => "muted_reason",
            Field::MutedExpires => "muted_expires",
            Field::MutedEntry => "muted_entry",
        }
    }
}

/// What comes before each member of a finding whose opening brace is indented by `base`:
/// `,`, newline, indentation and `"name": `, laid out once per report.
#[derive(Debug, Default)]
pub(crate) struct Layout {
    base: Vec<u8>,
    members: Vec<Vec<u8>>,
    /// The catalogue's compliance lists (one per check, several checks share one), rendered.
    compliance: Vec<(&'static [&'static str], Vec<u8>)>,
}

impl Layout {
    pub(crate) fn new(base: &[u8]) -> Layout {
        let mut compliance: Vec<(&'static [&'static str], Vec<u8>)> = Vec::new();
        for info in trailseal_checks::catalogue() {
            if !compliance.iter().any(|(ids, _)| *ids == info.compliance) {
                let mut bytes = Vec::new();
                value(&mut bytes, &serde_json::json!(info.compliance), base, 1);
                compliance.push((info.compliance, bytes));
            }
        }
        let members = Field::ALL
            .iter()
            .map(|f| {
                let key = f.key();
                debug_assert!(!key.bytes().any(escaped));
                let mut m = b",".to_vec();
                newline(&mut m, base, 1);
                m.push(b'"');
                m.extend_from_slice(key.as_bytes());
                m.extend_from_slice(b"\": ");
                m
            })
            .collect();
        Layout {
            base: base.to_vec(),
            members,
            compliance,
        }
    }

    /// `ids` rendered at this layout's depth, when it is a list of the catalogue.
    fn compliance(&self, ids: &[Cow<'static, str>]) -> Option<&[u8]> {
        self.compliance
            .iter()
            .find(|(known, _)| {
                // A finding's list is usually the catalogue's own strings: the same pointers.
                known.len() == ids.len()
                    && known.iter().zip(ids).all(|(a, b)| {
                        (std::ptr::eq(a.as_ptr(), b.as_ptr()) && a.len() == b.len()) || *a == b
                    })
            })
            .map(|(_, bytes)| bytes.as_slice())
    }
}

/// The renderings of the compliance lists written so far (a few: one per check, at most).
#[derive(Default)]
pub(crate) struct ComplianceCache {
    base: Vec<u8>,
    lists: Vec<(Vec<Cow<'static, str>>, Vec<u8>)>,
}

impl ComplianceCache {
    fn rendering(&mut self, ids: &[Cow<'static, str>], base: &[u8]) -> &[u8] {
        if self.base != base {
            self.lists.clear();
            base.clone_into(&mut self.base);
        }
        let at = match self.lists.iter().position(|(known, _)| known == ids) {
            Some(at) => at,
            None => {
                if self.lists.len() >= 16 {
                    self.lists.clear();
                }
                let mut bytes = Vec::new();
                let list = Value::Array(ids.iter().map(|id| Value::from(id.as_ref())).collect());
                value(&mut bytes, &list, base, 1);
                self.lists.push((ids.to_vec(), bytes));
                self.lists.len() - 1
            }
        };
        self.lists
            .get(at)
            .map_or(&[], |(_, bytes)| bytes.as_slice())
    }
}

/// An object's members, one per line, from a [`Layout`].
struct Members<'a> {
    out: &'a mut Vec<u8>,
    layout: &'a Layout,
    first: bool,
}

impl Members<'_> {
    fn key(&mut self, field: Field) -> &mut Vec<u8> {
        let before = self
            .layout
            .members
            .get(field as usize)
            .map_or(&[][..], Vec::as_slice);
        // The first member has no comma before it.
        let skip = usize::from(self.first);
        self.first = false;
        self.out
            .extend_from_slice(before.get(skip..).unwrap_or_default());
        self.out
    }

    fn str(&mut self, field: Field, s: &str) {
        string(self.key(field), s);
    }

    /// A number's decimal digits (what serde_json writes; without the formatting machinery:
    /// two per finding).
    fn number(&mut self, field: Field, n: u64) {
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = n;
        loop {
            at -= 1;
            // A digit: below 10.
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        self.key(field).extend_from_slice(&digits[at..]);
    }
}

/// Writes a finding as serde_json's pretty printer writes it (its derived `Serialize`) when
/// its opening brace is on a line indented by the layout's base.
pub(crate) fn finding(
    out: &mut Vec<u8>,
    f: &Finding,
    layout: &Layout,
    cache: &mut ComplianceCache,
) {
    // Every field by name: a field added to `Finding` does not compile here until it is
    // written (the tests compare with serde_json).
    let Finding {
        code,
        name,
        status,
        severity,
        account,
        region,
        resource,
        message,
        remediation,
        evidence,
        compliance,
        file,
        line,
        column,
        muted,
    } = f;
    let base = layout.base.as_slice();
    out.push(b'{');
    let mut m = Members {
        out,
        layout,
        first: true,
    };
    m.str(Field::Code, code);
    m.str(Field::Name, name);
    m.str(Field::Status, status.as_str());
    m.str(Field::Severity, severity.as_str());
    m.str(Field::Account, account);
    m.str(Field::Region, region);
    m.str(Field::Resource, resource);
    m.str(Field::Message, message);
    m.str(Field::Remediation, remediation);
    value(m.key(Field::Evidence), evidence, base, 1);
    // The catalogue's lists are rendered once per report; any other (an evidence file of
    // another version) once per unit.
    let rendered = match layout.compliance(compliance) {
        Some(bytes) => bytes,
        None => cache.rendering(compliance, base),
    };
    m.key(Field::Compliance).extend_from_slice(rendered);
    if let Some(file) = file {
        m.str(Field::File, file);
    }
    if let Some(line) = line {
        m.number(Field::Line, u64::from(*line));
    }
    if let Some(column) = column {
        m.number(Field::Column, u64::from(*column));
    }
    if let Some(Muted {
        status,
        reason,
        expires,
        entry,
    }) = muted
    {
        m.str(Field::MutedStatus, status.as_str());
        m.str(Field::MutedReason, reason);
        if let Some(expires) = expires {
            m.str(Field::MutedExpires, expires);
        }
        m.number(Field::MutedEntry, u64::try_from(*entry).unwrap_or(u64::MAX));
    }
    newline(m.out, base, 0);
    m.out.push(b'}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Serialize;
    use serde_json::json;
    use trailseal_model::{Severity, Status};

    /// serde_json's pretty rendering of `v` as the value of a key nested `depth` objects deep,
    /// cut out of the document: what the report holds.
    fn reference(v: &impl Serialize, depth: usize) -> String {
        let mut doc = serde_json::to_value(v).expect("serializable");
        for _ in 0..depth {
            doc = json!({ "k": doc });
        }
        let text = serde_json::to_string_pretty(&doc).expect("serializable");
        // The value is what is left without the enclosing objects' openings and closings.
        let mut rest = text.as_str();
        for d in 0..depth {
            let open = format!("{{\n{}\"k\": ", " ".repeat(2 * (d + 1)));
            let close = format!("\n{}}}", " ".repeat(2 * d));
            rest = rest.strip_prefix(&open).expect("opening");
            rest = rest.strip_suffix(&close).expect("closing");
        }
        rest.to_owned()
    }

    fn ours(v: &Value, depth: usize) -> String {
        let base = " ".repeat(2 * depth);
        let mut out = Vec::new();
        value(&mut out, v, base.as_bytes(), 0);
        String::from_utf8(out).expect("UTF-8")
    }

    fn finding_text(f: &Finding, depth: usize, cache: &mut ComplianceCache) -> String {
        let layout = Layout::new(" ".repeat(2 * depth).as_bytes());
        let mut out = Vec::new();
        super::finding(&mut out, f, &layout, cache);
        String::from_utf8(out).expect("UTF-8")
    }

    fn sample() -> Finding {
        Finding {
            code: "X-001".into(),
            name: "a name, \"quoted\"".into(),
            status: Status::Fail,
            severity: Severity::Critical,
            account: "${AWS::AccountId}".into(),
            region: "eu-west-1".into(),
            resource: "aws_cloudtrail.t[\"a\"]".into(),
            message: "line one\nline \"two\"\t\\ \u{1} \u{7f} é 日本".into(),
            remediation: String::new(),
            evidence: json!({
                "decision": "deny", "empty": {}, "none": [], "n": 1, "f": 1.5, "neg": -3,
                "nested": [{"a": [1, [2, {}]], "b": null, "c": true, "d": false}],
            }),
            compliance: vec![
                "CIS-AWS-v1.2.0-2.7".into(),
                "HIPAA-164.312(a)(2)(iv)".into(),
            ],
            file: Some("dir/main.tf".into()),
            line: Some(33),
            column: Some(1),
            muted: None,
        }
    }

    #[test]
    fn a_finding_is_written_as_serde_json_writes_it() {
        let mut cache = ComplianceCache::default();
        let mut f = sample();
        for depth in [0, 1, 2, 3] {
            assert_eq!(finding_text(&f, depth, &mut cache), reference(&f, depth));
        }
        // Findings of different checks one after the other: each with its own list.
        let mut g = sample();
        g.compliance = vec!["PCI-DSS-10.3.2".into()];
        for h in [&f, &g, &f, &g] {
            assert_eq!(finding_text(h, 2, &mut cache), reference(h, 2));
        }
        // The catalogue's lists (rendered with the layout).
        for info in trailseal_checks::catalogue() {
            g.compliance = info.compliance.iter().map(|c| (*c).into()).collect();
            for depth in [1, 2] {
                assert_eq!(finding_text(&g, depth, &mut cache), reference(&g, depth));
            }
        }
        // Optional fields absent, a muted finding, another compliance list after the cached
        // one, an empty one.
        f.file = None;
        f.line = None;
        f.muted = Some(Muted {
            status: Status::Fail,
            reason: "accepted \"risk\"".into(),
            expires: Some("2027-01-01".into()),
            entry: 3,
        });
        f.compliance = vec!["SOC2-CC6.1".into()];
        assert_eq!(finding_text(&f, 2, &mut cache), reference(&f, 2));
        if let Some(m) = f.muted.as_mut() {
            m.expires = None;
        }
        f.compliance.clear();
        f.evidence = json!(null);
        assert_eq!(finding_text(&f, 2, &mut cache), reference(&f, 2));
        // Numbers of every width.
        for (n, entry) in [(0, 0), (9, 10), (10, 99), (u32::MAX, usize::MAX)] {
            f.line = Some(n);
            f.column = Some(n / 7);
            if let Some(m) = f.muted.as_mut() {
                m.entry = entry;
            }
            assert_eq!(finding_text(&f, 1, &mut cache), reference(&f, 1));
        }
    }

    /// Any JSON value (the evidence) nested at any depth.
    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
            "[\u{0}-\u{7f}]{0,40}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[\u{0}-\u{7f}é]{0,12}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn strings_are_escaped_as_serde_json_escapes_them(s in any::<String>(), ascii in "[\u{0}-\u{7f}]{0,80}") {
            for s in [&s, &ascii] {
                let mut out = Vec::new();
                string(&mut out, s);
                prop_assert_eq!(String::from_utf8(out).expect("UTF-8"), serde_json::to_string(s).expect("string"));
            }
        }

        #[test]
        fn values_are_written_as_serde_json_writes_them(v in arb_value(), depth in 0usize..4) {
            prop_assert_eq!(ours(&v, depth), reference(&v, depth));
        }
    }
}

//! `--format csv`: one row per finding, RFC 4180 (comma-separated, CRLF line ends, fields with
//! a comma, quote or line break in double quotes, quotes doubled), with a header row and a
//! fixed column order ([`COLUMNS`], documented in docs/reference.md). Spreadsheets for
//! auditors; the compliance ids are joined with `;` in one column.

use trailseal_model::Finding;

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "account",
    "region",
    "code",
    "name",
    "status",
    "severity",
    "resource",
    "file",
    "line",
    "message",
    "remediation",
    "compliance",
    "muted_status",
    "muted_reason",
];

/// The header row.
pub(crate) fn header() -> String {
    row(COLUMNS.iter().map(|c| (*c).to_owned()))
}

/// One finding's row.
pub(crate) fn finding(f: &Finding) -> String {
    row([
        f.account.clone(),
        f.region.clone(),
        f.code.clone(),
        f.name.clone(),
        f.status.as_str().to_owned(),
        f.severity.as_str().to_owned(),
        f.resource.clone(),
        f.file.clone().unwrap_or_default(),
        f.line.map(|l| l.to_string()).unwrap_or_default(),
        f.message.clone(),
        f.remediation.clone(),
        f.compliance.join(";"),
        f.muted
            .as_ref()
            .map(|m| m.status.as_str().to_owned())
            .unwrap_or_default(),
        f.muted
            .as_ref()
            .map(|m| m.reason.clone())
            .unwrap_or_default(),
    ])
}

fn row(fields: impl IntoIterator<Item = String>) -> String {
    let mut out = fields
        .into_iter()
        .map(|f| field(&f))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    out
}

/// A field, quoted when RFC 4180 requires it. A field starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return is
/// prefixed with `'` so that a spreadsheet never runs it as a formula (a resource name or
/// message comes from the account or the code scanned: CSV injection, OWASP).
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn quotes_what_rfc_4180_requires_and_defuses_formulas() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(field("-1"), "'-1");
    }
}

//! `--format junit`: JUnit XML, so that CI systems (GitLab, Jenkins, Azure DevOps, GitHub
//! test reporters) show the findings natively: one `<testsuite>` per check, one `<testcase>`
//! per resource and check. `fail` is a `<failure>`; `error` and `indeterminate` (could not be
//! decided) are `<error>`s; `skipped` and `muted` are `<skipped>` with the reason. The failure
//! text carries the message, the fix and the key-policy evaluation trace. Validated against
//! the Jenkins/Surefire `junit-10.xsd` (as published in pytest's source distribution) in the
//! test suite.

use trailseal_model::{Finding, Status};

/// XML text: markup characters escaped, and the control characters XML 1.0 cannot hold
/// replaced.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// An XML attribute value: [`escape`], and line breaks and tabs as character references (an
/// XML parser turns raw ones in attributes into spaces).
pub(crate) fn escape_attr(text: &str) -> String {
    escape(text)
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
        .replace('\t', "&#9;")
}

/// XML element content: only `&`, `<` and `>` need escaping there (quotes stay readable in CI
/// views); control characters as in [`escape`].
pub(crate) fn escape_text(text: &str) -> String {
    escape(text).replace("&quot;", "\"").replace("&apos;", "'")
}

/// The detail of a problem: message, fix, and how the key policy was evaluated.
fn detail(f: &Finding) -> String {
    let mut out = format!("{}\n\nfix:\n{}", f.message, f.remediation);
    if let Some(lines) = f.evidence.get("explanation").and_then(|v| v.as_array()) {
        out.push_str("\n\nhow the key policy was evaluated:");
        for l in lines.iter().filter_map(|l| l.as_str()) {
            out.push_str("\n  ");
            out.push_str(l);
        }
    }
    out
}

/// One finding's `<testcase>`.
pub(crate) fn case(f: &Finding) -> String {
    let mut name = f.resource.clone();
    match (&f.file, f.line) {
        (Some(file), Some(line)) => name = format!("{name} ({file}:{line})"),
        (Some(file), None) => name = format!("{name} ({file})"),
        _ if !f.account.is_empty() && !f.region.is_empty() => {
            name = format!("{name} (account {}, {})", f.account, f.region)
        }
        _ => {}
    }
    let open = format!(
        "    <testcase name=\"{}\" classname=\"{}\" time=\"0\"",
        escape_attr(&name),
        escape_attr(&format!("{} {}", f.code, f.name))
    );
    let child = |tag: &str, kind: &str, text: &str| {
        format!(
            "{open}>\n      <{tag} message=\"{}\" type=\"{kind}\">{}</{tag}>\n    </testcase>\n",
            escape_attr(&f.message),
            escape_text(text)
        )
    };
    match f.status {
        Status::Pass => format!("{open}/>\n"),
        Status::Fail => child("failure", f.severity.as_str(), &detail(f)),
        Status::Error => child("error", "error", &detail(f)),
        Status::Indeterminate => child("error", "indeterminate", &detail(f)),
        Status::Skipped => format!(
            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
            escape_attr(&f.message)
        ),
        Status::Muted => {
            let reason = f.muted.as_ref().map_or("", |m| m.reason.as_str());
            format!(
                "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>\n",
                escape_attr(&format!("muted: {reason}: {}", f.message))
            )
        }
    }
}

/// The counts of a suite's cases (tests, failures, errors, skipped), read from their XML.
pub(crate) fn counts(cases: &[String]) -> (usize, usize, usize, usize) {
    let mut c = (cases.len(), 0, 0, 0);
    for case in cases {
        if case.contains("\n      <failure ") {
            c.1 += 1;
        } else if case.contains("\n      <error ") {
            c.2 += 1;
        } else if case.contains("\n      <skipped ") {
            c.3 += 1;
        }
    }
    c
}

/// A `<testsuite>` of one check's cases.
pub(crate) fn suite(code: &str, timestamp: &str, cases: &[String]) -> String {
    let (tests, failures, errors, skipped) = counts(cases);
    let name = trailseal_checks::info(code).map_or(code.to_owned(), |i| {
        format!("{} {}: {}", i.code, i.name, i.title)
    });
    let mut out = format!(
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" \
         skipped=\"{skipped}\" time=\"0\" timestamp=\"{}\" hostname=\"trailseal\">\n",
        escape_attr(&name),
        escape(timestamp)
    );
    for case in cases {
        out.push_str(case);
    }
    out.push_str("  </testsuite>\n");
    out
}

/// The document's start (with the totals) and end.
pub(crate) fn head(tests: usize, failures: usize, errors: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}\n<testsuites name=\"trailseal\" \
         tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"0\">\n",
        crate::WRITTEN_BY_XML
    )
}

pub(crate) const TAIL: &str = "</testsuites>\n";

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_characters_xml_cannot_hold() {
        assert_eq!(escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(escape("bell\u{7}"), "bell\u{FFFD}");
        assert_eq!(escape("tab\tnewline\n"), "tab\tnewline\n");
    }
}

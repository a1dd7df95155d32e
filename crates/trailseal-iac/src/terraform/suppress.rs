//! Inline suppressions in HCL comments (`# trailseal:skip=TS011:reason`).

/// Inline suppressions of a resource block, checkov-style, in a `#` or `//` comment inside the
/// block or on the comment lines just above it:
/// `# trailseal:skip=TS011:rotation is done by re-keying (runbook RB-12)`.
/// Ok((code, reason)), or Err((line, message)) for one without a reason.
pub(super) fn inline_skips(
    text: &str,
    span: std::ops::Range<usize>,
) -> Vec<Result<(String, String), (u32, String)>> {
    const MARK: &str = "trailseal:skip";
    let start = text.get(..span.start).map_or(0, |before| {
        // The comment lines directly above the block.
        let mut at = before.rfind('\n').map_or(0, |i| i + 1);
        while at > 0 {
            let prev_start = text[..at - 1].rfind('\n').map_or(0, |i| i + 1);
            let line = text[prev_start..at - 1].trim_start();
            if line.starts_with('#') || line.starts_with("//") {
                at = prev_start;
            } else {
                break;
            }
        }
        at
    });
    let Some(region) = text.get(start..span.end.max(start)) else {
        return Vec::new();
    };
    // Most blocks have no suppression: one search of the region, not one per line.
    if memchr::memmem::find(region.as_bytes(), MARK.as_bytes()).is_none() {
        return Vec::new();
    }
    let first_line = memchr::memchr_iter(b'\n', &text.as_bytes()[..start]).count();
    let mut out = Vec::new();
    for (i, line) in region.lines().enumerate() {
        let Some(at) = line.find(MARK) else { continue };
        let before = line[..at].trim_end();
        if !(before.contains('#') || before.contains("//")) {
            continue;
        }
        let rest = line[at + MARK.len()..].trim_start_matches([' ', '=']);
        let (code, reason) = match rest.split_once(':') {
            Some((c, r)) => (c.trim(), r.trim()),
            None => (rest.trim(), ""),
        };
        let line_no = u32::try_from(first_line + i + 1).unwrap_or(u32::MAX);
        let code = code.to_ascii_uppercase();
        if code.is_empty() || reason.is_empty() {
            // The example names the code that was written, so it can be pasted back.
            let example = if code.is_empty() { "TS0NN" } else { &code };
            out.push(Err((
                line_no,
                format!(
                    "suppression of {} has no reason: write `# {MARK}={example}:why it does not apply here`",
                    if code.is_empty() { "(no code)" } else { &code }
                ),
            )));
        } else {
            out.push(Ok((code, reason.to_owned())));
        }
    }
    out
}

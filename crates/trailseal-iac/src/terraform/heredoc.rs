//! Indented heredocs (`<<-EOT`) dedented as Terraform does, before hcl-edit parses the file.
//!
//! Terraform: "the indented form of heredoc ... trims the smallest amount of leading
//! whitespace from each line" (Strings and Templates, Indented Heredocs,
//! https://developer.hashicorp.com/terraform/language/expressions/strings#indented-heredocs).
//! hcl-edit (0.9 and 0.10) computes that amount per literal between interpolations and ignores
//! a literal that has an unindented line (`util::min_leading_whitespace` returns None for it),
//! so a policy whose `{` is at column 0 and that has two interpolations on other lines loses
//! the `{`: valid Terraform read as invalid JSON. Here the smallest indentation of all the
//! heredoc's non-blank lines is removed and the heredoc becomes a plain `<<EOT` one, line
//! numbers unchanged.

use std::borrow::Cow;

/// `text` with every indented heredoc dedented (borrowed when there is none).
pub(super) fn dedent_indented_heredocs(text: &str) -> Cow<'_, str> {
    if !text.contains("<<-") {
        return Cow::Borrowed(text);
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let opening = line.find("<<-").and_then(|pos| {
            let marker = line[pos + 3..].trim_end_matches(['\n', '\r']);
            let valid = marker
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && marker
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            valid.then_some((pos, marker))
        });
        let Some((pos, marker)) = opening else {
            out.push_str(line);
            i += 1;
            continue;
        };
        let Some(end) = (i + 1..lines.len()).find(|&j| lines[j].trim() == marker) else {
            out.push_str(line);
            i += 1;
            continue;
        };
        let content = &lines[i + 1..end];
        let indent = content
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
            .min()
            .unwrap_or(0);
        out.push_str(&line[..pos]);
        out.push_str("<<");
        out.push_str(&line[pos + 3..]);
        for l in content {
            if l.trim().is_empty() {
                out.push_str(&l[l.trim_end_matches(['\n', '\r']).len()..]);
            } else {
                out.push_str(&l[indent..]);
            }
        }
        let close = lines[end];
        out.push_str(close.trim_start_matches([' ', '\t']));
        i = end + 1;
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::dedent_indented_heredocs as dedent;

    #[test]
    fn the_smallest_indentation_of_all_lines_is_removed() {
        let text = "p = <<-EOT\n{\n  \"a\": \"${v}\",\n  \"c\": \"${v}\"\n}\n  EOT\n";
        assert_eq!(
            dedent(text),
            "p = <<EOT\n{\n  \"a\": \"${v}\",\n  \"c\": \"${v}\"\n}\nEOT\n"
        );
        let text = "p = <<-EOT\n    a\n      b\n\n    c\n    EOT\nq = 1\n";
        assert_eq!(dedent(text), "p = <<EOT\na\n  b\n\nc\nEOT\nq = 1\n");
        // Not a heredoc: unchanged.
        assert_eq!(dedent("p = \"<<-\"\n"), "p = \"<<-\"\n");
        assert_eq!(dedent("p = 1\n"), "p = 1\n");
    }
}

//! A fast reader for the plain shape most CloudFormation templates have, in front of
//! yaml-rust2 (which costs about 230 instructions per byte: a tenth of a scan's instructions
//! went to it on the bench corpus).
//!
//! It reads block mappings and sequences, one-line flow collections, plain and one-line quoted
//! scalars, short tags (`!Ref`, `!If`) and comments, and builds the same tree as the full
//! parser: the same values through the same [`super::scalar`] and [`super::apply_tag`], and
//! the same positions (yaml-rust2's marks: a block mapping is where its first key's `:` is, a
//! block sequence at its first `-`, a quoted scalar at its opening quote, an empty value at the
//! token that follows it). Anything else it declines (`None`): anchors and aliases, block
//! scalars (`|`, `>`), multi-line scalars and flow collections, documents markers and
//! directives, tabs, carriage returns, duplicate keys, escapes other than the common ones, and
//! any error; the full parser reads those and reports their errors. The tests compare the two
//! on generated documents: where this one answers, the trees are equal.

use super::{apply_tag, key_text, scalar, Node, Pos, Value};
use yaml_rust2::scanner::TScalarStyle;

/// The tree of `text`, or None when it is not of the shape this reader takes.
pub(super) fn parse(text: &str) -> Option<Node> {
    let b = text.as_bytes();
    // Only YAML's printable characters, and no line break but `\n`: yaml-rust2 takes a NUL
    // for the end of the input, rejects other control characters, and has its own rules for
    // tabs, CR, NEL, the Unicode line separators and a byte order mark.
    let odd = |c: char| {
        matches!(c, '\0'..='\u{9}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
            )
    };
    if b.iter().any(|&c| c < 0x20 && c != b'\n' || c == 0x7f)
        || (!text.is_ascii() && text.chars().any(odd))
    {
        return None;
    }
    let mut r = Reader {
        text,
        b,
        i: 0,
        line: 1,
        line_start: 0,
        ascii: text.is_ascii(),
        depth: 0,
    };
    r.skip_blank_lines();
    if r.i >= b.len() || r.indent() != 0 || r.at_document_marker() {
        return None;
    }
    let root = r.block_mapping(0)?;
    r.skip_blank_lines();
    (r.i >= b.len()).then_some(root)
}

struct Reader<'t> {
    text: &'t str,
    b: &'t [u8],
    /// The byte being read.
    i: usize,
    /// Its line (1-based) and where that line starts.
    line: usize,
    line_start: usize,
    /// Whether columns are byte offsets (else characters are counted, as yaml-rust2 does).
    ascii: bool,
    /// How many collections are open: past [`MAX_DEPTH`] the reader declines (the stack of a
    /// scan's worker is not spent on a document nested thousands deep).
    depth: usize,
}

const MAX_DEPTH: usize = 64;

fn plain_start(c: u8, next: Option<u8>) -> bool {
    match c {
        b'-' | b'?' | b':' => next.is_some_and(|n| n != b' ' && n != b'\n'),
        b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\''
        | b'"' | b'%' | b'@' | b'`' | b' ' | b'\n' => false,
        _ => true,
    }
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    /// The position of byte `i` of the current line, as the tree records it.
    fn pos_at(&self, i: usize) -> Pos {
        let column = if self.ascii {
            i - self.line_start
        } else {
            self.text
                .get(self.line_start..i)
                .map_or(0, |s| s.chars().count())
        };
        Pos {
            line: u32::try_from(self.line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// Spaces from the start of the current line to its first other byte.
    fn indent(&self) -> usize {
        self.b[self.line_start..]
            .iter()
            .take_while(|&&c| c == b' ')
            .count()
    }

    fn at_document_marker(&self) -> bool {
        let rest = &self.b[self.line_start..];
        (rest.starts_with(b"---") || rest.starts_with(b"..."))
            && matches!(rest.get(3), None | Some(b' ' | b'\n'))
            || rest.first() == Some(&b'%')
    }

    /// From the start of a line: past empty lines and comment lines, to the first byte of the
    /// next content line (or the end).
    fn skip_blank_lines(&mut self) {
        loop {
            let start = self.i;
            let mut j = start;
            while self.at(j) == Some(b' ') {
                j += 1;
            }
            match self.at(j) {
                None => {
                    self.i = j;
                    return;
                }
                Some(b'\n') => self.newline(j),
                Some(b'#') => {
                    let end = memchr::memchr(b'\n', &self.b[j..]).map(|k| j + k);
                    match end {
                        Some(e) => self.newline(e),
                        None => {
                            self.i = self.b.len();
                            return;
                        }
                    }
                }
                Some(_) => {
                    self.i = j;
                    return;
                }
            }
        }
    }

    /// Moves to the start of the line after the newline at `nl`.
    fn newline(&mut self, nl: usize) {
        self.i = nl + 1;
        self.line += 1;
        self.line_start = self.i;
    }

    /// After a value on a line: spaces and a comment up to the newline (or the end), then the
    /// next content line. None when something else follows on the line.
    fn end_of_line(&mut self) -> Option<()> {
        let mut j = self.i;
        while self.at(j) == Some(b' ') {
            j += 1;
        }
        match self.at(j) {
            None => self.i = j,
            Some(b'\n') => self.newline(j),
            Some(b'#') if j > self.i || j == self.line_start => {
                match memchr::memchr(b'\n', &self.b[j..]) {
                    Some(k) => self.newline(j + k),
                    None => self.i = self.b.len(),
                }
            }
            _ => return None,
        }
        self.skip_blank_lines();
        Some(())
    }

    /// Whether the reader is at a block sequence's `-` (followed by a space, a line break or
    /// the end).
    fn at_dash(&self) -> bool {
        self.peek() == Some(b'-') && matches!(self.at(self.i + 1), Some(b' ' | b'\n') | None)
    }

    /// Whether the reader is at the end, or at a content line indented less than `indent`.
    fn ends_block(&self, indent: usize) -> bool {
        self.i >= self.b.len() || self.i - self.line_start < indent
    }

    /// `read` one collection deeper; None past [`MAX_DEPTH`].
    fn nested(&mut self, read: impl FnOnce(&mut Self) -> Option<Node>) -> Option<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let node = read(self);
        self.depth -= 1;
        node
    }

    /// A block mapping whose keys are at column `indent`, the reader at its first key.
    fn block_mapping(&mut self, indent: usize) -> Option<Node> {
        self.nested(|r| r.block_mapping_entries(indent))
    }

    fn block_mapping_entries(&mut self, indent: usize) -> Option<Node> {
        let mut entries: Vec<(String, Pos, Node)> = Vec::new();
        let mut pos = None;
        loop {
            if self.at_document_marker() {
                return None;
            }
            let (key, key_pos) = self.key()?;
            // yaml-rust2 marks the mapping where its first key's `:` is.
            pos.get_or_insert(self.pos_at(self.i));
            self.i += 1; // the ':'
            let value = self.value_after_indicator(indent)?;
            if entries.iter().any(|(k, _, _)| *k == key) {
                return None; // the full parser reports it
            }
            entries.push((key, key_pos, value));
            if self.ends_block(indent) {
                break;
            }
            if self.i - self.line_start != indent || self.peek() == Some(b'-') {
                return None;
            }
        }
        Some(Node {
            value: Value::Map(entries),
            pos: pos?,
        })
    }

    /// A mapping key on the current line, the reader left at its `:`.
    fn key(&mut self) -> Option<(String, Pos)> {
        let start = self.i;
        let key_pos = self.pos_at(start);
        let (text, style) = match self.peek()? {
            b'"' | b'\'' => self.quoted()?,
            c if plain_start(c, self.at(start + 1)) => {
                let mut j = start;
                loop {
                    match self.at(j)? {
                        b'\n' => return None,
                        b':' if matches!(self.at(j + 1), None | Some(b' ' | b'\n')) => break,
                        b'#' if self.at(j - 1) == Some(b' ') => return None,
                        _ => j += 1,
                    }
                }
                if self.at(j - 1) == Some(b' ') {
                    return None;
                }
                self.i = j;
                (self.text.get(start..j)?.to_owned(), TScalarStyle::Plain)
            }
            _ => return None,
        };
        if self.peek() != Some(b':') || !matches!(self.at(self.i + 1), None | Some(b' ' | b'\n')) {
            return None;
        }
        // yaml-rust2 takes an implicit key of up to 1,024 characters (then it is an error).
        if self.i - start > 1000 {
            return None;
        }
        Some((key_text(scalar(text, style, None))?, key_pos))
    }

    /// The value after a mapping's `:` (or a sequence's `-`) whose own line is indented by
    /// `indent`: on the same line, or a block collection on the lines below.
    fn value_after_indicator(&mut self, indent: usize) -> Option<Node> {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        let tag = if self.peek() == Some(b'!') {
            let tag = self.tag()?;
            while self.peek() == Some(b' ') {
                self.i += 1;
            }
            Some(tag)
        } else {
            None
        };
        match self.peek() {
            None | Some(b'\n') | Some(b'#') => {
                let comment_ok = self.peek() != Some(b'#') || self.at(self.i - 1) == Some(b' ');
                if !comment_ok {
                    return None;
                }
                self.end_of_line()?;
                if self.ends_block(indent + 1) {
                    // An empty value: yaml-rust2 marks it at the token that follows. A `-` at
                    // the key's own column would be a sequence as the value (not read here).
                    if tag.is_some()
                        || self.i >= self.b.len()
                        || (self.at_dash() && self.i - self.line_start == indent)
                    {
                        return None;
                    }
                    let p = self.pos_at(self.i);
                    return Some(Node {
                        value: scalar(String::new(), TScalarStyle::Plain, None),
                        pos: p,
                    });
                }
                let inner = self.i - self.line_start;
                let node = if self.at_dash() {
                    self.block_sequence(inner)?
                } else {
                    self.block_mapping(inner)?
                };
                Some(apply_tag(tag, node))
            }
            Some(_) => {
                let node = self.inline_value(tag.as_deref())?;
                self.end_of_line()?;
                if !self.ends_block(indent + 1) {
                    return None; // a continuation line, or a mapping value on its own line
                }
                Some(apply_tag(tag, node))
            }
        }
    }

    /// `!Name` (a local tag), the reader left after it.
    fn tag(&mut self) -> Option<String> {
        let start = self.i + 1;
        let mut j = start;
        while self
            .at(j)
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b':')
        {
            j += 1;
        }
        if j == start || !matches!(self.at(j), None | Some(b' ' | b'\n')) {
            return None;
        }
        self.i = j;
        self.text.get(start..j).map(str::to_owned)
    }

    /// A block sequence whose `-` are at column `indent`, the reader at the first.
    fn block_sequence(&mut self, indent: usize) -> Option<Node> {
        self.nested(|r| r.block_sequence_items(indent))
    }

    fn block_sequence_items(&mut self, indent: usize) -> Option<Node> {
        let pos = self.pos_at(self.i);
        let mut items = Vec::new();
        loop {
            self.i += 1; // the '-'
            items.push(self.sequence_item(indent)?);
            if self.ends_block(indent) {
                break;
            }
            if self.i - self.line_start != indent || !self.at_dash() {
                return None;
            }
        }
        Some(Node {
            value: Value::Seq(items),
            pos,
        })
    }

    /// What follows a sequence's `-`: a compact mapping (`- Key: value`), or a value.
    fn sequence_item(&mut self, indent: usize) -> Option<Node> {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
        if self.at_dash() {
            return None; // `- - x`
        }
        if self.starts_key() {
            let inner = self.i - self.line_start;
            return self.block_mapping(inner);
        }
        self.value_after_indicator(indent)
    }

    /// Whether the rest of the line starts with a mapping key (`Key:` or `"Key":`), as
    /// [`Reader::key`] reads one (the reader stays where it is).
    fn starts_key(&mut self) -> bool {
        let at = self.i;
        let key = self.key().is_some();
        self.i = at;
        key
    }

    /// A value on the current line: a quoted or plain scalar, a flow collection, or a tagged
    /// one of those.
    fn inline_value(&mut self, tag: Option<&str>) -> Option<Node> {
        let pos = self.pos_at(self.i);
        match self.peek()? {
            b'"' | b'\'' => {
                let (text, style) = self.quoted()?;
                Some(Node {
                    value: scalar(text, style, tag),
                    pos,
                })
            }
            b'[' | b'{' => self.flow(),
            c if plain_start(c, self.at(self.i + 1)) => {
                let start = self.i;
                let mut j = start;
                let mut end = start;
                loop {
                    match self.at(j) {
                        None | Some(b'\n') => break,
                        Some(b':') if matches!(self.at(j + 1), None | Some(b' ' | b'\n')) => {
                            return None; // `a: b: c`
                        }
                        Some(b'#') if self.at(j - 1) == Some(b' ') => break,
                        Some(b' ') => j += 1,
                        Some(_) => {
                            j += 1;
                            end = j;
                        }
                    }
                }
                self.i = end;
                Some(Node {
                    value: scalar(
                        self.text.get(start..end)?.to_owned(),
                        TScalarStyle::Plain,
                        tag,
                    ),
                    pos,
                })
            }
            _ => None,
        }
    }

    /// A one-line quoted scalar, the reader at its opening quote and left after the closing
    /// one.
    fn quoted(&mut self) -> Option<(String, TScalarStyle)> {
        let q = self.peek()?;
        let start = self.i + 1;
        let mut out = String::new();
        let mut j = start;
        let mut run = start;
        loop {
            match self.at(j)? {
                b'\n' => return None,
                b'\'' if q == b'\'' => {
                    out.push_str(self.text.get(run..j)?);
                    if self.at(j + 1) == Some(b'\'') {
                        out.push('\'');
                        j += 2;
                        run = j;
                    } else {
                        break;
                    }
                }
                b'"' if q == b'"' => {
                    out.push_str(self.text.get(run..j)?);
                    break;
                }
                b'\\' if q == b'"' => {
                    out.push_str(self.text.get(run..j)?);
                    out.push(match self.at(j + 1)? {
                        b'\\' => '\\',
                        b'"' => '"',
                        b'/' => '/',
                        b'n' => '\n',
                        b't' => '\t',
                        _ => return None,
                    });
                    j += 2;
                    run = j;
                }
                _ => j += 1,
            }
        }
        self.i = j + 1;
        let style = if q == b'"' {
            TScalarStyle::DoubleQuoted
        } else {
            TScalarStyle::SingleQuoted
        };
        Some((out, style))
    }

    /// A flow sequence or mapping on one line, the reader at its bracket.
    fn flow(&mut self) -> Option<Node> {
        self.nested(Self::flow_items)
    }

    fn flow_items(&mut self) -> Option<Node> {
        let pos = self.pos_at(self.i);
        let open = self.peek()?;
        let close = if open == b'[' { b']' } else { b'}' };
        self.i += 1;
        let mut items = Vec::new();
        let mut entries: Vec<(String, Pos, Node)> = Vec::new();
        self.flow_spaces();
        if self.peek() == Some(close) {
            self.i += 1;
        } else {
            loop {
                if open == b'{' {
                    let (key, key_pos) = self.flow_key()?;
                    self.i += 1; // ':'
                    self.flow_spaces();
                    let value = self.flow_node()?;
                    if entries.iter().any(|(k, _, _)| *k == key) {
                        return None;
                    }
                    entries.push((key, key_pos, value));
                } else {
                    items.push(self.flow_node()?);
                }
                self.flow_spaces();
                match self.peek()? {
                    b',' => {
                        self.i += 1;
                        self.flow_spaces();
                        if matches!(self.peek(), Some(b']' | b'}')) {
                            return None; // a trailing comma
                        }
                    }
                    c if c == close => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        let value = if open == b'[' {
            Value::Seq(items)
        } else {
            Value::Map(entries)
        };
        Some(Node { value, pos })
    }

    fn flow_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    /// A key of a flow mapping, the reader left at its `:` (followed by a space).
    fn flow_key(&mut self) -> Option<(String, Pos)> {
        let start = self.i;
        let key_pos = self.pos_at(self.i);
        let (text, style) = match self.peek()? {
            b'"' | b'\'' => self.quoted()?,
            _ => {
                let text = self.flow_plain()?;
                (text, TScalarStyle::Plain)
            }
        };
        if self.peek() != Some(b':') || self.at(self.i + 1) != Some(b' ') || self.i - start > 1000 {
            return None;
        }
        Some((key_text(scalar(text, style, None))?, key_pos))
    }

    /// A node inside a flow collection: quoted, plain, nested flow, or tagged.
    fn flow_node(&mut self) -> Option<Node> {
        let tag = if self.peek() == Some(b'!') {
            let tag = self.tag()?;
            self.flow_spaces();
            Some(tag)
        } else {
            None
        };
        let pos = self.pos_at(self.i);
        let node = match self.peek()? {
            b'"' | b'\'' => {
                let (text, style) = self.quoted()?;
                Node {
                    value: scalar(text, style, tag.as_deref()),
                    pos,
                }
            }
            b'[' | b'{' => self.flow()?,
            _ => {
                let text = self.flow_plain()?;
                if self.peek() == Some(b':') {
                    return None; // a pair in a sequence, or `a:b:` forms
                }
                Node {
                    value: scalar(text, TScalarStyle::Plain, tag.as_deref()),
                    pos,
                }
            }
        };
        Some(apply_tag(tag, node))
    }

    /// A plain scalar inside a flow collection, the reader left after it (trailing spaces not
    /// included). Ends before `,`, `]`, `}`, and a `:` followed by a space.
    fn flow_plain(&mut self) -> Option<String> {
        let start = self.i;
        let c = self.peek()?;
        if !plain_start(c, self.at(start + 1)) {
            return None;
        }
        let mut j = start;
        let mut end = start;
        loop {
            // yaml-rust2 rejects `-`, `?` or `:` before a flow indicator inside a flow
            // collection, also within a scalar (`[x -]`).
            if matches!(self.at(j)?, b'-' | b'?' | b':')
                && matches!(self.at(j + 1), Some(b',' | b'[' | b']' | b'{' | b'}'))
            {
                return None;
            }
            match self.at(j)? {
                b'\n' | b'[' | b'{' | b'#' => return None,
                b',' | b']' | b'}' => break,
                b':' if matches!(self.at(j + 1), Some(b' ' | b',' | b']' | b'}' | b'\n')) => break,
                b' ' => j += 1,
                _ => {
                    j += 1;
                    end = j;
                }
            }
        }
        self.i = end;
        self.text.get(start..end).map(str::to_owned)
    }
}

#[cfg(test)]
#[path = "fast_tests.rs"]
mod tests;

//! YAML (and JSON, which YAML 1.2 contains) into a tree that keeps every node's line and
//! column and turns CloudFormation's short intrinsic tags into their long form
//! (`!Ref X` -> `{"Ref": "X"}`, `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`,
//! `!Sub s` -> `{"Fn::Sub": s}`, `!Condition c` -> `{"Condition": c}`).

use std::collections::HashMap;

mod fast;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A position in a file, 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// The number as written.
    Number(String),
    String(String),
    Seq(Vec<Node>),
    /// Keys in document order, with their positions.
    Map(Vec<(String, Pos, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub pos: Pos,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v),
            _ => None,
        }
    }

    pub fn entries(&self) -> &[(String, Pos, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) | Value::Number(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: u32,
    pub column: u32,
    pub message: String,
}

fn pos(mark: &Marker) -> Pos {
    Pos {
        line: u32::try_from(mark.line()).unwrap_or(u32::MAX),
        column: u32::try_from(mark.col() + 1).unwrap_or(u32::MAX),
    }
}

enum Frame {
    Seq {
        pos: Pos,
        tag: Option<String>,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        tag: Option<String>,
        anchor: usize,
        entries: Vec<(String, Pos, Node)>,
        key: Option<(String, Pos)>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Node>,
    error: Option<ParseError>,
}

fn tag_name(tag: Option<yaml_rust2::parser::Tag>) -> Option<String> {
    let tag = tag?;
    // `!Ref` has handle "!" and suffix "Ref"; standard tags (`!!str`) are ignored.
    (tag.handle == "!").then_some(tag.suffix)
}

fn scalar(text: String, style: TScalarStyle, tag: Option<&str>) -> Value {
    if style != TScalarStyle::Plain || tag.is_some() {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        t if t.parse::<f64>().is_ok() && !t.starts_with('+') && !t.ends_with('.') => {
            Value::Number(text)
        }
        _ => Value::String(text),
    }
}

/// A mapping key's text: a scalar's (`true` for a true boolean, empty for null); None for a
/// collection, which cannot be a key here.
fn key_text(value: Value) -> Option<String> {
    match value {
        Value::String(s) | Value::Number(s) => Some(s),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null => Some(String::new()),
        Value::Seq(_) | Value::Map(_) => None,
    }
}

/// Wraps a tagged node into the long form of the intrinsic function.
fn apply_tag(tag: Option<String>, node: Node) -> Node {
    let Some(tag) = tag else { return node };
    let p = node.pos;
    let value = match (tag.as_str(), node.value) {
        ("GetAtt", Value::String(s)) => {
            let (resource, attribute) = s.split_once('.').unwrap_or((s.as_str(), ""));
            Value::Seq(vec![
                Node {
                    value: Value::String(resource.to_owned()),
                    pos: p,
                },
                Node {
                    value: Value::String(attribute.to_owned()),
                    pos: p,
                },
            ])
        }
        (_, v) => v,
    };
    let key = match tag.as_str() {
        "Ref" | "Condition" => tag,
        other => format!("Fn::{other}"),
    };
    Node {
        value: Value::Map(vec![(key, p, Node { value, pos: p })]),
        pos: p,
    }
}

impl Builder {
    fn fail(&mut self, mark: &Marker, message: String) {
        if self.error.is_none() {
            let p = pos(mark);
            self.error = Some(ParseError {
                line: p.line,
                column: p.column,
                message,
            });
        }
    }

    fn push(&mut self, node: Node, anchor: usize, mark: &Marker) {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some((k, kpos)) => {
                    if entries.iter().any(|(e, _, _)| *e == k) {
                        let message = format!("duplicate key {k:?}");
                        self.fail(mark, message);
                        return;
                    }
                    entries.push((k, kpos, node))
                }
                None => match key_text(node.value) {
                    Some(text) => *key = Some((text, node.pos)),
                    None => self.fail(mark, "a mapping key must be a scalar".into()),
                },
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag_name(tag);
                let value = scalar(text, style, tag.as_deref());
                let node = apply_tag(
                    tag,
                    Node {
                        value,
                        pos: pos(&mark),
                    },
                );
                self.push(node, anchor, &mark);
            }
            Event::SequenceStart(anchor, tag) => self.stack.push(Frame::Seq {
                pos: pos(&mark),
                tag: tag_name(tag),
                anchor,
                items: Vec::new(),
            }),
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                pos: pos(&mark),
                tag: tag_name(tag),
                anchor,
                entries: Vec::new(),
                key: None,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq {
                        pos,
                        tag,
                        anchor,
                        items,
                    }) => (
                        apply_tag(
                            tag,
                            Node {
                                value: Value::Seq(items),
                                pos,
                            },
                        ),
                        anchor,
                    ),
                    Some(Frame::Map {
                        pos,
                        tag,
                        anchor,
                        entries,
                        ..
                    }) => (
                        apply_tag(
                            tag,
                            Node {
                                value: Value::Map(entries),
                                pos,
                            },
                        ),
                        anchor,
                    ),
                    None => return,
                };
                self.push(node, anchor, &mark);
            }
            Event::Alias(id) => match self.anchors.get(&id).cloned() {
                Some(node) => self.push(node, 0, &mark),
                None => self.fail(&mark, format!("alias to unknown anchor {id}")),
            },
            _ => {}
        }
    }
}

/// Parses the first document of `text`: most templates with the fast reader (see [`fast`]),
/// the rest with yaml-rust2.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    match fast::parse(text) {
        Some(node) => Ok(node),
        None => full(text),
    }
}

/// Parses the first document of `text` with yaml-rust2.
fn full(text: &str) -> Result<Node, ParseError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut builder, false) {
        let p = pos(e.marker());
        return Err(ParseError {
            line: p.line,
            column: p.column,
            message: e.info().to_owned(),
        });
    }
    if let Some(e) = builder.error {
        return Err(e);
    }
    Ok(builder.root.unwrap_or(Node {
        value: Value::Null,
        pos: Pos { line: 1, column: 1 },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_forms_become_long_forms_with_positions() {
        let doc = parse("A:\n  B: !Ref Key\n  C: !GetAtt Key.Arn\n  D: !Sub\n    - x\n    - {}\n")
            .expect("parses");
        let a = doc.get("A").expect("A");
        assert_eq!(a.pos.line, 2);
        let b = a.get("B").expect("B");
        assert_eq!(b.get("Ref").and_then(Node::as_str), Some("Key"));
        assert_eq!(b.pos.line, 2);
        let (_, key_pos, _) = &a.entries()[0];
        assert_eq!((key_pos.line, key_pos.column), (2, 3));
        let c = a
            .get("C")
            .and_then(|c| c.get("Fn::GetAtt"))
            .expect("GetAtt");
        match &c.value {
            Value::Seq(items) => {
                assert_eq!(items[0].as_str(), Some("Key"));
                assert_eq!(items[1].as_str(), Some("Arn"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            a.get("D").and_then(|d| d.get("Fn::Sub")).map(|n| &n.value),
            Some(Value::Seq(_))
        ));
    }

    #[test]
    fn json_and_errors() {
        let doc = parse("{\"a\": [1, true, null, \"x\"]}").expect("JSON is YAML");
        assert!(matches!(doc.get("a").map(|n| &n.value), Some(Value::Seq(v)) if v.len() == 4));
        let err = parse("a: [1, 2\n").expect_err("unclosed");
        assert!(err.line >= 1);
        let dup = parse("a: 1\na: 2\n").expect_err("duplicate key");
        assert!(dup.message.contains("duplicate"), "{dup}");
    }
}

//! A fast parser for the common subset of HCL's native syntax, building the same syntax tree as
//! hcl-edit's `parse_body` (the types the evaluator matches on).
//!
//! Why: hcl-edit parses with parser combinators and keeps every byte of whitespace and every
//! comment (it is a format-preserving editor); on the bench corpus that is about 245
//! instructions per byte, a quarter of a whole scan. trailseal needs the tree, not the
//! formatting: this parser reads the same files in one pass at a fraction of that.
//!
//! The rule that keeps it safe: **it either builds exactly the tree hcl-edit builds, or gives
//! up** (`None`), and the file is then parsed by hcl-edit, whose tree or error is used as
//! before. It gives up on every construct it does not handle (heredocs, `for` expressions,
//! template directives, `~` strip markers, floats and numbers with leading zeros, negative
//! literals, `...` argument expansion, provider-namespaced functions, escapes other than
//! `\n \r \t \\ \"`, raw newlines in quoted strings, non-ASCII identifiers, deep nesting) and
//! on any syntax error. Where hcl-edit lets newlines into an expression (inside brackets,
//! parentheses, function arguments, and, because its parser state leaks, after an array or a
//! function call in the same expression) this parser follows the same rule, so an expression
//! ends where hcl-edit ends it.
//!
//! What it does not keep: whitespace and comments (decor), which nothing in the evaluation
//! reads, and spans, which hcl-edit lets only its own parser set; the spans trailseal uses
//! (a top-level block's start and end, for line numbers and inline suppressions) are returned
//! beside the tree. The few messages that quote an expression (an unknown `count` or
//! `for_each`, a value that does not match a variable's `type`) print it from the tree, so
//! their spacing is hcl-edit's default rather than the file's (`{a = 1,b = 2}`).
//!
//! Checked by a differential property test against hcl-edit (tests/hcl_fastparse.rs): for
//! generated and mutated HCL, whenever this parser returns a tree, hcl-edit parses the same
//! text to an equal tree (hcl-edit's equality ignores decor), with the same block spans and
//! the same number texts.

use std::ops::Range;

use hcl_edit::expr::{
    Array, BinaryOp, BinaryOperator, Conditional, Expression, FuncArgs, FuncCall, FuncName, Object,
    ObjectKey, ObjectValue, ObjectValueAssignment, ObjectValueTerminator, Parenthesis, Splat,
    Traversal, TraversalOperator, UnaryOp, UnaryOperator,
};
use hcl_edit::structure::{Attribute, Block, BlockLabel, Body, Structure};
use hcl_edit::template::{Element, Interpolation, StringTemplate};
use hcl_edit::{Decorated, Ident, Number, Spanned};

/// Nesting deeper than this gives up (hcl-edit's own limit is 64 levels).
const MAX_DEPTH: usize = 32;
/// Binary operators in one chain beyond this give up (hcl-edit limits them to 128).
const MAX_OPERATORS: usize = 32;

/// A parsed file: its body and the span of each top-level block, in order.
pub(super) struct Parsed {
    pub(super) body: Body,
    pub(super) block_spans: Vec<Range<usize>>,
}

/// Parses `text` as hcl-edit's `parse_body` would, or None when the text is outside the
/// subset this parser handles (or is not valid HCL): parse it with hcl-edit then.
pub(super) fn parse_body(text: &str) -> Option<Parsed> {
    let mut p = Parser {
        s: text.as_bytes(),
        text,
        i: 0,
        depth: 0,
        collections: 0,
    };
    let mut block_spans = Vec::new();
    let body = p.body(Some(&mut block_spans))?;
    (p.i == p.s.len()).then_some(Parsed { body, block_spans })
}

/// Whether newlines may appear between the tokens of an expression (hcl-edit's
/// `ExprParseState::allow_newlines`).
#[derive(Clone, Copy, Default)]
struct St {
    nl: bool,
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
    /// Arrays, objects and argument lists parsed so far (see [`Parser::object`]).
    collections: usize,
}

fn is_id_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_id_continue(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_at(&self, n: usize) -> Option<u8> {
        self.s.get(self.i + n).copied()
    }

    fn starts(&self, prefix: &[u8]) -> bool {
        self.s.get(self.i..).is_some_and(|r| r.starts_with(prefix))
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek() == Some(b)).then(|| self.i += 1)
    }

    /// Into a nested construct (gives up past [`MAX_DEPTH`]).
    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// An expression between brackets whose opening was just read (`(` of a parenthesis, `${`
    /// of an interpolation), up to and including `close`; line breaks allowed inside, one
    /// level deeper.
    fn enclosed(&mut self, close: u8) -> Option<Expression> {
        self.enter()?;
        self.ws()?;
        let expr = self.expr(St { nl: true })?;
        self.ws()?;
        self.eat(close)?;
        self.leave();
        Some(expr)
    }

    // ---- trivia -------------------------------------------------------------------------

    /// The rest of a `#` or `//` comment, up to (not including) its line ending. A lone `\r`
    /// (not a line ending) gives up, as it fails hcl-edit's `till_line_ending`.
    fn till_line_ending(&mut self) -> Option<()> {
        let rest = &self.s[self.i..];
        let n = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
        self.i += n;
        if self.peek() == Some(b'\r') && self.peek_at(1) != Some(b'\n') {
            return None;
        }
        Some(())
    }

    /// At a `#` or `//` comment.
    fn at_line_comment(&self) -> bool {
        matches!(
            (self.peek(), self.peek_at(1)),
            (Some(b'#'), _) | (Some(b'/'), Some(b'/'))
        )
    }

    /// hcl-edit's `opt(line_comment)`: a `#` or `//` comment to the end of its line, if here.
    fn opt_line_comment(&mut self) -> Option<()> {
        if self.at_line_comment() {
            self.till_line_ending()?;
        }
        Some(())
    }

    /// `/* ... */` (the cursor on `/*`).
    fn inline_comment(&mut self) -> Option<()> {
        let rest = self.s.get(self.i + 2..)?;
        let end = memchr::memmem::find(rest, b"*/")?;
        self.i += 2 + end + 2;
        Some(())
    }

    /// hcl-edit's `sp`: spaces, tabs and `/* */` comments.
    fn sp(&mut self) -> Option<()> {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t')) {
                self.i += 1;
            }
            if self.starts(b"/*") {
                self.inline_comment()?;
            } else {
                return Some(());
            }
        }
    }

    /// hcl-edit's `ws`: whitespace including line endings, and comments of every kind.
    fn ws(&mut self) -> Option<()> {
        loop {
            while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
                self.i += 1;
            }
            if self.at_line_comment() {
                self.till_line_ending()?;
            } else if self.starts(b"/*") {
                self.inline_comment()?;
            } else {
                return Some(());
            }
        }
    }

    fn ws_or_sp(&mut self, st: St) -> Option<()> {
        if st.nl {
            self.ws()
        } else {
            self.sp()
        }
    }

    /// A line ending: `\n` or `\r\n`.
    fn line_ending(&mut self) -> Option<()> {
        if self.starts(b"\r\n") {
            self.i += 2;
            Some(())
        } else {
            self.eat(b'\n')
        }
    }

    // ---- structure ----------------------------------------------------------------------

    /// A body: the whole file (`spans` given: the top-level block spans are recorded, and it
    /// ends at the end of the text) or a block's (it ends before its `}`).
    fn body(&mut self, mut spans: Option<&mut Vec<Range<usize>>>) -> Option<Body> {
        let top = spans.is_some();
        let mut body = Body::new();
        loop {
            self.ws()?;
            match self.peek() {
                None if top => return Some(body),
                Some(b) if is_id_start(b) => {}
                Some(b'}') if !top => return Some(body),
                _ => return None,
            }
            let start = self.i;
            let structure = self.structure()?;
            if let (Some(spans), Structure::Block(_)) = (spans.as_deref_mut(), &structure) {
                spans.push(start..self.i);
            }
            body.try_push(structure).ok()?;
            self.sp()?;
            self.opt_line_comment()?;
            if self.peek().is_none() {
                // The end of the text ends the last structure; in a block the `}` is missing.
                return top.then_some(body);
            }
            self.line_ending()?;
        }
    }

    fn ident(&mut self) -> Option<&'a str> {
        let start = self.i;
        if !self.peek().is_some_and(is_id_start) {
            return None;
        }
        self.i += 1;
        while self.peek().is_some_and(is_id_continue) {
            self.i += 1;
        }
        if self.peek().is_some_and(|b| !b.is_ascii()) {
            // A non-ASCII identifier character: hcl-edit's Unicode rules decide.
            return None;
        }
        self.text.get(start..self.i)
    }

    fn structure(&mut self) -> Option<Structure> {
        let ident = self.ident()?;
        self.sp()?;
        match self.peek()? {
            b'=' => {
                self.i += 1;
                self.sp()?;
                let value = self.expr(St::default())?;
                Some(Structure::Attribute(Attribute::new(
                    Decorated::new(Ident::new_unchecked(ident)),
                    value,
                )))
            }
            b => {
                let mut labels = Vec::new();
                if b == b'"' || is_id_start(b) {
                    while let Some(b) = self.peek() {
                        let label = if b == b'"' {
                            match self.string_like(false)? {
                                Expression::String(s) => BlockLabel::String(s),
                                _ => return None,
                            }
                        } else if is_id_start(b) {
                            BlockLabel::Ident(Decorated::new(Ident::new_unchecked(self.ident()?)))
                        } else {
                            break;
                        };
                        labels.push(label);
                        self.sp()?;
                    }
                }
                let mut block = Block::new(Decorated::new(Ident::new_unchecked(ident)));
                block.labels = labels;
                block.body = self.block_body()?;
                Some(Structure::Block(block))
            }
        }
    }

    /// `{`, a multi-line body or a one-line body (nothing, or one attribute), `}`.
    fn block_body(&mut self) -> Option<Body> {
        self.eat(b'{')?;
        self.enter()?;
        let start = self.i;
        self.sp()?;
        self.opt_line_comment()?;
        let body = if self.line_ending().is_some() {
            self.body(None)?
        } else {
            // One line: hcl-edit parses it anew from the `{`.
            self.i = start;
            self.sp()?;
            let mut body = Body::new();
            body.set_prefer_oneline(true);
            if self.peek().is_some_and(is_id_start) {
                let key = self.ident()?;
                self.sp()?;
                self.eat(b'=')?;
                self.sp()?;
                let value = self.expr(St::default())?;
                body.push(Attribute::new(
                    Decorated::new(Ident::new_unchecked(key)),
                    value,
                ));
                self.sp()?;
            }
            body
        };
        self.eat(b'}')?;
        self.leave();
        Some(body)
    }

    // ---- expressions --------------------------------------------------------------------

    /// hcl-edit's `expr_inner`: a term, then binary operators or a conditional.
    fn expr(&mut self, mut st: St) -> Option<Expression> {
        self.enter()?;
        let mut lhs = self.term(&mut st)?;
        loop {
            let save = self.i;
            self.ws_or_sp(st)?;
            match (self.peek(), self.peek_at(1)) {
                (Some(b'?'), _) => {
                    self.i += 1;
                    self.ws_or_sp(st)?;
                    let t = self.expr(st)?;
                    self.ws_or_sp(st)?;
                    self.eat(b':')?;
                    self.ws_or_sp(st)?;
                    let f = self.expr(st)?;
                    self.leave();
                    return Some(Expression::Conditional(Box::new(Conditional::new(
                        lhs, t, f,
                    ))));
                }
                (Some(b'/'), Some(b'/' | b'*')) => {
                    self.i = save;
                    break;
                }
                (Some(b'='), Some(b'='))
                | (Some(b'!' | b'<' | b'>' | b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|'), _) => {
                    self.i = save;
                    lhs = self.binary_ops(st, lhs)?;
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        self.leave();
        Some(lhs)
    }

    fn binary_operator(&mut self) -> Option<BinaryOperator> {
        let (op, len) = match (self.peek()?, self.peek_at(1)) {
            (b'=', Some(b'=')) => (BinaryOperator::Eq, 2),
            (b'!', Some(b'=')) => (BinaryOperator::NotEq, 2),
            (b'<', Some(b'=')) => (BinaryOperator::LessEq, 2),
            (b'<', _) => (BinaryOperator::Less, 1),
            (b'>', Some(b'=')) => (BinaryOperator::GreaterEq, 2),
            (b'>', _) => (BinaryOperator::Greater, 1),
            (b'+', _) => (BinaryOperator::Plus, 1),
            (b'-', _) => (BinaryOperator::Minus, 1),
            (b'*', _) => (BinaryOperator::Mul, 1),
            (b'/', Some(b'/' | b'*')) => return None,
            (b'/', _) => (BinaryOperator::Div, 1),
            (b'%', _) => (BinaryOperator::Mod, 1),
            (b'&', Some(b'&')) => (BinaryOperator::And, 2),
            (b'|', Some(b'|')) => (BinaryOperator::Or, 2),
            _ => return None,
        };
        self.i += len;
        Some(op)
    }

    /// hcl-edit's `binary_ops`: operator/term pairs after `first`, then precedence (all
    /// operators left-associative, as hcl-edit's Pratt parser).
    fn binary_ops(&mut self, st: St, first: Expression) -> Option<Expression> {
        let mut terms = vec![first];
        let mut ops: Vec<BinaryOperator> = Vec::new();
        loop {
            let save = self.i;
            self.ws_or_sp(st)?;
            let Some(op) = self.binary_operator() else {
                if ops.is_empty() {
                    return None;
                }
                self.i = save;
                break;
            };
            self.ws_or_sp(st)?;
            let mut term_st = st;
            terms.push(self.term(&mut term_st)?);
            ops.push(op);
            if ops.len() > MAX_OPERATORS {
                return None;
            }
        }
        // Shunting-yard: reduce while the operator on the stack binds at least as tightly.
        let mut out: Vec<Expression> = Vec::with_capacity(terms.len());
        let mut stack: Vec<BinaryOperator> = Vec::new();
        let mut terms = terms.into_iter();
        out.push(terms.next()?);
        for (op, term) in ops.into_iter().zip(terms) {
            while stack
                .last()
                .is_some_and(|top| top.precedence() >= op.precedence())
            {
                reduce(&mut out, &mut stack)?;
            }
            stack.push(op);
            out.push(term);
        }
        while !stack.is_empty() {
            reduce(&mut out, &mut stack)?;
        }
        out.pop()
    }

    /// hcl-edit's `expr_term_inner`: a term and its traversal. `st` may come back allowing
    /// newlines (an array or function call in it does that, as in hcl-edit).
    fn term(&mut self, st: &mut St) -> Option<Expression> {
        let expr = match self.peek()? {
            b'"' => self.string_like(true)?,
            b'[' => {
                st.nl = true;
                self.array()?
            }
            b'{' => self.object()?,
            b'0'..=b'9' => self.number()?,
            b'-' => {
                let save = self.i;
                self.i += 1;
                self.sp()?;
                if self.peek().is_some_and(|b| b.is_ascii_digit()) {
                    // A negative literal: hcl-edit keeps its text ("- 1"); not handled here.
                    return None;
                }
                self.i = save;
                self.unary(st, UnaryOperator::Neg)?
            }
            b'!' => self.unary(st, UnaryOperator::Not)?,
            b'(' => {
                self.i += 1;
                let inner = self.enclosed(b')')?;
                Expression::Parenthesis(Box::new(Parenthesis::new(inner)))
            }
            b if is_id_start(b) => self.identlike(st)?,
            _ => return None,
        };
        let save = self.i;
        self.ws_or_sp(*st)?;
        match (self.peek(), self.peek_at(1)) {
            (Some(b'.'), Some(b'.')) => {
                self.i = save;
                Some(expr)
            }
            (Some(b'.' | b'['), _) => self.traversal(*st, expr),
            _ => {
                self.i = save;
                Some(expr)
            }
        }
    }

    fn unary(&mut self, st: &St, op: UnaryOperator) -> Option<Expression> {
        self.i += 1;
        self.sp()?;
        self.enter()?;
        let mut inner_st = *st;
        let expr = self.term(&mut inner_st)?;
        self.leave();
        Some(Expression::UnaryOp(Box::new(UnaryOp::new(
            Spanned::new(op),
            expr,
        ))))
    }

    fn traversal(&mut self, st: St, expr: Expression) -> Option<Expression> {
        let mut operators = Vec::new();
        loop {
            let save = self.i;
            self.ws_or_sp(st)?;
            let op = match (self.peek(), self.peek_at(1)) {
                (Some(b'.'), Some(b'.')) => None,
                (Some(b'.'), _) => {
                    self.i += 1;
                    self.ws()?;
                    Some(match self.peek()? {
                        b'*' => {
                            self.i += 1;
                            TraversalOperator::AttrSplat(Decorated::new(Splat))
                        }
                        b'0'..=b'9' => {
                            let start = self.i;
                            while self.peek().is_some_and(|b| b.is_ascii_digit()) {
                                self.i += 1;
                            }
                            let n: u64 = self.text.get(start..self.i)?.parse().ok()?;
                            TraversalOperator::LegacyIndex(Decorated::new(n))
                        }
                        b if is_id_start(b) => TraversalOperator::GetAttr(Decorated::new(
                            Ident::new_unchecked(self.ident()?),
                        )),
                        _ => return None,
                    })
                }
                (Some(b'['), _) => {
                    self.i += 1;
                    self.ws()?;
                    let op = if self.peek() == Some(b'*') {
                        self.i += 1;
                        TraversalOperator::FullSplat(Decorated::new(Splat))
                    } else {
                        TraversalOperator::Index(self.expr(St { nl: true })?)
                    };
                    self.ws()?;
                    self.eat(b']')?;
                    Some(op)
                }
                _ => None,
            };
            match op {
                Some(op) => operators.push(Decorated::new(op)),
                None => {
                    self.i = save;
                    break;
                }
            }
        }
        Some(Expression::Traversal(Box::new(Traversal::new(
            expr, operators,
        ))))
    }

    /// An identifier: a keyword, a variable, or a function call.
    fn identlike(&mut self, st: &mut St) -> Option<Expression> {
        let ident = self.ident()?;
        let save = self.i;
        self.ws_or_sp(*st)?;
        match (self.peek(), self.peek_at(1)) {
            (Some(b':'), Some(b':')) => None, // provider::ns::function
            (Some(b'('), _) => {
                st.nl = true;
                let args = self.func_args()?;
                Some(Expression::FuncCall(Box::new(FuncCall::new(
                    FuncName::from(Decorated::new(Ident::new_unchecked(ident))),
                    args,
                ))))
            }
            _ => {
                self.i = save;
                Some(match ident {
                    "null" => Expression::null(),
                    "true" => Expression::from(true),
                    "false" => Expression::from(false),
                    var => Expression::from(Ident::new_unchecked(var)),
                })
            }
        }
    }

    fn func_args(&mut self) -> Option<FuncArgs> {
        self.eat(b'(')?;
        self.collections += 1;
        self.enter()?;
        let mut args = Vec::new();
        let mut trailing_comma = false;
        self.ws()?;
        if !matches!(self.peek(), Some(b',' | b'.' | b')')) {
            loop {
                args.push(self.expr(St { nl: true })?);
                self.ws()?;
                match self.peek() {
                    Some(b',') => {
                        self.i += 1;
                        self.ws()?;
                        match self.peek() {
                            Some(b')') => {
                                trailing_comma = true;
                                break;
                            }
                            Some(b',' | b'.') | None => return None,
                            Some(_) => {}
                        }
                    }
                    Some(b'.') => return None, // `...` expansion
                    _ => break,
                }
            }
        }
        self.ws()?;
        self.eat(b')')?;
        self.leave();
        let mut args = FuncArgs::from(args);
        args.set_trailing_comma(trailing_comma);
        Some(args)
    }

    /// `for` (not an identifier that starts with it) right after an opening bracket, after
    /// whitespace and comments: a for expression, not handled here (nor is a comment this
    /// parser cannot skip).
    fn at_for(&mut self) -> bool {
        let save = self.i;
        let skipped = self.ws().is_some();
        let at = self.starts(b"for") && !self.peek_at(3).is_some_and(is_id_continue);
        self.i = save;
        !skipped || at
    }

    /// The opening bracket of a collection (`[` or `{`); gives up on a `for` expression.
    fn open_collection(&mut self, bracket: u8) -> Option<()> {
        self.eat(bracket)?;
        self.collections += 1;
        self.enter()?;
        (!self.at_for()).then_some(())
    }

    fn array(&mut self) -> Option<Expression> {
        self.open_collection(b'[')?;
        let mut values = Vec::new();
        let mut trailing_comma = false;
        self.ws()?;
        if !matches!(self.peek(), Some(b']' | b',')) {
            loop {
                values.push(self.expr(St { nl: true })?);
                self.ws()?;
                if self.eat(b',').is_none() {
                    break;
                }
                self.ws()?;
                match self.peek() {
                    Some(b']') => {
                        trailing_comma = true;
                        break;
                    }
                    Some(b',') | None => return None,
                    Some(_) => {}
                }
            }
        }
        self.ws()?;
        self.eat(b']')?;
        self.leave();
        let mut array = Array::from(values);
        array.set_trailing_comma(trailing_comma);
        Some(Expression::Array(array))
    }

    fn object(&mut self) -> Option<Expression> {
        self.open_collection(b'{')?;
        let mut object = Object::new();
        loop {
            self.ws()?;
            if self.peek()? == b'}' {
                break;
            }
            // A key holding a collection gives up: hcl-edit keeps the whitespace before its
            // closing bracket in the tree (and compares it), where nothing can reach it to
            // compare; keys are names, strings and templates in practice.
            let before = self.collections;
            let key = match self.expr(St::default())? {
                Expression::Variable(v) => ObjectKey::Ident(Decorated::new(v.into_value())),
                other => ObjectKey::Expression(other),
            };
            if self.collections != before {
                return None;
            }
            self.sp()?;
            if object.contains_key(&key) {
                return None;
            }
            let assignment = match self.peek()? {
                b'=' => ObjectValueAssignment::Equals,
                b':' => ObjectValueAssignment::Colon,
                _ => return None,
            };
            self.i += 1;
            self.sp()?;
            let mut value = ObjectValue::new(self.expr(St::default())?);
            value.set_assignment(assignment);
            self.sp()?;
            let terminator = match (self.peek()?, self.peek_at(1)) {
                (b'}', _) => ObjectValueTerminator::None,
                (b',', _) => {
                    self.i += 1;
                    ObjectValueTerminator::Comma
                }
                // A line ending, after a line comment or not.
                (b'\n' | b'#', _) | (b'\r', Some(b'\n')) | (b'/', Some(b'/')) => {
                    self.opt_line_comment()?;
                    self.line_ending()?;
                    ObjectValueTerminator::Newline
                }
                _ => return None,
            };
            value.set_terminator(terminator);
            object.insert(key, value);
            if terminator == ObjectValueTerminator::None {
                break;
            }
        }
        self.eat(b'}')?;
        self.leave();
        Some(Expression::Object(object))
    }

    /// A plain integer (what hcl-edit would display as its own text).
    fn number(&mut self) -> Option<Expression> {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = self.text.get(start..self.i)?;
        if matches!(self.peek(), Some(b'.' | b'e' | b'E'))
            || (digits.len() > 1 && digits.starts_with('0'))
        {
            return None;
        }
        let n: u64 = digits.parse().ok()?;
        Some(Expression::from(Number::from(n)))
    }

    /// A quoted string: `Expression::String` without interpolations, else a
    /// `StringTemplate` (only where `template` allows it: not in block labels).
    fn string_like(&mut self, template: bool) -> Option<Expression> {
        self.eat(b'"')?;
        let mut literal = String::new();
        let mut elements: Vec<Element> = Vec::new();
        loop {
            let rest = &self.s[self.i..];
            // Copy the run up to the next byte that needs a look.
            let run = rest
                .iter()
                .position(|&b| matches!(b, b'"' | b'\\' | b'$' | b'%' | b'\n' | b'\r'))?;
            literal.push_str(self.text.get(self.i..self.i + run)?);
            self.i += run;
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    break;
                }
                b'\\' => {
                    let c = match self.peek_at(1)? {
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'\\' => '\\',
                        b'"' => '"',
                        _ => return None,
                    };
                    literal.push(c);
                    self.i += 2;
                }
                m @ (b'$' | b'%') => {
                    if self.peek_at(1) == Some(m) && self.peek_at(2) == Some(b'{') {
                        literal.push(char::from(m));
                        literal.push('{');
                        self.i += 3;
                    } else if self.peek_at(1) == Some(b'{') {
                        if m == b'%' || !template {
                            return None; // a directive, or a template in a label
                        }
                        self.i += 2;
                        if self.peek() == Some(b'~') {
                            return None;
                        }
                        if !literal.is_empty() {
                            elements
                                .push(Element::Literal(Spanned::new(std::mem::take(&mut literal))));
                        }
                        let expr = self.enclosed(b'}')?;
                        elements.push(Element::Interpolation(Interpolation::new(expr)));
                    } else {
                        literal.push(char::from(m));
                        self.i += 1;
                    }
                }
                _ => return None, // a raw line break in a quoted string
            }
        }
        if elements.is_empty() {
            return Some(Expression::String(Decorated::new(literal)));
        }
        if !literal.is_empty() {
            elements.push(Element::Literal(Spanned::new(literal)));
        }
        Some(Expression::StringTemplate(StringTemplate::from(elements)))
    }
}

/// Pops an operator and two operands, pushes their operation.
fn reduce(out: &mut Vec<Expression>, stack: &mut Vec<BinaryOperator>) -> Option<()> {
    let op = stack.pop()?;
    let rhs = out.pop()?;
    let lhs = out.pop()?;
    out.push(Expression::BinaryOp(Box::new(BinaryOp::new(
        lhs,
        Decorated::new(op),
        rhs,
    ))));
    Some(())
}

/// Parses a file's text: with [`parse_body`], or with hcl-edit where that gives up (hcl-edit's
/// error is the file's error).
pub(super) fn parse(text: &str) -> Result<Parsed, hcl_edit::parser::Error> {
    if let Some(parsed) = parse_body(text) {
        return Ok(parsed);
    }
    let body = hcl_edit::parser::parse_body(text)?;
    let block_spans = body
        .blocks()
        .map(|b| hcl_edit::Span::span(b).unwrap_or(0..0))
        .collect();
    Ok(Parsed { body, block_spans })
}

#[cfg(test)]
#[path = "fastparse_tests.rs"]
mod tests;

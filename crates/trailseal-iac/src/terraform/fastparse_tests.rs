//! The fast parser against hcl-edit, the oracle: whatever it accepts, hcl-edit parses to an
//! equal tree (hcl-edit's equality, which ignores whitespace and comments), with the same
//! top-level block spans and the same text for every number.

use hcl_edit::expr::{Array, Expression, FuncArgs, Object};
use hcl_edit::structure::Body;
use hcl_edit::visit::{visit_expr, Visit};
use hcl_edit::visit_mut::{visit_array_mut, visit_func_args_mut, visit_object_mut, VisitMut};
use proptest::prelude::*;

use super::{parse_body, Parsed};

/// Clears what hcl-edit's equality compares but this parser does not keep: the whitespace
/// before a closing bracket.
struct Untrail;

impl VisitMut for Untrail {
    fn visit_array_mut(&mut self, node: &mut Array) {
        node.set_trailing("");
        visit_array_mut(self, node);
    }
    fn visit_object_mut(&mut self, node: &mut Object) {
        node.set_trailing("");
        visit_object_mut(self, node);
    }
    fn visit_func_args_mut(&mut self, node: &mut FuncArgs) {
        node.set_trailing("");
        visit_func_args_mut(self, node);
    }
}

/// Every number's text (what the evaluator reads) and every function call's `...`.
#[derive(Default)]
struct Texts(Vec<String>);

impl Visit for Texts {
    fn visit_expr(&mut self, node: &Expression) {
        match node {
            Expression::Number(n) => self.0.push(n.to_string()),
            Expression::FuncCall(f) => self.0.push(format!("expand={}", f.args.expand_final())),
            _ => {}
        }
        visit_expr(self, node);
    }
}

fn texts(body: &Body) -> Vec<String> {
    let mut t = Texts::default();
    t.visit_body(body);
    t.0
}

/// None when the fast parser gives up; otherwise panics unless hcl-edit agrees.
fn check(text: &str) -> Option<()> {
    let Parsed {
        mut body,
        block_spans,
    } = parse_body(text)?;
    let mut oracle = match hcl_edit::parser::parse_body(text) {
        Ok(b) => b,
        Err(e) => panic!("fast parser accepted what hcl-edit rejects ({e}):\n{text}"),
    };
    let oracle_spans: Vec<_> = oracle
        .blocks()
        .map(|b| hcl_edit::Span::span(b).unwrap_or(0..0))
        .collect();
    Untrail.visit_body_mut(&mut body);
    Untrail.visit_body_mut(&mut oracle);
    assert_eq!(body, oracle, "trees differ for:\n{text}");
    assert_eq!(block_spans, oracle_spans, "block spans differ for:\n{text}");
    assert_eq!(
        texts(&body),
        texts(&oracle),
        "number texts differ for:\n{text}"
    );
    Some(())
}

#[track_caller]
fn accepted(text: &str) {
    assert!(check(text).is_some(), "the fast parser gave up on:\n{text}");
}

#[track_caller]
fn declined(text: &str) {
    assert!(
        parse_body(text).is_none(),
        "the fast parser accepted:\n{text}"
    );
}

#[test]
fn the_common_subset_is_parsed_as_hcl_edit_parses_it() {
    // The bench corpus's module (bench/gen-iac-corpus.py) and the examples.
    accepted(
        r#"variable "enabled" {
  type    = bool
  default = false
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "logs" {
  bucket = "logs-1-${data.aws_caller_identity.current.account_id}"
}

resource "aws_kms_key" "k" {
  enable_key_rotation = true
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        Effect    = "Allow"
        Principal = { Service = "cloudtrail.amazonaws.com" }
        Action    = ["kms:GenerateDataKey*", "kms:DescribeKey"]
        Resource  = "*"
      }
    ]
  })
}

resource "aws_cloudtrail" "t" {
  name                       = "trail-1"
  s3_bucket_name             = aws_s3_bucket.logs.id
  kms_key_id                 = var.enabled ? aws_kms_key.k.arn : null
  enable_log_file_validation = true
}
"#,
    );
    // The examples: the fast parser handles those without `for` expressions and heredocs
    // (main.tf and templates.tf have them: hcl-edit parses those).
    for text in [
        include_str!("../../../../examples/iac/terraform/root/main.tf"),
        include_str!("../../../../examples/iac/terraform/root/templates.tf"),
    ] {
        let _ = check(text);
    }
    for text in [
        include_str!("../../../../examples/iac/terraform/root/modules.tf"),
        include_str!("../../../../examples/iac/terraform/root/replica.tf"),
        include_str!("../../../../examples/iac/terraform/root/modules/kms/main.tf"),
        include_str!("../../../../examples/iac/terraform/root/modules/trail/main.tf"),
    ] {
        accepted(text);
    }
    for text in [
        "a = 1\n",
        "a = 1",
        "a = -x\nb = !y\n",
        "a = 1 + 2 * 3 - 4 / 5 % 6\n",
        "a = x == y && z != w || !v\n",
        "a = x < 1 ? y >= 2 : z <= 3 ? p : q > 4\n",
        "a = (x + y) * z\n",
        "a = f(x, y,)\nb = g()\nc = h(\n  x,\n  y\n)\n",
        "a = [1, 2,]\nb = []\nc = [\n  x,\n  # c\n  y, // d\n]\n",
        "a = { x = 1, \"y\": 2\n  z = 3 # c\n  w = 4 // c\n}\n",
        "a = {}\nb = { }\n",
        "a = x.y[0].z[*].w.*.v.0\n",
        "a = x [0] .y\n",
        "a = \"\\n\\t\\r\\\\\\\" $${x} %%{y} $ % $$ 100%\"\n",
        "a = \"${x}${y} and ${ f(z) }\"\n",
        "a = \"${\n  x\n}\"\n",
        "locals {\n  a = 1 /* c */\n  b = 2\n}\n",
        "block label \"quoted\" { a = 1 }\nother {}\n",
        "# comment\n// comment\n/* block\ncomment */\nx = 1\n\n\n",
        "a = 1\r\nb = {\r\n  c = 2\r\n}\r\n",
        "a = null\nb = true\nc = false\nd = true()\n",
        "a = [1] + [2]\n",
        "a = { (x) = 1, \"${y}\" = 2, a.b = 3 }\n",
        "a = { a = 1, \"a\" = 2 }\n",
        "outer {\n  inner \"x\" {\n    a = [for_each]\n  }\n}\n",
    ] {
        accepted(text);
    }
}

#[test]
fn it_gives_up_on_what_it_does_not_handle() {
    for text in [
        "a = <<EOT\nx\nEOT\n",
        "a = [for x in y : x]\n",
        "a = {for k, v in y : k => v}\n",
        "a = \"%{ if x }y%{ endif }\"\n",
        "a = \"${~ x ~}\"\n",
        "a = 1.5\n",
        "a = 1e3\n",
        "a = 007\n",
        "a = -1\n",
        "a = f(x...)\n",
        "a = provider::aws::arn_parse(x)\n",
        "a = \"\\u0041\"\n",
        "a = \"line\nbreak\"\n",
        "é = 1\n",
        "a = x\nb = 1\na = 2\n",
        "a = { k = 1, k = 2 }\n",
        "a = 1 +\n",
        "resource \"x\" \"${y}\" {}\n",
        "a = 1 }\n",
        "b {\n  a = 1 }\n",
        "b {\n",
        "a = [,]\n",
        "a = f(,)\n",
    ] {
        declined(text);
    }
    // Declined does not mean wrong: hcl-edit parses most of these (the file is then parsed
    // by it); the point is that this parser does not guess.
}

#[test]
fn newlines_end_an_expression_where_hcl_edit_ends_it() {
    // After an array or a function call hcl-edit lets newlines into the rest of the
    // expression (its parser state leaks): the next line continues it.
    for text in [
        "a = f(x)\n  + 1\n",
        "a = [x]\n  ? 1 : 2\n",
        "a = f(x)\n  .y\n",
        "a = x\n  .y\n",
        "a = { k = f(x)\n  .y }\n",
    ] {
        let _ = check(text);
    }
    // Without the leak the newline ends it, and the next line is not a structure.
    declined("a = x\n  + 1\n");
}

/// Items with the whitespace around each, to join.
fn spaced(items: Vec<(&str, String, &str)>) -> Vec<String> {
    items
        .into_iter()
        .map(|(a, e, b)| format!("{a}{e}{b}"))
        .collect()
}

/// Whitespace and comments between tokens.
fn gap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "",
        "",
        "",
        " ",
        " ",
        "  ",
        "\t",
        "\n",
        "\n  ",
        " /* c */ ",
        " # c\n",
        " // c\n",
        "\r\n",
        "/**/",
    ])
}

fn ident() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "a", "b", "var", "x_1", "k-2", "null", "true", "false", "for", "for_each", "in", "if",
        "count",
    ])
}

fn string_part() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "txt",
        " ",
        "\\n",
        "\\\"",
        "\\\\",
        "\\t",
        "\\u0041",
        "\\/",
        "$${",
        "%%{",
        "$",
        "%",
        "$$",
        "%{ if a }x%{ endif }",
        "€",
        "\n",
        "${~ a }",
    ])
}

fn leaf() -> impl Strategy<Value = String> {
    prop_oneof![
        ident().prop_map(str::to_owned),
        prop::sample::select(vec![
            "0",
            "1",
            "42",
            "007",
            "1.5",
            "1e3",
            "18446744073709551616"
        ])
        .prop_map(str::to_owned),
        prop::collection::vec(string_part(), 0..4).prop_map(|p| format!("\"{}\"", p.concat())),
        Just("<<EOT\nx\nEOT".to_owned()),
    ]
}

fn expr() -> impl Strategy<Value = String> {
    leaf().prop_recursive(5, 48, 4, |inner| {
        let g = gap;
        prop_oneof![
            (
                inner.clone(),
                g(),
                prop::sample::select(vec![
                    ".a",
                    ".0",
                    ".*",
                    "[*]",
                    "[0]",
                    "[ \"k\" ]",
                    "..",
                    ".",
                    "[",
                    ".for",
                ])
            )
                .prop_map(|(e, s, t)| format!("{e}{s}{t}")),
            (
                ident(),
                g(),
                prop::collection::vec((g(), inner.clone(), g()), 0..3),
                prop::sample::select(vec!["", ",", "...", ", "])
            )
                .prop_map(|(f, s, args, end)| {
                    let args = spaced(args);
                    format!("{f}{s}({}{end})", args.join(","))
                }),
            (
                prop::collection::vec((g(), inner.clone(), g()), 0..3),
                prop::sample::select(vec!["", ",", " for x in y : x"])
            )
                .prop_map(|(items, end)| {
                    let items = spaced(items);
                    format!("[{}{end}]", items.join(","))
                }),
            (
                prop::collection::vec(
                    (
                        g(),
                        inner.clone(),
                        prop::sample::select(vec!["=", ":", " = "]),
                        inner.clone(),
                        prop::sample::select(vec!["\n", ",", " ", "", " # c\n"])
                    ),
                    0..3
                ),
                g()
            )
                .prop_map(|(items, end)| {
                    let items: String = items
                        .into_iter()
                        .map(|(a, k, op, v, t)| format!("{a}{k}{op}{v}{t}"))
                        .collect();
                    format!("{{{items}{end}}}")
                }),
            (
                inner.clone(),
                g(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||", "!",
                    "=", "&",
                ]),
                g(),
                inner.clone()
            )
                .prop_map(|(a, s, op, t, b)| format!("{a}{s}{op}{t}{b}")),
            (
                inner.clone(),
                g(),
                g(),
                inner.clone(),
                g(),
                g(),
                inner.clone()
            )
                .prop_map(|(c, s1, s2, t, s3, s4, f)| format!("{c}{s1}?{s2}{t}{s3}:{s4}{f}")),
            (prop::sample::select(vec!["-", "!", "- "]), inner.clone())
                .prop_map(|(op, e)| format!("{op}{e}")),
            (g(), inner.clone(), g()).prop_map(|(a, e, b)| format!("({a}{e}{b})")),
            (
                prop::collection::vec(string_part(), 0..2),
                g(),
                inner.clone(),
                g()
            )
                .prop_map(|(p, a, e, b)| format!("\"{}${{{a}{e}{b}}}\"", p.concat())),
        ]
    })
}

/// Spaces and inline comments only (no line break).
fn sgap() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", " ", "  ", "\t", " /* c */ ", "/**/"])
}

/// Mostly valid expressions: line breaks only where HCL allows them.
fn valid_expr() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        4 => ident().prop_map(str::to_owned),
        2 => prop::sample::select(vec!["0", "1", "42", "18446744073709551615", "1.5"]).prop_map(str::to_owned),
        4 => prop::collection::vec(prop::sample::select(vec![
            "txt", " ", "\\n", "\\\"", "\\\\", "\\t", "$${", "%%{", "$", "%", "arn:aws:kms:*",
        ]), 0..4).prop_map(|p| format!("\"{}\"", p.concat())),
    ];
    leaf.prop_recursive(6, 64, 4, |inner| {
        let (s, n) = (sgap, gap);
        prop_oneof![
            (
                inner.clone(),
                s(),
                prop::collection::vec(
                    prop::sample::select(vec![
                        ".a",
                        ".0",
                        ".*",
                        "[*]",
                        "[0]",
                        "[ \"k\" ]",
                        "[\nx\n]",
                        ".b",
                        ". c",
                    ]),
                    1..4
                )
            )
                .prop_map(|(e, s, t)| format!("({e}){s}{}", t.concat())),
            (
                ident(),
                s(),
                prop::collection::vec((n(), inner.clone(), n()), 0..4),
                prop::sample::select(vec!["", ",", ", ", ",\n"])
            )
                .prop_map(|(f, s, args, end)| {
                    let end = if args.is_empty() { "" } else { end };
                    let args = spaced(args);
                    format!("{f}{s}({}{end})", args.join(","))
                }),
            (
                prop::collection::vec((n(), inner.clone(), n()), 0..4),
                prop::sample::select(vec!["", ",", ",\n"])
            )
                .prop_map(|(items, end)| {
                    let end = if items.is_empty() { "" } else { end };
                    let items = spaced(items);
                    format!("[{}{end}]", items.join(","))
                }),
            (
                prop::collection::vec(
                    (
                        n(),
                        prop_oneof![ident().prop_map(str::to_owned), inner.clone()],
                        s(),
                        prop::sample::select(vec!["=", ":"]),
                        s(),
                        inner.clone(),
                        s(),
                        prop::sample::select(vec!["\n", ",", " # c\n", " // c\n", "\r\n"])
                    ),
                    0..4
                ),
                n()
            )
                .prop_map(|(items, end)| {
                    let items: String = items
                        .into_iter()
                        .map(|(a, k, s1, op, s2, v, s3, t)| format!("{a}{k}{s1}{op}{s2}{v}{s3}{t}"))
                        .collect();
                    format!("{{{items}{end}}}")
                }),
            (
                inner.clone(),
                s(),
                prop::sample::select(vec![
                    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "&&", "||",
                ]),
                s(),
                inner.clone(),
                s(),
                prop::sample::select(vec!["+", "*", "||", "==", "<"]),
                s(),
                inner.clone()
            )
                .prop_map(|(a, s1, op, s2, b, s3, op2, s4, c)| format!(
                    "{a}{s1}{op}{s2}{b}{s3}{op2}{s4}{c}"
                )),
            (
                inner.clone(),
                s(),
                s(),
                inner.clone(),
                s(),
                s(),
                inner.clone()
            )
                .prop_map(|(c, s1, s2, t, s3, s4, f)| format!("{c}{s1}?{s2}{t}{s3}:{s4}{f}")),
            (prop::sample::select(vec!["-", "!", "! "]), inner.clone())
                .prop_map(|(op, e)| format!("{op}{e}")),
            (n(), inner.clone(), n()).prop_map(|(a, e, b)| format!("({a}{e}{b})")),
            (
                prop::collection::vec(prop::sample::select(vec!["a", "$${", "\\\""]), 0..2),
                n(),
                inner.clone(),
                n(),
                prop::sample::select(vec!["", "x", "${b}"])
            )
                .prop_map(|(p, a, e, b, t)| format!("\"{}${{{a}{e}{b}}}{t}\"", p.concat())),
        ]
    })
}

fn body() -> impl Strategy<Value = String> {
    let attribute = (
        ident(),
        sgap(),
        sgap(),
        prop_oneof![6 => valid_expr(), 1 => expr()],
    )
        .prop_map(|(k, a, b, e)| format!("{k}{a}={b}{e}"));
    // After a structure: spaces, a comment, or (rarely) something that is not a line end.
    let end = || {
        prop::sample::select(vec![
            "", "", "", "", "", "", " ", "\t", " # c", " // c", " /* c */", "/**/ # c", "", "", "",
            "", "", "", "", "", "", "", " x",
        ])
    };
    let structure = attribute.prop_recursive(3, 12, 3, move |inner| {
        (
            ident(),
            prop::collection::vec(
                prop::sample::select(vec![
                    " \"l\"",
                    " x",
                    "\"q\"",
                    " \"a\\\"b\"",
                    " \"l\"",
                    " x",
                    "\"q\"",
                    " \"l\"",
                    " x",
                    "\"q\"",
                    " \"l\"",
                    " x",
                    "\"q\"",
                    " \"l\"",
                    " x",
                    "\"q\"",
                    " \"${a}\"",
                ]),
                0..3,
            ),
            sgap(),
            prop::collection::vec((gap(), inner, end()), 0..4),
            prop::sample::select(vec!["\n", "\n", "\n", " # c\n", "", " "]),
            gap(),
        )
            .prop_map(|(name, labels, s, items, open, close)| {
                let body = if open.ends_with('\n') {
                    let items: String = items
                        .into_iter()
                        .map(|(g, i, e)| format!("{g}{i}{e}\n"))
                        .collect();
                    format!("{open}{items}{close}")
                } else {
                    // One line: nothing or one attribute.
                    items
                        .into_iter()
                        .next()
                        .map(|(_, i, _)| format!("{open}{i}{open}"))
                        .unwrap_or_else(|| open.to_owned())
                };
                format!("{name}{}{s}{{{body}}}", labels.concat())
            })
    });
    (
        prop::collection::vec((gap(), structure, end()), 0..5),
        gap(),
    )
        .prop_map(|(items, last)| {
            let mut out: String = items
                .into_iter()
                .map(|(a, s, e)| format!("{a}{s}{e}\n"))
                .collect();
            out.push_str(last);
            out
        })
}

/// Cuts or inserts one character: most mutants are errors or odd corners.
fn mutate(text: &str, at: usize, what: u8) -> String {
    let chars: Vec<char> = text.chars().collect();
    let at = if chars.is_empty() {
        0
    } else {
        at % (chars.len() + 1)
    };
    let mut out: Vec<char> = chars.clone();
    let insert = b"{}[]()\"\n ,.=:?#/*$%~\\-!<"[usize::from(what) % 24];
    if what.is_multiple_of(2) && at < out.len() {
        out.remove(at);
    } else {
        out.insert(at, char::from(insert));
    }
    out.into_iter().collect()
}

/// The generators are not vacuous: most of what they make reaches the comparison.
#[test]
fn the_generated_cases_mostly_reach_the_fast_path() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let n = 1000;
    let mut bodies = 0;
    let mut exprs = 0;
    for _ in 0..n {
        let t = body().new_tree(&mut runner).unwrap().current();
        bodies += usize::from(check(&t).is_some());
        let t = format!(
            "a = {}\n",
            valid_expr().new_tree(&mut runner).unwrap().current()
        );
        exprs += usize::from(check(&t).is_some());
    }
    // Measured: about 43% of the bodies (the rest have a deliberate error) and 84% of the
    // expressions.
    assert!(bodies > n / 3, "{bodies} of {n} bodies");
    assert!(exprs > n * 3 / 4, "{exprs} of {n} expressions");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn whatever_it_accepts_hcl_edit_parses_the_same(text in body()) {
        let _ = check(&text);
    }

    #[test]
    fn rich_expressions_too(e in valid_expr()) {
        let _ = check(&format!("a = {e}\n"));
    }

    #[test]
    fn mutants_too(text in body(), at in 0usize..400, what in any::<u8>()) {
        let _ = check(&mutate(&text, at, what));
    }
}

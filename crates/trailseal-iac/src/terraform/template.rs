//! String templates: interpolations, `%{if}` / `%{for}` directives with `~` strip markers, in
//! quoted strings, heredocs and `templatefile()` files.

use std::path::{Path, PathBuf};

use hcl_edit::template::{Directive, Element, Template};

use super::expr::for_items;
use super::{unknown, Module, Scope};
use crate::value::Val;

impl<'a> Module<'a> {
    pub(super) fn template(&self, t: &Template, s: &Scope) -> Val {
        // "${x}" alone is x itself, whatever its type (Terraform's rule).
        let elements: Vec<&Element> = t.iter().collect();
        if let [Element::Interpolation(i)] = elements.as_slice() {
            return self.eval(&i.expr, s);
        }
        let mut out = String::new();
        match self.render(t, s, &mut out, false) {
            Ok(()) => Val::Str(out),
            Err(unknown) => unknown,
        }
    }

    /// Appends a template's text to `out`: literals, interpolations, `%{if}` and `%{for}`
    /// directives, with the `~` whitespace strip markers. `trim` strips the leading
    /// whitespace of the first literal (a `~}` just before). Err: the value is not known.
    pub(super) fn render(
        &self,
        t: &Template,
        s: &Scope,
        out: &mut String,
        mut trim: bool,
    ) -> Result<(), Val> {
        let trim_end = |out: &mut String| out.truncate(out.trim_end().len());
        for el in t.iter() {
            match el {
                Element::Literal(l) => {
                    let text: &str = l;
                    out.push_str(if trim { text.trim_start() } else { text });
                    trim = false;
                    continue;
                }
                Element::Interpolation(i) => {
                    if i.strip.strip_start() {
                        trim_end(out);
                    }
                    match self.eval(&i.expr, s) {
                        Val::Unknown(why) => return Err(Val::Unknown(why)),
                        v => match v.text() {
                            Some(t) => out.push_str(&t),
                            None => {
                                return Err(unknown("a template interpolates a non-string value"))
                            }
                        },
                    }
                    trim = i.strip.strip_end();
                }
                Element::Directive(dir) => match dir.as_ref() {
                    Directive::If(d) => {
                        if d.if_expr.strip.strip_start() {
                            trim_end(out);
                        }
                        let (branch, trim_start, trim_before_end) =
                            match self.eval(&d.if_expr.cond_expr, s).truth() {
                                Some(true) => (
                                    Some(&d.if_expr.template),
                                    d.if_expr.strip.strip_end(),
                                    d.else_expr
                                        .as_ref()
                                        .map_or(d.endif_expr.strip.strip_start(), |e| {
                                            e.strip.strip_start()
                                        }),
                                ),
                                Some(false) => (
                                    d.else_expr.as_ref().map(|e| &e.template),
                                    d.else_expr.as_ref().is_some_and(|e| e.strip.strip_end()),
                                    d.endif_expr.strip.strip_start(),
                                ),
                                None => {
                                    return Err(match self.eval(&d.if_expr.cond_expr, s) {
                                        Val::Unknown(why) => Val::Unknown(why),
                                        _ => unknown(
                                            "a template %{if} condition that is not a boolean",
                                        ),
                                    })
                                }
                            };
                        if let Some(branch) = branch {
                            let mut inner = String::new();
                            self.render(branch, s, &mut inner, trim_start)?;
                            if trim_before_end {
                                trim_end(&mut inner);
                            }
                            out.push_str(&inner);
                        }
                        trim = d.endif_expr.strip.strip_end();
                    }
                    Directive::For(d) => {
                        let f = &d.for_expr;
                        if f.strip.strip_start() {
                            trim_end(out);
                        }
                        let items = for_items(
                            self.eval(&f.collection_expr, s),
                            "a template %{for} over a value that is not a collection",
                        )?;
                        for (key, value) in items {
                            let mut inner_scope = s.clone();
                            if let Some(k) = &f.key_var {
                                inner_scope.bindings.push((k.as_str().to_owned(), key));
                            }
                            inner_scope
                                .bindings
                                .push((f.value_var.as_str().to_owned(), value));
                            let mut inner = String::new();
                            self.render(
                                &f.template,
                                &inner_scope,
                                &mut inner,
                                f.strip.strip_end(),
                            )?;
                            if d.endfor_expr.strip.strip_start() {
                                trim_end(&mut inner);
                            }
                            out.push_str(&inner);
                        }
                        trim = d.endfor_expr.strip.strip_end();
                    }
                },
            }
        }
        Ok(())
    }

    /// A path given to file() / templatefile(): built from `path.module` (which evaluates to
    /// the module's directory) it is used as is; otherwise it is relative to the module.
    pub(super) fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() || path.starts_with(&self.dir) {
            path.to_owned()
        } else {
            self.dir.join(path)
        }
    }

    /// `templatefile(path, vars)`: the file is a template (interpolations, directives) whose
    /// only variables are `vars`.
    pub(super) fn template_file(&self, path: &str, text: &str, vars: &[(String, Val)]) -> Val {
        let template = match hcl_edit::parser::parse_template(text) {
            Ok(t) => t,
            Err(e) => {
                return unknown(format!(
                    "templatefile({path}): cannot parse: {}",
                    e.message()
                ))
            }
        };
        let scope = Scope {
            count_index: None,
            each: None,
            bindings: vars.to_vec(),
        };
        let mut out = String::new();
        match self.render(&template, &scope, &mut out, false) {
            Ok(()) => Val::Str(out),
            Err(unknown) => unknown,
        }
    }
}

//! The reports of one run, in one format or several at once (`--output-dir DIR
//! --output-formats a,b`).

use std::io::{self, Write};

use serde_json::{json, Value};
use trailseal_model::Finding;

use crate::{Rendered, Renderer, ReportWriter, Tally};

/// One run's reports in one or several formats (`--output-dir DIR --output-formats a,b`): the
/// same findings, the mutelist applied once, each format written to its own sink.
pub struct Reports<'r, W: Write> {
    renderers: &'r [Renderer],
    writers: Vec<ReportWriter<'r, W>>,
}

/// Each format's rendering of one unit of findings (see [`Reports::render`]).
#[derive(Debug, Default)]
pub struct RenderedSet(Vec<Rendered>);

impl<'r, W: Write> Reports<'r, W> {
    /// Starts a document per renderer, each into its sink (as many sinks as renderers).
    pub fn new(renderers: &'r [Renderer], sinks: Vec<W>) -> io::Result<Self> {
        let writers = renderers
            .iter()
            .zip(sinks)
            .map(|(r, sink)| ReportWriter::new(sink, r))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Reports { renderers, writers })
    }

    /// Renders a unit in every format, the mutelist (the first renderer's) applied once. Runs
    /// on worker threads.
    pub fn render(renderers: &[Renderer], findings: &[Finding]) -> RenderedSet {
        let Some(first) = renderers.first() else {
            return RenderedSet::default();
        };
        let findings = first.mute(findings);
        RenderedSet(
            renderers
                .iter()
                .map(|r| r.render_muted(&findings))
                .collect(),
        )
    }

    /// Records that `account` was audited ([`ReportWriter::note_account`]).
    pub fn note_account(&mut self, account: &str) {
        for writer in &mut self.writers {
            writer.note_account(account);
        }
    }

    /// Adds a unit's renderings, in order.
    pub fn push(&mut self, set: RenderedSet) -> io::Result<()> {
        for (writer, rendered) in self.writers.iter_mut().zip(set.0) {
            writer.push(rendered)?;
        }
        Ok(())
    }

    /// The findings with the mutelist applied (the first renderer's): as every format reports
    /// them.
    pub fn mute<'f>(&self, findings: &'f [Finding]) -> std::borrow::Cow<'f, [Finding]> {
        match self.renderers.first() {
            Some(r) => r.mute(findings),
            None => std::borrow::Cow::Borrowed(findings),
        }
    }

    /// Adds findings the first renderer's mutelist was already applied to ([`Renderer::mute`]).
    pub fn push_muted(&mut self, findings: &[Finding]) -> io::Result<()> {
        let set = RenderedSet(
            self.renderers
                .iter()
                .map(|r| r.render_muted(findings))
                .collect(),
        );
        self.push(set)
    }

    /// Renders and adds a unit (on this thread).
    pub fn add(&mut self, findings: &[Finding]) -> io::Result<()> {
        let set = Self::render(self.renderers, findings);
        self.push(set)
    }

    /// Ends every document; returns the tally of the first (all formats count alike).
    pub fn finish(self, input: Option<&Value>, text_header: &str) -> io::Result<Tally> {
        // What the mutelist did goes with every format's input, not only the first's.
        let with_mutes;
        let input = match self.renderers.first().and_then(|r| r.mutelist.as_ref()) {
            Some(list) => {
                let mut value = input.cloned().unwrap_or_else(|| json!({}));
                if let Some(map) = value.as_object_mut() {
                    map.insert("mutelist".to_owned(), list.summary());
                }
                with_mutes = value;
                Some(&with_mutes)
            }
            None => input,
        };
        let mut first = None;
        for writer in self.writers {
            let tally = writer.finish(input, text_header)?;
            first.get_or_insert(tally);
        }
        Ok(first.unwrap_or_default())
    }

    /// The mutelist's warnings (once).
    pub fn mutelist_warnings(&self) -> Vec<String> {
        self.renderers
            .first()
            .map(Renderer::mutelist_warnings)
            .unwrap_or_default()
    }
}

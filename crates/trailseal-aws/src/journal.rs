//! The journal of an apply (`trailseal.journal/v1`): one JSON line per event, each written and
//! flushed to disk (fsync) before the call it announces is made, so that a crash at any point
//! leaves a journal `rollback` can undo from.
//!
//! Lines: `begin` (account, partition, caller, plan size), then for each step an `intent`
//! (the step and the state before it, read fresh from AWS) followed by `done` (with the ARN of
//! a key it created) or `failed`; `end`; and, appended by `rollback`, `rolled_back` or
//! `rollback_failed` per step. Each line carries a SHA-256 chain over every line before it
//! (`chain`), so that a journal edited by hand or cut mid-line is refused rather than half
//! trusted.

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trailseal_plan::Step;

pub const JOURNAL_SCHEMA: &str = "trailseal.journal/v1";

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    Begin {
        schema: String,
        /// Unique per apply: new keys are tagged with it (found again after a crash).
        journal_id: String,
        account: String,
        partition: String,
        /// Who applied (sts:GetCallerIdentity ARN).
        caller: String,
        /// Which plan: SHA-256 of its JSON (`trailseal.plan/v1`), as `fix --out` reports it.
        plan_sha256: String,
        started_at: String,
        steps: usize,
    },
    Intent {
        seq: usize,
        step: Step,
        prior: Prior,
        at: String,
    },
    Done {
        seq: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_key_arn: Option<String>,
        at: String,
    },
    Failed {
        seq: usize,
        error: String,
        at: String,
    },
    End {
        ok: bool,
        at: String,
    },
    RolledBack {
        seq: usize,
        at: String,
    },
    RollbackFailed {
        seq: usize,
        error: String,
        at: String,
    },
}

/// The state a step changes, as it was just before the step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Prior {
    /// Nothing existed (a key or alias the step creates).
    Nothing,
    KeyPolicy {
        policy: String,
    },
    KeyState {
        state: String,
    },
    Rotation {
        enabled: bool,
    },
    TrailKey {
        kms_key_id: Option<String>,
    },
    LogFileValidation {
        enabled: bool,
    },
}

/// Why a journal cannot be used (exit 2 in the CLI).
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot read the journal {path}: {why}")]
    Read { path: String, why: String },
    #[error("{path} line {line}: {why}; the journal is not used (nothing was changed)")]
    Invalid {
        path: String,
        line: usize,
        why: String,
    },
    #[error("cannot write the journal {path}: {why}")]
    Write { path: String, why: String },
    #[error("the journal {path} is in use by another trailseal (an apply or a rollback still running): wait for it to end")]
    Busy { path: String },
}

#[derive(Serialize, Deserialize)]
struct Line {
    #[serde(flatten)]
    entry: Entry,
    chain: String,
}

/// SHA-256 (hex) of a plan's JSON: what identifies a reviewed plan in the journal.
pub fn plan_digest(plan: &trailseal_plan::Plan) -> String {
    hex(&Sha256::digest(
        serde_json::to_string(plan).unwrap_or_default().as_bytes(),
    ))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn chain(previous: &str, entry_json: &str) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update(b"\n");
    h.update(entry_json.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Appends entries to a journal file, durably.
pub struct JournalWriter {
    file: File,
    path: PathBuf,
    last: String,
}

impl JournalWriter {
    /// A new journal at `path` (never overwrites an existing file), locked for this process
    /// until the writer is dropped.
    pub fn create(path: &Path) -> Result<JournalWriter, JournalError> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(path)
            .map_err(|e| JournalError::Write {
                path: path.display().to_string(),
                why: e.to_string(),
            })?;
        lock(&file, path)?;
        Ok(JournalWriter {
            file,
            path: path.to_owned(),
            last: String::new(),
        })
    }

    /// Opens an existing journal to roll it back: locked (an apply or another rollback of it
    /// still running is refused), read and checked, a line cut off at the end (the process
    /// was killed while writing it) removed so that new lines follow a complete one.
    pub fn open(path: &Path, torn_ok: bool) -> Result<(Journal, JournalWriter), JournalError> {
        let name = path.display().to_string();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(path)
            .map_err(|e| JournalError::Read {
                path: name.clone(),
                why: e.to_string(),
            })?;
        lock(&file, path)?;
        let mut text = String::new();
        std::io::Read::read_to_string(&mut file, &mut text).map_err(|e| JournalError::Read {
            path: name.clone(),
            why: e.to_string(),
        })?;
        let journal = parse(&name, &text)?;
        if journal.complete_len < text.len() && !torn_ok {
            return Err(JournalError::Invalid {
                path: name,
                line: text.lines().count(),
                why: "the last line is cut off. If the process was killed while writing it, run rollback with --torn-ok to ignore that line (its call was not made, or its outcome is found again)".into(),
            });
        }
        if journal.complete_len < text.len() {
            file.set_len(journal.complete_len as u64)
                .and_then(|()| file.sync_data())
                .map_err(|e| JournalError::Write {
                    path: name.clone(),
                    why: e.to_string(),
                })?;
        }
        let writer = JournalWriter {
            file,
            path: path.to_owned(),
            last: journal.last_chain.clone(),
        };
        Ok((journal, writer))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one entry and flushes it to the disk before returning.
    pub fn write(&mut self, entry: &Entry) -> Result<(), JournalError> {
        let err = |e: String| JournalError::Write {
            path: self.path.display().to_string(),
            why: e,
        };
        let entry_json = serde_json::to_string(entry).map_err(|e| err(e.to_string()))?;
        let link = chain(&self.last, &entry_json);
        let line = serde_json::to_string(&Line {
            entry: entry.clone(),
            chain: link.clone(),
        })
        .map_err(|e| err(e.to_string()))?;
        self.file
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| err(e.to_string()))?;
        self.last = link;
        Ok(())
    }
}

fn lock(file: &File, path: &Path) -> Result<(), JournalError> {
    file.try_lock().map_err(|e| match e {
        std::fs::TryLockError::WouldBlock => JournalError::Busy {
            path: path.display().to_string(),
        },
        std::fs::TryLockError::Error(e) => JournalError::Write {
            path: path.display().to_string(),
            why: e.to_string(),
        },
    })
}

/// A journal as read back.
#[derive(Debug, Clone)]
pub struct Journal {
    pub entries: Vec<Entry>,
    /// What the reader should know (a line cut off at the end, no end line).
    pub warnings: Vec<String>,
    last_chain: String,
    /// Bytes up to the end of the last complete line.
    complete_len: usize,
}

impl Journal {
    /// The `begin` entry's account, partition and journal id.
    pub fn begin(&self) -> Option<(&str, &str, &str)> {
        match self.entries.first() {
            Some(Entry::Begin {
                account,
                partition,
                journal_id,
                ..
            }) => Some((account, partition, journal_id)),
            _ => None,
        }
    }
}

/// Reads and checks a journal (see [`JournalWriter::open`] to roll it back).
pub fn read(path: &Path) -> Result<Journal, JournalError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| JournalError::Read {
        path: name.clone(),
        why: e.to_string(),
    })?;
    parse(&name, &text)
}

/// Checks a journal's text: every line parseable and chained to the ones before it (the
/// chain catches accidental edits and lost lines in the middle; it is not a signature), a
/// `begin` first, steps announced before they are reported. A last line cut off is ignored
/// with a warning: its write never completed, so it announced a call that was not made, or an
/// outcome rollback finds again (a created key by its tags).
fn parse(name: &str, text: &str) -> Result<Journal, JournalError> {
    let invalid = |line: usize, why: &str| JournalError::Invalid {
        path: name.to_owned(),
        line,
        why: why.to_owned(),
    };
    let mut warnings = Vec::new();
    let complete_len = text.rfind('\n').map_or(0, |i| i + 1);
    if complete_len < text.len() {
        warnings.push(format!(
            "line {} is cut off (the process was killed while writing it): it is ignored",
            text.lines().count()
        ));
    }
    let text = &text[..complete_len];
    if text.is_empty() {
        return Err(invalid(1, "the journal is empty"));
    }
    let mut entries = Vec::new();
    let mut last = String::new();
    let mut announced: Vec<usize> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line: Line = serde_json::from_str(raw)
            .map_err(|e| invalid(n, &format!("not a journal entry ({e})")))?;
        let entry_json =
            serde_json::to_string(&line.entry).map_err(|e| invalid(n, &e.to_string()))?;
        let expected = chain(&last, &entry_json);
        if line.chain != expected {
            return Err(invalid(
                n,
                "its checksum does not match the lines before it (edited by hand?)",
            ));
        }
        last = expected;
        match (&line.entry, i) {
            (Entry::Begin { schema, .. }, 0) if schema == JOURNAL_SCHEMA => {}
            (Entry::Begin { schema, .. }, 0) => {
                return Err(invalid(
                    n,
                    &format!("schema {schema:?}: this trailseal reads {JOURNAL_SCHEMA}"),
                ))
            }
            (_, 0) => return Err(invalid(n, "the first line is not the journal's begin")),
            (Entry::Begin { .. }, _) => return Err(invalid(n, "a second begin")),
            (Entry::Intent { seq, .. }, _) => announced.push(*seq),
            (
                Entry::Done { seq, .. }
                | Entry::Failed { seq, .. }
                | Entry::RolledBack { seq, .. }
                | Entry::RollbackFailed { seq, .. },
                _,
            ) if !announced.contains(seq) => {
                return Err(invalid(n, &format!("step {seq} was never announced")))
            }
            _ => {}
        }
        entries.push(line.entry);
    }
    if !entries.iter().any(|e| matches!(e, Entry::End { .. })) {
        warnings.push(
            "the journal has no end line: the apply was interrupted (or the journal was cut short); what it records is rolled back".into(),
        );
    }
    Ok(Journal {
        entries,
        warnings,
        last_chain: last,
        complete_len,
    })
}

//! # trailseal-history
//!
//! Remembers every audit: each run of one account (time, tool version, the evidence and the
//! findings) in a SQLite database, and says what changed between two runs: trails added or
//! removed, findings that newly fail or were fixed, key state changes, and key policies as a
//! statement-level diff with the effect on TS006-TS008 ([`diff`]).
//!
//! No AWS, no async: `trailseal audit --history` collects and evaluates, then hands the
//! evidence and findings of each account to [`History::record`].
//!
//! The database (schema in [`store`]): one table of runs; the evidence and findings of a run
//! are stored as the JSON trailseal writes (`trailseal.evidence/v1` account, audit findings),
//! so a run can be re-read by any later trailseal. Concurrent writers (two audits at once)
//! are serialized by SQLite (WAL journal, `BEGIN IMMEDIATE`, a busy timeout); a database that
//! is not trailseal's, corrupt, or written by a newer trailseal is refused with a clear error.

pub mod diff;
pub mod keypolicy;
pub mod render;
pub mod store;

pub use diff::{diff, Change, FindingChange, KeyChange, Kind, RunDiff, TrailChange};
pub use store::{History, NewRun, Run, RunSummary, SCHEMA_VERSION};

use std::path::PathBuf;

/// What can go wrong with a history database. Each message names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: cannot open the history database: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error(
        "{path} is not a trailseal history database ({reason}); pass another file with --history"
    )]
    Foreign { path: PathBuf, reason: String },
    #[error(
        "{path} was written by a newer trailseal (history schema {found}; this trailseal reads up \
         to {supported}): upgrade trailseal, or pass another file with --history"
    )]
    Newer {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} is locked by another process (waited {seconds} s): try again when the other \
         audit has finished"
    )]
    Locked { path: PathBuf, seconds: f64 },
    #[error("{path} cannot be written ({reason})")]
    ReadOnly { path: PathBuf, reason: String },
    #[error("{path}: {what}: {reason}")]
    Sql {
        path: PathBuf,
        what: String,
        reason: String,
    },
    #[error("{path}: run {run} is damaged: {reason}")]
    Damaged {
        path: PathBuf,
        run: i64,
        reason: String,
    },
    #[error("{path}: no run {run} (`trailseal history` lists them)")]
    NoSuchRun { path: PathBuf, run: i64 },
}

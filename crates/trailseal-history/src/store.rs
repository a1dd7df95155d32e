//! The SQLite database: opening (and refusing what is not ours), the schema and its
//! migrations, recording a run, listing and reading runs, retention.
//!
//! Schema version 1 (`PRAGMA user_version = 1`, `PRAGMA application_id` = [`APPLICATION_ID`]):
//!
//! ```sql
//! CREATE TABLE runs (
//!     id INTEGER PRIMARY KEY AUTOINCREMENT,  -- run number, never reused
//!     account TEXT NOT NULL,                 -- the audited account
//!     collected_at TEXT NOT NULL,            -- when the evidence was read (RFC 3339)
//!     recorded_at TEXT NOT NULL,             -- when the run was written (RFC 3339)
//!     tool_version TEXT NOT NULL,            -- trailseal's version
//!     source TEXT NOT NULL,                  -- "live" or "evidence FILE"
//!     audit_id TEXT NOT NULL,                -- the audit invocation (its accounts share it)
//!     codes TEXT NOT NULL,                   -- the checks evaluated, comma-separated
//!     regions TEXT NOT NULL,                 -- the Regions read, comma-separated
//!     trails INTEGER NOT NULL,               -- the account's trails
//!     compliant_trails INTEGER NOT NULL,     -- of which TS001-TS006 all pass
//!     pass, fail, error, indeterminate INTEGER NOT NULL,  -- findings per status
//!     evidence BLOB NOT NULL,                -- the account's evidence (trailseal.evidence/v1
//!                                            -- JSON), zlib-compressed
//!     findings BLOB NOT NULL                 -- the findings (audit JSON array), zlib-compressed
//! );
//! CREATE INDEX runs_by_account ON runs (account, collected_at, id);
//! CREATE INDEX runs_by_audit ON runs (audit_id);
//! ```
//!
//! A change of schema adds a step to [`MIGRATIONS`] (never edits one) and a test that opens
//! the committed database of every earlier version (`tests/fixtures/history-v*.sqlite3`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use serde::Serialize;
use trailseal_model::{AccountEvidence, Finding, Status};

use crate::Error;

/// `PRAGMA application_id`: "tshl" (trailseal history). A SQLite database with another id is
/// somebody else's and is never written to.
pub const APPLICATION_ID: i64 = 0x7473_686c;

/// The schema this trailseal writes ([`MIGRATIONS`]`.len()`).
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `MIGRATIONS[n]` takes a database from version `n` to `n + 1`, in one transaction.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL,
        collected_at TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        tool_version TEXT NOT NULL,
        source TEXT NOT NULL,
        audit_id TEXT NOT NULL,
        codes TEXT NOT NULL,
        regions TEXT NOT NULL,
        trails INTEGER NOT NULL,
        compliant_trails INTEGER NOT NULL,
        pass INTEGER NOT NULL,
        fail INTEGER NOT NULL,
        error INTEGER NOT NULL,
        indeterminate INTEGER NOT NULL,
        evidence BLOB NOT NULL,
        findings BLOB NOT NULL
    );
    CREATE INDEX runs_by_account ON runs (account, collected_at, id);
    CREATE INDEX runs_by_audit ON runs (audit_id);
"];

/// How long a writer waits for another one (two audits at once) before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open history database.
pub struct History {
    conn: Connection,
    path: PathBuf,
    busy: Duration,
}

/// What a run adds to the history.
pub struct NewRun<'a> {
    pub collected_at: &'a str,
    pub recorded_at: &'a str,
    pub tool_version: &'a str,
    /// `live`, or `evidence FILE`.
    pub source: &'a str,
    /// The same for every account of one audit invocation: `diff` without runs compares the
    /// accounts of the latest audit.
    pub audit_id: &'a str,
    /// The checks that were evaluated (`--checks`): a later run that evaluates fewer is not
    /// read as "fixed".
    pub codes: &'a [&'a str],
    pub evidence: &'a AccountEvidence,
    /// The checks' findings (before any mutelist: the history is about the state, not about
    /// what was accepted).
    pub findings: &'a [Finding],
}

/// One run, as `trailseal history` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunSummary {
    pub id: i64,
    pub account: String,
    pub collected_at: String,
    pub recorded_at: String,
    pub tool_version: String,
    pub source: String,
    pub audit_id: String,
    /// The checks evaluated.
    pub codes: Vec<String>,
    /// The Regions read.
    pub regions: Vec<String>,
    pub trails: i64,
    pub compliant_trails: i64,
    pub pass: i64,
    pub fail: i64,
    pub error: i64,
    pub indeterminate: i64,
}

/// One run, whole.
#[derive(Debug, Clone)]
pub struct Run {
    pub summary: RunSummary,
    pub evidence: AccountEvidence,
    pub findings: Vec<Finding>,
}

const SUMMARY_COLUMNS: &str = "id, account, collected_at, recorded_at, tool_version, source, \
     audit_id, codes, regions, trails, compliant_trails, pass, fail, error, indeterminate";

fn split(list: String) -> Vec<String> {
    list.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn summary_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    Ok(RunSummary {
        id: row.get(0)?,
        account: row.get(1)?,
        collected_at: row.get(2)?,
        recorded_at: row.get(3)?,
        tool_version: row.get(4)?,
        source: row.get(5)?,
        audit_id: row.get(6)?,
        codes: split(row.get(7)?),
        regions: split(row.get(8)?),
        trails: row.get(9)?,
        compliant_trails: row.get(10)?,
        pass: row.get(11)?,
        fail: row.get(12)?,
        error: row.get(13)?,
        indeterminate: row.get(14)?,
    })
}

impl History {
    /// Opens the database at `path` to record runs, creating it (and its directory) when
    /// missing, migrating an older schema.
    pub fn open(path: &Path) -> Result<History, Error> {
        refuse_directory(path)?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Open {
                path: path.to_owned(),
                reason: format!("cannot create {}: {e}", dir.display()),
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| classify(path, e, BUSY_TIMEOUT))?;
        let mut history = History {
            conn,
            path: path.to_owned(),
            busy: BUSY_TIMEOUT,
        };
        history.prepare(true, true)?;
        Ok(history)
    }

    /// Opens an existing database to read it (`history`, `diff`): never creates one, and works
    /// on a read-only file. An older schema is read after migrating when the file is writable.
    pub fn open_existing(path: &Path) -> Result<History, Error> {
        refuse_directory(path)?;
        let empty = std::fs::metadata(path).map(|m| m.len() == 0);
        if !matches!(empty, Ok(false)) {
            return Err(Error::Open {
                path: path.to_owned(),
                reason: format!(
                    "{}; `trailseal audit --history` records runs there",
                    if empty.is_ok() {
                        "empty"
                    } else {
                        "no such file"
                    }
                ),
            });
        }
        let writable = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if let Ok(conn) = Connection::open_with_flags(path, writable) {
            let mut history = History {
                conn,
                path: path.to_owned(),
                busy: BUSY_TIMEOUT,
            };
            match history.prepare(true, false) {
                // SQLite opens a file it cannot write read-only without saying so; in a
                // directory it cannot write, a WAL database then fails on the first read.
                Err(Error::ReadOnly { .. } | Error::Open { .. }) => {}
                other => return other.map(|()| history),
            }
        }
        let mut history = History {
            conn: read_only(path)?,
            path: path.to_owned(),
            busy: BUSY_TIMEOUT,
        };
        history.prepare(false, false)?;
        Ok(history)
    }

    /// How long to wait for another writer before [`Error::Locked`] (default 30 s).
    pub fn set_busy_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.busy = timeout;
        self.conn
            .busy_timeout(timeout)
            .map_err(|e| classify(&self.path, e, timeout))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks the file is ours and at our schema (creating or migrating it when `write`).
    fn prepare(&mut self, write: bool, create: bool) -> Result<(), Error> {
        let path = self.path.clone();
        let err = |e| classify(&path, e, self.busy);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
        let header = self.header()?;
        let version = header.version;
        if header.app == APPLICATION_ID && version == SCHEMA_VERSION {
            return Ok(());
        }
        History::refuse_foreign(&path, header)?;
        if version == 0 && !create {
            return Err(Error::Open {
                path: self.path.clone(),
                reason: "it holds no history yet; `trailseal audit --history` records runs there"
                    .into(),
            });
        }
        if !write {
            return Err(Error::ReadOnly {
                path: self.path.clone(),
                reason: format!(
                    "its history schema {version} must be migrated to {SCHEMA_VERSION} first"
                ),
            });
        }
        // Create or migrate, once: another process may be doing the same right now, so the
        // header is read again inside the write transaction.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let header = read_header(&tx).map_err(err)?;
        History::refuse_foreign(&path, header)?;
        let version = header.version;
        if header.app == 0 && version == 0 {
            tx.execute_batch(&format!("PRAGMA application_id = {APPLICATION_ID};"))
                .map_err(err)?;
        }
        for (from, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(step).map_err(|e| Error::Sql {
                path: path.clone(),
                what: format!("migrating the schema from version {from}"),
                reason: e.to_string(),
            })?;
            tx.execute_batch(&format!("PRAGMA user_version = {};", from + 1))
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        // Readers do not wait for the writer (and the writer not for readers).
        self.conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            .map_err(err)?;
        Ok(())
    }

    /// The application id, schema version and number of schema objects, read in one
    /// transaction (another process may be creating the schema right now).
    fn header(&self) -> Result<Header, Error> {
        let err = |e| classify(&self.path, e, self.busy);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let header = read_header(&tx).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(header)
    }

    /// A database that holds anything but a trailseal history is never touched.
    fn refuse_foreign(path: &Path, header: Header) -> Result<(), Error> {
        let Header {
            app,
            version,
            tables,
        } = header;
        if app == APPLICATION_ID {
            if version > SCHEMA_VERSION {
                return Err(Error::Newer {
                    path: path.to_owned(),
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            return Ok(());
        }
        if app != 0 {
            return Err(Error::Foreign {
                path: path.to_owned(),
                reason: format!("a SQLite database of another application, id {app:#x}"),
            });
        }
        if tables > 0 || version != 0 {
            return Err(Error::Foreign {
                path: path.to_owned(),
                reason: format!("a SQLite database with {tables} other tables or indexes"),
            });
        }
        Ok(())
    }

    /// Records one account's run, then keeps only the newest `keep` runs of the account (when
    /// given), in one transaction. Returns the run's number.
    pub fn record(&mut self, run: &NewRun<'_>, keep: Option<u32>) -> Result<i64, Error> {
        let path = self.path.clone();
        let evidence = compressed_json(run.evidence).map_err(|e| Error::Sql {
            path: path.clone(),
            what: "serializing the evidence".into(),
            reason: e.to_string(),
        })?;
        let findings = compressed_json(run.findings).map_err(|e| Error::Sql {
            path: path.clone(),
            what: "serializing the findings".into(),
            reason: e.to_string(),
        })?;
        let (trails, compliant) = compliance(run.evidence, run.findings);
        let regions = run
            .evidence
            .regions
            .iter()
            .map(|r| r.region.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let count = |s: Status| run.findings.iter().filter(|f| f.status == s).count() as i64;
        let err = |e| classify(&path, e, self.busy);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute(
            "INSERT INTO runs (account, collected_at, recorded_at, tool_version, source, \
             audit_id, codes, regions, trails, compliant_trails, pass, fail, error, \
             indeterminate, evidence, findings) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                run.evidence.account,
                run.collected_at,
                run.recorded_at,
                run.tool_version,
                run.source,
                run.audit_id,
                run.codes.join(","),
                regions,
                trails,
                compliant,
                count(Status::Pass),
                count(Status::Fail),
                count(Status::Error),
                count(Status::Indeterminate),
                evidence,
                findings,
            ],
        )
        .map_err(err)?;
        let id = tx.last_insert_rowid();
        if let Some(keep) = keep {
            prune(&tx, &run.evidence.account, keep).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(id)
    }

    /// Keeps only the newest `keep` runs of each account (by when their evidence was collected,
    /// as `diff` orders them); returns how many were deleted.
    pub fn keep(&mut self, keep: u32) -> Result<usize, Error> {
        let path = self.path.clone();
        let err = |e| classify(&path, e, self.busy);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(err)?;
        let accounts: Vec<String> = {
            let mut stmt = tx
                .prepare("SELECT DISTINCT account FROM runs")
                .map_err(err)?;
            let rows = stmt.query_map([], |r| r.get(0)).map_err(err)?;
            rows.collect::<Result<_, _>>().map_err(err)?
        };
        let mut deleted = 0;
        for account in &accounts {
            deleted += prune(&tx, account, keep).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(deleted)
    }

    /// The runs, oldest first; only `account`'s when given.
    pub fn list(&self, account: Option<&str>) -> Result<Vec<RunSummary>, Error> {
        let err = |e| classify(&self.path, e, self.busy);
        let sql = format!(
            "SELECT {SUMMARY_COLUMNS} FROM runs WHERE (?1 IS NULL OR account = ?1) ORDER BY id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(err)?;
        let rows = stmt.query_map([account], summary_of).map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)
    }

    /// One run, whole.
    pub fn run(&self, id: i64) -> Result<Run, Error> {
        let err = |e| classify(&self.path, e, self.busy);
        let sql = format!("SELECT {SUMMARY_COLUMNS}, evidence, findings FROM runs WHERE id = ?1");
        let row = self
            .conn
            .query_row(&sql, [id], |r| {
                Ok((
                    summary_of(r)?,
                    r.get::<_, Vec<u8>>(15)?,
                    r.get::<_, Vec<u8>>(16)?,
                ))
            })
            .optional()
            .map_err(err)?;
        let Some((summary, evidence, findings)) = row else {
            return Err(Error::NoSuchRun {
                path: self.path.clone(),
                run: id,
            });
        };
        let damaged = |what: &str, e: std::io::Error| Error::Damaged {
            path: self.path.clone(),
            run: id,
            reason: format!("its {what} cannot be read: {e}"),
        };
        Ok(Run {
            summary,
            evidence: from_compressed_json(&evidence).map_err(|e| damaged("evidence", e))?,
            findings: from_compressed_json(&findings).map_err(|e| damaged("findings", e))?,
        })
    }

    /// The run of the same account just before `id`.
    pub fn previous(&self, id: i64) -> Result<Option<i64>, Error> {
        let err = |e| classify(&self.path, e, self.busy);
        let run: Option<(String, String)> = self
            .conn
            .query_row(
                "SELECT account, collected_at FROM runs WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(err)?;
        let Some((account, collected_at)) = run else {
            return Err(Error::NoSuchRun {
                path: self.path.clone(),
                run: id,
            });
        };
        // The run whose evidence was collected just before (an older evidence file audited
        // later is not "after" this one).
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE account = ?1 AND (collected_at < ?2 OR \
                 (collected_at = ?2 AND id < ?3)) ORDER BY collected_at DESC, id DESC LIMIT 1",
                params![account, collected_at, id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err)
    }

    /// The account's newest run (by collection time) other than `id`.
    fn newest_other(&self, id: i64) -> Result<Option<i64>, Error> {
        self.conn
            .query_row(
                "SELECT id FROM runs WHERE account = (SELECT account FROM runs WHERE id = ?1) \
                 AND id != ?1 ORDER BY collected_at DESC, id DESC LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| classify(&self.path, e, self.busy))
    }

    /// For each account of the latest audit (the newest run's `audit_id`), its run there and
    /// the run before it (`None` when it has none). Accounts that audit left out are not
    /// compared again.
    pub fn latest_pairs(&self) -> Result<Vec<(Option<i64>, i64)>, Error> {
        let err = |e| classify(&self.path, e, self.busy);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT account, max(id) FROM runs WHERE audit_id = \
                 (SELECT audit_id FROM runs ORDER BY id DESC LIMIT 1) \
                 GROUP BY account ORDER BY account",
            )
            .map_err(err)?;
        let latest: Vec<i64> = stmt
            .query_map([], |r| r.get(1))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        // A run whose evidence is the account's oldest (an old evidence file audited last) is
        // compared with the account's newest other run: the diff says the order is reversed.
        latest
            .into_iter()
            .map(|id| {
                let older = match self.previous(id)? {
                    Some(p) => Some(p),
                    None => self.newest_other(id)?,
                };
                Ok((older, id))
            })
            .collect()
    }
}

#[derive(Debug, Clone, Copy)]
struct Header {
    app: i64,
    version: i64,
    tables: i64,
}

fn read_header(conn: &Connection) -> rusqlite::Result<Header> {
    Ok(Header {
        app: conn.query_row("PRAGMA application_id", [], |r| r.get(0))?,
        version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        tables: conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?,
    })
}

/// The JSON of `value`, zlib-compressed.
fn compressed_json<T: Serialize + ?Sized>(value: &T) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(COMPRESSION));
    serde_json::to_writer(&mut encoder, value)?;
    encoder.finish()
}

fn from_compressed_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> std::io::Result<T> {
    use std::io::Read;
    let mut json = Vec::with_capacity(bytes.len() * 8);
    flate2::read::ZlibDecoder::new(bytes).read_to_end(&mut json)?;
    Ok(serde_json::from_slice(&json)?)
}

/// zlib level 6 (the default): the 7.2 MB of findings of 500 trails become 121 KB (59x; level 1:
/// 373 KB, 19x) for tens of milliseconds (bench/README.md, "Audit history").
const COMPRESSION: u32 = 6;

fn refuse_directory(path: &Path) -> Result<(), Error> {
    if path.is_dir() {
        return Err(Error::Open {
            path: path.to_owned(),
            reason: "a directory: name a file, e.g. DIR/history.sqlite3".into(),
        });
    }
    Ok(())
}

/// A read-only connection that also works where SQLite cannot create the WAL index next to
/// the file (a read-only directory): the file is then opened as immutable, which is right for
/// a database nobody can write there.
fn read_only(path: &Path) -> Result<Connection, Error> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let classify_open = |e| classify(path, e, BUSY_TIMEOUT);
    let conn = Connection::open_with_flags(path, flags).map_err(classify_open)?;
    let readable = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    if readable.is_ok() {
        return Ok(conn);
    }
    let uri = format!(
        "file:{}?immutable=1",
        path.to_string_lossy()
            .replace('%', "%25")
            .replace('?', "%3f")
            .replace('#', "%23")
    );
    Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI).map_err(classify_open)
}

fn prune(tx: &rusqlite::Transaction<'_>, account: &str, keep: u32) -> rusqlite::Result<usize> {
    tx.execute(
        "DELETE FROM runs WHERE account = ?1 AND id NOT IN \
         (SELECT id FROM runs WHERE account = ?1 ORDER BY collected_at DESC, id DESC LIMIT ?2)",
        params![account, keep],
    )
}

/// The account's own trails, and how many of them are compliant ([`crate::diff::compliant_trails`]).
fn compliance(evidence: &AccountEvidence, findings: &[Finding]) -> (i64, i64) {
    let compliant = crate::diff::compliant_trails(findings);
    let count = evidence
        .trails
        .iter()
        .filter(|t| compliant.contains(t.arn.as_str()))
        .count();
    (evidence.trails.len() as i64, count as i64)
}

/// Turns SQLite's error into one that says what to do.
fn classify(path: &Path, e: rusqlite::Error, waited: Duration) -> Error {
    let path = path.to_owned();
    let reason = e.to_string();
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => Error::Locked {
            path,
            seconds: waited.as_secs_f64(),
        },
        Some(ErrorCode::NotADatabase) => Error::Foreign {
            path,
            reason: "not a SQLite database, or its header is damaged".into(),
        },
        Some(ErrorCode::DatabaseCorrupt) => Error::Sql {
            path,
            what: "the database is damaged; restore it from a backup or pass another file \
                   with --history"
                .into(),
            reason,
        },
        Some(ErrorCode::ReadOnly) => Error::ReadOnly { path, reason },
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied) => Error::Open { path, reason },
        _ => Error::Sql {
            path,
            what: "SQLite".into(),
            reason,
        },
    }
}

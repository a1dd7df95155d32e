//! The history database: recording, listing, retention, concurrent writers, and every way a
//! database can be unusable (corrupt, foreign, newer, read-only, locked): a clear error, never
//! silent loss.

use std::path::{Path, PathBuf};
use std::time::Duration;

use trailseal_history::{Error, History, NewRun, SCHEMA_VERSION};
use trailseal_model::{AccountEvidence, Evidence, Finding};

fn example() -> AccountEvidence {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/evidence/broken-account.json");
    let text = std::fs::read_to_string(path).expect("example evidence");
    let evidence: Evidence = serde_json::from_str(&text).expect("evidence JSON");
    evidence.accounts.into_iter().next().expect("one account")
}

fn evaluate(account: &AccountEvidence) -> Vec<Finding> {
    let codes: Vec<&str> = trailseal_checks::all_codes();
    trailseal_checks::evaluate_account(account, &codes)
}

fn new_run<'a>(account: &'a AccountEvidence, findings: &'a [Finding]) -> NewRun<'a> {
    NewRun {
        collected_at: "2026-11-30T10:00:00Z",
        recorded_at: "2026-11-30T10:00:05Z",
        tool_version: "0.1.0",
        source: "test",
        audit_id: "a",
        codes: &[],
        evidence: account,
        findings,
    }
}

fn record(history: &mut History, account: &AccountEvidence, keep: Option<u32>) -> i64 {
    let findings = evaluate(account);
    history
        .record(&new_run(account, &findings), keep)
        .expect("recorded")
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("sub").join("history.sqlite3")
}

#[test]
fn a_run_is_read_back_whole_and_listed_with_its_counts() {
    let dir = tempfile::tempdir().unwrap();
    let account = example();
    let mut history = History::open(&db(&dir)).unwrap();
    let id = record(&mut history, &account, None);
    let run = history.run(id).unwrap();
    assert_eq!(run.evidence, account);
    assert_eq!(run.findings, evaluate(&account));
    let listed = history.list(None).unwrap();
    assert_eq!(listed.len(), 1);
    let s = &listed[0];
    assert_eq!((s.account.as_str(), s.trails), ("111122223333", 14));
    // The example's compliant trails: only those with TS001-TS006 all passing.
    assert_eq!(s.compliant_trails, 2);
    assert_eq!(
        s.fail as usize,
        run.findings
            .iter()
            .filter(|f| f.status == trailseal_model::Status::Fail)
            .count()
    );
    assert!(history.list(Some("999999999999")).unwrap().is_empty());
    assert!(matches!(history.run(id + 1), Err(Error::NoSuchRun { .. })));
}

#[test]
fn previous_and_latest_pairs_are_per_account_and_keep_prunes_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let a = example();
    let mut b = example();
    b.account = "444455556666".into();
    let mut history = History::open(&db(&dir)).unwrap();
    let a1 = record(&mut history, &a, None);
    let b1 = record(&mut history, &b, None);
    let a2 = record(&mut history, &a, None);
    assert_eq!(history.previous(a2).unwrap(), Some(a1));
    assert_eq!(history.previous(b1).unwrap(), None);
    assert_eq!(
        history.latest_pairs().unwrap(),
        vec![(Some(a1), a2), (None, b1)]
    );
    // --keep 2 on a's third run: a1 goes, b1 stays.
    let a3 = record(&mut history, &a, Some(2));
    let ids: Vec<i64> = history.list(None).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![b1, a2, a3]);
    assert_eq!(history.keep(1).unwrap(), 1);
    let ids: Vec<i64> = history.list(None).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![b1, a3]);
    // Run numbers are never reused.
    assert!(record(&mut history, &a, None) > a3);
}

#[test]
fn two_writers_at_once_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    // Both create the database at the same time, too.
    let writers: Vec<_> = (0..2)
        .map(|w| {
            let path = path.clone();
            std::thread::spawn(move || {
                let mut account = example();
                account.account = format!("{w:012}");
                let mut history = History::open(&path).expect("open");
                for _ in 0..15 {
                    record(&mut history, &account, None);
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    let history = History::open_existing(&path).unwrap();
    let runs = history.list(None).unwrap();
    assert_eq!(runs.len(), 30);
    assert_eq!(
        runs.iter().filter(|r| r.account == "000000000001").count(),
        15
    );
}

#[test]
fn a_writer_waits_for_the_other_then_says_the_database_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let mut history = History::open(&path).unwrap();
    let other = rusqlite_lock(&path);
    history
        .set_busy_timeout(Duration::from_millis(200))
        .unwrap();
    let account = example();
    let findings = evaluate(&account);
    let err = history
        .record(&new_run(&account, &findings), None)
        .unwrap_err();
    assert!(matches!(err, Error::Locked { .. }), "{err}");
    assert!(
        err.to_string().contains("locked by another process"),
        "{err}"
    );
    drop(other);
    assert_eq!(record(&mut history, &account, None), 1);
}

/// Another process's write transaction, held until dropped (the sqlite3 shell would do the
/// same with `BEGIN IMMEDIATE`).
fn rusqlite_lock(path: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

fn sql(path: &Path, sql: &str) {
    rusqlite::Connection::open(path)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn garbage_a_foreign_database_and_a_newer_schema_are_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    // Not a database at all (say, an audit report passed by mistake).
    let garbage = dir.path().join("report.json");
    let text = "{\"schema\": \"trailseal.audit/v1\"} and more bytes than a header";
    std::fs::write(&garbage, text).unwrap();
    let err = History::open(&garbage).err().expect("refused");
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    assert!(
        err.to_string().contains("not a trailseal history database"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&garbage).unwrap(), text);

    // Somebody else's SQLite database.
    let foreign = dir.path().join("other.sqlite3");
    sql(&foreign, "CREATE TABLE t (x); INSERT INTO t VALUES (1);");
    let err = History::open(&foreign).err().expect("refused");
    assert!(matches!(err, Error::Foreign { .. }), "{err}");
    let err = History::open_existing(&foreign).err().expect("refused");
    assert!(matches!(err, Error::Foreign { .. }), "{err}");

    // Ours, from a newer trailseal.
    let newer = dir.path().join("newer.sqlite3");
    drop(History::open(&newer).unwrap());
    sql(
        &newer,
        &format!("PRAGMA user_version = {};", SCHEMA_VERSION + 1),
    );
    for err in [
        History::open(&newer).err(),
        History::open_existing(&newer).err(),
    ] {
        let err = err.expect("refused");
        assert!(matches!(err, Error::Newer { .. }), "{err}");
        assert!(err.to_string().contains("upgrade trailseal"), "{err}");
    }
}

#[test]
fn a_damaged_database_is_an_error_not_an_empty_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    {
        let mut history = History::open(&path).unwrap();
        let account = example();
        for _ in 0..3 {
            record(&mut history, &account, None);
        }
    }
    sql(&path, "PRAGMA journal_mode = DELETE;");
    // Overwrite the middle of the file (the runs' pages) with garbage.
    let mut bytes = std::fs::read(&path).unwrap();
    let len = bytes.len();
    for b in &mut bytes[4096..len.min(4096 * 6)] {
        *b = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let result = History::open_existing(&path).and_then(|h| {
        let runs = h.list(None)?;
        runs.iter()
            .map(|r| h.run(r.id))
            .collect::<Result<Vec<_>, _>>()
    });
    let err = result.expect_err("a damaged database is an error");
    let text = err.to_string();
    assert!(
        text.contains("damaged") || text.contains("not a trailseal history database"),
        "{text}"
    );
}

#[test]
fn a_read_only_database_is_read_but_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.sqlite3");
    let account = example();
    {
        let mut history = History::open(&path).unwrap();
        record(&mut history, &account, None);
    }
    // A read-only file cannot hold a WAL journal's side files: as a copy would be.
    sql(&path, "PRAGMA journal_mode = DELETE;");
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        // Running as root: file permissions are not enforced, so there is no read-only file
        // to test with. Say so rather than pass silently.
        eprintln!("SKIPPED: running as root, a read-only file cannot be made");
        return;
    }
    let history = History::open_existing(&path).unwrap();
    assert_eq!(history.list(None).unwrap().len(), 1);
    let err = History::open(&path).and_then(|mut h| {
        let findings = evaluate(&account);
        h.record(&new_run(&account, &findings), None)
    });
    let err = err.expect_err("not writable");
    assert!(
        matches!(err, Error::ReadOnly { .. } | Error::Open { .. }),
        "{err}"
    );
}

#[test]
fn a_missing_database_is_not_created_by_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sqlite3");
    let err = History::open_existing(&path).err().expect("missing");
    assert!(err.to_string().contains("audit --history"), "{err}");
    assert!(!path.exists());
}

/// Every schema version trailseal ever wrote is read by this one (migrated first). Version 1
/// is the first; a new version adds its fixture here.
#[test]
fn databases_of_every_earlier_schema_are_migrated_and_read() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for version in 1..=SCHEMA_VERSION {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.sqlite3");
        std::fs::copy(fixtures.join(format!("history-v{version}.sqlite3")), &path).unwrap();
        let mut history = History::open(&path).unwrap();
        let runs = history.list(None).unwrap();
        assert_eq!(runs.len(), 2, "schema {version}");
        let run = history.run(runs[1].id).unwrap();
        assert_eq!(run.evidence.account, "111122223333");
        assert!(!run.findings.is_empty());
        // And it takes new runs.
        record(&mut history, &run.evidence, None);
        assert_eq!(history.list(None).unwrap().len(), 3);
    }
}

/// Runs are ordered by when their evidence was collected, also when an older evidence file is
/// recorded last: `--keep` keeps the newest by that order, and the latest audit's run is
/// still compared with another run (the diff then says the order is reversed).
#[test]
fn collection_time_orders_keep_and_the_latest_pair() {
    let dir = tempfile::tempdir().unwrap();
    let mut history = History::open(&db(&dir)).unwrap();
    let account = example();
    let findings = evaluate(&account);
    let at = |history: &mut History, collected_at: &str, audit: &str| {
        let mut run = new_run(&account, &findings);
        run.collected_at = collected_at;
        run.audit_id = audit;
        history.record(&run, None).unwrap()
    };
    let nov25 = at(&mut history, "2026-11-25T00:00:00Z", "a1");
    let nov27 = at(&mut history, "2026-11-27T00:00:00Z", "a2");
    let nov20 = at(&mut history, "2026-11-20T00:00:00Z", "a3");
    assert_eq!(history.previous(nov27).unwrap(), Some(nov25));
    assert_eq!(history.previous(nov20).unwrap(), None);
    assert_eq!(history.latest_pairs().unwrap(), vec![(Some(nov27), nov20)]);
    assert_eq!(history.keep(2).unwrap(), 1);
    let left: Vec<i64> = history.list(None).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(left, vec![nov25, nov27]);
}

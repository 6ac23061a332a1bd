//! Which failures stop the write path and which are reported while it goes on: one test per
//! row of the table in doc/RELIABILITY.md ("Failures: what stops, what goes on").
//!
//! - A failed write or fsync of the WAL: writes stop until reopen, and `sync`/`close` report
//!   that acknowledged writes may not be durable.
//! - A failed switch to a new WAL, or a failed manifest write: the state on disk is unknown,
//!   so writes stop until reopen; the WALs are intact, and `sync`/`close` make them durable.
//! - A failed flush or compaction (writing its sstables, or a corrupt input): nothing was
//!   installed and nothing is lost; the work is retried, writers that would have to wait for
//!   it get its error instead, and writes go on.
//!
//! Before these rules, a failed WAL creation or compaction on a caller's thread returned an
//! error and carried on, the same failures on the background thread stopped writes, and any
//! background failure (even a corrupt compaction input) made `sync` and `close` refuse to
//! fsync the WALs, so acknowledged writes could never be made durable.

mod common;

use common::{key, value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use toykv::env::{FaultFs, FaultKind, FaultOp};
use toykv::{Db, Error, ErrorKind, Options};

const DIR: &str = "/db";

fn options(fs: &Arc<FaultFs>) -> Options {
    Options {
        memtable_bytes: 32 * 1024,
        fs: fs.clone(),
        ..Options::default()
    }
}

/// Options with no automatic flush and compaction: the test decides when they run.
fn manual(fs: &Arc<FaultFs>) -> Options {
    Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        l0_compaction_trigger: 1000,
        l0_slowdown_trigger: 1000,
        l0_stop_trigger: 1000,
        ..options(fs)
    }
}

fn put_range(db: &Db, range: std::ops::Range<usize>) {
    for i in range {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
}

/// After a power cut of `fs`, the database holds exactly `key(0..n)`.
fn assert_power_cut_keeps(fs: &Arc<FaultFs>, opts: Options, n: usize) {
    let image = fs.crash_copy();
    let db = Db::open(Path::new(DIR), Options { fs: image, ..opts }).unwrap();
    let all: Vec<_> = db
        .scan_bounds(None, None)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    assert_eq!(all.len(), n, "after a power cut");
    for (i, (k, v)) in all.into_iter().enumerate() {
        assert_eq!((k, v), (key(i), value(i, 0)));
    }
}

fn stats(db: &Db) -> String {
    db.property("toykv.stats").unwrap()
}

/// Retries `f` until it returns true, for up to 20 s (background work is asynchronous).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !f() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_failed_wal_append_stops_writes_and_sync_and_close_report_it() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, options(&fs)).unwrap();
    put_range(&db, 0..100);
    fs.inject_on(FaultOp::Append, ".log", 1, FaultKind::Eio);
    assert_eq!(db.put(&key(100), b"x").unwrap_err().kind(), ErrorKind::Io);
    assert!(matches!(db.put(&key(101), b"x"), Err(Error::Poisoned(_))));
    assert!(matches!(db.sync(), Err(Error::Poisoned(_))));
    assert!(matches!(db.close(), Err(Error::Poisoned(_))));
    let db = Db::open(DIR, options(&fs)).unwrap();
    assert_eq!(db.get(&key(99)).unwrap(), Some(value(99, 0)));
    assert_eq!(db.get(&key(100)).unwrap(), None);
}

// Regression: a failed `Wal::create` in `switch_memtable` returned an error on a caller's
// thread (`Db::flush`) and writes carried on.
#[test]
fn a_failed_switch_to_a_new_wal_stops_writes_but_keeps_the_old_wal_durable() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, manual(&fs)).unwrap();
    put_range(&db, 0..300);
    fs.inject_on(FaultOp::Create, ".log", 1, FaultKind::Enospc);
    assert_eq!(db.flush().unwrap_err().kind(), ErrorKind::Io);
    let err = db.put(&key(300), &value(300, 0)).unwrap_err();
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    assert!(stats(&db).contains("writes: the database stopped accepting writes"));
    db.sync().unwrap();
    db.close().unwrap();
    assert_power_cut_keeps(&fs, manual(&fs), 300);
}

#[test]
fn a_failed_switch_on_the_write_path_stops_writes_the_same_way() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, options(&fs)).unwrap();
    put_range(&db, 0..10);
    fs.inject_sticky_on(FaultOp::Create, ".log", 1, FaultKind::Enospc);
    // Writes go on into the active memtable until it is full and a switch is needed.
    let mut acknowledged = 10;
    let err = loop {
        match db.put(&key(acknowledged), &value(acknowledged, 0)) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 100_000, "no switch was needed");
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(matches!(db.put(b"later", b"x"), Err(Error::Poisoned(_))));
    db.close().unwrap();
    fs.clear_faults();
    assert_power_cut_keeps(&fs, options(&fs), acknowledged);
}

#[test]
fn a_failed_manifest_write_stops_writes_but_keeps_the_wal_durable() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, manual(&fs)).unwrap();
    put_range(&db, 0..300);
    fs.inject_on(FaultOp::Sync, "MANIFEST", 1, FaultKind::Eio);
    assert_eq!(db.flush().unwrap_err().kind(), ErrorKind::Io);
    assert!(matches!(db.put(b"later", b"x"), Err(Error::Poisoned(_))));
    assert!(matches!(db.compact(), Err(Error::Poisoned(_))));
    db.sync().unwrap();
    db.close().unwrap();
    assert_power_cut_keeps(&fs, manual(&fs), 300);
}

// Regression: a failed background flush stopped writes until reopen, and `close` then
// refused to fsync the WALs.
#[test]
fn a_failed_flush_is_retried_and_writes_go_on() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, manual(&fs)).unwrap();
    put_range(&db, 0..300);
    fs.inject_on(FaultOp::Create, ".sst", 1, FaultKind::Enospc);
    // The caller may hear of the failure, or the retry may already have succeeded.
    if let Err(e) = db.flush() {
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    }
    put_range(&db, 300..400);
    eventually("the flush succeeds on retry", || {
        db.property("toykv.num-files-at-level0").unwrap() == "1"
    });
    assert!(stats(&db).contains("failed flushes: 1 (failing now: none)"));
    db.flush().unwrap();
    db.sync().unwrap();
    db.close().unwrap();
    assert_power_cut_keeps(&fs, manual(&fs), 400);
}

#[test]
fn writers_stalled_behind_a_failing_flush_get_its_error_and_resume_when_it_recovers() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, options(&fs)).unwrap();
    fs.inject_sticky_on(FaultOp::Create, ".sst", 1, FaultKind::Enospc);
    // Two frozen memtables can wait for their flush; then writers must wait too, and get
    // the flush's error instead of hanging.
    let mut acknowledged = 0;
    let err = loop {
        match db.put(&key(acknowledged), &value(acknowledged, 0)) {
            Ok(()) => acknowledged += 1,
            Err(e) => break e,
        }
        assert!(acknowledged < 100_000, "writers never stalled");
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(!matches!(err, Error::Poisoned(_)), "{err}");
    assert!(stats(&db).contains("No space"), "{}", stats(&db));
    // Every acknowledged write is readable and can be made durable.
    assert_eq!(
        db.get(&key(acknowledged - 1)).unwrap(),
        Some(value(acknowledged - 1, 0))
    );
    db.sync().unwrap();
    // The disk recovers: the retried flushes succeed and writes resume without a reopen.
    fs.clear_faults();
    eventually("writes resume", || {
        db.put(&key(acknowledged), &value(acknowledged, 0)).is_ok()
    });
    acknowledged += 1;
    put_range(&db, acknowledged..acknowledged + 100);
    acknowledged += 100;
    db.close().unwrap();
    assert_power_cut_keeps(&fs, options(&fs), acknowledged);
}

// Regression: a failed output write in `Db::compact` returned an error and carried on while
// the same failure on the background thread stopped writes; neither may.
#[test]
fn a_failed_compaction_on_a_callers_thread_is_returned_and_writes_go_on() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, manual(&fs)).unwrap();
    put_range(&db, 0..200);
    db.flush().unwrap();
    put_range(&db, 200..400);
    db.flush().unwrap();
    fs.inject_on(FaultOp::Sync, ".sst", 1, FaultKind::Eio);
    assert_eq!(db.compact().unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(db.property("toykv.num-files-at-level0").unwrap(), "2");
    put_range(&db, 400..500);
    db.compact().unwrap();
    db.sync().unwrap();
    db.close().unwrap();
    assert_power_cut_keeps(&fs, manual(&fs), 500);
}

// Regression: a failed background compaction stopped every write until reopen.
#[test]
fn a_failing_background_compaction_is_retried_and_stalled_writers_get_its_error() {
    let fs = Arc::new(FaultFs::new());
    let opts = Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        l0_compaction_trigger: 2,
        l0_slowdown_trigger: 3,
        l0_stop_trigger: 3,
        ..options(&fs)
    };
    let db = Db::open(DIR, opts.clone()).unwrap();
    // Flushes create their sstables; every compaction output fails.
    fs.inject_sticky_on(FaultOp::Sync, ".sst", 2, FaultKind::Eio);
    let mut written = 0;
    let err = loop {
        put_range(&db, written..written + 100);
        written += 100;
        match db.flush() {
            Ok(()) => {}
            Err(e) => break e,
        }
        let stalled = db.put(b"probe", b"x");
        if let Err(e) = stalled {
            break e;
        }
        assert!(written < 10_000, "the failure never surfaced");
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    assert!(!matches!(err, Error::Poisoned(_)), "{err}");
    assert!(
        stats(&db).contains("failing now: I/O error"),
        "{}",
        stats(&db)
    );
    for i in 0..written {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.sync().unwrap();
    fs.clear_faults();
    eventually("compaction recovers and writes resume", || {
        db.put(b"probe", b"y").is_ok()
    });
    db.delete(b"probe").unwrap();
    db.close().unwrap();
    assert_power_cut_keeps(&fs, opts, written);
}

/// A database with two L0 sstables; the first data block of the older one is damaged.
/// Returns the damaged file's name.
fn two_tables_one_corrupt(fs: &Arc<FaultFs>, db: &Db) -> String {
    put_range(db, 0..200);
    db.flush().unwrap();
    let older = fs
        .file_names(DIR)
        .into_iter()
        .find(|n| n.ends_with(".sst"))
        .unwrap();
    put_range(db, 200..400);
    db.flush().unwrap();
    fs.flip_byte(Path::new(DIR).join(&older), 20).unwrap();
    older
}

#[test]
fn a_corrupt_input_to_a_callers_compaction_is_reported_and_writes_go_on() {
    let fs = Arc::new(FaultFs::new());
    let db = Db::open(DIR, manual(&fs)).unwrap();
    let damaged = two_tables_one_corrupt(&fs, &db);
    let err = db.compact().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(err.to_string().contains(&damaged), "{err}");
    assert!(stats(&db).contains(&damaged), "{}", stats(&db));
    put_range(&db, 400..450);
    db.sync().unwrap();
    db.close().unwrap();
}

// Regression: a corrupt block read by a background compaction stopped writes, and made
// `sync` and `close` refuse to fsync the WALs.
#[test]
fn a_corrupt_input_to_a_background_compaction_is_left_alone_and_the_wal_stays_durable() {
    let fs = Arc::new(FaultFs::new());
    let opts = Options {
        l0_compaction_trigger: 3,
        ..manual(&fs)
    };
    let db = Db::open(DIR, opts.clone()).unwrap();
    let damaged = two_tables_one_corrupt(&fs, &db);
    // The third L0 file starts a compaction, which meets the damage. It overlaps the other
    // two, so they are merged, not moved down unread as L0 files of disjoint ranges are.
    put_range(&db, 100..600);
    db.flush().unwrap();
    eventually("the compaction reports the corrupt file", || {
        stats(&db).contains(&format!("left out of compaction: {damaged}"))
    });
    assert_eq!(db.property("toykv.num-files-at-level0").unwrap(), "3");
    // Writes go on, and every write made after the damage was found is durable.
    put_range(&db, 600..700);
    db.sync().unwrap();
    assert!(stats(&db).contains("writes: accepted"), "{}", stats(&db));
    for i in 200..700 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)));
    }
    db.close().unwrap();
    let image = fs.crash_copy();
    let db = Db::open(DIR, Options { fs: image, ..opts }).unwrap();
    for i in 600..700 {
        assert_eq!(db.get(&key(i)).unwrap(), Some(value(i, 0)), "key {i}");
    }
}

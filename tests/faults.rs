//! Fault injection and simulated power loss through the in-memory `FaultFs`.
//!
//! What is promised: a write acknowledged before `sync` returned (or with `sync_writes`)
//! survives a power cut; a failed WAL fsync stops further writes until reopen; a crash at
//! any step of open loses nothing. Which failure stops what: `failure_policy.rs`.

mod common;

use common::{key, value};
use std::path::Path;
use std::sync::Arc;
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

fn open(fs: &Arc<FaultFs>) -> Db {
    Db::open(Path::new(DIR), options(fs)).unwrap()
}

/// The keys present, which must be exactly `key(0..n)` with their first-round values.
fn prefix_len(db: &Db) -> usize {
    let mut n = 0;
    for entry in db.scan_bounds(None, None).unwrap() {
        let (k, v) = entry.unwrap();
        assert_eq!(
            (k, v),
            (key(n), value(n, 0)),
            "recovered data is not a prefix"
        );
        n += 1;
    }
    n
}

#[test]
fn a_power_cut_keeps_every_write_acknowledged_before_sync() {
    let fs = Arc::new(FaultFs::new());
    let db = open(&fs);
    let mut synced = 0;
    for i in 0..6000 {
        db.put(&key(i), &value(i, 0)).unwrap();
        if i % 700 == 0 {
            db.sync().unwrap();
            synced = i + 1;
        }
        if i % 450 == 0 {
            let image = fs.crash_copy();
            let recovered = Db::open(Path::new(DIR), options(&image)).unwrap();
            let n = prefix_len(&recovered);
            assert!(
                n >= synced,
                "lost synced writes: {n} < {synced} at write {i}"
            );
            assert!(n <= i + 1);
        }
    }
}

#[test]
fn with_sync_writes_every_acknowledged_write_survives_a_power_cut() {
    let fs = Arc::new(FaultFs::new());
    let opts = Options {
        sync_writes: true,
        ..options(&fs)
    };
    let db = Db::open(Path::new(DIR), opts).unwrap();
    for i in 0..2000 {
        db.put(&key(i), &value(i, 0)).unwrap();
        if i % 250 == 0 {
            let image = fs.crash_copy();
            let recovered = Db::open(Path::new(DIR), options(&image)).unwrap();
            assert_eq!(prefix_len(&recovered), i + 1);
        }
    }
}

#[test]
fn a_failed_wal_fsync_stops_writes_until_reopen() {
    let fs = Arc::new(FaultFs::new());
    let opts = Options {
        sync_writes: true,
        ..options(&fs)
    };
    let db = Db::open(Path::new(DIR), opts.clone()).unwrap();
    db.put(&key(0), &value(0, 0)).unwrap();
    fs.inject_on(FaultOp::Sync, ".log", 1, FaultKind::Eio);
    let err = db.put(&key(1), &value(1, 0)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    // Sticky: no retry of the fsync, no carrying on.
    let err = db.put(&key(2), &value(2, 0)).unwrap_err();
    assert!(matches!(err, Error::Poisoned(_)), "{err}");
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(db.sync().is_err());
    // Reads still work.
    assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 0)));
    // Close reports that durability was lost, and still releases the directory.
    assert!(matches!(db.close().unwrap_err(), Error::Poisoned(_)));
    drop(db);
    let db = Db::open(Path::new(DIR), opts).unwrap();
    assert_eq!(db.get(&key(0)).unwrap(), Some(value(0, 0)));
    db.put(&key(3), &value(3, 0)).unwrap();
}

#[test]
fn a_full_disk_during_a_wal_append_fails_that_write_and_loses_nothing_else() {
    let fs = Arc::new(FaultFs::new());
    let db = open(&fs);
    for i in 0..100 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    fs.inject_on(FaultOp::Append, ".log", 1, FaultKind::Enospc);
    let err = db.put(&key(100), &value(100, 0)).unwrap_err();
    assert!(err.to_string().contains(".log"), "{err}");
    assert_eq!(db.get(&key(100)).unwrap(), None);
    drop(db);
    let db = open(&fs);
    assert_eq!(prefix_len(&db), 100);
}

#[test]
fn a_crash_at_any_step_of_open_loses_nothing() {
    let fs = Arc::new(FaultFs::new());
    {
        let db = open(&fs);
        for i in 0..3000 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.sync().unwrap();
    }
    let before = fs.op_count(FaultOp::Any);
    drop(open(&fs));
    let ops_in_open = fs.op_count(FaultOp::Any) - before;
    assert!(ops_in_open > 5);
    for step in 1..=ops_in_open {
        let image = fs.crash_copy();
        image.inject_sticky(FaultOp::Any, step, FaultKind::Eio);
        // This open may fail or succeed; either way a power cut follows.
        let _ = Db::open(Path::new(DIR), options(&image));
        let after = image.crash_copy();
        let db = Db::open(Path::new(DIR), options(&after)).unwrap();
        assert_eq!(
            prefix_len(&db),
            3000,
            "crash at step {step} of open lost data"
        );
    }
}

#[test]
fn a_crash_during_background_flushes_loses_nothing_synced() {
    for step in [1u64, 2, 3, 5, 8, 13] {
        let fs = Arc::new(FaultFs::new());
        let db = open(&fs);
        for i in 0..1000 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.sync().unwrap();
        // Every I/O from this step of the flush on fails: the process "dies" mid-flush.
        fs.inject_sticky(FaultOp::Any, step, FaultKind::Eio);
        let _ = db.flush();
        let image = fs.crash_copy();
        drop(db);
        let recovered = Db::open(Path::new(DIR), options(&image)).unwrap();
        assert_eq!(prefix_len(&recovered), 1000, "step {step}");
    }
}

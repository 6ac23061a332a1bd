//! Read-only opens (`Options::read_only`): they see everything a normal open would, unflushed
//! WAL data included, refuse every change, and leave every file as it was.

mod common;

use common::*;
use std::path::Path;
use toykv::{Db, Error, ErrorKind, Options};

fn read_only() -> Options {
    Options {
        read_only: true,
        ..Options::default()
    }
}

/// A closed database with flushed sstables and more writes only in its WAL: `k000`..`k299`
/// flushed (then `k000`..`k049` deleted and `k100` overwritten in the WAL only).
fn build(dir: &Path) {
    let db = Db::open(dir, small_options()).unwrap();
    for i in 0..300 {
        db.put(format!("k{i:03}").as_bytes(), format!("v{i}").as_bytes())
            .unwrap();
    }
    db.flush().unwrap();
    for i in 0..50 {
        db.delete(format!("k{i:03}").as_bytes()).unwrap();
    }
    db.put(b"k100", b"unflushed").unwrap();
    db.close().unwrap();
}

#[test]
fn read_only_open_sees_unflushed_wal_data_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let before = dir_contents(dir.path());
    assert!(before.keys().any(|n| n.ends_with(".log")));

    let db = Db::open(dir.path(), read_only()).unwrap();
    assert_eq!(db.get(b"k100").unwrap().as_deref(), Some(&b"unflushed"[..]));
    assert_eq!(db.get(b"k010").unwrap(), None);
    assert_eq!(db.get(b"k299").unwrap().as_deref(), Some(&b"v299"[..]));
    let all = scan_all(&db);
    assert_eq!(all.len(), 250);
    assert_eq!(all[0].0, b"k050");
    let snap = db.snapshot().unwrap();
    assert_eq!(
        snap.get(b"k100").unwrap().as_deref(),
        Some(&b"unflushed"[..])
    );
    drop(snap);
    let stats = db.property("toykv.stats").unwrap();
    assert!(
        stats.contains("recovery: 51 WAL records replayed"),
        "{stats}"
    );
    db.close().unwrap();

    assert_eq!(
        dir_contents(dir.path()),
        before,
        "a read-only open changed the directory"
    );

    // An ordinary open afterwards recovers the same data.
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(scan_all(&db), all);
}

#[test]
fn read_only_database_refuses_every_change_with_read_only_errors() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let before = dir_contents(dir.path());
    let db = Db::open(dir.path(), read_only()).unwrap();
    let refusals = [
        ("write", db.put(b"x", b"y").unwrap_err()),
        ("write", db.delete(b"k100").unwrap_err()),
        ("write", db.write(&toykv::WriteBatch::new()).unwrap_err()),
        ("flush", db.flush().unwrap_err()),
        ("compact", db.compact().unwrap_err()),
        ("sync", db.sync().unwrap_err()),
    ];
    for (op, err) in refusals {
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(
            matches!(&err, Error::ReadOnly { op: o, .. } if *o == op),
            "{op}: {err}"
        );
        assert!(err.to_string().contains("read-only"), "{err}");
    }
    // Refused writes changed nothing, in memory or on disk.
    assert_eq!(db.get(b"x").unwrap(), None);
    assert_eq!(db.get(b"k100").unwrap().as_deref(), Some(&b"unflushed"[..]));
    db.close().unwrap();
    assert_eq!(dir_contents(dir.path()), before);
}

#[test]
fn read_only_open_does_not_compact_a_full_level_zero() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    for round in 0..6 {
        db.put(format!("r{round}").as_bytes(), b"v").unwrap();
        db.flush().unwrap();
    }
    db.close().unwrap();
    let before = dir_contents(dir.path());
    // Default triggers: six L0 files are past the compaction trigger of four.
    let db = Db::open(dir.path(), read_only()).unwrap();
    assert_eq!(db.property("toykv.num-files-at-level0").unwrap(), "6");
    // Pending: at least the six L0 files, all rewritten by the compaction they are due for.
    let pending: u64 = db
        .property("toykv.compaction-pending")
        .unwrap()
        .parse()
        .unwrap();
    let l0_bytes: u64 = db
        .property("toykv.sstables")
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("0 "))
        .map(|l| l.split(' ').nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert!(
        pending >= l0_bytes && l0_bytes > 0,
        "{pending} < {l0_bytes}"
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(db.property("toykv.num-files-at-level0").unwrap(), "6");
    db.close().unwrap();
    assert_eq!(dir_contents(dir.path()), before);
}

#[test]
fn read_only_open_needs_an_existing_database_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let missing = parent.path().join("missing");
    let err = Db::open(&missing, read_only()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(!missing.exists());

    let empty = parent.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let err = Db::open(&empty, read_only()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);

    let opts = Options {
        error_if_exists: true,
        ..read_only()
    };
    let err = Db::open(parent.path(), opts).unwrap_err();
    assert!(err.to_string().contains("error_if_exists"), "{err}");
}

#[test]
fn read_only_open_and_a_writer_exclude_each_other() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let writer = Db::open(dir.path(), Options::default()).unwrap();
    let err = Db::open(dir.path(), read_only()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    drop(writer);

    let reader = Db::open(dir.path(), read_only()).unwrap();
    let err = Db::open(dir.path(), Options::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked, "{err}");
    drop(reader);
    Db::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn read_only_open_reports_damage_naming_the_file_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let wal = files_with_suffix(dir.path(), ".log").pop().unwrap();
    // The first record's payload: a complete record with a bad checksum, not a torn tail.
    flip_byte(&wal, 20);
    let before = dir_contents(dir.path());
    let err = Db::open(dir.path(), read_only()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    let name = wal.file_name().unwrap().to_str().unwrap();
    assert!(err.to_string().contains(name), "{err}");
    assert_eq!(dir_contents(dir.path()), before);
}

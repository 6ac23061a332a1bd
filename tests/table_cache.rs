//! A database holding more sstables than `max_open_files` reads correctly, keeps to the
//! limit, and survives a reopen: tables are closed and reopened by the table cache.
//!
//! One test in its own binary, so the count of open file descriptors it checks is this
//! database's alone.

use toykv::{Db, Options};

fn key(i: u32) -> Vec<u8> {
    format!("key{i:06}").into_bytes()
}

fn value(i: u32, round: u32) -> Vec<u8> {
    format!("value-{i}-{round}-{}", "x".repeat((i % 50) as usize)).into_bytes()
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// (tables live, tables open) from the properties.
fn tables(db: &Db) -> (usize, usize) {
    let live = db.property("toykv.sstables").unwrap().lines().count();
    let stats = db.property("toykv.stats").unwrap();
    let line = stats
        .lines()
        .find(|l| l.starts_with("open tables:"))
        .unwrap_or_else(|| panic!("no open tables line in {stats}"));
    let open = line
        .split_whitespace()
        .nth(2)
        .and_then(|n| n.parse().ok())
        .unwrap();
    (live, open)
}

fn check_everything(db: &Db, n: u32) {
    // Point reads in an order that jumps between tables.
    for i in (0..n).map(|i| (i * 7919) % n) {
        let expect = (i % 3 != 0).then(|| value(i, 1));
        assert_eq!(db.get(&key(i)).unwrap(), expect, "key {i}");
    }
    // A full scan and seeks across every table.
    let all: Vec<(Vec<u8>, Vec<u8>)> = db
        .scan::<&[u8], _>(..)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let expect: Vec<(Vec<u8>, Vec<u8>)> = (0..n)
        .filter(|i| i % 3 != 0)
        .map(|i| (key(i), value(i, 1)))
        .collect();
    assert_eq!(all, expect);
    for start in (0..n).step_by(997) {
        let mut cursor = db.scan(key(start)..).unwrap();
        let first = cursor.next().unwrap().unwrap();
        let i = (start..n).find(|i| i % 3 != 0).unwrap();
        assert_eq!(first, (key(i), value(i, 1)));
    }
}

#[test]
fn more_tables_than_max_open_files_read_correctly_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let max_open_files = 4;
    let opts = Options {
        memtable_bytes: 16 * 1024,
        target_file_bytes: 16 * 1024,
        level1_bytes: 64 * 1024,
        max_open_files,
        ..Options::default()
    };
    let n = 20_000u32;
    let before = open_descriptors();
    {
        let db = Db::open(&path, opts.clone()).unwrap();
        for round in 0..2 {
            for i in 0..n {
                db.put(&key(i), &value(i, round)).unwrap();
            }
        }
        for i in (0..n).step_by(3) {
            db.delete(&key(i)).unwrap();
        }
        // A running compaction holds its input tables open beyond the limit (as LevelDB's
        // do); a full compaction returns with none running, so the counts below are the
        // readers' alone.
        db.compact().unwrap();
        let (live, open) = tables(&db);
        assert!(
            live > 4 * max_open_files,
            "only {live} tables: the test needs many"
        );
        check_everything(&db, n);
        let (_, open_after) = tables(&db);
        assert!(
            open <= max_open_files && open_after <= max_open_files,
            "{open} {open_after}"
        );
        // Descriptors: the open tables, the WAL, the LOCK file, the manifest, a directory
        // handle or two; never one per table.
        let used = open_descriptors().saturating_sub(before);
        assert!(
            used <= max_open_files + 8,
            "{used} descriptors for {live} tables"
        );
        db.close().unwrap();
    }
    let db = Db::open(&path, opts).unwrap();
    check_everything(&db, n);
    assert!(tables(&db).1 <= max_open_files);
    db.close().unwrap();
}

//! Full compaction (`Db::compact`): space comes back, data and snapshots stay right.

mod common;

use common::*;
use toykv::Db;

fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

fn level_files(db: &Db, level: usize) -> usize {
    db.property(&format!("toykv.num-files-at-level{level}"))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn compaction_drops_overwritten_and_deleted_data_and_keeps_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    let n = 20_000;
    for round in 0..3 {
        for i in 0..n {
            db.put(&key(i), &value(i, round)).unwrap();
        }
    }
    for i in (0..n).step_by(2) {
        db.delete(&key(i)).unwrap();
    }
    db.flush().unwrap();
    let before = dir_bytes(dir.path());
    assert!(level_files(&db, 0) > 3);
    db.compact().unwrap();
    assert_eq!(level_files(&db, 0), 0);
    let sstables = db.property("toykv.sstables").unwrap();
    let levels: std::collections::BTreeSet<&str> = sstables
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(levels.len(), 1, "one sorted run: {sstables}");
    let after = dir_bytes(dir.path());
    assert!(after * 3 < before, "{after} bytes after vs {before} before");
    let check = |db: &Db| {
        for i in 0..n {
            let expect = (i % 2 == 1).then(|| value(i, 2));
            assert_eq!(db.get(&key(i)).unwrap(), expect, "key {i}");
        }
        assert_eq!(scan_all(db).len(), n / 2);
    };
    check(&db);
    drop(db);
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    check(&db);
    assert_eq!(db.property("toykv.sstables").unwrap(), sstables);
}

#[test]
fn deleting_everything_and_compacting_leaves_an_empty_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    for i in 0..20_000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    for i in 0..20_000 {
        db.delete(&key(i)).unwrap();
    }
    db.compact().unwrap();
    assert!(scan_all(&db).is_empty());
    assert_eq!(db.property("toykv.sstables").unwrap(), "");
    assert!(
        dir_bytes(dir.path()) < 64 * 1024,
        "{}",
        dir_bytes(dir.path())
    );
}

#[test]
fn snapshots_and_cursors_keep_what_they_see_through_a_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    for i in 0..5000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    let snap = db.snapshot().unwrap();
    let mut cursor = db.scan_bounds(None, None).unwrap();
    for i in 0..5000 {
        if i % 2 == 0 {
            db.delete(&key(i)).unwrap();
        } else {
            db.put(&key(i), &value(i, 1)).unwrap();
        }
    }
    db.compact().unwrap();
    assert_eq!(snap.get(&key(0)).unwrap(), Some(value(0, 0)));
    assert_eq!(snap.get(&key(1)).unwrap(), Some(value(1, 0)));
    let mut seen = 0;
    while let Some((k, v)) = cursor.next_entry().unwrap() {
        assert_eq!((k, v), (&key(seen)[..], &value(seen, 0)[..]));
        seen += 1;
    }
    assert_eq!(seen, 5000);
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(1)).unwrap(), Some(value(1, 1)));
    // Once the readers are gone, another compaction reclaims what only they could see.
    let pinned = dir_bytes(dir.path());
    drop(snap);
    drop(cursor);
    db.compact().unwrap();
    let freed = dir_bytes(dir.path());
    assert!(freed < pinned, "{freed} >= {pinned}");
    assert_eq!(scan_all(&db).len(), 2500);
}

#[test]
fn replaced_sstables_are_deleted_once_no_reader_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    for i in 0..5000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    let old_files = files_with_suffix(dir.path(), ".sst");
    let cursor = db.scan_bounds(None, None).unwrap();
    db.compact().unwrap();
    assert!(
        old_files.iter().all(|f| f.exists()),
        "a cursor still reads them"
    );
    drop(cursor);
    assert!(
        old_files.iter().all(|f| !f.exists()),
        "deleted after the last reader"
    );
    assert_eq!(scan_all(&db).len(), 5000);
}

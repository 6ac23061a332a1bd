//! Edge cases of the Rust API: empty keys, large values, tombstones, ranges, snapshots.

mod common;

use common::*;
use std::collections::BTreeMap;
use toykv::{Db, ErrorKind, Options, WriteBatch};

fn open(dir: &tempfile::TempDir) -> Db {
    Db::open(dir.path(), small_options()).unwrap()
}

#[test]
fn the_empty_key_and_empty_value_are_ordinary_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.put(b"", b"empty key").unwrap();
    db.put(b"k", b"").unwrap();
    assert_eq!(db.get(b"").unwrap(), Some(b"empty key".to_vec()));
    assert_eq!(
        db.get(b"k").unwrap(),
        Some(Vec::new()),
        "empty value is present"
    );
    db.flush().unwrap();
    assert_eq!(db.get(b"").unwrap(), Some(b"empty key".to_vec()));
    assert_eq!(db.get(b"k").unwrap(), Some(Vec::new()));
    assert_eq!(scan_all(&db)[0], (Vec::new(), b"empty key".to_vec()));
    db.delete(b"").unwrap();
    assert_eq!(db.get(b"").unwrap(), None);
    drop(db);
    let db = open(&dir);
    assert_eq!(db.get(b"").unwrap(), None);
    assert_eq!(db.get(b"k").unwrap(), Some(Vec::new()));
}

#[test]
fn a_one_mib_value_survives_memtable_flush_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..1 << 20).map(|i| (i * 7 % 251) as u8).collect();
    let db = open(&dir);
    db.put(b"before", b"1").unwrap();
    db.put(b"big", &big).unwrap();
    db.put(b"c", b"3").unwrap();
    assert_eq!(db.get(b"big").unwrap().as_deref(), Some(&big[..]));
    db.flush().unwrap();
    assert_eq!(db.get(b"big").unwrap().as_deref(), Some(&big[..]));
    assert_eq!(db.get(b"c").unwrap(), Some(b"3".to_vec()));
    drop(db);
    let db = open(&dir);
    assert_eq!(db.get(b"big").unwrap().as_deref(), Some(&big[..]));
    let keys: Vec<Vec<u8>> = scan_all(&db).into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        vec![b"before".to_vec(), b"big".to_vec(), b"c".to_vec()]
    );
}

#[test]
fn oversized_keys_and_values_are_rejected_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    let long_key = vec![b'k'; toykv::MAX_KEY_LEN + 1];
    assert_eq!(
        db.put(&long_key, b"v").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let long_value = vec![0u8; toykv::MAX_VALUE_LEN + 1];
    assert_eq!(
        db.put(b"k", &long_value).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(db.get(b"k").unwrap(), None);
    let at_limit = vec![b'k'; toykv::MAX_KEY_LEN];
    db.put(&at_limit, b"ok").unwrap();
    assert_eq!(db.get(&at_limit).unwrap(), Some(b"ok".to_vec()));
}

#[test]
fn a_key_present_only_as_a_tombstone_is_absent_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.put(b"a", b"1").unwrap();
    db.delete(b"ghost").unwrap();
    db.put(b"z", b"2").unwrap();
    for round in 0..2 {
        assert_eq!(db.get(b"ghost").unwrap(), None, "round {round}");
        let keys: Vec<Vec<u8>> = scan_all(&db).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"z".to_vec()]);
        db.flush().unwrap();
    }
}

#[test]
fn scans_with_empty_inverted_and_unbounded_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    for k in [&b""[..], b"a", b"b", b"c"] {
        db.put(k, k).unwrap();
    }
    let keys = |start: Option<&[u8]>, end: Option<&[u8]>| -> Vec<Vec<u8>> {
        db.scan_bounds(start, end)
            .unwrap()
            .map(|e| e.unwrap().0)
            .collect()
    };
    let all: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), b"b".to_vec(), b"c".to_vec()];
    assert_eq!(keys(None, None), all);
    assert_eq!(keys(Some(b""), None), all);
    assert_eq!(
        keys(None, Some(b"")),
        Vec::<Vec<u8>>::new(),
        "end = \"\" is empty"
    );
    assert_eq!(keys(Some(b"b"), Some(b"b")), Vec::<Vec<u8>>::new());
    assert_eq!(keys(Some(b"c"), Some(b"a")), Vec::<Vec<u8>>::new());
    assert_eq!(keys(Some(b"a"), Some(b"c")), all[1..3].to_vec());
    assert_eq!(keys(Some(b"bb"), None), all[3..].to_vec());
    assert_eq!(keys(Some(b"d"), None), Vec::<Vec<u8>>::new());
    // Rust range syntax maps onto the same half-open bounds.
    let r: Vec<Vec<u8>> = db
        .scan(&b"a"[..]..=&b"b"[..])
        .unwrap()
        .map(|e| e.unwrap().0)
        .collect();
    assert_eq!(r, all[1..3].to_vec());
    // After the end, next keeps returning the end until a seek.
    let mut c = db.scan_bounds(Some(b"c"), None).unwrap();
    assert!(c.next_entry().unwrap().is_some());
    assert!(c.next_entry().unwrap().is_none());
    assert!(c.next_entry().unwrap().is_none());
    c.seek(b"a").unwrap();
    assert_eq!(
        c.next_entry().unwrap().unwrap().0,
        b"c",
        "seek stays within the range"
    );
}

#[test]
fn a_scan_across_memtable_and_several_sstables_sees_the_newest_of_each_key() {
    let dir = tempfile::tempdir().unwrap();
    // No background compaction: the versions of each key stay spread over several files.
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    let mut model = BTreeMap::new();
    let n = 3000;
    for i in 0..n {
        db.put(&key(i), &value(i, 1)).unwrap();
        model.insert(key(i), value(i, 1));
    }
    db.flush().unwrap();
    for i in (0..n).step_by(2) {
        db.put(&key(i), &value(i, 2)).unwrap();
        model.insert(key(i), value(i, 2));
    }
    db.flush().unwrap();
    for i in (0..n).step_by(3) {
        db.delete(&key(i)).unwrap();
        model.remove(&key(i));
    }
    db.flush().unwrap();
    for i in (0..n).step_by(5) {
        db.put(&key(i), &value(i, 3)).unwrap();
        model.insert(key(i), value(i, 3));
    }
    assert!(
        db.property("toykv.num-files-at-level0")
            .unwrap()
            .parse::<usize>()
            .unwrap()
            >= 3
    );
    let expected: Vec<_> = model.clone().into_iter().collect();
    assert_eq!(scan_all(&db), expected);
    let from = key(1500);
    let to = key(2500);
    let got: Vec<_> = db
        .scan_bounds(Some(&from), Some(&to))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let want: Vec<_> = model
        .range(from..to)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(got, want);
    for i in 0..n {
        assert_eq!(db.get(&key(i)).unwrap(), model.get(&key(i)).cloned());
    }
}

#[test]
fn cursors_and_snapshots_keep_their_view_across_writes_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    for i in 0..100 {
        db.put(&key(i), b"old").unwrap();
    }
    let snap = db.snapshot().unwrap();
    let mut cursor = db.scan_bounds(None, None).unwrap();
    for i in 0..100 {
        if i % 2 == 0 {
            db.delete(&key(i)).unwrap();
        } else {
            db.put(&key(i), b"new").unwrap();
        }
    }
    db.put(b"zzz", b"late").unwrap();
    db.flush().unwrap();
    let mut seen = 0;
    while let Some((k, v)) = cursor.next_entry().unwrap() {
        assert_eq!(k, key(seen));
        assert_eq!(v, b"old");
        seen += 1;
    }
    assert_eq!(seen, 100);
    assert_eq!(snap.get(&key(0)).unwrap(), Some(b"old".to_vec()));
    assert_eq!(snap.get(b"zzz").unwrap(), None);
    assert_eq!(snap.scan_bounds(None, None).unwrap().count(), 100);
    assert_eq!(db.get(&key(0)).unwrap(), None);
    assert_eq!(db.get(&key(1)).unwrap(), Some(b"new".to_vec()));
}

#[test]
fn a_batch_applies_all_of_its_operations_together() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.put(b"gone", b"x").unwrap();
    let mut batch = WriteBatch::new();
    batch.put(b"a", b"1").unwrap();
    batch.delete(b"gone").unwrap();
    batch.put(b"a", b"2").unwrap();
    batch.put(b"b\0b", b"3").unwrap();
    let snap = db.snapshot().unwrap();
    db.write(&batch).unwrap();
    assert_eq!(
        db.get(b"a").unwrap(),
        Some(b"2".to_vec()),
        "later op in a batch wins"
    );
    assert_eq!(db.get(b"gone").unwrap(), None);
    assert_eq!(db.get(b"b\0b").unwrap(), Some(b"3".to_vec()));
    assert_eq!(snap.get(b"a").unwrap(), None);
    assert_eq!(snap.get(b"gone").unwrap(), Some(b"x".to_vec()));
    db.write(&WriteBatch::new()).unwrap();
}

#[test]
fn every_call_after_close_reports_closed() {
    let dir = tempfile::tempdir().unwrap();
    let db = open(&dir);
    db.put(b"a", b"1").unwrap();
    let snap = db.snapshot().unwrap();
    let mut cursor = db.scan_bounds(None, None).unwrap();
    db.close().unwrap();
    db.close().unwrap();
    assert_eq!(db.put(b"a", b"2").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(db.get(b"a").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(db.flush().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(db.sync().unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(snap.get(b"a").unwrap_err().kind(), ErrorKind::Closed);
    assert_eq!(cursor.next_entry().unwrap_err().kind(), ErrorKind::Closed);
    assert!(db.scan_bounds(None, None).is_err());
}

#[test]
fn bad_options_are_rejected_with_the_option_named() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        block_bytes: 0,
        ..Options::default()
    };
    let err = Db::open(dir.path(), opts).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("block_bytes"));
}

#[test]
fn properties_describe_the_tree_and_reject_unknown_names() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), manual_compaction_options()).unwrap();
    for i in 0..2000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    let files: usize = db
        .property("toykv.num-files-at-level0")
        .unwrap()
        .parse()
        .unwrap();
    assert!(files >= 1);
    let listing = db.property("toykv.sstables").unwrap();
    assert_eq!(listing.lines().count(), files);
    assert!(listing
        .lines()
        .all(|l| l.starts_with("0 ") && l.contains(".sst")));
    assert!(db.property("toykv.stats").unwrap().contains("L0"));
    for bad in [
        "toykv.nope",
        "toykv.num-files-at-level7",
        "toykv.num-files-at-level",
        "",
    ] {
        assert_eq!(
            db.property(bad).unwrap_err().kind(),
            ErrorKind::InvalidArgument,
            "{bad}"
        );
    }
}

#[test]
fn many_threads_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::sync::Arc::new(open(&dir));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..3000 {
                    let k = format!("t{t}-{i:06}").into_bytes();
                    db.put(&k, &value(i, t)).unwrap();
                    assert_eq!(db.get(&k).unwrap(), Some(value(i, t)));
                    if i % 500 == 0 {
                        let prefix = format!("t{t}-").into_bytes();
                        let end = format!("t{t}.").into_bytes();
                        let n = db.scan_bounds(Some(&prefix), Some(&end)).unwrap().count();
                        assert_eq!(n, i + 1);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(scan_all(&db).len(), 12_000);
}

#[test]
fn handles_can_cross_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Db>();
    send_sync::<toykv::Snapshot>();
    send::<toykv::Cursor>();
    send::<WriteBatch>();
}

//! Model test: random operations against toykv and a `BTreeMap`, which must always agree.
//!
//! Each case runs thousands of puts, deletes, batches, point reads, range scans, flushes,
//! full compactions and reopens on a tiny memtable, so data is spread over the memtable,
//! frozen memtables, many sstables and the WAL; snapshots taken along the way must go on
//! reading what the model held when they were taken, through compactions that drop and
//! renumber the versions they do not need.

use proptest::prelude::*;
use std::collections::BTreeMap;
use toykv::{Db, Options, Snapshot, WriteBatch};

#[derive(Debug, Clone)]
enum Op {
    Put(u16, Vec<u8>),
    Delete(u16),
    Batch(Vec<(u16, Option<Vec<u8>>)>),
    Get(u16),
    Scan(Option<u16>, Option<u16>),
    Flush,
    Compact,
    Reopen,
    /// Takes a snapshot (the oldest held one goes once there are two).
    Snapshot,
    /// Reads a key through every held snapshot.
    SnapshotGet(u16),
}

/// What the database should hold.
type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Snapshots held at once.
const MAX_SNAPSHOTS: usize = 2;

/// Keys from a small space so that overwrites and deletes hit existing keys; key 0 is the
/// empty key.
fn key(k: u16) -> Vec<u8> {
    if k == 0 {
        Vec::new()
    } else {
        format!("key{k:04}").into_bytes()
    }
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..40),
        1 => proptest::collection::vec(any::<u8>(), 1000..3000),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u16..400;
    prop_oneof![
        30 => (k.clone(), value()).prop_map(|(k, v)| Op::Put(k, v)),
        10 => k.clone().prop_map(Op::Delete),
        4 => proptest::collection::vec((k.clone(), proptest::option::of(value())), 0..8)
            .prop_map(Op::Batch),
        30 => k.clone().prop_map(Op::Get),
        6 => (proptest::option::of(k.clone()), proptest::option::of(k.clone())).prop_map(|(a, b)| Op::Scan(a, b)),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::Reopen),
        1 => Just(Op::Snapshot),
        10 => k.prop_map(Op::SnapshotGet),
    ]
}

fn options() -> Options {
    Options {
        memtable_bytes: 16 * 1024,
        block_bytes: 512,
        ..Options::default()
    }
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut db = Db::open(dir.path(), options()).unwrap();
    let mut model = Model::new();
    // Each held snapshot with the model as it was then.
    let mut snapshots: Vec<(Snapshot, Model)> = Vec::new();
    for op in ops {
        match op {
            Op::Put(k, v) => {
                db.put(&key(k), &v).unwrap();
                model.insert(key(k), v);
            }
            Op::Delete(k) => {
                db.delete(&key(k)).unwrap();
                model.remove(&key(k));
            }
            Op::Batch(entries) => {
                let mut batch = WriteBatch::new();
                for (k, v) in &entries {
                    match v {
                        Some(v) => batch.put(&key(*k), v).unwrap(),
                        None => batch.delete(&key(*k)).unwrap(),
                    }
                }
                db.write(&batch).unwrap();
                for (k, v) in entries {
                    match v {
                        Some(v) => model.insert(key(k), v),
                        None => model.remove(&key(k)),
                    };
                }
            }
            Op::Get(k) => {
                prop_assert_eq!(db.get(&key(k)).unwrap(), model.get(&key(k)).cloned());
            }
            Op::Scan(a, b) => {
                let (start, end) = (a.map(key), b.map(key));
                let got: Vec<(Vec<u8>, Vec<u8>)> = db
                    .scan_bounds(start.as_deref(), end.as_deref())
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap();
                let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .iter()
                    .filter(|(k, _)| start.as_ref().is_none_or(|s| *k >= s))
                    .filter(|(k, _)| end.as_ref().is_none_or(|e| *k < e))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, expected);
            }
            Op::Flush => db.flush().unwrap(),
            Op::Compact => db.compact().unwrap(),
            Op::Snapshot => {
                if snapshots.len() == MAX_SNAPSHOTS {
                    snapshots.remove(0);
                }
                snapshots.push((db.snapshot().unwrap(), model.clone()));
            }
            Op::SnapshotGet(k) => {
                for (snapshot, then) in &snapshots {
                    prop_assert_eq!(snapshot.get(&key(k)).unwrap(), then.get(&key(k)).cloned());
                }
            }
            Op::Reopen => {
                snapshots.clear();
                db.close().unwrap();
                drop(db);
                db = Db::open(dir.path(), options()).unwrap();
            }
        }
    }
    // A final full comparison, after one more reopen.
    snapshots.clear();
    drop(db);
    let db = Db::open(dir.path(), options()).unwrap();
    let all: Vec<(Vec<u8>, Vec<u8>)> = db
        .scan::<&[u8], _>(..)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    prop_assert_eq!(all, expected);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_match_a_btreemap(ops in proptest::collection::vec(op(), 2000..4000)) {
        run(ops)?;
    }
}

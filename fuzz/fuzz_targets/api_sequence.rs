//! The API as a sequence: open, put, delete, batch, get, scan, snapshots, flush, compact,
//! sync, reopen, kill -9 and power cuts, with I/O faults injected, on a `FaultFs`, checked
//! against a `BTreeMap` model.
//!
//! Background compaction is out of reach (its trigger is 1,000 L0 files) and memtables
//! are only flushed by `Flush`, so every file operation happens on the calling thread or
//! while it waits: an input replays the same way every time.
//!
//! The model knows what is durable (the state at the last sync, close or open), the writes
//! acknowledged since, and at most one write whose error leaves it undecided (a failed
//! fsync after the append: the record is in the file and a reopen may find it). Promises:
//! - a read returns exactly the model's value, or an error only after a fault was armed;
//! - a write fails only after a fault was armed; after a failure, writes keep failing;
//! - a reopen (clean, or after a kill -9) finds every acknowledged write, plus maybe the
//!   undecided one; a power cut keeps the durable state plus a prefix of the rest;
//! - the database opens again once faults stop, whatever failed before.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::Arc;
use toykv::env::{FaultFs, FaultKind, FaultOp};
use toykv::{Db, Error, Options, Snapshot, WriteBatch};

#[derive(Arbitrary, Debug)]
struct Input {
    sync_writes: bool,
    ops: Vec<Op>,
}

#[derive(Arbitrary, Debug)]
enum Op {
    Put(u8, Value),
    Delete(u8),
    Batch(Vec<(u8, Option<Value>)>),
    Get(u8),
    Scan(Option<u8>, Option<u8>),
    OpenSnapshot,
    SnapshotGet(u8, u8),
    SnapshotScan(u8),
    CloseSnapshot(u8),
    Flush,
    Compact,
    Sync,
    Reopen,
    Kill,
    PowerCut,
    Fault {
        op: u8,
        nth: u8,
        sticky: bool,
        enospc: bool,
    },
}

/// A value's seed and length: compact inputs, distinct values.
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Value(u8, u8);

impl Value {
    fn bytes(self) -> Vec<u8> {
        (0..self.1).map(|i| self.0.wrapping_add(i)).collect()
    }
}

const OPS: [FaultOp; 13] = [
    FaultOp::CreateDir,
    FaultOp::Create,
    FaultOp::Append,
    FaultOp::Sync,
    FaultOp::SyncDir,
    FaultOp::Rename,
    FaultOp::Remove,
    FaultOp::RemoveDir,
    FaultOp::OpenRead,
    FaultOp::Read,
    FaultOp::List,
    FaultOp::Lock,
    FaultOp::Any,
];

fn key(k: u8) -> Vec<u8> {
    if k % 33 == 32 {
        Vec::new()
    } else {
        format!("k{:02}", k % 32).into_bytes()
    }
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;
type Batch = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn apply(map: &mut Map, batch: &Batch) {
    for (k, v) in batch {
        match v {
            Some(v) => map.insert(k.clone(), v.clone()),
            None => map.remove(k),
        };
    }
}

#[derive(Default)]
struct Model {
    durable: Map,
    /// Acknowledged since the durable point, in order.
    pending: Vec<Batch>,
    /// A write that failed after it may have reached the WAL.
    undecided: Option<Batch>,
}

impl Model {
    fn current(&self) -> Map {
        let mut map = self.durable.clone();
        for b in &self.pending {
            apply(&mut map, b);
        }
        map
    }

    fn make_durable(&mut self, state: Map) {
        self.durable = state;
        self.pending.clear();
        self.undecided = None;
    }

    /// The states a reopen may find: everything acknowledged (plus maybe the undecided
    /// write), or after a power cut any prefix of what was acknowledged since the durable
    /// point.
    fn candidates(&self, power_cut: bool) -> Vec<Map> {
        let mut out = Vec::new();
        let mut map = self.durable.clone();
        if power_cut {
            out.push(map.clone());
        }
        for (i, b) in self.pending.iter().enumerate() {
            apply(&mut map, b);
            if power_cut || i + 1 == self.pending.len() {
                out.push(map.clone());
            }
        }
        if out.is_empty() {
            out.push(map.clone());
        }
        if let Some(b) = &self.undecided {
            apply(&mut map, b);
            out.push(map);
        }
        out
    }
}

struct Harness {
    fs: Arc<FaultFs>,
    sync_writes: bool,
    db: Option<Db>,
    model: Model,
    snapshots: Vec<(Snapshot, Map)>,
    /// A fault was armed since the last open: errors are allowed.
    faulted: bool,
}

const DIR: &str = "/db";

fn scan_db(cursor: toykv::Result<toykv::Cursor>) -> toykv::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    cursor?.collect()
}

fn range(map: &Map, start: &Option<Vec<u8>>, end: &Option<Vec<u8>>) -> Vec<(Vec<u8>, Vec<u8>)> {
    map.iter()
        .filter(|(k, _)| start.as_ref().is_none_or(|s| *k >= s))
        .filter(|(k, _)| end.as_ref().is_none_or(|e| *k < e))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

impl Harness {
    fn options(&self) -> Options {
        Options {
            sync_writes: self.sync_writes,
            l0_compaction_trigger: 1000,
            l0_slowdown_trigger: 1000,
            l0_stop_trigger: 1000,
            block_cache_bytes: 64 << 10,
            fs: self.fs.clone(),
            ..Options::default()
        }
    }

    /// Opens the database (faults cleared if the first try fails) and checks that it holds
    /// one of `candidates`.
    fn open(&mut self, candidates: Vec<Map>) {
        let db = match Db::open(DIR, self.options()) {
            Ok(db) => db,
            Err(e) => {
                assert!(self.faulted, "open failed without a fault: {e}");
                self.fs.clear_faults();
                self.faulted = false;
                Db::open(DIR, self.options())
                    .unwrap_or_else(|e| panic!("the database does not open once faults stop: {e}"))
            }
        };
        let found: Map = scan_db(db.scan_bounds(None, None))
            .unwrap_or_else(|e| {
                assert!(self.faulted, "scan after open failed without a fault: {e}");
                // Read again without faults: the answer must be there.
                self.fs.clear_faults();
                scan_db(db.scan_bounds(None, None)).expect("scan fails without faults")
            })
            .into_iter()
            .collect();
        assert!(
            candidates.contains(&found),
            "reopen found {found:?}, none of the {} allowed states",
            candidates.len()
        );
        self.model.make_durable(found);
        self.db = Some(db);
    }

    fn write(&mut self, batch: Batch) {
        let Some(db) = &self.db else { return };
        let mut wb = WriteBatch::new();
        for (k, v) in &batch {
            match v {
                Some(v) => wb.put(k, v).expect("a small put is refused"),
                None => wb.delete(k).expect("a small delete is refused"),
            }
        }
        match db.write(&wb) {
            Ok(()) => {
                if !wb.is_empty() {
                    if self.sync_writes {
                        let mut map = self.model.current();
                        apply(&mut map, &batch);
                        self.model.durable = map;
                        self.model.pending.clear();
                    } else {
                        self.model.pending.push(batch);
                    }
                }
            }
            Err(Error::Poisoned(_)) => assert!(self.faulted, "poisoned without a fault"),
            Err(e) => {
                assert!(self.faulted, "a write failed without a fault: {e}");
                assert!(
                    self.model.undecided.is_none(),
                    "a write went on after a failure"
                );
                self.model.undecided = Some(batch);
            }
        }
    }

    fn check_read<T: PartialEq + std::fmt::Debug>(&self, got: toykv::Result<T>, want: T) {
        match got {
            Ok(got) => assert_eq!(got, want, "a read returned wrong data"),
            Err(e) => assert!(self.faulted, "a read failed without a fault: {e}"),
        }
    }

    fn reopen(&mut self, power_cut: Option<bool>) {
        self.snapshots.clear();
        let Some(db) = self.db.take() else { return };
        let candidates = match power_cut {
            None => {
                let closed = db.close();
                if closed.is_ok() {
                    let all = self.model.candidates(false);
                    // Close made every acknowledged write durable.
                    self.model.pending.clear();
                    self.model.durable = all[0].clone();
                    if self.model.undecided.is_some() {
                        all
                    } else {
                        vec![all[0].clone()]
                    }
                } else {
                    assert!(self.faulted, "close failed without a fault");
                    self.model.candidates(false)
                }
            }
            Some(cut) => {
                let copy = if cut {
                    self.fs.crash_copy()
                } else {
                    self.fs.snapshot_copy()
                };
                drop(db);
                self.fs = copy;
                self.faulted = false;
                self.model.candidates(cut)
            }
        };
        self.open(candidates);
    }

    fn run(&mut self, op: Op) {
        match op {
            Op::Put(k, v) => self.write(vec![(key(k), Some(v.bytes()))]),
            Op::Delete(k) => self.write(vec![(key(k), None)]),
            Op::Batch(ops) => self.write(
                ops.into_iter()
                    .take(16)
                    .map(|(k, v)| (key(k), v.map(Value::bytes)))
                    .collect(),
            ),
            Op::Get(k) => {
                let want = self.model.current().get(&key(k)).cloned();
                if let Some(db) = &self.db {
                    self.check_read(db.get(&key(k)), want);
                }
            }
            Op::Scan(start, end) => {
                let (start, end) = (start.map(key), end.map(key));
                let want = range(&self.model.current(), &start, &end);
                if let Some(db) = &self.db {
                    self.check_read(
                        scan_db(db.scan_bounds(start.as_deref(), end.as_deref())),
                        want,
                    );
                }
            }
            Op::OpenSnapshot => {
                if self.snapshots.len() < 4 {
                    if let Some(db) = &self.db {
                        let snap = db.snapshot().expect("snapshot of an open database");
                        self.snapshots.push((snap, self.model.current()));
                    }
                }
            }
            Op::SnapshotGet(i, k) => {
                if let Some((snap, map)) = self.snapshots.get(i as usize % 4) {
                    self.check_read(snap.get(&key(k)), map.get(&key(k)).cloned());
                }
            }
            Op::SnapshotScan(i) => {
                if let Some((snap, map)) = self.snapshots.get(i as usize % 4) {
                    let want = range(map, &None, &None);
                    self.check_read(scan_db(snap.scan_bounds(None, None)), want);
                }
            }
            Op::CloseSnapshot(i) => {
                let i = i as usize % 4;
                if i < self.snapshots.len() {
                    self.snapshots.remove(i);
                }
            }
            Op::Flush | Op::Compact | Op::Sync => {
                let Some(db) = &self.db else { return };
                let result = match op {
                    Op::Flush => db.flush(),
                    Op::Compact => db.compact(),
                    _ => db.sync(),
                };
                match result {
                    Ok(()) if matches!(op, Op::Sync) => {
                        let state = self.model.current();
                        self.model.make_durable(state);
                    }
                    Ok(()) => {}
                    Err(e) => assert!(self.faulted, "{op:?} failed without a fault: {e}"),
                }
            }
            Op::Reopen => self.reopen(None),
            Op::Kill => self.reopen(Some(false)),
            Op::PowerCut => self.reopen(Some(true)),
            Op::Fault {
                op,
                nth,
                sticky,
                enospc,
            } => {
                let kind = if enospc {
                    FaultKind::Enospc
                } else {
                    FaultKind::Eio
                };
                let (op, nth) = (OPS[op as usize % OPS.len()], u64::from(nth % 8) + 1);
                if sticky {
                    self.fs.inject_sticky(op, nth, kind);
                } else {
                    self.fs.inject(op, nth, kind);
                }
                self.faulted = true;
            }
        }
    }
}

fuzz_target!(|input: Input| {
    let mut h = Harness {
        fs: Arc::new(FaultFs::new()),
        sync_writes: input.sync_writes,
        db: None,
        model: Model::default(),
        snapshots: Vec::new(),
        faulted: false,
    };
    h.open(vec![Map::new()]);
    for op in input.ops.into_iter().take(64) {
        h.run(op);
    }
    h.reopen(None);
});

//! Randomized power cuts (issue 16): a real disk writes dirty pages back in any order, so a
//! power cut leaves an arbitrary subset of the pages written since the last fsync
//! (`FaultFs::power_cut_copy`). After every such cut the database must open, and what it
//! recovers must be a prefix of the acknowledged history that holds at least every write
//! made durable (`sync` returned, or `sync_writes`).
//!
//! Before point-in-time recovery, a later page surviving an earlier lost one made a damaged
//! record followed by a valid one: CORRUPTION, a database that would not open. And since a
//! frozen memtable's WAL is not fsynced at the switch, a later write in the newer WAL could
//! survive while an earlier one in the older WAL was lost: not a prefix.
//!
//! CI runs 3,000 cuts in all; `TOYKV_POWER_CUTS=100000` runs a long mode.

mod common;

use common::XorShift as Rng;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use toykv::env::FaultFs;
use toykv::{Db, Options, WriteBatch};

const DIR: &str = "/db";
const KEYS: u64 = 300;
const PROGRESS: &[u8] = b"!progress";

fn key(k: u64) -> Vec<u8> {
    format!("key{k:04}").into_bytes()
}

/// The value write `i` gives its key: the index, then filler so that WAL pages fill up.
fn value(i: u64) -> Vec<u8> {
    let mut v = i.to_le_bytes().to_vec();
    v.resize(40 + (i % 7) as usize * 37, b'a' + (i % 26) as u8);
    v
}

/// What write `index` did to a key: set it to a value, or delete it (`None`).
type KeyWrite = (u64, Option<Vec<u8>>);

/// Every write's effect on each key, in order: the model the recovered state must match.
#[derive(Default)]
struct History {
    writes: BTreeMap<u64, Vec<KeyWrite>>,
}

impl History {
    /// The live keys and values after writes `0..=last`.
    fn state_after(&self, last: Option<u64>) -> Vec<(Vec<u8>, Vec<u8>)> {
        let Some(last) = last else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (&k, writes) in &self.writes {
            let upto = writes.partition_point(|(i, _)| *i <= last);
            if let Some((_, Some(v))) = upto.checked_sub(1).and_then(|at| writes.get(at)) {
                out.push((key(k), v.clone()));
            }
        }
        out.push((PROGRESS.to_vec(), last.to_le_bytes().to_vec()));
        out.sort();
        out
    }
}

/// Opens the image a power cut left and checks it: it opens, it is the state after some
/// acknowledged write `k` (a prefix), and `k` covers every write made durable.
fn check_cut(
    image: Arc<FaultFs>,
    opts: &Options,
    history: &History,
    durable: Option<u64>,
    acked: Option<u64>,
    what: &str,
) {
    let db = match Db::open(
        Path::new(DIR),
        Options {
            fs: image,
            ..opts.clone()
        },
    ) {
        Ok(db) => db,
        Err(e) => panic!("{what}: the database did not open after a power cut: {e}"),
    };
    let progress = db
        .get(PROGRESS)
        .unwrap()
        .map(|v| u64::from_le_bytes(v[..8].try_into().unwrap()));
    assert!(
        progress <= acked,
        "{what}: write {progress:?} recovered, only {acked:?} acknowledged"
    );
    assert!(
        progress >= durable,
        "{what}: lost durable writes: recovered up to {progress:?}, {durable:?} were durable"
    );
    let recovered: Vec<_> = db
        .scan_bounds(None, None)
        .unwrap()
        .map(|e| e.unwrap())
        .collect();
    let expected = history.state_after(progress);
    assert!(
        recovered == expected,
        "{what}: not a prefix: the state after write {progress:?} differs ({} keys recovered, {} expected)",
        recovered.len(),
        expected.len()
    );
}

/// Runs `writes` batches with small memtables (so WALs switch and flushes and compactions
/// run all the time), cutting power at random moments; returns how many cuts were checked.
fn run(seed: u64, writes: u64, cut_every: u64, sync_writes: bool) -> u64 {
    let fs = Arc::new(FaultFs::new());
    let opts = Options {
        memtable_bytes: 16 * 1024,
        target_file_bytes: 32 * 1024,
        level1_bytes: 64 * 1024,
        sync_writes,
        fs: fs.clone(),
        ..Options::default()
    };
    let db = Db::open(DIR, opts.clone()).unwrap();
    let mut rng = Rng::new(seed);
    let mut history = History::default();
    let (mut durable, mut acked) = (None, None);
    let mut cuts = 0;
    for i in 0..writes {
        let mut batch = WriteBatch::new();
        batch.put(PROGRESS, &i.to_le_bytes()).unwrap();
        for _ in 0..1 + rng.below(3) {
            let k = rng.below(KEYS as usize) as u64;
            let op = if rng.below(5) == 0 {
                None
            } else {
                Some(value(i))
            };
            match &op {
                Some(v) => batch.put(&key(k), v).unwrap(),
                None => batch.delete(&key(k)).unwrap(),
            }
            let writes = history.writes.entry(k).or_default();
            // A later op of the same batch on the same key wins, as in the engine.
            if writes.last().is_some_and(|(at, _)| *at == i) {
                writes.pop();
            }
            writes.push((i, op));
        }
        db.write(&batch).unwrap();
        acked = Some(i);
        if sync_writes {
            durable = acked;
        }
        match rng.below(400) {
            0..=3 => {
                db.sync().unwrap();
                durable = acked;
            }
            4 => db.flush().unwrap(),
            5 => db.compact().unwrap(),
            _ => {}
        }
        if rng.below(cut_every as usize) == 0 {
            let image = fs.power_cut_copy(rng.next_u64());
            let what = format!("seed {seed}, cut {cuts} after write {i}");
            check_cut(image, &opts, &history, durable, acked, &what);
            cuts += 1;
        }
    }
    // A clean close makes everything durable: a cut afterwards keeps it all.
    db.close().unwrap();
    let image = fs.power_cut_copy(rng.next_u64());
    check_cut(
        image,
        &opts,
        &history,
        acked,
        acked,
        &format!("seed {seed}, after close"),
    );
    cuts + 1
}

fn cuts_wanted() -> u64 {
    std::env::var("TOYKV_POWER_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn every_power_cut_opens_and_recovers_a_prefix_holding_every_synced_write() {
    let wanted = cuts_wanted() * 2 / 3;
    let (mut cuts, mut seed) = (0, 1);
    while cuts < wanted {
        cuts += run(seed, 4000, 6, false);
        seed += 1;
    }
    println!("power cuts without sync_writes: {cuts} cuts over {} runs, 0 failed opens, 0 non-prefix recoveries", seed - 1);
}

#[test]
fn with_sync_writes_every_power_cut_keeps_every_acknowledged_write() {
    let wanted = cuts_wanted() / 3;
    let (mut cuts, mut seed) = (0, 1000);
    while cuts < wanted {
        cuts += run(seed, 1500, 3, true);
        seed += 1;
    }
    println!("power cuts with sync_writes: {cuts} cuts over {} runs, 0 failed opens, 0 non-prefix recoveries", seed - 1000);
}

//! Concurrency stress: eight threads of puts, deletes, batches, gets and scans on one
//! database while flushes and compactions run underneath (a tiny memtable and tiny levels
//! keep the background thread busy).
//!
//! Each thread owns a key prefix (`t0/` .. `t7/`) and a `BTreeMap` model of it, and checks
//! every read of its own keys against the model: the other threads' writes, flushes and
//! compactions must never show through. Half the threads also hold snapshots and cursors
//! across thousands of their own writes and check that those views stay exactly as they
//! were when taken. A sampler thread checks every version it sees: L0 at or under the stop
//! trigger, levels 1+ sorted runs. At the end every model must match the database, before
//! and after a reopen. The longest single write is printed (and bounded, to catch a writer
//! left waiting for a wakeup that never came).
//!
//! Runs for `TOYKV_STRESS_SECS` seconds (default 10, the CI run). The long run:
//! `TOYKV_STRESS_SECS=600 cargo test --release --test stress -- --nocapture`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use toykv::{Cursor, Db, Options, Snapshot, WriteBatch};

const THREADS: usize = 8;
const KEYS_PER_THREAD: usize = 1000;
/// A write that waits this long is stuck, not stalled: stalls last as long as one L0
/// compaction of a few hundred KiB.
const MAX_WRITE_LATENCY: Duration = Duration::from_secs(10);

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn stress_duration() -> Duration {
    let secs = std::env::var("TOYKV_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    Duration::from_secs(secs)
}

/// Small everything: a flush every 64 KiB, output files of 64 KiB and a base level of at
/// most 256 KiB, so the background threads flush and compact many times a second under
/// eight writers.
fn options() -> Options {
    Options {
        memtable_bytes: 64 << 10,
        target_file_bytes: 64 << 10,
        level1_bytes: 256 << 10,
        ..Options::default()
    }
}

fn prefix(thread: usize) -> Vec<u8> {
    format!("t{thread}/").into_bytes()
}

/// The first key after every key of `thread`'s prefix (`'0'` follows `'/'`).
fn prefix_end(thread: usize) -> Vec<u8> {
    format!("t{thread}0").into_bytes()
}

fn thread_key(thread: usize, k: usize) -> Vec<u8> {
    format!("t{thread}/k{k:05}").into_bytes()
}

/// Every entry left in `cursor`.
fn drain(cursor: Cursor) -> Vec<(Vec<u8>, Vec<u8>)> {
    cursor.collect::<Result<_, _>>().unwrap()
}

/// An entry as text, for failure messages (every key and value here is ASCII).
fn show(entry: Option<(&[u8], &[u8])>) -> Option<(String, String)> {
    entry.map(|(k, v)| {
        (
            String::from_utf8_lossy(k).into_owned(),
            String::from_utf8_lossy(v).into_owned(),
        )
    })
}

fn entry_ref(e: &(Vec<u8>, Vec<u8>)) -> (&[u8], &[u8]) {
    (&e.0, &e.1)
}

/// Panics unless a read of `key` returned `want`.
fn assert_same_value(key: &[u8], got: Option<Vec<u8>>, want: Option<&Vec<u8>>, context: &str) {
    let text = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
    assert!(
        got.as_ref() == want,
        "{context} {}: got {:?}, expected {:?}",
        text(key),
        got.as_deref().map(text),
        want.map(|v| text(v))
    );
}

/// Panics at the first entry where `got` and `want` differ, naming it.
fn assert_same_entries(got: &[(Vec<u8>, Vec<u8>)], want: &[(Vec<u8>, Vec<u8>)], context: &str) {
    for i in 0..got.len().max(want.len()) {
        let (g, w) = (got.get(i).map(entry_ref), want.get(i).map(entry_ref));
        assert!(
            g == w,
            "{context}: entry {i} is {:?}, expected {:?} ({} entries, expected {})",
            show(g),
            show(w),
            got.len(),
            want.len()
        );
    }
}

fn model_entries<'a>(
    model: &'a Model,
    start: &[u8],
    end: &[u8],
) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> + 'a {
    model
        .range::<[u8], _>((
            std::ops::Bound::Included(start),
            std::ops::Bound::Excluded(end),
        ))
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// A cursor opened some time ago and what it must return: the model at the moment it was
/// opened, and how far it has got.
struct HeldCursor {
    cursor: Cursor,
    expected: Vec<(Vec<u8>, Vec<u8>)>,
    pos: usize,
}

/// A snapshot and the model as it was when the snapshot was taken.
struct HeldSnapshot {
    snapshot: Snapshot,
    model: Model,
    taken_at_op: u64,
}

#[derive(Debug, Default, Clone)]
struct WorkerStats {
    ops: u64,
    writes: u64,
    longest_write: Duration,
    slow_writes: u64,
    snapshot_reads: u64,
    cursor_entries: u64,
    cursors_finished: u64,
    flushes: u64,
    compactions: u64,
}

struct Worker<'a> {
    id: usize,
    db: &'a Db,
    rng: XorShift,
    model: Model,
    counter: u64,
    stats: WorkerStats,
    snapshot: Option<HeldSnapshot>,
    cursor: Option<HeldCursor>,
}

impl<'a> Worker<'a> {
    fn new(id: usize, db: &'a Db) -> Self {
        Worker {
            id,
            db,
            rng: XorShift::new(1000 + id as u64),
            model: Model::new(),
            counter: 0,
            stats: WorkerStats::default(),
            snapshot: None,
            cursor: None,
        }
    }

    fn random_key(&mut self) -> Vec<u8> {
        let k = self.rng.below(KEYS_PER_THREAD);
        thread_key(self.id, k)
    }

    /// A value naming the thread and a counter (so no two writes look alike), of random
    /// length, sometimes empty: an empty value is a value, not a delete.
    fn random_value(&mut self) -> Vec<u8> {
        self.counter += 1;
        if self.rng.below(25) == 0 {
            return Vec::new();
        }
        let mut v = format!("{}.{}.", self.id, self.counter).into_bytes();
        let fill = self.rng.below(150);
        v.resize(v.len() + fill, b'a' + (self.counter % 26) as u8);
        v
    }

    fn timed_write(&mut self, write: impl FnOnce(&Db) -> toykv::Result<()>) {
        let t = Instant::now();
        write(self.db).unwrap();
        let took = t.elapsed();
        self.stats.writes += 1;
        self.stats.longest_write = self.stats.longest_write.max(took);
        if took >= Duration::from_millis(1) {
            self.stats.slow_writes += 1;
        }
    }

    fn run(mut self, deadline: Instant, stop: &AtomicBool) -> (Model, WorkerStats) {
        // Half the threads hold long-lived views; the others only read the present.
        let holds_views = self.id % 2 == 0;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            self.stats.ops += 1;
            match self.rng.below(100) {
                0..=34 => self.put(),
                35..=49 => self.delete(),
                50..=57 => self.batch(),
                58..=84 => self.get(),
                85..=89 => self.scan(),
                _ if holds_views => self.use_held_views(),
                _ => self.get(),
            }
            self.maintenance();
        }
        self.snapshot = None;
        self.cursor = None;
        self.check_everything("at the end of the run");
        (self.model, self.stats)
    }

    fn put(&mut self) {
        let (k, v) = (self.random_key(), self.random_value());
        self.timed_write(|db| db.put(&k, &v));
        self.model.insert(k, v);
    }

    fn delete(&mut self) {
        // Often a key that is not there: deleting those is a no-op that must stay one.
        let k = self.random_key();
        self.timed_write(|db| db.delete(&k));
        self.model.remove(&k);
    }

    /// Up to 16 puts and deletes, sometimes of the same key twice (the later one wins).
    fn batch(&mut self) {
        let mut batch = WriteBatch::new();
        let mut ops = Vec::new();
        for _ in 0..1 + self.rng.below(16) {
            let k = self.random_key();
            if self.rng.below(10) < 7 {
                let v = self.random_value();
                batch.put(&k, &v).unwrap();
                ops.push((k, Some(v)));
            } else {
                batch.delete(&k).unwrap();
                ops.push((k, None));
            }
        }
        self.timed_write(|db| db.write(&batch));
        for (k, v) in ops {
            match v {
                Some(v) => self.model.insert(k, v),
                None => self.model.remove(&k),
            };
        }
    }

    fn get(&mut self) {
        let k = self.random_key();
        let context = format!("thread {} get", self.id);
        assert_same_value(&k, self.db.get(&k).unwrap(), self.model.get(&k), &context);
    }

    /// A range of up to 100 of this thread's keys, read in full.
    fn scan(&mut self) {
        let a = self.rng.below(KEYS_PER_THREAD);
        let (start, end) = (thread_key(self.id, a), thread_key(self.id, a + 100));
        let got = drain(self.db.scan(start.clone()..end.clone()).unwrap());
        let want: Vec<_> = model_entries(&self.model, &start, &end).collect();
        assert_same_entries(
            &got,
            &want,
            &format!("thread {} scan from key {a}", self.id),
        );
    }

    /// Reads through the held snapshot and advances (or re-seeks) the held cursor, replacing
    /// each once it has lived long enough.
    fn use_held_views(&mut self) {
        let ops = self.stats.ops;
        if self
            .snapshot
            .as_ref()
            .is_none_or(|s| ops - s.taken_at_op > 5000)
        {
            self.snapshot = Some(HeldSnapshot {
                snapshot: self.db.snapshot().unwrap(),
                model: self.model.clone(),
                taken_at_op: ops,
            });
        }
        match self.rng.below(10) {
            0..=3 => self.read_held_snapshot(),
            4 => self.scan_held_snapshot(),
            _ => self.advance_held_cursor(),
        }
    }

    fn read_held_snapshot(&mut self) {
        let k = self.random_key();
        let held = self.snapshot.as_ref().unwrap();
        let context = format!(
            "thread {} snapshot get, {} ops after it was taken",
            self.id,
            self.stats.ops - held.taken_at_op
        );
        assert_same_value(
            &k,
            held.snapshot.get(&k).unwrap(),
            held.model.get(&k),
            &context,
        );
        self.stats.snapshot_reads += 1;
    }

    fn scan_held_snapshot(&mut self) {
        let a = self.rng.below(KEYS_PER_THREAD);
        let (start, end) = (thread_key(self.id, a), thread_key(self.id, a + 200));
        let held = self.snapshot.as_ref().unwrap();
        let got = drain(held.snapshot.scan_bounds(Some(&start), Some(&end)).unwrap());
        let want: Vec<_> = model_entries(&held.model, &start, &end).collect();
        let context = format!("thread {} snapshot scan from key {a}", self.id);
        assert_same_entries(&got, &want, &context);
        self.stats.snapshot_reads += 1;
    }

    /// Opens a cursor over the whole prefix when none is held (from the database, or from
    /// the held snapshot), else moves it up to 32 entries on or seeks it, comparing every
    /// entry with the model of the moment it was opened.
    fn advance_held_cursor(&mut self) {
        let (start, end) = (prefix(self.id), prefix_end(self.id));
        if self.cursor.is_none() {
            let (cursor, expected) = if self.rng.below(3) == 0 {
                let held = self.snapshot.as_ref().unwrap();
                let cursor = held.snapshot.scan_bounds(Some(&start), Some(&end));
                (cursor.unwrap(), held.model.clone())
            } else {
                let cursor = self.db.scan_bounds(Some(&start), Some(&end));
                (cursor.unwrap(), self.model.clone())
            };
            self.cursor = Some(HeldCursor {
                cursor,
                expected: expected.into_iter().collect(),
                pos: 0,
            });
        }
        let id = self.id;
        let seek_to = (self.rng.below(20) == 0).then(|| self.random_key());
        let steps = 1 + self.rng.below(32);
        let held = self.cursor.as_mut().unwrap();
        if let Some(target) = seek_to {
            held.cursor.seek(&target).unwrap();
            held.pos = held.expected.partition_point(|(k, _)| *k < target);
        }
        for _ in 0..steps {
            match held.cursor.next_entry().unwrap() {
                Some((k, v)) => {
                    let want = held.expected.get(held.pos);
                    let want = want.map(|(k, v)| (&k[..], &v[..]));
                    assert!(
                        Some((k, v)) == want,
                        "thread {id} held cursor entry {} is {:?}, expected {:?}",
                        held.pos,
                        show(Some((k, v))),
                        show(want)
                    );
                    held.pos += 1;
                    self.stats.cursor_entries += 1;
                }
                None => {
                    assert_eq!(
                        held.pos,
                        held.expected.len(),
                        "thread {id} held cursor ended early"
                    );
                    self.stats.cursors_finished += 1;
                    self.cursor = None;
                    return;
                }
            }
        }
    }

    /// Now and then a manual flush or full compaction, racing the background thread.
    fn maintenance(&mut self) {
        if self.id == 1 && self.rng.below(5000) == 0 {
            self.db.flush().unwrap();
            self.stats.flushes += 1;
        }
        if self.id == 3 && self.rng.below(40_000) == 0 {
            self.db.compact().unwrap();
            self.stats.compactions += 1;
        }
    }

    fn check_everything(&self, when: &str) {
        check_model(self.db, self.id, &self.model, when);
    }
}

/// `db` holds exactly `model` under `thread`'s prefix, by scan and by get.
fn check_model(db: &Db, thread: usize, model: &Model, when: &str) {
    let got = drain(
        db.scan_bounds(Some(&prefix(thread)), Some(&prefix_end(thread)))
            .unwrap(),
    );
    let want: Vec<_> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    assert_same_entries(&got, &want, &format!("{when}: thread {thread}"));
    for k in 0..KEYS_PER_THREAD {
        let key = thread_key(thread, k);
        let context = format!("{when}: thread {thread} get");
        assert_same_value(&key, db.get(&key).unwrap(), model.get(&key), &context);
    }
}

/// Every model matches, and the database holds nothing else.
fn check_all(db: &Db, models: &[Model], when: &str) {
    for (thread, model) in models.iter().enumerate() {
        check_model(db, thread, model, when);
    }
    let total: usize = models.iter().map(BTreeMap::len).sum();
    assert_eq!(scan_all(db).len(), total, "{when}: entries in the database");
}

/// Panics in a worker stop the others, so a failure is reported without waiting out the run.
struct StopOnPanic<'a>(&'a AtomicBool);

impl Drop for StopOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

/// Every 10 ms until told to stop: the version's L0 is at or under the stop trigger and its
/// levels 1+ are sorted runs. Returns the largest L0 seen and the number of samples.
fn sample_versions(db: &Db, opts: &Options, stop: mpsc::Receiver<()>) -> (usize, usize) {
    let (mut max_l0, mut samples) = (0, 0);
    loop {
        let tables = sstables(db);
        let l0 = tables.iter().filter(|t| t.level == 0).count();
        assert!(
            l0 <= opts.l0_stop_trigger,
            "{l0} L0 files, stop trigger {}",
            opts.l0_stop_trigger
        );
        assert_levels_are_sorted_runs(&tables, "during the stress run");
        max_l0 = max_l0.max(l0);
        samples += 1;
        match stop.recv_timeout(Duration::from_millis(10)) {
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            _ => return (max_l0, samples),
        }
    }
}

#[test]
fn eight_threads_each_see_exactly_their_own_writes_through_flushes_and_compactions() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options();
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    let duration = stress_duration();
    let deadline = Instant::now() + duration;
    let stop = AtomicBool::new(false);

    let (stop_tx, stop_rx) = mpsc::channel::<()>();
    let (results, (max_l0, samples)) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let _guard = StopOnPanic(&stop);
            sample_versions(&db, &opts, stop_rx)
        });
        let workers: Vec<_> = (0..THREADS)
            .map(|id| {
                let (db, stop) = (&db, &stop);
                s.spawn(move || {
                    let _guard = StopOnPanic(stop);
                    Worker::new(id, db).run(deadline, stop)
                })
            })
            .collect();
        let results: Vec<(Model, WorkerStats)> =
            workers.into_iter().map(|w| w.join().unwrap()).collect();
        drop(stop_tx);
        (results, sampler.join().unwrap())
    });
    let (models, stats): (Vec<Model>, Vec<WorkerStats>) = results.into_iter().unzip();

    let sum = |f: fn(&WorkerStats) -> u64| stats.iter().map(f).sum::<u64>();
    let longest = stats.iter().map(|s| s.longest_write).max().unwrap();
    eprintln!(
        "stress {duration:?}: {} ops, {} writes ({} took 1 ms or more), longest write \
         {longest:.1?}; {} snapshot reads, {} held-cursor entries in {} finished cursors; \
         {} manual flushes, {} manual compactions; L0 at most {max_l0} in {samples} samples",
        sum(|s| s.ops),
        sum(|s| s.writes),
        sum(|s| s.slow_writes),
        sum(|s| s.snapshot_reads),
        sum(|s| s.cursor_entries),
        sum(|s| s.cursors_finished),
        sum(|s| s.flushes),
        sum(|s| s.compactions),
    );
    let stats_text = db.property("toykv.stats").unwrap();
    eprintln!("{stats_text}");

    // The run must have exercised what it claims to.
    let flushes = stats_number(&db, "flushes:").unwrap();
    let compactions = stats_number(&db, "compactions:").unwrap();
    assert!(flushes >= 10.0, "only {flushes} flushes:\n{stats_text}");
    assert!(compactions >= 1.0, "no compaction ran:\n{stats_text}");
    assert!(
        sum(|s| s.cursors_finished) > 0 && sum(|s| s.snapshot_reads) > 0,
        "the held views were never checked"
    );
    assert!(
        longest < MAX_WRITE_LATENCY,
        "a write took {longest:?}: a writer waited for a wakeup that came late or never"
    );

    check_all(&db, &models, "after the run");
    db.close().unwrap();
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    check_all(&db, &models, "after reopen");
}

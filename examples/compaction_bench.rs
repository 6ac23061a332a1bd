//! Compaction benchmark: what leveled compaction costs and what it buys.
//!
//! (a) Write and space amplification of the sustained-overwrite workload of
//!     `tests/leveled.rs` at full scale (200,000 keys x 10 rounds of 100-byte values,
//!     256 KiB memtables and files, level1_bytes 1 MiB, ratio 10), measured once compaction
//!     has settled, and the space amplification again after a full `compact()`.
//! (b) Random point reads per second on 1,000,000 keys loaded in random order with default
//!     options (so L0 files overlap each other and L1): just after the load, once background
//!     compaction has settled, and after a full `compact()`, with the files per level at
//!     each point.
//! (c) The longest write stall: from `toykv.stats` and from timing every write here.
//!
//! Run: `cargo run --release --example compaction_bench` (a couple of minutes). Numbers
//! depend on the machine; this is not a test.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{
    dir_bytes, key, level_files, stats_line, stats_number, wait_for_compaction_to_settle,
    Overwrite, XorShift,
};
use std::time::{Duration, Instant};
use toykv::{Db, Options};

const READ_KEYS: usize = 1_000_000;
const READS: usize = 1_000_000;
/// Longer than any settling seen; past it the engine is stuck, and the bench says so.
const SETTLE: Duration = Duration::from_secs(120);

/// Per-write latencies of one phase, kept as the longest and counts past 1 and 10 ms.
#[derive(Default)]
struct WriteTimes {
    writes: u64,
    longest: Duration,
    over_1ms: u64,
    over_10ms: u64,
}

impl WriteTimes {
    fn time(&mut self, write: impl FnOnce()) {
        let t = Instant::now();
        write();
        let took = t.elapsed();
        self.writes += 1;
        self.longest = self.longest.max(took);
        self.over_1ms += u64::from(took >= Duration::from_millis(1));
        self.over_10ms += u64::from(took >= Duration::from_millis(10));
    }
}

/// What each phase saw of write stalls: its own timings and `toykv.stats`' stall line.
struct Stalls {
    phase: &'static str,
    times: WriteTimes,
    stats_line: String,
}

fn files_per_level(db: &Db) -> String {
    (0..7)
        .map(|l| format!("L{l}={}", level_files(db, l)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn overwrite_amplification() -> Stalls {
    let w = Overwrite::full();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), w.opts.clone()).expect("open");
    let started = Instant::now();
    let mut times = WriteTimes::default();
    for round in 0..w.rounds {
        for i in w.order(round) {
            times.time(|| db.put(&w.key(i), &w.value(i, round)).expect("put"));
        }
    }
    let writing = started.elapsed();
    wait_for_compaction_to_settle(&db, dir.path(), SETTLE);
    let settled = started.elapsed();
    let on_disk = dir_bytes(dir.path());
    println!(
        "(a) sustained overwrite: {} keys x {} rounds, {:.1} MB written by the user in {writing:.1?} \
         ({settled:.1?} until compaction settled)",
        w.keys,
        w.rounds,
        (w.live_bytes() * w.rounds as u64) as f64 / 1e6
    );
    println!(
        "    write amplification {:.2} (sstable bytes written / user bytes written)",
        stats_number(&db, "write amplification:").unwrap_or(f64::NAN)
    );
    println!(
        "    space amplification {:.2} ({on_disk} bytes on disk / {} live key+value bytes)",
        on_disk as f64 / w.live_bytes() as f64,
        w.live_bytes()
    );
    println!("    files: {}", files_per_level(&db));
    let started = Instant::now();
    db.compact().expect("compact");
    let on_disk = dir_bytes(dir.path());
    println!(
        "    after compact(): space amplification {:.2} ({on_disk} bytes on disk; compact took \
         {:.1?}), files: {}",
        on_disk as f64 / w.live_bytes() as f64,
        started.elapsed(),
        files_per_level(&db)
    );
    Stalls {
        phase: "(a) sustained overwrite",
        times,
        stats_line: stats_line(&db, "write stalls:").unwrap_or_else(|| "(none)".into()),
    }
}

/// `READS` random gets of present keys; returns reads per second.
fn random_reads(db: &Db, rng: &mut XorShift) -> f64 {
    let value_len = 100;
    let started = Instant::now();
    for _ in 0..READS {
        let i = rng.below(READ_KEYS);
        let v = db.get(&key(i)).expect("get").expect("a present key");
        assert_eq!(v.len(), value_len);
    }
    READS as f64 / started.elapsed().as_secs_f64()
}

fn read_throughput() -> Stalls {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    let mut rng = XorShift::new(42);
    let mut order: Vec<usize> = (0..READ_KEYS).collect();
    rng.shuffle(&mut order);
    let value = vec![b'v'; 100];
    let started = Instant::now();
    let mut times = WriteTimes::default();
    for i in order {
        times.time(|| db.put(&key(i), &value).expect("put"));
    }
    db.flush().expect("flush");
    println!(
        "(b) {READ_KEYS} keys loaded in random order in {:.1?}",
        started.elapsed()
    );

    // Right after the load the background thread is still compacting (L0 and L1 overlap),
    // so this first number is taken while the shape changes; the second waits for it.
    let loaded = files_per_level(&db);
    let per_sec = random_reads(&db, &mut rng);
    println!(
        "    just loaded:        {per_sec:>9.0} reads/s   files {loaded} (after the reads: {})",
        files_per_level(&db)
    );
    wait_for_compaction_to_settle(&db, dir.path(), SETTLE);
    let settled = files_per_level(&db);
    let per_sec = random_reads(&db, &mut rng);
    println!("    settled, leveled:   {per_sec:>9.0} reads/s   files {settled}");
    let started = Instant::now();
    db.compact().expect("compact");
    let compacting = started.elapsed();
    let after = files_per_level(&db);
    let per_sec = random_reads(&db, &mut rng);
    println!(
        "    after compact():    {per_sec:>9.0} reads/s   files {after} (compact took {compacting:.1?})"
    );
    Stalls {
        phase: "(b) random-order load",
        times,
        stats_line: stats_line(&db, "write stalls:").unwrap_or_else(|| "(none)".into()),
    }
}

fn main() {
    let stalls = [overwrite_amplification(), read_throughput()];
    println!("(c) largest write stall");
    for s in &stalls {
        let t = &s.times;
        println!(
            "    {}: longest single write {:.1?}; {} of {} writes took 1 ms or more, {} took \
             10 ms or more",
            s.phase, t.longest, t.over_1ms, t.writes, t.over_10ms
        );
        println!("        toykv.stats: {}", s.stats_line);
    }
}

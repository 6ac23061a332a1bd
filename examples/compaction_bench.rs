//! Compaction benchmark: what leveled compaction costs and what it buys.
//!
//! (a) Write and space amplification of the sustained-overwrite workload of
//!     `tests/leveled.rs` at full scale (200,000 keys x 10 rounds of 100-byte values, 256 KiB
//!     memtables and files, L1 300 KiB, ratio 10), measured once compaction has settled.
//! (b) Random point reads per second on 1,000,000 keys loaded in random order with default
//!     options (so L0 files overlap each other and L1), before and after a full `compact()`,
//!     with the files per level at each point.
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

/// The longest single write seen, and the stall line of `toykv.stats`, per phase.
struct Stalls {
    phase: &'static str,
    longest_write: Duration,
    stats_line: String,
}

fn files_per_level(db: &Db) -> String {
    (0..7)
        .map(|l| format!("L{l}={}", level_files(db, l)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn overwrite_amplification() -> Stalls {
    let w = Overwrite::scaled(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), w.opts.clone()).expect("open");
    let started = Instant::now();
    let mut longest = Duration::ZERO;
    for round in 0..w.rounds {
        for i in w.order(round) {
            let t = Instant::now();
            db.put(&w.key(i), &w.value(i, round)).expect("put");
            longest = longest.max(t.elapsed());
        }
    }
    let writing = started.elapsed();
    wait_for_compaction_to_settle(&db, dir.path(), &w.opts, Duration::from_secs(120));
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
    Stalls {
        phase: "(a) sustained overwrite",
        longest_write: longest,
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
    let mut longest = Duration::ZERO;
    for i in order {
        let t = Instant::now();
        db.put(&key(i), &value).expect("put");
        longest = longest.max(t.elapsed());
    }
    db.flush().expect("flush");
    println!(
        "(b) {READ_KEYS} keys loaded in random order in {:.1?}",
        started.elapsed()
    );

    let before = files_per_level(&db);
    let per_sec = random_reads(&db, &mut rng);
    println!(
        "    before compact(): {per_sec:>10.0} reads/s   files {before} (after the reads: {})",
        files_per_level(&db)
    );
    let started = Instant::now();
    db.compact().expect("compact");
    let compacting = started.elapsed();
    let after = files_per_level(&db);
    let per_sec = random_reads(&db, &mut rng);
    println!(
        "    after compact():  {per_sec:>10.0} reads/s   files {after} (compact took {compacting:.1?})"
    );
    Stalls {
        phase: "(b) random-order load",
        longest_write: longest,
        stats_line: stats_line(&db, "write stalls:").unwrap_or_else(|| "(none)".into()),
    }
}

fn main() {
    let stalls = [overwrite_amplification(), read_throughput()];
    println!("(c) largest write stall");
    for s in &stalls {
        println!(
            "    {}: longest single write {:.1?}; toykv.stats: {}",
            s.phase, s.longest_write, s.stats_line
        );
    }
}

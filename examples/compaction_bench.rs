//! Compaction benchmark: what leveled compaction costs and what it buys.
//!
//! (a) Write and space amplification of the sustained-overwrite workload of
//!     `tests/leveled.rs` at full scale (200,000 keys x 10 rounds of 100-byte values,
//!     256 KiB memtables and files, level1_bytes 1 MiB, ratio 10). Write amplification is
//!     every byte this process wrote (`/proc/self/io`: WAL, sstables, manifest) over the
//!     key and value bytes the user wrote, once compaction has settled, beside the engine's
//!     own count of sstable bytes; space amplification right after the last write, once
//!     compaction has settled, and after a full `compact()`.
//! (b) Random point reads per second on 1,000,000 keys loaded in random order with default
//!     options (so L0 files overlap each other and L1): just after the load, once background
//!     compaction has settled, and after a full `compact()`, with the files per level at
//!     each point.
//! (c) The longest write stall: from `toykv.stats` and from timing every write here.
//!
//! Run: `cargo run --release --example compaction_bench` (a couple of minutes), or with the
//! argument `overwrite` for (a) alone. Numbers depend on the machine; this is not a test.

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

/// Bytes of the files in `dir` while the database changes it: a file deleted between the
/// listing and its `stat` counts 0.
fn live_dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// A counter of `/proc/self/io`: `write_bytes` (what reached the block layer, page-cache
/// writeback counted to this process, WAL included) or `wchar` (bytes passed to write(2)).
fn process_io(field: &str) -> u64 {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    io.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(": ")?.parse().ok())
        .unwrap_or(0)
}

fn overwrite_amplification() -> Stalls {
    let mut w = Overwrite::full();
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(v) = env("X_SOFT") {
        w.opts.soft_pending_compaction_bytes = v;
    }
    if let Some(v) = env("X_HARD") {
        w.opts.hard_pending_compaction_bytes = v;
    }
    if let Some(v) = env("X_L0") {
        w.opts.l0_compaction_trigger = v as usize;
    }
    if let Some(v) = env("X_L0SLOW") {
        w.opts.l0_slowdown_trigger = v as usize;
    }
    if let Some(v) = env("X_L0STOP") {
        w.opts.l0_stop_trigger = v as usize;
    }
    if let Some(v) = env("X_L1") {
        w.opts.level1_bytes = v;
    }
    if let Some(v) = env("X_FILE") {
        w.opts.target_file_bytes = v;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), w.opts.clone()).expect("open");
    let (written_before, wchar_before) = (process_io("write_bytes"), process_io("wchar"));
    let started = Instant::now();
    let mut times = WriteTimes::default();
    let writing_done = std::sync::atomic::AtomicBool::new(false);
    // How far behind compaction fell while the writes ran (every 10 ms), and the disk used
    // from the second round on (every 100 ms), once the data set is whole.
    let round_two = std::sync::atomic::AtomicBool::new(false);
    let (max_pending, max_l0, disk) = std::thread::scope(|s| {
        let sampler = s.spawn(|| {
            let (mut pending, mut l0, mut disk) = (0u64, 0usize, Vec::new());
            let mut tick = 0u64;
            while !writing_done.load(std::sync::atomic::Ordering::Acquire) {
                let now: u64 = db
                    .property("toykv.compaction-pending")
                    .ok()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                pending = pending.max(now);
                l0 = l0.max(level_files(&db, 0));
                tick += 1;
                if tick % 10 == 0 && round_two.load(std::sync::atomic::Ordering::Acquire) {
                    disk.push(live_dir_bytes(dir.path()));
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (pending, l0, disk)
        });
        for round in 0..w.rounds {
            if round == 1 {
                round_two.store(true, std::sync::atomic::Ordering::Release);
            }
            for i in w.order(round) {
                times.time(|| db.put(&w.key(i), &w.value(i, round)).expect("put"));
            }
        }
        writing_done.store(true, std::sync::atomic::Ordering::Release);
        sampler.join().unwrap_or_default()
    });
    let writing = started.elapsed();
    let right_after = dir_bytes(dir.path());
    let files_right_after = files_per_level(&db);
    wait_for_compaction_to_settle(&db, dir.path(), SETTLE);
    let settled = started.elapsed();
    // Dirty pages are counted when written to, so everything written so far is counted.
    let written = process_io("write_bytes") - written_before;
    let wchar = process_io("wchar") - wchar_before;
    let on_disk = dir_bytes(dir.path());
    let user = w.live_bytes() * w.rounds as u64;
    println!(
        "(a) sustained overwrite: {} keys x {} rounds, {:.1} MB written by the user in {writing:.1?} \
         ({settled:.1?} until compaction settled)",
        w.keys,
        w.rounds,
        user as f64 / 1e6
    );
    println!(
        "    write amplification {:.2} (bytes the process wrote, WAL included, {written} from \
         /proc/self/io write_bytes, / key+value bytes written by the user); wchar {:.2}; \
         sstable bytes alone {:.2} (toykv.stats)",
        written as f64 / user as f64,
        wchar as f64 / user as f64,
        stats_number(&db, "write amplification:").unwrap_or(f64::NAN)
    );
    println!(
        "    space amplification right after the writes {:.2} ({right_after} bytes on disk / \
         {} live key+value bytes), files: {files_right_after}",
        right_after as f64 / w.live_bytes() as f64,
        w.live_bytes()
    );
    println!(
        "    space amplification once compaction settled {:.2} ({on_disk} bytes)",
        on_disk as f64 / w.live_bytes() as f64,
    );
    println!(
        "    while writing: at most {:.1} MB of compaction pending, {max_l0} L0 files",
        max_pending as f64 / 1e6
    );
    if !disk.is_empty() {
        let live = w.live_bytes() as f64;
        let mean = disk.iter().sum::<u64>() as f64 / disk.len() as f64;
        let max = disk.iter().copied().max().unwrap_or(0);
        println!(
            "    space amplification while writing rounds 2-{} ({} samples): mean {:.2}, max {:.2}",
            w.rounds,
            disk.len(),
            mean / live,
            max as f64 / live
        );
    }
    if let Some(line) = stats_line(&db, "compaction bytes written by output level:") {
        println!("    {line}");
    }
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
    let only_overwrite = std::env::args().nth(1).as_deref() == Some("overwrite");
    let stalls = if only_overwrite {
        vec![overwrite_amplification()]
    } else {
        vec![overwrite_amplification(), read_throughput()]
    };
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

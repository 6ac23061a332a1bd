//! The learning project's read benchmark, kept so its numbers can be compared with ours.
//!
//! Writes 25,000 key/value pairs, flushing every `pairs_per_table` pairs (1,000 -> 25
//! sstables, 10,000 -> 3), then times random single-key reads of present keys. It also
//! measures the bloom filter's false-positive rate: reads of absent keys that fall inside
//! every table's key range, counting filter checks that did not rule the table out.
//!
//! Run: `cargo run --release --example read_bench [reads]`

use std::time::Instant;
use toykv::{Db, Options};

const PAIRS: usize = 25_000;

fn key(i: usize) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

/// A tiny deterministic generator so runs are comparable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// (filter checks, negatives) from `toykv.stats`.
fn filter_counts(db: &Db) -> (u64, u64) {
    let stats = db.property("toykv.stats").unwrap_or_default();
    let line = stats
        .lines()
        .find(|l| l.starts_with("bloom filter:"))
        .unwrap_or("");
    let numbers: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|s| s.parse().ok())
        .collect();
    (
        numbers.first().copied().unwrap_or(0),
        numbers.get(1).copied().unwrap_or(0),
    )
}

fn run(pairs_per_table: usize, reads: usize) -> Result<(), toykv::Error> {
    let dir = std::env::temp_dir().join(format!(
        "toykv-read-bench-{}-{pairs_per_table}",
        std::process::id()
    ));
    let _ = Db::destroy(&dir);
    // The learning project's layout: one sstable per flush, none merged. Background
    // compaction would fold the 25 tables into a few, so its triggers are put out of reach.
    let opts = Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        l0_compaction_trigger: 1000,
        l0_slowdown_trigger: 1000,
        l0_stop_trigger: 1000,
        ..Options::default()
    };
    let db = Db::open(&dir, opts)?;
    let value = vec![b'v'; 100];
    for i in 0..PAIRS {
        db.put(&key(i), &value)?;
        if (i + 1) % pairs_per_table == 0 {
            db.flush()?;
        }
    }
    db.flush()?;
    let tables = db.property("toykv.num-files-at-level0")?;

    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    // Warm the cache once, as the learning project's numbers were taken on a warm process.
    for i in 0..PAIRS {
        db.get(&key(i))?;
    }
    let start = Instant::now();
    let mut found = 0;
    for _ in 0..reads {
        let i = (rng.next() % PAIRS as u64) as usize;
        if db.get(&key(i))?.is_some() {
            found += 1;
        }
    }
    let elapsed = start.elapsed();
    assert_eq!(found, reads, "every present key must be found");

    // Absent keys between present ones: inside every table's range, so only the filter
    // can keep a block read away.
    let (checks_before, negatives_before) = filter_counts(&db);
    let absent = 100_000;
    for _ in 0..absent {
        let i = (rng.next() % PAIRS as u64) as usize;
        let mut k = key(i);
        k.push(b'x');
        assert!(db.get(&k)?.is_none());
    }
    let (checks, negatives) = filter_counts(&db);
    let checks = checks - checks_before;
    let false_positives = checks - (negatives - negatives_before);
    println!(
        "{pairs_per_table:>6} pairs/table  {tables:>3} sstables  {:>8.3} us/read  ({reads} random reads)  filter false positives {:.3}% ({false_positives} of {checks} checks)",
        elapsed.as_secs_f64() * 1e6 / reads as f64,
        100.0 * false_positives as f64 / checks.max(1) as f64,
    );
    db.close()?;
    drop(db);
    Db::destroy(&dir)
}

fn main() -> Result<(), toykv::Error> {
    let reads = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    for pairs_per_table in [1_000, 10_000] {
        run(pairs_per_table, reads)?;
    }
    Ok(())
}

//! Checkpoint benchmark: how long a checkpoint of a 1,000,000-key database takes, and how
//! many bytes it writes (issue 15).
//!
//! The database: 1,000,000 keys of 16 bytes with 100-byte values, loaded in batches of 1,000
//! with default options (4 MiB memtables), flushed, compaction left to settle; then 20,000
//! more writes that stay in the memtable, as a running program would have. Measured, each into a
//! fresh directory on the same file system as the database:
//! (a) a checkpoint (sstables hard-linked) just after the flush, the memtable empty;
//! (b) a checkpoint of the idle database with the 20,000 writes in the memtable;
//! (c) the same while a writer thread keeps writing, with the writer's throughput;
//! (d) a checkpoint that copies every sstable (`copy_sstables`), for comparison;
//! each with the bytes it wrote into the checkpoint (from `CheckpointStats`, checked against
//! the files on disk) and the bytes it only linked.
//!
//! Run: `cargo run --release --example checkpoint_bench [DIR]` (DIR: where to put the
//! databases, default a temporary directory; about a minute). Numbers depend on the machine
//! and its disk; this is not a test.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{dir_bytes, wait_for_compaction_to_settle};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use toykv::{CheckpointOptions, CheckpointStats, Db, Options, WriteBatch};

const KEYS: u64 = 1_000_000;
const VALUE_LEN: usize = 100;
const BATCH: u64 = 1_000;
/// Writes after the load that stay in the memtable (about 2.3 MiB of a 4 MiB memtable).
const UNFLUSHED: u64 = 20_000;

/// 16 bytes.
fn key(i: u64) -> Vec<u8> {
    format!("key{i:013}").into_bytes()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = format!("{round}/{i}/").into_bytes();
    v.resize(VALUE_LEN, b'a' + (i % 26) as u8);
    v
}

/// Bytes of the files in `dir` that are not hard links to a file of `source`: what the
/// checkpoint really wrote.
fn bytes_not_linked(dir: &Path, source: &Path) -> u64 {
    let source_inodes: Vec<u64> = std::fs::read_dir(source)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().ino())
        .collect();
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(|m| !source_inodes.contains(&m.ino()))
        .map(|m| m.len())
        .sum()
}

fn report(what: &str, took: Duration, stats: &CheckpointStats, dir: &Path, source: &Path) {
    let on_disk = bytes_not_linked(dir, source);
    assert_eq!(
        on_disk, stats.bytes_written,
        "{what}: the stats disagree with the disk"
    );
    println!(
        "{what}: {:.1} ms; sstables: {} linked ({:.1} MB), {} copied ({:.1} MB); \
         bytes written: {} ({:.2} MB); holds writes up to sequence {}",
        took.as_secs_f64() * 1e3,
        stats.linked_files,
        stats.linked_bytes as f64 / 1e6,
        stats.copied_files,
        stats.copied_bytes as f64 / 1e6,
        stats.bytes_written,
        stats.bytes_written as f64 / 1e6,
        stats.sequence
    );
}

fn checkpoint(db: &Db, dir: &Path, opts: &CheckpointOptions) -> (Duration, CheckpointStats) {
    let started = Instant::now();
    let stats = db.checkpoint_with(dir, opts).unwrap();
    (started.elapsed(), stats)
}

fn main() {
    let temp = tempfile::tempdir().unwrap();
    let root: PathBuf = std::env::args_os()
        .nth(1)
        .map_or_else(|| temp.path().to_path_buf(), PathBuf::from);
    let source = root.join("source");
    let db = Arc::new(Db::open(&source, Options::default()).unwrap());

    let started = Instant::now();
    for first in (0..KEYS).step_by(BATCH as usize) {
        let mut batch = WriteBatch::new();
        for i in first..first + BATCH {
            batch.put(&key(i), &value(i, 0)).unwrap();
        }
        db.write(&batch).unwrap();
    }
    let loaded = started.elapsed();
    db.flush().unwrap();
    let tables = wait_for_compaction_to_settle(&db, &source, Duration::from_secs(300));
    let link = CheckpointOptions::default();
    let flushed = root.join("checkpoint-flushed");
    let (flushed_took, flushed_stats) = checkpoint(&db, &flushed, &link);
    for i in 0..UNFLUSHED {
        db.put(&key(i * 37 % KEYS), &value(i, 1)).unwrap();
    }
    let wal_bytes: u64 = common::files_with_suffix(&source, ".log")
        .iter()
        .map(|wal| std::fs::metadata(wal).unwrap().len())
        .sum();
    println!(
        "database: {KEYS} keys of 16 bytes with {VALUE_LEN}-byte values, loaded in {:.1} s \
         and flushed; {} sstables, {:.1} MB on disk; then {UNFLUSHED} writes in the memtable \
         ({wal_bytes} bytes of WAL)",
        loaded.as_secs_f64(),
        tables.len(),
        dir_bytes(&source) as f64 / 1e6
    );

    report(
        "(a) checkpoint, memtable empty",
        flushed_took,
        &flushed_stats,
        &flushed,
        &source,
    );
    let idle = root.join("checkpoint-idle");
    let (took, stats) = checkpoint(&db, &idle, &link);
    report("(b) checkpoint, idle", took, &stats, &idle, &source);

    // (b) A writer thread keeps writing during the checkpoint.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (db, stop, written) = (Arc::clone(&db), Arc::clone(&stop), Arc::clone(&written));
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                db.put(&key(i * 7919 % KEYS), &value(i, 2)).unwrap();
                i += 1;
                written.store(i, Ordering::Relaxed);
            }
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let before = written.load(Ordering::Relaxed);
    let busy = root.join("checkpoint-busy");
    let (took, stats) = checkpoint(&db, &busy, &link);
    let during = written.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    writer.join().unwrap();
    report(
        "(c) checkpoint, while a writer writes",
        took,
        &stats,
        &busy,
        &source,
    );
    println!(
        "    the writer made {during} writes during it ({:.0} writes/s)",
        during as f64 / took.as_secs_f64()
    );

    let copied = root.join("checkpoint-copied");
    let copy = CheckpointOptions {
        copy_sstables: true,
    };
    let (took, stats) = checkpoint(&db, &copied, &copy);
    report(
        "(d) checkpoint copying every sstable",
        took,
        &stats,
        &copied,
        &source,
    );
    db.close().unwrap();

    // Each opens on its own.
    for dir in [&flushed, &idle, &busy, &copied] {
        let checkpoint = Db::open(dir, Options::default()).unwrap();
        assert_eq!(
            checkpoint.get(&key(KEYS - 1)).unwrap(),
            Some(value(KEYS - 1, 0))
        );
        checkpoint.close().unwrap();
    }
}

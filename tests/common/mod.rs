//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use toykv::{Db, Options};

/// Copies a database directory (without its lock file) as a `kill -9` would leave it: every
/// byte the process wrote is in the files. Take it after `sync` for a durable image.
pub fn crash_image(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "LOCK" {
            continue;
        }
        std::fs::copy(entry.path(), dst.join(&name)).unwrap();
    }
}

/// Files in `dir` whose names end with `suffix`, sorted.
pub fn files_with_suffix(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    out.sort();
    out
}

pub fn flip_byte(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0xff;
    std::fs::write(path, bytes).unwrap();
}

pub fn small_options() -> Options {
    Options {
        memtable_bytes: 64 * 1024,
        ..Options::default()
    }
}

/// Small memtables and no background compaction (its triggers are out of reach), so that a
/// test sees exactly the files that flushes and its own `compact` calls make.
pub fn manual_compaction_options() -> Options {
    Options {
        l0_compaction_trigger: 1000,
        l0_slowdown_trigger: 1000,
        l0_stop_trigger: 1000,
        level1_bytes: 1 << 40,
        ..small_options()
    }
}

/// Every live entry, in order.
pub fn scan_all(db: &Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    db.scan_bounds(None, None)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

pub fn key(i: usize) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

pub fn value(i: usize, round: usize) -> Vec<u8> {
    format!("value-{i}-{round}-{}", "x".repeat(i % 50)).into_bytes()
}

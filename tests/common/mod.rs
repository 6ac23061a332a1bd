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

/// Every file in `dir`, name -> contents: to check that something left a database as it was.
pub fn dir_contents(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect()
}

/// Bytes of every file in `dir`: sstables, WALs, manifest, `CURRENT`, `LOCK`. A file that
/// a background compaction deletes between the listing and its `stat` counts as gone.
pub fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| match e.and_then(|e| e.metadata()) {
            Ok(meta) => meta.len(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => 0,
            Err(err) => panic!("{}: {err}", dir.display()),
        })
        .sum()
}

/// Bytes in `dir` by kind of file, for messages: `sstables N, WALs N, manifest N, other N`.
pub fn dir_breakdown(dir: &Path) -> String {
    let (mut sst, mut wal, mut manifest, mut other) = (0u64, 0u64, 0u64, 0u64);
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let len = entry.metadata().unwrap().len();
        let name = entry.file_name().to_string_lossy().into_owned();
        let slot = if name.ends_with(".sst") {
            &mut sst
        } else if name.ends_with(".log") {
            &mut wal
        } else if name.starts_with("MANIFEST-") {
            &mut manifest
        } else {
            &mut other
        };
        *slot += len;
    }
    format!("sstables {sst}, WALs {wal}, manifest {manifest}, other {other} bytes")
}

/// `toykv.num-files-at-level<level>` as a number.
pub fn level_files(db: &Db, level: usize) -> usize {
    db.property(&format!("toykv.num-files-at-level{level}"))
        .unwrap()
        .parse()
        .unwrap()
}

/// A small deterministic generator (xorshift64): a failing run replays with the same seed.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // Zero is xorshift's one fixed point; mix the seed so nearby seeds diverge at once.
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform enough in `0..n` for test workloads. REQUIRES: `n > 0`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// One line of `toykv.sstables`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SstableInfo {
    pub level: usize,
    pub name: String,
    pub size: u64,
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
}

/// The live sstables, parsed from `toykv.sstables` (`level name size smallest largest`).
pub fn sstables(db: &Db) -> Vec<SstableInfo> {
    parse_sstables(&db.property("toykv.sstables").unwrap())
}

pub fn parse_sstables(listing: &str) -> Vec<SstableInfo> {
    listing
        .lines()
        .map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 5, "toykv.sstables line {line:?}");
            SstableInfo {
                level: fields[0].parse().unwrap(),
                name: fields[1].to_string(),
                size: fields[2].parse().unwrap(),
                smallest: unescape(fields[3]),
                largest: unescape(fields[4]),
            }
        })
        .collect()
}

/// Reverses the properties' key escaping: printable ASCII as is, any other byte as `\xNN`.
pub fn unescape(s: &str) -> Vec<u8> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            assert_eq!(bytes.get(i + 1), Some(&b'x'), "bad escape in {s:?}");
            let hex = std::str::from_utf8(&bytes[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Panics unless every level from 1 down is one sorted run: no two of its files' key ranges
/// overlap (a point read there may consult a single file), and every file's smallest key is
/// at most its largest.
pub fn assert_levels_are_sorted_runs(tables: &[SstableInfo], context: &str) {
    for t in tables {
        assert!(
            t.smallest <= t.largest,
            "{context}: {} at L{} has smallest > largest: {t:?}",
            t.name,
            t.level
        );
    }
    for level in 1..7 {
        let mut files: Vec<&SstableInfo> = tables.iter().filter(|t| t.level == level).collect();
        files.sort_by(|a, b| a.smallest.cmp(&b.smallest));
        for pair in files.windows(2) {
            assert!(
                pair[0].largest < pair[1].smallest,
                "{context}: L{level} files overlap: {:?} and {:?}",
                pair[0],
                pair[1]
            );
        }
    }
}

/// The first line of `toykv.stats` starting with `prefix`.
pub fn stats_line(db: &Db, prefix: &str) -> Option<String> {
    db.property("toykv.stats")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(prefix))
        .map(str::to_string)
}

/// The first number on the `toykv.stats` line starting with `prefix` (after the prefix).
pub fn stats_number(db: &Db, prefix: &str) -> Option<f64> {
    let line = stats_line(db, prefix)?;
    line[prefix.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// Waits, polling against a deadline, until background work is done: no flush or
/// compaction due (`toykv.compaction-pending` is 0, so the engine's own level targets are
/// met) and the `.sst` files in `dir` exactly the live ones (no compaction output in flight,
/// no replaced input left undeleted). Returns the live sstables then.
///
/// # Panics
/// At the deadline, describing what was still unsettled: the engine either stopped short of
/// its own targets or leaked files.
pub fn wait_for_compaction_to_settle(
    db: &Db,
    dir: &Path,
    timeout: std::time::Duration,
) -> Vec<SstableInfo> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let pending = db.property("toykv.compaction-pending").unwrap();
        let tables = sstables(db);
        let unsettled = if pending != "0" {
            Some(format!("toykv.compaction-pending is {pending}"))
        } else {
            files_not_matching(&tables, dir)
        };
        match unsettled {
            None => return tables,
            Some(reason) if std::time::Instant::now() >= deadline => {
                panic!("compaction did not settle within {timeout:?}: {reason}")
            }
            // Polling for background work, not ordering anything: the check above decides.
            Some(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    }
}

/// Describes the difference between the live sstables and the `.sst` files in `dir`.
fn files_not_matching(tables: &[SstableInfo], dir: &Path) -> Option<String> {
    let live: std::collections::BTreeSet<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    let on_disk: std::collections::BTreeSet<String> = files_with_suffix(dir, ".sst")
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let on_disk: std::collections::BTreeSet<&str> = on_disk.iter().map(String::as_str).collect();
    if live == on_disk {
        return None;
    }
    let extra: Vec<_> = on_disk.difference(&live).collect();
    let missing: Vec<_> = live.difference(&on_disk).collect();
    Some(format!(
        "sstables on disk but not live: {extra:?}; live but not on disk: {missing:?}"
    ))
}

/// The sustained-overwrite workload shared by `tests/leveled.rs` and
/// `examples/compaction_bench.rs`: `keys` keys (11 bytes) each written `rounds` times with a
/// 100-byte value that differs per round, every round in a fresh random order so that each
/// flushed L0 file spans the whole key space.
pub struct Overwrite {
    pub keys: usize,
    pub rounds: usize,
    pub opts: Options,
}

pub const OVERWRITE_VALUE_LEN: usize = 100;

impl Overwrite {
    /// The workload: 200,000 keys x 10 rounds, with memtables and output files of
    /// 256 KiB and `level1_bytes` 1 MiB. The live data (200k x 111 bytes = 22.2 MB, about
    /// 22 MB as sstables) sits in the last level; with dynamic level sizing the level above
    /// it targets a tenth of that (and is the base level, where L0 goes: the next one up
    /// would be smaller than one L0 compaction), so the upper levels hold about a tenth of
    /// the data. The limits on pending compaction bytes are the defaults scaled as the
    /// memtables are (256 KiB instead of 4 MiB).
    pub fn full() -> Overwrite {
        let file_bytes = 256 << 10;
        let defaults = Options::default();
        let scale = (defaults.memtable_bytes / file_bytes) as u64;
        Overwrite {
            keys: 200_000,
            rounds: 10,
            opts: Options {
                memtable_bytes: file_bytes,
                target_file_bytes: file_bytes as u64,
                level1_bytes: 1 << 20,
                level_size_ratio: 10,
                soft_pending_compaction_bytes: defaults.soft_pending_compaction_bytes / scale,
                hard_pending_compaction_bytes: defaults.hard_pending_compaction_bytes / scale,
                ..defaults
            },
        }
    }

    pub fn key(&self, i: usize) -> Vec<u8> {
        key(i)
    }

    /// 100 bytes naming the round and the key, so every round's value is different.
    pub fn value(&self, i: usize, round: usize) -> Vec<u8> {
        let mut v = format!("{round:02}/{i:08}/").into_bytes();
        v.resize(OVERWRITE_VALUE_LEN, b'a' + ((i * 7 + round) % 26) as u8);
        v
    }

    /// Key and value bytes of the live entries once every round is written.
    pub fn live_bytes(&self) -> u64 {
        (self.keys * (key(0).len() + OVERWRITE_VALUE_LEN)) as u64
    }

    /// The order in which `round` writes the keys (a permutation, the same on every run).
    pub fn order(&self, round: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.keys).collect();
        XorShift::new(round as u64 + 1).shuffle(&mut order);
        order
    }
}

//! Database options and their validation.
//!
//! Setters never fail; [`Options::validate`] (called by `Db::open`) rejects bad values with a
//! message naming the option, as the C API promises.

use crate::env::{FileSystem, PosixFs};
use crate::{Error, Result};
use std::sync::Arc;

/// Largest accepted `memtable_bytes` (1 GiB).
pub const MAX_MEMTABLE_BYTES: usize = 1 << 30;
/// Largest accepted `block_bytes` (4 MiB).
pub const MAX_BLOCK_BYTES: usize = 4 << 20;
/// Largest accepted `bloom_bits_per_key`.
pub const MAX_BLOOM_BITS_PER_KEY: u32 = 64;
/// Largest accepted L0 trigger (`l0_compaction_trigger`, `l0_slowdown_trigger`,
/// `l0_stop_trigger`): far past any useful setting, so that "never" can be asked for.
pub const MAX_L0_TRIGGER: usize = 1_000_000;
/// Memtables smaller than this are rounded up: a flush per handful of writes helps nobody.
pub(crate) const MIN_EFFECTIVE_MEMTABLE_BYTES: usize = 16 * 1024;

/// How a database is opened and tuned.
#[derive(Debug, Clone)]
pub struct Options {
    /// Create the database when the directory holds none. Default true.
    pub create_if_missing: bool,
    /// Fail when a database already exists. Default false.
    pub error_if_exists: bool,
    /// fsync the WAL before each write returns. Default false.
    pub sync_writes: bool,
    /// Open an existing database without changing any of its files: the WALs are replayed
    /// into memory only, no file is created, renamed or deleted, no background work runs,
    /// and writes, `flush`, `compact` and `sync` fail with [`crate::Error::ReadOnly`]. The
    /// directory's `LOCK` is still taken, so a read-only open and a writer never overlap.
    /// `create_if_missing` is ignored; `error_if_exists` may not be set with it. Default
    /// false.
    pub read_only: bool,
    /// Size at which the memtable is frozen and flushed. Default 4 MiB.
    pub memtable_bytes: usize,
    /// Target size of sstable data blocks. Default 4096.
    pub block_bytes: usize,
    /// Bloom filter bits per key; 0 builds no filter. Default 10.
    pub bloom_bits_per_key: u32,
    /// Capacity of the shared block cache; 0 disables it. Default 8 MiB. Tables on a file
    /// system that maps files (the real one) are read through their map and keep verified
    /// blocks without copying them, so the cache serves the others (as LevelDB's cache
    /// holds no blocks of its memory-mapped tables).
    pub block_cache_bytes: usize,
    /// L0 files that trigger a compaction into the base level: 1 to [`MAX_L0_TRIGGER`].
    /// Default 4.
    pub l0_compaction_trigger: usize,
    /// L0 files at which each write is delayed by about a millisecond: from
    /// `l0_compaction_trigger` to [`MAX_L0_TRIGGER`]. Default 8.
    pub l0_slowdown_trigger: usize,
    /// L0 files at which writes wait for compaction: from `l0_slowdown_trigger` to
    /// [`MAX_L0_TRIGGER`]. Default 12.
    pub l0_stop_trigger: usize,
    /// Levels are sized from the bottom up, each `level_size_ratio` times smaller than the
    /// one below, up to the base level (where L0 compacts to): the first whose target is no
    /// more than this (nor less than a quarter of one L0 compaction). At least 1. Default
    /// 10 MiB.
    pub level1_bytes: u64,
    /// Growth factor between levels: at least 2. Default 10.
    pub level_size_ratio: u64,
    /// Compaction output files are cut at the first key boundary past this size: at least
    /// 1. Default 2 MiB.
    pub target_file_bytes: u64,
    /// A manifest larger than this is replaced by a fresh one holding one snapshot record:
    /// at least 1. Default 4 MiB.
    pub max_manifest_bytes: u64,
    /// Sstables kept open at once (file descriptor, map, index and filter in memory); the
    /// least recently used are closed past it and reopened when next read. Default 1,000
    /// (LevelDB's); at least 1.
    pub max_open_files: usize,
    /// Compaction bytes pending (how far behind compaction is: `toykv.compaction-pending`)
    /// past which writes are slowed down, the more the closer to the hard limit. 0: no
    /// slowdown. Default 256 MiB: about 16 L0 compactions' worth under the default memtable
    /// size and trigger, where a database with every level at its target has one or two
    /// (scale it with `memtable_bytes`).
    pub soft_pending_compaction_bytes: u64,
    /// Compaction bytes pending at which writes wait for compaction. 0: never. At least the
    /// soft limit when both are set. Default 1 GiB.
    pub hard_pending_compaction_bytes: u64,
    /// The file system the database lives on. Default: the real one.
    pub fs: Arc<dyn FileSystem>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create_if_missing: true,
            error_if_exists: false,
            sync_writes: false,
            read_only: false,
            memtable_bytes: 4 << 20,
            block_bytes: 4096,
            bloom_bits_per_key: 10,
            block_cache_bytes: 8 << 20,
            l0_compaction_trigger: 4,
            l0_slowdown_trigger: 8,
            l0_stop_trigger: 12,
            level1_bytes: 10 << 20,
            level_size_ratio: 10,
            target_file_bytes: 2 << 20,
            max_manifest_bytes: 4 << 20,
            max_open_files: 1000,
            soft_pending_compaction_bytes: 256 << 20,
            hard_pending_compaction_bytes: 1 << 30,
            fs: Arc::new(PosixFs),
        }
    }
}

impl Options {
    /// Checks every value; the error names the first bad option.
    pub fn validate(&self) -> Result<()> {
        check_range("memtable_bytes", self.memtable_bytes, MAX_MEMTABLE_BYTES)?;
        check_range("block_bytes", self.block_bytes, MAX_BLOCK_BYTES)?;
        let l0 = [
            ("l0_compaction_trigger", self.l0_compaction_trigger),
            ("l0_slowdown_trigger", self.l0_slowdown_trigger),
            ("l0_stop_trigger", self.l0_stop_trigger),
        ];
        for (name, value) in l0 {
            check_range(name, value, MAX_L0_TRIGGER)?;
        }
        for pair in l0.windows(2) {
            let ((lower, low), (name, value)) = (pair[0], pair[1]);
            if value < low {
                return Err(Error::invalid(format!(
                    "{name} ({value}) must be at least {lower} ({low})"
                )));
            }
        }
        for (name, value) in [
            ("level1_bytes", self.level1_bytes),
            ("target_file_bytes", self.target_file_bytes),
            ("max_manifest_bytes", self.max_manifest_bytes),
        ] {
            if value == 0 {
                return Err(Error::invalid(format!("{name} must be at least 1, got 0")));
            }
        }
        if self.max_open_files == 0 {
            return Err(Error::invalid("max_open_files must be at least 1"));
        }
        if self.level_size_ratio < 2 {
            return Err(Error::invalid(format!(
                "level_size_ratio must be at least 2, got {}",
                self.level_size_ratio
            )));
        }
        let (soft, hard) = (
            self.soft_pending_compaction_bytes,
            self.hard_pending_compaction_bytes,
        );
        if soft > 0 && hard > 0 && soft > hard {
            return Err(Error::invalid(format!(
                "soft_pending_compaction_bytes ({soft}) must be at most \
                 hard_pending_compaction_bytes ({hard}) when both are set (0 turns either off)"
            )));
        }
        if self.read_only && self.error_if_exists {
            return Err(Error::invalid(
                "read_only opens an existing database: error_if_exists cannot be set with it",
            ));
        }
        if self.bloom_bits_per_key > MAX_BLOOM_BITS_PER_KEY {
            return Err(Error::invalid(format!(
                "bloom_bits_per_key must be at most {MAX_BLOOM_BITS_PER_KEY}, got {}",
                self.bloom_bits_per_key
            )));
        }
        Ok(())
    }

    /// How sstables are built under these options.
    pub(crate) fn table_options(&self) -> crate::sstable::TableOptions {
        crate::sstable::TableOptions {
            block_bytes: self.block_bytes,
            bloom_bits_per_key: self.bloom_bits_per_key,
            ..crate::sstable::TableOptions::default()
        }
    }

    /// The flush threshold actually used (tiny values are rounded up).
    pub(crate) fn effective_memtable_bytes(&self) -> usize {
        self.memtable_bytes.max(MIN_EFFECTIVE_MEMTABLE_BYTES)
    }

    /// Bytes the WAL reserves ahead of its appends (`Wal::preallocating`): with
    /// `sync_writes` only, where it makes each write's fsync cheaper; a memtable's worth at
    /// most (a WAL ends at a memtable switch), and 1 MiB, so that an idle database holds
    /// little reserved space.
    pub(crate) fn wal_reserve_step(&self) -> u64 {
        match self.sync_writes {
            true => (self.effective_memtable_bytes() as u64).min(1 << 20),
            false => 0,
        }
    }
}

fn check_range(name: &str, value: usize, max: usize) -> Result<()> {
    if value == 0 || value > max {
        return Err(Error::invalid(format!(
            "{name} must be between 1 and {max}, got {value}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_sizes_are_rejected_with_the_option_named() {
        let opts = Options {
            block_bytes: 0,
            ..Options::default()
        };
        let msg = opts.validate().unwrap_err().to_string();
        assert!(msg.contains("block_bytes"), "{msg}");
        let opts = Options {
            memtable_bytes: 0,
            ..Options::default()
        };
        assert!(opts
            .validate()
            .unwrap_err()
            .to_string()
            .contains("memtable_bytes"));
        assert!(Options::default().validate().is_ok());
        let tiny = Options {
            memtable_bytes: 1,
            block_bytes: 1,
            ..Options::default()
        };
        assert!(tiny.validate().is_ok());
    }

    #[test]
    fn every_bad_tuning_option_is_named() {
        let bad: [(&str, Options); 10] = [
            (
                "l0_compaction_trigger",
                Options {
                    l0_compaction_trigger: 0,
                    ..Options::default()
                },
            ),
            (
                "l0_slowdown_trigger",
                Options {
                    l0_slowdown_trigger: 3,
                    ..Options::default()
                },
            ),
            (
                "l0_stop_trigger",
                Options {
                    l0_stop_trigger: 7,
                    ..Options::default()
                },
            ),
            (
                "l0_stop_trigger",
                Options {
                    l0_stop_trigger: MAX_L0_TRIGGER + 1,
                    ..Options::default()
                },
            ),
            (
                "level1_bytes",
                Options {
                    level1_bytes: 0,
                    ..Options::default()
                },
            ),
            (
                "level_size_ratio",
                Options {
                    level_size_ratio: 1,
                    ..Options::default()
                },
            ),
            (
                "target_file_bytes",
                Options {
                    target_file_bytes: 0,
                    ..Options::default()
                },
            ),
            (
                "max_manifest_bytes",
                Options {
                    max_manifest_bytes: 0,
                    ..Options::default()
                },
            ),
            (
                "soft_pending_compaction_bytes",
                Options {
                    soft_pending_compaction_bytes: 2,
                    hard_pending_compaction_bytes: 1,
                    ..Options::default()
                },
            ),
            (
                "l0_slowdown_trigger",
                Options {
                    l0_compaction_trigger: 9,
                    l0_stop_trigger: 20,
                    ..Options::default()
                },
            ),
        ];
        for (name, opts) in bad {
            let msg = opts.validate().unwrap_err().to_string();
            assert!(msg.contains(name), "{name}: {msg}");
        }
        let extreme = Options {
            l0_compaction_trigger: MAX_L0_TRIGGER,
            l0_slowdown_trigger: MAX_L0_TRIGGER,
            l0_stop_trigger: MAX_L0_TRIGGER,
            level1_bytes: u64::MAX,
            level_size_ratio: u64::MAX,
            target_file_bytes: u64::MAX,
            max_manifest_bytes: u64::MAX,
            soft_pending_compaction_bytes: 0,
            hard_pending_compaction_bytes: 0,
            ..Options::default()
        };
        assert!(extreme.validate().is_ok());
        let smallest = Options {
            l0_compaction_trigger: 1,
            l0_slowdown_trigger: 1,
            l0_stop_trigger: 1,
            level1_bytes: 1,
            level_size_ratio: 2,
            target_file_bytes: 1,
            max_manifest_bytes: 1,
            soft_pending_compaction_bytes: 1,
            hard_pending_compaction_bytes: 1,
            ..Options::default()
        };
        assert!(smallest.validate().is_ok());
    }
}

//! Opening a database: lock, recover the manifest, replay WALs, start fresh, clean up.
//!
//! Recovery never edits the old state in place. Replayed WAL data is written to new L0
//! sstables; then a new manifest listing every live file is written and `CURRENT` switched to
//! it atomically; only after that are the replayed WALs, the old manifest and any orphaned
//! files deleted. A crash anywhere during open leaves the previous state intact, so the next
//! open simply does the work again.
//!
//! A read-only open (`Options::read_only`) stops after the replay: the replayed writes stay
//! in the memtable, and no file or directory is created, renamed or deleted. It still takes
//! the `LOCK` (an exclusive `fcntl` lock), so it never reads files a writer is changing; only a
//! database that lacks its `LOCK` file gets one created.

use super::flush::write_table;
use super::{BgState, DbInner, Stats, SuperVersion, VersionState, WriterState};
use crate::cache::BlockCache;
use crate::env::FileSystem;
use crate::filename::{self, table_path, wal_path, FileKind, CURRENT, LOCK};
use crate::memtable::MemTable;
use crate::options::Options;
use crate::sstable::Table;
use crate::types::SeqNum;
use crate::version::manifest::{self, ManifestWriter, RecoveredManifest};
use crate::version::{inconsistent, TableCache, TableFile, Version, VersionEdit};
use crate::wal::{self, ReplayEnd, ReplayFrom, Wal};
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::Arc;

pub(super) fn open(dir: &Path, opts: Options) -> Result<Arc<DbInner>> {
    opts.validate()?;
    let fs = Arc::clone(&opts.fs);
    if opts.read_only {
        // Checked before the lock, so a directory without a database gets no LOCK either.
        if !fs.exists(&dir.join(CURRENT)) {
            return Err(no_database(dir));
        }
    } else if !fs.exists(dir) {
        if !opts.create_if_missing {
            return Err(Error::invalid(format!(
                "database {} does not exist (create_if_missing is false)",
                dir.display()
            )));
        }
        fs.create_dir_all(dir)?;
    }
    let lock = fs.lock(&dir.join(LOCK))?;

    let recovered = match manifest::read_current(&*fs, dir)? {
        Some(_) if opts.error_if_exists => {
            return Err(Error::invalid(format!(
                "database {} already exists (error_if_exists is true)",
                dir.display()
            )))
        }
        Some(number) => manifest::recover(&*fs, dir, number)?,
        None if !opts.create_if_missing || opts.read_only => return Err(no_database(dir)),
        None => RecoveredManifest {
            manifest_number: 0,
            files: Vec::new(),
            log_number: 0,
            next_file_number: 1,
            last_seq: 0,
            synced_wals: Default::default(),
        },
    };

    let cache =
        (opts.block_cache_bytes > 0).then(|| Arc::new(BlockCache::new(opts.block_cache_bytes)));
    let tables = Arc::new(TableCache::new(cache.clone(), opts.max_open_files));
    let names = fs.list(dir)?;
    let highest_number = names
        .iter()
        .filter_map(|n| match filename::parse(n)? {
            FileKind::Wal(n) | FileKind::Table(n) | FileKind::Manifest(n) => Some(n),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    let mut next_file = recovered.next_file_number.max(highest_number + 1);

    let manifest_path = dir.join(filename::manifest_name(recovered.manifest_number));
    let mut live = Vec::new();
    for (level, meta) in &recovered.files {
        let path = table_path(dir, meta.number);
        let table = Table::open(
            fs.open_random(&path)?,
            path.clone(),
            meta.number,
            cache.clone(),
        )?;
        let file = TableFile::new(
            meta.clone(),
            Arc::new(table),
            Arc::clone(&fs),
            path,
            &tables,
        );
        live.push((*level, file));
    }
    let mut version = Version::default()
        .apply(&[], live)
        .map_err(|reason| inconsistent(&manifest_path, reason))?;

    // Replay every WAL the manifest does not cover, oldest first, into L0 sstables.
    let mut wal_numbers: Vec<u64> = names
        .iter()
        .filter_map(|n| match filename::parse(n)? {
            FileKind::Wal(n) if n >= recovered.log_number => Some(n),
            _ => None,
        })
        .collect();
    wal_numbers.sort_unstable();
    let mut last_seq = recovered.last_seq;
    let mut mem = MemTable::new(0);
    let limit = opts.effective_memtable_bytes();
    let mut recovery = RecoveryStats::default();
    // Sequence numbers run on without a hole from the sstables through every WAL: the first
    // batch of WAL `log_number` follows `last_seq`, each batch the one before.
    let mut next_seq = recovered.last_seq + 1;
    for &number in &wal_numbers {
        let path = wal_path(dir, number);
        if recovery.stopped.is_some() {
            // Point in time: nothing after the first hole is a prefix of what was written.
            recovery.dropped_bytes += fs.open_random(&path)?.len();
            continue;
        }
        let from = ReplayFrom {
            next_seq: Some(next_seq),
            lenient_start: recovery.records == 0,
            synced_len: recovered.synced_wals.get(&number).copied(),
        };
        let replayed = wal::replay(&*fs, &path, from, |first_seq, ops| {
            for (seq, op) in (first_seq..).zip(ops) {
                mem.insert(op.key, seq, op.kind, op.value);
                last_seq = last_seq.max(seq);
                // A full memtable is written out even in the middle of a batch, so replay
                // needs no more memory than a memtable however large the batch: every file
                // written here becomes live at once, with the new manifest below. A
                // read-only open keeps everything in memory instead.
                if !opts.read_only && mem.memory_usage() >= limit {
                    let file = write_table(&fs, dir, &opts, &tables, &mem, next_file)?;
                    next_file += 1;
                    version = add_l0(&version, file, &manifest_path)?;
                    mem = MemTable::new(0);
                }
            }
            Ok(())
        })?;
        recovery.records += replayed.records;
        recovery.dropped_bytes += replayed.dropped_bytes();
        if replayed.records > 0 {
            next_seq = replayed.last_seq + 1;
        }
        if let ReplayEnd::Stopped { offset, reason, .. } = replayed.end {
            recovery.stopped = Some(format!(
                "{} at offset {offset}: {reason}",
                crate::filename::wal_file_name(number)
            ));
        }
    }
    let (active_mem, wal, manifest, log_number) = if opts.read_only {
        // The replayed writes are read from memory; the files stay as they are.
        (mem, None, None, recovered.log_number)
    } else {
        if !mem.is_empty() {
            let file = write_table(&fs, dir, &opts, &tables, &mem, next_file)?;
            next_file += 1;
            version = add_l0(&version, file, &manifest_path)?;
        }

        // Start fresh: a new WAL, and a new manifest that names it and every live file.
        let wal_number = next_file;
        let manifest_number = next_file + 1;
        next_file += 2;
        let wal = Wal::create(&*fs, dir, wal_number)?.preallocating(opts.wal_reserve_step());
        let edit = VersionEdit {
            log_number: Some(wal_number),
            next_file_number: Some(next_file),
            last_seq: Some(last_seq),
            ..version.snapshot_edit()
        };
        let manifest = ManifestWriter::create(&*fs, dir, manifest_number, &edit)?;
        remove_obsolete_files(&*fs, dir, &names, &version, wal_number, manifest_number);
        let active_mem = MemTable::new(wal_number);
        (active_mem, Some(wal), Some(manifest), wal_number)
    };

    let active_mem = Arc::new(active_mem);
    let pressure = super::stall::Pressure::default();
    pressure.update(&version, &opts);
    let inner = Arc::new(DbInner {
        dir: dir.to_path_buf(),
        fs,
        cache,
        tables,
        lock: Mutex::new(Some(lock)),
        current: RwLock::new(Arc::new(SuperVersion {
            mem: Arc::clone(&active_mem),
            frozen: Vec::new(),
            version: Arc::new(version),
        })),
        writer: Mutex::new(WriterState {
            wal,
            mem: active_mem,
            retired: Vec::new(),
            last_seq,
        }),
        write_queue: Default::default(),
        pipeline: Default::default(),
        fsync_latency: Default::default(),
        pressure,
        pacer: Default::default(),
        versions: Mutex::new(VersionState {
            manifest,
            log_number,
            last_seq,
        }),
        compaction: Mutex::new(()),
        compact_pointers: Mutex::new(Default::default()),
        visible_seq: crate::sync::AtomicU64::new(last_seq),
        next_file_number: AtomicU64::new(next_file),
        bg: Mutex::new(BgState::default()),
        bg_cv: Condvar::new(),
        bg_threads: Mutex::new(Vec::new()),
        failed: AtomicBool::new(false),
        failure: Mutex::new(None),
        wal_failed: AtomicBool::new(false),
        bg_errors: Mutex::new(Default::default()),
        closed: AtomicBool::new(false),
        snapshots: Mutex::new(BTreeMap::<SeqNum, usize>::new()),
        stats: Stats {
            recovered_records: AtomicU64::new(recovery.records),
            recovered_bytes_dropped: AtomicU64::new(recovery.dropped_bytes),
            recovery_stopped: Mutex::new(recovery.stopped),
            ..Stats::default()
        },
        opts,
        #[cfg(test)]
        test_hooks: Default::default(),
    });
    // A read-only database has nothing to flush and must not compact.
    if inner.opts.read_only {
        return Ok(inner);
    }
    if let Err(e) = inner.start_background_threads() {
        let _ = inner.close();
        return Err(e);
    }
    Ok(inner)
}

/// What replaying the WALs found, for `toykv.stats`.
#[derive(Debug, Default)]
struct RecoveryStats {
    records: u64,
    /// Bytes not replayed: a torn or damaged tail, and every WAL after a hole.
    dropped_bytes: u64,
    /// Where point-in-time recovery stopped, and why.
    stopped: Option<String>,
}

fn no_database(dir: &Path) -> Error {
    Error::invalid(format!(
        "{} holds no database (create_if_missing is false, or the open is read-only)",
        dir.display()
    ))
}

fn add_l0(version: &Version, file: Arc<TableFile>, manifest: &Path) -> Result<Version> {
    version
        .apply(&[], vec![(0, file)])
        .map_err(|reason| inconsistent(manifest, reason))
}

/// Deletes what the new manifest does not need: replayed WALs, old manifests, sstables no
/// version names (left by an interrupted flush or open), temp files. Failures are ignored:
/// the next open tries again.
fn remove_obsolete_files(
    fs: &dyn FileSystem,
    dir: &Path,
    names: &[String],
    version: &Version,
    wal_number: u64,
    manifest_number: u64,
) {
    let live: HashSet<u64> = version.all_files().map(|(_, f)| f.meta.number).collect();
    for name in names {
        let obsolete = match filename::parse(name) {
            Some(FileKind::Wal(n)) => n < wal_number,
            Some(FileKind::Manifest(n)) => n != manifest_number,
            Some(FileKind::Table(n)) => !live.contains(&n),
            Some(FileKind::Temp) => true,
            Some(FileKind::Current | FileKind::Lock) | None => false,
        };
        if obsolete {
            let _ = fs.remove(&dir.join(name));
        }
    }
    let _ = fs.sync_dir(dir);
}

/// Deletes a closed database: its files, its lock file, and the directory if then empty.
pub(super) fn destroy(fs: &dyn FileSystem, dir: &Path) -> Result<()> {
    if !fs.exists(dir) {
        return Ok(());
    }
    let lock_path = dir.join(LOCK);
    let lock = fs.lock(&lock_path)?;
    for name in fs.list(dir)? {
        match filename::parse(&name) {
            Some(FileKind::Lock) | None => {}
            Some(_) => fs.remove(&dir.join(&name))?,
        }
    }
    drop(lock);
    fs.remove(&lock_path)?;
    // Foreign files keep the directory; that is the caller's business.
    if fs.list(dir)?.is_empty() {
        fs.remove_dir(dir)?;
    }
    Ok(())
}

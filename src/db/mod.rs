//! The database: the shared state behind a [`Db`] handle and the operations on it.
//!
//! Who owns what:
//! - `current` (read-write lock, held for a pointer copy only) is the [`SuperVersion`]
//!   readers start from: the active memtable, frozen memtables and the sstable version.
//! - `writer` (mutex) serialises writes: WAL append, memtable insert, memtable switch.
//! - `versions` (mutex) serialises changes to the sstable version and the manifest; the
//!   background thread takes it to install a flush.
//! - `bg` (mutex + condvar) wakes the background thread and the writers waiting on it.
//!
//! Lock order: `writer` -> `versions` -> `current` -> `bg`. Readers take only `current`,
//! briefly, so they never wait for writers, flushes or compactions.

mod checkpoint;
mod flush;
mod open;
mod pipeline;
mod properties;
mod stall;
mod write;
mod write_queue;

pub use checkpoint::{CheckpointOptions, CheckpointStats};

use crate::batch::WriteBatch;
use crate::cache::BlockCache;
use crate::cursor::Cursor;
use crate::env::{FileLock, FileSystem};
use crate::hash::key_hash;
use crate::iterators::merge::MergeIterator;
use crate::iterators::user_iter::UserIterator;
use crate::iterators::ScanSource;
use crate::memtable::MemTable;
use crate::options::Options;
use crate::snapshot::Snapshot;
use crate::types::{check_key, SeqNum, ValueKind};
use crate::version::manifest::ManifestWriter;
use crate::version::{TableCache, Version, VersionEdit, NUM_LEVELS};
use crate::wal::Wal;
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex, RwLock};
use std::collections::BTreeMap;
use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Frozen memtables allowed to wait for flushing before writers stall.
const MAX_FROZEN_MEMTABLES: usize = 2;

/// Everything a read needs, captured at one moment.
#[derive(Debug)]
pub(crate) struct SuperVersion {
    pub mem: Arc<MemTable>,
    /// Frozen memtables, newest first.
    pub frozen: Vec<Arc<MemTable>>,
    pub version: Arc<Version>,
}

impl SuperVersion {
    /// The newest version of `key` visible at `snapshot`: memtables, then sstables.
    pub(crate) fn get(&self, key: &[u8], snapshot: SeqNum) -> Result<Option<Vec<u8>>> {
        let in_memory = std::iter::once(&self.mem)
            .chain(self.frozen.iter())
            .find_map(|mem| mem.get(key, snapshot));
        let found = match in_memory {
            Some(found) => Some(found),
            None => self.version.get(key, key_hash(key), snapshot)?,
        };
        Ok(match found {
            Some((_, ValueKind::Put, value)) => Some(value),
            Some((_, ValueKind::Delete, _)) | None => None,
        })
    }

    /// A cursor over `[start, end)` at `snapshot`.
    pub(crate) fn scan(
        &self,
        snapshot: SeqNum,
        start: Option<Vec<u8>>,
        end: Option<Vec<u8>>,
    ) -> UserIterator<MergeIterator<ScanSource>> {
        let mut children = Vec::with_capacity(1 + self.frozen.len() + NUM_LEVELS);
        for mem in std::iter::once(&self.mem).chain(self.frozen.iter()) {
            children.push(ScanSource::Mem(mem.iter()));
        }
        self.version.iterators(&mut children);
        UserIterator::new(MergeIterator::new(children), snapshot, start, end)
    }
}

/// The writer's state: the active WAL and memtable, and the last sequence number handed
/// out.
#[derive(Debug)]
pub(crate) struct WriterState {
    /// `None` in a read-only database, which has no WAL of its own.
    pub wal: Option<Wal>,
    /// The active memtable (also `current.mem`; only the writer lock's holder replaces it).
    pub mem: Arc<MemTable>,
    /// WALs of frozen memtables that may hold unsynced writes; `sync` fsyncs them too.
    pub retired: Vec<Wal>,
    pub last_seq: SeqNum,
}

impl WriterState {
    /// The active WAL. REQUIRES: the database is writable (the entry points check first).
    pub(crate) fn wal(&mut self) -> Result<&mut Wal> {
        self.wal
            .as_mut()
            .ok_or_else(|| Error::invalid("internal: a read-only database has no WAL"))
    }
}

/// The version lock's state: the manifest being appended to.
#[derive(Debug)]
pub(crate) struct VersionState {
    /// `None` in a read-only database, which never writes a manifest.
    pub manifest: Option<ManifestWriter>,
    /// The last log number recorded: WALs below it are fully in sstables.
    pub log_number: u64,
    /// The last sequence number recorded: the highest in any sstable.
    pub last_seq: SeqNum,
}

impl VersionState {
    /// The live manifest. REQUIRES: the database is writable (the entry points check first).
    pub(crate) fn manifest(&mut self) -> Result<&mut ManifestWriter> {
        self.manifest
            .as_mut()
            .ok_or_else(|| Error::invalid("internal: a read-only database has no manifest"))
    }
}

/// What wakes the background thread.
#[derive(Debug, Default)]
pub(crate) struct BgState {
    pub shutting_down: bool,
}

/// Running totals for `toykv.stats`.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub user_bytes_written: AtomicU64,
    /// Writes (batches) committed, and the groups they were committed in.
    pub writes: AtomicU64,
    pub write_groups: AtomicU64,
    /// Groups appended while an earlier group's fsync was still running.
    pub write_groups_overlapped: AtomicU64,
    pub flushes: AtomicU64,
    pub flush_bytes_written: AtomicU64,
    pub compactions: AtomicU64,
    pub compaction_bytes_written: AtomicU64,
    /// Compaction output bytes by the level they were written to.
    pub compaction_bytes_by_level: [AtomicU64; crate::version::NUM_LEVELS],
    /// Files moved down a level without being rewritten, and their bytes.
    pub files_moved: AtomicU64,
    pub bytes_moved: AtomicU64,
    /// Writes slowed down or stopped, by cause.
    pub stalls: stall::StallStats,
    /// WAL records replayed by the last open, and the bytes it did not replay.
    pub recovered_records: AtomicU64,
    pub recovered_bytes_dropped: AtomicU64,
    /// Where the last open's point-in-time recovery stopped short of the WALs' end.
    pub recovery_stopped: Mutex<Option<String>>,
}

/// The last failure of each kind of background work, and how often each failed.
#[derive(Debug, Default)]
pub(crate) struct BackgroundErrors {
    /// Set by a failed flush, cleared by the next one that succeeds.
    pub flush: Option<Error>,
    /// Set by a failed compaction, cleared by the next one that succeeds.
    pub compaction: Option<Error>,
    pub flush_failures: u64,
    pub compaction_failures: u64,
    /// Sstables a compaction found corrupt: no compaction reads them again.
    pub corrupt_files: Vec<u64>,
}

/// The shared state of one open database.
pub(crate) struct DbInner {
    pub dir: PathBuf,
    pub opts: Options,
    pub fs: Arc<dyn FileSystem>,
    pub cache: Option<Arc<BlockCache>>,
    /// Which sstables are open, at most `max_open_files` of them.
    pub tables: Arc<TableCache>,
    lock: Mutex<Option<Box<dyn FileLock>>>,
    current: RwLock<Arc<SuperVersion>>,
    pub(crate) writer: Mutex<WriterState>,
    write_queue: write_queue::WriteQueue,
    /// Write groups whose fsyncs are in flight (with `sync_writes`), completed in order.
    pipeline: pipeline::SyncPipeline,
    /// How long WAL fsyncs take: how many groups `pipeline` may hold.
    fsync_latency: pipeline::FsyncLatency,
    /// The current version's L0 files and pending compaction bytes, for the write path's
    /// checks (which do not take `current`); updated whenever a version is installed.
    pressure: stall::Pressure,
    /// Paces writes while compaction is behind.
    pacer: stall::WritePacer,
    pub(crate) versions: Mutex<VersionState>,
    /// Held for the whole of a compaction: one runs at a time.
    pub(crate) compaction: Mutex<()>,
    /// Where each level's round-robin compaction left off.
    pub(crate) compact_pointers: Mutex<crate::compaction::policy::CompactPointers>,
    /// Highest sequence number whose write is fully applied: the default read snapshot.
    visible_seq: crate::sync::AtomicU64,
    next_file_number: AtomicU64,
    bg: Mutex<BgState>,
    bg_cv: Condvar,
    bg_threads: Mutex<Vec<JoinHandle<()>>>,
    /// Set by a failed write or fsync of the WAL or the manifest (the state on disk is then
    /// unknown): writes, flushes and compactions stop until reopen.
    failed: AtomicBool,
    failure: Mutex<Option<Error>>,
    /// Set when the WAL itself failed: `sync` and `close` can no longer promise that
    /// acknowledged writes are durable. Other failures leave the WALs to be fsynced.
    wal_failed: AtomicBool,
    /// Failures of background flushes and compactions: reported in `toykv.stats` and to
    /// writers that would have to wait for the failing work, retried, never sticky.
    pub(crate) bg_errors: Mutex<BackgroundErrors>,
    closed: AtomicBool,
    /// Sequence numbers pinned by open snapshots, with counts.
    snapshots: Mutex<BTreeMap<SeqNum, usize>>,
    pub stats: Stats,
    #[cfg(test)]
    pub(crate) test_hooks: tests::Hooks,
}

impl std::fmt::Debug for DbInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbInner").field("dir", &self.dir).finish()
    }
}

impl DbInner {
    /// Starts the flush and compaction threads.
    pub(crate) fn start_background_threads(self: &Arc<Self>) -> Result<()> {
        type Job = fn(Arc<DbInner>);
        let jobs: [(&str, Job); 2] = [
            ("toykv-flush", DbInner::flush_loop),
            ("toykv-compaction", DbInner::compaction_loop),
        ];
        for (name, job) in jobs {
            let db = Arc::clone(self);
            let handle = std::thread::Builder::new()
                .name(name.into())
                .spawn(move || job(db))
                .map_err(|e| Error::io("spawn a background thread for", &self.dir, e))?;
            self.bg_threads.lock().push(handle);
        }
        Ok(())
    }

    pub(crate) fn current(&self) -> Arc<SuperVersion> {
        Arc::clone(&self.current.read())
    }

    /// The sequence number and super version a read starts from, taken as one step: while
    /// the `current` read lock is held no memtable switch and no version install can happen,
    /// so every write at or below `seq` is in the super version's memtables or files, and any
    /// version a compaction dropped from them was shadowed by one at or below `seq` (the
    /// compaction saw that one as visible before it dropped anything). Taking the two apart
    /// let a newer write, its flush and a compaction slip in between, leaving a reader at an
    /// old `seq` that sees neither version of a key.
    pub(crate) fn read_view(&self) -> (SeqNum, Arc<SuperVersion>) {
        let current = self.current.read();
        let seq = self.visible_seq.load(Ordering::Acquire);
        (seq, Arc::clone(&current))
    }

    pub(crate) fn new_file_number(&self) -> u64 {
        self.next_file_number.fetch_add(1, Ordering::Relaxed)
    }

    /// The next file number to be handed out (what a manifest edit records).
    pub(crate) fn next_file_number(&self) -> u64 {
        self.next_file_number.load(Ordering::Relaxed)
    }

    /// Installs a new sstable version built from the current one, keeping the memtables.
    /// REQUIRES: the `versions` lock is held and the change is durable in the manifest.
    pub(crate) fn replace_version(
        &self,
        build: impl FnOnce(&Version) -> Result<Version>,
    ) -> Result<()> {
        let mut slot = self.current.write();
        let version = build(&slot.version)?;
        self.note_installed(&version);
        *slot = Arc::new(SuperVersion {
            mem: Arc::clone(&slot.mem),
            frozen: slot.frozen.clone(),
            version: Arc::new(version),
        });
        Ok(())
    }

    /// Keeps the write path's view of the version's shape current. REQUIRES: called under
    /// the `current` write lock, with the version being installed.
    pub(crate) fn note_installed(&self, version: &Version) {
        self.pressure.update(version, &self.opts);
    }

    /// Appends `edit` to the manifest (fsynced). Any failure makes the database refuse
    /// writes: the edit may or may not be durable. REQUIRES: the `versions` lock is held.
    pub(crate) fn log_edit(&self, vs: &mut VersionState, edit: &VersionEdit) -> Result<()> {
        vs.manifest()?.append(edit).map_err(|e| self.fail(e))?;
        if let Some(log_number) = edit.log_number {
            vs.log_number = log_number;
        }
        if let Some(last_seq) = edit.last_seq {
            vs.last_seq = last_seq;
        }
        Ok(())
    }

    /// Replaces a manifest grown past `max_manifest_bytes` with a new one whose single
    /// record describes the current version, so the manifest does not grow without bound
    /// between opens. Called once the version holding the last edit is installed.
    /// REQUIRES: the `versions` lock is held (`vs`).
    pub(crate) fn maybe_roll_manifest(&self, vs: &mut VersionState) -> Result<()> {
        if vs.manifest()?.size() < self.opts.max_manifest_bytes {
            return Ok(());
        }
        let number = self.new_file_number();
        let snapshot = VersionEdit {
            log_number: Some(vs.log_number),
            next_file_number: Some(self.next_file_number()),
            last_seq: Some(vs.last_seq),
            ..self.current().version.snapshot_edit()
        };
        let fresh = ManifestWriter::create(&*self.fs, &self.dir, number, &snapshot)
            .map_err(|e| self.fail(e))?;
        let old = std::mem::replace(vs.manifest()?, fresh);
        // CURRENT names the new manifest; the old one is garbage (the next open would
        // remove it anyway).
        let _ = self.fs.remove(old.path());
        Ok(())
    }

    /// The oldest sequence number any reader may still read at: the oldest pinned snapshot
    /// or cursor, or the current sequence number when none is open.
    ///
    /// Computed under the `snapshots` lock, as [`DbInner::pin_snapshot`] pins: a snapshot is
    /// either pinned before this runs (and counted), or takes its sequence number after it
    /// (and so at or above the value returned).
    pub(crate) fn oldest_snapshot(&self) -> SeqNum {
        let snapshots = self.snapshots.lock();
        let visible = self.visible_seq.load(Ordering::Acquire);
        snapshots
            .keys()
            .next()
            .copied()
            .map_or(visible, |oldest| oldest.min(visible))
    }

    pub(crate) fn check_open(&self) -> Result<()> {
        if self.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        Ok(())
    }

    /// Fails with `ReadOnly` naming `op` when the database was opened read-only.
    pub(crate) fn check_writable(&self, op: &'static str) -> Result<()> {
        if self.opts.read_only {
            return Err(Error::ReadOnly {
                op,
                dir: self.dir.clone(),
            });
        }
        Ok(())
    }

    /// Fails when an earlier error made the database stop accepting writes.
    pub(crate) fn check_failed(&self) -> Result<()> {
        if !self.failed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.poisoned()
    }

    /// Fails when the WAL failed, so that writes acknowledged earlier cannot be made durable.
    fn check_wal_failed(&self) -> Result<()> {
        if !self.wal_failed.load(Ordering::Acquire) {
            return Ok(());
        }
        self.poisoned()
    }

    fn poisoned(&self) -> Result<()> {
        match &*self.failure.lock() {
            Some(e) => Err(Error::Poisoned(Box::new(e.duplicate()))),
            None => Ok(()),
        }
    }

    /// Records `error`, a failed write or fsync of the manifest or a failed switch to a new
    /// WAL, as the database's sticky failure (the first one wins) and returns it. Writes,
    /// flushes and compactions stop until reopen; the WALs stay intact and `sync`/`close`
    /// still fsync them (see doc/RELIABILITY.md).
    pub(crate) fn fail(&self, error: Error) -> Error {
        let mut failure = self.failure.lock();
        if failure.is_none() {
            *failure = Some(error.duplicate());
        }
        self.failed.store(true, Ordering::Release);
        drop(failure);
        self.wake_all();
        error
    }

    /// As [`DbInner::fail`], for a failed write or fsync of the WAL itself: acknowledged
    /// writes may be lost, so `sync` and `close` report it from now on.
    pub(crate) fn fail_wal(&self, error: Error) -> Error {
        self.wal_failed.store(true, Ordering::Release);
        self.fail(error)
    }

    fn wake_all(&self) {
        let _bg = self.bg.lock();
        self.bg_cv.notify_all();
    }

    /// Takes a read view (see [`DbInner::read_view`]) and pins its sequence number against
    /// compaction, atomically with respect to [`DbInner::oldest_snapshot`].
    /// Lock order: `snapshots` -> `current`.
    pub(crate) fn pin_snapshot(&self) -> (SeqNum, Arc<SuperVersion>) {
        let pinned = {
            let mut snapshots = self.snapshots.lock();
            let (seq, sv) = self.read_view();
            *snapshots.entry(seq).or_insert(0) += 1;
            (seq, sv)
        };
        #[cfg(test)]
        self.test_hooks.pause(tests::PausePoint::AfterReadView);
        pinned
    }

    /// Pins `seq` once more for a cursor opened from an existing snapshot.
    pub(crate) fn pin_existing(
        &self,
        seq: SeqNum,
        sv: &Arc<SuperVersion>,
    ) -> (SeqNum, Arc<SuperVersion>) {
        *self.snapshots.lock().entry(seq).or_insert(0) += 1;
        (seq, Arc::clone(sv))
    }

    pub(crate) fn unpin_snapshot(&self, seq: SeqNum) {
        let mut snapshots = self.snapshots.lock();
        if let Some(count) = snapshots.get_mut(&seq) {
            *count -= 1;
            if *count == 0 {
                snapshots.remove(&seq);
            }
        }
    }
}

/// An open database. Share it between threads by reference or inside an `Arc`.
///
/// Dropping the handle closes the database (ignoring errors); call [`Db::close`] to see them.
#[derive(Debug)]
pub struct Db {
    inner: Arc<DbInner>,
}

impl Db {
    /// Opens (or creates, with `create_if_missing`) the database in directory `path`,
    /// replaying any WAL left by an earlier run.
    ///
    /// # Errors
    /// `InvalidArgument` for a bad option, a missing database without `create_if_missing`,
    /// or an existing one with `error_if_exists`; `Locked` when the directory is already
    /// open; `Io` and `Corruption` (naming the file) from recovery.
    pub fn open(path: impl AsRef<Path>, opts: Options) -> Result<Db> {
        let inner = open::open(path.as_ref(), opts)?;
        Ok(Db { inner })
    }

    /// Deletes the files of a closed database and its directory (when empty).
    ///
    /// # Errors
    /// `Locked` while the database is open; `Io` when a file cannot be removed.
    pub fn destroy(path: impl AsRef<Path>) -> Result<()> {
        open::destroy(&*Options::default().fs, path.as_ref())
    }

    /// Sets `key` to `value`.
    pub fn put(&self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(key, value)?;
        self.write(&batch)
    }

    /// Deletes `key` (a no-op when absent).
    pub fn delete(&self, key: &[u8]) -> Result<()> {
        let mut batch = WriteBatch::new();
        batch.delete(key)?;
        self.write(&batch)
    }

    /// Applies every operation of `batch` atomically, also across a crash.
    ///
    /// # Errors
    /// `Closed` after close; `Poisoned` after an earlier write-path failure; `Io` when the
    /// WAL cannot be written (the database then stops accepting writes until reopened).
    pub fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.inner.write(batch)
    }

    /// The value of `key`, or `None` when absent or deleted.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.check_open()?;
        check_key(key)?;
        let (seq, sv) = self.inner.read_view();
        #[cfg(test)]
        self.inner
            .test_hooks
            .pause(tests::PausePoint::AfterReadView);
        sv.get(key, seq)
    }

    /// A cursor over the live entries of `range` in key order, reading a consistent
    /// snapshot taken now.
    pub fn scan<K: AsRef<[u8]>, R: RangeBounds<K>>(&self, range: R) -> Result<Cursor> {
        let (start, end) = half_open(range);
        self.scan_bounds(start.as_deref(), end.as_deref())
    }

    /// A cursor over `[start, end)`; `None` is unbounded. Bounds are copied.
    pub fn scan_bounds(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Cursor> {
        self.inner.check_open()?;
        let (seq, sv) = self.inner.pin_snapshot();
        Ok(Cursor::new(Arc::clone(&self.inner), seq, sv, start, end))
    }

    /// A read-only view of the database as it is now, for as long as it is kept.
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.inner.check_open()?;
        let (seq, sv) = self.inner.pin_snapshot();
        Ok(Snapshot::new(Arc::clone(&self.inner), seq, sv))
    }

    /// Makes every write that returned before durable (fsyncs the WALs).
    ///
    /// # Errors
    /// `Closed`; `Io` from the fsync; `Poisoned` once a failure of the WAL itself made
    /// earlier writes' durability unknown. Other failures (a manifest write, a flush or a
    /// compaction) do not stop `sync`.
    pub fn sync(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.check_writable("sync")?;
        self.inner.sync_wal()
    }

    /// Writes the memtable to an sstable and waits until it is installed.
    pub fn flush(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.check_writable("flush")?;
        self.inner.flush_and_wait()
    }

    /// Full compaction: flushes, then rewrites every sstable into one sorted run, dropping
    /// overwritten and deleted data that no snapshot or cursor can still see. Returns when
    /// done.
    pub fn compact(&self) -> Result<()> {
        self.inner.check_open()?;
        self.inner.check_writable("compact")?;
        self.inner.check_failed()?;
        crate::compaction::compact_all(&self.inner)?;
        self.inner.stats.compactions.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// A named property: `toykv.stats`, `toykv.sstables`, `toykv.num-files-at-level<N>`,
    /// `toykv.compaction-pending` (the bytes flushes and compactions must still write to
    /// catch up; `0` exactly when none is due, as when it was a `0`/`1` flag).
    ///
    /// # Errors
    /// `InvalidArgument` for an unknown name.
    pub fn property(&self, name: &str) -> Result<String> {
        self.inner.check_open()?;
        properties::property(&self.inner, name)
    }

    /// Makes every acknowledged write durable, stops background work and releases the
    /// directory. Later calls on this handle (and its cursors and snapshots) fail with
    /// `Closed`. Closing twice is a no-op.
    ///
    /// # Errors
    /// `Io` when the final WAL fsync fails, and `Poisoned` when an earlier failure of the
    /// WAL itself did: in both cases some acknowledged writes may not be durable. The
    /// database is closed and its directory released all the same.
    pub fn close(&self) -> Result<()> {
        self.inner.close()
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = self.inner.close();
    }
}

impl DbInner {
    fn close(&self) -> Result<()> {
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        // The background threads stop at their next look at the flag (`wait_for_work`),
        // so a writer stalled for their work, holding the writer lock this needs, must not
        // count on them to wake it: wake it here, to find the database closed.
        self.wake_all();
        // Writes that got in before the flag finish before this lock is ours. A database
        // whose WAL failed cannot promise durability: say so instead of syncing.
        let synced = {
            let mut writer = self.writer.lock();
            let finished = self.finish_active_wal(&mut writer);
            finished
                .and_then(|()| self.sync_all_wals(&mut writer))
                .map(|()| {
                    let live: Vec<u64> = std::iter::once(&self.current().mem)
                        .chain(self.current().frozen.iter())
                        .map(|m| m.wal_number())
                        .collect();
                    writer
                        .wal
                        .iter()
                        .chain(writer.retired.iter())
                        .filter(|wal| live.contains(&wal.number()))
                        .map(|wal| (wal.number(), wal.len()))
                        .collect::<Vec<_>>()
                })
        };
        {
            let mut bg = self.bg.lock();
            bg.shutting_down = true;
            self.bg_cv.notify_all();
        }
        let threads: Vec<JoinHandle<()>> = self.bg_threads.lock().drain(..).collect();
        for handle in threads {
            let _ = handle.join();
        }
        // A compaction on a caller's thread (`Db::compact`) may be about to append to the
        // manifest or delete its inputs: the directory is given up only after it finished or
        // gave up (it checks the closed flag while merging and before installing). Flushes
        // on callers' threads only switch memtables, under the writer lock, after checking
        // the closed flag.
        let _no_compaction = self.compaction.lock();
        let mut versions = self.versions.lock();
        // A clean close: the manifest records each live WAL's fsynced length, so that the
        // next open treats damage in those bytes as corruption rather than as the point a
        // power cut cut the log short. Not after a failure (the manifest's state, or the
        // WALs', is unknown then); and a failure to record it loses nothing (the WALs are
        // durable; the next open reads them as after a crash), so it is not reported.
        let synced = synced.map(|synced_wals| {
            if self.check_failed().is_ok() && !self.opts.read_only {
                let edit = VersionEdit {
                    synced_wals,
                    ..VersionEdit::default()
                };
                let _ = self.log_edit(&mut versions, &edit);
            }
        });
        drop(versions);
        self.lock.lock().take();
        synced
    }
}

/// Converts any range of byte strings into `[start, end)` with `None` for unbounded.
/// An excluded start `s` becomes the included start `s\0` (the next key in byte order), and
/// an included end `e` becomes the excluded end `e\0`.
pub(crate) fn half_open<K: AsRef<[u8]>, R: RangeBounds<K>>(
    range: R,
) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let successor = |k: &K| {
        let mut v = k.as_ref().to_vec();
        v.push(0);
        v
    };
    let start = match range.start_bound() {
        Bound::Included(k) => Some(k.as_ref().to_vec()),
        Bound::Excluded(k) => Some(successor(k)),
        Bound::Unbounded => None,
    };
    let end = match range.end_bound() {
        Bound::Included(k) => Some(successor(k)),
        Bound::Excluded(k) => Some(k.as_ref().to_vec()),
        Bound::Unbounded => None,
    };
    (start, end)
}

#[cfg(test)]
pub(crate) mod tests {
    //! Interleavings forced through test-only pause points.

    use super::*;
    use crate::compaction::policy;
    use crate::env::FaultFs;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Where a test can make a thread pause, between two steps of the engine.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub(crate) enum PausePoint {
        /// `get` and `pin_snapshot`, once the read view is taken.
        AfterReadView,
        /// A compaction whose outputs are written, before its manifest edit.
        BeforeCompactionInstall,
        /// A checkpoint that took its read view, before it writes anything.
        CheckpointAfterReadView,
    }

    type Hook = Box<dyn FnOnce() + Send>;

    /// Pause points armed by tests; each fires once.
    #[derive(Default)]
    pub(crate) struct Hooks {
        armed: Mutex<Vec<(PausePoint, Hook)>>,
        /// Rounds of the background threads' loops: a loop that polls instead of waiting
        /// shows up here.
        pub(crate) background_rounds: AtomicU64,
    }

    impl Hooks {
        /// Runs (and disarms) the hook armed at `point`, if any.
        pub(crate) fn pause(&self, point: PausePoint) {
            let hook = {
                let mut armed = self.armed.lock();
                let at = armed.iter().position(|(p, _)| *p == point);
                at.map(|i| armed.remove(i).1)
            };
            if let Some(hook) = hook {
                hook();
            }
        }
    }

    /// Makes the next thread to reach `point` pause there: returns a receiver that hears
    /// when it paused and a sender that lets it go on.
    pub(crate) fn pause_at(db: &Db, point: PausePoint) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (paused_tx, paused_rx) = mpsc::channel();
        let (resume_tx, resume_rx) = mpsc::channel::<()>();
        db.inner.test_hooks.armed.lock().push((
            point,
            Box::new(move || {
                paused_tx.send(()).unwrap();
                resume_rx.recv().unwrap();
            }),
        ));
        (paused_rx, resume_tx)
    }

    fn pause_next_read(db: &Db) -> (mpsc::Receiver<()>, mpsc::Sender<()>) {
        pause_at(db, PausePoint::AfterReadView)
    }

    /// No background compaction: its triggers are out of reach.
    pub(crate) fn manual_options() -> Options {
        Options {
            l0_compaction_trigger: 1000,
            l0_slowdown_trigger: 1000,
            l0_stop_trigger: 1000,
            ..Options::default()
        }
    }

    /// While a reader is paused between taking its view and reading, a newer write of the
    /// key, its flush and a full compaction (which drops the older version) all complete.
    fn overwrite_flush_and_compact(db: &Db) {
        db.put(b"k", b"new").unwrap();
        db.flush().unwrap();
        db.compact().unwrap();
    }

    // Regression: `get` loaded `visible_seq` and then took `current()`; the newer write, its
    // flush and the compaction dropping the old version fit between the two, and the read
    // at the old sequence number saw neither version: NOT_FOUND for a key with a value.
    #[test]
    fn a_get_racing_an_overwrite_flush_and_compaction_still_finds_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), manual_options()).unwrap());
        db.put(b"k", b"old").unwrap();
        db.flush().unwrap();
        let (paused, resume) = pause_next_read(&db);
        let reader = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.get(b"k").unwrap())
        };
        paused.recv().unwrap();
        overwrite_flush_and_compact(&db);
        resume.send(()).unwrap();
        let got = reader.join().unwrap();
        assert!(
            got.as_deref() == Some(b"old") || got.as_deref() == Some(b"new"),
            "{got:?}"
        );
    }

    // Regression: `close` joined the background threads and released LOCK while a
    // `Db::compact` on another thread went on to append its edit to the manifest and delete
    // its inputs; a reopen in between then lost those sstables.
    #[test]
    fn close_waits_for_a_compaction_on_another_thread() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), manual_options()).unwrap());
        for round in 0..3u8 {
            for i in 0..100u8 {
                db.put(&[i], &[round]).unwrap();
            }
            db.flush().unwrap();
        }
        let (paused, resume) = pause_at(&db, PausePoint::BeforeCompactionInstall);
        let compactor = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.compact())
        };
        paused.recv().unwrap();
        let closer = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.close())
        };
        // While the compaction is paused, close must not give up the directory. (Before the
        // fix it returned at once, and the reopen below raced the compaction.)
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(300);
        while !closer.is_finished() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let closed_early = closer.is_finished();
        let reopened_early = closed_early.then(|| Db::open(dir.path(), manual_options()).unwrap());
        resume.send(()).unwrap();
        let compacted = compactor.join().unwrap();
        assert!(
            matches!(compacted, Ok(()) | Err(Error::Closed)),
            "{compacted:?}"
        );
        closer.join().unwrap().unwrap();
        assert!(
            !closed_early,
            "close returned while a compaction was running"
        );
        drop(reopened_early);
        let db = Db::open(dir.path(), manual_options()).unwrap();
        for i in 0..100u8 {
            assert_eq!(db.get(&[i]).unwrap(), Some(vec![2]), "key {i}");
        }
    }

    // Regression: the background threads stopped only once `close` had synced the WALs and
    // set `shutting_down`; in between, with compaction due, the compaction thread found the
    // database closed and at once tried again, millions of times over one slow WAL fsync.
    // Under valgrind, whose scheduler runs one thread at a time and favours the one that
    // just ran, that loop kept the closing thread from running: CI hung in test_threads.
    #[test]
    fn close_stops_the_background_threads_without_polling() {
        let fs = Arc::new(FaultFs::new());
        let dir = std::path::Path::new("/db");
        let db = Arc::new(Db::open(dir, small_memtable_options(&fs)).unwrap());
        let (paused, resume) = pause_at(&db, PausePoint::BeforeCompactionInstall);
        let mut i = 0u32;
        while paused.try_recv().is_err() {
            db.put(&i.to_be_bytes(), &[7; 100]).unwrap();
            i += 1;
        }
        // The compaction is paused before its install: L0 is still past its trigger.
        let inner = &db.inner;
        assert!(policy::most_urgent_level(&inner.current().version, &inner.opts).is_some());
        // Close spends this long syncing the WAL between setting the closed flag and
        // stopping the background threads.
        fs.set_sync_delay(Duration::from_millis(200));
        let closer = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.close())
        };
        while !inner.closed.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
        let rounds_before = inner.test_hooks.background_rounds.load(Ordering::Relaxed);
        resume.send(()).unwrap();
        closer.join().unwrap().unwrap();
        let rounds = inner.test_hooks.background_rounds.load(Ordering::Relaxed) - rounds_before;
        assert!(
            rounds <= 4,
            "{rounds} rounds of the background loops during close"
        );
        drop(db);
        let reopened = Db::open(dir, small_memtable_options(&fs)).unwrap();
        for key in [0, i / 2, i - 1] {
            assert_eq!(
                reopened.get(&key.to_be_bytes()).unwrap(),
                Some(vec![7; 100])
            );
        }
    }

    #[test]
    fn idle_background_threads_wait_instead_of_polling() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), Options::default()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.flush().unwrap();
        let rounds = || {
            db.inner
                .test_hooks
                .background_rounds
                .load(Ordering::Relaxed)
        };
        let after_flush = rounds();
        assert!(after_flush >= 1, "the flush ran on the flush thread");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(rounds(), after_flush);
    }

    fn small_memtable_options(fs: &Arc<FaultFs>) -> Options {
        Options {
            memtable_bytes: 64 << 10,
            fs: Arc::clone(fs) as Arc<dyn crate::env::FileSystem>,
            ..Options::default()
        }
    }

    #[test]
    fn a_flush_or_compaction_after_close_is_refused_and_creates_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), manual_options()).unwrap();
        db.put(b"k", b"v").unwrap();
        db.close().unwrap();
        let before: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(matches!(db.inner.flush_and_wait(), Err(Error::Closed)));
        assert!(matches!(
            crate::compaction::compact_all(&db.inner),
            Err(Error::Closed)
        ));
        let after: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(before, after);
    }

    // Regression: `pin_snapshot` loaded `visible_seq`, then `current()`, then registered the
    // pin; compaction's `oldest_snapshot` did not see the pin yet and dropped the version the
    // snapshot was about to read.
    #[test]
    fn a_snapshot_racing_an_overwrite_flush_and_compaction_reads_its_own_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), manual_options()).unwrap());
        db.put(b"k", b"old").unwrap();
        db.flush().unwrap();
        let (paused, resume) = pause_next_read(&db);
        let taker = {
            let db = Arc::clone(&db);
            std::thread::spawn(move || db.snapshot().unwrap())
        };
        paused.recv().unwrap();
        overwrite_flush_and_compact(&db);
        resume.send(()).unwrap();
        let snapshot = taker.join().unwrap();
        let seen = snapshot.get(b"k").unwrap();
        assert!(
            seen.as_deref() == Some(b"old") || seen.as_deref() == Some(b"new"),
            "{seen:?}"
        );
        // Whatever it saw, it keeps seeing, also after more compactions.
        db.put(b"k", b"newer").unwrap();
        db.compact().unwrap();
        assert_eq!(snapshot.get(b"k").unwrap(), seen);
        let scanned: Vec<_> = snapshot
            .scan::<&[u8], _>(..)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        assert_eq!(scanned, vec![(b"k".to_vec(), seen.unwrap())]);
        assert_eq!(db.get(b"k").unwrap().as_deref(), Some(&b"newer"[..]));
    }
}

//! Flush: frozen memtable -> L0 sstable, on the background thread.
//!
//! Durability order: the sstable is written and fsynced, the directory fsynced, then the
//! manifest edit naming it (and moving the WAL horizon past the memtable's WAL) is appended
//! and fsynced; only then is the new version installed and the old WAL deleted. A crash at
//! any point leaves either the WAL (replayed on open) or the sstable (named by the manifest).

use super::{DbInner, SuperVersion};
use crate::compaction::{self, policy};
use crate::env::FileSystem;
use crate::filename::{table_path, wal_path};
use crate::memtable::MemTable;
use crate::options::Options;
use crate::sstable::TableBuilder;
use crate::version::{TableCache, TableFile, VersionEdit};
use crate::{Error, Result};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Delays between retries of failing background work: doubling from 10 ms up to 1 s, so a
/// passing fault costs little and a lasting one does not spin.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn next(&mut self) -> Duration {
        let delay = Duration::from_millis(10) * 2u32.pow(self.failures.min(7));
        self.failures += 1;
        delay.min(Duration::from_secs(1))
    }

    fn reset(&mut self) {
        self.failures = 0;
    }
}

impl DbInner {
    /// The flush thread: flushes frozen memtables, oldest first, until shutdown. It holds
    /// off while L0 is at `l0_stop_trigger` (compaction drains it), so L0 never exceeds it.
    pub(crate) fn flush_loop(self: Arc<Self>) {
        let ready = |db: &DbInner| {
            let sv = db.current();
            !sv.frozen.is_empty() && sv.version.files(0).len() < db.opts.l0_stop_trigger
        };
        let mut backoff = Backoff::default();
        while self.wait_for_work(ready) {
            match self.flush_oldest() {
                Ok(()) => {
                    self.bg_errors.lock().flush = None;
                    backoff.reset();
                }
                // A failed manifest edit already stopped writes (`log_edit`). Any other
                // failure (writing the sstable) lost nothing: the memtable stays frozen, its
                // WAL stays, writers that must wait for it get the error, and it is retried.
                Err(e) => {
                    let mut errors = self.bg_errors.lock();
                    errors.flush = Some(e);
                    errors.flush_failures += 1;
                    drop(errors);
                    self.wake_all();
                    self.pause_unless_shutting_down(backoff.next());
                }
            }
            self.wake_all();
        }
    }

    /// The compaction thread: runs the leveled policy's tasks until shutdown.
    pub(crate) fn compaction_loop(self: Arc<Self>) {
        let needed =
            |db: &DbInner| policy::most_urgent_level(&db.current().version, &db.opts).is_some();
        let mut backoff = Backoff::default();
        while self.wait_for_work(needed) {
            match compaction::run_background(&self) {
                Ok(compaction::Outcome::Ran) => {
                    self.bg_errors.lock().compaction = None;
                    backoff.reset();
                }
                // Closing: the loop ends below (`wait_for_work`) without another try.
                Err(Error::Closed) => {}
                // The task needs a file found corrupt: try again later (another task may be
                // picked by then), without spinning. Nothing to pick although a level is
                // due should not happen; if it did, it too must not spin.
                Ok(compaction::Outcome::Blocked | compaction::Outcome::Idle) => {
                    self.pause_unless_shutting_down(backoff.next());
                }
                // Nothing was installed and nothing lost (a failed manifest edit already
                // stopped writes); writers stalled on L0 get the error; retried later.
                Err(e) => {
                    self.record_compaction_error(e);
                    self.wake_all();
                    self.pause_unless_shutting_down(backoff.next());
                }
            }
            self.wake_all();
        }
    }

    /// Keeps a compaction's failure for `toykv.stats` and stalled writers.
    pub(crate) fn record_compaction_error(&self, error: Error) {
        let mut errors = self.bg_errors.lock();
        errors.compaction = Some(error);
        errors.compaction_failures += 1;
    }

    /// Sleeps for `delay`, or less if the database starts shutting down.
    fn pause_unless_shutting_down(&self, delay: Duration) {
        let deadline = Instant::now() + delay;
        let mut bg = self.bg.lock();
        while !bg.shutting_down && Instant::now() < deadline {
            self.bg_cv.wait_until(&mut bg, deadline);
        }
    }

    /// Waits until `has_work` holds (and the database has not failed): true, or until the
    /// database is closing: false.
    ///
    /// Closing stops the loops from the moment `close` sets the closed flag, not only once
    /// it sets `shutting_down` after syncing the WALs: in between, work found due would be
    /// refused as closed and found due again at once, a busy loop for as long as the WAL
    /// fsync takes.
    fn wait_for_work(&self, has_work: impl Fn(&DbInner) -> bool) -> bool {
        let mut bg = self.bg.lock();
        loop {
            if bg.shutting_down || self.check_open().is_err() {
                return false;
            }
            if !self.failed.load(Ordering::Acquire) && has_work(self) {
                #[cfg(test)]
                self.test_hooks
                    .background_rounds
                    .fetch_add(1, Ordering::Relaxed);
                return true;
            }
            self.bg_cv.wait(&mut bg);
        }
    }

    /// Flushes the oldest frozen memtable into an L0 sstable and installs the result.
    fn flush_oldest(&self) -> Result<()> {
        let Some(mem) = self.current().frozen.last().cloned() else {
            return Ok(());
        };
        let file = if mem.is_empty() {
            None
        } else {
            Some(self.build_table(&mem, self.new_file_number())?)
        };

        let mut versions = self.versions.lock();
        let current = self.current();
        // The oldest memtable still unflushed after this one decides which WALs are needed.
        let next_oldest = match current.frozen.len() {
            0 | 1 => &current.mem,
            n => current.frozen.get(n - 2).unwrap_or(&current.mem),
        };
        // `last_seq` is exact: the flushed memtable's last write, which the first batch of
        // the next WAL follows (recovery checks that no batch is missing in between).
        let edit = VersionEdit {
            log_number: Some(next_oldest.wal_number()),
            next_file_number: Some(self.next_file_number.load(Ordering::Relaxed)),
            last_seq: Some(mem.last_seq()),
            added: file.iter().map(|f| (0, f.meta.clone())).collect(),
            ..VersionEdit::default()
        };
        self.log_edit(&mut versions, &edit)?;

        let added: Vec<(usize, Arc<TableFile>)> = file.into_iter().map(|f| (0, f)).collect();
        let manifest_path = versions.manifest()?.path().to_path_buf();
        {
            let mut slot = self.current.write();
            let version = slot
                .version
                .apply(&[], added)
                .map_err(|reason| crate::version::inconsistent(&manifest_path, reason))?;
            self.note_installed(&version);
            let frozen = slot
                .frozen
                .iter()
                .filter(|m| !Arc::ptr_eq(m, &mem))
                .cloned()
                .collect();
            *slot = Arc::new(SuperVersion {
                mem: Arc::clone(&slot.mem),
                frozen,
                version: Arc::new(version),
            });
        }
        self.maybe_roll_manifest(&mut versions)?;
        drop(versions);
        // The manifest no longer needs this WAL. A failed delete leaves an orphan the next
        // open removes.
        let _ = self.fs.remove(&wal_path(&self.dir, mem.wal_number()));
        self.stats.flushes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Writes `mem` to sstable `number` (see [`write_table`]) and counts the bytes.
    pub(crate) fn build_table(&self, mem: &MemTable, number: u64) -> Result<Arc<TableFile>> {
        let file = write_table(&self.fs, &self.dir, &self.opts, &self.tables, mem, number)?;
        self.stats
            .flush_bytes_written
            .fetch_add(file.meta.size, Ordering::Relaxed);
        Ok(file)
    }
}

/// Writes `mem` to sstable `number`, fsyncs it and the directory, and opens it. On failure
/// the partial file is removed (nothing names it, so this is tidiness, not correctness).
pub(crate) fn write_table(
    fs: &Arc<dyn FileSystem>,
    dir: &Path,
    opts: &Options,
    tables: &Arc<TableCache>,
    mem: &MemTable,
    number: u64,
) -> Result<Arc<TableFile>> {
    let path = table_path(dir, number);
    let built = (|| {
        let mut builder = TableBuilder::new(fs.create(&path)?, path.clone(), opts.table_options());
        mem.for_each(|key, seq, kind, value| builder.add(key, seq, kind, value))?;
        TableFile::finish_and_open(builder, fs, dir, number, tables)
    })();
    if built.is_err() {
        let _ = fs.remove(&path);
    }
    built
}

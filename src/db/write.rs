//! The write path: group commit, WAL append, memtable insert, switching to a fresh memtable
//! when the active one is full, and write stalls when L0 runs ahead of compaction.
//!
//! Group commit: every writer joins a queue. The writer at the front is the leader: it takes
//! the batches of the writers queued behind it (up to `MAX_GROUP_BYTES`), appends them to the
//! WAL with one write and at most one fsync, inserts them into the memtable, and hands each
//! follower its result. Followers just wait. Only the leader touches `writer`, so sequence
//! numbers are assigned in WAL order and exactly one thread inserts into the active memtable.
//! A write is visible to readers only once `visible_seq` moves past it, after the insert.

use super::{DbInner, SuperVersion, WriterState, MAX_FROZEN_MEMTABLES};
use crate::batch::WriteBatch;
use crate::memtable::MemTable;
use crate::types::{SeqNum, MAX_SEQ};
use crate::wal::Wal;
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex, MutexGuard};
use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A leader stops adding followers' batches to its group past this many bytes, so that one
/// small write does not wait behind a huge group.
const MAX_GROUP_BYTES: usize = 1 << 20;

/// How long a write is delayed when L0 holds `l0_slowdown_trigger` files: enough to let
/// compaction catch up without stopping writers outright.
const SLOWDOWN_DELAY: Duration = Duration::from_millis(1);

/// One writer waiting in the group-commit queue.
#[derive(Debug)]
pub(crate) struct PendingWrite {
    batch: WriteBatch,
    /// Set by the leader that committed this write; read by its owner.
    result: Mutex<Option<Result<()>>>,
    woken: Condvar,
}

/// The group-commit queue: writers in arrival order, the leader at the front.
#[derive(Debug, Default)]
pub(crate) struct WriteQueue {
    writers: Mutex<VecDeque<Arc<PendingWrite>>>,
}

impl DbInner {
    pub(crate) fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.check_open()?;
        self.check_writable("write")?;
        if batch.is_empty() {
            return Ok(());
        }
        self.delay_if_l0_is_behind();
        let me = Arc::new(PendingWrite {
            batch: batch.clone(),
            result: Mutex::new(None),
            woken: Condvar::new(),
        });
        let mut queue = self.write_queue.writers.lock();
        queue.push_back(Arc::clone(&me));
        loop {
            if let Some(result) = me.result.lock().take() {
                return result;
            }
            let leading = queue.front().is_some_and(|front| Arc::ptr_eq(front, &me));
            if leading {
                break;
            }
            me.woken.wait(&mut queue);
        }

        // The leader: gather the group, commit it without holding the queue lock.
        let mut group = Vec::new();
        let mut bytes = 0;
        for pending in queue.iter() {
            bytes += pending.batch.approximate_bytes();
            if !group.is_empty() && bytes > MAX_GROUP_BYTES {
                break;
            }
            group.push(Arc::clone(pending));
        }
        drop(queue);
        // A panic must not leave the followers waiting forever: they get an error, the queue
        // moves on, and the panic continues to the caller (the C layer reports it).
        let outcome = catch_unwind(AssertUnwindSafe(|| self.commit_group(&group)));
        let (result, panic) = match outcome {
            Ok(result) => (result, None),
            Err(payload) => (
                Err(Error::invalid(
                    "the write group's leader panicked; nothing was written",
                )),
                Some(payload),
            ),
        };

        let mut queue = self.write_queue.writers.lock();
        for pending in &group {
            queue.pop_front();
            if !Arc::ptr_eq(pending, &me) {
                let theirs = match &result {
                    Ok(()) => Ok(()),
                    Err(e) => Err(e.duplicate()),
                };
                *pending.result.lock() = Some(theirs);
                pending.woken.notify_one();
            }
        }
        if let Some(next_leader) = queue.front() {
            next_leader.woken.notify_one();
        }
        drop(queue);
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        result
    }

    /// Commits a group of writes: one WAL append, one fsync (with `sync_writes`), memtable
    /// inserts, then publication to readers.
    fn commit_group(&self, group: &[Arc<PendingWrite>]) -> Result<()> {
        let mut writer = self.writer.lock();
        self.check_open()?;
        self.check_failed()?;
        self.make_room(&mut writer)?;

        let mut next_seq = writer.last_seq + 1;
        let mut batches: Vec<(&WriteBatch, SeqNum)> = Vec::with_capacity(group.len());
        for pending in group {
            batches.push((&pending.batch, next_seq));
            next_seq += pending.batch.len() as u64;
        }
        if next_seq - 1 > MAX_SEQ {
            return Err(Error::invalid("sequence numbers exhausted"));
        }
        // The WAL append is the commit point; a failure here may leave a partial record, so
        // the database stops accepting writes rather than appending after it.
        let wal = writer.wal()?;
        let logged = wal.append_group(&batches).and_then(|()| {
            if self.opts.sync_writes {
                wal.sync()
            } else {
                Ok(())
            }
        });
        if let Err(e) = logged {
            return Err(self.fail_wal(e));
        }

        let mem = Arc::clone(&self.current.read().mem);
        let mut user_bytes = 0;
        for (batch, first_seq) in &batches {
            for (seq, op) in (*first_seq..).zip(batch.ops()) {
                mem.insert(op.key, seq, op.kind, op.value);
            }
            user_bytes += batch.approximate_bytes() as u64;
        }
        writer.last_seq = next_seq - 1;
        self.visible_seq.store(writer.last_seq, Ordering::Release);
        self.stats
            .user_bytes_written
            .fetch_add(user_bytes, Ordering::Relaxed);
        self.stats
            .writes
            .fetch_add(group.len() as u64, Ordering::Relaxed);
        self.stats.write_groups.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Slows a writer down by about a millisecond while L0 holds `l0_slowdown_trigger` files
    /// or more, so that compaction gets the disk before writers hit the hard stop.
    fn delay_if_l0_is_behind(&self) {
        let l0 = self.current().version.files(0).len();
        if l0 >= self.opts.l0_slowdown_trigger && l0 < self.opts.l0_stop_trigger {
            let started = Instant::now();
            std::thread::sleep(SLOWDOWN_DELAY);
            self.stats.record_stall(started.elapsed(), false);
        }
    }

    /// Ensures the active memtable has room, switching to a new one when it is full. Waits
    /// (stalling every writer) while too many frozen memtables await their flush, and while L0
    /// holds `l0_stop_trigger` files or more.
    fn make_room(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        let limit = self.opts.effective_memtable_bytes();
        let mut stalled_since: Option<Instant> = None;
        let result = loop {
            let sv = self.current();
            let l0_full = sv.version.files(0).len() >= self.opts.l0_stop_trigger;
            let full = sv.mem.memory_usage() >= limit;
            if !l0_full && !full {
                break Ok(());
            }
            if !l0_full && sv.frozen.len() < MAX_FROZEN_MEMTABLES {
                break self.switch_memtable(writer);
            }
            let mut bg = self.bg.lock();
            // Re-check under the lock the background threads notify with.
            let sv = self.current();
            let still_blocked = sv.version.files(0).len() >= self.opts.l0_stop_trigger
                || (full && sv.frozen.len() >= MAX_FROZEN_MEMTABLES);
            if still_blocked {
                if let Err(e) = self.check_failed().and_then(|()| self.check_open()) {
                    break Err(e);
                }
                // Waiting for a flush or compaction that keeps failing would hang the writer:
                // it gets the failure instead (the work is retried; later writes may pass).
                let l0_full = sv.version.files(0).len() >= self.opts.l0_stop_trigger;
                if let Some(e) = self.failing_work(l0_full) {
                    break Err(e);
                }
                stalled_since.get_or_insert_with(Instant::now);
                self.bg_cv.wait(&mut bg);
            }
        };
        if let Some(started) = stalled_since {
            self.stats.record_stall(started.elapsed(), true);
        }
        result
    }

    /// Freezes the active memtable and starts a new one with its own WAL.
    ///
    /// The old WAL is kept among the retired ones rather than fsynced here (an fsync of a
    /// whole WAL would stall every writer): `sync` fsyncs it later, unless its memtable was
    /// flushed first, which makes it unnecessary.
    ///
    /// # Errors
    /// A failure to create the new WAL (or to fsync the directory naming it) stops writes
    /// until reopen, whichever thread switched: whether the file exists after a crash is
    /// unknown. The old WALs are intact, so `sync` and `close` still make them durable.
    pub(crate) fn switch_memtable(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        let number = self.new_file_number();
        let new_wal = Wal::create(&*self.fs, &self.dir, number).map_err(|e| self.fail(e))?;
        let old_wal = std::mem::replace(writer.wal()?, new_wal);
        let still_frozen: Vec<u64> = self
            .current()
            .frozen
            .iter()
            .map(|m| m.wal_number())
            .collect();
        writer
            .retired
            .retain(|w| still_frozen.contains(&w.number()));
        // Kept (with sync_writes too, where its fsyncs are done) so that `sync` and `close`
        // can make it durable and `close` can record its length.
        writer.retired.push(old_wal);
        {
            let mut current = self.current.write();
            current.mem.freeze(writer.last_seq);
            let mut frozen = Vec::with_capacity(current.frozen.len() + 1);
            frozen.push(Arc::clone(&current.mem));
            frozen.extend(current.frozen.iter().cloned());
            *current = Arc::new(SuperVersion {
                mem: Arc::new(MemTable::new(number)),
                frozen,
                version: Arc::clone(&current.version),
            });
        }
        self.wake_all();
        Ok(())
    }

    pub(crate) fn sync_wal(&self) -> Result<()> {
        let mut writer = self.writer.lock();
        self.sync_all_wals(&mut writer)
    }

    /// fsyncs the WALs of frozen memtables, then the active WAL: afterwards every write that
    /// returned is durable. (A WAL already fsynced to its end is not fsynced again.)
    pub(crate) fn sync_all_wals(&self, writer: &mut WriterState) -> Result<()> {
        self.check_wal_failed()?;
        for wal in &mut writer.retired {
            wal.sync().map_err(|e| self.fail_wal(e))?;
        }
        match writer.wal.as_mut() {
            Some(wal) => wal.sync().map_err(|e| self.fail_wal(e)),
            // Read-only: nothing was ever written.
            None => Ok(()),
        }
    }

    /// Freezes the active memtable (if it holds anything) and waits until every frozen
    /// memtable is in an sstable.
    pub(crate) fn flush_and_wait(&self) -> Result<()> {
        {
            let mut writer = self.writer.lock();
            // Under the writer lock: `close` sets the flag before it takes this lock, so no
            // WAL is created after close has synced the last one.
            self.check_open()?;
            self.check_failed()?;
            if !self.current().mem.is_empty() {
                self.switch_memtable(&mut writer)?;
            }
        }
        let mut bg = self.bg.lock();
        loop {
            self.check_failed()?;
            self.check_open()?;
            if self.current().frozen.is_empty() {
                return Ok(());
            }
            if let Some(e) = self.bg_errors.lock().flush.as_ref() {
                return Err(e.duplicate());
            }
            self.bg_cv.wait(&mut bg);
        }
    }

    /// The failure of the background work a stalled writer waits for: compaction when L0 is
    /// full, else the flush of the frozen memtables.
    fn failing_work(&self, l0_full: bool) -> Option<Error> {
        let errors = self.bg_errors.lock();
        let failing = if l0_full {
            errors.compaction.as_ref()
        } else {
            errors.flush.as_ref()
        };
        failing.map(Error::duplicate)
    }
}

#[cfg(test)]
mod tests {
    use crate::{Db, Options};
    use std::sync::atomic::Ordering;
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn writers_queued_behind_a_busy_leader_commit_as_one_group() {
        let dir = tempfile::tempdir().unwrap();
        let db = Arc::new(Db::open(dir.path(), Options::default()).unwrap());
        let inner = Arc::clone(&db.inner);
        // Hold the WAL: the first leader blocks inside its commit, alone in its group.
        let writer = inner.writer.lock();
        let threads: Vec<_> = (0..8u8)
            .map(|i| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || db.put(&[i], &[i]).unwrap())
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(10);
        while inner.write_queue.writers.lock().len() < 8 {
            assert!(Instant::now() < deadline, "writers never queued");
            std::thread::sleep(Duration::from_millis(1));
        }
        drop(writer);
        for t in threads {
            t.join().unwrap();
        }
        // The blocked leader's group, then one group for the seven queued behind it.
        assert_eq!(inner.stats.writes.load(Ordering::Relaxed), 8);
        assert_eq!(inner.stats.write_groups.load(Ordering::Relaxed), 2);
        for i in 0..8u8 {
            assert_eq!(db.get(&[i]).unwrap(), Some(vec![i]));
        }
        // And all eight survive a reopen: the group's records are in the WAL.
        drop(db);
        let db = Db::open(dir.path(), Options::default()).unwrap();
        for i in 0..8u8 {
            assert_eq!(db.get(&[i]).unwrap(), Some(vec![i]));
        }
    }
}

//! The write path: group commit, WAL append, memtable insert, switching to a fresh memtable
//! when the active one is full, and write stalls when compaction falls behind.
//!
//! Group commit (the queue, its leader and followers) is `write_queue.rs`; this file is what a
//! leader does with its group (`impl GroupCommit for DbInner`). Only a leader touches
//! `writer`, so sequence numbers are assigned in WAL order and one thread at a time inserts
//! into the memtable.
//!
//! A group's commit, under the writer lock: make room (switch memtables, stall), assign
//! sequence numbers, append every batch to the WAL with one write, insert them into the
//! memtable. Without `sync_writes` the group is then published (`visible_seq` moves past it)
//! before the lock is released. With `sync_writes` the fsync runs after the lock is released
//! and the leadership handed on, so the next group appends (and starts its fsync) while this
//! one's fsync is in flight, RocksDB's pipelined write taken one step further: the
//! [`SyncPipeline`](super::pipeline) completes groups in sequence order, so a write is
//! acknowledged, and visible, only once it and every write before it are durable.

use super::stall::StallCause;
use super::write_queue::{Group, GroupCommit};
use super::{DbInner, SuperVersion, WriterState, MAX_FROZEN_MEMTABLES};
use crate::batch::WriteBatch;
use crate::env::FileSyncer;
use crate::memtable::MemTable;
use crate::types::{SeqNum, MAX_SEQ};
use crate::wal::Wal;
use crate::{Error, Result};
use parking_lot::MutexGuard;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

/// Where a committed group stands once the writer lock is released.
pub(crate) enum Committed {
    /// Durable as far as the options ask, and published.
    Done,
    /// Appended and inserted; the fsync of `syncer` will make it durable, then the pipeline
    /// publishes it after the groups before it.
    Syncing {
        last_seq: SeqNum,
        syncer: Arc<dyn FileSyncer>,
    },
}

/// The engine's steps of a group's commit; the queue, the leadership and the followers are
/// `WriteQueue`'s.
impl GroupCommit for DbInner {
    type Committed = Committed;

    fn before_leading(&self) -> bool {
        if !self.opts.sync_writes {
            return false;
        }
        // Let the groups before this one fsync first (others queue up meanwhile, and join
        // this group): all of them while fsyncs are fast, all but one while they are slow.
        self.pipeline
            .wait_below(self.fsync_latency.groups_in_flight());
        true
    }

    fn commit(&self, group: &Group<'_>) -> Result<Committed> {
        self.commit_group(group)
    }

    fn finish(&self, committed: Committed) -> Result<()> {
        match committed {
            Committed::Done => Ok(()),
            Committed::Syncing { last_seq, syncer } => {
                let started = Instant::now();
                let synced = catch_unwind(AssertUnwindSafe(|| syncer.sync()))
                    .unwrap_or_else(|_| Err(Error::invalid("the WAL fsync panicked")))
                    .map_err(|e| self.fail_wal(e));
                self.fsync_latency.record(started.elapsed());
                self.pipeline.complete(last_seq, synced, &self.visible_seq)
            }
        }
    }

    /// The database stops taking writes: its state is unknown.
    fn panicked(&self) -> Error {
        self.fail(Error::invalid(
            "a write group's leader panicked; writes are stopped until reopen",
        ))
    }
}

impl DbInner {
    pub(crate) fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.check_open()?;
        self.check_writable("write")?;
        if batch.is_empty() {
            return Ok(());
        }
        self.delay_if_behind(batch.approximate_bytes());
        self.write_queue.write(batch, self)
    }

    /// The part of a group's commit under the writer lock: room, sequence numbers, one WAL
    /// append, memtable inserts; then publication, or (with `sync_writes`) entry into the
    /// sync pipeline.
    fn commit_group(&self, group: &Group<'_>) -> Result<Committed> {
        let mut writer = self.writer.lock();
        self.check_open()?;
        self.check_failed()?;
        self.make_room(&mut writer)?;

        let first_seq = writer.last_seq + 1;
        let mut next_seq = first_seq;
        let mut batches: Vec<(&WriteBatch, SeqNum)> = Vec::new();
        let single;
        let batches: &[(&WriteBatch, SeqNum)] = if let Some(alone) = group.alone() {
            next_seq += alone.len() as u64;
            single = [(alone, first_seq)];
            &single
        } else {
            batches.reserve(group.len());
            for batch in group.batches() {
                batches.push((batch, next_seq));
                next_seq += batch.len() as u64;
            }
            &batches
        };
        let last_seq = next_seq - 1;
        if last_seq > MAX_SEQ {
            return Err(Error::invalid("sequence numbers exhausted"));
        }
        // The WAL append is the commit point; a failure here may leave a partial record, so
        // the database stops accepting writes rather than appending after it.
        let wal = writer.wal()?;
        if let Err(e) = wal.append_group(batches) {
            return Err(self.fail_wal(e));
        }
        // Pipelined fsync where the file system offers one; otherwise fsync here.
        let syncer = match self.opts.sync_writes {
            true => match wal.syncer() {
                Some(syncer) => Some(syncer),
                None => {
                    wal.sync().map_err(|e| self.fail_wal(e))?;
                    None
                }
            },
            false => None,
        };

        let mut inserter = writer.mem.inserter();
        let mut user_bytes = 0;
        for (batch, first_seq) in batches {
            for (seq, op) in (*first_seq..).zip(batch.ops()) {
                inserter.insert(op.key, seq, op.kind, op.value);
            }
            user_bytes += batch.approximate_bytes() as u64;
        }
        drop(inserter);
        writer.last_seq = last_seq;
        self.stats
            .user_bytes_written
            .fetch_add(user_bytes, Ordering::Relaxed);
        self.stats
            .writes
            .fetch_add(batches.len() as u64, Ordering::Relaxed);
        self.stats.write_groups.fetch_add(1, Ordering::Relaxed);
        match syncer {
            Some(syncer) => {
                // Entered under the writer lock: the pipeline's order is sequence order.
                if self.pipeline.enter(last_seq) > 0 {
                    self.stats
                        .write_groups_overlapped
                        .fetch_add(1, Ordering::Relaxed);
                }
                Ok(Committed::Syncing { last_seq, syncer })
            }
            None => {
                self.visible_seq.store(last_seq, Ordering::Release);
                Ok(Committed::Done)
            }
        }
    }

    /// Ensures the active memtable has room, switching to a new one when it is full. Waits
    /// (stalling every writer) while too many frozen memtables await their flush, and while
    /// compaction is too far behind (L0 at `l0_stop_trigger` files, or pending compaction
    /// bytes at the hard limit: see `stall.rs`).
    fn make_room(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        let limit = self.opts.effective_memtable_bytes();
        if self.compaction_stop().is_none() && writer.mem.memory_usage() < limit {
            return Ok(());
        }
        let mut stalled: Option<(Instant, StallCause)> = None;
        let result = loop {
            let full = writer.mem.memory_usage() >= limit;
            let stop = self.compaction_stop();
            if stop.is_none() && !full {
                break Ok(());
            }
            if stop.is_none() && self.current().frozen.len() < MAX_FROZEN_MEMTABLES {
                break self.switch_memtable(writer);
            }
            let mut bg = self.bg.lock();
            // Re-check under the lock the background threads notify with.
            let stop = self.compaction_stop();
            let flush_wait = full && self.current().frozen.len() >= MAX_FROZEN_MEMTABLES;
            let cause = match (stop, flush_wait) {
                (Some(cause), _) => cause,
                (None, true) => StallCause::Memtables,
                (None, false) => continue,
            };
            if let Err(e) = self.check_failed().and_then(|()| self.check_open()) {
                break Err(e);
            }
            // Waiting for a flush or compaction that keeps failing would hang the writer: it
            // gets the failure instead (the work is retried; later writes may pass).
            if let Some(e) = self.failing_work(cause != StallCause::Memtables) {
                break Err(e);
            }
            stalled.get_or_insert_with(|| (Instant::now(), cause));
            self.bg_cv.wait(&mut bg);
        };
        if let Some((started, cause)) = stalled {
            self.stats.stalls.record(cause, started.elapsed());
        }
        result
    }

    /// Freezes the active memtable and starts a new one with its own WAL.
    ///
    /// Groups still completing their fsync are waited for first, so that the frozen
    /// memtable's last sequence number is exact and every write in it published.
    ///
    /// The old WAL is kept among the retired ones rather than fsynced here (an fsync of a
    /// whole WAL would stall every writer): `sync` fsyncs it later, unless its memtable was
    /// flushed first, which makes it unnecessary. (With `sync_writes` its records are
    /// fsynced already, and a WAL that reserved space ahead is cut back to them and fsynced
    /// once more here, for its size: see `Wal::finish`.)
    ///
    /// # Errors
    /// A failure to create the new WAL (or to fsync the directory naming it) stops writes
    /// until reopen, whichever thread switched: whether the file exists after a crash is
    /// unknown. The old WALs are intact, so `sync` and `close` still make them durable.
    pub(crate) fn switch_memtable(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        self.pipeline.drain();
        // A failed fsync in the drained groups stopped writes: no switch then.
        self.check_failed()?;
        self.finish_active_wal(writer)?;
        let number = self.new_file_number();
        let new_wal = Wal::create(&*self.fs, &self.dir, number)
            .map_err(|e| self.fail(e))?
            .preallocating(self.opts.wal_reserve_step());
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
        let mem = Arc::new(MemTable::new(number));
        writer.mem = Arc::clone(&mem);
        {
            let mut current = self.current.write();
            current.mem.freeze(writer.last_seq);
            let mut frozen = Vec::with_capacity(current.frozen.len() + 1);
            frozen.push(Arc::clone(&current.mem));
            frozen.extend(current.frozen.iter().cloned());
            *current = Arc::new(SuperVersion {
                mem,
                frozen,
                version: Arc::clone(&current.version),
            });
        }
        self.wake_all();
        Ok(())
    }

    /// Cuts the active WAL back to its last record, dropping the space it reserved ahead
    /// (see `Wal::finish`): recovery reads it before the next WAL, so it must end where its
    /// records end, durably, before another WAL takes writes or the database closes.
    pub(crate) fn finish_active_wal(&self, writer: &mut WriterState) -> Result<()> {
        self.check_wal_failed()?;
        match writer.wal.as_mut() {
            Some(wal) => wal.finish().map_err(|e| self.fail_wal(e)),
            None => Ok(()),
        }
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
            if !writer.mem.is_empty() {
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

    /// The failure of the background work a stalled writer waits for: compaction, or the
    /// flush of the frozen memtables.
    fn failing_work(&self, compaction: bool) -> Option<Error> {
        let errors = self.bg_errors.lock();
        let failing = if compaction {
            errors.compaction.as_ref()
        } else {
            errors.flush.as_ref()
        };
        failing.map(Error::duplicate)
    }
}

#[cfg(test)]
mod tests {
    use crate::env::{FaultFs, FaultKind, FaultOp};
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
        while inner.write_queue.queued() < 7 {
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

    fn sync_options(fs: &Arc<FaultFs>) -> Options {
        Options {
            sync_writes: true,
            memtable_bytes: 16 << 10,
            fs: Arc::clone(fs) as _,
            ..Options::default()
        }
    }

    // Many threads, every write fsynced, memtables switching all the time: every write that
    // returned is durable (survives a power cut) and visible, and sequence numbers run on
    // without a hole through every WAL (the reopen checks that). With slow fsyncs, groups
    // overlap one another's; with fast ones, they take turns.
    #[test]
    fn pipelined_durable_writes_from_many_threads_all_survive_a_power_cut() {
        let overlapped = durable_writes_from_many_threads_survive_a_power_cut(Duration::ZERO);
        assert_eq!(overlapped, 0);
        let slow = durable_writes_from_many_threads_survive_a_power_cut(Duration::from_micros(600));
        assert!(slow > 0, "no group overlapped a slow fsync");
    }

    /// Returns how many groups were appended while an earlier group's fsync ran.
    fn durable_writes_from_many_threads_survive_a_power_cut(fsync_delay: Duration) -> u64 {
        let fs = Arc::new(FaultFs::new());
        fs.set_sync_delay(fsync_delay);
        let dir = std::path::Path::new("/db");
        let db = Arc::new(Db::open(dir, sync_options(&fs)).unwrap());
        let threads: Vec<_> = (0..8u32)
            .map(|t| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    for i in 0..300u32 {
                        let key = format!("t{t}-{i:04}");
                        db.put(key.as_bytes(), &[7u8; 100]).unwrap();
                        assert_eq!(db.get(key.as_bytes()).unwrap().unwrap(), vec![7u8; 100]);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let groups = db.inner.stats.write_groups.load(Ordering::Relaxed);
        assert!(groups <= 2400, "{groups}");
        let overlapped = db
            .inner
            .stats
            .write_groups_overlapped
            .load(Ordering::Relaxed);
        let cut = fs.power_cut_copy(11);
        drop(db);
        let reopened = Db::open(dir, sync_options(&cut)).unwrap();
        for t in 0..8u32 {
            for i in 0..300u32 {
                let key = format!("t{t}-{i:04}");
                assert!(
                    reopened.get(key.as_bytes()).unwrap().is_some(),
                    "{key} lost"
                );
            }
        }
        overlapped
    }

    // With sync_writes the WAL reserves zeros ahead of its records, which recovery reads as
    // the log's end. A WAL followed by another must therefore end at its last record: were
    // the zeros left in it, recovery would stop there and lose the next WAL's acknowledged
    // writes.
    #[test]
    fn writes_in_the_wal_after_a_switch_survive_a_crash_and_a_power_cut() {
        let fs = Arc::new(FaultFs::new());
        let dir = std::path::Path::new("/db");
        let opts = || Options {
            memtable_bytes: 1 << 20,
            ..sync_options(&fs)
        };
        let db = Db::open(dir, opts()).unwrap();
        // No flush may finish: the first WAL stays live, to be replayed before the second.
        fs.inject_sticky_on(FaultOp::Create, ".sst", 1, FaultKind::Enospc);
        db.put(b"in the first wal", b"1").unwrap();
        let first = {
            let mut writer = db.inner.writer.lock();
            let number = writer.wal.as_ref().unwrap().number();
            db.inner.switch_memtable(&mut writer).unwrap();
            number
        };
        db.put(b"in the second wal", b"2").unwrap();
        let first_path = crate::filename::wal_path(dir, first);
        let first_bytes = fs.read_file(&first_path).unwrap();
        assert!(
            first_bytes.last().is_some_and(|&b| b != 0),
            "the first WAL still ends in reserved zeros"
        );
        for (what, copy) in [
            ("kill -9", fs.snapshot_copy()),
            ("power cut", fs.crash_copy()),
        ] {
            let reopened = Db::open(dir, sync_options(&copy)).unwrap();
            for (key, value) in [
                (&b"in the first wal"[..], b"1"),
                (b"in the second wal", b"2"),
            ] {
                assert_eq!(
                    reopened.get(key).unwrap().as_deref(),
                    Some(&value[..]),
                    "after a {what}"
                );
            }
        }
    }

    // Only with sync_writes does the WAL reserve space, and close cuts it off again.
    #[test]
    fn close_cuts_the_space_a_durable_wal_reserved() {
        let wal_size = |dir: &std::path::Path| -> Vec<u8> {
            let mut logs: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "log"))
                .collect();
            assert_eq!(logs.len(), 1, "{logs:?}");
            std::fs::read(logs.pop().unwrap()).unwrap()
        };
        for sync_writes in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let opts = || Options {
                sync_writes,
                ..Options::default()
            };
            let db = Db::open(dir.path(), opts()).unwrap();
            db.put(b"key", b"value").unwrap();
            let open_len = wal_size(dir.path()).len();
            assert_eq!(open_len >= 1 << 20, sync_writes, "{open_len} bytes");
            db.close().unwrap();
            let closed = wal_size(dir.path());
            assert!(closed.len() < 100, "{} bytes", closed.len());
            assert!(closed.ends_with(b"value"));
            drop(db);
            let db = Db::open(dir.path(), opts()).unwrap();
            assert_eq!(db.get(b"key").unwrap().as_deref(), Some(&b"value"[..]));
        }
    }

    // A failed fsync fails its group and every group after it, and the database stops
    // taking writes until reopened; nothing unacknowledged became visible.
    #[test]
    fn a_failed_pipelined_fsync_fails_the_writes_behind_it_and_stops_writes() {
        let fs = Arc::new(FaultFs::new());
        let dir = std::path::Path::new("/db");
        let db = Arc::new(Db::open(dir, sync_options(&fs)).unwrap());
        db.put(b"before", b"1").unwrap();
        fs.inject_on(FaultOp::Sync, ".log", 1, FaultKind::Eio);
        let threads: Vec<_> = (0..4u8)
            .map(|t| {
                let db = Arc::clone(&db);
                std::thread::spawn(move || {
                    (0..50u8)
                        .map(|i| db.put(&[t, i], b"v").is_ok())
                        .collect::<Vec<bool>>()
                })
            })
            .collect();
        let outcomes: Vec<Vec<bool>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(
            outcomes.iter().flatten().any(|ok| !ok),
            "the fault never fired"
        );
        // Whatever was acknowledged is visible; after the failure, nothing is.
        for (t, row) in outcomes.iter().enumerate() {
            let first_failure = row.iter().position(|ok| !ok).unwrap_or(row.len());
            for (i, ok) in row.iter().enumerate() {
                assert_eq!(
                    *ok,
                    i < first_failure,
                    "thread {t}: a write passed after a failure"
                );
                let seen = db.get(&[t as u8, i as u8]).unwrap();
                if *ok {
                    assert_eq!(seen.as_deref(), Some(&b"v"[..]));
                } else {
                    assert_eq!(seen, None, "an unacknowledged write is visible");
                }
            }
        }
        assert!(db.put(b"after", b"1").is_err());
        assert!(db.sync().is_err());
        assert_eq!(db.get(b"before").unwrap().as_deref(), Some(&b"1"[..]));
    }
}

//! The write path: WAL append, memtable insert, and switching to a fresh memtable when the
//! active one is full.
//!
//! All of it runs under the `writer` lock, so sequence numbers are assigned in WAL order and
//! exactly one thread inserts into the active memtable. A write is visible to readers only
//! after `visible_seq` moves past it, which happens after the memtable insert.

use super::{DbInner, SuperVersion, WriterState, MAX_FROZEN_MEMTABLES};
use crate::batch::WriteBatch;
use crate::memtable::MemTable;
use crate::types::MAX_SEQ;
use crate::wal::Wal;
use crate::{Error, Result};
use parking_lot::MutexGuard;
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl DbInner {
    pub(crate) fn write(&self, batch: &WriteBatch) -> Result<()> {
        self.check_open()?;
        if batch.is_empty() {
            return Ok(());
        }
        let mut writer = self.writer.lock();
        self.check_open()?;
        self.check_failed()?;
        self.make_room(&mut writer)?;

        let count = batch.len() as u64;
        let first_seq = writer.last_seq + 1;
        if first_seq + count > MAX_SEQ {
            return Err(Error::invalid("sequence numbers exhausted"));
        }
        // The WAL record is the commit point; a failure here may leave a partial record, so
        // the database stops accepting writes rather than appending after it.
        let logged = writer.wal.append(batch, first_seq).and_then(|()| {
            if self.opts.sync_writes {
                writer.wal.sync()
            } else {
                Ok(())
            }
        });
        if let Err(e) = logged {
            return Err(self.fail(e));
        }

        let mem = Arc::clone(&self.current.read().mem);
        for (seq, op) in (first_seq..).zip(batch.ops()) {
            mem.insert(op.key, seq, op.kind, op.value);
        }
        writer.last_seq = first_seq + count - 1;
        self.visible_seq.store(writer.last_seq, Ordering::Release);
        self.stats
            .user_bytes_written
            .fetch_add(batch.approximate_bytes() as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Ensures the active memtable has room, switching to a new one when it is full and
    /// waiting (stalling the writer) while too many frozen memtables await their flush.
    fn make_room(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        let limit = self.opts.effective_memtable_bytes();
        loop {
            let sv = self.current();
            if sv.mem.approximate_bytes() < limit {
                return Ok(());
            }
            if sv.frozen.len() < MAX_FROZEN_MEMTABLES {
                return self.switch_memtable(writer);
            }
            let mut bg = self.bg.lock();
            // Re-check under the lock the background thread notifies with.
            if self.current().frozen.len() >= MAX_FROZEN_MEMTABLES {
                self.check_failed()?;
                self.check_open()?;
                self.bg_cv.wait(&mut bg);
            }
        }
    }

    /// Freezes the active memtable and starts a new one with its own WAL.
    ///
    /// The old WAL is fsynced first so that `sync` (which fsyncs only the active WAL) keeps
    /// its promise for writes that went to the old one.
    pub(crate) fn switch_memtable(&self, writer: &mut MutexGuard<'_, WriterState>) -> Result<()> {
        let number = self.new_file_number();
        let new_wal = Wal::create(&*self.fs, &self.dir, number)?;
        if let Err(e) = writer.wal.sync() {
            return Err(self.fail(e));
        }
        writer.wal = new_wal;
        {
            let mut current = self.current.write();
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
        self.check_failed()?;
        writer.wal.sync().map_err(|e| self.fail(e))
    }

    /// Freezes the active memtable (if it holds anything) and waits until every frozen
    /// memtable is in an sstable.
    pub(crate) fn flush_and_wait(&self) -> Result<()> {
        {
            let mut writer = self.writer.lock();
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
            self.bg_cv.wait(&mut bg);
        }
    }
}

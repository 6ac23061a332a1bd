//! Appends records to a log file.
//!
//! Each record (header and payload) goes to the file in a single `append` call, so the
//! operating system receives it whole: a crash of this process can cut a record only where
//! the kernel itself stops (leaving a torn tail the reader drops), never between our own
//! calls. Durability against power loss comes only from [`LogWriter::sync`].
//!
//! A `LogWriter` has one owner at a time (the database's write path serialises its writers).
//! After a failed append or sync it refuses every later call: the file may end in a partial
//! record, and appending valid records after one would turn a harmless torn tail into
//! corruption in the middle of the log.

use super::{encode_header, HEADER_LEN, MAX_RECORD_LEN};
use crate::env::{FileSyncer, WritableFile};
use crate::{Error, Result};
use std::sync::Arc;

/// Capacity of the record buffer kept between records; a larger buffer (left by one big
/// record) is released rather than held for the life of the log.
const KEEP_SCRATCH_BYTES: usize = 1 << 20;

/// Writes records to one log file, front to back.
#[derive(Debug)]
pub(crate) struct LogWriter {
    file: Box<dyn WritableFile>,
    /// Header and payload of the record being written, assembled for one `append`.
    scratch: Vec<u8>,
    /// The first append or sync failure; every later call fails with it.
    failed: Option<Error>,
}

impl LogWriter {
    /// Writes records after whatever `file` already holds (normally nothing: logs are
    /// created fresh and never reopened for appending).
    pub(crate) fn new(file: Box<dyn WritableFile>) -> LogWriter {
        LogWriter {
            file,
            scratch: Vec::new(),
            failed: None,
        }
    }

    /// Appends one record with a single `append` call (header and payload), so it reaches
    /// the operating system whole. Not durable until [`LogWriter::sync`].
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when `payload` is longer than [`MAX_RECORD_LEN`] (nothing is
    /// written). An I/O error from the file, after which this writer is failed: this and
    /// every later call return `Poisoned` with that error.
    pub(crate) fn add_record(&mut self, payload: &[u8]) -> Result<()> {
        self.add_record_with(|out| out.extend_from_slice(payload))
    }

    /// Like [`LogWriter::add_record`], but `fill` appends the payload to the buffer the
    /// record is assembled in, which saves one copy of the payload.
    ///
    /// # Errors
    ///
    /// As for [`LogWriter::add_record`].
    pub(crate) fn add_record_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) -> Result<()> {
        let mut fill = Some(fill);
        self.add_records_with(1, |_, out| {
            if let Some(fill) = fill.take() {
                fill(out);
            }
        })
    }

    /// Appends `count` records with a single `append` call; `fill(i, buf)` appends the
    /// payload of record `i`. Group commit uses it so that one write (and one fsync) carries
    /// the batches of many writers. Either every record is handed to the file or none is.
    ///
    /// # Errors
    ///
    /// As for [`LogWriter::add_record`]; an oversized payload writes nothing at all.
    pub(crate) fn add_records_with(
        &mut self,
        count: usize,
        mut fill: impl FnMut(usize, &mut Vec<u8>),
    ) -> Result<()> {
        self.check_failed()?;
        self.scratch.clear();
        for i in 0..count {
            let start = self.scratch.len();
            self.scratch.resize(start + HEADER_LEN, 0);
            fill(i, &mut self.scratch);
            let record = self.scratch.get_mut(start..).unwrap_or_default();
            let (header_slot, payload) = record.split_at_mut(HEADER_LEN);
            if payload.len() > MAX_RECORD_LEN {
                return Err(Error::invalid(format!(
                    "log record of {} bytes exceeds the limit of {MAX_RECORD_LEN} bytes",
                    payload.len()
                )));
            }
            header_slot.copy_from_slice(&encode_header(payload));
        }
        let appended = self.file.append(&self.scratch);
        if self.scratch.capacity() > KEEP_SCRATCH_BYTES {
            self.scratch = Vec::new();
        }
        appended.map_err(|e| self.fail(e))
    }

    /// Makes every record appended so far durable.
    ///
    /// # Errors
    ///
    /// The file's fsync error, after which this writer is failed: the data's fate is unknown
    /// and retrying an fsync would not tell (the kernel may have dropped the dirty pages).
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.check_failed()?;
        self.file.sync().map_err(|e| self.fail(e))
    }

    /// A handle that fsyncs the file from another thread, if the file system has one (see
    /// `WritableFile::syncer`). Its failures do not fail this writer: its user must stop
    /// appending after one (the database does).
    pub(crate) fn syncer(&self) -> Option<Arc<dyn FileSyncer>> {
        self.file.syncer()
    }

    /// Reserves space up to `len` bytes (see `WritableFile::preallocate`); `false` when
    /// nothing was reserved.
    pub(crate) fn preallocate(&mut self, len: u64) -> bool {
        self.failed.is_none() && self.file.preallocate(len)
    }

    /// Cuts the file back to the records appended, dropping reserved space past them.
    ///
    /// # Errors
    ///
    /// The file's error, after which this writer is failed: the file's size is unknown.
    pub(crate) fn truncate_to_appended(&mut self) -> Result<()> {
        self.check_failed()?;
        self.file.truncate_to_appended().map_err(|e| self.fail(e))
    }

    /// Bytes in the file: everything appended successfully so far.
    pub(crate) fn len(&self) -> u64 {
        self.file.len()
    }

    fn check_failed(&self) -> Result<()> {
        match &self.failed {
            Some(first) => Err(Error::Poisoned(Box::new(first.duplicate()))),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        self.failed = Some(error.duplicate());
        error
    }
}

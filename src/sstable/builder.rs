//! Writes a new table, in the latest format version, front to back: data blocks as they
//! fill, then the filter, the index and the footer, then fsync.
//!
//! A `TableBuilder` is owned by the one flush or compaction job producing the file. The file
//! is not a valid table until [`TableBuilder::finish`] returns; a builder dropped earlier (or
//! after an error) leaves a partial file the caller deletes. After `finish` the caller still
//! has to fsync the directory before any manifest edit names the file: fsync data before
//! anything points at it.

use super::block::BlockBuilder;
use super::filter::FilterBuilder;
use super::footer::Footer;
use super::index::{separator, BlockHandle, IndexBuilder};
use super::{checksum, FormatVersion, TableOptions, TableSummary};
use crate::env::WritableFile;
use crate::hash::key_hash;
use crate::types::{check_key, check_value, compare_internal, SeqNum, ValueKind};
use crate::{Error, Result, MAX_BLOCK_BYTES};
use std::cmp::Ordering;
use std::path::PathBuf;

/// Builds one table. See the module docs for the lifecycle.
#[derive(Debug)]
pub(crate) struct TableBuilder {
    file: Box<dyn WritableFile>,
    path: PathBuf,
    block_bytes: usize,
    block: BlockBuilder,
    index: IndexBuilder,
    filter: FilterBuilder,
    /// Bytes written to `file` so far: the offset of the next block.
    offset: u64,
    num_entries: u64,
    /// The last block written, whose index entry waits for the next block's first key (its
    /// separator lies between the two).
    pending_index: Option<BlockHandle>,
    /// Scratch space for a separator.
    separator: Vec<u8>,
    /// The last internal key added.
    last: (Vec<u8>, SeqNum),
    smallest: Vec<u8>,
    min_seq: SeqNum,
    max_seq: SeqNum,
    /// Set by the first failed write; every later call returns it again.
    failed: Option<Error>,
}

impl TableBuilder {
    /// Starts a table in `file` (freshly created, empty) at `path` (used in messages).
    pub(crate) fn new(file: Box<dyn WritableFile>, path: PathBuf, opts: TableOptions) -> Self {
        TableBuilder {
            file,
            path,
            block_bytes: opts.block_bytes.min(MAX_BLOCK_BYTES),
            block: BlockBuilder::new(opts.restart_interval),
            index: IndexBuilder::new(),
            filter: FilterBuilder::new(opts.bloom_bits_per_key),
            offset: 0,
            num_entries: 0,
            pending_index: None,
            separator: Vec::new(),
            last: (Vec::new(), 0),
            smallest: Vec::new(),
            min_seq: SeqNum::MAX,
            max_seq: 0,
            failed: None,
        }
    }

    /// Adds one entry (a tombstone has `kind == Delete` and, normally, an empty value).
    ///
    /// REQUIRES: `(key, seq)` comes strictly after the previous entry in internal-key order
    /// (user key ascending, then sequence number descending).
    ///
    /// # Errors
    ///
    /// `InvalidArgument` for an oversized key or value or an entry out of order (the latter
    /// also fails a debug assertion: it is a bug in the caller); an I/O error when a block
    /// write fails, after which the builder stays failed.
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: SeqNum,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        if let Some(e) = &self.failed {
            return Err(e.duplicate());
        }
        check_key(key)?;
        check_value(value)?;
        let first_entry = self.num_entries == 0;
        if !first_entry {
            let ordered = compare_internal(&self.last.0, self.last.1, key, seq) == Ordering::Less;
            debug_assert!(ordered, "sstable entries added out of internal-key order");
            if !ordered {
                return Err(Error::invalid(format!(
                    "sstable {}: entry added out of internal-key order",
                    self.path.display()
                )));
            }
        }

        // Cut the block before an entry that would push it past the target size, so blocks
        // stay at or under `block_bytes` unless one entry alone is larger.
        if !self.block.is_empty()
            && self.block.size_estimate() + self.block.entry_size(key, seq, kind, value)
                > self.block_bytes
        {
            self.flush_block()?;
        }
        if let Some(handle) = self.pending_index.take() {
            self.add_index_entry(handle, Some((key, seq)));
        }
        if first_entry || key != self.last.0.as_slice() {
            self.filter.add_key_hash(key_hash(key));
        }
        self.block.add(key, seq, kind, value)?;

        if first_entry {
            self.smallest = key.to_vec();
        }
        self.last.0.clear();
        self.last.0.extend_from_slice(key);
        self.last.1 = seq;
        self.num_entries += 1;
        self.min_seq = self.min_seq.min(seq);
        self.max_seq = self.max_seq.max(seq);
        if self.block.size_estimate() >= self.block_bytes {
            self.flush_block()?;
        }
        Ok(())
    }

    /// Bytes written so far plus the block being filled: what the file would take now,
    /// give or take the filter, index and footer.
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn estimated_size(&self) -> u64 {
        let pending = if self.block.is_empty() {
            0
        } else {
            self.block.size_estimate()
        };
        self.offset + pending as u64
    }

    /// Entries added so far.
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn num_entries(&self) -> u64 {
        self.num_entries
    }

    /// Writes the last block, the filter, the index and the footer, then fsyncs the file.
    /// The directory entry is not synced: the caller does that before the manifest names
    /// the table.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when no entry was added (an empty table is never written); the
    /// first I/O error of any write or of the fsync. The file is then not a valid table.
    pub(crate) fn finish(mut self) -> Result<TableSummary> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        if self.num_entries == 0 {
            return Err(Error::invalid(format!(
                "sstable {}: cannot finish a table with no entries",
                self.path.display()
            )));
        }
        if !self.block.is_empty() {
            self.flush_block()?;
        }
        if let Some(handle) = self.pending_index.take() {
            self.add_index_entry(handle, None);
        }

        let filter = match self.filter.finish() {
            Some(bytes) => self.write_region(bytes)?,
            None => BlockHandle {
                offset: self.offset,
                len: 0,
            },
        };
        let index = self.write_region(self.index.finish())?;
        let footer = Footer {
            filter,
            index,
            format: FormatVersion::LATEST,
        }
        .encode();
        self.write(&footer)?;
        self.file.sync()?;

        Ok(TableSummary {
            file_size: self.offset,
            num_entries: self.num_entries,
            smallest: self.smallest,
            largest: self.last.0,
            min_seq: self.min_seq,
            max_seq: self.max_seq,
        })
    }

    /// Writes the block being filled; its index entry follows once the next key is known.
    fn flush_block(&mut self) -> Result<()> {
        let result = match self.block.finish() {
            Ok(bytes) => self.file.append(bytes).map(|()| bytes.len() as u64),
            Err(e) => Err(e),
        };
        let len = self.check(result)?;
        let handle = BlockHandle {
            offset: self.offset,
            len,
        };
        self.offset += len;
        self.block.reset();
        self.pending_index = Some(handle);
        Ok(())
    }

    /// Indexes the block at `handle`, whose last entry is the last key added, before a block
    /// starting at `next` (`None`: it is the table's last block).
    fn add_index_entry(&mut self, handle: BlockHandle, next: Option<(&[u8], SeqNum)>) {
        let seq = separator((&self.last.0, self.last.1), next, &mut self.separator);
        self.index.add(&self.separator, seq, handle.len);
    }

    /// Writes `contents` plus its CRC trailer; returns where they went.
    fn write_region(&mut self, mut contents: Vec<u8>) -> Result<BlockHandle> {
        let crc = checksum(&contents);
        contents.extend_from_slice(&crc.to_le_bytes());
        let offset = self.offset;
        self.write(&contents)?;
        Ok(BlockHandle {
            offset,
            len: contents.len() as u64,
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self.file.append(bytes);
        self.check(result)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Remembers the first failure so later calls report it too.
    fn check<T>(&mut self, result: Result<T>) -> Result<T> {
        if let Err(e) = &result {
            self.failed = Some(e.duplicate());
        }
        result
    }
}

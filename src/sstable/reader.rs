//! An open table: footer, index and filter read and verified once at open, then point
//! lookups that read at most one data block.
//!
//! A [`Table`] is immutable and `Send + Sync`; every thread reading the table shares one
//! `Arc<Table>`. Data blocks are read on demand and verified (checksum, every entry, keys
//! within the index's separators) the first time, before anything trusts them. Where the
//! file system maps files (the real one does), the table reads through a read-only memory
//! map: a block is a range of the map, verified once and then kept as a decoded view (a few
//! words per block, no copy), so later reads of it cost neither a syscall, a copy nor a
//! checksum. Otherwise blocks are read with `pread` and shared through the block cache when
//! there is one. The file (and map) stays open for as long as the `Table` lives; deleting a
//! table's file is the version set's business, once no reader holds the `Arc`.

use super::block::{Block, BlockBounds};
use super::bytes::BlockBytes;
use super::filter::BloomFilter;
use super::footer::{Footer, FOOTER_LEN};
use super::index::{BlockHandle, Index};
use super::iter::TableIter;
use super::prefetch::{prefetch, prefetch_ahead, prefetch_value};
use super::{checksum, FormatVersion};
use crate::cache::BlockCache;
use crate::env::{MappedFile, RandomAccessFile};
use crate::hash::legacy_key_hash;
use crate::types::{SeqNum, ValueKind};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, OnceLock};

/// The bytes at a block's end that hold its restart array (a 4 KiB block's few restart
/// offsets), its restart count and its checksum.
const TAIL_BYTES: usize = 40;

/// An open, immutable sstable.
#[derive(Debug)]
pub(crate) struct Table {
    file: Arc<dyn RandomAccessFile>,
    path: PathBuf,
    file_number: u64,
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    file_size: u64,
    format: FormatVersion,
    index: Index,
    filter: Option<BloomFilter>,
    cache: Option<Arc<BlockCache>>,
    /// The whole file, where the file system maps it.
    map: Option<Arc<MappedFile>>,
    /// With a map: each data block once verified, by index position (empty without one).
    mapped_blocks: Box<[OnceLock<Arc<Block>>]>,
    /// Lookups that consulted the filter.
    filter_checks: AtomicU64,
    /// Lookups the filter answered with "definitely absent".
    filter_negatives: AtomicU64,
}

impl Table {
    /// Opens the table in `file` (named `path` in messages, numbered `file_number` in the
    /// block cache). Reads and verifies the footer, then the filter and the index in one
    /// read; checks every offset and length against the file size.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming `path` when the file is too short, the magic, a checksum,
    /// the version or any offset, length or index entry is wrong; an I/O error from reading.
    pub(crate) fn open(
        file: Arc<dyn RandomAccessFile>,
        path: PathBuf,
        file_number: u64,
        cache: Option<Arc<BlockCache>>,
    ) -> Result<Table> {
        let file_size = file.len();
        let footer_at = file_size.checked_sub(FOOTER_LEN as u64).ok_or_else(|| {
            Error::corruption(
                &path,
                0,
                format!("file of {file_size} bytes is too short to be an sstable"),
            )
        })?;
        let mut footer_bytes = [0u8; FOOTER_LEN];
        file.read_exact_at(&mut footer_bytes, footer_at)?;
        let footer = Footer::decode(&footer_bytes, &path, footer_at)?;

        // The regions must sit back to back: data | filter | index | footer.
        let layout =
            |reason: &str| Error::corruption(&path, footer_at, format!("sstable footer: {reason}"));
        if footer.index.end() != Some(footer_at) {
            return Err(layout("index does not end where the footer begins"));
        }
        let meta_start = if footer.filter.len == 0 {
            if footer.filter.offset != footer.index.offset {
                return Err(layout("empty filter not at the index offset"));
            }
            footer.index.offset
        } else {
            if footer.filter.end() != Some(footer.index.offset) {
                return Err(layout("filter does not end where the index begins"));
            }
            footer.filter.offset
        };
        let meta_len = usize::try_from(footer_at - meta_start)
            .map_err(|_| layout("filter and index too large"))?;
        let mut meta = vec![0u8; meta_len];
        file.read_exact_at(&mut meta, meta_start)?;
        let filter_len =
            usize::try_from(footer.filter.len).map_err(|_| layout("filter too large"))?;
        let (filter_region, index_region) = meta.split_at(filter_len.min(meta.len()));

        let index_contents = verified(index_region, &path, footer.index.offset, "index")?;
        let index = Index::decode(index_contents, meta_start, footer.format)
            .map_err(|e| e.in_file(&path, footer.index.offset))?;

        let filter = if footer.filter.len == 0 {
            None
        } else {
            let contents = verified(filter_region, &path, footer.filter.offset, "filter")?;
            let filter = BloomFilter::decode(contents).ok_or_else(|| {
                Error::corruption(
                    &path,
                    footer.filter.offset,
                    format!(
                        "filter of {} bytes is not a whole number of buckets",
                        contents.len()
                    ),
                )
            })?;
            Some(filter)
        };

        let map = file.map()?;
        let mapped_blocks = match map {
            Some(_) => (0..index.len()).map(|_| OnceLock::new()).collect(),
            None => Box::default(),
        };
        Ok(Table {
            file,
            path,
            file_number,
            file_size,
            format: footer.format,
            index,
            filter,
            cache,
            map,
            mapped_blocks,
            filter_checks: AtomicU64::new(0),
            filter_negatives: AtomicU64::new(0),
        })
    }

    /// The newest version of `key` with a sequence number `<= snapshot`, or `None` when this
    /// table holds none. A tombstone is returned as such (kind `Delete`): it hides older
    /// versions in deeper tables. `key_hash` is [`crate::hash::key_hash`] of `key`, computed
    /// once by the caller for all the tables it asks (a version-1 table, whose filter was
    /// built with another hash, computes its own).
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming the file when the block read fails its checks; an I/O
    /// error from reading.
    pub(crate) fn get(
        &self,
        key: &[u8],
        key_hash: u64,
        snapshot: SeqNum,
    ) -> Result<Option<(SeqNum, ValueKind, Vec<u8>)>> {
        if let Some(filter) = &self.filter {
            bump(&self.filter_checks);
            let hash = match self.format {
                FormatVersion::V1 => legacy_key_hash(key),
                FormatVersion::V2 => key_hash,
            };
            if !filter.may_contain(hash) {
                bump(&self.filter_negatives);
                return Ok(None);
            }
        }
        let Some(i) = self.index.find(key, snapshot) else {
            return Ok(None);
        };
        let block = self.read_block(i)?;
        let found = block
            .get(key, snapshot)
            .map_err(|e| self.block_error(i, e))?;
        Ok(found.map(|(seq, kind, value)| (seq, kind, value.to_vec())))
    }

    /// A cursor over every entry of the table. It holds the table open while it lives.
    pub(crate) fn iter(self: &Arc<Self>) -> TableIter {
        TableIter::new(Arc::clone(self))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn file_number(&self) -> u64 {
        self.file_number
    }

    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn file_size(&self) -> u64 {
        self.file_size
    }

    /// The format version the table was written in.
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn format(&self) -> FormatVersion {
        self.format
    }

    /// (lookups that consulted the filter, lookups it answered "definitely absent").
    pub(crate) fn filter_stats(&self) -> (u64, u64) {
        (
            self.filter_checks.load(AtomicOrdering::Relaxed),
            self.filter_negatives.load(AtomicOrdering::Relaxed),
        )
    }

    pub(crate) fn index(&self) -> &Index {
        &self.index
    }

    /// Data block `i` (an index position): from the map, the cache or disk. A block is
    /// verified (checksum, structure, keys within the index's separators) before it is kept
    /// or returned the first time, so a kept or cached block is never checked again.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming the file and the block's offset; an I/O error.
    pub(crate) fn read_block(&self, i: usize) -> Result<Arc<Block>> {
        let handle = self
            .index
            .handle(i)
            .ok_or_else(|| Error::corruption(&self.path, 0, format!("no data block number {i}")))?;
        if let (Some(map), Some(slot)) = (&self.map, self.mapped_blocks.get(i)) {
            // A search of the block reads its restart array (at its end) and its first key
            // first: ask for both now, while the block's slot and header are on their way.
            if let Some(raw) = mapped_slice(map, handle) {
                let tail = raw.len().saturating_sub(TAIL_BYTES);
                for at in [0, tail, raw.len().saturating_sub(1)] {
                    prefetch(raw.get(at..=at).unwrap_or_default());
                }
            }
            if let Some(block) = slot.get() {
                return Ok(Arc::clone(block));
            }
            // Verifying reads every line of the block: ask for all of them at once.
            self.prefetch_block(i);
            // Two threads may verify the same block at once; both results are equal and
            // the first one stored wins.
            let raw = self.mapped_bytes(map, handle)?;
            let block = Arc::new(self.verify_block(i, handle, raw)?);
            return Ok(Arc::clone(slot.get_or_init(|| block)));
        }
        let offset = handle.offset;
        if let Some(cache) = &self.cache {
            if let Some(block) = cache.get(self.file_number, offset) {
                return Ok(block);
            }
        }
        let block = Arc::new(self.load_block(i, handle)?);
        if let Some(cache) = &self.cache {
            cache.insert(self.file_number, offset, Arc::clone(&block));
        }
        Ok(block)
    }

    /// Data block `i` for a scan entering it at its first entry: the verified block if one
    /// is kept (`true`), or else one that is only checksummed (`false`), which the caller
    /// must read through a walking cursor and hand to [`Table::keep_walked`] once the walk
    /// passed every entry and the index's bounds.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming the file and the block's offset; an I/O error.
    pub(crate) fn read_block_for_scan(&self, i: usize) -> Result<(Arc<Block>, bool)> {
        let handle = self
            .index
            .handle(i)
            .ok_or_else(|| Error::corruption(&self.path, 0, format!("no data block number {i}")))?;
        if let (Some(map), Some(slot)) = (&self.map, self.mapped_blocks.get(i)) {
            if let Some(block) = slot.get() {
                return Ok((Arc::clone(block), true));
            }
            let raw = self.mapped_bytes(map, handle)?;
            let block = Block::checksummed(raw, self.format, &self.path, handle.offset)?;
            return Ok((Arc::new(block), false));
        }
        if let Some(block) = self
            .cache
            .as_ref()
            .and_then(|c| c.get(self.file_number, handle.offset))
        {
            return Ok((block, true));
        }
        let raw = self.read_raw(handle)?;
        let block = Block::checksummed(raw, self.format, &self.path, handle.offset)?;
        Ok((Arc::new(block), false))
    }

    /// Asks the CPU to start loading what a seek for `target` will read first: the slot of
    /// the block that can hold it, and that block's first line and restart array. A seek
    /// over many sources asks this of all of them before it seeks any, so that their cache
    /// misses overlap instead of following one another.
    pub(crate) fn prefetch_seek(&self, target: &[u8]) {
        let Some(i) = self.index.find(target, SeqNum::MAX) else {
            return;
        };
        if let (Some(map), Some(slot), Some(handle)) =
            (&self.map, self.mapped_blocks.get(i), self.index.handle(i))
        {
            prefetch_value(slot);
            if let Some(raw) = mapped_slice(map, handle) {
                let tail = raw.len().saturating_sub(TAIL_BYTES);
                prefetch(raw.get(..1).unwrap_or_default());
                prefetch(raw.get(tail..).unwrap_or_default());
            }
        }
    }

    /// Asks the CPU to start loading data block `i` from the map, for a scan that will
    /// come to it next (a no-op without a map). A scan's first read of a block is its
    /// checksum, which otherwise waits on every line of the block in turn: the hardware's
    /// own prefetching stops at page boundaries, and a block is about a page.
    pub(crate) fn prefetch_block(&self, i: usize) {
        if let (Some(map), Some(handle)) = (&self.map, self.index.handle(i)) {
            if let Some(raw) = mapped_slice(map, handle) {
                prefetch_ahead(raw);
            }
        }
    }

    /// Keeps data block `i`, read by [`Table::read_block_for_scan`] and walked to its end
    /// with every check passed (the caller checked its first and last entries against
    /// [`Table::block_bounds`]), as verified: later reads use it without a check.
    pub(crate) fn keep_walked(&self, i: usize, block: &Arc<Block>) {
        if let Some(slot) = self.mapped_blocks.get(i) {
            let _ = slot.get_or_init(|| Arc::clone(block));
        } else if let (Some(cache), Some(handle)) = (&self.cache, self.index.handle(i)) {
            cache.insert(self.file_number, handle.offset, Arc::clone(block));
        }
    }

    /// What the index says of data block `i`'s entries: after the previous block's
    /// separator, at or before its own.
    pub(crate) fn block_bounds(&self, i: usize) -> Option<BlockBounds<'_>> {
        self.index.separator(i).map(|upto| BlockBounds {
            after: i.checked_sub(1).and_then(|prev| self.index.separator(prev)),
            upto,
        })
    }

    fn load_block(&self, i: usize, handle: BlockHandle) -> Result<Block> {
        let raw = self.read_raw(handle)?;
        self.verify_block(i, handle, raw.into())
    }

    /// Reads a block's bytes (trailer included) with `pread`.
    fn read_raw(&self, handle: BlockHandle) -> Result<Vec<u8>> {
        let BlockHandle { offset, len } = handle;
        let len = usize::try_from(len).map_err(|_| {
            Error::corruption(
                &self.path,
                offset,
                "data block length does not fit in memory",
            )
        })?;
        let mut raw = vec![0u8; len];
        self.file.read_exact_at(&mut raw, offset)?;
        Ok(raw)
    }

    /// The block's bytes as a range of the map.
    fn mapped_bytes(&self, map: &Arc<MappedFile>, handle: BlockHandle) -> Result<BlockBytes> {
        let BlockHandle { offset, len } = handle;
        let range = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(len).ok())
            .and_then(|(start, len)| Some(start..start.checked_add(len)?));
        range
            .and_then(|range| BlockBytes::mapped(map, range))
            .ok_or_else(|| Error::corruption(&self.path, offset, "data block past end of file"))
    }

    /// Checks data block `i`'s bytes (checksum, every entry) and that its keys lie within
    /// its index separators, and decodes them.
    fn verify_block(&self, i: usize, handle: BlockHandle, raw: BlockBytes) -> Result<Block> {
        // The index was verified on its own; make sure it describes this very block.
        Block::from_disk(
            raw,
            self.format,
            self.block_bounds(i),
            &self.path,
            handle.offset,
        )
    }

    /// A decoding error in data block `i`, as a corruption naming the file and the offset.
    pub(crate) fn block_error(&self, i: usize, e: crate::error::DecodeError) -> Error {
        let offset = self.index.handle(i).map_or(0, |h| h.offset);
        e.in_file(&self.path, offset)
    }
}

/// The bytes of the block at `handle` in `map`; `None` when they are not all inside it.
fn mapped_slice(map: &MappedFile, handle: BlockHandle) -> Option<&[u8]> {
    let start = usize::try_from(handle.offset).ok()?;
    let len = usize::try_from(handle.len).ok()?;
    map.bytes().get(start..)?.get(..len)
}

/// Adds one to a statistics counter without a locked instruction: a lookup probes a table
/// per level, and an atomic add per probe was a measurable share of a lookup that the filter
/// answers. Exact for one thread; concurrent readers of one table may lose an increment,
/// which a statistic can afford.
fn bump(counter: &AtomicU64) {
    counter.store(
        counter.load(AtomicOrdering::Relaxed).wrapping_add(1),
        AtomicOrdering::Relaxed,
    );
}

/// Splits a region's CRC trailer off and checks it.
fn verified<'a>(region: &'a [u8], path: &Path, offset: u64, what: &str) -> Result<&'a [u8]> {
    let contents_len = region.len().checked_sub(4).ok_or_else(|| {
        Error::corruption(
            path,
            offset,
            format!("sstable {what} shorter than its checksum"),
        )
    })?;
    let (contents, trailer) = region.split_at(contents_len);
    let mut stored = [0u8; 4];
    stored.copy_from_slice(trailer);
    if u32::from_le_bytes(stored) != checksum(contents) {
        return Err(Error::corruption(
            path,
            offset,
            format!("sstable {what} checksum mismatch"),
        ));
    }
    Ok(contents)
}

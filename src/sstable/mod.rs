//! Sorted string tables: the immutable files that memtables are flushed to and compaction
//! rewrites.
//!
//! A table is written once, front to back, by a [`TableBuilder`] (owned by the one flush or
//! compaction thread producing it) and then opened as a [`Table`], which any number of
//! threads share through an `Arc` for point reads ([`Table::get`]) and scans
//! ([`Table::iter`]). The layout, byte by byte, is in `doc/FORMAT.md` (section "SSTables");
//! new tables are format version 2, and version-1 tables still read:
//!
//! ```text
//! data block 0 | ... | data block n-1 | filter (optional) | block index | footer (48 bytes)
//! ```
//!
//! Each piece lives in its own module: `block` (prefix-compressed entries, restart points,
//! the search and cursor inside a block), `filter` (the bloom filter over user keys), `index`
//! (one separator per data block, and the search for a key's block), `footer` (where the
//! filter and the index are, magic and version), `builder` (the writer), `reader` (opening and
//! point lookups) and `iter` (the cursor). Every block, the filter, the index and the footer
//! carry a CRC32; every length and offset read from disk is checked before it is used, so a
//! damaged file yields [`crate::Error::Corruption`] naming the file and offset, never a panic
//! or wrong data.

// Bytes from disk are only read through `crate::coding::Decoder` or `get`.
#![warn(clippy::indexing_slicing)]

mod block;
mod builder;
mod bytes;
mod filter;
mod footer;
mod index;
mod iter;
mod prefetch;
mod reader;

#[cfg(test)]
pub(crate) use block::test_block;
pub(crate) use block::{Block, BlockIter};
pub(crate) use builder::TableBuilder;
pub(crate) use filter::FILTER_BUCKET_BYTES;
pub(crate) use footer::{Footer, FOOTER_LEN, TABLE_MAGIC};
pub(crate) use iter::TableIter;
pub(crate) use reader::Table;

use crate::types::SeqNum;

/// The table layouts this code reads; it writes the newest. The number is the footer's
/// `format_version`. On disk: never change what a number means; a new layout gets a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FormatVersion {
    /// Whole keys, 8-byte tags, an offsets array per block; first and last keys in the index;
    /// the filter hashed with [`crate::hash::legacy_key_hash`].
    V1 = 1,
    /// Prefix-compressed keys with restart points, varint tags, shortest separators in the
    /// index; the filter hashed with XXH3 ([`crate::hash::key_hash`]).
    V2 = 2,
}

impl FormatVersion {
    /// The version new tables are written in.
    pub(crate) const LATEST: FormatVersion = FormatVersion::V2;

    pub(crate) fn from_u32(v: u32) -> Option<FormatVersion> {
        match v {
            1 => Some(FormatVersion::V1),
            2 => Some(FormatVersion::V2),
            _ => None,
        }
    }
}

/// How tables are laid out. Taken from [`crate::Options`] when the DB builds a table; a table
/// records nothing of these beyond what its layout shows, so they may change between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TableOptions {
    /// Target size of a data block on disk, trailer included. A block is cut before an entry
    /// that would push it past this size, so an entry larger than this gets a block of its
    /// own. Values above [`crate::MAX_BLOCK_BYTES`] are treated as that maximum.
    pub block_bytes: usize,
    /// Bloom filter bits per distinct user key; 0 writes no filter.
    pub bloom_bits_per_key: u32,
    /// Every this many entries of a data block, one stores its key whole and is listed in
    /// the block's restart array: fewer make seeks step further, more cost four bytes each.
    pub restart_interval: usize,
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            block_bytes: 4096,
            bloom_bits_per_key: 10,
            restart_interval: 16,
        }
    }
}

/// What a finished table holds: the facts the manifest records about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableSummary {
    /// Size of the complete file in bytes.
    pub file_size: u64,
    /// Entries (versions, tombstones included) in the table.
    pub num_entries: u64,
    /// The smallest user key in the table.
    pub smallest: Vec<u8>,
    /// The largest user key in the table.
    pub largest: Vec<u8>,
    /// The lowest sequence number of any entry.
    pub min_seq: SeqNum,
    /// The highest sequence number of any entry.
    pub max_seq: SeqNum,
}

/// The CRC32 used by every checksummed region of a table. Part of the format: never change.
fn checksum(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests;

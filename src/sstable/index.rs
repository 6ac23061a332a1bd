//! The block index: one entry per data block with its position and its first and last
//! internal keys, so a lookup finds the one block that can hold a key by binary search.
//!
//! ```text
//! index contents = count (u32) | count x index_entry
//! index_entry    = offset (u64) | len (u64)
//!                | varint first_key_len | first_key | first_tag (u64)
//!                | varint last_key_len  | last_key  | last_tag (u64)
//! ```
//! followed on disk by a CRC32 trailer. `len` covers the block's trailer.
//!
//! [`IndexBuilder`] is owned by the table builder. [`Index`] is decoded and fully validated
//! once when a table opens and then kept in memory, immutable, for the table's lifetime.

use super::block::{put_internal_key, tag, BLOCK_TRAILER_LEN};
use crate::coding::{put_u32, put_u64, Decoder};
use crate::error::DecodeError;
use crate::types::{compare_internal, SeqNum, ValueKind};
use std::cmp::Ordering;

/// The smallest possible data block on disk: one entry with an empty key and value (10
/// bytes), one offset, the count and the trailer.
const MIN_BLOCK_LEN: u64 = 10 + 4 + 4 + BLOCK_TRAILER_LEN as u64;

/// Where a region of the file lies. `len` includes the region's CRC trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    pub offset: u64,
    pub len: u64,
}

impl BlockHandle {
    pub(crate) fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.len)
    }
}

/// What the index knows about one data block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexEntry {
    pub handle: BlockHandle,
    pub first_key: Vec<u8>,
    pub first_seq: SeqNum,
    pub last_key: Vec<u8>,
    pub last_seq: SeqNum,
}

/// Encodes index entries as data blocks are written.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    entries: Vec<u8>,
    count: u32,
}

/// The first or last internal key of a block, as the builder hands it over.
pub(crate) type KeyRef<'a> = (&'a [u8], SeqNum, ValueKind);

impl IndexBuilder {
    pub(crate) fn new() -> Self {
        IndexBuilder::default()
    }

    pub(crate) fn add(&mut self, handle: BlockHandle, first: KeyRef<'_>, last: KeyRef<'_>) {
        put_u64(&mut self.entries, handle.offset);
        put_u64(&mut self.entries, handle.len);
        put_internal_key(&mut self.entries, first.0, first.1, first.2);
        put_internal_key(&mut self.entries, last.0, last.1, last.2);
        self.count += 1;
    }

    /// Bytes the index contents would take now (without the trailer).
    pub(crate) fn size_estimate(&self) -> usize {
        4 + self.entries.len()
    }

    /// The index contents, without the trailer.
    pub(crate) fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.size_estimate());
        put_u32(&mut out, self.count);
        out.extend_from_slice(&self.entries);
        out
    }
}

/// The decoded index of an open table.
#[derive(Debug)]
pub(crate) struct Index {
    entries: Vec<IndexEntry>,
}

impl Index {
    /// Decodes index contents (trailer already verified and removed) and checks that the
    /// blocks exactly tile `[0, data_end)` in order and that their key ranges are ordered
    /// and disjoint.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] (offsets relative to the contents' first byte) naming the first bad
    /// field.
    pub(crate) fn decode(contents: &[u8], data_end: u64) -> Result<Index, DecodeError> {
        let mut d = Decoder::new(contents);
        let count = d.u32("index entry count")?;
        if count == 0 {
            return Err(DecodeError {
                field: "index entry count (zero)",
                offset: 0,
            });
        }
        // Each entry takes at least 34 bytes: never trust `count` for an allocation.
        let mut entries: Vec<IndexEntry> =
            Vec::with_capacity((count as usize).min(d.remaining() / 34));
        let mut expected_offset = 0u64;
        for _ in 0..count {
            let at = d.position();
            let bad = |field| DecodeError { field, offset: at };
            let offset = d.u64("index block offset")?;
            let len = d.u64("index block length")?;
            let first_key = d.len_prefixed("index first key")?.to_vec();
            let (first_seq, _) = tag(&mut d)?;
            let last_key = d.len_prefixed("index last key")?.to_vec();
            let (last_seq, _) = tag(&mut d)?;
            let handle = BlockHandle { offset, len };
            if offset != expected_offset {
                return Err(bad("index block offset (blocks not contiguous)"));
            }
            if len < MIN_BLOCK_LEN {
                return Err(bad("index block length (too short)"));
            }
            expected_offset = handle
                .end()
                .filter(|&end| end <= data_end)
                .ok_or(bad("index block length (past the data blocks)"))?;
            if compare_internal(&first_key, first_seq, &last_key, last_seq) == Ordering::Greater {
                return Err(bad("index keys (first after last)"));
            }
            if let Some(prev) = entries.last() {
                if compare_internal(&prev.last_key, prev.last_seq, &first_key, first_seq)
                    != Ordering::Less
                {
                    return Err(bad("index keys (blocks overlap)"));
                }
            }
            entries.push(IndexEntry {
                handle,
                first_key,
                first_seq,
                last_key,
                last_seq,
            });
        }
        if !d.is_empty() {
            return Err(DecodeError {
                field: "index (trailing bytes)",
                offset: d.position(),
            });
        }
        if expected_offset != data_end {
            return Err(DecodeError {
                field: "index (blocks do not cover the data region)",
                offset: d.position(),
            });
        }
        Ok(Index { entries })
    }

    /// Number of data blocks (at least one).
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn entry(&self, i: usize) -> Option<&IndexEntry> {
        self.entries.get(i)
    }

    /// The first block whose last internal key is at or after `(key, seq)`: the only block
    /// that can hold the first entry at or after that key. `None` past the last block.
    pub(crate) fn find(&self, key: &[u8], seq: SeqNum) -> Option<usize> {
        let i = self.entries.partition_point(|e| {
            compare_internal(&e.last_key, e.last_seq, key, seq) == Ordering::Less
        });
        (i < self.entries.len()).then_some(i)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::types::ValueKind::Put;

    fn two_blocks() -> Vec<u8> {
        let mut b = IndexBuilder::new();
        b.add(
            BlockHandle {
                offset: 0,
                len: 100,
            },
            (b"a", 5, Put),
            (b"c", 2, Put),
        );
        b.add(
            BlockHandle {
                offset: 100,
                len: 50,
            },
            (b"c", 1, Put),
            (b"f", 9, Put),
        );
        b.finish()
    }

    #[test]
    fn find_picks_the_first_block_whose_last_key_is_not_before_the_target() {
        let index = Index::decode(&two_blocks(), 150).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.find(b"", 0), Some(0));
        assert_eq!(index.find(b"c", 3), Some(0));
        assert_eq!(index.find(b"c", 2), Some(0));
        assert_eq!(index.find(b"c", 1), Some(1));
        assert_eq!(index.find(b"f", 9), Some(1));
        assert_eq!(index.find(b"f", 8), None);
        assert_eq!(index.find(b"g", u64::MAX), None);
        assert_eq!(index.entry(1).unwrap().handle.offset, 100);
    }

    #[test]
    fn layouts_that_do_not_tile_the_data_region_are_rejected() {
        let bytes = two_blocks();
        assert!(Index::decode(&bytes, 151).is_err());
        assert!(Index::decode(&bytes, 149).is_err());
        for len in 0..bytes.len() {
            assert!(Index::decode(&bytes[..len], 150).is_err());
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(Index::decode(&trailing, 150).is_err());
        let mut overlap = IndexBuilder::new();
        let h = |offset| BlockHandle { offset, len: 30 };
        overlap.add(h(0), (b"a", 1, Put), (b"c", 1, Put));
        overlap.add(h(30), (b"b", 1, Put), (b"d", 1, Put));
        let err = Index::decode(&overlap.finish(), 60).unwrap_err();
        assert_eq!(err.field, "index keys (blocks overlap)");
        assert!(Index::decode(&IndexBuilder::new().finish(), 0).is_err());
    }
}

//! The bytes of one data block: either a copy read with `pread` (owned) or a range of the
//! table's read-only memory map (shared with the page cache, nothing copied).
//!
//! [`super::Block`] reads its bytes through this type only, so the block format code is the
//! same for both ways of reading a table. The range of a mapped block is checked against
//! the map when it is made, so reading it never fails.

use crate::env::MappedFile;
use std::ops::{Deref, Range};
use std::sync::Arc;

pub(crate) enum BlockBytes {
    Owned(Vec<u8>),
    Mapped {
        map: Arc<MappedFile>,
        range: Range<usize>,
    },
}

impl BlockBytes {
    /// `range` of `map`, or `None` when the range is not inside the map.
    pub(crate) fn mapped(map: &Arc<MappedFile>, range: Range<usize>) -> Option<BlockBytes> {
        map.bytes().get(range.clone())?;
        Some(BlockBytes::Mapped {
            map: Arc::clone(map),
            range,
        })
    }

    /// Keeps the first `len` bytes (no-op when already shorter).
    pub(crate) fn truncate(&mut self, len: usize) {
        match self {
            BlockBytes::Owned(v) => v.truncate(len),
            BlockBytes::Mapped { range, .. } => {
                range.end = range.end.min(range.start.saturating_add(len));
            }
        }
    }

    /// Heap bytes held (what a cache should charge); a mapped block holds none of its own.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            BlockBytes::Owned(v) => v.capacity(),
            BlockBytes::Mapped { .. } => 0,
        }
    }
}

impl From<Vec<u8>> for BlockBytes {
    fn from(v: Vec<u8>) -> Self {
        BlockBytes::Owned(v)
    }
}

impl Deref for BlockBytes {
    type Target = [u8];

    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            BlockBytes::Owned(v) => v,
            // In range by construction; the fallback is never taken.
            BlockBytes::Mapped { map, range } => map.bytes().get(range.clone()).unwrap_or_default(),
        }
    }
}

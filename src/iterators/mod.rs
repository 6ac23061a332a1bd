//! Internal iterators: cursors over versioned entries (user key, sequence number, kind,
//! value) in internal-key order.
//!
//! Every source of entries (memtable, sstable) implements [`InternalIterator`]; the merge
//! iterator combines them; thin adapters on top apply snapshot visibility, hide tombstones and
//! enforce range bounds. An iterator that returned an error stays failed: `valid()` is false
//! and every later `next`/`seek` returns the error again.

pub(crate) mod merge;
pub(crate) mod user_iter;

use crate::memtable::MemTableIter;
use crate::types::{SeqNum, ValueKind};
use crate::version::LevelIter;
use crate::Result;

/// What orders and classifies an entry: its user key, sequence number and kind.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EntryHead<'a> {
    pub key: &'a [u8],
    pub seq: SeqNum,
    pub kind: ValueKind,
}

impl EntryHead<'_> {
    /// What a source that is not on an entry answers (callers check `valid()` first).
    pub(crate) const NONE: EntryHead<'static> = EntryHead {
        key: &[],
        seq: 0,
        kind: ValueKind::Delete,
    };
}

/// A cursor over entries sorted by user key ascending, then sequence number descending.
///
/// Borrowed slices returned by `key` and `value` stay valid until the next call that takes
/// `&mut self`.
pub(crate) trait InternalIterator: Send {
    /// Whether the cursor is on an entry. False before the first seek, at the end, and after
    /// an error.
    fn valid(&self) -> bool;

    /// REQUIRES: `valid()`. The current entry's user key.
    fn key(&self) -> &[u8];

    /// REQUIRES: `valid()`. The current entry's sequence number.
    fn seq(&self) -> SeqNum;

    /// REQUIRES: `valid()`. Whether the current entry is a put or a tombstone.
    fn kind(&self) -> ValueKind;

    /// REQUIRES: `valid()`. The current entry's value (empty for a tombstone).
    fn value(&self) -> &[u8];

    /// REQUIRES: `valid()`. The current entry's key, sequence number and kind in one call:
    /// a stack of iterators answers it with one walk down to the source instead of three.
    #[inline(always)]
    fn head(&self) -> EntryHead<'_> {
        EntryHead {
            key: self.key(),
            seq: self.seq(),
            kind: self.kind(),
        }
    }

    /// REQUIRES: `valid()`. Moves to the next entry.
    fn next(&mut self) -> Result<()>;

    /// A hint that `seek(target)` comes next: a source may ask the CPU for the memory the
    /// seek will read first. Does nothing by default.
    #[inline]
    fn prepare_seek(&self, target: &[u8]) {
        let _ = target;
    }

    /// Positions on the first entry whose user key is `>= target` (its newest version).
    fn seek(&mut self, target: &[u8]) -> Result<()>;

    /// Positions on the first entry.
    fn seek_to_first(&mut self) -> Result<()>;
}

impl<I: InternalIterator + ?Sized> InternalIterator for Box<I> {
    fn valid(&self) -> bool {
        (**self).valid()
    }
    fn key(&self) -> &[u8] {
        (**self).key()
    }
    fn seq(&self) -> SeqNum {
        (**self).seq()
    }
    fn kind(&self) -> ValueKind {
        (**self).kind()
    }
    fn value(&self) -> &[u8] {
        (**self).value()
    }
    fn head(&self) -> EntryHead<'_> {
        (**self).head()
    }
    fn next(&mut self) -> Result<()> {
        (**self).next()
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        (**self).seek(target)
    }
    fn seek_to_first(&mut self) -> Result<()> {
        (**self).seek_to_first()
    }
}

/// One source of a scan: a memtable, or one sorted run of sstables (an L0 file, or a whole
/// deeper level).
///
/// An enum rather than a boxed trait object: a scan step asks its sources for keys, sequence
/// numbers and values several times, and a match the compiler sees through lets those calls
/// inline down to the block cursor, where a virtual call per question did not.
// A scan holds a handful of these side by side in one vector; boxing the large variant
// would bring back the pointer chase per step that the enum is here to avoid.
#[allow(clippy::large_enum_variant)]
pub(crate) enum ScanSource {
    Mem(MemTableIter),
    Level(LevelIter),
}

/// Forwards a method to whichever source this is.
macro_rules! each_source {
    ($self:ident, $it:ident => $call:expr) => {
        match $self {
            ScanSource::Mem($it) => $call,
            ScanSource::Level($it) => $call,
        }
    };
}

impl InternalIterator for ScanSource {
    #[inline]
    fn valid(&self) -> bool {
        each_source!(self, it => it.valid())
    }
    #[inline]
    fn key(&self) -> &[u8] {
        each_source!(self, it => it.key())
    }
    #[inline]
    fn seq(&self) -> SeqNum {
        each_source!(self, it => it.seq())
    }
    #[inline]
    fn kind(&self) -> ValueKind {
        each_source!(self, it => it.kind())
    }
    #[inline]
    fn value(&self) -> &[u8] {
        each_source!(self, it => it.value())
    }
    #[inline(always)]
    fn head(&self) -> EntryHead<'_> {
        each_source!(self, it => it.head())
    }
    #[inline]
    fn next(&mut self) -> Result<()> {
        each_source!(self, it => it.next())
    }
    fn prepare_seek(&self, target: &[u8]) {
        each_source!(self, it => it.prepare_seek(target))
    }
    fn seek(&mut self, target: &[u8]) -> Result<()> {
        each_source!(self, it => it.seek(target))
    }
    fn seek_to_first(&mut self) -> Result<()> {
        each_source!(self, it => it.seek_to_first())
    }
}

/// A test helper: an iterator over a sorted vector of owned entries.
#[cfg(test)]
pub(crate) mod vec_iter {
    use super::*;

    pub(crate) type Entry = (Vec<u8>, SeqNum, ValueKind, Vec<u8>);

    pub(crate) struct VecIter {
        entries: Vec<Entry>,
        pos: usize,
    }

    impl VecIter {
        /// `entries` must already be in internal-key order.
        pub(crate) fn new(entries: Vec<Entry>) -> Self {
            let pos = entries.len();
            VecIter { entries, pos }
        }
    }

    impl InternalIterator for VecIter {
        fn valid(&self) -> bool {
            self.pos < self.entries.len()
        }
        fn key(&self) -> &[u8] {
            &self.entries[self.pos].0
        }
        fn seq(&self) -> SeqNum {
            self.entries[self.pos].1
        }
        fn kind(&self) -> ValueKind {
            self.entries[self.pos].2
        }
        fn value(&self) -> &[u8] {
            &self.entries[self.pos].3
        }
        fn next(&mut self) -> Result<()> {
            self.pos += 1;
            Ok(())
        }
        fn seek(&mut self, target: &[u8]) -> Result<()> {
            self.pos = self.entries.partition_point(|e| e.0.as_slice() < target);
            Ok(())
        }
        fn seek_to_first(&mut self) -> Result<()> {
            self.pos = 0;
            Ok(())
        }
    }
}

//! Cursors: range scans over a consistent snapshot.
//!
//! A cursor owns everything it reads (the memtables and sstables of the moment it was
//! opened), so later writes, flushes and compactions do not change what it returns. It may
//! move between threads but is used by one at a time. After the database is closed, its
//! calls fail with [`crate::Error::Closed`].

use crate::db::{DbInner, SuperVersion};
use crate::iterators::merge::MergeIterator;
use crate::iterators::user_iter::UserIterator;
use crate::iterators::ScanSource;
use crate::types::SeqNum;
use crate::Result;
use std::sync::Arc;

/// Live entries of a key range, in key order, as of the moment the cursor was opened.
pub struct Cursor {
    db: Arc<DbInner>,
    seq: SeqNum,
    /// Keeps the files the cursor reads from being deleted until it is dropped.
    _pinned: Arc<SuperVersion>,
    iter: UserIterator<MergeIterator<ScanSource>>,
}

impl std::fmt::Debug for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cursor").field("seq", &self.seq).finish()
    }
}

impl Cursor {
    /// A cursor over `[start, end)` of `sv` at `seq`. REQUIRES: `seq` is pinned for it.
    pub(crate) fn new(
        db: Arc<DbInner>,
        seq: SeqNum,
        sv: Arc<SuperVersion>,
        start: Option<&[u8]>,
        end: Option<&[u8]>,
    ) -> Self {
        let iter = sv.scan(seq, start.map(<[u8]>::to_vec), end.map(<[u8]>::to_vec));
        Cursor {
            db,
            seq,
            _pinned: sv,
            iter,
        }
    }

    /// The next entry, or `None` past the end of the range (and on every later call until
    /// a seek). The slices are valid until the next call on this cursor.
    ///
    /// # Errors
    /// `Closed` once the database is closed; `Corruption` or `Io` from an sstable (the cursor
    /// then stays failed).
    pub fn next_entry(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        self.db.check_open()?;
        self.iter.advance()
    }

    /// Repositions so that the next entry is the first key `>= key` within the range.
    pub fn seek(&mut self, key: &[u8]) -> Result<()> {
        self.db.check_open()?;
        self.iter.seek(key)
    }
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.db.unpin_snapshot(self.seq);
    }
}

/// Owned copies of each entry, for `for` loops.
impl Iterator for Cursor {
    type Item = Result<(Vec<u8>, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry()
            .map(|entry| entry.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .transpose()
    }
}

//! Snapshots: a read-only view of the database pinned at one sequence number.
//!
//! A snapshot keeps the memtables and sstables it reads alive and tells compaction not to
//! drop versions it can still see. Reads through it fail with [`crate::Error::Closed`] once
//! the database is closed.

use crate::cursor::Cursor;
use crate::db::{DbInner, SuperVersion};
use crate::types::{check_key, SeqNum};
use crate::Result;
use std::sync::Arc;

/// The database exactly as it was when the snapshot was taken.
pub struct Snapshot {
    db: Arc<DbInner>,
    seq: SeqNum,
    sv: Arc<SuperVersion>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

impl Snapshot {
    pub(crate) fn new(db: Arc<DbInner>, seq: SeqNum, sv: Arc<SuperVersion>) -> Self {
        Snapshot { db, seq, sv }
    }

    /// The value `key` had when the snapshot was taken.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.db.check_open()?;
        check_key(key)?;
        self.sv.get(key, self.seq)
    }

    /// A cursor over the live entries of `range` as of the snapshot.
    pub fn scan<K: AsRef<[u8]>, R: std::ops::RangeBounds<K>>(&self, range: R) -> Result<Cursor> {
        let (start, end) = crate::db::half_open(range);
        self.scan_bounds(start.as_deref(), end.as_deref())
    }

    /// A cursor over `[start, end)` as of the snapshot; `None` is unbounded.
    pub fn scan_bounds(&self, start: Option<&[u8]>, end: Option<&[u8]>) -> Result<Cursor> {
        self.db.check_open()?;
        let (seq, sv) = self.db.pin_existing(self.seq, &self.sv);
        Ok(Cursor::new(Arc::clone(&self.db), seq, sv, start, end))
    }

    /// The sequence number this snapshot reads at.
    pub fn sequence(&self) -> SeqNum {
        self.seq
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.db.unpin_snapshot(self.seq);
    }
}

//! The table cache: which live sstables are open (file descriptor, map, index and filter in
//! memory), bounded by `max_open_files`.
//!
//! A [`super::TableFile`] opens its table on first use through this cache and keeps it until
//! the cache closes it to make room. The cache keeps the open files in a ring and evicts by
//! the clock rule: a file used since the hand last passed gets a second chance, the first one
//! not used is closed. Closing drops the file's reference to its `Table`; a reader still
//! holding the `Arc<Table>` (a cursor, a compaction's inputs) finishes with it undisturbed,
//! so the number of open tables can exceed the limit only by what readers hold at that
//! moment.
//! A table is opened again (and its footer, index and filter verified again) on its next use.
//!
//! One cache per database, shared by every thread; opening and evicting take its lock, a
//! lookup of an open table takes only the file's own read lock.

use super::TableFile;
use crate::cache::BlockCache;
use crate::sstable::Table;
use crate::Result;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

pub(crate) struct TableCache {
    /// The block cache every table opened here reads through.
    block_cache: Option<Arc<BlockCache>>,
    /// At most this many tables are kept open.
    capacity: usize,
    /// Files whose table is open, in clock order (the hand is the front).
    open: Mutex<VecDeque<Weak<TableFile>>>,
}

impl std::fmt::Debug for TableCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableCache")
            .field("capacity", &self.capacity)
            .field("open", &self.open.lock().len())
            .finish()
    }
}

impl TableCache {
    /// A cache keeping at most `capacity` tables open (at least one).
    pub(crate) fn new(block_cache: Option<Arc<BlockCache>>, capacity: usize) -> TableCache {
        TableCache {
            block_cache,
            capacity: capacity.max(1),
            open: Mutex::new(VecDeque::new()),
        }
    }

    pub(crate) fn block_cache(&self) -> Option<Arc<BlockCache>> {
        self.block_cache.clone()
    }

    /// Tables open now, and the limit.
    pub(crate) fn usage(&self) -> (usize, usize) {
        (self.open.lock().len(), self.capacity)
    }

    /// The table of `file`, opening it (and closing the least recently used others past
    /// the limit) when it is not open.
    ///
    /// # Errors
    /// An I/O error or [`crate::Error::Corruption`] from opening the table.
    pub(crate) fn table(&self, file: &Arc<TableFile>) -> Result<Arc<Table>> {
        let mut open = self.open.lock();
        // Another thread may have opened it while this one waited for the lock.
        if let Some(table) = file.open_table() {
            return Ok(table);
        }
        let path = file.path();
        let table = Arc::new(Table::open(
            file.fs().open_random(path)?,
            path.to_path_buf(),
            file.meta.number,
            self.block_cache.clone(),
        )?);
        file.set_table(Some(Arc::clone(&table)));
        open.push_back(Arc::downgrade(file));
        self.evict_past_capacity(&mut open);
        Ok(table)
    }

    /// Records that `file`'s table (just opened by its creator) is open.
    pub(crate) fn register(&self, file: &Arc<TableFile>) {
        let mut open = self.open.lock();
        open.push_back(Arc::downgrade(file));
        self.evict_past_capacity(&mut open);
    }

    /// The clock: past the limit, a file used since the hand last passed is spared once
    /// (its mark cleared), the first unmarked one is closed. Files already dropped leave the
    /// ring as the hand meets them.
    fn evict_past_capacity(&self, open: &mut VecDeque<Weak<TableFile>>) {
        if open.len() > self.capacity {
            open.retain(|weak| weak.strong_count() > 0);
        }
        while open.len() > self.capacity {
            let Some(weak) = open.pop_front() else {
                return;
            };
            let Some(file) = weak.upgrade() else {
                continue;
            };
            if file.recently_used.swap(false, Ordering::Relaxed) {
                open.push_back(weak);
            } else {
                file.set_table(None);
            }
        }
    }
}

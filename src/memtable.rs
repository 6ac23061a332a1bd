//! The memtable: recent writes, sorted in memory, readable while being written.
//!
//! A lock-free skiplist keyed by internal key (user key ascending, sequence descending).
//! Exactly one writer at a time inserts (the database's write path is serialised); any number
//! of readers look up and iterate concurrently. Once full, a memtable is frozen (no more
//! inserts), flushed to an L0 sstable by the background thread, then dropped when the last
//! reader lets go of it.

use crate::iterators::InternalIterator;
use crate::types::{compare_internal, SeqNum, ValueKind};
use crate::Result;
use crossbeam_skiplist::SkipMap;
use std::borrow::Borrow;
use std::cmp::Ordering;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};
use std::sync::Arc;

/// Bytes charged per entry on top of key and value: the skiplist node, tag and allocations.
const ENTRY_OVERHEAD: usize = 64;

/// An internal key as stored in the skiplist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemKey {
    pub key: Vec<u8>,
    pub seq: SeqNum,
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal(&self.key, self.seq, &other.key, other.seq)
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An internal key as lookups see it: stored keys and borrowed probes alike, so a lookup
/// compares against the skiplist's keys without copying its own key into a `MemKey`.
pub(crate) trait KeyView {
    fn user_key(&self) -> &[u8];
    fn seq(&self) -> SeqNum;
}

impl KeyView for MemKey {
    fn user_key(&self) -> &[u8] {
        &self.key
    }
    fn seq(&self) -> SeqNum {
        self.seq
    }
}

/// A borrowed internal key to look up.
struct Probe<'a> {
    key: &'a [u8],
    seq: SeqNum,
}

impl KeyView for Probe<'_> {
    fn user_key(&self) -> &[u8] {
        self.key
    }
    fn seq(&self) -> SeqNum {
        self.seq
    }
}

impl Probe<'_> {
    fn view(&self) -> &(dyn KeyView + '_) {
        self
    }
}

// The skiplist orders `MemKey`s; borrowing one as a `KeyView` keeps that order (both
// compare with `compare_internal`), as `Borrow` requires.
impl<'a> Borrow<dyn KeyView + 'a> for MemKey {
    fn borrow(&self) -> &(dyn KeyView + 'a) {
        self
    }
}

impl Ord for dyn KeyView + '_ {
    fn cmp(&self, other: &Self) -> Ordering {
        compare_internal(self.user_key(), self.seq(), other.user_key(), other.seq())
    }
}

impl PartialOrd for dyn KeyView + '_ {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for dyn KeyView + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for dyn KeyView + '_ {}

#[derive(Debug, Clone)]
pub(crate) struct MemValue {
    pub kind: ValueKind,
    pub value: Vec<u8>,
}

/// One memtable and the WAL file that holds the same writes.
#[derive(Debug)]
pub(crate) struct MemTable {
    map: SkipMap<MemKey, MemValue>,
    bytes: AtomicUsize,
    wal_number: u64,
    /// The last sequence number handed out before the memtable was frozen (every write up
    /// to it is in this memtable or an older one); set by `freeze`.
    last_seq: AtomicU64,
}

impl MemTable {
    /// An empty memtable whose writes are logged in WAL file `wal_number`.
    pub(crate) fn new(wal_number: u64) -> MemTable {
        MemTable {
            map: SkipMap::new(),
            bytes: AtomicUsize::new(0),
            wal_number,
            last_seq: AtomicU64::new(0),
        }
    }

    /// Marks the memtable frozen after the write with sequence number `last_seq`: no more
    /// inserts. REQUIRES: the writer lock is held (no write is in flight).
    pub(crate) fn freeze(&self, last_seq: SeqNum) {
        self.last_seq.store(last_seq, AtomicOrdering::Release);
    }

    /// What `freeze` recorded.
    pub(crate) fn last_seq(&self) -> SeqNum {
        self.last_seq.load(AtomicOrdering::Acquire)
    }

    /// The WAL file that can be deleted once this memtable is flushed.
    pub(crate) fn wal_number(&self) -> u64 {
        self.wal_number
    }

    /// REQUIRES: called by one thread at a time (the write path), with a sequence number
    /// never used before.
    pub(crate) fn insert(&self, key: &[u8], seq: SeqNum, kind: ValueKind, value: &[u8]) {
        self.bytes.fetch_add(
            key.len() + value.len() + ENTRY_OVERHEAD,
            AtomicOrdering::Relaxed,
        );
        self.map.insert(
            MemKey {
                key: key.to_vec(),
                seq,
            },
            MemValue {
                kind,
                value: value.to_vec(),
            },
        );
    }

    /// The newest version of `key` at or below `snapshot`, if this memtable has one.
    pub(crate) fn get(&self, key: &[u8], snapshot: SeqNum) -> Option<(SeqNum, ValueKind, Vec<u8>)> {
        let probe = Probe { key, seq: snapshot };
        let entry = self.map.lower_bound(Bound::Included(probe.view()))?;
        if entry.key().key != key {
            return None;
        }
        let found = entry.value();
        Some((entry.key().seq, found.kind, found.value.clone()))
    }

    pub(crate) fn approximate_bytes(&self) -> usize {
        self.bytes.load(AtomicOrdering::Relaxed)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Visits every entry in internal-key order (used by flush, which owns no cursor).
    pub(crate) fn for_each(
        &self,
        mut visit: impl FnMut(&[u8], SeqNum, ValueKind, &[u8]) -> Result<()>,
    ) -> Result<()> {
        for entry in self.map.iter() {
            let (k, v) = (entry.key(), entry.value());
            visit(&k.key, k.seq, v.kind, &v.value)?;
        }
        Ok(())
    }

    /// A cursor that keeps this memtable alive.
    pub(crate) fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            mem: Arc::clone(self),
            buffer: Vec::new(),
            pos: 0,
            exhausted: true,
            chunk: FIRST_CHUNK,
        }
    }
}

/// How many entries a [`MemTableIter`] copies out of the skiplist at a time, at most; the
/// first copy after a seek takes `FIRST_CHUNK` (a seek that reads a few entries copies a
/// few), and each next one twice as many.
const CHUNK: usize = 64;
const FIRST_CHUNK: usize = 4;

/// A cursor over a memtable. It copies entries out in small chunks, resuming after the last
/// key copied, so it holds no borrow of the skiplist and can be moved between threads.
pub(crate) struct MemTableIter {
    mem: Arc<MemTable>,
    buffer: Vec<(MemKey, MemValue)>,
    pos: usize,
    /// No entries exist past the end of `buffer`.
    exhausted: bool,
    /// Entries the next copy takes.
    chunk: usize,
}

impl MemTableIter {
    /// Copies the next `self.chunk` entries from `from` on, and doubles the next chunk.
    fn fill(&mut self, from: Bound<&(dyn KeyView + '_)>) {
        let want = self.chunk;
        self.chunk = (want * 2).min(CHUNK);
        self.buffer.clear();
        self.buffer.extend(
            self.mem
                .map
                .range::<dyn KeyView, _>((from, Bound::Unbounded))
                .take(want)
                .map(|e| (e.key().clone(), e.value().clone())),
        );
        self.exhausted = self.buffer.len() < want;
        self.pos = 0;
    }

    fn current(&self) -> &(MemKey, MemValue) {
        // Callers check `valid()` first, as the trait requires.
        &self.buffer[self.pos]
    }
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.pos < self.buffer.len()
    }

    fn key(&self) -> &[u8] {
        &self.current().0.key
    }

    fn seq(&self) -> SeqNum {
        self.current().0.seq
    }

    fn kind(&self) -> ValueKind {
        self.current().1.kind
    }

    fn value(&self) -> &[u8] {
        &self.current().1.value
    }

    fn next(&mut self) -> Result<()> {
        self.pos += 1;
        if self.pos == self.buffer.len() && !self.exhausted {
            if let Some((last, _)) = self.buffer.pop() {
                self.fill(Bound::Excluded(&last));
            }
        }
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        let probe = Probe {
            key: target,
            seq: SeqNum::MAX,
        };
        self.chunk = FIRST_CHUNK;
        self.fill(Bound::Included(probe.view()));
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.chunk = FIRST_CHUNK;
        self.fill(Bound::Unbounded);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(it: &mut MemTableIter) -> Vec<(Vec<u8>, SeqNum)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq()));
            it.next().unwrap();
        }
        out
    }

    #[test]
    fn get_returns_the_newest_version_visible_at_the_snapshot() {
        let mem = MemTable::new(1);
        mem.insert(b"k", 1, ValueKind::Put, b"v1");
        mem.insert(b"k", 5, ValueKind::Delete, b"");
        mem.insert(b"k", 9, ValueKind::Put, b"v9");
        assert_eq!(mem.get(b"k", 0), None);
        assert_eq!(mem.get(b"k", 4), Some((1, ValueKind::Put, b"v1".to_vec())));
        assert_eq!(mem.get(b"k", 5), Some((5, ValueKind::Delete, Vec::new())));
        assert_eq!(
            mem.get(b"k", 100),
            Some((9, ValueKind::Put, b"v9".to_vec()))
        );
        assert_eq!(mem.get(b"", 100), None);
        assert_eq!(mem.get(b"k\0", 100), None);
    }

    #[test]
    fn iteration_crosses_chunk_boundaries_in_internal_key_order() {
        let mem = Arc::new(MemTable::new(1));
        let mut seq = 0;
        for round in 0..3 {
            for i in 0..(CHUNK * 3 + 7) {
                seq += 1;
                let key = format!("key{i:05}");
                mem.insert(key.as_bytes(), seq, ValueKind::Put, &[round]);
            }
        }
        let mut it = mem.iter();
        it.seek_to_first().unwrap();
        let all = collect(&mut it);
        assert_eq!(all.len(), mem.len());
        for pair in all.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert_eq!(compare_internal(&a.0, a.1, &b.0, b.1), Ordering::Less);
        }
        it.seek(b"key00100").unwrap();
        assert_eq!(it.key(), b"key00100");
        assert_eq!(it.value(), &[2]);
        it.seek(b"zzz").unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn the_empty_key_sorts_first() {
        let mem = Arc::new(MemTable::new(1));
        mem.insert(b"a", 1, ValueKind::Put, b"1");
        mem.insert(b"", 2, ValueKind::Put, b"0");
        let mut it = mem.iter();
        it.seek(b"").unwrap();
        assert_eq!(it.key(), b"");
        assert_eq!(mem.get(b"", 2), Some((2, ValueKind::Put, b"0".to_vec())));
    }
}

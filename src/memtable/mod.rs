//! The memtable: recent writes, sorted in memory, readable while being written.
//!
//! An arena-backed skiplist (`skiplist.rs`, LevelDB's design) keyed by internal key (user key
//! ascending, sequence number descending): each entry is encoded once into an arena block, no
//! allocation per entry, and the memtable's size is exactly the bytes of its blocks. One
//! writer at a time inserts (the database's write path serialises them, and the list's own
//! writer lock makes that a rule rather than a hope); any number of readers look up and
//! iterate concurrently without locking. Once full, a memtable is frozen (no more inserts),
//! flushed to an L0 sstable by the background thread, then dropped, arena and all, when the
//! last reader lets go of it.

mod arena;
mod skiplist;

use crate::iterators::InternalIterator;
use crate::types::{SeqNum, ValueKind};
use crate::Result;
use skiplist::{ListWriter, Node, SkipList};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::Arc;

/// One memtable and the WAL file that holds the same writes.
#[derive(Debug)]
pub(crate) struct MemTable {
    list: SkipList,
    wal_number: u64,
    /// The last sequence number handed out before the memtable was frozen (every write up
    /// to it is in this memtable or an older one); set by `freeze`.
    last_seq: AtomicU64,
}

impl MemTable {
    /// An empty memtable whose writes are logged in WAL file `wal_number`.
    pub(crate) fn new(wal_number: u64) -> MemTable {
        MemTable {
            list: SkipList::new(),
            wal_number,
            last_seq: AtomicU64::new(0),
        }
    }

    /// Marks the memtable frozen after the write with sequence number `last_seq`: no more
    /// inserts. REQUIRES: no write is in flight (the write path drains before switching).
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

    /// Inserts one entry. REQUIRES: a sequence number never used before.
    pub(crate) fn insert(&self, key: &[u8], seq: SeqNum, kind: ValueKind, value: &[u8]) {
        self.inserter().insert(key, seq, kind, value);
    }

    /// The right to insert, held for as many inserts as the caller has (a write group):
    /// other inserters wait, readers do not.
    pub(crate) fn inserter(&self) -> Inserter<'_> {
        Inserter {
            writer: self.list.writer(),
        }
    }

    /// The newest version of `key` at or below `snapshot`, if this memtable has one.
    pub(crate) fn get(&self, key: &[u8], snapshot: SeqNum) -> Option<(SeqNum, ValueKind, Vec<u8>)> {
        let node = self.list.seek(key, snapshot)?;
        (node.key() == key).then(|| (node.seq(), node.kind(), node.value().to_vec()))
    }

    /// Bytes the entries take in the arena, exactly: what the flush threshold counts.
    pub(crate) fn memory_usage(&self) -> usize {
        self.list.bytes()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.list.len() == 0
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.list.len()
    }

    /// Visits every entry in internal-key order (used by flush, which owns no cursor).
    pub(crate) fn for_each(
        &self,
        mut visit: impl FnMut(&[u8], SeqNum, ValueKind, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut at = self.list.first();
        while let Some(node) = at {
            visit(node.key(), node.seq(), node.kind(), node.value())?;
            at = node.next(0);
        }
        Ok(())
    }

    /// A cursor that keeps this memtable alive.
    pub(crate) fn iter(self: &Arc<Self>) -> MemTableIter {
        MemTableIter {
            mem: Arc::clone(self),
            at: None,
        }
    }
}

/// The right to insert into one memtable; see [`MemTable::inserter`].
pub(crate) struct Inserter<'a> {
    writer: ListWriter<'a>,
}

impl Inserter<'_> {
    /// Inserts one entry. REQUIRES: a sequence number never used before.
    pub(crate) fn insert(&mut self, key: &[u8], seq: SeqNum, kind: ValueKind, value: &[u8]) {
        self.writer.insert(key, seq, kind, value);
    }
}

/// A cursor over a memtable: a position in its skiplist. It reads the entries in place,
/// copying nothing, and owns the memtable, so it can be moved between threads.
pub(crate) struct MemTableIter {
    mem: Arc<MemTable>,
    /// The current node of `mem`'s list, if any.
    at: Option<NonNull<u8>>,
}

// SAFETY: `at` points into the arena of `mem`, which the cursor owns a reference to: the
// node stays where it is, immutable but for its atomic next pointers, for as long as the
// cursor lives, whichever thread holds it.
unsafe impl Send for MemTableIter {}

impl MemTableIter {
    fn node(&self) -> Option<Node<'_>> {
        // SAFETY: `at` only ever holds node pointers of `self.mem`'s list (set below from
        // that list's nodes), and `self.mem` outlives the borrow of `self`.
        self.at.map(|ptr| unsafe { Node::from_ptr(ptr) })
    }

    fn current(&self) -> Node<'_> {
        // Callers check `valid()` first, as the trait requires.
        match self.node() {
            Some(node) => node,
            None => panic!("memtable cursor used while not valid"),
        }
    }
}

impl InternalIterator for MemTableIter {
    fn valid(&self) -> bool {
        self.at.is_some()
    }

    fn key(&self) -> &[u8] {
        self.current().key()
    }

    fn seq(&self) -> SeqNum {
        self.current().seq()
    }

    fn kind(&self) -> ValueKind {
        self.current().kind()
    }

    fn value(&self) -> &[u8] {
        self.current().value()
    }

    fn next(&mut self) -> Result<()> {
        self.at = self.current().next(0).map(Node::as_ptr);
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.at = self.mem.list.seek(target, SeqNum::MAX).map(Node::as_ptr);
        Ok(())
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.at = self.mem.list.first().map(Node::as_ptr);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::compare_internal;
    use proptest::prelude::*;
    use std::cmp::Ordering;
    use std::collections::BTreeMap;
    use std::sync::atomic::AtomicBool;

    type Entry = (Vec<u8>, SeqNum, ValueKind, Vec<u8>);
    /// The model: `(key, Reverse(seq))` sorts as internal keys do.
    type Model = BTreeMap<(Vec<u8>, std::cmp::Reverse<SeqNum>), (ValueKind, Vec<u8>)>;

    fn collect(it: &mut MemTableIter) -> Vec<Entry> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.next().unwrap();
        }
        out
    }

    fn all(mem: &Arc<MemTable>) -> Vec<Entry> {
        let mut it = mem.iter();
        it.seek_to_first().unwrap();
        collect(&mut it)
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
    fn iteration_and_seek_follow_internal_key_order() {
        let mem = Arc::new(MemTable::new(1));
        let mut seq = 0;
        for round in 0..3 {
            for i in 0..1000 {
                seq += 1;
                let key = format!("key{i:05}");
                mem.insert(key.as_bytes(), seq, ValueKind::Put, &[round]);
            }
        }
        let entries = all(&mem);
        assert_eq!(entries.len(), mem.len());
        assert_eq!(entries.len(), 3000);
        for pair in entries.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert_eq!(compare_internal(&a.0, a.1, &b.0, b.1), Ordering::Less);
        }
        let mut it = mem.iter();
        it.seek(b"key00100").unwrap();
        assert_eq!(it.key(), b"key00100");
        assert_eq!(it.value(), &[2]);
        it.seek(b"key00100\0").unwrap();
        assert_eq!(it.key(), b"key00101");
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
        let empty = Arc::new(MemTable::new(1));
        assert!(empty.is_empty());
        assert_eq!(all(&empty), Vec::new());
        assert_eq!(empty.get(b"", SeqNum::MAX), None);
    }

    #[test]
    fn memory_usage_is_the_exact_size_of_the_entries() {
        let mem = MemTable::new(1);
        assert_eq!(mem.memory_usage(), 0);
        let mut expected_min = 0;
        for i in 0..10_000u64 {
            let key = i.to_be_bytes();
            let value = vec![7u8; (i % 300) as usize];
            mem.insert(&key, i + 1, ValueKind::Put, &value);
            // At least the node of height 1 (header, key, value), at most height 12.
            let smallest = skiplist::node_size(1, key.len(), value.len());
            let largest = skiplist::node_size(skiplist::MAX_HEIGHT, key.len(), value.len());
            expected_min += smallest.next_multiple_of(arena::ALIGN);
            assert!(mem.memory_usage() >= expected_min);
            assert!(mem.memory_usage() <= expected_min + (i as usize + 1) * (largest - smallest));
        }
        // With one level in four, the next pointers above the first average a third of a
        // pointer per entry: well under 16 bytes of overhead past the header.
        let overhead = (mem.memory_usage() - expected_min) / 10_000;
        assert!(overhead < 8, "{overhead} bytes of next pointers per entry");
    }

    #[test]
    fn entries_larger_than_a_chunk_are_stored_whole() {
        let mem = Arc::new(MemTable::new(1));
        let big = vec![0xabu8; 3 << 20];
        mem.insert(b"a", 1, ValueKind::Put, b"small");
        mem.insert(b"b", 2, ValueKind::Put, &big);
        mem.insert(b"c", 3, ValueKind::Put, b"small");
        assert_eq!(mem.get(b"b", 9).unwrap().2, big);
        let keys: Vec<Vec<u8>> = all(&mem).into_iter().map(|e| e.0).collect();
        assert_eq!(keys, vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        assert!(mem.memory_usage() > big.len());
    }

    #[test]
    fn sequential_and_reverse_and_interleaved_inserts_all_land_in_order() {
        // Sequential keys take the writer's shortcut (no search), descending keys never do,
        // and interleaving switches between the two on every insert.
        for order in ["ascending", "descending", "interleaved"] {
            let mem = Arc::new(MemTable::new(1));
            let n = 5000u32;
            for i in 0..n {
                let k = match order {
                    "ascending" => i,
                    "descending" => n - 1 - i,
                    _ if i % 2 == 0 => i / 2,
                    _ => n - 1 - i / 2,
                };
                mem.insert(
                    &k.to_be_bytes(),
                    u64::from(i) + 1,
                    ValueKind::Put,
                    &k.to_le_bytes(),
                );
            }
            let entries = all(&mem);
            let keys: Vec<u32> = entries
                .iter()
                .map(|e| u32::from_be_bytes(e.0.as_slice().try_into().unwrap()))
                .collect();
            assert_eq!(keys, (0..n).collect::<Vec<_>>(), "{order}");
            for k in (0..n).step_by(37) {
                let got = mem.get(&k.to_be_bytes(), SeqNum::MAX).unwrap();
                assert_eq!(got.2, k.to_le_bytes(), "{order} {k}");
            }
        }
    }

    // Readers run while one writer inserts: every entry a reader meets is whole (its value
    // derived from its key and sequence number), iteration is always in order, and every
    // insert that finished before a reader started is found.
    #[test]
    fn concurrent_readers_see_whole_entries_in_order_while_one_writer_inserts() {
        const WRITES: u64 = 60_000;
        let mem = Arc::new(MemTable::new(1));
        let done_seq = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let value_of = |key: u64, seq: u64| (key ^ seq).to_le_bytes().repeat((key % 5) as usize);
        // Keys revisit earlier ones (several versions each), runs of sequential keys (the
        // writer's shortcut) alternating with scattered ones.
        let key_of = |seq: u64| {
            if seq % 64 < 32 {
                seq % 7919
            } else {
                (seq.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) % 7919
            }
        };
        let readers: Vec<_> = (0..3)
            .map(|r| {
                let (mem, done_seq, stop) =
                    (Arc::clone(&mem), Arc::clone(&done_seq), Arc::clone(&stop));
                std::thread::spawn(move || {
                    let mut rounds = 0u64;
                    let mut state = r as u64 + 1;
                    while !stop.load(AtomicOrdering::Acquire) || rounds < 3 {
                        rounds += 1;
                        let finished = done_seq.load(AtomicOrdering::Acquire);
                        // A key written at or before `finished` must be found.
                        if finished > 0 {
                            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
                            let seq = state % finished + 1;
                            let key = key_of(seq);
                            let (found_seq, _, value) =
                                mem.get(&key.to_be_bytes(), SeqNum::MAX).unwrap();
                            assert!(found_seq >= seq, "{key}: {found_seq} < {seq}");
                            assert_eq!(value, value_of(key, found_seq));
                        }
                        // A partial scan from a random key: ordered, every entry whole.
                        let mut it = mem.iter();
                        it.seek(&(state % 7919).to_be_bytes()).unwrap();
                        let mut prev: Option<(Vec<u8>, SeqNum)> = None;
                        for _ in 0..200 {
                            if !it.valid() {
                                break;
                            }
                            let key = u64::from_be_bytes(it.key().try_into().unwrap());
                            assert_eq!(it.value(), value_of(key, it.seq()));
                            if let Some((pk, ps)) = &prev {
                                assert_eq!(
                                    compare_internal(pk, *ps, it.key(), it.seq()),
                                    Ordering::Less
                                );
                            }
                            prev = Some((it.key().to_vec(), it.seq()));
                            it.next().unwrap();
                        }
                    }
                    rounds
                })
            })
            .collect();
        for seq in 1..=WRITES {
            let key = key_of(seq);
            mem.insert(&key.to_be_bytes(), seq, ValueKind::Put, &value_of(key, seq));
            done_seq.store(seq, AtomicOrdering::Release);
        }
        stop.store(true, AtomicOrdering::Release);
        for r in readers {
            assert!(r.join().unwrap() > 0);
        }
        assert_eq!(mem.len(), WRITES as usize);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            key: Vec<u8>,
            kind: ValueKind,
            value: Vec<u8>,
        },
        Get {
            key: Vec<u8>,
            snapshot: SeqNum,
        },
        Seek {
            key: Vec<u8>,
        },
    }

    fn small_key() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(prop::sample::select(vec![0u8, 1, 2, 0xff]), 0..4)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (small_key(), any::<bool>(), prop::collection::vec(any::<u8>(), 0..20)).prop_map(
                |(key, put, value)| Op::Insert {
                    key,
                    kind: if put { ValueKind::Put } else { ValueKind::Delete },
                    value: if put { value } else { Vec::new() },
                }
            ),
            1 => (small_key(), 0..200u64).prop_map(|(key, snapshot)| Op::Get { key, snapshot }),
            1 => small_key().prop_map(|key| Op::Seek { key }),
        ]
    }

    proptest! {
        // The memtable against a BTreeMap ordered the same way: whatever the order of
        // inserts, gets at any snapshot, seeks and full scans agree.
        #[test]
        fn memtable_matches_a_btreemap_model(ops in prop::collection::vec(op(), 1..300)) {
            let mem = Arc::new(MemTable::new(1));
            let mut model = Model::new();
            let mut seq = 0;
            for op in ops {
                match op {
                    Op::Insert { key, kind, value } => {
                        seq += 1;
                        mem.insert(&key, seq, kind, &value);
                        model.insert((key, std::cmp::Reverse(seq)), (kind, value));
                    }
                    Op::Get { key, snapshot } => {
                        let expected = model
                            .range((key.clone(), std::cmp::Reverse(snapshot))..)
                            .next()
                            .filter(|((k, _), _)| *k == key)
                            .map(|((_, s), (kind, v))| (s.0, *kind, v.clone()));
                        prop_assert_eq!(mem.get(&key, snapshot), expected);
                    }
                    Op::Seek { key } => {
                        let mut it = mem.iter();
                        it.seek(&key).unwrap();
                        let expected = model
                            .range((key.clone(), std::cmp::Reverse(SeqNum::MAX))..)
                            .next()
                            .map(|((k, s), _)| (k.clone(), s.0));
                        let got = it.valid().then(|| (it.key().to_vec(), it.seq()));
                        prop_assert_eq!(got, expected);
                    }
                }
            }
            let expected: Vec<Entry> = model
                .into_iter()
                .map(|((k, s), (kind, v))| (k, s.0, kind, v))
                .collect();
            prop_assert_eq!(all(&mem), expected);
        }
    }
}

//! The block cache: decoded, checksum-verified sstable data blocks shared by every reader,
//! so hot blocks are read and verified once.
//!
//! One [`BlockCache`] is created per database and handed to every table it opens. It is a
//! sharded LRU keyed by (file number, block offset) and charged by each block's size in
//! memory; every shard has its own lock, hash map and recency list, so lookups and inserts
//! are O(1) and threads touching different shards do not contend. File numbers are never
//! reused, so a deleted table's blocks can never be mistaken for another's; they simply age
//! out. Any thread may call any method.

// Nothing in the engine calls the cache yet (the DB wiring lands separately); the unit tests
// use every item. Remove this once tables are opened with a cache.

use crate::sstable::Block;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// Shards of at least this capacity are made (up to [`MAX_SHARDS`]): a block larger than its
/// shard's capacity is never cached, so shards must not get too small.
const MIN_SHARD_BYTES: usize = 1 << 20;
const MAX_SHARDS: usize = 16;

type Key = (u64, u64);

/// A sharded LRU cache of data blocks.
pub(crate) struct BlockCache {
    shards: Box<[Mutex<Shard>]>,
    capacity: usize,
}

impl std::fmt::Debug for BlockCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockCache")
            .field("capacity", &self.capacity)
            .field("shards", &self.shards.len())
            .field("usage", &self.usage_bytes())
            .finish()
    }
}

impl BlockCache {
    /// A cache holding at most `capacity_bytes` of blocks. Capacity 0 caches nothing (every
    /// lookup misses). A block larger than `capacity_bytes / shards` is not cached.
    pub(crate) fn new(capacity_bytes: usize) -> BlockCache {
        let wanted = (capacity_bytes / MIN_SHARD_BYTES).clamp(1, MAX_SHARDS);
        // The largest power of two not above `wanted`, so a mask picks the shard.
        let count = 1usize << (usize::BITS - 1 - wanted.leading_zeros());
        let per_shard = capacity_bytes / count;
        let shards = (0..count)
            .map(|_| Mutex::new(Shard::new(per_shard)))
            .collect();
        BlockCache {
            shards,
            capacity: capacity_bytes,
        }
    }

    /// The block at `offset` of table `file_number`, marked most recently used.
    pub(crate) fn get(&self, file_number: u64, offset: u64) -> Option<Arc<Block>> {
        self.shard(file_number, offset)
            .lock()
            .get((file_number, offset))
    }

    /// Adds (or replaces) the block at `offset` of table `file_number`, evicting the least
    /// recently used blocks of its shard until it fits.
    pub(crate) fn insert(&self, file_number: u64, offset: u64, block: Arc<Block>) {
        self.shard(file_number, offset)
            .lock()
            .insert((file_number, offset), block);
    }

    /// Lookups that found their block.
    pub(crate) fn hits(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().hits).sum()
    }

    /// Lookups that did not.
    pub(crate) fn misses(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().misses).sum()
    }

    /// Bytes charged for the blocks held now; never above the capacity.
    pub(crate) fn usage_bytes(&self) -> u64 {
        self.shards.iter().map(|s| s.lock().usage as u64).sum()
    }

    fn shard(&self, file_number: u64, offset: u64) -> &Mutex<Shard> {
        let mut h = KeyHasher::default();
        h.write_u64(file_number);
        h.write_u64(offset);
        // The map inside the shard uses the low bits and the top seven; pick with others.
        let i = (h.finish() >> 32) as usize & (self.shards.len() - 1);
        &self.shards[i]
    }
}

const NIL: usize = usize::MAX;

/// One slot of a shard's recency list.
struct Node {
    key: Key,
    /// `None` while the slot is on the free list.
    block: Option<Arc<Block>>,
    charge: usize,
    /// Towards the most recently used end.
    prev: usize,
    /// Towards the least recently used end.
    next: usize,
}

/// One LRU: a map from key to slot, and a doubly linked recency list threaded through a slab
/// of slots (most recent at `head`), so every operation is O(1) without per-node allocation.
struct Shard {
    map: HashMap<Key, usize, BuildHasherDefault<KeyHasher>>,
    nodes: Vec<Node>,
    free: Vec<usize>,
    head: usize,
    tail: usize,
    usage: usize,
    capacity: usize,
    hits: u64,
    misses: u64,
}

impl Shard {
    fn new(capacity: usize) -> Shard {
        Shard {
            map: HashMap::default(),
            nodes: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            usage: 0,
            capacity,
            hits: 0,
            misses: 0,
        }
    }

    fn get(&mut self, key: Key) -> Option<Arc<Block>> {
        let Some(&slot) = self.map.get(&key) else {
            self.misses += 1;
            return None;
        };
        self.hits += 1;
        self.unlink(slot);
        self.push_front(slot);
        self.nodes[slot].block.clone()
    }

    fn insert(&mut self, key: Key, block: Arc<Block>) {
        if let Some(slot) = self.map.remove(&key) {
            self.remove_slot(slot);
        }
        let charge = block.charge();
        if charge > self.capacity {
            return;
        }
        while self.usage + charge > self.capacity && self.tail != NIL {
            let victim = self.tail;
            self.map.remove(&self.nodes[victim].key);
            self.remove_slot(victim);
        }
        let node = Node {
            key,
            block: Some(block),
            charge,
            prev: NIL,
            next: NIL,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot] = node;
                slot
            }
            None => {
                self.nodes.push(node);
                self.nodes.len() - 1
            }
        };
        self.push_front(slot);
        self.map.insert(key, slot);
        self.usage += charge;
    }

    /// Unlinks a slot already removed from the map and frees it.
    fn remove_slot(&mut self, slot: usize) {
        self.unlink(slot);
        let node = &mut self.nodes[slot];
        self.usage -= node.charge;
        node.charge = 0;
        node.block = None;
        self.free.push(slot);
    }

    fn unlink(&mut self, slot: usize) {
        let (prev, next) = (self.nodes[slot].prev, self.nodes[slot].next);
        if prev == NIL {
            self.head = next;
        } else {
            self.nodes[prev].next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.nodes[next].prev = prev;
        }
        self.nodes[slot].prev = NIL;
        self.nodes[slot].next = NIL;
    }

    fn push_front(&mut self, slot: usize) {
        self.nodes[slot].prev = NIL;
        self.nodes[slot].next = self.head;
        if self.head == NIL {
            self.tail = slot;
        } else {
            self.nodes[self.head].prev = slot;
        }
        self.head = slot;
    }
}

/// A fast hash for (file number, offset) keys: neither comes from an adversary, so SipHash's
/// flooding resistance buys nothing here.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(26) ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sstable::test_block;

    #[test]
    fn hits_and_misses_are_counted() {
        let cache = BlockCache::new(1 << 20);
        assert!(cache.get(1, 0).is_none());
        let block = Arc::new(test_block(100));
        cache.insert(1, 0, Arc::clone(&block));
        assert!(Arc::ptr_eq(&cache.get(1, 0).unwrap(), &block));
        assert!(cache.get(1, 4096).is_none());
        assert!(cache.get(2, 0).is_none());
        assert_eq!((cache.hits(), cache.misses()), (1, 3));
    }

    #[test]
    fn usage_never_exceeds_capacity_and_the_least_recent_block_goes_first() {
        let capacity = 64 * 1024;
        let cache = BlockCache::new(capacity);
        let charge = test_block(4000).charge();
        let fits = capacity / charge;
        for i in 0..1000u64 {
            cache.insert(7, i * 4096, Arc::new(test_block(4000)));
            // Keep block 0 hot: it must survive while colder blocks are evicted.
            assert!(cache.get(7, 0).is_some(), "hot block evicted at {i}");
            assert!(cache.usage_bytes() <= capacity as u64);
        }
        assert_eq!(cache.usage_bytes(), (fits * charge) as u64);
        // The most recent `fits - 1` blocks besides block 0 are still there, older ones not.
        assert!(cache.get(7, 999 * 4096).is_some());
        assert!(cache.get(7, 500 * 4096).is_none());
    }

    #[test]
    fn replacing_a_block_does_not_double_charge_it() {
        let cache = BlockCache::new(1 << 20);
        cache.insert(1, 0, Arc::new(test_block(1000)));
        let usage = cache.usage_bytes();
        cache.insert(1, 0, Arc::new(test_block(1000)));
        assert_eq!(cache.usage_bytes(), usage);
    }

    #[test]
    fn zero_capacity_caches_nothing_and_oversized_blocks_are_skipped() {
        let cache = BlockCache::new(0);
        cache.insert(1, 0, Arc::new(test_block(10)));
        assert!(cache.get(1, 0).is_none());
        assert_eq!(cache.usage_bytes(), 0);
        let cache = BlockCache::new(4096);
        cache.insert(1, 0, Arc::new(test_block(10_000)));
        assert_eq!(cache.usage_bytes(), 0);
    }

    #[test]
    fn many_shards_spread_keys_and_respect_the_total() {
        let capacity = 16 << 20;
        let cache = BlockCache::new(capacity);
        assert_eq!(cache.shards.len(), 16);
        for file in 0..40u64 {
            for block in 0..200u64 {
                cache.insert(file, block * 4096, Arc::new(test_block(4000)));
            }
        }
        let usage = cache.usage_bytes();
        assert!(usage <= capacity as u64);
        // Every shard was filled close to its share.
        assert!(usage > (capacity as u64) * 9 / 10, "usage {usage}");
    }
}

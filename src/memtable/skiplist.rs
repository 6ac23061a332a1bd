//! The memtable's skiplist: every entry encoded once in an arena block, one writer at a
//! time, any number of readers that never lock and never wait.
//!
//! As in LevelDB's memtable, a node is published by storing a pointer to it, with release
//! ordering, into its predecessors' next pointers, bottom level first; a reader that loads
//! such a pointer with acquire ordering sees the node complete. Nodes are never changed
//! after publication, except their next pointers (atomics), and never freed before the whole
//! list, so a reader holding the list may keep a node as long as it likes.
//!
//! A node is one arena block; its pointer points at `next[0]`, so the next pointers lie
//! below it (RocksDB's inline skiplist does the same) and the header and the start of the
//! key share `next[0]`'s cache line:
//!
//! ```text
//! next[h-1] .. next[1] next[0] | tag: u64 | key_len: u32 | value_len: u32 | height: u8 | key | value
//!                              ^ node pointer (8-byte aligned)
//! ```
//!
//! `tag` is `seq << 8 | kind` as on disk. Entries are in internal-key order: user key
//! ascending, then sequence number descending.
//!
//! The writer remembers where its last insert went (a "splice", as RocksDB calls it): when
//! the next key lands right after it, as with sequential keys, the insert needs no search.

use super::arena::Arena;
use crate::types::{pack_tag, unpack_tag, SeqNum, ValueKind};
use parking_lot::{Mutex, MutexGuard};
use std::cmp::Ordering;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering as AtomicOrdering};

/// Levels: with a branching factor of 4, enough for 4^12 = 16 million entries before
/// searches slow down (a 1 GiB memtable of the smallest entries holds about that many).
pub(super) const MAX_HEIGHT: usize = 12;
/// One node in `BRANCHING` reaches each next level.
const BRANCHING: u64 = 4;
const POINTER: usize = std::mem::size_of::<AtomicPtr<u8>>();
/// `tag`, `key_len`, `value_len`, `height`: the bytes between `next[0]` and the key.
const HEADER: usize = 8 + 4 + 4 + 1;
const TAG_AT: usize = POINTER;
const KEY_LEN_AT: usize = TAG_AT + 8;
const VALUE_LEN_AT: usize = KEY_LEN_AT + 4;
const HEIGHT_AT: usize = VALUE_LEN_AT + 4;
const KEY_AT: usize = POINTER + HEADER;

/// The arena block size of a node of `height` holding `key` and `value`.
pub(super) fn node_size(height: usize, key_len: usize, value_len: usize) -> usize {
    (height - 1) * POINTER + KEY_AT + key_len + value_len
}

/// A published node of a skiplist borrowed for `'a`.
///
/// Invariant: the pointer is the node pointer of a node of that list that is fully written
/// and published (or is the list's head), so it is valid, 8-byte aligned and immutable but
/// for its next pointers, for as long as the list lives.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Node<'a> {
    ptr: NonNull<u8>,
    list: PhantomData<&'a SkipList>,
}

impl<'a> Node<'a> {
    /// # Safety
    /// `ptr` is the node pointer of a published node (or the head) of a list that outlives
    /// `'a`: one returned by [`Node::as_ptr`] on a node of that same list.
    pub(super) unsafe fn from_ptr(ptr: NonNull<u8>) -> Node<'a> {
        Node {
            ptr,
            list: PhantomData,
        }
    }

    /// The raw node pointer, to keep a position without a borrow of the list (a cursor
    /// owning the memtable does this); [`Node::from_ptr`] turns it back.
    pub(super) fn as_ptr(self) -> NonNull<u8> {
        self.ptr
    }

    fn read_u32(self, at: usize) -> u32 {
        // SAFETY: `at` is one of the header offsets, inside the node's block, 4-byte
        // aligned (the node pointer is 8-byte aligned); the header was written before the
        // node was published and is never written again.
        unsafe { self.ptr.add(at).cast::<u32>().read() }
    }

    fn tag(self) -> u64 {
        // SAFETY: as in `read_u32`, for the 8-byte-aligned tag.
        unsafe { self.ptr.add(TAG_AT).cast::<u64>().read() }
    }

    pub(super) fn seq(self) -> SeqNum {
        self.tag() >> 8
    }

    pub(super) fn kind(self) -> ValueKind {
        // The writer stored a valid kind; a delete is the safe reading of anything else.
        unpack_tag(self.tag()).map_or(ValueKind::Delete, |(_, kind)| kind)
    }

    fn height(self) -> usize {
        // SAFETY: as in `read_u32`, for the height byte.
        usize::from(unsafe { self.ptr.add(HEIGHT_AT).read() })
    }

    pub(super) fn key(self) -> &'a [u8] {
        let len = self.read_u32(KEY_LEN_AT) as usize;
        // SAFETY: the key's `len` bytes follow the header inside the node's block; they were
        // written before publication, are never written again, and live as long as the list.
        unsafe { std::slice::from_raw_parts(self.ptr.add(KEY_AT).as_ptr(), len) }
    }

    pub(super) fn value(self) -> &'a [u8] {
        let key_len = self.read_u32(KEY_LEN_AT) as usize;
        let len = self.read_u32(VALUE_LEN_AT) as usize;
        // SAFETY: as for the key; the value follows it in the same block.
        unsafe { std::slice::from_raw_parts(self.ptr.add(KEY_AT + key_len).as_ptr(), len) }
    }

    /// The next pointer of `level`.
    ///
    /// # Panics
    /// When `level` is not below the node's height (a bug in the caller).
    fn next_slot(self, level: usize) -> &'a AtomicPtr<u8> {
        assert!(level < self.height(), "level {level} above a node's height");
        // SAFETY: the node has `height` next pointers below its node pointer, each an
        // 8-byte-aligned `AtomicPtr` initialised before publication; only atomic operations
        // touch them from then on, and they live as long as the list.
        unsafe {
            &*self
                .ptr
                .as_ptr()
                .sub(level * POINTER)
                .cast::<AtomicPtr<u8>>()
        }
    }

    /// The node after this one at `level`, if any.
    ///
    /// # Panics
    /// When `level` is not below the node's height.
    pub(super) fn next(self, level: usize) -> Option<Node<'a>> {
        let next = NonNull::new(self.next_slot(level).load(AtomicOrdering::Acquire))?;
        // SAFETY: next pointers only ever hold null or published nodes of this list (see
        // `SkipList::insert`: a node is stored into them only once written).
        Some(unsafe { Node::from_ptr(next) })
    }

    /// Whether this node's entry sorts before `(key, seq)`.
    fn is_before(self, key: &[u8], seq: SeqNum) -> bool {
        match self.key().cmp(key) {
            Ordering::Less => true,
            Ordering::Greater => false,
            Ordering::Equal => self.seq() > seq,
        }
    }
}

impl std::fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("key", &self.key())
            .field("seq", &self.seq())
            .finish()
    }
}

/// What only the writer touches: the arena, its random numbers and where it last inserted.
struct Writer {
    arena: Arena,
    rng: u64,
    /// For each level, the last node at or before the most recently inserted entry.
    splice: [NonNull<u8>; MAX_HEIGHT],
}

/// A sorted list of entries; see the module comment.
pub(super) struct SkipList {
    head: NonNull<u8>,
    /// Levels in use: searches start at `max_height - 1`.
    max_height: AtomicUsize,
    writer: Mutex<Writer>,
    len: AtomicUsize,
    /// Bytes of arena blocks holding entries (the head not counted).
    bytes: AtomicUsize,
}

// SAFETY: the list owns its arena (inside `writer`) and every node in it. What threads
// share is either atomic (`max_height`, `len`, `bytes`, every next pointer) or immutable
// once published (node headers, keys, values, `head`'s address); the writer's own state is
// behind a mutex.
unsafe impl Send for SkipList {}
// SAFETY: as above.
unsafe impl Sync for SkipList {}

impl std::fmt::Debug for SkipList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SkipList")
            .field("len", &self.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

impl SkipList {
    pub(super) fn new() -> SkipList {
        let mut arena = Arena::new();
        // An empty list: every next pointer of the head is null.
        let nulls = [std::ptr::null_mut(); MAX_HEIGHT];
        let head = write_node(&mut arena, &nulls, b"", 0, ValueKind::Delete, b"");
        SkipList {
            head,
            max_height: AtomicUsize::new(1),
            writer: Mutex::new(Writer {
                arena,
                rng: 0x9e37_79b9_7f4a_7c15,
                splice: [head; MAX_HEIGHT],
            }),
            len: AtomicUsize::new(0),
            bytes: AtomicUsize::new(0),
        }
    }

    fn head(&self) -> Node<'_> {
        // SAFETY: the head is a node of this list, written in `new`.
        unsafe { Node::from_ptr(self.head) }
    }

    pub(super) fn len(&self) -> usize {
        self.len.load(AtomicOrdering::Relaxed)
    }

    /// Exact bytes of the arena blocks holding entries.
    pub(super) fn bytes(&self) -> usize {
        self.bytes.load(AtomicOrdering::Relaxed)
    }

    /// The first entry.
    pub(super) fn first(&self) -> Option<Node<'_>> {
        self.head().next(0)
    }

    /// The first entry at or after `(key, seq)` in internal-key order.
    pub(super) fn seek(&self, key: &[u8], seq: SeqNum) -> Option<Node<'_>> {
        let top = self.max_height.load(AtomicOrdering::Relaxed) - 1;
        self.descend(key, seq, top, |_, _| {})
    }

    /// Walks down from the head at level `top` towards `(key, seq)`, telling `last_before`
    /// at each level the last node there that sorts before it (the head if none), and
    /// returns the first node at or after it.
    fn descend(
        &self,
        key: &[u8],
        seq: SeqNum,
        top: usize,
        mut last_before: impl FnMut(usize, Node<'_>),
    ) -> Option<Node<'_>> {
        let mut x = self.head();
        let mut level = top;
        loop {
            match x.next(level) {
                Some(next) if next.is_before(key, seq) => x = next,
                found => {
                    last_before(level, x);
                    if level == 0 {
                        return found;
                    }
                    level -= 1;
                }
            }
        }
    }

    /// The writer's side: hold it to insert. One writer at a time; readers go on meanwhile.
    pub(super) fn writer(&self) -> ListWriter<'_> {
        ListWriter {
            list: self,
            state: self.writer.lock(),
        }
    }
}

/// The exclusive right to insert into one list.
pub(super) struct ListWriter<'a> {
    list: &'a SkipList,
    state: MutexGuard<'a, Writer>,
}

impl ListWriter<'_> {
    /// Inserts an entry. An entry with the same key and sequence number as one already in
    /// the list goes right before it (the write path never makes one).
    pub(super) fn insert(&mut self, key: &[u8], seq: SeqNum, kind: ValueKind, value: &[u8]) {
        let list = self.list;
        let head = list.head();
        let state = &mut *self.state;
        // Predecessors at every level: from the splice when the key lands right after the
        // last insert (the splice is then right at every level), else by a search.
        // SAFETY: the splice holds only the head and nodes this writer published.
        let last = unsafe { Node::from_ptr(state.splice[0]) };
        let after_last = (last == head || last.is_before(key, seq))
            && last.next(0).is_none_or(|next| !next.is_before(key, seq));
        if !after_last {
            // From the top level, so that the splice is right at every level.
            list.descend(key, seq, MAX_HEIGHT - 1, |level, pred| {
                state.splice[level] = pred.as_ptr();
            });
        }

        let height = random_height(&mut state.rng);
        let mut successors = [std::ptr::null_mut(); MAX_HEIGHT];
        for (level, succ) in successors.iter_mut().enumerate().take(height) {
            // SAFETY: the splice holds the head and published nodes of this list, each
            // linked at `level` (a splice entry at `level` is a node reached at `level`).
            let pred = unsafe { Node::from_ptr(state.splice[level]) };
            *succ = pred.next_slot(level).load(AtomicOrdering::Relaxed);
        }
        let node = write_node(
            &mut state.arena,
            &successors[..height],
            key,
            seq,
            kind,
            value,
        );
        if height > list.max_height.load(AtomicOrdering::Relaxed) {
            // A reader that sees the new height before the head's new pointer just finds
            // null there and goes down a level.
            list.max_height.store(height, AtomicOrdering::Relaxed);
        }
        for level in 0..height {
            // SAFETY: as above.
            let pred = unsafe { Node::from_ptr(state.splice[level]) };
            // Publication: the node is complete; release makes it so for readers.
            pred.next_slot(level)
                .store(node.as_ptr(), AtomicOrdering::Release);
            state.splice[level] = node;
        }
        list.len.fetch_add(1, AtomicOrdering::Relaxed);
        list.bytes.fetch_add(
            node_size(height, key.len(), value.len()).next_multiple_of(super::arena::ALIGN),
            AtomicOrdering::Relaxed,
        );
    }
}

/// Writes a node into a new arena block, its height the number of `successors` (its next
/// pointers, bottom level first), and returns its node pointer. Nothing points to it yet.
fn write_node(
    arena: &mut Arena,
    successors: &[*mut u8],
    key: &[u8],
    seq: SeqNum,
    kind: ValueKind,
    value: &[u8],
) -> NonNull<u8> {
    let height = successors.len();
    debug_assert!((1..=MAX_HEIGHT).contains(&height));
    // Keys are at most 64 KiB and values 32 MiB (checked before any write gets here).
    let key_len = u32::try_from(key.len()).unwrap_or(u32::MAX);
    let value_len = u32::try_from(value.len()).unwrap_or(u32::MAX);
    let block = arena.allocate(node_size(height, key_len as usize, value_len as usize));
    // SAFETY: the block holds `node_size` bytes: `height - 1` next pointers, `next[0]`, the
    // header, the key and the value, in that order, so every write below is inside it; the
    // block is 8-byte aligned, and so are the next pointers, the node pointer and the tag.
    // Writes through raw pointers only: no reference to the uninitialised block is made.
    // Nothing else can see the block until the writer publishes it.
    unsafe {
        let node = block.add((height - 1) * POINTER);
        for (level, &succ) in successors.iter().enumerate() {
            node.sub(level * POINTER)
                .cast::<AtomicPtr<u8>>()
                .write(AtomicPtr::new(succ));
        }
        node.add(TAG_AT).cast::<u64>().write(pack_tag(seq, kind));
        node.add(KEY_LEN_AT).cast::<u32>().write(key_len);
        node.add(VALUE_LEN_AT).cast::<u32>().write(value_len);
        node.add(HEIGHT_AT).write(height as u8);
        let key_at = node.add(KEY_AT).as_ptr();
        std::ptr::copy_nonoverlapping(key.as_ptr(), key_at, key_len as usize);
        std::ptr::copy_nonoverlapping(
            value.as_ptr(),
            key_at.add(key_len as usize),
            value_len as usize,
        );
        node
    }
}

/// A height from 1 to MAX_HEIGHT, each next one a quarter as likely (xorshift64*).
fn random_height(rng: &mut u64) -> usize {
    let mut height = 1;
    while height < MAX_HEIGHT {
        *rng ^= *rng >> 12;
        *rng ^= *rng << 25;
        *rng ^= *rng >> 27;
        if (rng.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32) % BRANCHING != 0 {
            break;
        }
        height += 1;
    }
    height
}

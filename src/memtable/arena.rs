//! The memtable's arena: a bump allocator handing out 8-byte-aligned blocks of memory that
//! stay where they are until the arena is dropped.
//!
//! Only the memtable's writer allocates (the arena lives under the writer's lock). Readers
//! never touch the arena itself: they follow pointers into its blocks, which stay valid, and
//! never move, for as long as the arena lives. Blocks are freed all at once when the
//! memtable is dropped, so a memtable of a million entries is freed with a few dozen frees
//! instead of millions.
//!
//! Memory is taken from the system in chunks that grow with the memtable (64 KiB doubling up
//! to 1 MiB); a block larger than a quarter of a chunk gets an allocation of its own, so a
//! large value wastes no more than a quarter of a chunk.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ptr::NonNull;

/// Alignment of every block: enough for the `u64` and pointer fields a node starts with.
pub(super) const ALIGN: usize = 8;
const MIN_CHUNK: usize = 64 << 10;
const MAX_CHUNK: usize = 1 << 20;

/// One allocation taken from the system: freed when the arena drops.
#[derive(Debug)]
struct Allocation {
    ptr: NonNull<u8>,
    layout: Layout,
}

#[derive(Debug)]
pub(super) struct Arena {
    /// Every allocation, freed on drop.
    allocations: Vec<Allocation>,
    /// Where the next block in the current chunk starts, and the bytes left after it.
    cursor: Option<NonNull<u8>>,
    left: usize,
    /// Bytes taken from the system.
    reserved: usize,
}

// SAFETY: the arena owns its allocations outright (no other handle to them exists inside
// it); the raw pointers are only a record of what to free. Moving it between threads moves
// that ownership.
unsafe impl Send for Arena {}

impl Arena {
    pub(super) fn new() -> Arena {
        Arena {
            allocations: Vec::new(),
            cursor: None,
            left: 0,
            reserved: 0,
        }
    }

    /// A block of `size` bytes (rounded up to a multiple of [`ALIGN`]), aligned to
    /// [`ALIGN`], uninitialised, valid until the arena is dropped.
    ///
    /// Aborts like any Rust allocation when the system is out of memory.
    pub(super) fn allocate(&mut self, size: usize) -> NonNull<u8> {
        let size = size.max(1).next_multiple_of(ALIGN);
        let block = match self.cursor {
            Some(cursor) if size <= self.left => cursor,
            _ => {
                let chunk = self.reserved.clamp(MIN_CHUNK, MAX_CHUNK);
                if size > chunk / 4 {
                    // Large: its own allocation, leaving the current chunk's free space for
                    // the small blocks that follow.
                    return self.take_from_system(size);
                }
                self.left = chunk;
                self.take_from_system(chunk)
            }
        };
        self.left -= size;
        // SAFETY: `block + size` is at most one past the end of the chunk `block` lies in
        // (`size` was at most the bytes left in it), which `add` allows.
        self.cursor = Some(unsafe { block.add(size) });
        block
    }

    /// Bytes taken from the system so far (chunks and large blocks).
    #[cfg(test)]
    pub(super) fn reserved(&self) -> usize {
        self.reserved
    }

    fn take_from_system(&mut self, size: usize) -> NonNull<u8> {
        let layout = layout(size);
        // SAFETY: `layout` has a non-zero size (`size` is at least ALIGN).
        let raw = unsafe { alloc(layout) };
        let Some(ptr) = NonNull::new(raw) else {
            handle_alloc_error(layout)
        };
        self.allocations.push(Allocation { ptr, layout });
        self.reserved += size;
        ptr
    }
}

fn layout(size: usize) -> Layout {
    Layout::from_size_align(size, ALIGN)
        .unwrap_or_else(|_| handle_alloc_error(Layout::new::<u64>()))
}

impl Drop for Arena {
    fn drop(&mut self) {
        for a in self.allocations.drain(..) {
            // SAFETY: `a.ptr` came from `alloc(a.layout)` and is freed exactly once, here.
            // The memtable drops its arena only after the last reader is gone (readers hold
            // the memtable through an `Arc`).
            unsafe { dealloc(a.ptr.as_ptr(), a.layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_aligned_disjoint_and_counted() {
        let mut arena = Arena::new();
        let mut blocks = Vec::new();
        for size in [1, 7, 8, 9, 100, 16 << 10, 20 << 10, 300 << 10, 3] {
            let b = arena.allocate(size).as_ptr() as usize;
            assert_eq!(b % ALIGN, 0);
            blocks.push((b, size.next_multiple_of(ALIGN)));
        }
        blocks.sort();
        for pair in blocks.windows(2) {
            assert!(pair[0].0 + pair[0].1 <= pair[1].0, "{pair:?} overlap");
        }
        // One 64 KiB chunk for everything that fits in it, the 300 KiB block on its own.
        assert_eq!(arena.reserved(), (64 << 10) + (300 << 10));
        // A block larger than a quarter of the next chunk (which grows with the arena) gets
        // its own allocation; the current chunk's tail still serves small blocks.
        let before = arena.reserved();
        arena.allocate(100 << 10);
        assert_eq!(arena.reserved(), before + (100 << 10));
        arena.allocate(8);
        assert_eq!(arena.reserved(), before + (100 << 10));
    }
}

//! A hint to the CPU to start loading memory that is about to be read.
//!
//! A table's blocks are mostly not in the CPU cache when a lookup comes to them, and the
//! reads of a search depend on each other (an offset read from one line says which line is
//! next), so each miss waits for the one before. Asking for the lines a search will read
//! before it reads them lets the misses overlap.

/// Asks the CPU to start loading every cache line of `bytes` (a no-op off x86-64).
#[inline(always)]
pub(super) fn prefetch(bytes: &[u8]) {
    for line in bytes.chunks(64) {
        prefetch_line::<false>(line.as_ptr());
    }
}

/// Like [`prefetch`], into the outer caches only (not the first-level cache), for a whole
/// block read a while from now: a block's 64 requests at once then do not hold up the core
/// waiting for first-level fill slots, as they did with [`prefetch`] (measured in readseq).
#[inline(always)]
pub(super) fn prefetch_ahead(bytes: &[u8]) {
    for line in bytes.chunks(64) {
        prefetch_line::<true>(line.as_ptr());
    }
}

/// Asks the CPU to start loading the cache line that holds the start of `value`.
#[inline(always)]
pub(super) fn prefetch_value<T>(value: &T) {
    prefetch_line::<false>(std::ptr::from_ref(value).cast());
}

#[inline(always)]
fn prefetch_line<const OUTER_ONLY: bool>(at: *const u8) {
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0, _MM_HINT_T2};
        // SAFETY: a prefetch only hints the cache; it reads nothing the program sees and
        // cannot fault, and callers pass addresses inside live slices anyway.
        unsafe {
            if OUTER_ONLY {
                _mm_prefetch::<_MM_HINT_T2>(at.cast());
            } else {
                _mm_prefetch::<_MM_HINT_T0>(at.cast());
            }
        }
    }
}

//! `toykv_options`: open-time settings. Setters never fail; `toykv_open` validates.

use super::guard::guard_value;
use super::handles::{from_handle, into_handle};
use crate::Options;

/// Settings for `toykv_open`. Create with `toykv_options_new`, free with
/// `toykv_options_free`.
pub struct toykv_options {
    pub(crate) opts: Options,
}

/// A new options object holding every default. Never NULL unless out of memory.
#[no_mangle]
pub extern "C" fn toykv_options_new() -> *mut toykv_options {
    guard_value(std::ptr::null_mut(), || {
        into_handle(toykv_options {
            opts: Options::default(),
        })
    })
}

/// Frees `opts`. NULL is a no-op. The options may be freed as soon as `toykv_open` returns.
///
/// # Safety
/// `opts` is NULL or came from `toykv_options_new` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_free(opts: *mut toykv_options) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        drop(unsafe { from_handle(opts) });
    })
}

/// Applies `set` to the options behind `opts`; NULL is ignored (setters never fail).
///
/// # Safety
/// `opts` is NULL or a live options object not used by another thread during the call.
unsafe fn set(opts: *mut toykv_options, set: impl FnOnce(&mut Options)) {
    // SAFETY: forwarded contract.
    if let Some(o) = unsafe { opts.as_mut() } {
        set(&mut o.opts);
    }
}

/// Create the database when the directory holds none. Default true.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_create_if_missing(opts: *mut toykv_options, v: bool) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.create_if_missing = v) })
}

/// Fail `toykv_open` with `TOYKV_INVALID_ARGUMENT` when a database already exists. Default
/// false.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_error_if_exists(opts: *mut toykv_options, v: bool) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.error_if_exists = v) })
}

/// fsync the WAL before each write returns (survives power loss). Default false: writes
/// survive a process crash once `toykv_sync` has returned.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_sync_writes(opts: *mut toykv_options, v: bool) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.sync_writes = v) })
}

/// Memtable size that triggers a flush to an sstable: 1 to `TOYKV_MAX_MEMTABLE_BYTES`
/// (values below 16 KiB are rounded up). Default 4 MiB. 0 makes `toykv_open` fail.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_memtable_bytes(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.memtable_bytes = v) })
}

/// Target sstable data block size: 1 to `TOYKV_MAX_BLOCK_BYTES`. Default 4096. 0 makes
/// `toykv_open` fail.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_block_bytes(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.block_bytes = v) })
}

/// Bloom filter bits per key, 0 to `TOYKV_MAX_BLOOM_BITS_PER_KEY`; 0 builds no filter.
/// Default 10 (about 1% false positives).
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_bloom_bits_per_key(opts: *mut toykv_options, v: u32) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.bloom_bits_per_key = v) })
}

/// Capacity of the block cache in bytes; 0 disables it. Default 8 MiB. Sstables are read
/// through a read-only memory map where the file system allows, and their blocks then need
/// no cache (as with LevelDB's memory-mapped tables).
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_block_cache_bytes(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.block_cache_bytes = v) })
}

/// L0 files that trigger a compaction into the base level: 1 to `TOYKV_MAX_L0_TRIGGER`,
/// at most `l0_slowdown_trigger`. Default 4. Out of range: `toykv_open` fails naming it.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_l0_compaction_trigger(
    opts: *mut toykv_options,
    v: usize,
) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.l0_compaction_trigger = v) })
}

/// L0 files at which each write is delayed by about a millisecond (compaction is falling
/// behind): from `l0_compaction_trigger` to `TOYKV_MAX_L0_TRIGGER`, at most
/// `l0_stop_trigger`. Default 8.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_l0_slowdown_trigger(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.l0_slowdown_trigger = v) })
}

/// L0 files at which writes wait until compaction has caught up: from `l0_slowdown_trigger`
/// to `TOYKV_MAX_L0_TRIGGER`. Default 12.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_l0_stop_trigger(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.l0_stop_trigger = v) })
}

/// Level sizes: levels are sized from the bottom (the data set) up, each
/// `level_size_ratio` times smaller than the one below, up to the base level where L0
/// compacts to: the first whose target is no more than this many bytes. At least 1.
/// Default 10 MiB.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_level1_bytes(opts: *mut toykv_options, v: u64) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.level1_bytes = v) })
}

/// Growth factor between levels: at least 2. Default 10.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_level_size_ratio(opts: *mut toykv_options, v: u64) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.level_size_ratio = v) })
}

/// Size at which compaction cuts its output files (at the first key boundary past it):
/// at least 1. Default 2 MiB.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_target_file_bytes(opts: *mut toykv_options, v: u64) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.target_file_bytes = v) })
}

/// Size past which the manifest is replaced by a fresh one holding a single snapshot of
/// the database's files: at least 1. Default 4 MiB.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_max_manifest_bytes(opts: *mut toykv_options, v: u64) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.max_manifest_bytes = v) })
}

/// Compaction bytes pending (property `"toykv.compaction-pending"`) past which writes are
/// slowed down, the more the closer to the hard limit. 0 turns the slowdown off; otherwise
/// at most the hard limit (when that is set). Default 256 MiB.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_soft_pending_compaction_bytes(
    opts: *mut toykv_options,
    v: u64,
) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe {
        set(opts, |o| o.soft_pending_compaction_bytes = v)
    })
}

/// Compaction bytes pending at which writes wait until compaction has caught up. 0 turns
/// the stop off; otherwise at least the soft limit (when that is set). Default 1 GiB.
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_hard_pending_compaction_bytes(
    opts: *mut toykv_options,
    v: u64,
) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe {
        set(opts, |o| o.hard_pending_compaction_bytes = v)
    })
}

/// Sstables kept open at once (file descriptor, memory map, index and filter in memory);
/// past it the least recently used are closed and reopened when next read. At least 1.
/// Default 1,000 (LevelDB's).
///
/// # Safety
/// `opts` is NULL or a live options object.
#[no_mangle]
pub unsafe extern "C" fn toykv_options_set_max_open_files(opts: *mut toykv_options, v: usize) {
    // SAFETY: forwarded contract.
    guard_value((), || unsafe { set(opts, |o| o.max_open_files = v) })
}

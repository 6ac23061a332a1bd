//! `toykv_batch`: operations applied together by `toykv_write`.

use super::guard::{guard_status, guard_value};
use super::handles::{bytes, from_handle, handle_mut, into_handle};
use super::status::toykv_status;
use super::{TOYKV_MAX_KEY_LEN, TOYKV_MAX_VALUE_LEN};
use crate::WriteBatch;
use std::ffi::{c_int, c_void};

/// An atomic group of puts and deletes. Create with `toykv_batch_new`, free with
/// `toykv_batch_free`.
pub struct toykv_batch {
    pub(crate) batch: WriteBatch,
}

/// A new, empty batch. Never NULL unless out of memory.
#[no_mangle]
pub extern "C" fn toykv_batch_new() -> *mut toykv_batch {
    guard_value(std::ptr::null_mut(), || {
        into_handle(toykv_batch {
            batch: WriteBatch::new(),
        })
    })
}

/// Adds "set `key` to `value`". The bytes are copied.
///
/// Returns `TOYKV_OK`, or `TOYKV_INVALID_ARGUMENT` for a NULL batch, a NULL pointer with a
/// non-zero length, a key or value over its limit, or a batch that would charge more than
/// `TOYKV_MAX_BATCH_BYTES` (the batch is then unchanged).
///
/// # Safety
/// `b` is NULL or a live batch; non-NULL pointers are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn toykv_batch_put(
    b: *mut toykv_batch,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
) -> c_int {
    guard_status(std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let (b, key, value) = unsafe {
            (
                handle_mut(b, "batch")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
                bytes(value, value_len, "value", TOYKV_MAX_VALUE_LEN)?,
            )
        };
        b.batch.put(key, value)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Adds "delete `key`". The bytes are copied.
///
/// Returns `TOYKV_OK` or `TOYKV_INVALID_ARGUMENT` (as for `toykv_batch_put`).
///
/// # Safety
/// `b` is NULL or a live batch; a non-NULL `key` is valid for `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn toykv_batch_delete(
    b: *mut toykv_batch,
    key: *const c_void,
    key_len: usize,
) -> c_int {
    guard_status(std::ptr::null_mut(), || {
        // SAFETY: forwarded contract.
        let (b, key) = unsafe {
            (
                handle_mut(b, "batch")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
            )
        };
        b.batch.delete(key)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Removes every operation, keeping the batch for reuse. NULL is a no-op.
///
/// # Safety
/// `b` is NULL or a live batch.
#[no_mangle]
pub unsafe extern "C" fn toykv_batch_clear(b: *mut toykv_batch) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        if let Some(b) = unsafe { b.as_mut() } {
            b.batch.clear();
        }
    })
}

/// Frees `b`. NULL is a no-op.
///
/// # Safety
/// `b` is NULL or came from `toykv_batch_new` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn toykv_batch_free(b: *mut toykv_batch) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        drop(unsafe { from_handle(b) });
    })
}

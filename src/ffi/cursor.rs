//! `toykv_cursor`: range scans over a snapshot taken when the cursor opened.

use super::database::toykv_db;
use super::guard::{guard_status, guard_value, Failure};
use super::handles::{bound, bytes, from_handle, handle, handle_mut, into_handle, out, out_ptr};
use super::status::toykv_status;
use super::TOYKV_MAX_KEY_LEN;
use crate::Cursor;
use std::ffi::{c_char, c_int, c_void};

/// A position in a key range. Used by one thread at a time; freed by `toykv_cursor_close`.
pub struct toykv_cursor {
    pub(crate) cursor: Cursor,
}

/// Where empty keys and values point: a valid address, so callers may pass it on freely.
static EMPTY: [u8; 1] = [0];

/// Opens a cursor over `[start, end)` in unsigned byte order, reading a consistent snapshot
/// taken now. A NULL bound (with length 0) is unbounded; a non-NULL bound of length 0 is the
/// empty key (so `end = ""` is an empty range). `start >= end` is an empty range. The bounds
/// are copied: free them as soon as this returns. Bounds are keys: one longer than
/// `TOYKV_MAX_KEY_LEN` is `TOYKV_INVALID_ARGUMENT`, decided before any byte of it is read.
///
/// Returns `TOYKV_OK` with the cursor in `*cursor_out`; `TOYKV_INVALID_ARGUMENT`;
/// `TOYKV_CLOSED`.
///
/// # Safety
/// `db` is NULL or live; non-NULL bounds are valid for their lengths; `cursor_out` and
/// `err` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_cursor_open(
    db: *mut toykv_db,
    start: *const c_void,
    start_len: usize,
    end: *const c_void,
    end_len: usize,
    cursor_out: *mut *mut toykv_cursor,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let h = unsafe { handle(db, "db")? };
        // SAFETY: forwarded contract.
        unsafe {
            open_with(
                |start, end| h.db.scan_bounds(start, end),
                (start, start_len),
                (end, end_len),
                cursor_out,
            )
        }
    })
}

/// The body of `toykv_cursor_open` and `toykv_snapshot_cursor_open`: checks the bounds and
/// the out-parameter, opens with `scan`, and hands the cursor out.
///
/// # Safety
/// Non-NULL bounds are valid for their lengths; `cursor_out` is NULL or writable.
pub(crate) unsafe fn open_with(
    scan: impl FnOnce(Option<&[u8]>, Option<&[u8]>) -> crate::Result<Cursor>,
    (start, start_len): (*const c_void, usize),
    (end, end_len): (*const c_void, usize),
    cursor_out: *mut *mut toykv_cursor,
) -> Result<toykv_status, Failure> {
    // SAFETY: forwarded contract.
    let (start, end, cursor_out) = unsafe {
        (
            bound(start, start_len, "start")?,
            bound(end, end_len, "end")?,
            out(cursor_out, "cursor_out")?,
        )
    };
    let cursor = scan(start, end)?;
    *cursor_out = into_handle(toykv_cursor { cursor });
    Ok(toykv_status::TOYKV_OK)
}

/// Moves to the next live entry. `TOYKV_OK`: `*key`/`*key_len` and `*value`/`*value_len`
/// describe it; the pointers belong to the cursor and stay valid until the next call on
/// this cursor or its close (closing the database does not invalidate them). `TOYKV_END`
/// past the last entry, and on every later call until a seek. `TOYKV_CLOSED` once the
/// database is closed; `TOYKV_IO`/`TOYKV_CORRUPTION` from an sstable (the cursor then
/// stays failed).
///
/// # Safety
/// `c` is NULL or a live cursor; the out-pointers and `err` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_cursor_next(
    c: *mut toykv_cursor,
    key: *mut *const c_void,
    key_len: *mut usize,
    value: *mut *const c_void,
    value_len: *mut usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // The out-pointers stay raw: a caller may pass one `size_t *` for both lengths (or
        // one pointer for both addresses) to ignore one, and two `&mut` to one place would
        // be undefined behaviour. They are written one after the other; the value's win.
        let (key, key_len, value, value_len) = (
            out_ptr(key, "key")?,
            out_ptr(key_len, "key_len")?,
            out_ptr(value, "value")?,
            out_ptr(value_len, "value_len")?,
        );
        // SAFETY: forwarded contract.
        let c = unsafe { handle_mut(c, "cursor")? };
        let Some((k, v)) = c.cursor.next_entry()? else {
            return Ok(toykv_status::TOYKV_END);
        };
        let pointer = |bytes: &[u8]| -> *const c_void {
            if bytes.is_empty() {
                EMPTY.as_ptr().cast()
            } else {
                bytes.as_ptr().cast()
            }
        };
        // SAFETY: each pointer is non-NULL (checked above) and writable per this function's
        // contract; no reference to any of them exists.
        unsafe {
            key.write(pointer(k));
            key_len.write(k.len());
            value.write(pointer(v));
            value_len.write(v.len());
        }
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Repositions so that the next entry is the first key `>= key` within the cursor's range
/// (a key before the range start means the start). Also revives a cursor that reached
/// `TOYKV_END`.
///
/// # Safety
/// `c` is NULL or a live cursor; a non-NULL `key` is valid for `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn toykv_cursor_seek(
    c: *mut toykv_cursor,
    key: *const c_void,
    key_len: usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (c, key) = unsafe {
            (
                handle_mut(c, "cursor")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
            )
        };
        c.cursor.seek(key)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Frees the cursor. NULL is a no-op. Allowed (and required) after the database closed.
///
/// # Safety
/// `c` is NULL or came from `toykv_cursor_open`/`toykv_snapshot_cursor_open` and is not
/// used afterwards.
#[no_mangle]
pub unsafe extern "C" fn toykv_cursor_close(c: *mut toykv_cursor) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        drop(unsafe { from_handle(c) });
    })
}

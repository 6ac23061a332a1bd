//! `toykv_snapshot`: a read-only view of the database at one moment.

use super::cursor::open_with;
use super::cursor::toykv_cursor;
use super::database::{get_with, toykv_db};
use super::guard::{guard_status, guard_value};
use super::handles::{from_handle, handle, into_handle, out};
use super::status::toykv_status;
use crate::Snapshot;
use std::ffi::{c_char, c_int, c_void};

/// The database exactly as it was when the snapshot was opened. Freed by
/// `toykv_snapshot_close`. Safe to read from several threads at once.
pub struct toykv_snapshot {
    pub(crate) snap: Snapshot,
}

/// Takes a snapshot of the database as it is now and stores it in `*snap_out`.
///
/// Returns `TOYKV_OK`, `TOYKV_INVALID_ARGUMENT` or `TOYKV_CLOSED`.
///
/// # Safety
/// `db` is NULL or live; `snap_out` and `err` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_snapshot_open(
    db: *mut toykv_db,
    snap_out: *mut *mut toykv_snapshot,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, snap_out) = unsafe { (handle(db, "db")?, out(snap_out, "snap_out")?) };
        let snap = h.db.snapshot()?;
        *snap_out = into_handle(toykv_snapshot { snap });
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Releases the snapshot. NULL is a no-op. Allowed after the database closed.
///
/// # Safety
/// `snap` is NULL or came from `toykv_snapshot_open` and is not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn toykv_snapshot_close(snap: *mut toykv_snapshot) {
    guard_value((), || {
        // SAFETY: forwarded contract.
        drop(unsafe { from_handle(snap) });
    })
}

/// Reads `key` as of the snapshot; outputs and codes as for `toykv_get` (`TOYKV_CLOSED`
/// once the database is closed).
///
/// # Safety
/// `snap` is NULL or live; a non-NULL `key` is valid for `key_len` bytes; the out-pointers
/// and `err` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_snapshot_get(
    snap: *mut toykv_snapshot,
    key: *const c_void,
    key_len: usize,
    value_out: *mut *mut c_void,
    value_len_out: *mut usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let s = unsafe { handle(snap, "snapshot")? };
        // SAFETY: forwarded contract.
        unsafe {
            get_with(
                |key| s.snap.get(key),
                key,
                key_len,
                value_out,
                value_len_out,
            )
        }
    })
}

/// Opens a cursor over `[start, end)` as of the snapshot; bounds and codes as for
/// `toykv_cursor_open`. The cursor stays valid after the snapshot is closed.
///
/// # Safety
/// `snap` is NULL or live; non-NULL bounds are valid for their lengths; `cursor_out` and
/// `err` are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_snapshot_cursor_open(
    snap: *mut toykv_snapshot,
    start: *const c_void,
    start_len: usize,
    end: *const c_void,
    end_len: usize,
    cursor_out: *mut *mut toykv_cursor,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let s = unsafe { handle(snap, "snapshot")? };
        // SAFETY: forwarded contract.
        unsafe {
            open_with(
                |start, end| s.snap.scan_bounds(start, end),
                (start, start_len),
                (end, end_len),
                cursor_out,
            )
        }
    })
}

//! `toykv_db`: open, close, point reads and writes, maintenance, properties.

use super::batch::toykv_batch;
use super::guard::{c_string, guard_status, guard_value, invalid, malloc_copy, Failure};
use super::handles::{bytes, c_path, from_handle, handle, into_handle, out, out_ptr, text};
use super::options::toykv_options;
use super::status::toykv_status;
use super::{TOYKV_MAX_KEY_LEN, TOYKV_MAX_VALUE_LEN};
use crate::{Db, Options};
use std::ffi::{c_char, c_int, c_void};

/// An open database. Safe to use from many threads at once. Freed by `toykv_close`, after
/// which the pointer must not be used (its cursors and snapshots may: they report
/// `TOYKV_CLOSED`).
pub struct toykv_db {
    pub(crate) db: Db,
}

/// Opens the database in directory `path` (creating it with `create_if_missing`) and
/// stores the handle in `*db_out`. `opts` may be NULL for all defaults; it is not kept.
///
/// Returns `TOYKV_OK`; `TOYKV_INVALID_ARGUMENT` for NULL `path`/`db_out`, a bad option (the
/// message names it), a missing database without `create_if_missing` or an existing one with
/// `error_if_exists`; `TOYKV_LOCKED` when the directory is already open; `TOYKV_IO`;
/// `TOYKV_CORRUPTION` naming the damaged file.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `opts` is NULL or live; `db_out` and `err` are NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_open(
    path: *const c_char,
    opts: *const toykv_options,
    db_out: *mut *mut toykv_db,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (path, db_out) = unsafe { (c_path(path)?, out(db_out, "db_out")?) };
        // SAFETY: forwarded contract.
        let options = match unsafe { opts.as_ref() } {
            Some(o) => o.opts.clone(),
            None => Options::default(),
        };
        let db = Db::open(path, options)?;
        *db_out = into_handle(toykv_db { db });
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Makes every acknowledged write durable, stops background work, releases the directory
/// and frees `db`. NULL is a no-op returning `TOYKV_OK`. The handle is freed whatever the
/// result; a non-OK status (`TOYKV_IO`) means some writes may not be durable.
///
/// # Safety
/// `db` is NULL or came from `toykv_open`, is not in use by another thread, and is not used
/// afterwards.
#[no_mangle]
pub unsafe extern "C" fn toykv_close(db: *mut toykv_db, err: *mut *mut c_char) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let Some(handle) = (unsafe { from_handle(db) }) else {
            return Ok(toykv_status::TOYKV_OK);
        };
        handle.db.close()?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Deletes the files of the closed database in `path`, and the directory when then empty.
/// A missing directory is `TOYKV_OK`. `TOYKV_LOCKED` while the database is open.
///
/// # Safety
/// `path` is NULL or NUL-terminated; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_destroy(path: *const c_char, err: *mut *mut c_char) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let path = unsafe { c_path(path)? };
        Db::destroy(path)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Sets `key` to `value` (both copied). Keys and values may be empty; `(NULL, 0)` is the
/// empty string.
///
/// Returns `TOYKV_OK`; `TOYKV_INVALID_ARGUMENT` (NULL handle, NULL pointer with non-zero
/// length, key over `TOYKV_MAX_KEY_LEN` or value over `TOYKV_MAX_VALUE_LEN`); `TOYKV_IO`
/// when the WAL cannot be written (the database then refuses writes until reopened).
///
/// # Safety
/// `db` is NULL or live; non-NULL pointers are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn toykv_put(
    db: *mut toykv_db,
    key: *const c_void,
    key_len: usize,
    value: *const c_void,
    value_len: usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, key, value) = unsafe {
            (
                handle(db, "db")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
                bytes(value, value_len, "value", TOYKV_MAX_VALUE_LEN)?,
            )
        };
        h.db.put(key, value)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Deletes `key`; deleting an absent key is `TOYKV_OK`. Errors as for `toykv_put`.
///
/// # Safety
/// `db` is NULL or live; a non-NULL `key` is valid for `key_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn toykv_delete(
    db: *mut toykv_db,
    key: *const c_void,
    key_len: usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, key) = unsafe {
            (
                handle(db, "db")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
            )
        };
        h.db.delete(key)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Reads `key`. On `TOYKV_OK`, `*value_out` is a copy of the value (free it with
/// `toykv_free`; never NULL, even for an empty value) and `*value_len_out` its length.
/// `TOYKV_NOT_FOUND` when absent (outputs untouched); `TOYKV_INVALID_ARGUMENT`;
/// `TOYKV_IO`/`TOYKV_CORRUPTION` from an sstable (the message names it).
///
/// # Safety
/// `db` is NULL or live; a non-NULL `key` is valid for `key_len` bytes; the out-pointers
/// are NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_get(
    db: *mut toykv_db,
    key: *const c_void,
    key_len: usize,
    value_out: *mut *mut c_void,
    value_len_out: *mut usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let h = unsafe { handle(db, "db")? };
        // SAFETY: forwarded contract.
        unsafe { get_with(|key| h.db.get(key), key, key_len, value_out, value_len_out) }
    })
}

/// The body of `toykv_get` and `toykv_snapshot_get`: checks the arguments, reads with
/// `read`, and hands a found value out in `malloc`ed memory.
///
/// # Safety
/// A non-NULL `key` is valid for `key_len` bytes; the out-pointers are NULL or writable.
pub(crate) unsafe fn get_with(
    read: impl FnOnce(&[u8]) -> crate::Result<Option<Vec<u8>>>,
    key: *const c_void,
    key_len: usize,
    value_out: *mut *mut c_void,
    value_len_out: *mut usize,
) -> Result<toykv_status, Failure> {
    // SAFETY: forwarded contract.
    let key = unsafe { bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)? };
    // Raw, as in `toykv_cursor_next`: nothing stops a caller from aliasing them.
    let value_out = out_ptr(value_out, "value_out")?;
    let value_len_out = out_ptr(value_len_out, "value_len_out")?;
    let Some(value) = read(key)? else {
        return Ok(toykv_status::TOYKV_NOT_FOUND);
    };
    let copy = malloc_copy(&value, 0);
    if copy.is_null() {
        return Err(Failure {
            status: toykv_status::TOYKV_INTERNAL,
            message: format!("out of memory copying a value of {} bytes", value.len()),
        });
    }
    // SAFETY: both are non-NULL (checked above) and writable per the caller's contract.
    unsafe {
        value_out.write(copy);
        value_len_out.write(value.len());
    }
    Ok(toykv_status::TOYKV_OK)
}

/// Reads `key` into the caller's buffer. On `TOYKV_OK` the value is in `buf` and its length
/// in `*value_len_out`. When it does not fit: `TOYKV_BUFFER_TOO_SMALL`, `*value_len_out`
/// holds the size needed and `buf` is untouched (`buf` NULL with `buf_cap` 0 asks for the
/// size). `TOYKV_NOT_FOUND` when absent; other errors as for `toykv_get`.
///
/// # Safety
/// `db` is NULL or live; a non-NULL `key` is valid for `key_len` bytes; a non-NULL `buf`
/// is writable for `buf_cap` bytes; `value_len_out` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_get_into(
    db: *mut toykv_db,
    key: *const c_void,
    key_len: usize,
    buf: *mut c_void,
    buf_cap: usize,
    value_len_out: *mut usize,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, key, value_len_out) = unsafe {
            (
                handle(db, "db")?,
                bytes(key, key_len, "key", TOYKV_MAX_KEY_LEN)?,
                out(value_len_out, "value_len_out")?,
            )
        };
        if buf.is_null() && buf_cap != 0 {
            return Err(invalid(format!("buf is NULL with capacity {buf_cap}")));
        }
        let Some(value) = h.db.get(key)? else {
            return Ok(toykv_status::TOYKV_NOT_FOUND);
        };
        *value_len_out = value.len();
        if value.len() > buf_cap {
            return Err(Failure {
                status: toykv_status::TOYKV_BUFFER_TOO_SMALL,
                message: format!(
                    "buffer of {buf_cap} bytes is too small for a value of {} bytes",
                    value.len()
                ),
            });
        }
        if !value.is_empty() {
            // SAFETY: `buf` is non-NULL here (a NULL buf has capacity 0, and the value is
            // not empty) and writable for `buf_cap >= value.len()` bytes per the contract.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), buf.cast::<u8>(), value.len()) };
        }
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Frees memory the library returned: values from `toykv_get`/`toykv_snapshot_get`,
/// strings from `toykv_property`, and `*err` messages. NULL is a no-op.
///
/// # Safety
/// `ptr` is NULL or came from this library through one of those out-parameters, once.
#[no_mangle]
pub unsafe extern "C" fn toykv_free(ptr: *mut c_void) {
    guard_value((), || {
        // SAFETY: everything handed out was allocated with malloc (see `guard::malloc_copy`).
        unsafe { libc::free(ptr) }
    })
}

/// Applies every operation of batch `b` atomically (also across a crash). The batch is
/// not changed and can be reused. Errors as for `toykv_put`.
///
/// # Safety
/// `db` and `b` are NULL or live; `b` is not modified by another thread during the call.
#[no_mangle]
pub unsafe extern "C" fn toykv_write(
    db: *mut toykv_db,
    b: *const toykv_batch,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, b) = unsafe { (handle(db, "db")?, handle(b, "batch")?) };
        h.db.write(&b.batch)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Makes every write that returned before this call durable (fsyncs the WAL).
///
/// # Safety
/// `db` is NULL or live; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_sync(db: *mut toykv_db, err: *mut *mut c_char) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        unsafe { handle(db, "db")? }.db.sync()?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Writes the memtable to an sstable; returns once it is installed.
///
/// # Safety
/// `db` is NULL or live; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_flush(db: *mut toykv_db, err: *mut *mut c_char) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        unsafe { handle(db, "db")? }.db.flush()?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Full compaction: flushes, then rewrites every sstable into one sorted run, dropping
/// overwritten and deleted data no snapshot or cursor can see. Returns when done.
///
/// # Safety
/// `db` is NULL or live; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_compact(db: *mut toykv_db, err: *mut *mut c_char) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        unsafe { handle(db, "db")? }.db.compact()?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Writes a checkpoint of `db` into directory `dir`: a complete database that `toykv_open`
/// opens on its own, holding every write that returned `TOYKV_OK` before this call (and
/// possibly some made meanwhile) as of one moment, never part of a batch. Reads and writes
/// on `db` go on meanwhile, from any thread. `dir` must not exist; it is created, with any
/// missing parents. The live sstables are hard-linked where `dir` is on the database's file
/// system and copied otherwise; the manifest, `CURRENT` and the writes not yet in an
/// sstable are written fresh (the checkpoint's WAL starts empty). Before the call returns,
/// every file in `dir`, `dir` itself and its entry in its parent are fsynced. The library
/// does not keep `dir`. The checkpoint shares nothing with `db` afterwards: writes to one
/// never show in the other, and compactions of `db` leave its linked files alone.
///
/// Returns `TOYKV_OK`; `TOYKV_INVALID_ARGUMENT` for a NULL `db`, a NULL or empty `dir`, or
/// a `dir` that exists (nothing is written then); `TOYKV_IO` when anything cannot be read
/// or written (the message names the file), after which no `dir` is left behind;
/// `TOYKV_CORRUPTION` when an sstable to copy is not the size the manifest records.
///
/// # Safety
/// `db` is NULL or live; `dir` is NULL or NUL-terminated; `err` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_checkpoint(
    db: *mut toykv_db,
    dir: *const c_char,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, dir) = unsafe { (handle(db, "db")?, c_path(dir)?) };
        h.db.checkpoint(dir)?;
        Ok(toykv_status::TOYKV_OK)
    })
}

/// Reads property `name` into `*value_out`, a NUL-terminated string to free with
/// `toykv_free`: `"toykv.stats"`, `"toykv.sstables"` (one line per live sstable: level,
/// file name, size, smallest and largest key), `"toykv.num-files-at-level<N>"` (decimal),
/// `"toykv.compaction-pending"` (how far behind flushes and compactions are: the bytes they
/// must still write, decimal; `"0"` exactly when none is due. It used to be `"1"` instead
/// of a byte count: compare it with `"0"`).
/// Unknown names: `TOYKV_INVALID_ARGUMENT`.
///
/// # Safety
/// `db` is NULL or live; `name` is NULL or NUL-terminated; `value_out` and `err` are NULL
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn toykv_property(
    db: *mut toykv_db,
    name: *const c_char,
    value_out: *mut *mut c_char,
    err: *mut *mut c_char,
) -> c_int {
    guard_status(err, || {
        // SAFETY: forwarded contract.
        let (h, name, value_out) = unsafe {
            (
                handle(db, "db")?,
                text(name, "name")?,
                out(value_out, "value_out")?,
            )
        };
        let value = h.db.property(name)?;
        let copy = c_string(&value);
        if copy.is_null() {
            return Err(Failure {
                status: toykv_status::TOYKV_INTERNAL,
                message: "out of memory copying a property".into(),
            });
        }
        *value_out = copy;
        Ok(toykv_status::TOYKV_OK)
    })
}

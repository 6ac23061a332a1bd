//! Turning C pointers into Rust references, checked, in one place.
//!
//! Every conversion from a raw pointer happens in these `unsafe fn`s: a NULL handle or a
//! NULL pointer with a non-zero length becomes `TOYKV_INVALID_ARGUMENT`, never a crash.
//! What cannot be checked (that a non-NULL pointer is valid for its length, that a handle
//! came from this library and is not freed) is the caller's side of the contract, stated in
//! each function's `# Safety` section.

use super::guard::{invalid, Failure};
use std::ffi::{c_char, c_void, CStr};
use std::path::PathBuf;

/// A shared reference to the handle behind `ptr`.
///
/// # Safety
/// `ptr` is NULL or points to a live handle of type `T` created by this library, not used
/// mutably by another thread during the call.
pub(crate) unsafe fn handle<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Failure> {
    // SAFETY: per this function's contract, a non-NULL `ptr` is a live `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// An exclusive reference to the handle behind `ptr`.
///
/// # Safety
/// As for [`handle`], and no other reference to the handle is in use during the call.
pub(crate) unsafe fn handle_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: per this function's contract, a non-NULL `ptr` is a live, unshared `T`.
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// The place an out-parameter points to; written only once the call has succeeded.
///
/// # Safety
/// `ptr` is NULL or valid for writing a `T`.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Failure> {
    // SAFETY: per this function's contract, a non-NULL `ptr` is writable.
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(format!("{what} is NULL")))
}

/// An out-parameter kept as a raw pointer, for functions whose out-parameters may alias one
/// another (writing through two `&mut` to one place would be undefined behaviour). NULL is
/// `TOYKV_INVALID_ARGUMENT`; the caller writes with `ptr::write` once the call succeeded.
pub(crate) fn out_ptr<T>(ptr: *mut T, what: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    Ok(ptr)
}

/// The byte string `(ptr, len)`. `(NULL, 0)` is the empty string; `(NULL, n > 0)` and
/// lengths above `limit` are invalid (checked before any byte is read).
///
/// # Safety
/// A non-NULL `ptr` is valid for reading `len` bytes for the duration of the call.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const c_void,
    len: usize,
    what: &str,
    limit: usize,
) -> Result<&'a [u8], Failure> {
    if len > limit {
        return Err(invalid(format!(
            "{what} of {len} bytes exceeds the limit of {limit} bytes"
        )));
    }
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(invalid(format!("{what} is NULL with length {len}")))
        };
    }
    // SAFETY: `ptr` is non-NULL and, per this function's contract, valid for `len` bytes;
    // `len <= limit`, far below `isize::MAX`.
    Ok(unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) })
}

/// A range bound: NULL means unbounded (its length must then be 0); a non-NULL bound of
/// length 0 is the empty key. Bounds are keys: a length above the key limit is invalid,
/// decided before any byte is read (a caller's bad length must never become a huge copy).
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn bound<'a>(
    ptr: *const c_void,
    len: usize,
    what: &str,
) -> Result<Option<&'a [u8]>, Failure> {
    if ptr.is_null() {
        if len != 0 {
            return Err(invalid(format!("{what} is NULL with length {len}")));
        }
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { bytes(ptr, len, what, super::TOYKV_MAX_KEY_LEN) }.map(Some)
}

/// A NUL-terminated path.
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn c_path(ptr: *const c_char) -> Result<PathBuf, Failure> {
    if ptr.is_null() {
        return Err(invalid("path is NULL"));
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    let bytes = unsafe { CStr::from_ptr(ptr) }.to_bytes();
    if bytes.is_empty() {
        return Err(invalid("path is empty"));
    }
    use std::os::unix::ffi::OsStrExt;
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

/// A NUL-terminated UTF-8 string (property names).
///
/// # Safety
/// `ptr` is NULL or a valid NUL-terminated string.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per this function's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|_| invalid(format!("{what} is not UTF-8")))
}

/// Moves `value` to the heap and returns the pointer C will hold.
pub(crate) fn into_handle<T>(value: T) -> *mut T {
    Box::into_raw(Box::new(value))
}

/// Takes back ownership of a handle; NULL gives `None`.
///
/// # Safety
/// `ptr` is NULL or came from [`into_handle`] for the same `T` and is not used again.
pub(crate) unsafe fn from_handle<T>(ptr: *mut T) -> Option<Box<T>> {
    // SAFETY: per this function's contract, `ptr` came from `Box::into_raw`.
    (!ptr.is_null()).then(|| unsafe { Box::from_raw(ptr) })
}

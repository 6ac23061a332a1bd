//! Status codes and the one mapping from engine errors to them.

use crate::error::{Error, ErrorKind};
use std::ffi::{c_char, c_int};

/// Result of every fallible call. Values are explicit and only ever appended; a retired
/// code stays reserved.
#[repr(C)]
#[allow(non_camel_case_types)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum toykv_status {
    /// Success.
    TOYKV_OK = 0,
    /// `get`: the key is absent (not an error).
    TOYKV_NOT_FOUND = 1,
    /// `cursor_next`: no more entries (not an error).
    TOYKV_END = 2,
    /// A NULL or invalid argument, a bad option value, a key or value too large.
    TOYKV_INVALID_ARGUMENT = 3,
    /// An operating-system I/O error; the message carries the errno text and the path.
    TOYKV_IO = 4,
    /// On-disk data failed a checksum or format check; the message names the file.
    TOYKV_CORRUPTION = 5,
    /// The directory is already open (in this or another process).
    TOYKV_LOCKED = 6,
    /// `get_into`: the buffer is too small; `*value_len_out` holds the size needed.
    TOYKV_BUFFER_TOO_SMALL = 7,
    /// The database behind this handle was closed.
    TOYKV_CLOSED = 8,
    /// A bug: a panic was caught at the boundary.
    TOYKV_INTERNAL = 9,
}

/// The status code for an engine error. Nothing else in the crate knows the numbers.
pub(crate) fn status_of(error: &Error) -> toykv_status {
    match error.kind() {
        ErrorKind::InvalidArgument => toykv_status::TOYKV_INVALID_ARGUMENT,
        ErrorKind::Io => toykv_status::TOYKV_IO,
        ErrorKind::Corruption => toykv_status::TOYKV_CORRUPTION,
        ErrorKind::Locked => toykv_status::TOYKV_LOCKED,
        ErrorKind::Closed => toykv_status::TOYKV_CLOSED,
    }
}

/// A static, never-NULL description of `status` (also for unknown values).
#[no_mangle]
pub extern "C" fn toykv_status_str(status: c_int) -> *const c_char {
    super::guard::guard_value(c"unknown status".as_ptr(), || {
        let text = match status {
            0 => c"ok",
            1 => c"not found",
            2 => c"end of range",
            3 => c"invalid argument",
            4 => c"I/O error",
            5 => c"corruption",
            6 => c"database is locked",
            7 => c"buffer too small",
            8 => c"database closed",
            9 => c"internal error",
            _ => c"unknown status",
        };
        text.as_ptr()
    })
}

/// The library version, e.g. `"0.1.0"`: a static string, never NULL.
#[no_mangle]
pub extern "C" fn toykv_version() -> *const c_char {
    super::guard::guard_value(c"0.1.0".as_ptr(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

//! The guards every exported function runs inside: they catch panics (reported as
//! `TOYKV_INTERNAL`), turn errors into status codes, and write `*err` messages.
//!
//! A test (`ffi::tests::every_exported_function_runs_inside_a_guard`) fails if an exported
//! function's body does not call one of these.

use super::status::{status_of, toykv_status};
use crate::Error;
use std::ffi::{c_char, c_int};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Why a call did not return `TOYKV_OK`, when it deserves a message.
#[derive(Debug)]
pub(crate) struct Failure {
    pub status: toykv_status,
    pub message: String,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            status: status_of(&error),
            message: error.to_string(),
        }
    }
}

/// A `TOYKV_INVALID_ARGUMENT` failure.
pub(crate) fn invalid(message: impl Into<String>) -> Failure {
    Failure {
        status: toykv_status::TOYKV_INVALID_ARGUMENT,
        message: message.into(),
    }
}

/// Runs `body` for a fallible C function. `Ok(status)` is returned as is (OK, NOT_FOUND,
/// END: no message); a `Failure` or a panic fills `*err` when `err` is not NULL.
pub(crate) fn guard_status(
    err: *mut *mut c_char,
    body: impl FnOnce() -> Result<toykv_status, Failure>,
) -> c_int {
    let failure = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => return status as c_int,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure {
            status: toykv_status::TOYKV_INTERNAL,
            message: format!("internal error (a bug in toykv): {}", panic_text(&*payload)),
        },
    };
    if !err.is_null() {
        // SAFETY: the caller passes either NULL (checked above) or a writable `char **`.
        unsafe { *err = c_string(&failure.message) };
    }
    failure.status as c_int
}

/// Runs `body` for a C function without a status (constructors, setters, frees). A panic
/// returns `fallback` instead of unwinding into C.
pub(crate) fn guard_value<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(fallback)
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic".to_string()
    }
}

/// Copies `text` into a NUL-terminated string allocated with `malloc`, so that
/// `toykv_free` (which is `free`) releases it. Interior NUL bytes become `?`. Returns NULL
/// only when `malloc` fails.
pub(crate) fn c_string(text: &str) -> *mut c_char {
    let bytes = text.as_bytes();
    let ptr = malloc_copy(bytes, 1).cast::<u8>();
    if ptr.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: `malloc_copy` allocated `bytes.len() + 1` bytes and copied `bytes` in.
    let out = unsafe { std::slice::from_raw_parts_mut(ptr, bytes.len() + 1) };
    for b in out.iter_mut().take(bytes.len()) {
        if *b == 0 {
            *b = b'?';
        }
    }
    if let Some(last) = out.last_mut() {
        *last = 0;
    }
    ptr.cast()
}

/// A `malloc`ed copy of `bytes` with `extra` spare bytes after it (never a zero-size
/// allocation, so a NULL result always means out of memory).
pub(crate) fn malloc_copy(bytes: &[u8], extra: usize) -> *mut std::ffi::c_void {
    let size = (bytes.len() + extra).max(1);
    // SAFETY: plain allocation; the result is checked for NULL before use.
    let ptr = unsafe { libc::malloc(size) };
    if !ptr.is_null() {
        // SAFETY: `ptr` holds at least `bytes.len()` bytes and cannot overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr.cast::<u8>(), bytes.len()) };
    }
    ptr
}

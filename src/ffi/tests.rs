//! Tests of the C layer's own rules, from Rust (the C tests exercise the API from C).

use super::guard::{guard_status, Failure};
use super::status::toykv_status;
use super::*;
use std::ffi::{c_char, c_void, CStr};
use std::ptr;

#[test]
fn every_exported_function_runs_inside_a_guard() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/ffi");
    let mut exported = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        // Each exported function's text runs from its `extern "C" fn` to the next one.
        let parts: Vec<&str> = source.split("extern \"C\" fn ").collect();
        for body in parts.iter().skip(1) {
            let name = body.split('(').next().unwrap_or("?");
            let own_text = body.split("#[no_mangle]").next().unwrap_or(body);
            assert!(
                own_text.contains("guard_status(") || own_text.contains("guard_value("),
                "{name} in {} does not run inside a guard",
                path.display()
            );
            exported += 1;
        }
    }
    // API.md's 38, and the ten setters of the tuning options (L0 triggers, level sizes,
    // output files, manifest, pending-byte limits, max_open_files).
    assert_eq!(
        exported, 48,
        "the 48 functions of the header, no more, no fewer"
    );
}

#[test]
fn a_panic_becomes_toykv_internal_with_a_message() {
    let mut err: *mut c_char = ptr::null_mut();
    let status = guard_status(&mut err, || -> Result<toykv_status, Failure> {
        panic!("boom");
    });
    assert_eq!(status, toykv_status::TOYKV_INTERNAL as i32);
    assert!(!err.is_null());
    // SAFETY: the guard wrote a NUL-terminated string allocated with malloc.
    let message = unsafe { CStr::from_ptr(err) }.to_str().unwrap().to_string();
    assert!(message.contains("boom"), "{message}");
    // SAFETY: allocated by the library; freed once.
    unsafe { toykv_free(err.cast()) };
}

#[test]
fn header_limits_match_the_engine() {
    assert_eq!(TOYKV_MAX_KEY_LEN, crate::types::MAX_KEY_LEN);
    assert_eq!(TOYKV_MAX_VALUE_LEN, crate::types::MAX_VALUE_LEN);
    assert_eq!(TOYKV_MAX_MEMTABLE_BYTES, crate::options::MAX_MEMTABLE_BYTES);
    assert_eq!(TOYKV_MAX_BATCH_BYTES, crate::batch::MAX_BATCH_BYTES);
    assert_eq!(TOYKV_BATCH_OP_OVERHEAD, crate::batch::BATCH_OP_OVERHEAD);
    assert_eq!(TOYKV_MAX_BLOCK_BYTES, crate::options::MAX_BLOCK_BYTES);
    assert_eq!(TOYKV_MAX_L0_TRIGGER, crate::options::MAX_L0_TRIGGER);
    assert_eq!(
        TOYKV_MAX_BLOOM_BITS_PER_KEY,
        crate::options::MAX_BLOOM_BITS_PER_KEY
    );
}

#[test]
fn one_version_source_for_header_library_and_package() {
    let header = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("include/toykv.h"),
    )
    .unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert!(header.contains(&format!("#define TOYKV_VERSION \"{version}\"")));
    for (part, value) in [
        ("MAJOR", env!("CARGO_PKG_VERSION_MAJOR")),
        ("MINOR", env!("CARGO_PKG_VERSION_MINOR")),
        ("PATCH", env!("CARGO_PKG_VERSION_PATCH")),
    ] {
        assert!(header.contains(&format!("#define TOYKV_VERSION_{part} {value}\n")));
    }
    // SAFETY: toykv_version returns a static NUL-terminated string.
    let library = unsafe { CStr::from_ptr(toykv_version()) }.to_str().unwrap();
    assert_eq!(library, version);
}

#[test]
fn every_status_code_maps_one_to_one_and_has_a_description() {
    use crate::Error;
    let cases = [
        (Error::invalid("x"), toykv_status::TOYKV_INVALID_ARGUMENT),
        (
            Error::io("read", "/f", std::io::Error::other("x")),
            toykv_status::TOYKV_IO,
        ),
        (
            Error::corruption(std::path::Path::new("/f"), 0, "x"),
            toykv_status::TOYKV_CORRUPTION,
        ),
        (Error::Locked("/d".into()), toykv_status::TOYKV_LOCKED),
        (Error::Closed, toykv_status::TOYKV_CLOSED),
        (
            Error::Poisoned(Box::new(Error::io(
                "fsync",
                "/f",
                std::io::Error::other("x"),
            ))),
            toykv_status::TOYKV_IO,
        ),
    ];
    for (error, status) in cases {
        assert_eq!(status::status_of(&error), status, "{error}");
    }
    let mut seen = std::collections::HashSet::new();
    for code in -1..=10 {
        // SAFETY: toykv_status_str returns a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(toykv_status_str(code)) };
        assert!(!text.to_bytes().is_empty());
        if (0..=9).contains(&code) {
            assert!(seen.insert(text.to_owned()), "code {code} shares its text");
        }
    }
}

#[test]
fn a_round_trip_through_the_c_functions() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::ffi::CString::new(dir.path().to_str().unwrap()).unwrap();
    let mut db = ptr::null_mut();
    let mut err: *mut c_char = ptr::null_mut();
    // SAFETY: valid pointers throughout; every handle is closed and every allocation freed.
    unsafe {
        assert_eq!(toykv_open(path.as_ptr(), ptr::null(), &mut db, &mut err), 0);
        assert_eq!(
            toykv_put(
                db,
                b"k".as_ptr().cast(),
                1,
                b"v".as_ptr().cast(),
                1,
                &mut err
            ),
            0
        );
        let (mut value, mut len): (*mut c_void, usize) = (ptr::null_mut(), 0);
        assert_eq!(
            toykv_get(db, b"k".as_ptr().cast(), 1, &mut value, &mut len, &mut err),
            0
        );
        assert_eq!(std::slice::from_raw_parts(value.cast::<u8>(), len), b"v");
        toykv_free(value);
        assert_eq!(
            toykv_get(db, ptr::null(), 1, &mut value, &mut len, &mut err),
            toykv_status::TOYKV_INVALID_ARGUMENT as i32
        );
        assert!(!err.is_null());
        toykv_free(err.cast());
        assert_eq!(toykv_close(db, ptr::null_mut()), 0);
    }
}

//! What the C layer costs per call: `toykv_get` of a cached key through the `extern "C"`
//! functions against `Db::get` on the same database, in the same process.
//!
//! Run: `cargo run --release --example ffi_overhead`

use std::ffi::{c_void, CString};
use std::hint::black_box;
use std::ptr;
use std::time::Instant;
use toykv::ffi::{toykv_close, toykv_free, toykv_get, toykv_get_into, toykv_open, toykv_put};
use toykv::{Db, Options};

const KEYS: usize = 10_000;
const ROUNDS: usize = 100;

fn key(i: usize) -> Vec<u8> {
    format!("key{i:08}").into_bytes()
}

fn main() {
    let base = std::env::temp_dir().join(format!("toykv-ffi-overhead-{}", std::process::id()));
    let keys: Vec<Vec<u8>> = (0..KEYS).map(key).collect();
    let value = vec![b'v'; 100];

    // Rust: Db::get.
    let rust_dir = base.join("rust");
    let db = Db::open(&rust_dir, Options::default()).expect("open");
    for k in &keys {
        db.put(k, &value).expect("put");
    }
    db.flush().expect("flush");
    for k in &keys {
        db.get(k).expect("warm");
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for k in &keys {
            black_box(db.get(black_box(k)).expect("get"));
        }
    }
    let rust_ns = start.elapsed().as_nanos() as f64 / (ROUNDS * KEYS) as f64;
    db.close().expect("close");
    drop(db);

    // C: toykv_get (copy into malloc'ed memory, freed with toykv_free) and toykv_get_into.
    let c_dir = CString::new(base.join("c").to_str().expect("utf-8 temp dir")).expect("path");
    let mut handle = ptr::null_mut();
    // SAFETY: valid pointers throughout; every allocation is freed and the handle closed.
    let (get_ns, get_into_ns) = unsafe {
        assert_eq!(
            toykv_open(c_dir.as_ptr(), ptr::null(), &mut handle, ptr::null_mut()),
            0
        );
        for k in &keys {
            let rc = toykv_put(
                handle,
                k.as_ptr().cast(),
                k.len(),
                value.as_ptr().cast(),
                value.len(),
                ptr::null_mut(),
            );
            assert_eq!(rc, 0);
        }
        assert_eq!(toykv::ffi::toykv_flush(handle, ptr::null_mut()), 0);
        let run_get = || {
            let start = Instant::now();
            for _ in 0..ROUNDS {
                for k in &keys {
                    let (mut out, mut len): (*mut c_void, usize) = (ptr::null_mut(), 0);
                    let rc = toykv_get(
                        handle,
                        k.as_ptr().cast(),
                        k.len(),
                        &mut out,
                        &mut len,
                        ptr::null_mut(),
                    );
                    assert_eq!(rc, 0);
                    toykv_free(black_box(out));
                }
            }
            start.elapsed().as_nanos() as f64 / (ROUNDS * KEYS) as f64
        };
        run_get();
        let get_ns = run_get();
        let mut buf = [0u8; 256];
        let start = Instant::now();
        for _ in 0..ROUNDS {
            for k in &keys {
                let mut len = 0usize;
                let rc = toykv_get_into(
                    handle,
                    k.as_ptr().cast(),
                    k.len(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    &mut len,
                    ptr::null_mut(),
                );
                assert_eq!(rc, 0);
                black_box(&buf);
            }
        }
        let get_into_ns = start.elapsed().as_nanos() as f64 / (ROUNDS * KEYS) as f64;
        assert_eq!(toykv_close(handle, ptr::null_mut()), 0);
        (get_ns, get_into_ns)
    };
    let _ = std::fs::remove_dir_all(&base);
    println!("Db::get (Rust)         {rust_ns:8.1} ns/op");
    println!("toykv_get (C ABI)      {get_ns:8.1} ns/op  (+{:.1} ns: argument checks, panic guard, malloc copy + toykv_free)", get_ns - rust_ns);
    println!(
        "toykv_get_into (C ABI) {get_into_ns:8.1} ns/op  (+{:.1} ns)",
        get_into_ns - rust_ns
    );
}

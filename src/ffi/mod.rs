//! The C ABI: `extern "C"` functions over the Rust API, and nothing else.
//!
//! This layer checks arguments, converts between C and Rust types, calls the engine, maps
//! errors to status codes (in one place: `status::status_of`) and fills `*err` with a
//! message. Every exported function runs inside one of the guards in `guard`, which catch
//! panics so that nothing unwinds into C or aborts the host program. Handles are opaque
//! structs the header never shows; pointers become references only in the few `unsafe fn`
//! helpers of `handles`. `include/toykv.h` is generated from these files by cbindgen.
//!
//! Ownership, as the header documents per function: handles returned by `*_new`/`*_open`
//! are freed by their `*_free`/`*_close`; memory returned through out-parameters (values,
//! property strings, error messages) is freed with `toykv_free`; key and value pointers
//! returned by `toykv_cursor_next` belong to the cursor.

#![allow(non_camel_case_types)] // The C names are the API.

mod batch;
mod cursor;
mod database;
mod guard;
mod handles;
mod options;
mod snapshot;
mod status;

pub use batch::*;
pub use cursor::*;
pub use database::*;
pub use options::*;
pub use snapshot::*;
pub use status::*;

// Literal values, because the header gets them as `#define`s; a test checks that they
// equal the engine's limits.

/// Largest key accepted, in bytes (64 KiB); larger keys get `TOYKV_INVALID_ARGUMENT`.
pub const TOYKV_MAX_KEY_LEN: usize = 65536;
/// Largest value accepted, in bytes (32 MiB); larger values get `TOYKV_INVALID_ARGUMENT`.
pub const TOYKV_MAX_VALUE_LEN: usize = 33554432;
/// Most a write batch may charge (1 GiB): each operation counts its key and value plus
/// `TOYKV_BATCH_OP_OVERHEAD` bytes (what it costs in the memtable). `toykv_batch_put` and
/// `toykv_batch_delete` return `TOYKV_INVALID_ARGUMENT` past it, leaving the batch unchanged.
pub const TOYKV_MAX_BATCH_BYTES: usize = 1073741824;
/// Bytes each batch operation counts toward `TOYKV_MAX_BATCH_BYTES` beyond its key and value.
pub const TOYKV_BATCH_OP_OVERHEAD: usize = 128;
/// Largest accepted `memtable_bytes` option (1 GiB).
pub const TOYKV_MAX_MEMTABLE_BYTES: usize = 1073741824;
/// Largest accepted `block_bytes` option (4 MiB).
pub const TOYKV_MAX_BLOCK_BYTES: usize = 4194304;
/// Largest accepted `bloom_bits_per_key` option.
pub const TOYKV_MAX_BLOOM_BITS_PER_KEY: u32 = 64;
/// Largest accepted `l0_compaction_trigger`, `l0_slowdown_trigger` and `l0_stop_trigger`
/// option (1,000,000: as good as never).
pub const TOYKV_MAX_L0_TRIGGER: usize = 1000000;

// TOYKV_VERSION and TOYKV_VERSION_{MAJOR,MINOR,PATCH} are written into the header by
// build.rs from Cargo.toml, the one version source (see also `toykv_version`).

#[cfg(test)]
mod tests;

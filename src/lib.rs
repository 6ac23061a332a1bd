//! toykv: a log-structured merge-tree key-value store with a C API.
//!
//! The path of a write: [`Db::put`] -> WAL (`wal`, `log`) -> memtable (`memtable`) ->
//! frozen memtable -> flush (`db/flush.rs`) -> L0 sstable (`sstable`) -> compaction ->
//! deeper levels. A read checks the memtables, then sstables newest first; a scan merges
//! them all (`iterators`). The manifest (`version`) records which sstables are live.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::undocumented_unsafe_blocks
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod batch;
mod cache;
mod coding;
mod compaction;
mod cursor;
mod db;
pub mod env;
mod error;
pub mod ffi;
mod filename;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod hash;
pub mod inspect;
mod iterators;
mod key_heads;
mod log;
mod memtable;
mod options;
mod snapshot;
mod sstable;
mod sync;
mod types;
mod version;
mod wal;

pub use batch::WriteBatch;
pub use cursor::Cursor;
pub use db::{CheckpointOptions, CheckpointStats, Db};
pub use error::{Error, ErrorKind, Result};
pub use options::{
    Options, MAX_BLOCK_BYTES, MAX_BLOOM_BITS_PER_KEY, MAX_L0_TRIGGER, MAX_MEMTABLE_BYTES,
};
pub use snapshot::Snapshot;
pub use types::{MAX_KEY_LEN, MAX_VALUE_LEN};

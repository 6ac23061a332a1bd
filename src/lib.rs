//! toykv: a log-structured merge-tree key-value store with a C API.
//!
//! The path of a write: [`Db::put`] -> WAL (`wal`) -> memtable (`memtable`) -> frozen
//! memtable -> flush -> L0 sstable (`sstable`) -> compaction -> deeper levels.
//! A read checks the memtables, then sstables newest first; a scan merges them all.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod cache;
mod coding;
pub mod env;
mod error;
mod filename;
mod hash;
mod iterators;
mod options;
mod sstable;
mod types;

pub use error::{Error, ErrorKind, Result};
pub use options::{Options, MAX_BLOCK_BYTES, MAX_BLOOM_BITS_PER_KEY, MAX_MEMTABLE_BYTES};
pub use types::{MAX_KEY_LEN, MAX_VALUE_LEN};

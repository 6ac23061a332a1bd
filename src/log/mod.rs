//! Record framing for append-only logs: the write-ahead log today, the manifest later.
//!
//! A log file is a plain sequence of records with no file header; each record is a 12-byte
//! header followed by its payload:
//!
//! ```text
//! +------------+-------------+-------------+---------------------+
//! | header_crc | payload_len | payload_crc | payload             |
//! | u32 LE     | u32 LE      | u32 LE      | payload_len bytes   |
//! +------------+-------------+-------------+---------------------+
//! ```
//!
//! `header_crc` is CRC-32 (IEEE, via crc32fast) over the 8 bytes of `payload_len` and
//! `payload_crc`, so a damaged length is caught before it is trusted; `payload_crc` is CRC-32
//! over the payload. `doc/FORMAT.md` documents the format to the byte, together with the
//! rules [`LogReader`] uses to tell a torn tail (a crash mid-append, dropped silently) from
//! corruption (an error, never a silent truncation).
//!
//! [`LogWriter`] appends records and [`LogReader`] reads them back front to back. Neither is
//! shared between threads: the owner (the database's write path, or recovery) serialises use.

// The database's write path and recovery are the callers; they are being written on another
// branch. Until they land only the tests use this module. Remove this line when they do.

mod reader;
mod writer;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use reader::LogReader;
pub(crate) use writer::LogWriter;

use crate::coding::Decoder;

/// Bytes in a record header: `header_crc`, `payload_len`, `payload_crc`. On disk: never change.
pub(crate) const HEADER_LEN: usize = 12;

/// The largest payload a record may carry: 1 GiB.
///
/// Writers refuse larger payloads with `InvalidArgument`; a reader that meets a checksummed
/// length above this reports corruption instead of allocating for it. Well above anything the
/// engine writes (a write batch is bounded by this too, see `WriteBatch`).
pub(crate) const MAX_RECORD_LEN: usize = 1 << 30;

/// CRC-32 over the two header fields that follow it.
fn header_crc(payload_len: u32, payload_crc: u32) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&payload_len.to_le_bytes());
    hasher.update(&payload_crc.to_le_bytes());
    hasher.finalize()
}

/// The header for `payload`.
///
/// REQUIRES: `payload.len() <= MAX_RECORD_LEN` (so the length fits the u32 field).
fn encode_header(payload: &[u8]) -> [u8; HEADER_LEN] {
    debug_assert!(payload.len() <= MAX_RECORD_LEN);
    let payload_len = payload.len() as u32;
    let payload_crc = crc32fast::hash(payload);
    let mut header = [0u8; HEADER_LEN];
    let fields = [
        header_crc(payload_len, payload_crc),
        payload_len,
        payload_crc,
    ];
    for (slot, field) in header.chunks_exact_mut(4).zip(fields) {
        slot.copy_from_slice(&field.to_le_bytes());
    }
    header
}

/// A header whose `header_crc` matched: its length and payload checksum can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    payload_len: u32,
    payload_crc: u32,
}

/// Parses and verifies a header. `None` when `bytes` is shorter than a header or its
/// checksum does not match. The length is *not* checked against [`MAX_RECORD_LEN`] here.
fn parse_header(bytes: &[u8]) -> Option<Header> {
    let mut d = Decoder::new(bytes);
    let stored_crc = d.u32("header_crc").ok()?;
    let payload_len = d.u32("payload_len").ok()?;
    let payload_crc = d.u32("payload_crc").ok()?;
    (header_crc(payload_len, payload_crc) == stored_crc).then_some(Header {
        payload_len,
        payload_crc,
    })
}

/// Whether a whole, valid record (header and payload checksums both match, length within
/// [`MAX_RECORD_LEN`]) starts at `pos` in `bytes`.
fn valid_record_at(bytes: &[u8], pos: usize) -> bool {
    let Some(rest) = bytes.get(pos..) else {
        return false;
    };
    // Cheap rejection of zero-filled space: an all-zero header never verifies, because
    // CRC-32 of eight zero bytes is 0x6522df69, not 0.
    if rest.iter().take(HEADER_LEN).all(|&b| b == 0) {
        return false;
    }
    let Some(header) = parse_header(rest) else {
        return false;
    };
    let len = header.payload_len as usize;
    if len > MAX_RECORD_LEN {
        return false;
    }
    match rest.get(HEADER_LEN..HEADER_LEN + len) {
        Some(payload) => crc32fast::hash(payload) == header.payload_crc,
        None => false,
    }
}

/// The first position at or after `from` where a valid record starts, if any.
///
/// Used only after a bad record, to decide whether it was the tail of the log (nothing valid
/// after it) or damage in the middle (valid records follow). Costs one 8-byte CRC per byte
/// scanned; the common torn tail of zeros never gets here (see the reader).
fn find_valid_record(bytes: &[u8], from: usize) -> Option<usize> {
    let last_start = bytes.len().checked_sub(HEADER_LEN)?;
    (from..=last_start).find(|&pos| valid_record_at(bytes, pos))
}

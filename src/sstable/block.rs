//! Data blocks: a run of entries in internal-key order that a reader can binary-search.
//!
//! Format version 2, what this code writes:
//!
//! ```text
//! block = entry* | restart (u32) x r | r (u32) | crc32 (u32, the trailer)
//! entry = varint shared | varint unshared | varint value_len
//!       | key_delta (unshared bytes) | varint tag (seq << 8 | kind) | value
//! ```
//!
//! An entry's key is the first `shared` bytes of the previous entry's key followed by
//! `key_delta`. Every `restart_interval`-th entry is a *restart point*: it stores its key
//! whole (`shared = 0`) and the restart array lists its offset, so a seek binary-searches the
//! restart points and then steps forward through at most one interval.
//!
//! Format version 1 (read, never written): whole keys, 8-byte tags and an offsets array
//! listing every entry, which is the same shape with every entry a restart point:
//! `entry = varint key_len | key | tag (u64) | varint value_len | value`.
//!
//! [`BlockBuilder`] is owned by the [`super::TableBuilder`] that fills it. [`Block`] is a
//! decoded block: its trailer was verified and every entry checked once, in
//! [`Block::from_disk`], before it is handed out (and before it enters the block cache).
//! After that it is immutable and shared between threads as `Arc<Block>`. A [`BlockIter`]
//! is one reader's cursor over it.

use super::bytes::BlockBytes;
use super::prefetch::prefetch;
use super::{checksum, FormatVersion};
use crate::coding::{put_u32, put_varint, varint_len, Decoder};
use crate::error::DecodeError;
use crate::key_heads::{common_prefix_len, compare_bytes, extend_short};
use crate::types::{compare_internal, pack_tag, unpack_tag, SeqNum, ValueKind, MAX_SEQ};
use crate::{Error, Result};
use std::cmp::Ordering;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Bytes after every block's contents: the CRC32 of the contents. On disk: never change.
pub(crate) const BLOCK_TRAILER_LEN: usize = 4;

/// Bytes of a restart (v1: offset) slot and of the count after them. On disk: never change.
const U32_LEN: usize = 4;

/// An internal key borrowed from somewhere: user key and sequence number.
pub(crate) type KeyRef<'a> = (&'a [u8], SeqNum);

/// A version found by [`Block::get`]: sequence number, kind, value borrowed from the block.
pub(crate) type FoundVersion<'a> = (SeqNum, ValueKind, &'a [u8]);

/// Accumulates the entries of one version-2 data block.
#[derive(Debug)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    restart_interval: usize,
    /// Entries added since the last restart point.
    since_restart: usize,
    last_key: Vec<u8>,
}

impl BlockBuilder {
    /// A builder that makes every `restart_interval`-th entry a restart point (1 stores
    /// every key whole; 0 is taken as 1).
    pub(crate) fn new(restart_interval: usize) -> Self {
        BlockBuilder {
            buf: Vec::new(),
            restarts: Vec::new(),
            restart_interval: restart_interval.max(1),
            since_restart: 0,
            last_key: Vec::new(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.restarts.is_empty()
    }

    /// The bytes the block would take on disk if finished now, trailer included.
    pub(crate) fn size_estimate(&self) -> usize {
        self.buf.len() + U32_LEN * (self.restarts.len() + 1) + BLOCK_TRAILER_LEN
    }

    /// Exactly the bytes that adding this entry would add to [`BlockBuilder::size_estimate`].
    pub(crate) fn entry_size(
        &self,
        key: &[u8],
        seq: SeqNum,
        kind: ValueKind,
        value: &[u8],
    ) -> usize {
        let (restart, shared) = self.next_shared(key);
        let unshared = key.len() - shared;
        varint_len(shared as u64)
            + varint_len(unshared as u64)
            + varint_len(value.len() as u64)
            + unshared
            + varint_len(pack_tag(seq, kind))
            + value.len()
            + if restart { U32_LEN } else { 0 }
    }

    /// Whether the next entry is a restart point, and how many key bytes it shares with the
    /// previous entry.
    fn next_shared(&self, key: &[u8]) -> (bool, usize) {
        if self.restarts.is_empty() || self.since_restart >= self.restart_interval {
            (true, 0)
        } else {
            (false, common_prefix_len(&self.last_key, key))
        }
    }

    /// Appends an entry. The caller keeps internal-key order.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the block would pass 4 GiB, which the restart array cannot
    /// address (the table builder's size limits keep this from happening).
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: SeqNum,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        let (restart, shared) = self.next_shared(key);
        if restart {
            let offset = u32::try_from(self.buf.len())
                .map_err(|_| Error::invalid("sstable data block exceeds 4 GiB"))?;
            self.restarts.push(offset);
            self.since_restart = 0;
        }
        let delta = key.get(shared..).unwrap_or_default();
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, delta.len() as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(delta);
        put_varint(&mut self.buf, pack_tag(seq, kind));
        self.buf.extend_from_slice(value);
        self.last_key.truncate(shared);
        self.last_key.extend_from_slice(delta);
        self.since_restart += 1;
        Ok(())
    }

    /// Appends the restart array, its count and the CRC trailer, and returns the finished
    /// block. The builder is empty again once [`BlockBuilder::reset`] is called.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the block holds more than `u32::MAX` restart points.
    pub(crate) fn finish(&mut self) -> Result<&[u8]> {
        let count = u32::try_from(self.restarts.len())
            .map_err(|_| Error::invalid("sstable data block holds too many entries"))?;
        for &offset in &self.restarts {
            put_u32(&mut self.buf, offset);
        }
        put_u32(&mut self.buf, count);
        let crc = checksum(&self.buf);
        put_u32(&mut self.buf, crc);
        Ok(&self.buf)
    }

    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.restarts.clear();
        self.since_restart = 0;
        self.last_key.clear();
    }
}

/// Where a walk (see [`Block::decode`]) over a block's entries is.
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// Where restart point `next_restart` lies (`usize::MAX` past the array).
    restart: usize,
    /// Restart points passed.
    next_restart: usize,
    /// Entries read.
    entries: usize,
    /// Whether the walk passed the last entry with every check made.
    finished: bool,
}

/// Checks that the entry `c` is on comes after the previous block's separator.
fn check_first(c: &Position, after: KeyRef<'_>) -> Result<(), DecodeError> {
    let (after, after_seq) = after;
    match c.at {
        Some(at) if compare_internal(&c.key, c.seq, after, after_seq) != Ordering::Greater => {
            Err(DecodeError {
                field: "block first key (not after the previous block)",
                offset: at,
            })
        }
        _ => Ok(()),
    }
}

/// Checks that the last entry of a finished walk (still in `c`) is at or before the block's
/// own separator; `end` is where the entries end, for the error.
fn check_last(c: &Position, upto: KeyRef<'_>, end: usize) -> Result<(), DecodeError> {
    if compare_internal(&c.key, c.seq, upto.0, upto.1) == Ordering::Greater {
        return Err(DecodeError {
            field: "block last key (past its index separator)",
            offset: end,
        });
    }
    Ok(())
}

/// What the index says about a block: every entry comes after `after` (the previous block's
/// separator; `None` for the first block) and at or before `upto` (its own separator).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockBounds<'a> {
    pub after: Option<KeyRef<'a>>,
    pub upto: KeyRef<'a>,
}

/// A decoded, checksum-verified data block of either format version.
pub(crate) struct Block {
    /// The block's contents without the trailer: entries, restart array, count.
    data: BlockBytes,
    format: FormatVersion,
    /// Where the restart array (v1: the offsets array) starts; entries occupy
    /// `data[..restarts_start]`.
    restarts_start: usize,
    /// Restart points, at least one.
    num_restarts: usize,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("format", &self.format)
            .field("bytes", &self.data.len())
            .field("restarts", &self.num_restarts)
            .finish()
    }
}

/// One entry's parts as positions in its block. Its key is `shared` bytes of the previous
/// entry's key followed by the bytes at `delta` (version 1: `shared` is always 0).
struct RawEntry {
    shared: usize,
    delta: Range<usize>,
    seq: SeqNum,
    kind: ValueKind,
    value: Range<usize>,
    /// Where the next entry starts.
    end: usize,
}

impl Block {
    /// Checks the CRC trailer of a block of table format `format` read from `path` at file
    /// offset `offset`, then decodes it and checks every entry (see [`Block::decode`]).
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming `path` and the offset of the bad field when the
    /// checksum does not match, the structure is malformed or the entries fall outside
    /// `bounds`.
    pub(crate) fn from_disk(
        raw: impl Into<BlockBytes>,
        format: FormatVersion,
        bounds: Option<BlockBounds<'_>>,
        path: &Path,
        offset: u64,
    ) -> Result<Block> {
        let block = Block::checksummed(raw, format, path, offset)?;
        block
            .check_entries(bounds)
            .map_err(|e| e.in_file(path, offset))?;
        Ok(block)
    }

    /// Checks the CRC trailer and the restart array's place, as [`Block::from_disk`], but
    /// does not walk the entries: REQUIRES that the caller reads the block only through a
    /// walking cursor ([`BlockIter::walk_first`]) until that cursor has passed the last entry
    /// (and checked it against the index), and only then keeps it as a verified block.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming `path` when the checksum or the restart count is wrong.
    pub(crate) fn checksummed(
        raw: impl Into<BlockBytes>,
        format: FormatVersion,
        path: &Path,
        offset: u64,
    ) -> Result<Block> {
        let mut raw = raw.into();
        let contents_len = raw.len().checked_sub(BLOCK_TRAILER_LEN).ok_or_else(|| {
            Error::corruption(path, offset, "data block shorter than its checksum")
        })?;
        let (contents, trailer) = raw.split_at(contents_len);
        let stored = Decoder::new(trailer)
            .u32("data block trailer")
            .map_err(|e| e.in_file(path, offset + contents_len as u64))?;
        if stored != checksum(contents) {
            return Err(Error::corruption(
                path,
                offset + contents_len as u64,
                "data block checksum mismatch",
            ));
        }
        raw.truncate(contents_len);
        Block::layout(raw, format).map_err(|e| e.in_file(path, offset))
    }

    /// Decodes block contents whose trailer was already verified and removed, and walks
    /// every entry once: each must be well formed (every length within the block, a known
    /// kind, no more shared key bytes than the previous key has), in strictly increasing
    /// internal-key order and within `bounds`; the restart array must list the first entry
    /// and only entries that store their key whole, in ascending order (version 1: every
    /// entry). After this succeeds no accessor fails on this block.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the first malformed field.
    #[cfg_attr(not(any(test, feature = "fuzzing")), allow(dead_code))]
    pub(crate) fn decode(
        data: impl Into<BlockBytes>,
        format: FormatVersion,
        bounds: Option<BlockBounds<'_>>,
    ) -> Result<Block, DecodeError> {
        let block = Block::layout(data, format)?;
        block.check_entries(bounds)?;
        Ok(block)
    }

    /// Finds the restart array in block contents (trailer removed); the entries are not
    /// looked at.
    fn layout(data: impl Into<BlockBytes>, format: FormatVersion) -> Result<Block, DecodeError> {
        let data = data.into();
        let bad = |field: &'static str, offset: usize| DecodeError { field, offset };
        let count_field = match format {
            FormatVersion::V1 => "block entry count",
            FormatVersion::V2 => "block restart count",
        };
        let count_at = data.len().checked_sub(U32_LEN).ok_or(bad(count_field, 0))?;
        let count = Decoder::new(data.get(count_at..).unwrap_or_default()).u32(count_field)?;
        let num_restarts = usize::try_from(count).map_err(|_| bad(count_field, count_at))?;
        let restarts_start = num_restarts
            .checked_mul(U32_LEN)
            .and_then(|n| count_at.checked_sub(n))
            .ok_or(bad(count_field, count_at))?;
        if num_restarts == 0 {
            return Err(bad(count_field, count_at));
        }
        Ok(Block {
            data,
            format,
            restarts_start,
            num_restarts,
        })
    }

    /// The walk behind [`Block::decode`]: a walking cursor over every entry, and the
    /// first and last entries against `bounds`.
    fn check_entries(&self, bounds: Option<BlockBounds<'_>>) -> Result<(), DecodeError> {
        let mut c = Position::default();
        let mut walk = self.walk_start()?;
        self.walk_step(&mut c, &mut walk)?;
        if let Some(after) = bounds.and_then(|b| b.after) {
            check_first(&c, after)?;
        }
        while c.at.is_some() {
            self.walk_step(&mut c, &mut walk)?;
        }
        if let Some(bounds) = bounds {
            check_last(&c, bounds.upto, self.restarts_start)?;
        }
        Ok(())
    }

    /// A walk about to read the first entry.
    fn walk_start(&self) -> Result<Walk, DecodeError> {
        Ok(Walk {
            restart: self.restart_or_end(0)?,
            next_restart: 0,
            entries: 0,
            finished: false,
        })
    }

    /// The offset of restart point `i`, or `usize::MAX` past the restart array.
    fn restart_or_end(&self, i: usize) -> Result<usize, DecodeError> {
        if i < self.num_restarts {
            self.restart(i)
        } else {
            Ok(usize::MAX)
        }
    }

    /// Moves `c` to the entry after its current one (onto the first when the walk has read
    /// none), checking it as [`Block::decode`] promises: well formed, after the previous
    /// entry, listed in the restart array exactly when it is a restart point. Past the last
    /// entry, checks that the restart array listed nothing more and marks the walk finished;
    /// `c` keeps the last entry's key and sequence number for the caller's check against
    /// the index.
    #[inline]
    fn walk_step(&self, c: &mut Position, w: &mut Walk) -> Result<(), DecodeError> {
        let bad = |field: &'static str, offset: usize| DecodeError { field, offset };
        let restart_field = match self.format {
            FormatVersion::V1 => "block entry offset",
            FormatVersion::V2 => "block restart offset",
        };
        let at = if w.entries == 0 { 0 } else { c.next };
        if at >= self.restarts_start {
            if w.next_restart != self.num_restarts {
                return Err(bad(restart_field, self.restart_slot(w.next_restart)));
            }
            c.at = None;
            w.finished = true;
            return Ok(());
        }
        if w.restart < at {
            // The restart points into the previous entry, or the array does not ascend.
            return Err(bad(restart_field, self.restart_slot(w.next_restart)));
        }
        let is_restart = w.restart == at;
        if !is_restart && (w.entries == 0 || self.format == FormatVersion::V1) {
            // The first entry must be a restart point; version 1 lists every entry.
            return Err(bad(restart_field, self.restart_slot(w.next_restart)));
        }
        let e = self.decode_entry(at)?;
        let prev_len = if is_restart { 0 } else { c.key.len() };
        if e.shared > prev_len {
            return Err(bad("block entry shared key length", at));
        }
        let delta = self.slice(e.delta.clone());
        if w.entries > 0 {
            // Both keys start with the same `shared` bytes: the rest orders them.
            let order = compare_bytes(delta, c.key.get(e.shared..).unwrap_or_default())
                .then_with(|| c.seq.cmp(&e.seq));
            if order != Ordering::Greater {
                return Err(bad("block entry order", at));
            }
        }
        c.key.truncate(e.shared);
        extend_short(&mut c.key, delta);
        c.set(at, e);
        if is_restart {
            w.next_restart += 1;
            w.restart = self.restart_or_end(w.next_restart)?;
        }
        w.entries += 1;
        Ok(())
    }

    /// The table format this block was written in.
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn format(&self) -> FormatVersion {
        self.format
    }

    /// Bytes of memory this block holds, what the block cache charges for it.
    pub(crate) fn charge(&self) -> usize {
        self.data.heap_bytes() + std::mem::size_of::<Block>()
    }

    /// The bytes at `range` of the block; empty if out of range.
    #[inline]
    fn slice(&self, range: Range<usize>) -> &[u8] {
        self.data.get(range).unwrap_or_default()
    }

    /// Where restart slot `i` lies in the block (the count when `i` is past the array).
    fn restart_slot(&self, i: usize) -> usize {
        self.restarts_start + U32_LEN * i.min(self.num_restarts)
    }

    /// The offset of restart point `i`, read from the restart array.
    fn restart(&self, i: usize) -> Result<usize, DecodeError> {
        let at = self.restart_slot(i);
        let field = match self.format {
            FormatVersion::V1 => "block entry offset",
            FormatVersion::V2 => "block restart offset",
        };
        let raw = self
            .data
            .get(at..at + U32_LEN)
            .ok_or(DecodeError { field, offset: at })?;
        let v = Decoder::new(raw).u32(field)?;
        usize::try_from(v).map_err(|_| DecodeError { field, offset: at })
    }

    /// Decodes the entry starting at `at` without looking at the previous key.
    #[inline(always)]
    fn decode_entry(&self, at: usize) -> Result<RawEntry, DecodeError> {
        if self.format == FormatVersion::V2 {
            if let Some(e) = self.decode_v2_short(at) {
                return Ok(e);
            }
        }
        self.decode_entry_slow(at)
    }

    /// The common version-2 entry, decoded on the fast path: three one-byte lengths and a
    /// tag of at most eight bytes, all within the entries. `None` for anything else (which
    /// [`Block::decode_entry_slow`] decodes, or names the bad field of).
    #[inline(always)]
    fn decode_v2_short(&self, at: usize) -> Option<RawEntry> {
        let region = self.data.get(..self.restarts_start)?;
        let &[shared, delta_len, value_len] = region.get(at..)?.first_chunk::<3>()?;
        if (shared | delta_len | value_len) >= 0x80 {
            return None;
        }
        let delta_start = at + 3;
        let tag_at = delta_start + usize::from(delta_len);
        let mut tag: u64 = 0;
        let mut tag_len = 0;
        for (i, &byte) in region.get(tag_at..)?.iter().take(8).enumerate() {
            tag |= u64::from(byte & 0x7f) << (7 * i);
            if byte < 0x80 {
                tag_len = i + 1;
                break;
            }
        }
        if tag_len == 0 {
            return None;
        }
        let (seq, kind) = unpack_tag(tag)?;
        let value_start = tag_at + tag_len;
        let end = value_start + usize::from(value_len);
        if end > region.len() {
            return None;
        }
        Some(RawEntry {
            shared: usize::from(shared),
            delta: delta_start..tag_at,
            seq,
            kind,
            value: value_start..end,
            end,
        })
    }

    /// [`Block::decode_entry`] for any entry, naming the bad field of a malformed one.
    #[inline(never)]
    fn decode_entry_slow(&self, at: usize) -> Result<RawEntry, DecodeError> {
        let region = self.data.get(..self.restarts_start).unwrap_or_default();
        let rest = region.get(at..).ok_or(DecodeError {
            field: "block entry offset",
            offset: at,
        })?;
        let mut d = Decoder::new(rest);
        let shift = |e: DecodeError| DecodeError {
            field: e.field,
            offset: at + e.offset,
        };
        let (shared, delta_len, value_len) = match self.format {
            // The common case: three one-byte lengths.
            FormatVersion::V2 if rest.get(..3).is_some_and(|h| h.iter().all(|&b| b < 0x80)) => {
                let h = d.bytes(3, "block entry header").map_err(shift)?;
                let len = |i: usize| usize::from(h.get(i).copied().unwrap_or_default());
                (len(0), len(1), len(2))
            }
            FormatVersion::V2 => {
                let shared_at = d.position();
                let shared = d.varint("block entry shared key length").map_err(shift)?;
                let shared = usize::try_from(shared).map_err(|_| DecodeError {
                    field: "block entry shared key length",
                    offset: at + shared_at,
                })?;
                let unshared = d.varint_len("block entry key length").map_err(shift)?;
                let value_len = d.varint_len("block entry value length").map_err(shift)?;
                (shared, unshared, value_len)
            }
            FormatVersion::V1 => (0, d.varint_len("block entry key length").map_err(shift)?, 0),
        };
        let delta_start = at + d.position();
        d.bytes(delta_len, "block entry key").map_err(shift)?;
        let tag_at = d.position();
        let tag = match self.format {
            FormatVersion::V2 => d.varint("block entry tag").map_err(shift)?,
            FormatVersion::V1 => d.u64("block entry tag").map_err(shift)?,
        };
        let (seq, kind) = unpack_tag(tag).ok_or(DecodeError {
            field: "block entry tag (unknown value kind)",
            offset: at + tag_at,
        })?;
        let value_len = match self.format {
            FormatVersion::V2 => value_len,
            FormatVersion::V1 => d.varint_len("block entry value length").map_err(shift)?,
        };
        let value_start = at + d.position();
        d.bytes(value_len, "block entry value").map_err(shift)?;
        Ok(RawEntry {
            shared,
            delta: delta_start..delta_start + delta_len,
            seq,
            kind,
            value: value_start..value_start + value_len,
            end: at + d.position(),
        })
    }

    /// The key of restart point `i`, borrowed from the block (it is stored whole).
    fn restart_key(&self, i: usize) -> Result<KeyRef<'_>, DecodeError> {
        let at = self.restart(i)?;
        let e = self.decode_entry(at)?;
        if e.shared != 0 {
            return Err(DecodeError {
                field: "block entry shared key length",
                offset: at,
            });
        }
        Ok((self.slice(e.delta), e.seq))
    }

    /// Moves `c` onto the entry at `at`, whose key builds on `c`'s current key.
    fn load(&self, c: &mut Position, at: usize) -> Result<(), DecodeError> {
        let e = self.decode_entry(at)?;
        if e.shared > c.key.len() {
            return Err(DecodeError {
                field: "block entry shared key length",
                offset: at,
            });
        }
        c.key.truncate(e.shared);
        extend_short(&mut c.key, self.slice(e.delta.clone()));
        c.set(at, e);
        Ok(())
    }

    /// Moves `c` to restart point `i`.
    fn load_restart(&self, c: &mut Position, i: usize) -> Result<(), DecodeError> {
        c.key.clear();
        let at = self.restart(i)?;
        self.load(c, at)
    }

    /// Moves `c` to the entry after its current one; unpositioned past the last.
    fn step(&self, c: &mut Position) -> Result<(), DecodeError> {
        if c.at.is_none() || c.next >= self.restarts_start {
            c.at = None;
            return Ok(());
        }
        let next = c.next;
        self.load(c, next)
    }

    /// Moves `c` to the first entry at or after the internal key `(key, seq)`; unpositioned
    /// when every entry is before it.
    fn seek(&self, c: &mut Position, key: &[u8], seq: SeqNum) -> Result<(), DecodeError> {
        match self.find(key, seq)? {
            Some(found) => {
                // The entry's key is the target's first `shared` bytes and its delta.
                c.key.clear();
                c.key
                    .extend_from_slice(key.get(..found.entry.shared).unwrap_or_default());
                c.key
                    .extend_from_slice(self.slice(found.entry.delta.clone()));
                c.set(found.at, found.entry);
            }
            None => c.at = None,
        }
        Ok(())
    }

    /// The first entry at or after the internal key `(key, seq)`, `None` when every entry is
    /// before it.
    ///
    /// A binary search over the restart points (whose keys are stored whole), then a walk
    /// forward that never rebuilds a key: it tracks how many leading bytes the entry it is
    /// on shares with `key`. An entry that keeps more of its predecessor's bytes than that
    /// agrees with its predecessor where the predecessor differs from `key`, so it is
    /// smaller too and is skipped on its lengths alone; any other entry is `key`'s first
    /// `shared` bytes followed by its delta, which is compared with the rest of `key`.
    ///
    /// A block that is not in the CPU cache costs a miss per line the search reads, and
    /// each read waits for the one before it (an entry's lengths give the next entry's
    /// offset). So the search first asks for the lines it is about to read, to have them
    /// arrive together: the restart points' keys (a 4 KiB block has a handful), then the
    /// entries from the chosen restart point to the next.
    fn find(&self, key: &[u8], seq: SeqNum) -> Result<Option<Found>, DecodeError> {
        if self.num_restarts <= PREFETCHED_RESTARTS {
            for i in 0..self.num_restarts {
                let at = self.restart(i)?;
                prefetch(self.data.get(at..at + 1).unwrap_or_default());
            }
        }
        // The last restart point before the target: every entry before it is smaller too.
        let (mut lo, mut hi) = (0, self.num_restarts.saturating_sub(1));
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            let (k, s) = self.restart_key(mid)?;
            if compare_internal(k, s, key, seq) == Ordering::Less {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let mut at = self.restart(lo)?;
        let run_end = if lo + 1 < self.num_restarts {
            self.restart(lo + 1)?
        } else {
            self.restarts_start
        };
        prefetch(self.data.get(at..run_end).unwrap_or_default());
        // Leading bytes of `key` the current entry's key shares (none before the first).
        let mut matched = 0;
        while at < self.restarts_start {
            let e = self.decode_entry(at)?;
            if e.shared > matched {
                at = e.end;
                continue;
            }
            let delta = self.slice(e.delta.clone());
            let rest = key.get(e.shared..).unwrap_or_default();
            let same = common_prefix_len(delta, rest);
            matched = e.shared + same;
            let order = match (delta.get(same), rest.get(same)) {
                (Some(d), Some(r)) => d.cmp(r),
                _ => delta.len().cmp(&rest.len()),
            }
            .then_with(|| seq.cmp(&e.seq));
            if order != Ordering::Less {
                let exact = matched == key.len() && delta.len() == rest.len();
                return Ok(Some(Found {
                    at,
                    entry: e,
                    exact,
                }));
            }
            at = e.end;
        }
        Ok(None)
    }

    /// The newest version of `key` with a sequence number `<= snapshot` in this block:
    /// `(seq, kind, value)`.
    ///
    /// `None` means this block has no such version; because entries are in internal-key
    /// order, a caller that picked the first block whose separator is at or after
    /// `(key, snapshot)` then knows the whole table has none.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when an entry is malformed (impossible once [`Block::decode`]
    /// succeeded).
    pub(crate) fn get(
        &self,
        key: &[u8],
        snapshot: SeqNum,
    ) -> Result<Option<FoundVersion<'_>>, DecodeError> {
        Ok(self
            .find(key, snapshot)?
            .filter(|found| found.exact)
            .map(|Found { entry, .. }| (entry.seq, entry.kind, self.slice(entry.value))))
    }
}

/// How many restart points' keys [`Block::find`] asks for before its binary search; a
/// block with more has its keys read one probe at a time.
const PREFETCHED_RESTARTS: usize = 8;

/// An entry [`Block::find`] landed on.
struct Found {
    /// Where the entry starts.
    at: usize,
    entry: RawEntry,
    /// Whether its user key is the one searched for.
    exact: bool,
}

/// Where a cursor is in a block, and the key it has rebuilt there.
#[derive(Debug, Clone)]
struct Position {
    /// Start of the current entry; `None` when not on an entry.
    at: Option<usize>,
    /// Start of the entry after the current one.
    next: usize,
    key: Vec<u8>,
    seq: SeqNum,
    kind: ValueKind,
    value: Range<usize>,
}

impl Position {
    /// On the entry `e` at `at` (its key already rebuilt).
    fn set(&mut self, at: usize, e: RawEntry) {
        self.at = Some(at);
        self.next = e.end;
        self.seq = e.seq;
        self.kind = e.kind;
        self.value = e.value;
    }
}

impl Default for Position {
    fn default() -> Self {
        Position {
            at: None,
            next: 0,
            key: Vec::new(),
            seq: MAX_SEQ,
            kind: ValueKind::Delete,
            value: 0..0,
        }
    }
}

/// A cursor over one block's entries. It owns an `Arc` of the block, so the block lives as
/// long as the cursor; used by one thread at a time. After an error it is unpositioned.
///
/// A *walking* cursor ([`BlockIter::walk_first`]) reads a block that was only checksummed
/// ([`Block::checksummed`]) from its first entry on, making on each entry, before it is
/// read, the checks [`Block::decode`] makes on all of them: a scan verifies a block in the
/// pass that reads it instead of in a pass of its own.
#[derive(Debug)]
pub(crate) struct BlockIter {
    block: Arc<Block>,
    pos: Position,
    /// `Some` for a walking cursor.
    walk: Option<Walk>,
}

impl BlockIter {
    /// A cursor over `block`, not yet positioned.
    pub(crate) fn new(block: Arc<Block>) -> Self {
        BlockIter {
            block,
            pos: Position::default(),
            walk: None,
        }
    }

    /// The same cursor over another block, not yet positioned; its key buffer is kept.
    pub(crate) fn reset(&mut self, block: Arc<Block>) {
        self.block = block;
        self.pos.at = None;
        self.pos.key.clear();
        self.walk = None;
    }

    /// Makes this a walking cursor and moves it to the first entry, checked. Later `next`
    /// calls check each entry before moving onto it.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the first check that failed; the cursor is then unpositioned.
    pub(crate) fn walk_first(&mut self) -> Result<(), DecodeError> {
        self.pos.key.clear();
        let result = self.block.walk_start().and_then(|mut walk| {
            let step = self.block.walk_step(&mut self.pos, &mut walk);
            self.walk = Some(walk);
            step
        });
        self.settle(result)
    }

    /// For a walking cursor that passed its block's last entry with every check made:
    /// checks that entry against `upto` (the block's separator in the index) and returns
    /// true, the block is now verified. False for any other cursor.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when the last entry is past `upto`.
    pub(crate) fn walk_verified(&self, upto: Option<KeyRef<'_>>) -> Result<bool, DecodeError> {
        if !matches!(self.walk, Some(Walk { finished: true, .. })) {
            return Ok(false);
        }
        if let Some(upto) = upto {
            check_last(&self.pos, upto, self.block.restarts_start)?;
        }
        Ok(true)
    }

    /// The block this cursor reads.
    pub(crate) fn block(&self) -> &Arc<Block> {
        &self.block
    }

    /// Checks that the entry this cursor is on comes after `after` (the previous block's
    /// separator).
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when it does not.
    pub(crate) fn check_after(&self, after: KeyRef<'_>) -> Result<(), DecodeError> {
        check_first(&self.pos, after)
    }

    #[inline]
    pub(crate) fn valid(&self) -> bool {
        self.pos.at.is_some()
    }

    /// The current entry's user key (empty when not valid); valid until the next move.
    #[inline]
    pub(crate) fn key(&self) -> &[u8] {
        &self.pos.key
    }

    #[inline]
    pub(crate) fn seq(&self) -> SeqNum {
        self.pos.seq
    }

    #[inline]
    pub(crate) fn kind(&self) -> ValueKind {
        self.pos.kind
    }

    /// The current entry's value, borrowed from the block (empty when not valid).
    #[inline]
    pub(crate) fn value(&self) -> &[u8] {
        if self.valid() {
            self.block.slice(self.pos.value.clone())
        } else {
            &[]
        }
    }

    /// # Errors
    ///
    /// A [`DecodeError`] (offset within the block) when an entry is malformed.
    /// REQUIRES (as for [`BlockIter::seek`]): the block is verified, not only checksummed.
    pub(crate) fn seek_to_first(&mut self) -> Result<(), DecodeError> {
        self.walk = None;
        let result = self.block.load_restart(&mut self.pos, 0);
        self.settle(result)
    }

    /// Moves to the first entry at or after `(key, seq)`; not valid when there is none.
    /// REQUIRES: the block is verified ([`Block::from_disk`]), not only checksummed: the
    /// search trusts the restart array and the order of the entries.
    ///
    /// # Errors
    ///
    /// As [`BlockIter::seek_to_first`].
    pub(crate) fn seek(&mut self, key: &[u8], seq: SeqNum) -> Result<(), DecodeError> {
        self.walk = None;
        let result = self.block.seek(&mut self.pos, key, seq);
        self.settle(result)
    }

    /// Moves to the next entry; not valid past the last. A no-op when not valid.
    ///
    /// # Errors
    ///
    /// As [`BlockIter::seek_to_first`].
    #[inline]
    pub(crate) fn next(&mut self) -> Result<(), DecodeError> {
        let result = match &mut self.walk {
            Some(walk) if !walk.finished && self.pos.at.is_some() => {
                self.block.walk_step(&mut self.pos, walk)
            }
            _ => self.block.step(&mut self.pos),
        };
        self.settle(result)
    }

    #[inline]
    fn settle(&mut self, result: Result<(), DecodeError>) -> Result<(), DecodeError> {
        if result.is_err() {
            self.pos.at = None;
        }
        result
    }
}

/// A block holding one entry with a `value_len`-byte value, for cache tests.
#[cfg(test)]
pub(crate) fn test_block(value_len: usize) -> Block {
    let mut b = BlockBuilder::new(16);
    let value = vec![b'v'; value_len];
    let added = b.add(b"k", 1, ValueKind::Put, &value);
    assert!(added.is_ok());
    let raw = b.finish().map(<[u8]>::to_vec).unwrap_or_default();
    Block::from_disk(raw, FormatVersion::V2, None, Path::new("test"), 0)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::coding::{put_len_prefixed, put_u64};

    type TestEntry<'a> = (&'a [u8], SeqNum, ValueKind, &'a [u8]);

    const PUT: ValueKind = ValueKind::Put;
    const DEL: ValueKind = ValueKind::Delete;
    const V1: FormatVersion = FormatVersion::V1;
    const V2: FormatVersion = FormatVersion::V2;

    fn build(entries: &[TestEntry<'_>], restart_interval: usize) -> Vec<u8> {
        let mut b = BlockBuilder::new(restart_interval);
        for &(k, s, kind, v) in entries {
            let before = b.size_estimate();
            let expected = if b.is_empty() {
                0
            } else {
                b.entry_size(k, s, kind, v)
            };
            b.add(k, s, kind, v).unwrap();
            if expected > 0 {
                assert_eq!(b.size_estimate(), before + expected);
            }
        }
        let estimate = b.size_estimate();
        let out = b.finish().unwrap().to_vec();
        assert_eq!(out.len(), estimate);
        out
    }

    /// A version-1 block, as the first format wrote it: whole keys, 8-byte tags, offsets.
    fn build_v1(entries: &[TestEntry<'_>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut offsets = Vec::new();
        for &(k, s, kind, v) in entries {
            offsets.push(out.len() as u32);
            put_len_prefixed(&mut out, k);
            put_u64(&mut out, pack_tag(s, kind));
            put_len_prefixed(&mut out, v);
        }
        for o in &offsets {
            put_u32(&mut out, *o);
        }
        put_u32(&mut out, offsets.len() as u32);
        let crc = checksum(&out);
        put_u32(&mut out, crc);
        out
    }

    fn open(raw: Vec<u8>, format: FormatVersion) -> Result<Block> {
        Block::from_disk(raw, format, None, Path::new("000001.sst"), 0)
    }

    fn with_crc(mut contents: Vec<u8>) -> Vec<u8> {
        let crc = checksum(&contents);
        put_u32(&mut contents, crc);
        contents
    }

    fn drain(block: Block) -> Vec<(Vec<u8>, SeqNum, ValueKind, Vec<u8>)> {
        let mut it = BlockIter::new(Arc::new(block));
        it.seek_to_first().unwrap();
        let mut out = Vec::new();
        while it.valid() {
            out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
            it.next().unwrap();
        }
        out
    }

    const ENTRIES: &[TestEntry<'static>] = &[
        (b"", 5, PUT, b"empty"),
        (b"a", 9, PUT, b"a9"),
        (b"a", 7, DEL, b""),
        (b"a", 3, PUT, b"a3"),
        (b"ab", 0, PUT, b"zeroed"),
        (b"abc", 4, PUT, b""),
        (b"abd", 4, PUT, b"x"),
        (b"b", 1, PUT, b""),
        (b"b\xff\xff", 2, DEL, b""),
    ];

    fn check_reads(block: &Block) {
        let get = |k: &[u8], snap| {
            block
                .get(k, snap)
                .unwrap()
                .map(|(s, kind, v)| (s, kind, v.to_vec()))
        };
        assert_eq!(get(b"a", 100), Some((9, PUT, b"a9".to_vec())));
        assert_eq!(get(b"a", 8), Some((7, DEL, Vec::new())));
        assert_eq!(get(b"a", 6), Some((3, PUT, b"a3".to_vec())));
        assert_eq!(get(b"a", 2), None);
        assert_eq!(get(b"ab", 0), Some((0, PUT, b"zeroed".to_vec())));
        assert_eq!(get(b"ab", 100), Some((0, PUT, b"zeroed".to_vec())));
        assert_eq!(get(b"", 5), Some((5, PUT, b"empty".to_vec())));
        assert_eq!(get(b"", 4), None);
        assert_eq!(get(b"b\xff\xff", 2), Some((2, DEL, Vec::new())));
        for absent in [&b"c"[..], b"aa", b"abe", b"\0", b"b\xff"] {
            assert_eq!(get(absent, 100), None, "{absent:?}");
        }
        // A seek lands on the first entry at or after the target, wherever the restarts are.
        let mut it = BlockIter::new(Arc::new(
            Block::decode(block.data.to_vec(), block.format, None).unwrap(),
        ));
        for (i, &(k, s, _, _)) in ENTRIES.iter().enumerate() {
            it.seek(k, s).unwrap();
            assert_eq!((it.key(), it.seq()), (k, s), "seek to entry {i}");
            it.seek(k, SeqNum::MAX).unwrap();
            let first = ENTRIES.iter().position(|e| e.0 == k).unwrap();
            assert_eq!(it.seq(), ENTRIES[first].1);
        }
        it.seek(b"abc\0", SeqNum::MAX).unwrap();
        assert_eq!(it.key(), b"abd");
        it.seek(b"zz", SeqNum::MAX).unwrap();
        assert!(!it.valid());
        assert!(it.value().is_empty());
        it.next().unwrap(); // a no-op when not valid
        assert!(!it.valid());
    }

    fn owned(entries: &[TestEntry<'_>]) -> Vec<(Vec<u8>, SeqNum, ValueKind, Vec<u8>)> {
        entries
            .iter()
            .map(|&(k, s, kind, v)| (k.to_vec(), s, kind, v.to_vec()))
            .collect()
    }

    #[test]
    fn entries_round_trip_and_seek_finds_each_version_at_every_restart_interval() {
        for interval in 1..=ENTRIES.len() + 1 {
            let raw = build(ENTRIES, interval);
            let block = open(raw, V2).unwrap();
            assert_eq!(block.num_restarts, ENTRIES.len().div_ceil(interval));
            assert_eq!(block.format(), V2);
            check_reads(&block);
            assert_eq!(drain(block), owned(ENTRIES), "interval {interval}");
        }
    }

    #[test]
    fn seek_and_get_agree_with_a_linear_search_over_keys_sharing_prefixes() {
        // Keys over a small alphabet up to four bytes long: many share long prefixes, some
        // are prefixes of others; each has one to three versions.
        let mut keys: Vec<Vec<u8>> = vec![Vec::new()];
        for len in 1..=4 {
            let mut more = Vec::new();
            for k in keys.iter().filter(|k| k.len() == len - 1) {
                for c in [0u8, b'a', b'b', 0xff] {
                    let mut k = k.clone();
                    k.push(c);
                    more.push(k);
                }
            }
            keys.extend(more);
        }
        keys.sort();
        keys.retain(|k| k.len() % 2 == 0 || k.first() != Some(&b'b'));
        let mut owned: Vec<(Vec<u8>, SeqNum)> = Vec::new();
        for (i, k) in keys.iter().enumerate() {
            for v in 0..=(i % 3) as u64 {
                owned.push((k.clone(), 30 - 10 * v));
            }
        }
        let entries: Vec<TestEntry<'_>> = owned
            .iter()
            .map(|(k, s)| (k.as_slice(), *s, PUT, k.as_slice()))
            .collect();
        let mut targets: Vec<(Vec<u8>, SeqNum)> = Vec::new();
        for k in &keys {
            for s in [0, 15, 20, 30, SeqNum::MAX] {
                targets.push((k.clone(), s));
                targets.push(([k.as_slice(), b"\0"].concat(), s));
                targets.push(([k.as_slice(), b"c"].concat(), s));
            }
        }
        for interval in [1, 2, 3, 16, 1000] {
            let block = Arc::new(open(build(&entries, interval), V2).unwrap());
            let mut it = BlockIter::new(Arc::clone(&block));
            for (k, s) in &targets {
                let expected = owned
                    .iter()
                    .find(|(ek, es)| compare_internal(ek, *es, k, *s) != Ordering::Less);
                it.seek(k, *s).unwrap();
                let got = it.valid().then(|| (it.key().to_vec(), it.seq()));
                assert_eq!(
                    got.as_ref(),
                    expected,
                    "seek {k:?}@{s}, interval {interval}"
                );
                let found = block
                    .get(k, *s)
                    .unwrap()
                    .map(|(seq, _, v)| (v.to_vec(), seq));
                let exact = expected.filter(|(ek, _)| ek == k).cloned();
                assert_eq!(found, exact, "get {k:?}@{s}, interval {interval}");
            }
        }
    }

    #[test]
    fn entries_with_long_lengths_or_tags_read_back_beside_short_ones() {
        // Short entries take the one-byte-lengths decode; these need multi-byte lengths
        // (keys, shared prefixes and values of 128 bytes or more) or a tag of nine or ten
        // bytes (sequence numbers of 2^48 and up), and must decode the same way.
        let long_a = [b'a'; 200];
        let long_b = [[b'a'; 150].as_slice(), b"b"].concat();
        let long_value = [7u8; 300];
        let entries: &[TestEntry<'_>] = &[
            (b"a", MAX_SEQ, PUT, b"top"),
            (b"a", 1 << 48, PUT, &long_value),
            (b"a", (1 << 48) - 1, DEL, b""),
            (&long_a, 3, PUT, b"x"),
            (&long_b, MAX_SEQ, PUT, &long_value),
            (&long_b, 2, PUT, b"y"),
            (b"b", 1, PUT, b"z"),
        ];
        for interval in [1, 2, 3, 16] {
            let block = open(build(entries, interval), V2).unwrap();
            for &(k, s, kind, v) in entries {
                let got = block
                    .get(k, s)
                    .unwrap()
                    .map(|(s, kind, v)| (s, kind, v.to_vec()));
                assert_eq!(got, Some((s, kind, v.to_vec())), "interval {interval}");
            }
            let mut it = BlockIter::new(Arc::new(block));
            for &(k, s, _, v) in entries {
                it.seek(k, s).unwrap();
                assert_eq!((it.key(), it.seq(), it.value()), (k, s, v), "{interval}");
            }
            let again = open(build(entries, interval), V2).unwrap();
            assert_eq!(drain(again), owned(entries), "interval {interval}");
        }
    }

    #[test]
    fn version_one_blocks_still_read() {
        let block = open(build_v1(ENTRIES), V1).unwrap();
        assert_eq!(block.num_restarts, ENTRIES.len());
        check_reads(&block);
        assert_eq!(drain(block), owned(ENTRIES));
        // Read as the other version, the same bytes are refused, not misread.
        assert!(open(build_v1(ENTRIES), V2).is_err());
        assert!(open(build(ENTRIES, 16), V1).is_err());
    }

    #[test]
    fn keys_share_prefixes_between_restarts_only() {
        let entries: &[TestEntry<'_>] = &[
            (b"user000001", 0, PUT, b"v"),
            (b"user000002", 0, PUT, b"v"),
            (b"user000003", 0, PUT, b"v"),
        ];
        // shared, unshared, value_len, delta, tag, value
        let mut expected = vec![0, 10, 1];
        expected.extend_from_slice(b"user000001\x01v");
        expected.extend_from_slice(&[9, 1, 1, b'2', 1, b'v']);
        expected.extend_from_slice(&[0, 10, 1]);
        expected.extend_from_slice(b"user000003\x01v");
        for restart in [0u32, 21] {
            expected.extend_from_slice(&restart.to_le_bytes());
        }
        expected.extend_from_slice(&2u32.to_le_bytes());
        let raw = build(entries, 2);
        assert_eq!(raw[..raw.len() - 4], expected[..]);
        assert_eq!(raw[raw.len() - 4..], checksum(&expected).to_le_bytes());
    }

    #[test]
    fn every_single_byte_flip_and_truncation_is_caught_by_the_trailer() {
        for (format, raw) in [(V2, build(ENTRIES, 3)), (V1, build_v1(ENTRIES))] {
            for i in 0..raw.len() {
                let mut bad = raw.clone();
                bad[i] ^= 0x40;
                let err = open(bad, format).unwrap_err();
                assert!(err.to_string().contains("checksum"), "flip at {i}: {err}");
            }
            for len in 0..raw.len() {
                assert!(open(raw[..len].to_vec(), format).is_err());
            }
        }
    }

    /// Rebuilds `raw` (a finished block) with `edit` applied to its contents and a fresh CRC,
    /// then expects decoding to refuse it as corruption naming the file and (when given)
    /// `field`.
    fn refused(
        raw: &[u8],
        format: FormatVersion,
        field: Option<&str>,
        edit: impl FnOnce(&mut Vec<u8>),
    ) {
        let mut contents = raw[..raw.len() - 4].to_vec();
        edit(&mut contents);
        let err = open(with_crc(contents), format).expect_err("a malformed block decoded");
        assert_eq!(err.kind(), crate::ErrorKind::Corruption);
        if let Some(field) = field {
            assert!(err.to_string().contains(field), "expected {field:?}: {err}");
        }
        assert!(err.to_string().contains("000001.sst"), "{err}");
    }

    #[test]
    fn malformed_version_two_blocks_are_refused_naming_the_field_despite_a_valid_checksum() {
        // Three entries, restarts at 0 and at the third: "ka"@2 "kb"@1 | "kc"@1
        let raw = build(
            &[
                (b"ka", 2, PUT, b"x"),
                (b"kb", 1, PUT, b"y"),
                (b"kc", 1, PUT, b"z"),
            ],
            2,
        );
        let n = raw.len() - 4;
        let count_at = n - 4;
        let second_restart = count_at - 4;
        assert!(open(raw.clone(), V2).is_ok());
        let count = Some("block restart count");
        refused(&raw, V2, count, |c| c.truncate(3));
        refused(&raw, V2, count, |c| {
            c[count_at..].copy_from_slice(&0u32.to_le_bytes())
        });
        refused(&raw, V2, count, |c| {
            c[count_at..].copy_from_slice(&u32::MAX.to_le_bytes())
        });
        // Restarts past the entries, not starting at 0, not ascending, or into an entry.
        let restart = Some("block restart offset");
        refused(&raw, V2, restart, |c| c[second_restart] = 200);
        refused(&raw, V2, restart, |c| c[second_restart - 4] = 7);
        refused(&raw, V2, restart, |c| c[second_restart] = 0);
        refused(&raw, V2, None, |c| c[second_restart] += 1);
        // A restart listing the second entry, which shares key bytes with the first.
        let shared = Some("block entry shared key length");
        refused(&raw, V2, shared, |c| c[second_restart] = 8);
        // More shared bytes than the previous key has.
        refused(&raw, V2, shared, |c| c[8] = 3);
        // An unknown kind in the first tag (the byte after "ka").
        refused(
            &raw,
            V2,
            Some("block entry tag (unknown value kind)"),
            |c| c[5] = 7,
        );
        // A key or value length running past the entries.
        refused(&raw, V2, Some("block entry key"), |c| c[1] = 100);
        refused(&raw, V2, Some("block entry value"), |c| c[2] = 100);
        refused(&raw, V2, Some("block entry value"), |c| c[10] = 100);
    }

    #[test]
    fn malformed_version_one_blocks_are_refused_naming_the_field_despite_a_valid_checksum() {
        let raw = build_v1(&[(b"a", 2, PUT, b"x"), (b"b", 1, PUT, b"y")]);
        let n = raw.len() - 4;
        assert!(open(raw.clone(), V1).is_ok());
        let count = Some("block entry count");
        refused(&raw, V1, count, |c| {
            c[n - 4..].copy_from_slice(&0u32.to_le_bytes())
        });
        refused(&raw, V1, count, |c| {
            c[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes())
        });
        refused(&raw, V1, None, |c| c[n - 8] += 1);
        refused(
            &raw,
            V1,
            Some("block entry tag (unknown value kind)"),
            |c| c[2] = 7,
        );
        // The offsets array leaves the last entry out.
        refused(&raw, V1, Some("block entry offset"), |c| {
            c.truncate(n - 8);
            c.extend_from_slice(&1u32.to_le_bytes());
        });
    }

    #[test]
    fn entries_out_of_order_behind_a_valid_checksum_are_refused() {
        let order = Some("block entry order");
        let unordered: &[TestEntry<'_>] = &[(b"b", 1, PUT, b""), (b"a", 1, PUT, b"")];
        let twice: &[TestEntry<'_>] = &[(b"a", 1, PUT, b""), (b"a", 1, DEL, b"")];
        let older_first: &[TestEntry<'_>] = &[(b"a", 1, PUT, b""), (b"a", 2, PUT, b"")];
        for entries in [unordered, twice, older_first] {
            for interval in [1, 16] {
                refused(&build(entries, interval), V2, order, |_| {});
            }
            refused(&build_v1(entries), V1, order, |_| {});
        }
    }

    #[test]
    fn entries_outside_the_index_separators_are_refused() {
        let raw = build(&[(b"b", 5, PUT, b""), (b"d", 5, PUT, b"")], 16);
        let decode = |after: Option<KeyRef<'static>>, upto: KeyRef<'static>| {
            Block::decode(
                raw[..raw.len() - 4].to_vec(),
                V2,
                Some(BlockBounds { after, upto }),
            )
            .map(|_| ())
            .map_err(|e| e.field)
        };
        assert_eq!(decode(Some((b"a", 0)), (b"d", 5)), Ok(()));
        assert_eq!(decode(Some((b"b", 6)), (b"d", 0)), Ok(()));
        assert_eq!(decode(None, (b"e", 9)), Ok(()));
        let first = "block first key (not after the previous block)";
        let last = "block last key (past its index separator)";
        assert_eq!(decode(Some((b"b", 5)), (b"d", 5)), Err(first));
        assert_eq!(decode(Some((b"c", 0)), (b"d", 5)), Err(first));
        assert_eq!(decode(None, (b"d", 6)), Err(last));
        assert_eq!(decode(None, (b"c", 0)), Err(last));
    }
}

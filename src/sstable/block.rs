//! Data blocks: a run of entries in internal-key order with an offsets array that allows
//! binary search.
//!
//! ```text
//! entry*  offset_0 .. offset_{n-1} (u32 each)  n (u32)  crc32 (u32, the trailer)
//! entry = varint key_len | key | tag (u64 = seq << 8 | kind) | varint value_len | value
//! ```
//!
//! [`BlockBuilder`] is owned by the [`super::TableBuilder`] that fills it. [`Block`] is a
//! decoded block: its trailer was verified and its structure checked once, in
//! [`Block::decode`], before it is handed out (and before it enters the block cache). After
//! that it is immutable and shared between threads as `Arc<Block>`; lookups on it never
//! re-check the checksum.

use super::checksum;
use crate::coding::{put_len_prefixed, put_u32, put_u64, varint_len, Decoder};
use crate::error::DecodeError;
use crate::types::{compare_internal, pack_tag, unpack_tag, SeqNum, ValueKind};
use crate::{Error, Result};
use std::cmp::Ordering;
use std::ops::Range;
use std::path::Path;

/// Bytes after every block's contents: the CRC32 of the contents. On disk: never change.
pub(crate) const BLOCK_TRAILER_LEN: usize = 4;

/// Bytes of an entry's tag. On disk: never change.
const TAG_LEN: usize = 8;

/// Bytes per slot of the offsets array, and of the entry count. On disk: never change.
const OFFSET_LEN: usize = 4;

/// Accumulates the entries of one data block.
#[derive(Debug, Default)]
pub(crate) struct BlockBuilder {
    buf: Vec<u8>,
    offsets: Vec<u32>,
}

impl BlockBuilder {
    pub(crate) fn new() -> Self {
        BlockBuilder::default()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.offsets.is_empty()
    }

    /// The bytes the block would take on disk if finished now, trailer included.
    pub(crate) fn size_estimate(&self) -> usize {
        self.buf.len() + OFFSET_LEN * self.offsets.len() + OFFSET_LEN + BLOCK_TRAILER_LEN
    }

    /// The bytes one more entry adds to [`BlockBuilder::size_estimate`].
    pub(crate) fn entry_size(key: &[u8], value: &[u8]) -> usize {
        varint_len(key.len() as u64)
            + key.len()
            + TAG_LEN
            + varint_len(value.len() as u64)
            + value.len()
            + OFFSET_LEN
    }

    /// Appends an entry. The caller keeps internal-key order.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the block would pass 4 GiB, which the offsets cannot address
    /// (the table builder's size limits keep this from happening).
    pub(crate) fn add(
        &mut self,
        key: &[u8],
        seq: SeqNum,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        let offset = u32::try_from(self.buf.len())
            .map_err(|_| Error::invalid("sstable data block exceeds 4 GiB"))?;
        self.offsets.push(offset);
        put_len_prefixed(&mut self.buf, key);
        put_u64(&mut self.buf, pack_tag(seq, kind));
        put_len_prefixed(&mut self.buf, value);
        Ok(())
    }

    /// Appends the offsets array, the count and the CRC trailer, and returns the finished
    /// block. The builder is empty again once [`BlockBuilder::reset`] is called.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the block holds more than `u32::MAX` entries.
    pub(crate) fn finish(&mut self) -> Result<&[u8]> {
        let count = u32::try_from(self.offsets.len())
            .map_err(|_| Error::invalid("sstable data block holds too many entries"))?;
        for &offset in &self.offsets {
            put_u32(&mut self.buf, offset);
        }
        put_u32(&mut self.buf, count);
        let crc = checksum(&self.buf);
        put_u32(&mut self.buf, crc);
        Ok(&self.buf)
    }

    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.offsets.clear();
    }
}

/// One entry of a block, borrowed from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry<'a> {
    pub key: &'a [u8],
    pub seq: SeqNum,
    pub kind: ValueKind,
    pub value: &'a [u8],
}

/// Where an entry's parts lie inside its block, for cursors that cannot hold a borrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EntryPos {
    pub key: Range<usize>,
    pub seq: SeqNum,
    pub kind: ValueKind,
    pub value: Range<usize>,
}

/// A decoded, checksum-verified data block.
pub(crate) struct Block {
    /// The block's contents without the trailer: entries, offsets array, count.
    data: Vec<u8>,
    /// Where the offsets array starts; entries occupy `data[..offsets_start]`.
    offsets_start: usize,
    /// Number of entries, at least one.
    count: usize,
}

impl std::fmt::Debug for Block {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Block")
            .field("bytes", &self.data.len())
            .field("entries", &self.count)
            .finish()
    }
}

impl Block {
    /// Checks the CRC trailer of a block read from `path` at file offset `offset`, then
    /// decodes it.
    ///
    /// # Errors
    ///
    /// [`Error::Corruption`] naming `path` and the offset of the bad field when the
    /// checksum does not match or the structure is malformed.
    pub(crate) fn from_disk(mut raw: Vec<u8>, path: &Path, offset: u64) -> Result<Block> {
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
        Block::decode(raw).map_err(|e| e.in_file(path, offset))
    }

    /// Decodes block contents whose trailer was already verified and removed, checking that
    /// the offsets array points at consecutive, well-formed entries in strictly increasing
    /// internal-key order. After this succeeds no accessor can fail on this block.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] naming the first malformed field.
    pub(crate) fn decode(data: Vec<u8>) -> Result<Block, DecodeError> {
        let bad = |field: &'static str, offset: usize| DecodeError { field, offset };
        let count_at = data
            .len()
            .checked_sub(OFFSET_LEN)
            .ok_or(bad("block entry count", 0))?;
        let count =
            Decoder::new(data.get(count_at..).unwrap_or_default()).u32("block entry count")?;
        let count = usize::try_from(count).map_err(|_| bad("block entry count", count_at))?;
        let offsets_start = count
            .checked_mul(OFFSET_LEN)
            .and_then(|n| count_at.checked_sub(n))
            .ok_or(bad("block entry count", count_at))?;
        if count == 0 {
            return Err(bad("block entry count (zero)", count_at));
        }
        let block = Block {
            data,
            offsets_start,
            count,
        };
        // Walk every entry: each must start where the previous one ended, and the last must
        // end where the offsets array begins.
        let mut expected = 0usize;
        let mut prev: Option<(&[u8], SeqNum)> = None;
        for i in 0..count {
            let start = block.offset_of(i)?;
            if start != expected {
                return Err(bad("block entry offset", offsets_start + i * OFFSET_LEN));
            }
            let (entry, end) = block.decode_at(start)?;
            if let Some((pkey, pseq)) = prev {
                if compare_internal(pkey, pseq, entry.key, entry.seq) != Ordering::Less {
                    return Err(bad("block entry order", start));
                }
            }
            prev = Some((entry.key, entry.seq));
            expected = end;
        }
        if expected != offsets_start {
            return Err(bad("block entries (trailing bytes)", expected));
        }
        Ok(block)
    }

    /// Number of entries (at least one).
    pub(crate) fn len(&self) -> usize {
        self.count
    }

    /// Bytes of memory this block holds, what the block cache charges for it.
    pub(crate) fn charge(&self) -> usize {
        self.data.capacity() + std::mem::size_of::<Block>()
    }

    /// The bytes at `range` (from an [`EntryPos`] of this block); empty if out of range.
    pub(crate) fn slice(&self, range: Range<usize>) -> &[u8] {
        self.data.get(range).unwrap_or_default()
    }

    /// Entry `i`, with its parts as positions in the block.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] when `i` is out of range or the entry is malformed (impossible once
    /// [`Block::decode`] succeeded).
    pub(crate) fn entry_pos(&self, i: usize) -> Result<EntryPos, DecodeError> {
        let start = self.offset_of(i)?;
        let mut d = Decoder::new(self.entries_region());
        d.bytes(start, "block entry offset")?;
        let key_len = d.varint_len("block entry key length")?;
        let key_start = d.position();
        d.bytes(key_len, "block entry key")?;
        let (seq, kind) = tag(&mut d)?;
        let value_len = d.varint_len("block entry value length")?;
        let value_start = d.position();
        d.bytes(value_len, "block entry value")?;
        Ok(EntryPos {
            key: key_start..key_start + key_len,
            seq,
            kind,
            value: value_start..value_start + value_len,
        })
    }

    /// Entry `i`.
    ///
    /// # Errors
    ///
    /// As [`Block::entry_pos`].
    pub(crate) fn entry(&self, i: usize) -> Result<Entry<'_>, DecodeError> {
        let start = self.offset_of(i)?;
        Ok(self.decode_at(start)?.0)
    }

    /// The index of the first entry at or after the internal key `(key, seq)`, or
    /// [`Block::len`] when every entry is before it.
    ///
    /// # Errors
    ///
    /// As [`Block::entry_pos`].
    pub(crate) fn seek(&self, key: &[u8], seq: SeqNum) -> Result<usize, DecodeError> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let e = self.entry(mid)?;
            if compare_internal(e.key, e.seq, key, seq) == Ordering::Less {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// The newest version of `key` with a sequence number `<= snapshot` in this block.
    ///
    /// `None` means this block has no such version; because entries are in internal-key
    /// order, a caller that picked the first block whose last key is at or after
    /// `(key, snapshot)` then knows the whole table has none.
    ///
    /// # Errors
    ///
    /// As [`Block::entry_pos`].
    pub(crate) fn get(
        &self,
        key: &[u8],
        snapshot: SeqNum,
    ) -> Result<Option<Entry<'_>>, DecodeError> {
        let i = self.seek(key, snapshot)?;
        if i == self.count {
            return Ok(None);
        }
        let e = self.entry(i)?;
        Ok((e.key == key).then_some(e))
    }

    fn entries_region(&self) -> &[u8] {
        self.data.get(..self.offsets_start).unwrap_or_default()
    }

    /// The start of entry `i`, read from the offsets array.
    fn offset_of(&self, i: usize) -> Result<usize, DecodeError> {
        let err = DecodeError {
            field: "block entry offset",
            offset: self.offsets_start,
        };
        if i >= self.count {
            return Err(err);
        }
        let at = self.offsets_start + i * OFFSET_LEN;
        let slot = self.data.get(at..at + OFFSET_LEN).ok_or(err.clone())?;
        let offset = Decoder::new(slot).u32("block entry offset")?;
        usize::try_from(offset).map_err(|_| err)
    }

    /// Decodes the entry starting at `start`; returns it and the offset just past it.
    fn decode_at(&self, start: usize) -> Result<(Entry<'_>, usize), DecodeError> {
        let region = self.entries_region();
        let rest = region.get(start..).ok_or(DecodeError {
            field: "block entry offset",
            offset: start,
        })?;
        let mut d = Decoder::new(rest);
        let at = |e: DecodeError| DecodeError {
            field: e.field,
            offset: start + e.offset,
        };
        let key = d.len_prefixed("block entry key").map_err(at)?;
        let (seq, kind) = tag(&mut d).map_err(at)?;
        let value = d.len_prefixed("block entry value").map_err(at)?;
        let end = start + d.position();
        Ok((
            Entry {
                key,
                seq,
                kind,
                value,
            },
            end,
        ))
    }
}

/// Reads an 8-byte tag and splits it into sequence number and kind.
pub(crate) fn tag(d: &mut Decoder<'_>) -> Result<(SeqNum, ValueKind), DecodeError> {
    let at = d.position();
    let raw = d.u64("tag")?;
    unpack_tag(raw).ok_or(DecodeError {
        field: "tag (unknown value kind)",
        offset: at,
    })
}

/// Writes an internal key as the index stores it: length-prefixed user key, then the tag.
pub(crate) fn put_internal_key(buf: &mut Vec<u8>, key: &[u8], seq: SeqNum, kind: ValueKind) {
    put_len_prefixed(buf, key);
    put_u64(buf, pack_tag(seq, kind));
}

/// A block holding one entry with a `value_len`-byte value, for cache tests.
#[cfg(test)]
pub(crate) fn test_block(value_len: usize) -> Block {
    let mut b = BlockBuilder::new();
    let value = vec![b'v'; value_len];
    let added = b.add(b"k", 1, ValueKind::Put, &value);
    assert!(added.is_ok());
    let raw = b.finish().map(<[u8]>::to_vec).unwrap_or_default();
    Block::from_disk(raw, Path::new("test"), 0).unwrap_or_else(|e| panic!("{e:?}"))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn build(entries: &[(&[u8], SeqNum, ValueKind, &[u8])]) -> Vec<u8> {
        let mut b = BlockBuilder::new();
        let mut expected = 4 + 4;
        for &(k, s, kind, v) in entries {
            expected += BlockBuilder::entry_size(k, v);
            b.add(k, s, kind, v).unwrap();
        }
        assert_eq!(b.size_estimate(), expected);
        let out = b.finish().unwrap().to_vec();
        assert_eq!(out.len(), expected);
        out
    }

    const PUT: ValueKind = ValueKind::Put;
    const DEL: ValueKind = ValueKind::Delete;

    #[test]
    fn entries_round_trip_and_binary_search_finds_each_version() {
        let entries: &[(&[u8], SeqNum, ValueKind, &[u8])] = &[
            (b"", 5, PUT, b"empty"),
            (b"a", 9, PUT, b"a9"),
            (b"a", 7, DEL, b""),
            (b"a", 3, PUT, b"a3"),
            (b"b", 1, PUT, b""),
        ];
        let block = Block::from_disk(build(entries), Path::new("000001.sst"), 0).unwrap();
        assert_eq!(block.len(), 5);
        for (i, &(k, s, kind, v)) in entries.iter().enumerate() {
            let e = block.entry(i).unwrap();
            assert_eq!((e.key, e.seq, e.kind, e.value), (k, s, kind, v));
            let p = block.entry_pos(i).unwrap();
            assert_eq!(block.slice(p.key), k);
            assert_eq!(block.slice(p.value), v);
        }
        let get = |k: &[u8], snap| block.get(k, snap).unwrap().map(|e| (e.seq, e.kind));
        assert_eq!(get(b"a", 100), Some((9, PUT)));
        assert_eq!(get(b"a", 8), Some((7, DEL)));
        assert_eq!(get(b"a", 6), Some((3, PUT)));
        assert_eq!(get(b"a", 2), None);
        assert_eq!(get(b"", 5), Some((5, PUT)));
        assert_eq!(get(b"", 4), None);
        assert_eq!(get(b"c", 100), None);
        assert_eq!(get(b"ab", 100), None);
        assert_eq!(block.seek(b"a", u64::MAX).unwrap(), 1);
        assert_eq!(block.seek(b"zz", u64::MAX).unwrap(), 5);
        assert!(block.entry(5).is_err());
    }

    #[test]
    fn every_single_byte_flip_is_caught_by_the_trailer() {
        let raw = build(&[(b"key", 1, PUT, b"value"), (b"key2", 1, DEL, b"")]);
        for i in 0..raw.len() {
            let mut bad = raw.clone();
            bad[i] ^= 0x40;
            assert!(
                Block::from_disk(bad, Path::new("000001.sst"), 0).is_err(),
                "flip at {i} undetected"
            );
        }
        for len in 0..raw.len() {
            assert!(Block::from_disk(raw[..len].to_vec(), Path::new("000001.sst"), 0).is_err());
        }
    }

    #[test]
    fn malformed_structure_is_rejected_even_with_a_valid_checksum() {
        let with_crc = |mut contents: Vec<u8>| {
            let crc = checksum(&contents);
            put_u32(&mut contents, crc);
            contents
        };
        let mut good = build(&[(b"a", 2, PUT, b"x"), (b"b", 1, PUT, b"y")]);
        good.truncate(good.len() - 4);
        // A count of zero, a count larger than the block, an offset that skips a byte.
        let mut zero = Vec::new();
        put_u32(&mut zero, 0);
        assert!(Block::from_disk(with_crc(zero), Path::new("000001.sst"), 0).is_err());
        let mut huge = good.clone();
        let n = huge.len();
        huge[n - 4..].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(Block::from_disk(with_crc(huge), Path::new("000001.sst"), 0).is_err());
        let mut skip = good.clone();
        let second_offset = n - 8;
        skip[second_offset] += 1;
        assert!(Block::from_disk(with_crc(skip), Path::new("000001.sst"), 0).is_err());
        // Entries out of order.
        let mut b = BlockBuilder::new();
        b.add(b"b", 1, PUT, b"").unwrap();
        b.add(b"a", 1, PUT, b"").unwrap();
        let err =
            Block::from_disk(b.finish().unwrap().to_vec(), Path::new("000001.sst"), 0).unwrap_err();
        assert!(err.to_string().contains("block entry order"), "{err}");
        // An unknown kind byte.
        let mut kind = good.clone();
        kind[2] = 7; // the low byte of the first tag
        assert!(Block::from_disk(with_crc(kind), Path::new("000001.sst"), 0).is_err());
        assert!(Block::from_disk(with_crc(good), Path::new("000001.sst"), 0).is_ok());
    }
}

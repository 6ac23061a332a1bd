//! The block index: one entry per data block with its length and a *separator*, an
//! internal key at or after every entry of the block and before every entry of the next
//! one, so a lookup finds the one block that can hold a key by binary search.
//!
//! Format version 2, what this code writes (followed on disk by a CRC32 trailer):
//!
//! ```text
//! index contents = varint count | index_entry x count
//! index_entry    = varint shared | varint unshared | key_delta (unshared bytes)
//!                | varint seq | varint block_len
//! ```
//!
//! The separator's user key is `shared` bytes of the previous separator followed by
//! `key_delta`; blocks are contiguous from offset 0, so a block starts where the previous one
//! ended and `block_len` (which covers the block's trailer) is all the index stores of its
//! place. Format version 1 (read, never written) stored each block's offset, length, and
//! first and last internal keys whole; its last key serves as its separator.
//!
//! [`IndexBuilder`] is owned by the table builder. [`Index`] is decoded and fully validated
//! once when a table opens and then kept in memory, immutable, for the table's lifetime, in a
//! layout made for searching: the separators' user keys as integer heads
//! ([`crate::key_heads`]), so nearly every probe of a lookup is one integer comparison within
//! a few cache lines; only blocks whose heads tie with the target's compare whole keys.

use super::block::{KeyRef, BLOCK_TRAILER_LEN};
use super::FormatVersion;
use crate::coding::{put_varint, Decoder};
use crate::error::DecodeError;
use crate::key_heads::{common_prefix_len, KeyHeads};
use crate::types::{compare_internal, unpack_tag, SeqNum, MAX_SEQ};
use std::cmp::Ordering;

/// The smallest possible version-1 data block on disk: one entry with an empty key and
/// value (10 bytes), one offset, the count and the trailer.
const MIN_V1_BLOCK_LEN: u64 = 10 + 4 + 4 + BLOCK_TRAILER_LEN as u64;

/// The smallest possible version-2 data block on disk: one entry with an empty key and
/// value (three one-byte lengths and a one-byte tag), one restart, the count and the trailer.
const MIN_V2_BLOCK_LEN: u64 = 4 + 4 + 4 + BLOCK_TRAILER_LEN as u64;

/// The smallest possible version-2 index entry: five one-byte varints.
const MIN_V2_ENTRY_LEN: usize = 5;

/// Where a region of the file lies. `len` includes the region's CRC trailer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockHandle {
    pub offset: u64,
    pub len: u64,
}

impl BlockHandle {
    pub(crate) fn end(&self) -> Option<u64> {
        self.offset.checked_add(self.len)
    }
}

/// The separator of a block whose last entry is `last`, followed by a block whose first
/// entry is `next` (`None` for the table's last block): written into `out`, its sequence
/// number returned.
///
/// When the next block starts with another user key, the separator is the shortest user key
/// `u` with `last.key <= u < next.key`, with sequence number 0 (the largest internal key with
/// that user key, so still at or after `last`). When versions of one user key span the two
/// blocks, only `last` itself separates them. The last block's separator is its last user
/// key with sequence number 0.
pub(crate) fn separator(last: KeyRef<'_>, next: Option<KeyRef<'_>>, out: &mut Vec<u8>) -> SeqNum {
    out.clear();
    let (last_key, last_seq) = last;
    match next {
        Some((next_key, _)) if next_key == last_key => {
            out.extend_from_slice(last_key);
            last_seq
        }
        Some((next_key, _)) => {
            shortest_between(last_key, next_key, out);
            0
        }
        None => {
            out.extend_from_slice(last_key);
            0
        }
    }
}

/// Writes into `out` the shortest key `u` with `a <= u < b` that this rule finds, or `a`
/// itself when nothing shorter is found. REQUIRES: `a < b`.
///
/// With `n` the length of their common prefix: when `a[n] + 1 < b[n]`, `u` is `a[..n]`
/// followed by `a[n] + 1`; when `a[n] + 1 == b[n]`, `u` keeps `a[..=n]` and increments the
/// first later byte of `a` below `0xff`, dropping what follows it.
fn shortest_between(a: &[u8], b: &[u8], out: &mut Vec<u8>) {
    let n = common_prefix_len(a, b);
    // Where to cut `a` (the kept prefix ends with the byte to increment).
    let cut = match (a.get(n), b.get(n)) {
        (Some(&ab), Some(&bb)) if u16::from(ab) + 1 < u16::from(bb) => Some(n + 1),
        (Some(_), Some(_)) => a
            .iter()
            .skip(n + 1)
            .position(|&byte| byte < 0xff)
            .map(|j| n + 1 + j + 1),
        // `a` is a prefix of `b`: nothing shorter than `a` is at or after it.
        _ => None,
    };
    match cut
        .and_then(|cut| a.get(..cut))
        .filter(|u| u.len() < a.len())
    {
        Some(u) => {
            out.extend_from_slice(u);
            if let Some(byte) = out.last_mut() {
                *byte += 1;
            }
        }
        None => out.extend_from_slice(a),
    }
}

/// Encodes the index entries as data blocks are written.
#[derive(Debug, Default)]
pub(crate) struct IndexBuilder {
    entries: Vec<u8>,
    count: u64,
    last: Vec<u8>,
}

impl IndexBuilder {
    pub(crate) fn new() -> Self {
        IndexBuilder::default()
    }

    /// Adds the next block: its separator and its length on disk (trailer included).
    /// REQUIRES: separators strictly increase in internal-key order.
    pub(crate) fn add(&mut self, separator: &[u8], seq: SeqNum, block_len: u64) {
        let shared = common_prefix_len(&self.last, separator);
        let delta = separator.get(shared..).unwrap_or_default();
        put_varint(&mut self.entries, shared as u64);
        put_varint(&mut self.entries, delta.len() as u64);
        self.entries.extend_from_slice(delta);
        put_varint(&mut self.entries, seq);
        put_varint(&mut self.entries, block_len);
        self.last.truncate(shared);
        self.last.extend_from_slice(delta);
        self.count += 1;
    }

    /// The index contents, without the trailer.
    pub(crate) fn finish(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(10 + self.entries.len());
        put_varint(&mut out, self.count);
        out.extend_from_slice(&self.entries);
        out
    }
}

/// The decoded index of an open table.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// Every separator's user key, back to back.
    keys: Vec<u8>,
    /// Per block, where its separator's user key ends in `keys` (it starts where the
    /// previous one ends).
    key_ends: Vec<usize>,
    /// Per block, its separator's sequence number.
    seqs: Vec<SeqNum>,
    /// Per block, the file offset just past it; block `i` starts at `block_ends[i - 1]`
    /// (block 0 at 0).
    block_ends: Vec<u64>,
    /// The separators' user keys as integers, for the search.
    heads: KeyHeads,
}

impl Index {
    /// Decodes index contents of table format `format` (trailer already verified and
    /// removed) and checks that the blocks exactly tile `[0, data_end)` in order and that
    /// their separators strictly increase.
    ///
    /// # Errors
    ///
    /// A [`DecodeError`] (offsets relative to the contents' first byte) naming the first bad
    /// field.
    pub(crate) fn decode(
        contents: &[u8],
        data_end: u64,
        format: FormatVersion,
    ) -> Result<Index, DecodeError> {
        let mut index = match format {
            FormatVersion::V1 => decode_v1(contents, data_end)?,
            FormatVersion::V2 => decode_v2(contents, data_end)?,
        };
        let keys = (0..index.len()).map(|i| index.separator(i).map_or(&[][..], |s| s.0));
        index.heads = KeyHeads::new(keys);
        Ok(index)
    }

    /// Appends a block's separator and end, checking them against the previous block's.
    fn push(
        &mut self,
        key: &[u8],
        seq: SeqNum,
        block_len: u64,
        min_len: u64,
        data_end: u64,
        at: usize,
    ) -> Result<(), DecodeError> {
        let bad = |field| DecodeError { field, offset: at };
        if block_len < min_len {
            return Err(bad("index block length (too short)"));
        }
        let start = self.block_ends.last().copied().unwrap_or(0);
        let end = start
            .checked_add(block_len)
            .filter(|&end| end <= data_end)
            .ok_or(bad("index block length (past the data blocks)"))?;
        if let Some((prev, prev_seq)) = self.separator(self.len().wrapping_sub(1)) {
            if compare_internal(prev, prev_seq, key, seq) != Ordering::Less {
                return Err(bad("index separator (not after the previous one)"));
            }
        }
        self.keys.extend_from_slice(key);
        self.key_ends.push(self.keys.len());
        self.seqs.push(seq);
        self.block_ends.push(end);
        Ok(())
    }

    /// Number of data blocks (at least one).
    pub(crate) fn len(&self) -> usize {
        self.block_ends.len()
    }

    /// Where data block `i` lies; `None` past the last block.
    pub(crate) fn handle(&self, i: usize) -> Option<BlockHandle> {
        let end = *self.block_ends.get(i)?;
        let offset = match i.checked_sub(1) {
            Some(prev) => *self.block_ends.get(prev)?,
            None => 0,
        };
        Some(BlockHandle {
            offset,
            len: end - offset,
        })
    }

    /// Block `i`'s separator: at or after its every entry, before the next block's.
    pub(crate) fn separator(&self, i: usize) -> Option<KeyRef<'_>> {
        let end = *self.key_ends.get(i)?;
        let start = match i.checked_sub(1) {
            Some(prev) => *self.key_ends.get(prev)?,
            None => 0,
        };
        Some((self.keys.get(start..end)?, *self.seqs.get(i)?))
    }

    /// The first block whose separator is at or after `(key, seq)`: the only block that can
    /// hold the first entry at or after that key. `None` past the last block.
    pub(crate) fn find(&self, key: &[u8], seq: SeqNum) -> Option<usize> {
        let i = self.heads.partition_point(key, |i| {
            self.separator(i)
                .is_some_and(|(k, s)| compare_internal(k, s, key, seq) == Ordering::Less)
        });
        (i < self.len()).then_some(i)
    }
}

fn decode_v2(contents: &[u8], data_end: u64) -> Result<Index, DecodeError> {
    let mut d = Decoder::new(contents);
    let count = d.varint("index entry count")?;
    if count == 0 {
        return Err(DecodeError {
            field: "index entry count (zero)",
            offset: 0,
        });
    }
    // Never trust `count` for an allocation.
    let capacity = usize::try_from(count)
        .unwrap_or(usize::MAX)
        .min(d.remaining() / MIN_V2_ENTRY_LEN);
    let mut index = Index {
        key_ends: Vec::with_capacity(capacity),
        seqs: Vec::with_capacity(capacity),
        block_ends: Vec::with_capacity(capacity),
        ..Index::default()
    };
    let mut key: Vec<u8> = Vec::new();
    for _ in 0..count {
        let at = d.position();
        let shared = d.varint("index separator shared key length")?;
        if shared > key.len() as u64 {
            return Err(DecodeError {
                field: "index separator shared key length",
                offset: at,
            });
        }
        let delta = d.len_prefixed("index separator key")?;
        let seq_at = d.position();
        let seq = d.varint("index separator sequence number")?;
        if seq > MAX_SEQ {
            return Err(DecodeError {
                field: "index separator sequence number",
                offset: seq_at,
            });
        }
        let block_len = d.varint("index block length")?;
        key.truncate(shared as usize);
        key.extend_from_slice(delta);
        index.push(&key, seq, block_len, MIN_V2_BLOCK_LEN, data_end, at)?;
    }
    finish_decode(index, &d, data_end)
}

fn decode_v1(contents: &[u8], data_end: u64) -> Result<Index, DecodeError> {
    let mut d = Decoder::new(contents);
    let count = d.u32("index entry count")?;
    if count == 0 {
        return Err(DecodeError {
            field: "index entry count (zero)",
            offset: 0,
        });
    }
    let tag = |d: &mut Decoder<'_>| -> Result<SeqNum, DecodeError> {
        let at = d.position();
        let raw = d.u64("tag")?;
        unpack_tag(raw).map(|(seq, _)| seq).ok_or(DecodeError {
            field: "tag (unknown value kind)",
            offset: at,
        })
    };
    let mut index = Index::default();
    let mut prev_last: Option<(&[u8], SeqNum)> = None;
    for _ in 0..count {
        let at = d.position();
        let bad = |field| DecodeError { field, offset: at };
        let offset = d.u64("index block offset")?;
        let len = d.u64("index block length")?;
        let first_key = d.len_prefixed("index first key")?;
        let first_seq = tag(&mut d)?;
        let last_key = d.len_prefixed("index last key")?;
        let last_seq = tag(&mut d)?;
        if offset != index.block_ends.last().copied().unwrap_or(0) {
            return Err(bad("index block offset (blocks not contiguous)"));
        }
        if compare_internal(first_key, first_seq, last_key, last_seq) == Ordering::Greater {
            return Err(bad("index keys (first after last)"));
        }
        if let Some((pk, ps)) = prev_last {
            if compare_internal(pk, ps, first_key, first_seq) != Ordering::Less {
                return Err(bad("index keys (blocks overlap)"));
            }
        }
        prev_last = Some((last_key, last_seq));
        index.push(last_key, last_seq, len, MIN_V1_BLOCK_LEN, data_end, at)?;
    }
    finish_decode(index, &d, data_end)
}

/// The checks after the last entry: nothing left over, and the blocks reach `data_end`.
fn finish_decode(index: Index, d: &Decoder<'_>, data_end: u64) -> Result<Index, DecodeError> {
    if !d.is_empty() {
        return Err(DecodeError {
            field: "index (trailing bytes)",
            offset: d.position(),
        });
    }
    if index.block_ends.last() != Some(&data_end) {
        return Err(DecodeError {
            field: "index (blocks do not cover the data region)",
            offset: d.position(),
        });
    }
    Ok(index)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn sep(last: KeyRef<'_>, next: Option<KeyRef<'_>>) -> (Vec<u8>, SeqNum) {
        let mut out = Vec::new();
        let seq = separator(last, next, &mut out);
        (out, seq)
    }

    #[test]
    fn separators_are_short_and_lie_between_the_blocks() {
        // The byte after the common prefix can be incremented.
        assert_eq!(sep((b"apple", 5), Some((b"cherry", 9))), (b"b".to_vec(), 0));
        assert_eq!(
            sep((b"key0199", 5), Some((b"key0300", 1))),
            (b"key02".to_vec(), 0)
        );
        // It is one below the next key's: increment a later byte of the last key.
        assert_eq!(
            sep((b"apricot", 5), Some((b"banana", 1))),
            (b"aq".to_vec(), 0)
        );
        assert_eq!(
            sep((b"a\xff\xffz", 5), Some((b"b", 1))),
            (b"a\xff\xffz".to_vec(), 0)
        );
        assert_eq!(
            sep((b"a\xff\x01z", 5), Some((b"b", 1))),
            (b"a\xff\x02".to_vec(), 0)
        );
        // Nothing shorter fits: the last user key itself, with sequence number 0.
        assert_eq!(
            sep((b"key0123", 5), Some((b"key0124", 1))),
            (b"key0123".to_vec(), 0)
        );
        assert_eq!(sep((b"ab", 5), Some((b"abc", 1))), (b"ab".to_vec(), 0));
        assert_eq!(sep((b"", 5), Some((b"\0", 1))), (b"".to_vec(), 0));
        // Versions of one key on both sides: exactly the last entry.
        assert_eq!(sep((b"k", 7), Some((b"k", 6))), (b"k".to_vec(), 7));
        // The last block.
        assert_eq!(sep((b"zebra", 7), None), (b"zebra".to_vec(), 0));

        // Exhaustively over short keys: last <= separator < next, in internal-key order.
        let alphabet = [0u8, 1, b'a', b'b', 0xfe, 0xff];
        let mut keys = vec![Vec::new()];
        for len in 1..=3 {
            let mut more = Vec::new();
            for k in keys.iter().filter(|k| k.len() == len - 1) {
                for &c in &alphabet {
                    let mut k = k.clone();
                    k.push(c);
                    more.push(k);
                }
            }
            keys.extend(more);
        }
        keys.sort();
        for a in &keys {
            for b in keys.iter().filter(|b| *b > a) {
                let (s, seq) = sep((a, 3), Some((b, 9)));
                assert!(
                    compare_internal(a, 3, &s, seq) != Ordering::Greater,
                    "{a:?} {b:?}"
                );
                assert_eq!(
                    compare_internal(&s, seq, b, 9),
                    Ordering::Less,
                    "{a:?} {b:?}"
                );
                assert!(s.len() <= a.len());
            }
        }
    }

    fn blocks(separators: &[(&[u8], SeqNum)], len: u64) -> Vec<u8> {
        let mut b = IndexBuilder::new();
        for &(k, s) in separators {
            b.add(k, s, len);
        }
        b.finish()
    }

    #[test]
    fn find_picks_the_first_block_whose_separator_is_not_before_the_target() {
        let bytes = blocks(&[(b"c", 2), (b"f", 0)], 100);
        let index = Index::decode(&bytes, 200, FormatVersion::V2).unwrap();
        assert_eq!(index.len(), 2);
        assert_eq!(index.find(b"", 0), Some(0));
        assert_eq!(index.find(b"c", 3), Some(0));
        assert_eq!(index.find(b"c", 2), Some(0));
        assert_eq!(index.find(b"c", 1), Some(1));
        assert_eq!(index.find(b"f", 9), Some(1));
        assert_eq!(index.find(b"f", 0), Some(1));
        assert_eq!(index.find(b"f\0", u64::MAX), None);
        assert_eq!(index.find(b"g", u64::MAX), None);
        assert_eq!(
            index.handle(1),
            Some(BlockHandle {
                offset: 100,
                len: 100
            })
        );
        assert_eq!(index.handle(2), None);
        assert_eq!(index.separator(0), Some((&b"c"[..], 2)));
    }

    #[test]
    fn find_agrees_with_a_linear_scan_whatever_the_common_prefix() {
        // Separators with a long common prefix, ties in the eight bytes after it, keys that
        // are prefixes of others, zero bytes, and versions of one key across blocks.
        let mut seps: Vec<(Vec<u8>, SeqNum)> = Vec::new();
        for i in 0..300u32 {
            let mut k = b"common/prefix/".to_vec();
            k.extend_from_slice(format!("{:04}", i / 3).as_bytes());
            match i % 3 {
                0 => {}
                1 => k.extend_from_slice(b"\0\0\0\0\0\0\0\0x"),
                _ => k.extend_from_slice(b"\0\0\0\0\0\0\0\0y"),
            }
            seps.push((k, 0));
        }
        seps.insert(10, (seps[9].0.clone(), 5));
        seps.swap(9, 10); // (k, 5) before (k, 0)
        let refs: Vec<(&[u8], SeqNum)> = seps.iter().map(|(k, s)| (k.as_slice(), *s)).collect();
        let bytes = blocks(&refs, 20);
        let n = refs.len() as u64;
        let index = Index::decode(&bytes, 20 * n, FormatVersion::V2).unwrap();
        let mut targets: Vec<(Vec<u8>, SeqNum)> = Vec::new();
        for (k, _) in &seps {
            for s in [0, 5, 6, u64::MAX] {
                targets.push((k.clone(), s));
                let mut longer = k.clone();
                longer.push(0);
                targets.push((longer, s));
                targets.push((k[..k.len() - 1].to_vec(), s));
            }
        }
        targets.extend([(Vec::new(), 0), (b"common".to_vec(), 0), (b"d".to_vec(), 0)]);
        for (k, s) in &targets {
            let expected = refs
                .iter()
                .position(|(sk, ss)| compare_internal(sk, *ss, k, *s) != Ordering::Less);
            assert_eq!(
                index.find(k, *s),
                expected,
                "{:?} @ {s}",
                String::from_utf8_lossy(k)
            );
        }
    }

    #[test]
    fn layouts_that_do_not_tile_the_data_region_are_rejected() {
        let bytes = blocks(&[(b"c", 2), (b"f", 0)], 100);
        assert!(Index::decode(&bytes, 201, FormatVersion::V2).is_err());
        assert!(Index::decode(&bytes, 199, FormatVersion::V2).is_err());
        for len in 0..bytes.len() {
            assert!(Index::decode(&bytes[..len], 200, FormatVersion::V2).is_err());
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        let err = Index::decode(&trailing, 200, FormatVersion::V2).unwrap_err();
        assert_eq!(err.field, "index (trailing bytes)");
        let unordered = blocks(&[(b"f", 2), (b"c", 0)], 100);
        let err = Index::decode(&unordered, 200, FormatVersion::V2).unwrap_err();
        assert_eq!(err.field, "index separator (not after the previous one)");
        let same = blocks(&[(b"c", 2), (b"c", 2)], 100);
        assert!(Index::decode(&same, 200, FormatVersion::V2).is_err());
        let short = blocks(&[(b"c", 2)], MIN_V2_BLOCK_LEN - 1);
        let err = Index::decode(&short, MIN_V2_BLOCK_LEN - 1, FormatVersion::V2).unwrap_err();
        assert_eq!(err.field, "index block length (too short)");
        assert!(Index::decode(&IndexBuilder::new().finish(), 0, FormatVersion::V2).is_err());
        // A shared length longer than the previous separator, and a sequence number past
        // the largest.
        let mut b = Vec::new();
        for v in [1u64, 2, 1, b'a'.into(), 0, 100] {
            put_varint(&mut b, v);
        }
        let err = Index::decode(&b, 100, FormatVersion::V2).unwrap_err();
        assert_eq!(err.field, "index separator shared key length");
        let mut b = Vec::new();
        for v in [1u64, 0, 1, b'a'.into(), MAX_SEQ + 1, 100] {
            put_varint(&mut b, v);
        }
        let err = Index::decode(&b, 100, FormatVersion::V2).unwrap_err();
        assert_eq!(err.field, "index separator sequence number");
    }
}

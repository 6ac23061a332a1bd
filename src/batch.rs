//! Write batches: a list of puts and deletes applied atomically, and their WAL encoding.
//!
//! A [`WriteBatch`] is built by one caller and then handed to the database, which gives its
//! operations consecutive sequence numbers and writes the whole batch as one WAL record (so
//! after a crash either all of it is recovered or none). The operations are kept already
//! encoded in one buffer, in the same form the WAL record carries them, so writing a batch is
//! a 12-byte header plus one copy.
//!
//! The WAL payload, little-endian, varints LEB128 (`doc/FORMAT.md` has it to the byte):
//!
//! ```text
//! batch := first_seq: u64 | count: u32 | op * count
//! op    := kind: u8 = 1 (put)    | varint key_len | key | varint value_len | value
//!        | kind: u8 = 0 (delete) | varint key_len | key
//! ```
//! Operation `i` (from 0) has sequence number `first_seq + i`. A put with an empty value is a
//! put: deletes are only ever the delete kind.

// The database's write path and recovery, on another branch, are the crate-internal callers;
// until they land only the tests use the `pub(crate)` items. Remove this line when they do.

use crate::coding::{put_len_prefixed, put_u32, put_u64, put_u8, Decoder};
use crate::error::DecodeError;
use crate::log::MAX_RECORD_LEN;
use crate::types::{
    check_key, check_value, SeqNum, ValueKind, MAX_KEY_LEN, MAX_SEQ, MAX_VALUE_LEN,
};
use crate::{Error, Result};

/// Bytes before the operations in a batch's WAL payload: `first_seq` and `count`.
/// On disk: never change.
pub(crate) const BATCH_HEADER_LEN: usize = 12;

/// The most a batch may charge (see [`BATCH_OP_OVERHEAD`]): 1 GiB, as the largest memtable.
/// Its encoding is always smaller, so it fits in one log record.
pub(crate) const MAX_BATCH_BYTES: usize = MAX_RECORD_LEN;

/// What each operation charges against [`MAX_BATCH_BYTES`] on top of its key and value: at
/// least what one memtable entry costs beyond them (set when that was a skiplist node and
/// its allocations, ~123 bytes measured for empty values; the arena memtable's entry costs
/// 25 bytes and 8 more per level above the first, 28 on average). Counting bytes alone let
/// a 1 GiB batch of 2-byte deletes need tens of GiB of memtable; with this charge the memory
/// a batch takes when it is written, or replayed, stays below what it was charged. Part of
/// the C API (`TOYKV_BATCH_OP_OVERHEAD`): kept.
pub(crate) const BATCH_OP_OVERHEAD: usize = 128;

/// The most operations a batch can hold within [`MAX_BATCH_BYTES`].
const MAX_BATCH_OPS: usize = MAX_BATCH_BYTES / BATCH_OP_OVERHEAD;

/// A group of puts and deletes that the database applies all together or not at all.
///
/// Operations apply in the order they were added, so a later operation on the same key wins.
/// A batch may charge at most 1 GiB, each operation counting its key and value plus 128
/// bytes (what it will cost in the memtable); split larger updates into several batches.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// The operations, encoded as in the WAL payload after its header.
    rep: Vec<u8>,
    /// How many operations `rep` holds.
    count: u32,
    /// The sum of each operation's key, value and [`BATCH_OP_OVERHEAD`].
    charge: usize,
}

/// One operation of a batch, borrowed from the batch or from a WAL record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchOp<'a> {
    pub kind: ValueKind,
    pub key: &'a [u8],
    /// Empty for a delete.
    pub value: &'a [u8],
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds "set `key` to `value`". An empty value is a value, not a delete.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the key is longer than [`MAX_KEY_LEN`],
    /// the value longer than [`MAX_VALUE_LEN`], or the batch would
    /// charge more than 1 GiB (see [`WriteBatch`]). The batch is unchanged then.
    pub fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.charge = check_room(self.charge, key.len() + value.len())?;
        // One growth at most: the kind, two varints of up to 5 bytes, the key and the value.
        self.rep.reserve(11 + key.len() + value.len());
        put_u8(&mut self.rep, ValueKind::Put as u8);
        put_len_prefixed(&mut self.rep, key);
        put_len_prefixed(&mut self.rep, value);
        self.count += 1;
        Ok(())
    }

    /// Adds "delete `key`". Deleting a key that does not exist is not an error.
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when the key is longer than [`MAX_KEY_LEN`] or
    /// the batch would charge more than 1 GiB (see [`WriteBatch`]). The batch is unchanged
    /// then.
    pub fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.charge = check_room(self.charge, key.len())?;
        self.rep.reserve(6 + key.len());
        put_u8(&mut self.rep, ValueKind::Delete as u8);
        put_len_prefixed(&mut self.rep, key);
        self.count += 1;
        Ok(())
    }

    /// Removes every operation, keeping the allocated buffer for reuse.
    pub fn clear(&mut self) {
        self.rep.clear();
        self.count = 0;
        self.charge = 0;
    }

    /// The number of operations.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch holds no operations.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The size of the batch's WAL payload; a measure for memtable and group-commit limits.
    pub(crate) fn approximate_bytes(&self) -> usize {
        BATCH_HEADER_LEN + self.rep.len()
    }

    /// The operations in the order they were added.
    pub(crate) fn ops(&self) -> BatchOps<'_> {
        BatchOps {
            decoder: Decoder::new(&self.rep),
            remaining: self.count,
        }
    }

    /// Appends the batch's WAL payload to `out`: `first_seq`, the count, then the operations.
    /// Operation `i` gets sequence number `first_seq + i`.
    ///
    /// REQUIRES: `first_seq >= 1` and `first_seq + len() - 1 <= MAX_SEQ` when the batch is
    /// not empty (the reader rejects other payloads).
    pub(crate) fn encode_record(&self, first_seq: SeqNum, out: &mut Vec<u8>) {
        out.reserve(self.approximate_bytes());
        put_u64(out, first_seq);
        put_u32(out, self.count);
        out.extend_from_slice(&self.rep);
    }
}

/// The charge of a batch that charged `charge` after one more operation whose key and value
/// hold `data` bytes, if that stays within [`MAX_BATCH_BYTES`]. (The encoding of an operation,
/// at most 21 bytes beyond its key and value, is always below its charge, and so is the
/// operation count below `u32::MAX`.)
fn check_room(charge: usize, data: usize) -> Result<usize> {
    match charge.checked_add(data + BATCH_OP_OVERHEAD) {
        Some(total) if total <= MAX_BATCH_BYTES => Ok(total),
        _ => Err(Error::invalid(format!(
            "write batch would exceed the limit of {MAX_BATCH_BYTES} bytes (each operation \
             counts its key and value plus {BATCH_OP_OVERHEAD} bytes)"
        ))),
    }
}

/// The operations of a [`WriteBatch`], in insertion order.
#[derive(Debug, Clone)]
pub(crate) struct BatchOps<'a> {
    decoder: Decoder<'a>,
    remaining: u32,
}

impl<'a> Iterator for BatchOps<'a> {
    type Item = BatchOp<'a>;

    fn next(&mut self) -> Option<BatchOp<'a>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match decode_op(&mut self.decoder) {
            Ok(op) => Some(op),
            Err(e) => {
                // The buffer was encoded by this batch's own `put`/`delete`.
                debug_assert!(false, "write batch buffer does not decode: {e:?}");
                self.remaining = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining as usize))
    }
}

/// Decodes one operation, checking its kind and both lengths.
fn decode_op<'a>(d: &mut Decoder<'a>) -> Result<BatchOp<'a>, DecodeError> {
    let kind_at = d.position();
    let kind = ValueKind::from_u8(d.u8("op kind")?).ok_or(DecodeError {
        field: "op kind",
        offset: kind_at,
    })?;
    let key_at = d.position();
    let key = d.len_prefixed("key")?;
    if key.len() > MAX_KEY_LEN {
        return Err(DecodeError {
            field: "key length",
            offset: key_at,
        });
    }
    let value = match kind {
        ValueKind::Delete => &[][..],
        ValueKind::Put => {
            let value_at = d.position();
            let value = d.len_prefixed("value")?;
            if value.len() > MAX_VALUE_LEN {
                return Err(DecodeError {
                    field: "value length",
                    offset: value_at,
                });
            }
            value
        }
    };
    Ok(BatchOp { kind, key, value })
}

/// Decodes a batch's WAL payload into its first sequence number and its operations, which
/// borrow from `payload`.
///
/// # Errors
///
/// A [`DecodeError`] naming the bad field and its offset within `payload` when the payload is
/// truncated, holds an unknown kind or an over-limit length, holds more or fewer operations
/// than its count, or numbers them outside `1..=MAX_SEQ`.
pub(crate) fn decode_record(payload: &[u8]) -> Result<(SeqNum, Vec<BatchOp<'_>>), DecodeError> {
    let mut d = Decoder::new(payload);
    let first_seq = d.u64("batch sequence")?;
    let count_at = d.position();
    let count = d.u32("batch count")?;
    let last_seq = first_seq.checked_add(u64::from(count).saturating_sub(1));
    if count > 0 && (first_seq == 0 || last_seq.is_none_or(|last| last > MAX_SEQ)) {
        return Err(DecodeError {
            field: "batch sequence",
            offset: 0,
        });
    }
    // No batch this engine writes holds more; the bound keeps a damaged or hostile count from
    // costing memory out of proportion to the bytes (each operation takes at least two).
    if count as usize > MAX_BATCH_OPS {
        return Err(DecodeError {
            field: "batch count (above the operation limit)",
            offset: count_at,
        });
    }
    let mut ops = Vec::with_capacity((count as usize).min(d.remaining() / 2));
    while !d.is_empty() {
        if ops.len() == count as usize {
            return Err(DecodeError {
                field: "batch count (operations past the count)",
                offset: d.position(),
            });
        }
        ops.push(decode_op(&mut d)?);
    }
    if ops.len() != count as usize {
        return Err(DecodeError {
            field: "batch count",
            offset: count_at,
        });
    }
    Ok((first_seq, ops))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn sample() -> WriteBatch {
        let mut b = WriteBatch::new();
        b.put(b"k1", b"v1").unwrap();
        b.put(b"", b"empty key").unwrap();
        b.put(b"empty value", b"").unwrap();
        b.delete(b"k2").unwrap();
        b.put(b"\0zero\0", b"\0\0in\0value\0").unwrap();
        b.delete(b"").unwrap();
        b.put(b"k1", b"v1 again").unwrap();
        b
    }

    fn expected() -> Vec<BatchOp<'static>> {
        let put = |key, value| BatchOp {
            kind: ValueKind::Put,
            key,
            value,
        };
        let delete = |key| BatchOp {
            kind: ValueKind::Delete,
            key,
            value: b"",
        };
        vec![
            put(&b"k1"[..], &b"v1"[..]),
            put(b"", b"empty key"),
            put(b"empty value", b""),
            delete(&b"k2"[..]),
            put(b"\0zero\0", b"\0\0in\0value\0"),
            delete(b""),
            put(b"k1", b"v1 again"),
        ]
    }

    #[test]
    fn encoded_batch_round_trips_with_empty_keys_values_and_zero_bytes() {
        let batch = sample();
        assert_eq!(batch.len(), 7);
        assert!(!batch.is_empty());
        assert_eq!(batch.ops().collect::<Vec<_>>(), expected());
        let mut payload = vec![0xaa]; // encode_record appends
        batch.encode_record(41, &mut payload);
        assert_eq!(payload.len(), 1 + batch.approximate_bytes());
        let (first_seq, ops) = decode_record(&payload[1..]).unwrap();
        assert_eq!(first_seq, 41);
        assert_eq!(ops, expected());
        // An empty value stays a put.
        assert_eq!(ops[2].kind, ValueKind::Put);
        assert!(ops[2].value.is_empty());
    }

    #[test]
    fn empty_batch_round_trips() {
        let mut batch = sample();
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.len(), 0);
        assert_eq!(batch.ops().count(), 0);
        assert_eq!(batch.approximate_bytes(), BATCH_HEADER_LEN);
        let mut payload = Vec::new();
        batch.encode_record(0, &mut payload);
        assert_eq!(decode_record(&payload).unwrap(), (0, Vec::new()));
    }

    #[test]
    fn payload_bytes_match_the_documented_example() {
        // The worked example in doc/FORMAT.md.
        let mut batch = WriteBatch::new();
        batch.put(b"k1", b"v1").unwrap();
        batch.delete(b"k2").unwrap();
        let mut payload = Vec::new();
        batch.encode_record(7, &mut payload);
        let expected: &[u8] = &[
            0x07, 0, 0, 0, 0, 0, 0, 0, // first_seq = 7
            0x02, 0, 0, 0, // count = 2
            0x01, 0x02, b'k', b'1', 0x02, b'v', b'1', // put "k1" -> "v1", seq 7
            0x00, 0x02, b'k', b'2', // delete "k2", seq 8
        ];
        assert_eq!(payload, expected);
    }

    #[test]
    fn oversized_keys_and_values_are_invalid_arguments() {
        let mut batch = WriteBatch::new();
        let big_key = vec![b'k'; MAX_KEY_LEN + 1];
        assert_eq!(
            batch.put(&big_key, b"v").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(
            batch.delete(&big_key).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let big_value = vec![b'v'; MAX_VALUE_LEN + 1];
        assert_eq!(
            batch.put(b"k", &big_value).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert!(
            batch.is_empty(),
            "a rejected operation leaves the batch unchanged"
        );
        assert_eq!(batch.approximate_bytes(), BATCH_HEADER_LEN);
        // Exactly at the limits is fine.
        batch.put(&big_key[1..], &big_value[1..]).unwrap();
        batch.delete(&big_key[1..]).unwrap();
        let mut payload = Vec::new();
        batch.encode_record(1, &mut payload);
        let (_, ops) = decode_record(&payload).unwrap();
        assert_eq!(ops[0].key.len(), MAX_KEY_LEN);
        assert_eq!(ops[0].value.len(), MAX_VALUE_LEN);
    }

    #[test]
    fn batch_limits_are_invalid_arguments() {
        let at_limit = MAX_BATCH_BYTES - 10 - BATCH_OP_OVERHEAD;
        assert_eq!(check_room(at_limit, 10).unwrap(), MAX_BATCH_BYTES);
        let too_big = check_room(at_limit, 11).unwrap_err();
        assert_eq!(too_big.kind(), ErrorKind::InvalidArgument);
        assert!(too_big.to_string().contains("plus 128 bytes"), "{too_big}");
        assert!(check_room(usize::MAX - 5, 1).is_err());
    }

    // Regression: a batch was limited in bytes only, so 1 GiB of 2-byte deletes (half a
    // billion operations) was accepted and needed tens of GiB of memtable when written or
    // replayed.
    #[test]
    fn tiny_operations_are_limited_by_their_memtable_cost() {
        let mut batch = WriteBatch::new();
        let mut refused = None;
        for i in 0..=MAX_BATCH_OPS {
            if let Err(e) = batch.delete(b"") {
                refused = Some((i, e));
                break;
            }
        }
        let (at, err) = refused.expect("the batch was never refused");
        assert_eq!(at, MAX_BATCH_OPS, "refused after {at} operations");
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        // The refused operation left the batch as it was; it is still usable.
        assert_eq!(batch.len(), MAX_BATCH_OPS);
        assert_eq!(
            batch.approximate_bytes(),
            BATCH_HEADER_LEN + 2 * MAX_BATCH_OPS
        );
        batch.clear();
        batch.delete(b"").unwrap();
        assert_eq!(batch.len(), 1);
    }

    #[test]
    fn a_record_counting_more_operations_than_a_batch_can_hold_is_corrupt() {
        let mut payload = Vec::new();
        put_u64(&mut payload, 1);
        put_u32(&mut payload, MAX_BATCH_OPS as u32 + 1);
        let err = decode_record(&payload).unwrap_err();
        assert_eq!(err.field, "batch count (above the operation limit)");
        assert_eq!(err.offset, 8);
    }

    #[test]
    fn every_truncation_is_a_decode_error() {
        let mut payload = Vec::new();
        sample().encode_record(9, &mut payload);
        for cut in 0..payload.len() {
            assert!(decode_record(&payload[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_record(&payload).is_ok());
    }

    #[test]
    fn garbled_payloads_never_panic() {
        let mut payload = Vec::new();
        sample().encode_record(9, &mut payload);
        for pos in 0..payload.len() {
            for mask in [0x01u8, 0x02, 0x40, 0x80, 0xff] {
                let mut garbled = payload.clone();
                garbled[pos] ^= mask;
                if let Ok((_, ops)) = decode_record(&garbled) {
                    assert_eq!(ops.len(), 7);
                }
            }
        }
    }

    #[test]
    fn malformed_payloads_name_the_bad_field() {
        let mut batch = WriteBatch::new();
        batch.put(b"k", b"v").unwrap();
        let mut good = Vec::new();
        batch.encode_record(5, &mut good);

        let mut unknown_kind = good.clone();
        unknown_kind[BATCH_HEADER_LEN] = 7;
        let err = decode_record(&unknown_kind).unwrap_err();
        assert_eq!((err.field, err.offset), ("op kind", BATCH_HEADER_LEN));

        let mut count_too_high = good.clone();
        count_too_high[8] = 2;
        assert_eq!(
            decode_record(&count_too_high).unwrap_err().field,
            "batch count"
        );

        let mut huge_count = good.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decode_record(&huge_count)
            .unwrap_err()
            .field
            .starts_with("batch count"));

        let mut trailing = good.clone();
        trailing.push(0);
        assert!(decode_record(&trailing)
            .unwrap_err()
            .field
            .starts_with("batch count"));

        let mut seq_zero = good.clone();
        seq_zero[..8].copy_from_slice(&0u64.to_le_bytes());
        assert_eq!(
            decode_record(&seq_zero).unwrap_err().field,
            "batch sequence"
        );

        let mut seq_overflow = good.clone();
        seq_overflow[..8].copy_from_slice(&(MAX_SEQ + 1).to_le_bytes());
        assert_eq!(
            decode_record(&seq_overflow).unwrap_err().field,
            "batch sequence"
        );

        let mut at_max = good.clone();
        at_max[..8].copy_from_slice(&MAX_SEQ.to_le_bytes());
        assert_eq!(decode_record(&at_max).unwrap().0, MAX_SEQ);

        // A key length past the limit, backed by enough bytes.
        let mut long_key = Vec::new();
        put_u64(&mut long_key, 1);
        put_u32(&mut long_key, 1);
        put_u8(&mut long_key, ValueKind::Delete as u8);
        put_len_prefixed(&mut long_key, &vec![0; MAX_KEY_LEN + 1]);
        let err = decode_record(&long_key).unwrap_err();
        assert_eq!((err.field, err.offset), ("key length", 13));
    }
}

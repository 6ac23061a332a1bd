//! The vocabulary shared by every layer: sequence numbers, record kinds and the order of
//! internal keys.
//!
//! An internal key is a user key plus the sequence number of the write that produced it.
//! Internal keys sort by user key ascending (unsigned bytes), then by sequence number
//! descending, so that the newest version of a key comes first. Snapshots and consistent
//! cursors are a sequence number: they see only versions at or below it.

use std::cmp::Ordering;

/// The position of a write in the database's history. Starts at 1; 0 is never assigned.
pub type SeqNum = u64;

/// The largest sequence number: tags pack it into 56 bits beside the kind byte.
pub const MAX_SEQ: SeqNum = (1 << 56) - 1;

/// Largest key accepted, in bytes.
pub const MAX_KEY_LEN: usize = 64 * 1024;

/// Largest value accepted, in bytes.
pub const MAX_VALUE_LEN: usize = 32 * 1024 * 1024;

/// What a record does to its key. The numbers are on disk: never change them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ValueKind {
    /// A tombstone: the key is deleted as of this sequence number.
    Delete = 0,
    /// The key holds the record's value.
    Put = 1,
}

impl ValueKind {
    pub fn from_u8(byte: u8) -> Option<ValueKind> {
        match byte {
            0 => Some(ValueKind::Delete),
            1 => Some(ValueKind::Put),
            _ => None,
        }
    }
}

/// Packs a sequence number and kind into the 8-byte tag stored beside every key on disk.
pub fn pack_tag(seq: SeqNum, kind: ValueKind) -> u64 {
    debug_assert!(seq <= MAX_SEQ);
    (seq << 8) | kind as u64
}

/// The inverse of [`pack_tag`]; `None` when the kind byte is unknown.
pub fn unpack_tag(tag: u64) -> Option<(SeqNum, ValueKind)> {
    ValueKind::from_u8((tag & 0xff) as u8).map(|kind| (tag >> 8, kind))
}

/// Orders two internal keys: user key ascending, then sequence number descending.
#[inline]
pub fn compare_internal(a_key: &[u8], a_seq: SeqNum, b_key: &[u8], b_seq: SeqNum) -> Ordering {
    crate::key_heads::compare_bytes(a_key, b_key).then_with(|| b_seq.cmp(&a_seq))
}

/// Checks a key against the documented limit.
pub fn check_key(key: &[u8]) -> crate::Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(crate::Error::invalid(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_LEN} bytes",
            key.len()
        )));
    }
    Ok(())
}

/// Checks a value against the documented limit.
pub fn check_value(value: &[u8]) -> crate::Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(crate::Error::invalid(format!(
            "value of {} bytes exceeds the limit of {MAX_VALUE_LEN} bytes",
            value.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_versions_of_a_key_sort_first() {
        assert_eq!(compare_internal(b"a", 9, b"a", 3), Ordering::Less);
        assert_eq!(compare_internal(b"a", 1, b"b", 9), Ordering::Less);
        assert_eq!(compare_internal(b"", 1, b"\0", 9), Ordering::Less);
        assert_eq!(compare_internal(b"k", 4, b"k", 4), Ordering::Equal);
    }

    #[test]
    fn tags_round_trip_and_reject_unknown_kinds() {
        let tag = pack_tag(MAX_SEQ, ValueKind::Put);
        assert_eq!(unpack_tag(tag), Some((MAX_SEQ, ValueKind::Put)));
        assert_eq!(
            unpack_tag(pack_tag(7, ValueKind::Delete)),
            Some((7, ValueKind::Delete))
        );
        assert_eq!(unpack_tag((5 << 8) | 9), None);
    }
}

//! Version edits: the records of the manifest.
//!
//! An edit says which sstables were added to or removed from which level, and carries the
//! counters that must survive a restart (next file number, last sequence number, the oldest
//! WAL still needed). Replaying every edit of a manifest in order rebuilds the file lists.
//! Edits log file changes, never compaction tasks.
//!
//! Encoding: a sequence of fields, each a tag byte followed by its payload (see
//! doc/FORMAT.md). Unknown tags are corruption: a newer format must bump the version.

use crate::coding::{put_len_prefixed, put_u8, put_varint, Decoder};
use crate::error::DecodeError;
use crate::types::SeqNum;

// Field tags. On disk: never change them.
const TAG_LOG_NUMBER: u8 = 1;
const TAG_NEXT_FILE_NUMBER: u8 = 2;
const TAG_LAST_SEQ: u8 = 3;
const TAG_ADD_FILE: u8 = 4;
const TAG_REMOVE_FILE: u8 = 5;
const TAG_SYNCED_WAL: u8 = 6;

/// What the manifest knows about one sstable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileMeta {
    pub number: u64,
    pub size: u64,
    /// Smallest and largest user keys in the file.
    pub smallest: Vec<u8>,
    pub largest: Vec<u8>,
    pub min_seq: SeqNum,
    pub max_seq: SeqNum,
}

/// One manifest record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct VersionEdit {
    /// WAL files numbered below this hold nothing that is not in an sstable.
    pub log_number: Option<u64>,
    pub next_file_number: Option<u64>,
    pub last_seq: Option<SeqNum>,
    pub added: Vec<(usize, FileMeta)>,
    pub removed: Vec<(usize, u64)>,
    /// WALs fsynced and closed at a clean close, with their lengths: recovery treats damage
    /// in those bytes as corruption, not as the end of what a power cut kept.
    pub synced_wals: Vec<(u64, u64)>,
}

impl VersionEdit {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let counters = [
            (TAG_LOG_NUMBER, self.log_number),
            (TAG_NEXT_FILE_NUMBER, self.next_file_number),
            (TAG_LAST_SEQ, self.last_seq),
        ];
        for (tag, value) in counters {
            if let Some(v) = value {
                put_u8(&mut out, tag);
                put_varint(&mut out, v);
            }
        }
        for (level, meta) in &self.added {
            put_u8(&mut out, TAG_ADD_FILE);
            put_varint(&mut out, *level as u64);
            put_varint(&mut out, meta.number);
            put_varint(&mut out, meta.size);
            put_len_prefixed(&mut out, &meta.smallest);
            put_len_prefixed(&mut out, &meta.largest);
            put_varint(&mut out, meta.min_seq);
            put_varint(&mut out, meta.max_seq);
        }
        for (level, number) in &self.removed {
            put_u8(&mut out, TAG_REMOVE_FILE);
            put_varint(&mut out, *level as u64);
            put_varint(&mut out, *number);
        }
        for (number, len) in &self.synced_wals {
            put_u8(&mut out, TAG_SYNCED_WAL);
            put_varint(&mut out, *number);
            put_varint(&mut out, *len);
        }
        out
    }

    /// Decodes one record; `max_level` bounds the level fields.
    pub(crate) fn decode(bytes: &[u8], max_level: usize) -> Result<VersionEdit, DecodeError> {
        let mut d = Decoder::new(bytes);
        let mut edit = VersionEdit::default();
        while !d.is_empty() {
            let tag_at = d.position();
            match d.u8("edit tag")? {
                TAG_LOG_NUMBER => edit.log_number = Some(d.varint("log number")?),
                TAG_NEXT_FILE_NUMBER => edit.next_file_number = Some(d.varint("next file number")?),
                TAG_LAST_SEQ => edit.last_seq = Some(d.varint("last sequence")?),
                TAG_ADD_FILE => {
                    let level = level(&mut d, max_level)?;
                    let meta = FileMeta {
                        number: d.varint("file number")?,
                        size: d.varint("file size")?,
                        smallest: d.len_prefixed("smallest key")?.to_vec(),
                        largest: d.len_prefixed("largest key")?.to_vec(),
                        min_seq: d.varint("min sequence")?,
                        max_seq: d.varint("max sequence")?,
                    };
                    edit.added.push((level, meta));
                }
                TAG_REMOVE_FILE => {
                    let level = level(&mut d, max_level)?;
                    edit.removed.push((level, d.varint("file number")?));
                }
                TAG_SYNCED_WAL => {
                    let number = d.varint("synced WAL number")?;
                    edit.synced_wals
                        .push((number, d.varint("synced WAL length")?));
                }
                _ => {
                    return Err(DecodeError {
                        field: "edit tag (unknown)",
                        offset: tag_at,
                    })
                }
            }
        }
        Ok(edit)
    }
}

fn level(d: &mut Decoder<'_>, max_level: usize) -> Result<usize, DecodeError> {
    let at = d.position();
    let level = d.varint("level")?;
    match usize::try_from(level) {
        Ok(l) if l <= max_level => Ok(l),
        _ => Err(DecodeError {
            field: "level (out of range)",
            offset: at,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VersionEdit {
        VersionEdit {
            log_number: Some(12),
            next_file_number: Some(40),
            last_seq: Some(1 << 40),
            added: vec![(
                0,
                FileMeta {
                    number: 39,
                    size: 4096,
                    smallest: Vec::new(),
                    largest: b"zz\0".to_vec(),
                    min_seq: 1,
                    max_seq: 99,
                },
            )],
            removed: vec![(1, 7), (6, 8)],
            synced_wals: vec![(41, 0), (42, 1 << 33)],
        }
    }

    #[test]
    fn edits_round_trip() {
        let edit = sample();
        assert_eq!(VersionEdit::decode(&edit.encode(), 6).unwrap(), edit);
        assert_eq!(VersionEdit::decode(&[], 6).unwrap(), VersionEdit::default());
    }

    #[test]
    fn every_truncation_and_bad_tag_is_an_error_not_a_panic() {
        let bytes = sample().encode();
        for cut in 1..bytes.len() {
            // Some prefixes end exactly on a field boundary and decode to a smaller edit;
            // none may panic, and none may decode to the full edit.
            if let Ok(edit) = VersionEdit::decode(&bytes[..cut], 6) {
                assert_ne!(edit, sample());
            }
        }
        assert!(VersionEdit::decode(&[99, 1], 6).is_err());
        let mut bad_level = Vec::new();
        put_u8(&mut bad_level, TAG_REMOVE_FILE);
        put_varint(&mut bad_level, 7);
        put_varint(&mut bad_level, 1);
        assert!(VersionEdit::decode(&bad_level, 6).is_err());
    }
}

//! Thin entry points into the readers of on-disk bytes, for the fuzz targets in `fuzz/`.
//!
//! Compiled only with the `fuzzing` feature and hidden from the documentation: nothing here
//! is API. Each function hands the fuzzer's bytes to one engine reader exactly as recovery or
//! a read would (the WAL and sstable go through an in-memory [`FaultFs`]) and returns what
//! it decoded as plain owned data, so that a target can check properties (round trips, order,
//! agreement between two ways of reading) without the engine's internals becoming public.
//! Any error is returned, never unwrapped: a panic in a target is a finding.

use crate::batch::{self, WriteBatch};
use crate::env::{FaultFs, FileSystem};
use crate::hash::key_hash;
use crate::iterators::InternalIterator;
use crate::log::LogReader;
use crate::sstable::{Block, BlockIter, FormatVersion, Table};
use crate::types::{SeqNum, ValueKind};
use crate::version::manifest;
use crate::version::{VersionEdit, NUM_LEVELS};
use crate::Result;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One decoded record: a key's version, as a block, an sstable or a write batch holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: Vec<u8>,
    pub seq: SeqNum,
    /// A put (true) or a tombstone.
    pub put: bool,
    pub value: Vec<u8>,
}

impl Entry {
    fn new(key: &[u8], seq: SeqNum, kind: ValueKind, value: &[u8]) -> Entry {
        Entry {
            key: key.to_vec(),
            seq,
            put: kind == ValueKind::Put,
            value: value.to_vec(),
        }
    }
}

/// How a log reading ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogOutcome {
    /// The payloads of the records read, in order.
    pub records: Vec<Vec<u8>>,
    /// Where the dropped torn tail started and its length, if there was one.
    pub dropped_tail: Option<(u64, u64)>,
    /// The error that ended reading (its message), if any.
    pub error: Option<String>,
}

/// Reads every record of the log file whose bytes `source` yields, as recovery reads a WAL or
/// a manifest.
pub fn read_log(source: impl Read) -> LogOutcome {
    let mut reader = LogReader::new(source, PathBuf::from("fuzz.log"));
    let mut records = Vec::new();
    let error = loop {
        match reader.read_record() {
            Ok(Some(record)) => records.push(record),
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    LogOutcome {
        records,
        dropped_tail: reader.dropped_tail(),
        error,
    }
}

/// A directory on a fresh in-memory file system holding one file `name` with `bytes`.
fn one_file(name: &str, bytes: &[u8]) -> Result<(Arc<FaultFs>, PathBuf)> {
    let fs = Arc::new(FaultFs::new());
    let path = Path::new("/db").join(name);
    fs.write_file(&path, bytes)?;
    Ok((fs, path))
}

/// Replays `bytes` as WAL file `000001.log` after a crash (nothing known fsynced): each
/// batch's first sequence number and its operations (every operation `i` has sequence
/// number `first_seq + i`), up to where point-in-time recovery stops.
///
/// # Errors
/// What replay reports (corruption naming the file, for damage no power cut makes).
pub fn replay_wal(bytes: &[u8]) -> Result<Vec<(SeqNum, Vec<Entry>)>> {
    let (fs, path) = one_file("000001.log", bytes)?;
    let mut batches = Vec::new();
    let from = crate::wal::ReplayFrom::default();
    crate::wal::replay(&*fs, &path, from, |first_seq, ops: &[batch::BatchOp]| {
        let entries = (first_seq..)
            .zip(ops)
            .map(|(seq, op)| Entry::new(op.key, seq, op.kind, op.value))
            .collect();
        batches.push((first_seq, entries));
        Ok(())
    })?;
    Ok(batches)
}

/// Decodes `payload` as a write batch's WAL payload: its first sequence number and its
/// operations (with their sequence numbers).
///
/// # Errors
/// The malformed field's name and offset.
pub fn decode_batch(payload: &[u8]) -> std::result::Result<(SeqNum, Vec<Entry>), String> {
    let (first_seq, ops) = batch::decode_record(payload).map_err(|e| format!("{e:?}"))?;
    let entries = (first_seq..)
        .zip(ops)
        .map(|(seq, op)| Entry::new(op.key, seq, op.kind, op.value))
        .collect();
    Ok((first_seq, entries))
}

/// The WAL payload `batch` is written as when its first operation gets `first_seq`.
pub fn encode_batch(batch: &WriteBatch, first_seq: SeqNum) -> Vec<u8> {
    let mut out = Vec::new();
    batch.encode_record(first_seq, &mut out);
    out
}

/// Decodes `bytes` as one manifest record and returns it encoded again.
///
/// # Errors
/// The malformed field's name and offset.
pub fn reencode_edit(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    VersionEdit::decode(bytes, NUM_LEVELS - 1)
        .map(|edit| edit.encode())
        .map_err(|e| format!("{e:?}"))
}

/// What recovering a manifest found: live files as (level, number, smallest, largest), the
/// log number, the next file number and the last sequence number.
pub type RecoveredFiles = (Vec<(usize, u64, Vec<u8>, Vec<u8>)>, u64, u64, SeqNum);

/// Recovers `bytes` as manifest `MANIFEST-000001`, as open does.
///
/// # Errors
/// What recovery reports (corruption naming the manifest).
pub fn recover_manifest(bytes: &[u8]) -> Result<RecoveredFiles> {
    let (fs, path) = one_file("MANIFEST-000001", bytes)?;
    let dir = path.parent().unwrap_or(Path::new("/db"));
    let recovered = manifest::recover(&*fs, dir, 1)?;
    let files = recovered
        .files
        .into_iter()
        .map(|(level, m)| (level, m.number, m.smallest, m.largest))
        .collect();
    Ok((
        files,
        recovered.log_number,
        recovered.next_file_number,
        recovered.last_seq,
    ))
}

/// A data block decoded from bytes whose trailer was already stripped.
#[derive(Debug)]
pub struct FuzzBlock(Arc<Block>);

impl FuzzBlock {
    /// Decodes `contents` as a data block (without its CRC trailer) of sstable format
    /// version 2, or of version 1 when `v1`.
    ///
    /// # Errors
    /// The malformed field's name and offset.
    pub fn decode(contents: &[u8], v1: bool) -> std::result::Result<FuzzBlock, String> {
        let format = if v1 {
            FormatVersion::V1
        } else {
            FormatVersion::V2
        };
        Block::decode(contents.to_vec(), format, None)
            .map(|block| FuzzBlock(Arc::new(block)))
            .map_err(|e| format!("{e:?}"))
    }

    /// Every entry in block order.
    ///
    /// # Errors
    /// A decoding error (a block that decoded must never give one).
    pub fn entries(&self) -> std::result::Result<Vec<Entry>, String> {
        let mut it = BlockIter::new(Arc::clone(&self.0));
        let mut out = Vec::new();
        it.seek_to_first().map_err(|e| format!("{e:?}"))?;
        while it.valid() {
            out.push(Entry::new(it.key(), it.seq(), it.kind(), it.value()));
            it.next().map_err(|e| format!("{e:?}"))?;
        }
        Ok(out)
    }

    /// The first entry at or after `(key, seq)`, through the block's search.
    ///
    /// # Errors
    /// A decoding error (a block that decoded must never give one).
    pub fn seek(&self, key: &[u8], seq: SeqNum) -> std::result::Result<Option<Entry>, String> {
        let mut it = BlockIter::new(Arc::clone(&self.0));
        it.seek(key, seq).map_err(|e| format!("{e:?}"))?;
        Ok(it
            .valid()
            .then(|| Entry::new(it.key(), it.seq(), it.kind(), it.value())))
    }

    /// The newest version of `key` at or below `snapshot`.
    ///
    /// # Errors
    /// A decoding error (a block that decoded must never give one).
    pub fn get(&self, key: &[u8], snapshot: SeqNum) -> std::result::Result<Option<Entry>, String> {
        self.0
            .get(key, snapshot)
            .map(|found| found.map(|(seq, kind, value)| Entry::new(key, seq, kind, value)))
            .map_err(|e| format!("{e:?}"))
    }
}

/// An sstable opened from a whole file's bytes.
#[derive(Debug)]
pub struct FuzzTable(Arc<Table>, Vec<u8>);

impl FuzzTable {
    /// Opens `bytes` as sstable `000001.sst` (no block cache), as open and compaction do.
    ///
    /// # Errors
    /// What opening reports (corruption naming the file).
    pub fn open(bytes: &[u8]) -> Result<FuzzTable> {
        let (fs, path) = one_file("000001.sst", bytes)?;
        let file = fs.open_random(&path)?;
        Ok(FuzzTable(
            Arc::new(Table::open(file, path, 1, None)?),
            bytes.to_vec(),
        ))
    }

    /// The contents of each data block as the index locates them, without their checksum
    /// trailers: seeds for the block target.
    pub fn data_block_contents(&self) -> Vec<Vec<u8>> {
        let index = self.0.index();
        (0..index.len())
            .filter_map(|i| {
                let handle = index.handle(i)?;
                let start = usize::try_from(handle.offset).ok()?;
                let end = start + usize::try_from(handle.len).ok()?.checked_sub(4)?;
                self.1.get(start..end).map(<[u8]>::to_vec)
            })
            .collect()
    }

    /// Every entry, through the table's cursor, in internal-key order.
    ///
    /// # Errors
    /// What the cursor reports (a damaged block).
    pub fn scan(&self) -> Result<Vec<Entry>> {
        let mut iter = self.0.iter();
        iter.seek_to_first()?;
        let mut out = Vec::new();
        while iter.valid() {
            out.push(Entry::new(
                iter.key(),
                iter.seq(),
                iter.kind(),
                iter.value(),
            ));
            iter.next()?;
        }
        Ok(out)
    }

    /// The first entry at or after user key `key`, through the cursor's seek.
    ///
    /// # Errors
    /// What the cursor reports (a damaged block).
    pub fn seek(&self, key: &[u8]) -> Result<Option<Entry>> {
        let mut iter = self.0.iter();
        iter.seek(key)?;
        Ok(iter
            .valid()
            .then(|| Entry::new(iter.key(), iter.seq(), iter.kind(), iter.value())))
    }

    /// The newest version of `key` at or below `snapshot`, as a point read finds it.
    ///
    /// # Errors
    /// What the read reports (a damaged block).
    pub fn get(&self, key: &[u8], snapshot: SeqNum) -> Result<Option<Entry>> {
        Ok(self
            .0
            .get(key, key_hash(key), snapshot)?
            .map(|(seq, kind, value)| Entry::new(key, seq, kind, &value)))
    }
}

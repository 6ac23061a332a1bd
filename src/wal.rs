//! The write-ahead log: every write batch goes here, as one log record, before the memtable.
//!
//! A [`Wal`] is one `NNNNNN.log` file written front to back by the database's write path,
//! which serialises writers (group commit happens above this layer: several `append`s, then
//! one `sync`). A write is durable once the `sync` after its `append` returns; after a failed
//! append or sync the `Wal` refuses everything (the log writer is sticky) and the database
//! must be reopened.
//!
//! On open, [`replay`] reads a WAL back and hands each batch, with its sequence numbers, to
//! the caller to rebuild the memtable. A torn tail (the batch being appended when the process
//! or the machine died) is dropped and reported; any other damage is `Corruption`.
//!
//! A WAL that had a torn tail must not be appended to again: new records after the tear
//! would make the tear look like corruption in the middle of the file. Recovery writes into a
//! fresh WAL instead (or truncates the old one at the reported offset first).

// The database's write path and recovery, on another branch, are the callers; until they
// land only the tests use this module. Remove this line when they do.

use crate::batch::{self, BatchOp, WriteBatch};
use crate::env::FileSystem;
use crate::filename;
use crate::log::{LogReader, LogWriter, HEADER_LEN};
use crate::types::{SeqNum, MAX_SEQ};
use crate::{Error, Result};
use std::path::{Path, PathBuf};

/// An open write-ahead log being appended to.
#[derive(Debug)]
pub(crate) struct Wal {
    number: u64,
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    path: PathBuf,
    log: LogWriter,
}

impl Wal {
    /// Creates WAL number `number` in `dir` (truncating any file of that name) and fsyncs
    /// `dir`, so that the file itself, not just its contents, survives a crash once synced.
    ///
    /// # Errors
    ///
    /// `Io` when the file cannot be created or the directory cannot be synced.
    pub(crate) fn create(fs: &dyn FileSystem, dir: &Path, number: u64) -> Result<Wal> {
        let path = filename::wal_path(dir, number);
        let file = fs.create(&path)?;
        // Durability: the new directory entry must be on disk before any write relies on it.
        fs.sync_dir(dir)?;
        Ok(Wal {
            number,
            path,
            log: LogWriter::new(file),
        })
    }

    /// The file number (the `N` of `N.log`).
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `batch` as one record; its operations get sequence numbers `first_seq`,
    /// `first_seq + 1`, ... An empty batch writes nothing. Not durable until [`Wal::sync`].
    ///
    /// # Errors
    ///
    /// `InvalidArgument` when `first_seq` is 0 or the batch's sequence numbers would pass
    /// `MAX_SEQ` (nothing is written). `Io` from the file, after which the WAL is failed:
    /// later calls return `Poisoned`.
    #[cfg_attr(not(test), allow(dead_code))] // The database appends groups; tests use this.
    pub(crate) fn append(&mut self, batch: &WriteBatch, first_seq: SeqNum) -> Result<()> {
        self.append_group(&[(batch, first_seq)])
    }

    /// Appends several batches with one write, batch `i` getting sequence numbers from
    /// `first_seqs[i]`: group commit's path. Empty batches are skipped.
    ///
    /// # Errors
    ///
    /// As for [`Wal::append`]; nothing is written when any batch is refused.
    pub(crate) fn append_group(&mut self, group: &[(&WriteBatch, SeqNum)]) -> Result<()> {
        let group: Vec<&(&WriteBatch, SeqNum)> =
            group.iter().filter(|(b, _)| !b.is_empty()).collect();
        if group.is_empty() {
            return Ok(());
        }
        for (batch, first_seq) in &group {
            let last_seq = first_seq.checked_add(batch.len() as u64 - 1);
            if *first_seq == 0 || last_seq.is_none_or(|last| last > MAX_SEQ) {
                return Err(Error::invalid(format!(
                    "sequence numbers from {first_seq} for {} operations are out of range",
                    batch.len()
                )));
            }
        }
        self.log.add_records_with(group.len(), |i, out| {
            if let Some((batch, first_seq)) = group.get(i) {
                batch.encode_record(*first_seq, out);
            }
        })
    }

    /// Makes every appended batch durable (fdatasync).
    ///
    /// # Errors
    ///
    /// `Io` from the fsync, after which the WAL is failed for good: the database must not
    /// retry and carry on, since the kernel may have dropped the unsynced pages.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.log.sync()
    }

    /// Bytes written to the file so far; the write path rolls to a new WAL past a limit.
    pub(crate) fn len(&self) -> u64 {
        self.log.len()
    }
}

/// What [`replay`] found in a WAL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReplayStats {
    /// Batches (records) applied.
    pub records: u64,
    /// Operations applied, over all batches.
    pub ops: u64,
    /// The sequence number of the last operation applied; 0 if none was.
    pub last_seq: SeqNum,
    /// Offset and length of the torn tail that was dropped, if any. The file's valid part
    /// ends at that offset.
    pub dropped_tail: Option<(u64, u64)>,
}

impl ReplayStats {
    /// Bytes of torn tail dropped (0 if none).
    pub(crate) fn dropped_bytes(&self) -> u64 {
        self.dropped_tail.map_or(0, |(_, len)| len)
    }
}

/// Reads the WAL at `path` front to back and calls `apply(first_seq, ops)` for each batch in
/// order; operation `i` of a batch has sequence number `first_seq + i`. Empty batches are
/// passed on too (with no operations).
///
/// # Errors
///
/// `Corruption` naming the file and offset when a record is damaged before the tail (see
/// `log::LogReader`), when a record's batch does not decode (the record's checksum matched,
/// so the writer wrote it: this is never taken for a torn tail), or when sequence numbers do
/// not increase from batch to batch. `Io` when the file cannot be read. Any error from
/// `apply`, which stops the replay.
pub(crate) fn replay(
    fs: &dyn FileSystem,
    path: &Path,
    mut apply: impl FnMut(SeqNum, &[BatchOp]) -> Result<()>,
) -> Result<ReplayStats> {
    let mut reader = LogReader::new(fs.open_sequential(path)?, path.to_path_buf());
    let mut stats = ReplayStats::default();
    let mut payload = Vec::new();
    while reader.read_record_into(&mut payload)? {
        let record_offset = reader.last_record_offset();
        let (first_seq, ops) = batch::decode_record(&payload).map_err(|e| {
            Error::corruption(
                path,
                record_offset + HEADER_LEN as u64 + e.offset as u64,
                format!(
                    "malformed {} in the write batch of the WAL record at offset {record_offset}",
                    e.field
                ),
            )
        })?;
        if !ops.is_empty() && first_seq <= stats.last_seq {
            return Err(Error::corruption(
                path,
                record_offset,
                format!(
                    "WAL record's sequence numbers go backwards: batch starts at {first_seq} \
                     after {}",
                    stats.last_seq
                ),
            ));
        }
        apply(first_seq, &ops)?;
        stats.records += 1;
        stats.ops += ops.len() as u64;
        if !ops.is_empty() {
            stats.last_seq = first_seq + ops.len() as u64 - 1;
        }
    }
    stats.dropped_tail = reader.dropped_tail();
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::PosixFs;
    use crate::log::tests::XorShift;
    use crate::types::ValueKind;
    use crate::ErrorKind;

    /// One operation as replay saw it, owned.
    type Seen = (SeqNum, ValueKind, Vec<u8>, Vec<u8>);

    fn replay_all(path: &Path) -> Result<(Vec<Seen>, ReplayStats)> {
        let mut seen = Vec::new();
        let stats = replay(&PosixFs, path, |first_seq, ops| {
            for (i, op) in ops.iter().enumerate() {
                seen.push((
                    first_seq + i as u64,
                    op.kind,
                    op.key.to_vec(),
                    op.value.to_vec(),
                ));
            }
            Ok(())
        })?;
        Ok((seen, stats))
    }

    /// Writes `batches` random batches into WAL 7 in `dir`, from sequence number 1; returns
    /// what replay should see and each record's offset.
    fn write_batches(dir: &Path, batches: usize) -> (Vec<Seen>, Vec<u64>) {
        let mut wal = Wal::create(&PosixFs, dir, 7).unwrap();
        assert_eq!(wal.number(), 7);
        assert_eq!(wal.path(), filename::wal_path(dir, 7));
        let mut rng = XorShift::new(77);
        let mut expected = Vec::new();
        let mut offsets = Vec::new();
        let mut seq = 1;
        let mut batch = WriteBatch::new();
        for b in 0..batches {
            batch.clear();
            let first_seq = seq;
            for _ in 0..rng.range(1, 20) {
                let key = format!("key{:05}", rng.range(0, 500)).into_bytes();
                if rng.range(0, 3) == 0 {
                    batch.delete(&key).unwrap();
                    expected.push((seq, ValueKind::Delete, key, Vec::new()));
                } else {
                    let value = vec![b as u8; rng.range(0, 200)];
                    batch.put(&key, &value).unwrap();
                    expected.push((seq, ValueKind::Put, key, value));
                }
                seq += 1;
            }
            offsets.push(wal.len());
            wal.append(&batch, first_seq).unwrap();
            if b % 50 == 0 {
                wal.sync().unwrap();
            }
        }
        wal.sync().unwrap();
        (expected, offsets)
    }

    #[test]
    fn replay_returns_every_batch_with_its_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let (expected, _) = write_batches(dir.path(), 1000);
        let (seen, stats) = replay_all(&filename::wal_path(dir.path(), 7)).unwrap();
        assert_eq!(seen, expected);
        assert_eq!(stats.records, 1000);
        assert_eq!(stats.ops, expected.len() as u64);
        assert_eq!(stats.last_seq, expected.len() as u64);
        assert_eq!(stats.dropped_tail, None);
        assert_eq!(stats.dropped_bytes(), 0);
    }

    #[test]
    fn replay_drops_a_torn_last_batch_and_reports_it() {
        let dir = tempfile::tempdir().unwrap();
        let (expected, offsets) = write_batches(dir.path(), 100);
        let path = filename::wal_path(dir.path(), 7);
        let full = std::fs::metadata(&path).unwrap().len();
        let last = *offsets.last().unwrap();
        let cut = last + (full - last) / 2;
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let (seen, stats) = replay_all(&path).unwrap();
        assert_eq!(stats.records, 99);
        assert_eq!(seen, expected[..seen.len()]);
        assert_eq!(stats.last_seq, seen.len() as u64);
        assert_eq!(stats.dropped_tail, Some((last, cut - last)));
        assert_eq!(stats.dropped_bytes(), cut - last);
    }

    #[test]
    fn empty_batch_writes_nothing_and_bad_sequence_numbers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(&PosixFs, dir.path(), 1).unwrap();
        wal.append(&WriteBatch::new(), 0).unwrap();
        assert_eq!(wal.len(), 0);
        let mut batch = WriteBatch::new();
        batch.put(b"a", b"1").unwrap();
        batch.put(b"b", b"2").unwrap();
        for bad in [0, MAX_SEQ] {
            let err = wal.append(&batch, bad).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        }
        assert_eq!(wal.len(), 0);
        wal.append(&batch, MAX_SEQ - 1).unwrap();
        wal.sync().unwrap();
        let (seen, stats) = replay_all(wal.path()).unwrap();
        assert_eq!(seen.len(), 2);
        assert_eq!(stats.last_seq, MAX_SEQ);
    }

    /// Writes raw payloads as log records into WAL 3 in `dir`.
    fn write_payloads(dir: &Path, payloads: &[Vec<u8>]) -> PathBuf {
        let path = filename::wal_path(dir, 3);
        let mut log = LogWriter::new(PosixFs.create(&path).unwrap());
        for p in payloads {
            log.add_record(p).unwrap();
        }
        log.sync().unwrap();
        path
    }

    fn batch_payload(first_seq: SeqNum, keys: &[&[u8]]) -> Vec<u8> {
        let mut batch = WriteBatch::new();
        for key in keys {
            batch.put(key, b"v").unwrap();
        }
        let mut out = Vec::new();
        batch.encode_record(first_seq, &mut out);
        out
    }

    #[test]
    fn undecodable_batch_is_corruption_naming_the_wal_and_record_offset() {
        let dir = tempfile::tempdir().unwrap();
        let good = batch_payload(1, &[b"a", b"b"]);
        let mut bad = batch_payload(3, &[b"c"]);
        bad.truncate(bad.len() - 1);
        // Even as the last record: its checksum matched, so the writer wrote it this way.
        for payloads in [
            vec![good.clone(), bad.clone()],
            vec![good.clone(), bad, good],
        ] {
            let path = write_payloads(dir.path(), &payloads);
            let mut applied = 0;
            let err = replay(&PosixFs, &path, |_, _| {
                applied += 1;
                Ok(())
            })
            .unwrap_err();
            assert_eq!(applied, 1);
            let record_offset = (HEADER_LEN + payloads[0].len()) as u64;
            match &err {
                Error::Corruption {
                    path: p,
                    offset,
                    reason,
                } => {
                    assert_eq!(p, &path);
                    assert!(*offset > record_offset);
                    assert!(
                        reason.contains(&format!("offset {record_offset}")),
                        "{reason}"
                    );
                }
                other => panic!("{other}"),
            }
            assert!(err.to_string().contains("000003.log"), "{err}");
        }
    }

    #[test]
    fn damaged_record_before_valid_ones_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (_, offsets) = write_batches(dir.path(), 10);
        let path = filename::wal_path(dir.path(), 7);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offsets[4] as usize + HEADER_LEN + 3] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        let err = replay_all(&path).unwrap_err();
        assert!(
            matches!(&err, Error::Corruption { offset, .. } if *offset == offsets[4]),
            "{err}"
        );
    }

    #[test]
    fn sequence_numbers_going_backwards_are_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_payloads(
            dir.path(),
            &[batch_payload(5, &[b"a", b"b"]), batch_payload(6, &[b"c"])],
        );
        let err = replay_all(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corruption);
        assert!(err.to_string().contains("backwards"), "{err}");
    }

    #[test]
    fn an_error_from_apply_stops_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        write_batches(dir.path(), 10);
        let mut calls = 0;
        let err = replay(&PosixFs, &filename::wal_path(dir.path(), 7), |_, _| {
            calls += 1;
            if calls == 3 {
                return Err(Error::invalid("memtable full"));
            }
            Ok(())
        })
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(calls, 3);
    }

    #[test]
    fn missing_wal_is_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = replay_all(&dir.path().join("000042.log")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Io);
    }

    /// The checked-in fixture of format version 1 (`tests/fixtures/wal-v1.log`, described in
    /// `doc/FORMAT.md`): it must keep decoding, and the writer must keep producing it.
    #[test]
    fn checked_in_v1_fixture_decodes_and_is_reproduced_byte_for_byte() {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wal-v1.log");
        let (seen, stats) = replay_all(&fixture).unwrap();
        let expected: Vec<Seen> = vec![
            (7, ValueKind::Put, b"k1".to_vec(), b"v1".to_vec()),
            (8, ValueKind::Delete, b"k2".to_vec(), Vec::new()),
            (9, ValueKind::Put, Vec::new(), Vec::new()),
            (10, ValueKind::Put, b"\0".to_vec(), b"zero".to_vec()),
        ];
        assert_eq!(seen, expected);
        assert_eq!(stats.records, 2);
        assert_eq!(stats.last_seq, 10);

        let dir = tempfile::tempdir().unwrap();
        let mut wal = Wal::create(&PosixFs, dir.path(), 1).unwrap();
        let mut first = WriteBatch::new();
        first.put(b"k1", b"v1").unwrap();
        first.delete(b"k2").unwrap();
        wal.append(&first, 7).unwrap();
        let mut second = WriteBatch::new();
        second.put(b"", b"").unwrap();
        second.put(b"\0", b"zero").unwrap();
        wal.append(&second, 9).unwrap();
        wal.sync().unwrap();
        assert_eq!(
            std::fs::read(wal.path()).unwrap(),
            std::fs::read(&fixture).unwrap()
        );
    }
}

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
use crate::env::{FileSyncer, FileSystem};
use crate::filename;
use crate::log::{LogReader, LogWriter, HEADER_LEN};
use crate::types::{SeqNum, MAX_SEQ};
use crate::{Error, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open write-ahead log being appended to.
#[derive(Debug)]
pub(crate) struct Wal {
    number: u64,
    #[cfg_attr(not(test), allow(dead_code))] // Read by tests; kept beside its siblings.
    path: PathBuf,
    log: LogWriter,
    /// Bytes made durable by the last successful `sync`.
    synced_len: u64,
    /// Bytes of zeros reserved ahead of the appends at a time (see [`Wal::preallocating`]);
    /// 0 when the WAL just grows.
    reserve_step: u64,
    /// The file's reserved size: appends below it fill space already in the file.
    reserved: u64,
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
            synced_len: 0,
            reserve_step: 0,
            reserved: 0,
        })
    }

    /// Makes the WAL reserve `step` bytes of zeros ahead of its appends, and more whenever
    /// the appends come near the end: with `sync_writes`, where every write waits for an
    /// fdatasync, an append into reserved space changes no metadata, so the fsync flushes
    /// the data alone instead of also committing the file system's journal (measured on this
    /// ext4 disk: 38-44 µs an fsynced append against 50-66 µs). Nothing is reserved where
    /// the file system cannot (see `WritableFile::preallocate`).
    ///
    /// The reserved space reads as zeros past the last record, which a reader takes for the
    /// end of the log (a torn tail): fine for the WAL being written, which ends there, but a
    /// WAL that recovery reads before another must end at its last record. So a WAL that
    /// preallocated must be [`Wal::finish`]ed before the next one is written.
    pub(crate) fn preallocating(mut self, step: u64) -> Wal {
        self.reserve_step = step;
        self.reserve_ahead();
        self
    }

    /// Reserves the next step once the appends are within half a step of the reserved end.
    fn reserve_ahead(&mut self) {
        if self.reserve_step == 0 || self.len() + self.reserve_step / 2 < self.reserved {
            return;
        }
        let target = self.len() + self.reserve_step;
        match self.log.preallocate(target) {
            true => self.reserved = target,
            // Not supported here (or out of space, which the next append will report): the
            // WAL grows by its appends, as it would without this.
            false => self.reserve_step = 0,
        }
    }

    /// Cuts the file back to its last record, dropping reserved space, and fsyncs it: what a
    /// WAL that preallocated needs before another WAL follows it or the database closes
    /// (see [`Wal::preallocating`]). A no-op for one that reserved nothing.
    ///
    /// # Errors
    ///
    /// `Io` from the truncation or the fsync, after which the WAL is failed.
    pub(crate) fn finish(&mut self) -> Result<()> {
        if self.reserved == 0 {
            return Ok(());
        }
        self.log.truncate_to_appended()?;
        self.reserve_step = 0;
        self.reserved = 0;
        // The new size must be durable even when the records already were.
        self.log.sync()?;
        self.synced_len = self.len();
        Ok(())
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
        if group.iter().any(|(b, _)| b.is_empty()) {
            // Never from the database (it skips empty batches); kept simple.
            let non_empty: Vec<(&WriteBatch, SeqNum)> = group
                .iter()
                .filter(|(b, _)| !b.is_empty())
                .copied()
                .collect();
            return match non_empty.is_empty() {
                true => Ok(()),
                false => self.append_group(&non_empty),
            };
        }
        for (batch, first_seq) in group {
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
        })?;
        self.reserve_ahead();
        Ok(())
    }

    /// Makes every appended batch durable (fdatasync).
    ///
    /// # Errors
    ///
    /// `Io` from the fsync, after which the WAL is failed for good: the database must not
    /// retry and carry on, since the kernel may have dropped the unsynced pages.
    pub(crate) fn sync(&mut self) -> Result<()> {
        if self.synced_len == self.len() {
            return Ok(()); // nothing appended since the last fsync
        }
        self.log.sync()?;
        self.synced_len = self.len();
        Ok(())
    }

    /// A handle that fsyncs this WAL from another thread while appends go on (what
    /// pipelined group commit uses), if the file system has one. A failure it reports must
    /// stop all further appends to this WAL, as a failed [`Wal::sync`] does.
    pub(crate) fn syncer(&self) -> Option<Arc<dyn FileSyncer>> {
        self.log.syncer()
    }

    /// Bytes written to the file so far; the write path rolls to a new WAL past a limit.
    pub(crate) fn len(&self) -> u64 {
        self.log.len()
    }
}

/// What recovery knows about a WAL before it reads it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ReplayFrom {
    /// The sequence number the WAL's first batch must start at: one past the last one
    /// recovered before it. A batch that starts later follows a hole (batches lost in a
    /// power cut), so replay stops there. `None`: no expectation (a WAL read on its own).
    pub next_seq: Option<SeqNum>,
    /// The first batch may start below `next_seq`: manifests written before format note
    /// "last_seq is exact" (doc/FORMAT.md) recorded a `last_seq` past the flushed data.
    pub lenient_start: bool,
    /// How many bytes of the WAL are known to be fsynced, as a clean close records in the
    /// manifest. Damage in them is corruption; bytes past them are not read.
    pub synced_len: Option<u64>,
}

/// How a replay ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReplayEnd {
    /// The log ended at a record boundary (for a WAL of known synced length, exactly there).
    Clean,
    /// Point-in-time recovery stops at `offset`: the bytes from there on were never known to
    /// be durable, and they end in a torn or damaged record, or hold a batch that does not
    /// follow the one before it. Nothing after this point, in this WAL or any later one, may
    /// be replayed: it would not be a prefix of what was written.
    Stopped {
        offset: u64,
        /// Bytes of this WAL from `offset` to its end.
        dropped: u64,
        reason: String,
    },
}

/// What [`replay`] found in a WAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplayStats {
    /// Batches (records) applied.
    pub records: u64,
    /// Operations applied, over all batches.
    pub ops: u64,
    /// The sequence number of the last operation applied; 0 if none was.
    pub last_seq: SeqNum,
    pub end: ReplayEnd,
}

impl ReplayStats {
    /// Bytes dropped at the end (0 after a clean end).
    pub(crate) fn dropped_bytes(&self) -> u64 {
        match &self.end {
            ReplayEnd::Clean => 0,
            ReplayEnd::Stopped { dropped, .. } => *dropped,
        }
    }
}

/// Reads the WAL at `path` front to back and calls `apply(first_seq, ops)` for each batch in
/// order; operation `i` of a batch has sequence number `first_seq + i`. Empty batches are
/// passed on too (with no operations).
///
/// Recovery is point in time (as RocksDB's default WAL recovery mode): a power cut may keep
/// any subset of the pages written since the last fsync, so a torn record, a record with a
/// lost page (zeros to a page boundary, see `LogReader::ending_at_lost_pages`), or a batch
/// that does not start where the one before ended, in bytes not known to be fsynced, ends
/// the replay there ([`ReplayEnd::Stopped`]). In the first `from.synced_len` bytes the same
/// findings are corruption.
///
/// # Errors
///
/// `Corruption` naming the file and offset for damage of any other shape (a flipped bit:
/// no power cut makes one), for any damage in the synced part (or a synced part the file no
/// longer holds), for a record whose batch does not decode (its checksum matched, so the
/// writer wrote it), and for sequence numbers that go backwards. `Io` when the file cannot
/// be read. Any error from `apply`, which stops the replay.
pub(crate) fn replay(
    fs: &dyn FileSystem,
    path: &Path,
    from: ReplayFrom,
    mut apply: impl FnMut(SeqNum, &[BatchOp]) -> Result<()>,
) -> Result<ReplayStats> {
    let source = fs.open_sequential(path)?;
    let source: Box<dyn std::io::Read + Send> = match from.synced_len {
        Some(len) => Box::new(<Box<dyn std::io::Read + Send> as std::io::Read>::take(
            source, len,
        )),
        None => source,
    };
    let synced = from.synced_len.unwrap_or(0);
    let mut reader = LogReader::new(source, path.to_path_buf()).ending_at_lost_pages();
    let mut stats = ReplayStats {
        records: 0,
        ops: 0,
        last_seq: 0,
        end: ReplayEnd::Clean,
    };
    let mut next_seq = from.next_seq;
    let mut lenient = from.lenient_start;
    let mut payload = Vec::new();
    // Where reading stopped short of a clean end, and why.
    let stop: Option<(u64, String)> = loop {
        let record_offset = reader.position();
        match reader.read_record_into(&mut payload) {
            Ok(true) => {}
            Ok(false) => {
                break reader
                    .dropped_tail()
                    .map(|(offset, _)| (offset, "torn record or lost pages".to_string()));
            }
            Err(e) => return Err(e),
        }
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
        if !ops.is_empty() {
            if let Some(expected) = next_seq {
                if first_seq > expected {
                    let reason = format!(
                        "batch starts at sequence {first_seq}, expected {expected}: batches \
                         before it were lost"
                    );
                    if record_offset < synced {
                        return Err(Error::corruption(path, record_offset, reason));
                    }
                    break Some((record_offset, reason));
                }
                if first_seq < expected && !lenient {
                    return Err(Error::corruption(
                        path,
                        record_offset,
                        format!(
                            "WAL record's sequence numbers go backwards: batch starts at \
                             {first_seq}, expected {expected}"
                        ),
                    ));
                }
            }
            lenient = false;
            next_seq = Some(first_seq + ops.len() as u64);
        }
        apply(first_seq, &ops)?;
        stats.records += 1;
        stats.ops += ops.len() as u64;
        if !ops.is_empty() {
            stats.last_seq = first_seq + ops.len() as u64 - 1;
        }
    };
    match stop {
        Some((offset, reason)) if offset >= synced => {
            let file_len = fs.open_random(path)?.len();
            stats.end = ReplayEnd::Stopped {
                offset,
                dropped: file_len.saturating_sub(offset),
                reason,
            };
        }
        Some((offset, reason)) => {
            return Err(Error::corruption(
                path,
                offset,
                format!("{reason} in bytes fsynced before a clean close"),
            ))
        }
        None if reader.position() < synced => {
            return Err(Error::corruption(
                path,
                reader.position(),
                format!(
                    "the WAL ends after {} bytes, but {synced} were fsynced at a clean close",
                    reader.position()
                ),
            ))
        }
        None => {}
    }
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

    /// Replays `path` as recovery does after a crash: nothing known to be fsynced.
    fn replay_all(path: &Path) -> Result<(Vec<Seen>, ReplayStats)> {
        replay_from(path, ReplayFrom::default())
    }

    /// Replays `path` as after a clean close that recorded its whole length as fsynced.
    fn replay_synced(path: &Path) -> Result<(Vec<Seen>, ReplayStats)> {
        let from = ReplayFrom {
            synced_len: Some(std::fs::metadata(path).unwrap().len()),
            ..ReplayFrom::default()
        };
        replay_from(path, from)
    }

    fn replay_from(path: &Path, from: ReplayFrom) -> Result<(Vec<Seen>, ReplayStats)> {
        let mut seen = Vec::new();
        let stats = replay(&PosixFs, path, from, |first_seq, ops| {
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
        let (expected, offsets, _) = write_batches_reserving(dir, batches, 0, |_| {});
        (expected, offsets)
    }

    /// [`write_batches`] into a WAL that reserves `step` bytes ahead (0: none), returned;
    /// `after_append` sees the WAL after each append.
    fn write_batches_reserving(
        dir: &Path,
        batches: usize,
        step: u64,
        mut after_append: impl FnMut(&Wal),
    ) -> (Vec<Seen>, Vec<u64>, Wal) {
        let mut wal = Wal::create(&PosixFs, dir, 7).unwrap().preallocating(step);
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
            after_append(&wal);
            if b % 50 == 0 {
                wal.sync().unwrap();
            }
        }
        wal.sync().unwrap();
        (expected, offsets, wal)
    }

    #[test]
    fn a_wal_reserving_space_replays_whole_and_finish_cuts_it_to_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = filename::wal_path(dir.path(), 7);
        let step = 16 << 10;
        // After every append the reserved end is more than half a step and at most a step
        // ahead; and it moves once per half step or so, not with every append (each move
        // changes the file's size, which is what reserving saves the fsyncs from).
        let mut sizes = Vec::new();
        let (expected, _, mut wal) = write_batches_reserving(dir.path(), 1000, step, |wal| {
            let on_disk = std::fs::metadata(&path).unwrap().len();
            assert!(
                on_disk > wal.len() + step / 2 && on_disk <= wal.len() + step,
                "{on_disk} bytes on disk for {} appended",
                wal.len()
            );
            if sizes.last() != Some(&on_disk) {
                sizes.push(on_disk);
            }
        });
        assert!(wal.len() > 4 * step, "{}", wal.len());
        let most = wal.len() / (step / 2) + 1;
        assert!(
            sizes.len() as u64 <= most,
            "{} moves, {most} at most",
            sizes.len()
        );
        let on_disk = std::fs::metadata(&path).unwrap().len();
        // As recovery reads it after a crash: every batch, then the zeros end the log.
        let (seen, stats) = replay_all(&path).unwrap();
        assert_eq!(seen, expected);
        assert!(
            matches!(stats.end, ReplayEnd::Stopped { offset, dropped, .. }
                if offset == wal.len() && dropped == on_disk - wal.len()),
            "{:?}",
            stats.end
        );
        wal.finish().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), wal.len());
        let (seen, stats) = replay_synced(&path).unwrap();
        assert_eq!(seen, expected);
        assert_eq!(stats.end, ReplayEnd::Clean);
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
        assert_eq!(stats.end, ReplayEnd::Clean);
        assert_eq!(stats.dropped_bytes(), 0);
        let path = filename::wal_path(dir.path(), 7);
        assert_eq!(replay_synced(&path).unwrap().0, expected);
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
        assert!(
            matches!(&stats.end, ReplayEnd::Stopped { offset, dropped, .. }
                if *offset == last && *dropped == cut - last),
            "{:?}",
            stats.end
        );
        assert_eq!(stats.dropped_bytes(), cut - last);
    }

    #[test]
    fn a_synced_wal_cut_short_is_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let (_, offsets) = write_batches(dir.path(), 100);
        let path = filename::wal_path(dir.path(), 7);
        let full = std::fs::metadata(&path).unwrap().len();
        for cut in [full - 1, offsets[60] + 5, offsets[60]] {
            let from = ReplayFrom {
                synced_len: Some(full),
                ..ReplayFrom::default()
            };
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(cut)
                .unwrap();
            let err = replay_from(&path, from).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::Corruption, "cut at {cut}: {err}");
            assert!(err.to_string().contains("000007.log"), "{err}");
        }
    }

    #[test]
    fn bytes_past_the_synced_length_are_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let (expected, offsets) = write_batches(dir.path(), 10);
        let path = filename::wal_path(dir.path(), 7);
        let synced = std::fs::metadata(&path).unwrap().len();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"garbage after the last fsynced byte");
        std::fs::write(&path, &bytes).unwrap();
        let from = ReplayFrom {
            synced_len: Some(synced),
            ..ReplayFrom::default()
        };
        let (seen, stats) = replay_from(&path, from).unwrap();
        assert_eq!(seen, expected);
        assert_eq!(stats.end, ReplayEnd::Clean);
        assert_eq!(stats.records, offsets.len() as u64);
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
            let err = replay(&PosixFs, &path, ReplayFrom::default(), |_, _| {
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

    // Issue 16: a power cut keeps an arbitrary subset of the pages written since the last
    // fsync, so a lost page followed by valid records is no proof of a bad disk: replay
    // keeps the prefix before it (point in time) instead of refusing to open.
    #[test]
    fn a_page_lost_in_bytes_not_known_fsynced_ends_the_replay_there() {
        let dir = tempfile::tempdir().unwrap();
        let (expected, offsets) = write_batches(dir.path(), 300);
        let path = filename::wal_path(dir.path(), 7);
        let original = std::fs::read(&path).unwrap();
        assert!(original.len() > 5 * 4096);
        for page in [1usize, 2, 4] {
            let mut bytes = original.clone();
            bytes[page * 4096..(page + 1) * 4096].fill(0);
            std::fs::write(&path, &bytes).unwrap();
            let (seen, stats) = replay_all(&path).unwrap();
            // Replay ends at the record the lost page starts in (or inside).
            let bad = offsets.partition_point(|&o| o < (page * 4096) as u64 + 1) - 1;
            assert_eq!(stats.records, bad as u64, "page {page}");
            assert_eq!(seen, expected[..seen.len()]);
            let dropped = bytes.len() as u64 - offsets[bad];
            assert!(
                matches!(&stats.end, ReplayEnd::Stopped { offset, dropped: d, .. }
                    if *offset == offsets[bad] && *d == dropped),
                "page {page}: {:?}",
                stats.end
            );
            // Known fsynced, the same page is corruption.
            assert_eq!(
                replay_synced(&path).unwrap_err().kind(),
                ErrorKind::Corruption
            );
        }
    }

    #[test]
    fn a_flipped_bit_is_corruption_whether_or_not_it_was_known_fsynced() {
        let dir = tempfile::tempdir().unwrap();
        let (_, offsets) = write_batches(dir.path(), 10);
        let path = filename::wal_path(dir.path(), 7);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[offsets[4] as usize + HEADER_LEN + 3] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        for err in [
            replay_all(&path).unwrap_err(),
            replay_synced(&path).unwrap_err(),
        ] {
            assert!(
                matches!(&err, Error::Corruption { offset, .. } if *offset == offsets[4]),
                "{err}"
            );
        }
    }

    #[test]
    fn a_batch_that_does_not_follow_the_one_before_ends_the_replay() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_payloads(
            dir.path(),
            &[
                batch_payload(5, &[b"a", b"b"]),
                batch_payload(7, &[b"c"]),
                batch_payload(10, &[b"d"]), // 8 and 9 are missing
                batch_payload(11, &[b"e"]),
            ],
        );
        let (seen, stats) = replay_all(&path).unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(stats.last_seq, 7);
        assert!(
            matches!(&stats.end, ReplayEnd::Stopped { reason, .. } if reason.contains("expected 8")),
            "{:?}",
            stats.end
        );
        // Where the bytes are known fsynced, the hole is corruption.
        let err = replay_synced(&path).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corruption);
        // The first batch must follow what recovery knew before this WAL.
        let from = |next_seq, lenient_start| ReplayFrom {
            next_seq: Some(next_seq),
            lenient_start,
            synced_len: None,
        };
        assert_eq!(replay_from(&path, from(5, false)).unwrap().1.records, 2);
        assert_eq!(replay_from(&path, from(4, false)).unwrap().1.records, 0);
        assert_eq!(replay_from(&path, from(6, true)).unwrap().1.records, 2);
        assert!(replay_from(&path, from(6, false)).is_err());
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
        let path = filename::wal_path(dir.path(), 7);
        let err = replay(&PosixFs, &path, ReplayFrom::default(), |_, _| {
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

//! Tests of the log format: round trips at scale, short reads, torn tails and corruption.
//! One test per reader edge case, after LevelDB's `db/log_test.cc`.

use super::*;
use crate::env::{FileSystem, PosixFs, WritableFile};
use crate::{Error, ErrorKind};
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A tiny deterministic RNG (xorshift64*), so tests need no extra crates.
pub(crate) struct XorShift(u64);

impl XorShift {
    pub(crate) fn new(seed: u64) -> Self {
        XorShift(seed.max(1))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform-ish in `lo..=hi`.
    pub(crate) fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// A `Read` that hands out data in random pieces of 1..=`max` bytes and now and then fails
/// with `Interrupted`, as a pipe, a network file system or a signal can.
pub(crate) struct ChoppyReader<R> {
    inner: R,
    rng: XorShift,
    max: usize,
}

impl<R> ChoppyReader<R> {
    pub(crate) fn new(inner: R, seed: u64, max: usize) -> Self {
        ChoppyReader {
            inner,
            rng: XorShift::new(seed),
            max,
        }
    }
}

impl<R: Read> Read for ChoppyReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.rng.next_u64() % 16 == 0 {
            return Err(io::Error::new(io::ErrorKind::Interrupted, "signal"));
        }
        let n = self.rng.range(1, self.max).min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

/// An in-memory `WritableFile` whose bytes the test can see, with optional failures.
#[derive(Debug, Clone, Default)]
pub(crate) struct MemFile {
    pub(crate) data: Arc<Mutex<Vec<u8>>>,
    /// Fail the append with this index (0-based) after writing half of it.
    fail_append: Option<usize>,
    fail_sync: bool,
    appends: usize,
}

impl MemFile {
    pub(crate) fn bytes(&self) -> Vec<u8> {
        self.data.lock().unwrap().clone()
    }
}

impl WritableFile for MemFile {
    fn append(&mut self, data: &[u8]) -> crate::Result<()> {
        let index = self.appends;
        self.appends += 1;
        let mut file = self.data.lock().unwrap();
        if self.fail_append == Some(index) {
            file.extend_from_slice(&data[..data.len() / 2]);
            return Err(Error::io(
                "write",
                "mem",
                io::Error::other("injected ENOSPC"),
            ));
        }
        file.extend_from_slice(data);
        Ok(())
    }

    fn sync(&mut self) -> crate::Result<()> {
        if self.fail_sync {
            return Err(Error::io("fsync", "mem", io::Error::other("injected EIO")));
        }
        Ok(())
    }

    fn len(&self) -> u64 {
        self.data.lock().unwrap().len() as u64
    }
}

/// Deterministic contents for record `i` of length `len`.
fn payload(i: u64, len: usize) -> Vec<u8> {
    let mut rng = XorShift::new(i.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ len as u64);
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        let word = rng.next_u64().to_le_bytes();
        out.extend_from_slice(&word[..(len - out.len()).min(8)]);
    }
    out
}

/// The payload length of record `i` in the big tests: mostly small, every size near the
/// header length, some empty, a few 1 MiB.
fn size_of_record(i: u64) -> usize {
    match i {
        _ if i % 100_000 == 77 => 1 << 20,
        _ if i % 97 == 0 => 0,
        _ if i % 1000 == 1 => 4000 + (i as usize % 70_000),
        _ => (i as usize * 7) % 64,
    }
}

/// Writes `payloads` into an in-memory log and returns its bytes and each record's offset.
fn log_bytes(payloads: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let file = MemFile::default();
    let mut writer = LogWriter::new(Box::new(file.clone()));
    let mut offsets = Vec::new();
    for p in payloads {
        offsets.push(writer.len());
        writer.add_record(p).unwrap();
    }
    assert_eq!(writer.len(), file.bytes().len() as u64);
    (file.bytes(), offsets)
}

/// How a read of a whole log ended: `Ok(dropped_tail)` or the error.
type Ending = crate::Result<Option<(u64, u64)>>;

/// Everything a reader returns from `bytes`, then how it ended.
fn read_all(bytes: &[u8]) -> (Vec<Vec<u8>>, Ending) {
    let mut reader = LogReader::new(Cursor::new(bytes), PathBuf::from("/db/000009.log"));
    let mut out = Vec::new();
    loop {
        match reader.read_record() {
            Ok(Some(p)) => out.push(p),
            Ok(None) => return (out, Ok(reader.dropped_tail())),
            Err(e) => return (out, Err(e)),
        }
    }
}

fn small_payloads() -> Vec<Vec<u8>> {
    [0usize, 1, 11, 12, 13, 100, 0, 300, 5, 40]
        .iter()
        .enumerate()
        .map(|(i, &len)| payload(i as u64, len))
        .collect()
}

const BIG_COUNT: u64 = 300_000;

/// Writes the big test log to `path` through a real file.
fn write_big_log(path: &Path) -> u64 {
    let mut writer = LogWriter::new(PosixFs.create(path).unwrap());
    for i in 0..BIG_COUNT {
        writer.add_record(&payload(i, size_of_record(i))).unwrap();
    }
    writer.sync().unwrap();
    writer.len()
}

/// Reads the big test log back from `source` and checks every record.
fn check_big_log(source: impl Read, path: &Path) {
    let mut reader = LogReader::new(source, path.to_path_buf());
    let mut record = Vec::new();
    let mut offset = 0u64;
    for i in 0..BIG_COUNT {
        assert!(
            reader.read_record_into(&mut record).unwrap(),
            "record {i} missing"
        );
        let len = size_of_record(i);
        assert_eq!(record.len(), len, "record {i}");
        assert!(record == payload(i, len), "record {i} differs");
        assert_eq!(reader.last_record_offset(), offset);
        offset += (HEADER_LEN + len) as u64;
    }
    assert!(!reader.read_record_into(&mut record).unwrap());
    assert_eq!(reader.read_record().unwrap(), None, "the end stays the end");
    assert_eq!(reader.dropped_tail(), None);
}

#[test]
fn three_hundred_thousand_records_come_back_in_order_from_a_real_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000001.log");
    let len = write_big_log(&path);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), len);
    check_big_log(PosixFs.open_sequential(&path).unwrap(), &path);
}

/// Regression: the project toykv grew from stopped reading at the first short `read()` and
/// lost every record after about 11,400.
#[test]
fn short_reads_are_never_taken_for_end_of_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000001.log");
    write_big_log(&path);
    let file = PosixFs.open_sequential(&path).unwrap();
    check_big_log(ChoppyReader::new(file, 11_400, 97), &path);
    // Pieces smaller than a header, over a smaller log.
    let payloads = small_payloads();
    let (bytes, _) = log_bytes(&payloads);
    for seed in 1..50 {
        let mut reader = LogReader::new(
            ChoppyReader::new(Cursor::new(&bytes), seed, 5),
            path.clone(),
        );
        for p in &payloads {
            assert_eq!(reader.read_record().unwrap().as_ref(), Some(p));
        }
        assert_eq!(reader.read_record().unwrap(), None);
        assert_eq!(reader.dropped_tail(), None);
    }
}

#[test]
fn empty_file_is_a_clean_end() {
    let (records, end) = read_all(&[]);
    assert!(records.is_empty());
    assert_eq!(end.unwrap(), None);
}

#[test]
fn empty_payloads_are_records() {
    let payloads = vec![Vec::new(), Vec::new()];
    let (bytes, _) = log_bytes(&payloads);
    assert_eq!(bytes.len(), 2 * HEADER_LEN);
    let (records, end) = read_all(&bytes);
    assert_eq!(records, payloads);
    assert_eq!(end.unwrap(), None);
}

#[test]
fn torn_tail_keeps_every_record_before_it() {
    let payloads = small_payloads();
    let (bytes, offsets) = log_bytes(&payloads);
    let last_start = *offsets.last().unwrap() as usize;
    // Every cut inside the last record: inside its header and inside its payload.
    for cut in last_start + 1..bytes.len() {
        let (records, end) = read_all(&bytes[..cut]);
        assert_eq!(records, payloads[..payloads.len() - 1], "cut at {cut}");
        assert_eq!(
            end.unwrap(),
            Some((last_start as u64, (cut - last_start) as u64)),
            "cut at {cut}"
        );
    }
    // A cut at a record boundary is a clean end.
    let (records, end) = read_all(&bytes[..last_start]);
    assert_eq!(records, payloads[..payloads.len() - 1]);
    assert_eq!(end.unwrap(), None);
}

#[test]
fn torn_tail_in_a_real_truncated_file_keeps_every_record_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("000002.log");
    let payloads: Vec<Vec<u8>> = (0..2000).map(|i| payload(i, (i % 300) as usize)).collect();
    let mut writer = LogWriter::new(PosixFs.create(&path).unwrap());
    let mut last_start = 0;
    for p in &payloads {
        last_start = writer.len();
        writer.add_record(p).unwrap();
    }
    writer.sync().unwrap();
    let full = writer.len();
    drop(writer);
    for cut in [
        full - 1,
        full - 100,
        last_start + HEADER_LEN as u64,
        last_start + 3,
    ] {
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(cut)
            .unwrap();
        let mut reader = LogReader::new(PosixFs.open_sequential(&path).unwrap(), path.clone());
        for p in &payloads[..payloads.len() - 1] {
            assert_eq!(reader.read_record().unwrap().as_ref(), Some(p));
        }
        assert_eq!(reader.read_record().unwrap(), None, "cut at {cut}");
        assert_eq!(reader.dropped_tail(), Some((last_start, cut - last_start)));
    }
}

#[test]
fn zero_filled_tail_is_a_torn_tail_and_nothing_is_lost() {
    let payloads = small_payloads();
    let (mut bytes, _) = log_bytes(&payloads);
    let end = bytes.len() as u64;
    bytes.extend_from_slice(&[0u8; 4096]);
    let (records, tail) = read_all(&bytes);
    assert_eq!(records, payloads);
    assert_eq!(tail.unwrap(), Some((end, 4096)));
}

#[test]
fn record_whose_payload_never_reached_the_disk_is_a_torn_tail() {
    // Power cut: the header made it, the payload's block reads back as zeros.
    let payloads = small_payloads();
    let (mut bytes, offsets) = log_bytes(&payloads);
    let last_start = *offsets.last().unwrap() as usize;
    bytes[last_start + HEADER_LEN..].fill(0);
    bytes.extend_from_slice(&[0u8; 1000]);
    let (records, tail) = read_all(&bytes);
    assert_eq!(records, payloads[..payloads.len() - 1]);
    assert_eq!(
        tail.unwrap(),
        Some((last_start as u64, (bytes.len() - last_start) as u64))
    );
}

#[test]
fn garbage_after_the_last_record_is_corruption_not_a_torn_tail() {
    // Appends never write garbage: bytes that are neither records nor zeros are damage.
    let payloads = small_payloads();
    let (mut bytes, _) = log_bytes(&payloads);
    let end = bytes.len() as u64;
    let mut rng = XorShift::new(5);
    bytes.extend((0..5000).map(|_| rng.next_u64() as u8 | 1));
    let (records, result) = read_all(&bytes);
    assert_eq!(records, payloads);
    assert!(matches!(result, Err(Error::Corruption { offset, .. }) if offset == end));
}

#[test]
fn a_flipped_byte_in_a_complete_last_record_is_corruption_not_a_torn_tail() {
    let payloads = small_payloads();
    let (bytes, offsets) = log_bytes(&payloads);
    let last_start = *offsets.last().unwrap() as usize;
    assert_ne!(bytes[bytes.len() - 1] ^ 0x10, 0);
    for pos in [last_start, last_start + 4, last_start + 8, bytes.len() - 1] {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x10;
        let (records, result) = read_all(&damaged);
        assert_eq!(records, payloads[..payloads.len() - 1], "flip at {pos}");
        assert!(
            matches!(result, Err(Error::Corruption { offset, .. }) if offset == last_start as u64),
            "flip at {pos}: {result:?}"
        );
    }
}

#[test]
fn flipped_byte_before_valid_records_is_corruption_naming_file_and_offset() {
    let payloads = small_payloads();
    let (bytes, offsets) = log_bytes(&payloads);
    let k = 5; // a 100-byte record in the middle
    let start = offsets[k] as usize;
    let cases = [
        ("header_crc", start + 1),
        ("payload_len", start + 4),
        ("payload_len high byte", start + 7),
        ("payload_crc", start + 9),
        ("payload", start + HEADER_LEN + 50),
    ];
    for (what, pos) in cases {
        let mut damaged = bytes.clone();
        damaged[pos] ^= 0x80;
        let path = PathBuf::from("/db/000009.log");
        let mut reader = LogReader::new(Cursor::new(&damaged), path);
        for p in &payloads[..k] {
            assert_eq!(reader.read_record().unwrap().as_ref(), Some(p), "{what}");
        }
        let err = reader.read_record().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Corruption, "{what}");
        match &err {
            Error::Corruption { path, offset, .. } => {
                assert_eq!(path, Path::new("/db/000009.log"));
                assert_eq!(*offset, start as u64, "{what}");
            }
            other => panic!("{what}: {other}"),
        }
        let message = err.to_string();
        assert!(message.contains("/db/000009.log"), "{message}");
        assert!(message.contains(&start.to_string()), "{message}");
        // The failure is sticky.
        assert_eq!(
            reader.read_record().unwrap_err().kind(),
            ErrorKind::Corruption
        );
        assert_eq!(reader.dropped_tail(), None);
    }
}

#[test]
fn every_single_byte_flip_is_corruption_unless_it_leaves_an_unwritten_looking_tail() {
    let payloads = small_payloads();
    let (bytes, offsets) = log_bytes(&payloads);
    let last_start = *offsets.last().unwrap() as usize;
    let record_of = |pos: usize| offsets.iter().rposition(|&o| o as usize <= pos).unwrap();
    for pos in 0..bytes.len() {
        for mask in [0x01u8, 0x80, 0xff] {
            let mut damaged = bytes.clone();
            damaged[pos] ^= mask;
            let (records, end) = read_all(&damaged);
            let k = record_of(pos);
            assert_eq!(records, payloads[..k], "flip {mask:#x} at {pos}");
            let ends_in_zero = damaged.last() == Some(&0);
            if pos >= last_start && ends_in_zero {
                // Trailing zeros reaching into the last record read as an unfinished append.
                let tail = (bytes.len() - last_start) as u64;
                assert_eq!(end.unwrap(), Some((last_start as u64, tail)));
            } else {
                match end {
                    Err(Error::Corruption { offset, .. }) => assert_eq!(offset, offsets[k]),
                    other => panic!("flip {mask:#x} at {pos}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn checksummed_absurd_length_is_corruption_not_an_allocation() {
    let payload_len = u32::MAX;
    let payload_crc = 0;
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&header_crc(payload_len, payload_crc).to_le_bytes());
    bytes.extend_from_slice(&payload_len.to_le_bytes());
    bytes.extend_from_slice(&payload_crc.to_le_bytes());
    bytes.extend_from_slice(&[7u8; 100]);
    let (records, end) = read_all(&bytes);
    assert!(records.is_empty());
    match end {
        Err(Error::Corruption {
            offset: 0, reason, ..
        }) => assert!(reason.contains("length")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn io_error_from_the_source_is_reported_and_sticky() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
            Err(io::Error::other("EIO"))
        }
    }
    let mut reader = LogReader::new(Failing, PathBuf::from("/db/000003.log"));
    let err = reader.read_record().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    assert!(err.to_string().contains("000003.log"));
    assert_eq!(reader.read_record().unwrap_err().kind(), ErrorKind::Io);
}

#[test]
fn last_record_offset_points_at_each_record_header() {
    let payloads = small_payloads();
    let (bytes, offsets) = log_bytes(&payloads);
    let mut reader = LogReader::new(Cursor::new(&bytes), PathBuf::from("x"));
    for &offset in &offsets {
        assert!(reader.read_record().unwrap().is_some());
        assert_eq!(reader.last_record_offset(), offset);
    }
}

#[test]
fn writer_stays_failed_after_a_failed_append() {
    let file = MemFile {
        fail_append: Some(1),
        ..MemFile::default()
    };
    let mut writer = LogWriter::new(Box::new(file.clone()));
    writer.add_record(b"first").unwrap();
    let err = writer.add_record(b"second record").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io);
    let again = writer.add_record(b"third").unwrap_err();
    assert!(matches!(again, Error::Poisoned(_)), "{again}");
    assert_eq!(again.kind(), ErrorKind::Io);
    assert!(matches!(writer.sync(), Err(Error::Poisoned(_))));
    // What reached the file is one record and a torn tail, never a record after the tear.
    let (records, end) = read_all(&file.bytes());
    assert_eq!(records, vec![b"first".to_vec()]);
    assert!(end.unwrap().is_some());
}

#[test]
fn writer_stays_failed_after_a_failed_sync() {
    let file = MemFile {
        fail_sync: true,
        ..MemFile::default()
    };
    let mut writer = LogWriter::new(Box::new(file));
    writer.add_record(b"a").unwrap();
    assert_eq!(writer.sync().unwrap_err().kind(), ErrorKind::Io);
    assert!(matches!(writer.add_record(b"b"), Err(Error::Poisoned(_))));
    assert!(matches!(writer.sync(), Err(Error::Poisoned(_))));
}

#[test]
fn record_bytes_match_the_documented_layout() {
    // The worked example in doc/FORMAT.md: one record with payload "hello".
    let (bytes, _) = log_bytes(&[b"hello".to_vec()]);
    let expected: [u8; 17] = [
        0xf0, 0x9e, 0x7d, 0xbd, // header_crc = crc32(05 00 00 00 86 a6 10 36) = 0xbd7d9ef0
        0x05, 0x00, 0x00, 0x00, // payload_len = 5
        0x86, 0xa6, 0x10, 0x36, // payload_crc = crc32("hello") = 0x3610a686
        b'h', b'e', b'l', b'l', b'o',
    ];
    assert_eq!(bytes, expected);
    assert_eq!(crc32fast::hash(b"hello"), 0x3610_a686);
}

#[test]
fn all_zero_header_never_verifies() {
    assert_eq!(header_crc(0, 0), 0x6522_df69);
    assert_eq!(parse_header(&[0u8; HEADER_LEN]), None);
    assert!(!valid_record_at(&[0u8; 64], 0));
}

#[test]
fn corruption_followed_only_by_zeros_after_valid_data_is_still_corruption() {
    // A bad record in the middle stays corruption even when the file ends in zeros.
    let payloads = small_payloads();
    let (mut bytes, offsets) = log_bytes(&payloads);
    bytes[offsets[2] as usize + 5] ^= 1;
    bytes.extend_from_slice(&[0u8; 10_000]);
    let (records, end) = read_all(&bytes);
    assert_eq!(records, payloads[..2]);
    assert!(matches!(end, Err(Error::Corruption { offset, .. }) if offset == offsets[2]));
}

#[test]
fn documented_claims_about_the_v1_fixture_hold() {
    // doc/FORMAT.md: cutting the last byte leaves record 1 and a 34-byte torn tail at
    // offset 35; flipping any byte of record 1 is corruption at offset 0.
    let fixture = include_bytes!("../../tests/fixtures/wal-v1.log");
    let (records, end) = read_all(&fixture[..fixture.len() - 1]);
    assert_eq!(records.len(), 1);
    assert_eq!(end.unwrap(), Some((35, 34)));
    for pos in 0..35 {
        let mut damaged = fixture.to_vec();
        damaged[pos] ^= 0x20;
        let (records, end) = read_all(&damaged);
        assert!(records.is_empty());
        assert!(
            matches!(end, Err(Error::Corruption { offset: 0, .. })),
            "flip at {pos}"
        );
    }
    // The empty record's bytes as documented.
    let (empty, _) = log_bytes(&[Vec::new()]);
    assert_eq!(empty, [0x69, 0xdf, 0x22, 0x65, 0, 0, 0, 0, 0, 0, 0, 0]);
}

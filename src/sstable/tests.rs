//! Whole-table tests: build with [`TableBuilder`] on the real file system, open with
//! [`Table`], read back through `get` and [`TableIter`], and damage files byte by byte.

use super::index::BlockHandle;
use super::*;
use crate::cache::BlockCache;
use crate::env::{FileSystem, PosixFs, RandomAccessFile};
use crate::hash::key_hash;
use crate::iterators::vec_iter::Entry;
use crate::iterators::InternalIterator;
use crate::types::ValueKind::{self, Delete, Put};
use crate::{Error, ErrorKind, Result};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tempfile::TempDir;

/// Builds a table from `entries` (already in internal-key order) at `dir/name`.
fn build(dir: &Path, name: &str, opts: TableOptions, entries: &[Entry]) -> (PathBuf, TableSummary) {
    let path = dir.join(name);
    let file = PosixFs.create(&path).unwrap();
    let mut b = TableBuilder::new(file, path.clone(), opts);
    for (k, s, kind, v) in entries {
        b.add(k, *s, *kind, v).unwrap();
        assert!(b.estimated_size() > 0);
    }
    assert_eq!(b.num_entries(), entries.len() as u64);
    let summary = b.finish().unwrap();
    assert_eq!(summary.file_size, std::fs::metadata(&path).unwrap().len());
    (path, summary)
}

fn open(path: &Path, cache: Option<Arc<BlockCache>>) -> Result<Arc<Table>> {
    let file = PosixFs.open_random(path)?;
    Table::open(file, path.to_path_buf(), 1, cache).map(Arc::new)
}

/// A file that is never mapped, so its table reads blocks with pread through the cache.
#[derive(Debug)]
struct Unmapped(Arc<dyn RandomAccessFile>);

impl RandomAccessFile for Unmapped {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.0.read_exact_at(buf, offset)
    }
    fn len(&self) -> u64 {
        self.0.len()
    }
}

fn open_unmapped(path: &Path, cache: Option<Arc<BlockCache>>) -> Result<Arc<Table>> {
    let file = Arc::new(Unmapped(PosixFs.open_random(path)?));
    Table::open(file, path.to_path_buf(), 1, cache).map(Arc::new)
}

fn get(t: &Table, key: &[u8], snapshot: SeqNum) -> Result<Option<(SeqNum, ValueKind, Vec<u8>)>> {
    t.get(key, key_hash(key), snapshot)
}

/// What `get` must return: the first (newest) version of `key` at or below `snapshot`.
fn model_get(
    entries: &[Entry],
    key: &[u8],
    snapshot: SeqNum,
) -> Option<(SeqNum, ValueKind, Vec<u8>)> {
    entries
        .iter()
        .find(|e| e.0 == key && e.1 <= snapshot)
        .map(|e| (e.1, e.2, e.3.clone()))
}

/// Drains an iterator from its current position.
fn drain(it: &mut dyn InternalIterator) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    while it.valid() {
        out.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
        it.next()?;
    }
    Ok(out)
}

/// 3,000 user keys plus the empty key, one to four versions each (seq = 10_000 * version +
/// key number + 1, so snapshots at multiples of 10_000 cut between versions), every fifth
/// version a tombstone, and one 1 MiB value.
fn many_versions() -> Vec<Entry> {
    let mut entries = vec![(Vec::new(), 77, Put, b"value of the empty key".to_vec())];
    for i in 0..3000u64 {
        let key = format!("key{i:05}").into_bytes();
        for j in (0..=(i % 4)).rev() {
            let seq = 10_000 * j + i + 1;
            let (kind, value) = if i == 1234 && j == 1 {
                (Put, vec![0xab; 1 << 20])
            } else if (i + j) % 5 == 0 {
                (Delete, Vec::new())
            } else {
                (Put, format!("value-{i}-{j}").into_bytes())
            };
            entries.push((key.clone(), seq, kind, value));
        }
    }
    entries
}

#[test]
fn round_trip_returns_the_right_version_at_every_snapshot_and_iterates_in_order() {
    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, summary) = build(dir.path(), "000001.sst", TableOptions::default(), &entries);
    assert_eq!(summary.num_entries, entries.len() as u64);
    assert_eq!(summary.smallest, b"");
    assert_eq!(summary.largest, b"key02999");
    assert_eq!(summary.min_seq, 1);
    assert_eq!(summary.max_seq, 33_000); // key 2999 (i % 4 == 3), version j = 3
    let cache = Arc::new(BlockCache::new(8 << 20));
    let table = open(&path, Some(cache)).unwrap();
    assert_eq!(table.file_size(), summary.file_size);
    assert_eq!(table.file_number(), 1);
    assert_eq!(table.path(), path);

    let snapshots = [0, 1, 77, 5_000, 10_500, 20_000, 25_000, 35_000, SeqNum::MAX];
    for i in (0..3000u64).step_by(7).chain([1234, 2999]) {
        let key = format!("key{i:05}").into_bytes();
        for snap in snapshots {
            assert_eq!(
                get(&table, &key, snap).unwrap(),
                model_get(&entries, &key, snap),
                "key{i:05} @ {snap}"
            );
        }
    }
    for snap in snapshots {
        assert_eq!(
            get(&table, b"", snap).unwrap(),
            model_get(&entries, b"", snap)
        );
    }
    let big = get(&table, b"key01234", 10_000 + 1235).unwrap().unwrap();
    assert_eq!((big.0, big.1, big.2.len()), (11_235, Put, 1 << 20));
    for absent in [&b"a"[..], b"key", b"key01234x", b"key1", b"zzz", b"\0"] {
        assert_eq!(get(&table, absent, SeqNum::MAX).unwrap(), None);
    }

    // The 1 MiB value sits alone in its block, between two blocks that end with the newer
    // version and start with the older one: the separators are exact internal keys there.
    let index = table.index();
    let big_blocks: Vec<usize> = (0..index.len())
        .filter(|&i| index.handle(i).unwrap().len > 1 << 20)
        .collect();
    assert_eq!(big_blocks.len(), 1);
    let big = big_blocks[0];
    assert_eq!(index.separator(big), Some((&b"key01234"[..], 11_235)));
    assert_eq!(index.separator(big - 1), Some((&b"key01234"[..], 21_235)));

    let mut it = table.iter();
    assert!(!it.valid());
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries);
    it.next().unwrap(); // a no-op at the end
    assert!(!it.valid());
    for target in [
        &b"key01500"[..],
        b"key01234",
        b"key00999z",
        b"",
        b"\0",
        b"key02999",
        b"key03",
    ] {
        it.seek(target).unwrap();
        let from = entries.partition_point(|e| e.0.as_slice() < target);
        assert_eq!(drain(&mut it).unwrap(), entries[from..], "seek {target:?}");
    }
}

#[test]
fn blocks_stay_near_block_bytes_and_one_byte_blocks_hold_one_entry() {
    let dir = TempDir::new().unwrap();
    let entries: Vec<Entry> = (0..2000u32)
        .map(|i| {
            (
                format!("user-key-{i:08}").into_bytes(),
                9,
                Put,
                vec![b'x'; 40 + (i % 60) as usize],
            )
        })
        .collect();
    let (path, _) = build(dir.path(), "a.sst", TableOptions::default(), &entries);
    let table = open(&path, None).unwrap();
    let index = table.index();
    assert!(index.len() > 20);
    // Three one-byte lengths, a 17-byte key, a two-byte tag, the value, a restart slot.
    let max_entry = 3 + 17 + 2 + 100 + 4;
    for i in 0..index.len() - 1 {
        let len = index.handle(i).unwrap().len as usize;
        assert!(
            len <= 4096 && len > 4096 - max_entry,
            "block {i} is {len} bytes"
        );
    }

    let one = TableOptions {
        block_bytes: 1,
        ..TableOptions::default()
    };
    let (path, _) = build(dir.path(), "b.sst", one, &entries[..50]);
    let table = open(&path, None).unwrap();
    assert_eq!(table.index().len(), 50);
    for e in &entries[..50] {
        assert_eq!(get(&table, &e.0, SeqNum::MAX).unwrap().unwrap().2, e.3);
    }
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries[..50]);
}

#[test]
fn versions_of_one_key_spanning_many_blocks_are_found_at_every_snapshot() {
    let dir = TempDir::new().unwrap();
    let mut entries: Vec<Entry> = vec![(b"a".to_vec(), 1000, Put, b"a".to_vec())];
    for seq in (1..=500u64).rev() {
        let kind = if seq % 10 == 0 { Delete } else { Put };
        let value = if kind == Put {
            format!("v{seq:019}").into_bytes()
        } else {
            Vec::new()
        };
        entries.push((b"k".to_vec(), seq, kind, value));
    }
    entries.push((b"z".to_vec(), 7, Put, b"z".to_vec()));
    let opts = TableOptions {
        block_bytes: 256,
        ..TableOptions::default()
    };
    let (path, _) = build(dir.path(), "v.sst", opts, &entries);
    let table = open(&path, None).unwrap();
    assert!(table.index().len() > 20);
    for snap in 0..=502 {
        assert_eq!(
            get(&table, b"k", snap).unwrap(),
            model_get(&entries, b"k", snap),
            "@{snap}"
        );
    }
    assert_eq!(get(&table, b"k", 0).unwrap(), None);
    assert_eq!(get(&table, b"z", 6).unwrap(), None);
    let mut it = table.iter();
    it.seek(b"k").unwrap();
    assert_eq!((it.key(), it.seq()), (&b"k"[..], 500));
    assert_eq!(drain(&mut it).unwrap(), entries[1..]);
}

#[test]
fn zero_bits_per_key_writes_no_filter_and_lookups_still_work() {
    let dir = TempDir::new().unwrap();
    let entries: Vec<Entry> = (0..500u32)
        .map(|i| (i.to_be_bytes().to_vec(), 3, Put, vec![1]))
        .collect();
    let opts = TableOptions {
        bloom_bits_per_key: 0,
        ..TableOptions::default()
    };
    let (path, _) = build(dir.path(), "nf.sst", opts, &entries);
    let table = open(&path, None).unwrap();
    for e in &entries {
        assert_eq!(get(&table, &e.0, 3).unwrap(), Some((3, Put, vec![1])));
    }
    assert_eq!(get(&table, b"absent", 3).unwrap(), None);
    assert_eq!(table.filter_stats(), (0, 0));
}

#[test]
fn filter_false_positive_rate_at_ten_bits_per_key_is_at_most_one_and_a_half_percent() {
    let dir = TempDir::new().unwrap();
    let n = 100_000u32;
    let entries: Vec<Entry> = (0..n)
        .map(|i| (format!("present{i:08}").into_bytes(), 1, Put, Vec::new()))
        .collect();
    let (path, _) = build(dir.path(), "f.sst", TableOptions::default(), &entries);
    let table = open(&path, Some(Arc::new(BlockCache::new(8 << 20)))).unwrap();
    for i in (0..n).step_by(97) {
        let key = format!("present{i:08}").into_bytes();
        assert!(get(&table, &key, 1).unwrap().is_some());
    }
    let before = table.filter_stats();
    for i in 0..n {
        let key = format!("absent{i:08}").into_bytes();
        assert_eq!(get(&table, &key, 1).unwrap(), None);
    }
    let (checks, negatives) = table.filter_stats();
    let (checks, negatives) = (checks - before.0, negatives - before.1);
    assert_eq!(checks, u64::from(n));
    let fpr = (checks - negatives) as f64 / checks as f64;
    eprintln!(
        "bloom filter at 10 bits/key, {n} keys: measured false-positive rate {:.3}%",
        fpr * 100.0
    );
    assert!(fpr <= 0.015, "false-positive rate {fpr}");
}

#[test]
fn an_empty_table_is_refused_and_out_of_order_adds_are_rejected() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("e.sst");
    let b = TableBuilder::new(
        PosixFs.create(&path).unwrap(),
        path.clone(),
        TableOptions::default(),
    );
    assert_eq!(b.finish().unwrap_err().kind(), ErrorKind::InvalidArgument);
    let mut b = TableBuilder::new(
        PosixFs.create(&path).unwrap(),
        path.clone(),
        TableOptions::default(),
    );
    let too_big = vec![0; crate::MAX_KEY_LEN + 1];
    assert_eq!(
        b.add(&too_big, 1, Put, b"").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "out of internal-key order")]
fn adding_the_same_internal_key_twice_is_a_caller_bug() {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("o.sst");
    let mut b = TableBuilder::new(
        PosixFs.create(&path).unwrap(),
        path.clone(),
        TableOptions::default(),
    );
    b.add(b"k", 5, Put, b"").unwrap();
    let _ = b.add(b"k", 5, Put, b"");
}

#[test]
fn the_block_cache_serves_repeat_reads_and_capacity_zero_or_none_works() {
    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, _) = build(dir.path(), "c.sst", TableOptions::default(), &entries);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let table = open_unmapped(&path, Some(Arc::clone(&cache))).unwrap();
    get(&table, b"key00100", SeqNum::MAX).unwrap().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    get(&table, b"key00100", SeqNum::MAX).unwrap().unwrap();
    get(&table, b"key00101", SeqNum::MAX).unwrap().unwrap();
    assert_eq!(cache.hits(), 2);
    // A scan fills the cache with every block but the 1 MiB one (larger than the cache);
    // a second scan then misses only that block.
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap().len(), entries.len());
    let misses = cache.misses();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap().len(), entries.len());
    assert_eq!(cache.misses(), misses + 1);
    assert!(cache.usage_bytes() <= 1 << 20);

    // A cache smaller than the table keeps to its capacity.
    let small = Arc::new(BlockCache::new(64 << 10));
    let table = open_unmapped(&path, Some(Arc::clone(&small))).unwrap();
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries);
    assert!(small.usage_bytes() <= 64 << 10);
    assert!(
        small.usage_bytes() > 32 << 10,
        "usage {}",
        small.usage_bytes()
    );

    for cache in [None, Some(Arc::new(BlockCache::new(0)))] {
        let table = open_unmapped(&path, cache).unwrap();
        for i in (0..3000u64).step_by(101) {
            let key = format!("key{i:05}").into_bytes();
            assert_eq!(
                get(&table, &key, 25_000).unwrap(),
                model_get(&entries, &key, 25_000)
            );
        }
    }
}

#[test]
fn a_mapped_table_verifies_each_block_before_its_first_use_and_needs_no_cache() {
    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, _) = build(dir.path(), "m.sst", TableOptions::default(), &entries);
    let cache = Arc::new(BlockCache::new(1 << 20));
    let table = open(&path, Some(Arc::clone(&cache))).unwrap();
    // Damage the first data block after the table is open: the map shows the new bytes,
    // and the first read of that block must notice.
    {
        use std::os::unix::fs::FileExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        let mut byte = [0u8; 1];
        file.read_exact_at(&mut byte, 20).unwrap();
        file.write_all_at(&[byte[0] ^ 0x40], 20).unwrap();
    }
    let first_key = entries[0].0.clone();
    let err = get(&table, &first_key, SeqNum::MAX).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    // Other blocks verify and read correctly, repeatedly, without the block cache.
    for _ in 0..2 {
        for i in (1000..3000u64).step_by(97) {
            let key = format!("key{i:05}").into_bytes();
            assert_eq!(
                get(&table, &key, 25_000).unwrap(),
                model_get(&entries, &key, 25_000)
            );
        }
    }
    assert_eq!((cache.hits(), cache.misses()), (0, 0));
}

#[test]
fn tables_are_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Table>();
    send_sync::<BlockCache>();
    fn send<T: Send>() {}
    send::<super::iter::TableIter>();

    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, _) = build(dir.path(), "t.sst", TableOptions::default(), &entries);
    let table = open(&path, Some(Arc::new(BlockCache::new(256 << 10)))).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (table, entries) = (&table, &entries);
            s.spawn(move || {
                for i in (t..3000).step_by(13) {
                    let key = format!("key{i:05}").into_bytes();
                    assert_eq!(
                        get(table, &key, 15_000).unwrap(),
                        model_get(entries, &key, 15_000)
                    );
                }
            });
        }
    });
}

// ---- Damaged files -------------------------------------------------------------------------

/// A table image held in memory, so tests can damage it without rewriting files.
#[derive(Debug)]
struct MemFile(Vec<u8>);

impl RandomAccessFile for MemFile {
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        let start = offset as usize;
        match self.0.get(start..start + buf.len()) {
            Some(src) => {
                buf.copy_from_slice(src);
                Ok(())
            }
            None => Err(Error::io(
                "read",
                "mem",
                std::io::ErrorKind::UnexpectedEof.into(),
            )),
        }
    }
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
}

const DAMAGED: &str = "000042.sst";

fn open_image(bytes: Vec<u8>) -> Result<Arc<Table>> {
    Table::open(
        Arc::new(MemFile(bytes)),
        PathBuf::from("/db").join(DAMAGED),
        42,
        None,
    )
    .map(Arc::new)
}

fn assert_corruption(err: &Error) {
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(
        err.to_string().contains(DAMAGED),
        "message does not name the file: {err}"
    );
}

/// A small table: 4 keys x 2 versions, one zeroed, in 64-byte blocks with two entries
/// between restarts, with a filter.
fn small_table() -> (Vec<Entry>, Vec<u8>) {
    let dir = TempDir::new().unwrap();
    let mut entries = Vec::new();
    for k in [&b"apple"[..], b"apricot", b"melon", b"pear"] {
        entries.push((k.to_vec(), 20, Put, b"new".to_vec()));
        entries.push((k.to_vec(), 10, Delete, Vec::new()));
    }
    entries.push((b"pearl".to_vec(), 0, Put, b"zeroed".to_vec()));
    let opts = TableOptions {
        block_bytes: 64,
        bloom_bits_per_key: 10,
        restart_interval: 2,
    };
    let (path, _) = build(dir.path(), "s.sst", opts, &entries);
    (entries, std::fs::read(path).unwrap())
}

/// Opens a (possibly damaged) image and reads everything back: every read must either
/// fail with a corruption error naming the file or return exactly the original data.
fn check_never_wrong(entries: &[Entry], image: Vec<u8>) -> bool {
    let table = match open_image(image) {
        Ok(t) => t,
        Err(e) => {
            assert_corruption(&e);
            return true;
        }
    };
    let mut detected = false;
    for e in entries {
        for snap in [5, 15, 25] {
            match get(&table, &e.0, snap) {
                Ok(found) => assert_eq!(found, model_get(entries, &e.0, snap)),
                Err(err) => {
                    assert_corruption(&err);
                    detected = true;
                }
            }
        }
    }
    let mut it = table.iter();
    match it.seek_to_first().and_then(|()| drain(&mut it)) {
        Ok(all) => assert_eq!(all, entries),
        Err(err) => {
            assert_corruption(&err);
            detected = true;
            // Failed for good.
            assert!(!it.valid());
            assert_corruption(&it.next().unwrap_err());
            assert_corruption(&it.seek(b"").unwrap_err());
            assert_corruption(&it.seek_to_first().unwrap_err());
        }
    }
    detected
}

#[test]
fn every_flipped_byte_is_detected_and_never_returns_wrong_data() {
    let (entries, image) = small_table();
    assert!(!check_never_wrong(&entries, image.clone()));
    for i in 0..image.len() {
        for mask in [0x01, 0x80] {
            let mut bad = image.clone();
            bad[i] ^= mask;
            assert!(
                check_never_wrong(&entries, bad),
                "flip of byte {i} went unnoticed"
            );
        }
    }
}

#[test]
fn every_truncation_is_corruption_naming_the_file() {
    let (entries, image) = small_table();
    for len in 0..image.len() {
        let err = open_image(image[..len].to_vec()).unwrap_err();
        assert_corruption(&err);
    }
    // Garbage appended after the footer.
    let mut longer = image.clone();
    longer.extend_from_slice(&[0; 16]);
    assert_corruption(&open_image(longer).unwrap_err());
    assert!(!check_never_wrong(&entries, image));
}

#[test]
fn damage_in_each_region_is_reported_where_it_is() {
    let (entries, image) = small_table();
    let table = open_image(image.clone()).unwrap();
    let footer_at = image.len() - footer::FOOTER_LEN;
    let index_at = {
        let d = &image[footer_at + 16..footer_at + 24];
        u64::from_le_bytes(d.try_into().unwrap()) as usize
    };
    let filter_at = {
        let d = &image[footer_at..footer_at + 8];
        u64::from_le_bytes(d.try_into().unwrap()) as usize
    };
    assert!(filter_at < index_at, "the table has a filter");
    let second_block: BlockHandle = table.index().handle(1).unwrap();
    // A key stored in the second block.
    let key = entries
        .iter()
        .map(|e| e.0.clone())
        .find(|k| table.index().find(k, SeqNum::MAX) == Some(1))
        .unwrap();

    // Data block: open succeeds (blocks are read lazily); the read names the block.
    let mut bad = image.clone();
    bad[second_block.offset as usize + 3] ^= 0xff;
    let t = open_image(bad).unwrap();
    let err = get(&t, &key, 100).unwrap_err();
    assert_corruption(&err);
    let trailer_at = second_block.offset + second_block.len - 4;
    assert!(
        err.to_string().contains(&format!("offset {trailer_at}")),
        "{err}"
    );
    assert!(err.to_string().contains("checksum"), "{err}");

    for (what, at) in [
        ("filter", filter_at + 1),
        ("index", index_at + 5),
        ("footer", footer_at + 2),
    ] {
        let mut bad = image.clone();
        bad[at] ^= 0x10;
        let err = open_image(bad).unwrap_err();
        assert_corruption(&err);
        assert!(err.to_string().contains(what), "{what}: {err}");
    }
}

// ---- The checked-in format fixture ----------------------------------------------------------

/// The entries of `tests/fixtures/sstable-v1.sst`, the worked example of format version 1
/// in doc/FORMAT.md.
fn v1_fixture_entries() -> Vec<Entry> {
    vec![
        (b"apple".to_vec(), 3, Put, b"red".to_vec()),
        (b"apple".to_vec(), 1, Delete, Vec::new()),
        (b"pear".to_vec(), 2, Put, b"green".to_vec()),
    ]
}

const V1_FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/sstable-v1.sst");

#[test]
fn format_v1_fixture_still_decodes() {
    let file = Arc::new(MemFile(V1_FIXTURE.to_vec()));
    let table = Arc::new(Table::open(file, PathBuf::from("sstable-v1.sst"), 1, None).unwrap());
    assert_eq!(table.format(), FormatVersion::V1);
    let entries = v1_fixture_entries();
    assert_eq!(table.index().len(), 3); // apple@3 | apple@1 | pear@2
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries);
    for snap in 0..5 {
        for key in [&b"apple"[..], b"pear", b"apricot", b"zebra", b""] {
            assert_eq!(
                get(&table, key, snap).unwrap(),
                model_get(&entries, key, snap)
            );
        }
    }
    assert_eq!(
        get(&table, b"apple", 2).unwrap(),
        Some((1, Delete, Vec::new()))
    );
    // Its filter was built with the legacy hash: a v2 caller's XXH3 hash does not matter.
    let (checks, negatives) = table.filter_stats();
    assert!(checks > 0 && negatives < checks);
    it.seek(b"b").unwrap();
    assert_eq!((it.key(), it.seq()), (&b"pear"[..], 2));
}

#[test]
fn every_flipped_byte_of_the_v1_fixture_is_detected_or_read_exactly() {
    let entries = v1_fixture_entries();
    assert!(!check_never_wrong(&entries, V1_FIXTURE.to_vec()));
    for i in 0..V1_FIXTURE.len() {
        for mask in [0x01, 0x80] {
            let mut bad = V1_FIXTURE.to_vec();
            bad[i] ^= mask;
            assert!(
                check_never_wrong(&entries, bad),
                "flip of byte {i} went unnoticed"
            );
        }
    }
    for len in 0..V1_FIXTURE.len() {
        assert_corruption(&open_image(V1_FIXTURE[..len].to_vec()).unwrap_err());
    }
}

#[test]
fn a_database_of_version_1_tables_reads_and_compacts_into_version_2() {
    use crate::version::{test_database_of_one_table, FileMeta};
    // A database as format version 1 left it: one L0 table (the v1 fixture).
    let dir = TempDir::new().unwrap();
    let meta = FileMeta {
        number: 1,
        size: 0,
        smallest: b"apple".to_vec(),
        largest: b"pear".to_vec(),
        min_seq: 1,
        max_seq: 3,
    };
    test_database_of_one_table(dir.path(), V1_FIXTURE, 0, meta);

    let db = crate::Db::open(dir.path(), crate::Options::default()).unwrap();
    let check = |db: &crate::Db| {
        assert_eq!(db.get(b"apple").unwrap(), Some(b"red".to_vec()));
        assert_eq!(db.get(b"pear").unwrap(), Some(b"green".to_vec()));
        assert_eq!(db.get(b"kiwi").unwrap(), Some(b"new".to_vec()));
        assert_eq!(db.get(b"apricot").unwrap(), None);
    };
    db.put(b"kiwi", b"new").unwrap();
    check(&db);
    db.compact().unwrap();
    check(&db);
    drop(db);
    let db = crate::Db::open(dir.path(), crate::Options::default()).unwrap();
    check(&db);
    // The version-1 table is gone; what replaced it is version 2.
    let tables: Vec<String> = PosixFs
        .list(dir.path())
        .unwrap()
        .into_iter()
        .filter(|name| name.ends_with(".sst"))
        .collect();
    assert!(!tables.is_empty() && !tables.contains(&"000001.sst".to_string()));
    for name in tables {
        assert_eq!(
            open(&dir.path().join(name), None).unwrap().format(),
            FormatVersion::V2
        );
    }
}

/// The entries of `tests/fixtures/sstable-v2.sst`, the worked example of format version 2
/// in doc/FORMAT.md.
fn v2_fixture_entries() -> Vec<Entry> {
    vec![
        (b"apple".to_vec(), 9, Put, b"red".to_vec()),
        (b"apple".to_vec(), 4, Delete, Vec::new()),
        (b"apricot".to_vec(), 0, Put, b"orange".to_vec()),
        (b"banana".to_vec(), 8, Put, b"yellow".to_vec()),
        (b"banana".to_vec(), 2, Put, b"green".to_vec()),
        (b"banana".to_vec(), 1, Delete, Vec::new()),
        (b"bandana".to_vec(), 0, Put, b"dark".to_vec()),
    ]
}

fn v2_fixture_options() -> TableOptions {
    TableOptions {
        block_bytes: 52,
        bloom_bits_per_key: 10,
        restart_interval: 2,
    }
}

const V2_FIXTURE: &[u8] = include_bytes!("../../tests/fixtures/sstable-v2.sst");

#[test]
fn format_v2_fixture_decodes_and_is_rebuilt_byte_for_byte() {
    let file = Arc::new(MemFile(V2_FIXTURE.to_vec()));
    let table = Arc::new(Table::open(file, PathBuf::from("sstable-v2.sst"), 1, None).unwrap());
    assert_eq!(table.format(), FormatVersion::V2);
    let entries = v2_fixture_entries();
    // apple@9 apple@4 apricot@0 | banana@8 banana@2 | banana@1 bandana@0
    let index = table.index();
    assert_eq!(index.len(), 3);
    assert_eq!(index.separator(0), Some((&b"aq"[..], 0)));
    assert_eq!(index.separator(1), Some((&b"banana"[..], 2)));
    assert_eq!(index.separator(2), Some((&b"bandana"[..], 0)));
    let lens: Vec<u64> = (0..3).map(|i| index.handle(i).unwrap().len).collect();
    assert_eq!(lens, [51, 39, 35]);
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries);
    for snap in 0..10 {
        for key in [
            &b"apple"[..],
            b"apricot",
            b"banana",
            b"bandana",
            b"aq",
            b"b",
            b"",
        ] {
            assert_eq!(
                get(&table, key, snap).unwrap(),
                model_get(&entries, key, snap),
                "{key:?} @ {snap}"
            );
        }
    }
    assert_eq!(
        get(&table, b"banana", 1).unwrap(),
        Some((1, Delete, Vec::new()))
    );

    // If this fails, the writer no longer produces format version 2: give the new layout a
    // new version and keep reading this one, instead of changing the fixture.
    let dir = TempDir::new().unwrap();
    let (path, summary) = build(dir.path(), "sstable-v2.sst", v2_fixture_options(), &entries);
    assert_eq!(std::fs::read(path).unwrap(), V2_FIXTURE);
    assert_eq!((summary.min_seq, summary.max_seq), (0, 9));
}

/// `image` with `edit` applied to the region `[start, end)` (its contents, the CRC trailer
/// excluded) and the region's CRC recomputed: damage that no checksum catches.
fn recrc(image: &[u8], start: usize, end: usize, edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut contents = image[start..end - 4].to_vec();
    edit(&mut contents);
    let crc = checksum(&contents);
    let mut out = image[..start].to_vec();
    out.extend_from_slice(&contents);
    out.extend_from_slice(&crc.to_le_bytes());
    let len_change = out.len() as i64 - end as i64;
    assert_eq!(len_change, 0, "edits keep the region's length");
    out.extend_from_slice(&image[end..]);
    out
}

fn expect_field(result: Result<impl std::fmt::Debug>, field: &str) {
    let err = result.unwrap_err();
    assert_corruption(&err);
    assert!(err.to_string().contains(field), "expected {field:?}: {err}");
}

#[test]
fn damage_behind_a_valid_checksum_is_refused_naming_the_field() {
    // The v2 fixture: blocks at 0 (51 bytes), 51 (39), 90 (35); filter at 125; index at 161
    // (29 bytes: count 3, then "aq"@0 51 | "banana"@2 39 | shared 3 "dana"@0 35).
    let image = V2_FIXTURE;
    let (index_start, index_end) = (161, 190);
    let read_all = |image: Vec<u8>| -> Result<Vec<Entry>> {
        let table = open_image(image)?;
        let mut it = table.iter();
        it.seek_to_first()?;
        drain(&mut it)
    };
    // The index: a separator before its block's last key, a length that breaks the tiling,
    // a count that leaves bytes over, a shared length past the previous separator.
    let sep_before_block = recrc(image, index_start, index_end, |c| c[4] = b'p');
    expect_field(
        read_all(sep_before_block),
        "block last key (past its index separator)",
    );
    let bad_len = recrc(image, index_start, index_end, |c| c[6] = 50);
    expect_field(open_image(bad_len), "index");
    let short_count = recrc(image, index_start, index_end, |c| c[0] = 2);
    expect_field(open_image(short_count), "index (trailing bytes)");
    let bad_shared = recrc(image, index_start, index_end, |c| c[17] = 7);
    expect_field(open_image(bad_shared), "index separator shared key length");
    let unordered = recrc(image, index_start, index_end, |c| c[9] = b'a');
    expect_field(
        open_image(unordered),
        "index separator (not after the previous one)",
    );
    // A data block: a value length past the entries, a kind that does not exist.
    let long_value = recrc(image, 51, 90, |c| c[2] = 100);
    expect_field(read_all(long_value), "block entry value");
    let bad_kind = recrc(image, 51, 90, |c| c[9] = 0x87);
    expect_field(read_all(bad_kind), "block entry tag (unknown value kind)");
    // A block that starts at or before the previous block's separator.
    let early = recrc(image, 51, 90, |c| c[3] = b'a');
    expect_field(
        read_all(early),
        "block first key (not after the previous block)",
    );
}

#[test]
fn a_scan_verifies_each_block_as_it_reads_it_and_returns_nothing_past_a_bad_entry() {
    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, _) = build(dir.path(), "w.sst", TableOptions::default(), &entries);
    let image = std::fs::read(&path).unwrap();
    let table = open_image(image.clone()).unwrap();
    // Block 5's second restart point stores its key whole: make that key sort before the
    // entry ahead of it, behind a valid checksum.
    let handle = table.index().handle(5).unwrap();
    let (start, end) = (
        handle.offset as usize,
        (handle.offset + handle.len) as usize,
    );
    let contents = &image[start..end - 4];
    let count = u32::from_le_bytes(contents[contents.len() - 4..].try_into().unwrap()) as usize;
    assert!(count >= 2, "block 5 has {count} restart points");
    let restarts = contents.len() - 4 - 4 * count;
    let second = u32::from_le_bytes(contents[restarts + 4..restarts + 8].try_into().unwrap());
    // shared = 0, unshared, value_len (one byte each here), then the key: "key0...".
    let key_at = second as usize + 3;
    assert_eq!(&contents[key_at..key_at + 3], b"key");
    let damaged = recrc(&image, start, end, |c| c[key_at] = b'a');

    let table = open_image(damaged).unwrap();
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    let mut read = Vec::new();
    let err = loop {
        if !it.valid() {
            panic!("the scan passed the damaged entry");
        }
        read.push((it.key().to_vec(), it.seq(), it.kind(), it.value().to_vec()));
        if let Err(e) = it.next() {
            break e;
        }
    };
    assert_corruption(&err);
    assert!(err.to_string().contains("block entry order"), "{err}");
    // Everything returned before the damaged entry is exactly what was written, and the
    // scan stopped right before it.
    assert_eq!(read, entries[..read.len()]);
    let (damaged_key, damaged_seq) = (&entries[read.len()].0, entries[read.len()].1);
    assert_eq!(
        table.index().find(damaged_key, damaged_seq),
        Some(5),
        "the entry after the last one returned is the damaged one"
    );
    // The other blocks still read; the damaged block never does.
    assert_eq!(
        get(&table, b"key02000", SeqNum::MAX).unwrap(),
        model_get(&entries, b"key02000", SeqNum::MAX)
    );
    assert_corruption(&get(&table, damaged_key, damaged_seq).unwrap_err());
}

#[test]
fn only_a_block_a_scan_walked_to_its_end_is_kept_as_verified() {
    let dir = TempDir::new().unwrap();
    let entries = many_versions();
    let (path, _) = build(dir.path(), "k.sst", TableOptions::default(), &entries);
    let cache = Arc::new(BlockCache::new(8 << 20));
    let table = open_unmapped(&path, Some(Arc::clone(&cache))).unwrap();
    // A scan that reads block 0's first entry only leaves it unverified: a lookup in it
    // reads (and verifies) it again.
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(it.key(), b"");
    assert_eq!((cache.hits(), cache.misses()), (0, 1));
    drop(it);
    get(&table, b"", SeqNum::MAX).unwrap().unwrap();
    assert_eq!((cache.hits(), cache.misses()), (0, 2));
    // A scan through every block keeps each (verified) in the cache: lookups then hit.
    let mut it = table.iter();
    it.seek_to_first().unwrap();
    assert_eq!(drain(&mut it).unwrap(), entries);
    let misses = cache.misses();
    for i in (0..3000u64).step_by(37) {
        let key = format!("key{i:05}").into_bytes();
        assert_eq!(
            get(&table, &key, 25_000).unwrap(),
            model_get(&entries, &key, 25_000)
        );
    }
    assert_eq!(cache.misses(), misses);
}

/// Opens a (possibly malformed) image and reads everything every way a reader can; errors
/// are fine, a panic is the failure.
fn read_every_way(image: Vec<u8>) {
    let Ok(table) = open_image(image) else {
        return;
    };
    let mut it = table.iter();
    if it.seek_to_first().is_ok() {
        let _ = drain(&mut it);
    }
    for key in [
        &b""[..],
        b"apple",
        b"apricot",
        b"aq",
        b"banana",
        b"bandana",
        b"pear",
        b"z",
    ] {
        if it.seek(key).is_ok() {
            let _ = it.next();
        }
        for snap in [0, 1, 2, 5, SeqNum::MAX] {
            let _ = get(&table, key, snap);
        }
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

    /// Garbage behind a valid checksum, in any region of either version's fixture (the
    /// footer's CRC is recomputed too), is an error or an answer, never a panic.
    #[test]
    fn garbage_behind_valid_checksums_never_panics(
        v2 in proptest::bool::ANY,
        region in 0usize..6,
        edits in proptest::collection::vec((0usize..1000, proptest::num::u8::ANY), 1..6),
    ) {
        let image = if v2 { V2_FIXTURE } else { V1_FIXTURE };
        // The regions of each fixture: three blocks, the filter, the index, the footer.
        let bounds: [usize; 7] = if v2 {
            [0, 51, 90, 125, 161, 190, 238]
        } else {
            [0, 30, 57, 88, 124, 262, 310]
        };
        let (start, end) = (bounds[region], bounds[region + 1]);
        let damaged = if region == 5 {
            let mut out = image.to_vec();
            for &(at, byte) in &edits {
                // Anything but the magic, so that the CRC is what stands guard.
                out[start + at % 36] = byte;
            }
            let crc = footer_checksum(&out[start..start + 36], &out[start + 40..]);
            out[start + 36..start + 40].copy_from_slice(&crc.to_le_bytes());
            out
        } else {
            recrc(image, start, end, |c| {
                for &(at, byte) in &edits {
                    let i = at % c.len();
                    c[i] = byte;
                }
            })
        };
        read_every_way(damaged);
    }
}

/// The footer's CRC: over its first 36 bytes and the magic.
fn footer_checksum(head: &[u8], magic: &[u8]) -> u32 {
    let mut covered = head.to_vec();
    covered.extend_from_slice(magic);
    checksum(&covered)
}

/// CPU time this thread has run, from `/proc/thread-self/schedstat` (nanoseconds on the
/// CPU, updated at scheduler ticks: time phases of 100 ms or more), so timings hold on a
/// machine busy with other work; wall time where it is missing.
fn thread_cpu_time() -> std::time::Duration {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    let on_cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok());
    match on_cpu {
        Some(ns) => std::time::Duration::from_nanos(ns),
        None => START.get_or_init(std::time::Instant::now).elapsed(),
    }
}

/// The CPU time per call of `op` over `rounds` passes through `items`, and how many calls
/// of one pass returned true.
fn time_per_call<T>(
    items: &[T],
    rounds: u32,
    mut op: impl FnMut(&T) -> bool,
) -> (std::time::Duration, usize) {
    let start = thread_cpu_time();
    let mut found = 0;
    for _ in 0..rounds {
        found = items.iter().filter(|item| op(item)).count();
    }
    let calls = items.len().max(1) as u32 * rounds.max(1);
    ((thread_cpu_time() - start) / calls, found)
}

/// Not a correctness test: prints the CPU time of a point lookup with every block cached,
/// and with no block cache (every get reads, verifies and decodes its block from the page
/// cache: a block-cache miss less the disk), then of scans and seeks. Run with
/// `cargo test --release --lib point_lookup_latency -- --ignored --nocapture`.
#[test]
#[ignore = "timing, run by hand in release mode"]
fn point_lookup_latency() {
    let dir = TempDir::new().unwrap();
    let n = 200_000u32;
    let entries: Vec<Entry> = (0..n)
        .map(|i| {
            (
                format!("user{i:012}").into_bytes(),
                u64::from(i) + 1,
                Put,
                vec![b'v'; 100],
            )
        })
        .collect();
    let (path, summary) = build(dir.path(), "p.sst", TableOptions::default(), &entries);
    let table = open(&path, Some(Arc::new(BlockCache::new(64 << 20)))).unwrap();
    let keys: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("user{:012}", (i * 7919) % n).into_bytes())
        .collect();
    let absent: Vec<Vec<u8>> = (0..n)
        .map(|i| format!("nope{i:012}").into_bytes())
        .collect();
    let lookup = |t: &Table, k: &Vec<u8>| t.get(k, key_hash(k), SeqNum::MAX).unwrap().is_some();
    time_per_call(&keys, 1, |k| lookup(&table, k)); // fills the cache
    let (hit, found) = time_per_call(&keys, 2, |k| lookup(&table, k));
    assert_eq!(found, keys.len());
    let (miss, found) = time_per_call(&absent, 20, |k| lookup(&table, k));
    assert_eq!(found, 0);
    let uncached = open(&path, None).unwrap();
    let (read, found) = time_per_call(&keys[..n as usize / 4], 2, |k| lookup(&uncached, k));
    assert_eq!(found, keys.len() / 4);
    // A full scan, and seeks each followed by 100 steps, through the cached table.
    let mut it = table.iter();
    let (scan, _) = time_per_call(&[()], 20, |()| {
        it.seek_to_first().unwrap();
        while it.valid() {
            it.next().unwrap();
        }
        true
    });
    let (seek, _) = time_per_call(&keys[..n as usize / 10], 2, |k| {
        it.seek(k).unwrap();
        for _ in 0..100 {
            it.next().unwrap();
        }
        it.valid()
    });
    eprintln!(
        "{} bytes, {} blocks; CPU time per get: present key {hit:?}, absent key {miss:?}, \
         present key without a block cache {read:?}; scan {:?}/entry; seek + 100 next {seek:?}",
        summary.file_size,
        table.index().len(),
        scan / n,
    );
}

/// Not a correctness test: prints the bytes a table spends beyond its keys and values, per
/// entry, for the benchmarks' shapes. Run with
/// `cargo test --release --lib per_entry_overhead -- --ignored --nocapture`.
#[test]
#[ignore = "measurement, run by hand in release mode"]
fn per_entry_overhead() {
    let dir = TempDir::new().unwrap();
    let n = 200_000u64;
    let ascii = |i: u64| format!("key{i:08}").into_bytes();
    let random = |i: u64| {
        let mut k = i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes().to_vec();
        k.extend_from_slice(
            &(i ^ 0x5555)
                .wrapping_mul(0xff51_afd7_ed55_8ccd)
                .to_be_bytes(),
        );
        k
    };
    let shapes = [
        ("11-byte keys key%08d, seq = i+1e6", false, false),
        ("11-byte keys key%08d, seq 0      ", false, true),
        ("16-byte random keys,  seq = i+1e6", true, false),
        ("16-byte random keys,  seq 0      ", true, true),
    ];
    for (name, is_random, zero) in shapes {
        let key = |i| if is_random { random(i) } else { ascii(i) };
        let mut keys: Vec<Vec<u8>> = (0..n).map(key).collect();
        keys.sort();
        let entries: Vec<Entry> = keys
            .into_iter()
            .enumerate()
            .map(|(i, k)| {
                (
                    k,
                    if zero { 0 } else { i as u64 + 1_000_000 },
                    Put,
                    vec![b'v'; 100],
                )
            })
            .collect();
        let live: u64 = entries.iter().map(|e| (e.0.len() + e.3.len()) as u64).sum();
        let (_, summary) = build(dir.path(), "o.sst", TableOptions::default(), &entries);
        eprintln!(
            "{name}: {} bytes for {live} key+value bytes: {:.2} bytes/entry overhead, {:.3}x",
            summary.file_size,
            (summary.file_size as f64 - live as f64) / n as f64,
            summary.file_size as f64 / live as f64
        );
    }
}

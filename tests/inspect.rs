//! `toykv::inspect`: verifying a database block by block and dumping an sstable, without
//! opening the database or changing a file.

mod common;

use common::*;
use std::path::Path;
use toykv::inspect::{self, DbVerifier, Region, Sstable, ValueKind};
use toykv::{Db, ErrorKind, Options};

const KEYS: usize = 2000;

/// A closed database: one sstable of `KEYS` keys over many 4 KiB blocks, and a WAL holding
/// a few more writes.
fn build(dir: &Path) {
    let opts = Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        ..Options::default()
    };
    let db = Db::open(dir, opts).unwrap();
    for i in 0..KEYS {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.put(b"in the wal", b"only").unwrap();
    db.close().unwrap();
}

#[test]
fn a_sound_database_passes_every_check_and_stays_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let before = dir_contents(dir.path());
    let verifier = DbVerifier::open(dir.path()).unwrap();
    let total = verifier.total_bytes();
    let mut regions = Vec::new();
    let report = verifier.run(|check| regions.push((check.region, check.len, check.is_ok())));
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!(report.regions as usize, regions.len());
    // CURRENT, the manifest, the sstable, the WAL: together, every byte planned.
    assert_eq!(report.files, 4);
    assert_eq!(report.bytes, total);
    let on_disk: u64 = before
        .iter()
        .filter(|(name, _)| name.as_str() != "LOCK")
        .map(|(_, bytes)| bytes.len() as u64)
        .sum();
    assert_eq!(total, on_disk);
    let blocks = regions
        .iter()
        .filter(|(r, _, _)| matches!(r, Region::DataBlock(_)))
        .count();
    assert!(blocks > 10, "only {blocks} data blocks");
    for wanted in [
        Region::Current,
        Region::Manifest,
        Region::Wal,
        Region::Footer,
        Region::Filter,
        Region::Index,
    ] {
        assert!(
            regions.iter().any(|(r, _, _)| *r == wanted),
            "{wanted} not checked"
        );
    }
    assert_eq!(dir_contents(dir.path()), before);
}

#[test]
fn a_flipped_bit_in_a_data_block_is_reported_for_that_block_alone() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();
    let table = Sstable::open(&sst).unwrap();
    let victim = table.blocks()[5].clone();
    drop(table);
    flip_byte(&sst, victim.offset + 7);
    let before = dir_contents(dir.path());

    let report = DbVerifier::open(dir.path()).unwrap().run(|_| {});
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    let bad = &report.problems[0];
    assert_eq!(bad.path, sst);
    assert_eq!(bad.region, Region::DataBlock(5));
    assert_eq!(bad.offset, victim.offset);
    let err = bad.problem.as_ref().unwrap();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains(sst.to_str().unwrap()), "{err}");
    // Every other block was still checked.
    let blocks = Sstable::open(&sst).unwrap().blocks().len() as u64;
    assert_eq!(report.regions, 2 + 3 + blocks + 1);
    assert_eq!(dir_contents(dir.path()), before);

    // The same damage through the single-table check and the dump.
    let report = inspect::verify_table(&sst, |_| {}).unwrap();
    assert_eq!(report.problems.len(), 1);
    let table = Sstable::open(&sst).unwrap();
    let err = table.block_entries(5).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(table.block_entries(4).is_ok());
}

#[test]
fn damage_in_each_kind_of_file_names_that_file() {
    for (suffix, offset) in [(".log", 20), ("MANIFEST-", 16), ("CURRENT", 0)] {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path());
        let path = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().contains(suffix))
            .unwrap();
        flip_byte(&path, offset);
        let report = DbVerifier::open(dir.path()).unwrap().run(|_| {});
        assert!(!report.is_ok(), "{suffix}: damage not found");
        assert!(
            report.problems.iter().all(|p| p.path == path),
            "{suffix}: {:?}",
            report.problems
        );
        if suffix != ".log" {
            // The live set is unknown: every sstable is checked anyway.
            assert!(report.notes.iter().any(|n| n.contains("every sstable")));
            assert!(report.regions > 5);
        }
    }
}

#[test]
fn a_truncated_sstable_is_reported_against_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();
    let bytes = std::fs::read(&sst).unwrap();
    std::fs::write(&sst, &bytes[..bytes.len() - 10]).unwrap();
    let report = DbVerifier::open(dir.path()).unwrap().run(|_| {});
    let regions: Vec<Region> = report.problems.iter().map(|p| p.region).collect();
    assert_eq!(regions, [Region::File, Region::Footer]);
    assert!(report.problems[0]
        .problem
        .as_ref()
        .unwrap()
        .to_string()
        .contains("manifest records"));

    std::fs::remove_file(&sst).unwrap();
    let report = DbVerifier::open(dir.path()).unwrap().run(|_| {});
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0]
        .problem
        .as_ref()
        .unwrap()
        .to_string()
        .contains("missing"));
}

#[test]
fn a_verifier_holds_the_lock_and_cannot_run_on_an_open_database() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path());
    let db = Db::open(dir.path(), Options::default()).unwrap();
    assert_eq!(
        DbVerifier::open(dir.path()).unwrap_err().kind(),
        ErrorKind::Locked
    );
    drop(db);
    let verifier = DbVerifier::open(dir.path()).unwrap();
    assert_eq!(
        Db::open(dir.path(), Options::default()).unwrap_err().kind(),
        ErrorKind::Locked
    );
    drop(verifier);
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        DbVerifier::open(empty.path()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn the_format_fixture_dumps_as_doc_format_describes_it() {
    let table = Sstable::open("tests/fixtures/sstable-v1.sst").unwrap();
    assert_eq!(table.file_size(), 310);
    let footer = table.footer();
    assert_eq!(
        (
            footer.filter_offset,
            footer.filter_len,
            footer.index_offset,
            footer.index_len
        ),
        (88, 36, 124, 138)
    );
    assert_eq!(footer.format_version, 1);
    assert_eq!(footer.magic.to_le_bytes(), *b"TOYKVSST");
    let filter = table.filter().unwrap();
    assert_eq!((filter.buckets, filter.bits), (1, 256));
    let blocks = table.blocks();
    // A version-1 index's separators are its blocks' last keys.
    let shape: Vec<(u64, u64, &[u8], u64)> = blocks
        .iter()
        .map(|b| (b.offset, b.len, b.separator.as_slice(), b.separator_seq))
        .collect();
    assert_eq!(
        shape,
        [
            (0, 30, &b"apple"[..], 3),
            (30, 27, &b"apple"[..], 1),
            (57, 31, &b"pear"[..], 2)
        ]
    );
    let entries: Vec<_> = (0..3)
        .flat_map(|i| table.block_entries(i).unwrap())
        .map(|e| (e.key, e.seq, e.kind, e.value))
        .collect();
    assert_eq!(
        entries,
        [
            (b"apple".to_vec(), 3, ValueKind::Put, b"red".to_vec()),
            (b"apple".to_vec(), 1, ValueKind::Delete, Vec::new()),
            (b"pear".to_vec(), 2, ValueKind::Put, b"green".to_vec()),
        ]
    );
    assert!(table.block_entries(3).is_err());
    let report = inspect::verify_table("tests/fixtures/sstable-v1.sst", |_| {}).unwrap();
    assert!(report.is_ok());
    assert_eq!((report.regions, report.bytes), (6, 310));
}

#[test]
fn the_version_2_fixture_dumps_as_doc_format_describes_it() {
    let table = Sstable::open("tests/fixtures/sstable-v2.sst").unwrap();
    assert_eq!(table.file_size(), 238);
    let footer = table.footer();
    assert_eq!(
        (
            footer.filter_offset,
            footer.filter_len,
            footer.index_offset,
            footer.index_len,
            footer.format_version
        ),
        (125, 36, 161, 29, 2)
    );
    let shape: Vec<(u64, u64, Vec<u8>, u64)> = table
        .blocks()
        .into_iter()
        .map(|b| (b.offset, b.len, b.separator, b.separator_seq))
        .collect();
    assert_eq!(
        shape,
        [
            (0, 51, b"aq".to_vec(), 0),
            (51, 39, b"banana".to_vec(), 2),
            (90, 35, b"bandana".to_vec(), 0)
        ]
    );
    let entries: Vec<_> = (0..3)
        .flat_map(|i| table.block_entries(i).unwrap())
        .map(|e| (e.key, e.seq, e.kind))
        .collect();
    assert_eq!(
        entries,
        [
            (b"apple".to_vec(), 9, ValueKind::Put),
            (b"apple".to_vec(), 4, ValueKind::Delete),
            (b"apricot".to_vec(), 0, ValueKind::Put),
            (b"banana".to_vec(), 8, ValueKind::Put),
            (b"banana".to_vec(), 2, ValueKind::Put),
            (b"banana".to_vec(), 1, ValueKind::Delete),
            (b"bandana".to_vec(), 0, ValueKind::Put),
        ]
    );
    let report = inspect::verify_table("tests/fixtures/sstable-v2.sst", |_| {}).unwrap();
    assert!(report.is_ok());
    assert_eq!((report.regions, report.bytes), (6, 238));
}

#[test]
fn a_file_that_is_not_an_sstable_is_refused_naming_it() {
    let err = Sstable::open("tests/fixtures/wal-v1.log").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains("wal-v1.log"), "{err}");
}

//! A damaged manifest never reads stale data: open either fails with a corruption error
//! naming the manifest, or reads exactly what was written (issue 14, fix 2).
//!
//! Before the fix, a manifest cut short at a record boundary (or by its last byte) after a
//! clean close opened successfully: the lost flush edits had already deleted the WALs holding
//! the newer data, so reads returned older values, and open then deleted the newer sstables
//! as orphans.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use toykv::{Db, ErrorKind, Options};

const KEYS: usize = 200;
const ROUNDS: usize = 4;

fn options() -> Options {
    // No background compaction: the manifest holds exactly the flushes and compactions the
    // test makes.
    manual_compaction_options()
}

/// A closed database whose manifest holds a snapshot, flush edits and a compaction edit;
/// every key's latest value is from the last round.
fn build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for round in 0..ROUNDS {
        for i in 0..KEYS {
            db.put(&key(i), &value(i, round)).unwrap();
        }
        db.flush().unwrap();
        if round == 1 {
            db.compact().unwrap();
        }
    }
    db.close().unwrap();
    dir
}

fn manifest_of(dir: &Path) -> PathBuf {
    files_with_suffix(dir, "")
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST-")
        })
        .unwrap()
}

/// Offsets where the manifest's records end (the log framing: a 12-byte header whose bytes
/// 4..8 are the payload length).
fn record_ends(manifest: &[u8]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut at = 0;
    while at + 12 <= manifest.len() {
        let len = u32::from_le_bytes(manifest[at + 4..at + 8].try_into().unwrap()) as usize;
        at += 12 + len;
        ends.push(at);
    }
    assert_eq!(at, manifest.len(), "the manifest parses as whole records");
    ends
}

/// Opens a copy of `src` whose manifest was replaced by `damaged` bytes. The open must fail
/// with a corruption error naming the manifest, or every key must read its latest value.
/// Returns whether the open failed.
fn open_with_manifest(src: &Path, damaged: &[u8], case: &str) -> bool {
    let image = tempfile::tempdir().unwrap();
    crash_image(src, image.path());
    let manifest = manifest_of(image.path());
    let name = manifest.file_name().unwrap().to_string_lossy().to_string();
    std::fs::write(&manifest, damaged).unwrap();
    match Db::open(image.path(), options()) {
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::Corruption, "{case}: {e}");
            assert!(
                e.to_string().contains(&name),
                "{case}: {e} does not name {name}"
            );
            true
        }
        Ok(db) => {
            for i in 0..KEYS {
                assert_eq!(
                    db.get(&key(i)).unwrap(),
                    Some(value(i, ROUNDS - 1)),
                    "{case}: stale or missing value for key {i}"
                );
            }
            false
        }
    }
}

/// The manifest's records: a snapshot, one edit per flush and compaction, and last the
/// record of the clean close (the WALs' fsynced lengths), whose loss changes no file.
fn edits_with_effects(ends: &[usize]) -> &[usize] {
    &ends[..ends.len() - 1]
}

#[test]
fn a_manifest_cut_at_any_record_boundary_is_corruption_naming_it() {
    let dir = build();
    let bytes = std::fs::read(manifest_of(dir.path())).unwrap();
    let ends = record_ends(&bytes);
    assert!(ends.len() >= ROUNDS + 3, "{} records", ends.len());
    // Every edit after the snapshot was acknowledged and acted on (WALs and compaction
    // inputs deleted): losing any of them is damage.
    let with_effects = edits_with_effects(&ends);
    for &end in &with_effects[..with_effects.len() - 1] {
        let failed = open_with_manifest(dir.path(), &bytes[..end], &format!("cut at {end}"));
        assert!(failed, "a manifest cut at record boundary {end} opened");
    }
    // Losing only the clean close's record reads exactly right (checked inside).
    let last_edit_end = *with_effects.last().unwrap();
    open_with_manifest(
        dir.path(),
        &bytes[..last_edit_end],
        "clean-close record lost",
    );
}

#[test]
fn a_manifest_missing_the_last_byte_of_an_edit_is_corruption_naming_it() {
    let dir = build();
    let bytes = std::fs::read(manifest_of(dir.path())).unwrap();
    let ends = record_ends(&bytes);
    let last_edit_end = *edits_with_effects(&ends).last().unwrap();
    let failed = open_with_manifest(dir.path(), &bytes[..last_edit_end - 1], "last byte cut");
    assert!(
        failed,
        "a manifest missing the last byte of its last edit opened"
    );
    // Cut by its very last byte, it loses only the clean close's record: exactly right.
    open_with_manifest(
        dir.path(),
        &bytes[..bytes.len() - 1],
        "last byte of the file cut",
    );
}

#[test]
fn every_kind_of_manifest_damage_names_the_manifest() {
    let dir = build();
    let bytes = std::fs::read(manifest_of(dir.path())).unwrap();
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("empty".into(), Vec::new()),
        ("header only".into(), bytes[..12].to_vec()),
        ("half".into(), bytes[..bytes.len() / 2].to_vec()),
        ("zeroed".into(), vec![0; bytes.len()]),
    ];
    let step = (bytes.len() / 40).max(1);
    for offset in (0..bytes.len()).step_by(step) {
        let mut flipped = bytes.clone();
        flipped[offset] ^= 0x10;
        cases.push((format!("bit flip at {offset}"), flipped));
    }
    let mut garbage = bytes.clone();
    garbage.extend_from_slice(b"garbage appended after the last record");
    cases.push(("garbage appended".into(), garbage));
    for (case, damaged) in &cases {
        open_with_manifest(dir.path(), damaged, case);
    }
}

#[test]
fn current_naming_a_missing_manifest_is_corruption_naming_the_manifest() {
    let dir = build();
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let manifest = manifest_of(image.path());
    let name = manifest.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_file(&manifest).unwrap();
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    assert!(err.to_string().contains("CURRENT"), "{err}");
}

#[test]
fn a_missing_sstable_is_corruption_naming_the_manifest_and_the_sstable() {
    let dir = build();
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let sst = files_with_suffix(image.path(), ".sst").pop().unwrap();
    let sst_name = sst.file_name().unwrap().to_string_lossy().to_string();
    let manifest = manifest_of(image.path());
    let name = manifest.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_file(&sst).unwrap();
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    assert!(err.to_string().contains(&name), "{err}");
    assert!(err.to_string().contains(&sst_name), "{err}");
}

#[test]
fn a_failed_open_deletes_nothing() {
    let dir = build();
    let bytes = std::fs::read(manifest_of(dir.path())).unwrap();
    let ends = record_ends(&bytes);
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    std::fs::write(manifest_of(image.path()), &bytes[..ends[1]]).unwrap();
    let before = files_with_suffix(image.path(), "");
    assert!(Db::open(image.path(), options()).is_err());
    let mut after = files_with_suffix(image.path(), "");
    after.retain(|p| p.file_name().unwrap() != "LOCK");
    let mut before = before;
    before.retain(|p| p.file_name().unwrap() != "LOCK");
    assert_eq!(before, after, "the failed open changed the directory");
}

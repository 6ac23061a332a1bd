//! Damaged sstables: a flipped byte anywhere is reported as corruption naming the file,
//! never a panic and never wrong data.

mod common;

use common::*;
use std::path::Path;
use toykv::{Db, ErrorKind, Options};

const KEYS: usize = 1500;

fn options() -> Options {
    Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        ..Options::default()
    }
}

/// A closed database holding one sstable with `KEYS` keys (and an empty WAL).
fn build() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    for i in 0..KEYS {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    db.close().unwrap();
    let sst = files_with_suffix(dir.path(), ".sst").pop().unwrap();
    (dir, sst)
}

/// The regions of an sstable, from its footer (doc/FORMAT.md): data, filter, index, footer.
fn regions(sst: &Path) -> [(u64, u64); 4] {
    let bytes = std::fs::read(sst).unwrap();
    let footer = &bytes[bytes.len() - 48..];
    let field = |i: usize| u64::from_le_bytes(footer[i * 8..i * 8 + 8].try_into().unwrap());
    let (filter_offset, index_offset) = (field(0), field(2));
    let size = bytes.len() as u64;
    [
        (0, filter_offset),
        (filter_offset, index_offset),
        (index_offset, size - 48),
        (size - 48, size),
    ]
}

/// Opens a copy of `src` with byte `offset` of the sstable flipped and reads everything.
/// Returns how many corruption errors were seen; fails on a panic, a wrong value or an
/// error that does not name the file.
fn damage_and_read(src: &Path, sst_name: &str, offset: u64) -> usize {
    let image = tempfile::tempdir().unwrap();
    crash_image(src, image.path());
    flip_byte(&image.path().join(sst_name), offset);
    let check = |e: toykv::Error| {
        assert_eq!(e.kind(), ErrorKind::Corruption, "offset {offset}: {e}");
        assert!(e.to_string().contains(sst_name), "offset {offset}: {e}");
    };
    let db = match Db::open(image.path(), options()) {
        Ok(db) => db,
        Err(e) => {
            check(e);
            return 1;
        }
    };
    let mut errors = 0;
    for i in 0..KEYS {
        match db.get(&key(i)) {
            Ok(v) => assert_eq!(
                v,
                Some(value(i, 0)),
                "offset {offset}: wrong data for key {i}"
            ),
            Err(e) => {
                check(e);
                errors += 1;
            }
        }
    }
    let mut cursor = db.scan_bounds(None, None).unwrap();
    let mut i = 0;
    loop {
        match cursor.next_entry() {
            Ok(Some((k, v))) => {
                assert_eq!((k, v), (&key(i)[..], &value(i, 0)[..]), "offset {offset}");
                i += 1;
            }
            Ok(None) => {
                assert_eq!(
                    i, KEYS,
                    "offset {offset}: scan ended early without an error"
                );
                break;
            }
            Err(e) => {
                check(e);
                errors += 1;
                break;
            }
        }
    }
    errors
}

#[test]
fn a_flipped_byte_in_a_data_block_index_filter_or_footer_is_reported_naming_the_file() {
    let (dir, sst) = build();
    let name = sst.file_name().unwrap().to_string_lossy().to_string();
    for (region, (start, end)) in ["data block", "filter", "index", "footer"]
        .iter()
        .zip(regions(&sst))
    {
        assert!(end > start, "{region} is empty");
        for offset in [start, (start + end) / 2, end - 1] {
            let errors = damage_and_read(dir.path(), &name, offset);
            assert!(
                errors > 0,
                "flip in the {region} at {offset} went unnoticed"
            );
        }
    }
}

#[test]
fn flips_across_the_whole_file_never_panic_or_return_wrong_data() {
    let (dir, sst) = build();
    let name = sst.file_name().unwrap().to_string_lossy().to_string();
    let size = std::fs::metadata(&sst).unwrap().len();
    let step = (size / 150).max(1);
    let mut offset = 0;
    while offset < size {
        let errors = damage_and_read(dir.path(), &name, offset);
        assert!(errors > 0, "flip at {offset} of {size} went unnoticed");
        offset += step;
    }
}

#[test]
fn a_truncated_sstable_is_reported_naming_the_file() {
    let (dir, sst) = build();
    let name = sst.file_name().unwrap().to_string_lossy().to_string();
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let damaged = image.path().join(&name);
    let len = std::fs::metadata(&damaged).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&damaged)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains(&name), "{err}");
}

#[test]
fn a_missing_sstable_is_reported_naming_the_file() {
    let (dir, sst) = build();
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let name = sst.file_name().unwrap().to_string_lossy().to_string();
    std::fs::remove_file(image.path().join(&name)).unwrap();
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains(&name), "{err}");
}

#[test]
fn a_damaged_manifest_or_current_is_reported_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), options()).unwrap();
    // Each flush appends an edit, so the manifest holds several records.
    for round in 0..3 {
        db.put(&key(round), &value(round, 0)).unwrap();
        db.flush().unwrap();
    }
    db.close().unwrap();
    let manifest = files_with_suffix(dir.path(), "")
        .into_iter()
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("MANIFEST-")
        })
        .unwrap();
    let name = manifest.file_name().unwrap().to_string_lossy().to_string();

    // A bad record with valid records after it is corruption, not a torn tail.
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    flip_byte(&image.path().join(&name), 20);
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains(&name), "{err}");

    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    std::fs::write(image.path().join("CURRENT"), b"garbage").unwrap();
    let err = Db::open(image.path(), options()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption);
    assert!(err.to_string().contains("CURRENT"), "{err}");

    // The undamaged original still opens with every key.
    let db = Db::open(dir.path(), options()).unwrap();
    assert_eq!(scan_all(&db).len(), 3);
}

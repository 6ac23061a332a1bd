//! Recovery: what a reopen, or a crash image of the directory, gives back.

mod common;

use common::*;
use toykv::env::FaultFs;
use toykv::{Db, ErrorKind, Options, WriteBatch};

#[test]
fn wal_recovery_restores_300k_records() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    // A memtable this large never flushes: every record must come back from the WAL.
    let opts = Options {
        memtable_bytes: toykv::MAX_MEMTABLE_BYTES,
        ..Options::default()
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    const N: usize = 300_000;
    for i in 0..N {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync().unwrap();
    assert_eq!(db.property("toykv.num-files-at-level0").unwrap(), "0");
    crash_image(dir.path(), image.path());
    drop(db);

    let db = Db::open(image.path(), opts).unwrap();
    let mut count = 0;
    for (i, entry) in db.scan_bounds(None, None).unwrap().enumerate() {
        let (k, v) = entry.unwrap();
        assert_eq!(k, key(i));
        assert_eq!(v, value(i, 0));
        count += 1;
    }
    assert_eq!(count, N);
    assert_eq!(db.get(&key(N - 1)).unwrap(), Some(value(N - 1, 0)));
}

#[test]
fn torn_wal_tail_keeps_every_record_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..1000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync().unwrap();
    let wal = files_with_suffix(dir.path(), ".log").pop().unwrap();
    let full = std::fs::metadata(&wal).unwrap().len();
    for cut in [1u64, 5, 13, 20] {
        let image = tempfile::tempdir().unwrap();
        crash_image(dir.path(), image.path());
        let torn = image.path().join(wal.file_name().unwrap());
        let f = std::fs::OpenOptions::new().write(true).open(&torn).unwrap();
        f.set_len(full - cut).unwrap();
        drop(f);
        let db2 = Db::open(image.path(), Options::default()).unwrap();
        let all = scan_all(&db2);
        assert_eq!(all.len(), 999, "cut {cut}");
        assert_eq!(db2.get(&key(998)).unwrap(), Some(value(998, 0)));
        assert_eq!(db2.get(&key(999)).unwrap(), None);
    }
}

#[test]
fn flipped_byte_mid_wal_is_reported_as_corruption_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..1000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync().unwrap();
    crash_image(dir.path(), image.path());
    let wal = files_with_suffix(image.path(), ".log").pop().unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    flip_byte(&wal, len / 2);
    let err = Db::open(image.path(), Options::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    assert!(err.to_string().contains(&name), "{err}");
    // Nothing was thrown away: the WAL is still there, byte for byte.
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), len);
}

#[test]
fn reopen_restores_flushed_and_unflushed_writes() {
    let dir = tempfile::tempdir().unwrap();
    {
        let db = Db::open(dir.path(), small_options()).unwrap();
        for i in 0..20_000 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
        db.flush().unwrap();
        for i in (0..20_000).step_by(3) {
            db.delete(&key(i)).unwrap();
        }
        db.close().unwrap();
    }
    for _ in 0..2 {
        let db = Db::open(dir.path(), small_options()).unwrap();
        for i in 0..20_000 {
            let expect = (i % 3 != 0).then(|| value(i, 0));
            assert_eq!(db.get(&key(i)).unwrap(), expect, "key {i}");
        }
        // The data lives in sstables (and the WAL), not only in a replayed memtable.
        assert!(!db.property("toykv.sstables").unwrap().is_empty());
    }
}

#[test]
fn a_kill_after_sync_loses_nothing_across_memtable_switches() {
    // FaultFs takes an atomic image of every byte written (what kill -9 leaves), even while
    // the background thread is flushing and deleting WALs.
    let fs = std::sync::Arc::new(FaultFs::new());
    let opts = Options {
        fs: fs.clone(),
        ..small_options()
    };
    let db = Db::open("/db", opts).unwrap();
    for i in 0..30_000 {
        db.put(&key(i), &value(i, 1)).unwrap();
        if i % 5000 == 4999 {
            let image = fs.snapshot_copy();
            let opts = Options {
                fs: image,
                ..small_options()
            };
            let recovered = Db::open("/db", opts).unwrap();
            let all = scan_all(&recovered);
            assert_eq!(all.len(), i + 1);
            for (j, (k, v)) in all.into_iter().enumerate() {
                assert_eq!((k, v), (key(j), value(j, 1)));
            }
        }
    }
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    let err = Db::open(dir.path(), Options::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Locked);
    db.close().unwrap();
    // Closing releases the lock.
    Db::open(dir.path(), Options::default()).unwrap();
}

#[test]
fn create_if_missing_and_error_if_exists_are_honoured() {
    let parent = tempfile::tempdir().unwrap();
    let path = parent.path().join("db");
    let strict = Options {
        create_if_missing: false,
        ..Options::default()
    };
    let err = Db::open(&path, strict.clone()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    Db::open(&path, Options::default())
        .unwrap()
        .close()
        .unwrap();
    let exclusive = Options {
        error_if_exists: true,
        ..Options::default()
    };
    assert_eq!(
        Db::open(&path, exclusive).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    Db::open(&path, strict).unwrap();
}

#[test]
fn destroy_removes_a_closed_database_and_refuses_an_open_one() {
    let parent = tempfile::tempdir().unwrap();
    let path = parent.path().join("db");
    let db = Db::open(&path, small_options()).unwrap();
    for i in 0..5000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.flush().unwrap();
    assert_eq!(Db::destroy(&path).unwrap_err().kind(), ErrorKind::Locked);
    db.close().unwrap();
    Db::destroy(&path).unwrap();
    assert!(!path.exists());
    Db::destroy(&path).unwrap();
}

#[test]
fn sync_writes_option_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        sync_writes: true,
        ..Options::default()
    };
    {
        let db = Db::open(dir.path(), opts.clone()).unwrap();
        for i in 0..200 {
            db.put(&key(i), &value(i, 0)).unwrap();
        }
    }
    let db = Db::open(dir.path(), opts).unwrap();
    assert_eq!(scan_all(&db).len(), 200);
}

#[test]
fn a_flipped_byte_in_the_last_wal_record_is_corruption_not_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..10 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync().unwrap();
    crash_image(dir.path(), image.path());
    let wal = files_with_suffix(image.path(), ".log").pop().unwrap();
    let len = std::fs::metadata(&wal).unwrap().len();
    // The last record is complete: a flip in it is damage to an acknowledged write.
    flip_byte(&wal, len - 3);
    let err = Db::open(image.path(), Options::default()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Corruption, "{err}");
}

#[test]
fn the_manifest_is_rolled_over_instead_of_growing_without_bound() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options {
        max_manifest_bytes: 2048,
        ..small_options()
    };
    let db = Db::open(dir.path(), opts.clone()).unwrap();
    for round in 0..200 {
        for i in 0..10 {
            db.put(&key(round * 10 + i), &value(i, round)).unwrap();
        }
        db.flush().unwrap();
    }
    let manifests: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with("MANIFEST-"))
        .collect();
    assert_eq!(manifests.len(), 1, "old manifests are removed");
    let size = manifests[0].metadata().unwrap().len();
    assert!(size < 2048 + 4096, "manifest of {size} bytes");
    drop(db);
    let db = Db::open(dir.path(), opts).unwrap();
    for round in 0..200 {
        for i in 0..10 {
            assert_eq!(db.get(&key(round * 10 + i)).unwrap(), Some(value(i, round)));
        }
    }
}

// Regression (issue 16): replay inserted a whole WAL record into one memtable before
// checking its size, so a batch far larger than the memtable needed its full size in memory
// at open. It is now written out in memtable-sized sstables.
#[test]
fn a_batch_larger_than_the_memtable_replays_in_memtable_sized_pieces() {
    let fs = std::sync::Arc::new(FaultFs::new());
    let opts = || Options {
        fs: fs.clone(),
        ..small_options()
    };
    let db = Db::open("/db", opts()).unwrap();
    let mut batch = WriteBatch::new();
    for i in 0..10_000 {
        batch.put(&key(i), &value(i, 7)).unwrap();
    }
    db.write(&batch).unwrap();
    db.sync().unwrap();
    // The state kill -9 leaves: the batch only in the WAL.
    let image = fs.snapshot_copy();
    drop(db);
    // No background compaction, which could merge the replayed files before they are
    // counted.
    let recovered = Db::open(
        "/db",
        Options {
            fs: image,
            ..manual_compaction_options()
        },
    )
    .unwrap();
    let tables = recovered.property("toykv.sstables").unwrap();
    assert!(tables.lines().count() >= 10, "replayed into:\n{tables}");
    let all = scan_all(&recovered);
    assert_eq!(all.len(), 10_000);
    for (i, (k, v)) in all.into_iter().enumerate() {
        assert_eq!((k, v), (key(i), value(i, 7)));
    }
}

// Issue 16 (found by the corruption harness): after a clean close every WAL byte was
// fsynced, so zeros in the last partial page of a WAL are damage, not a torn tail; before
// the clean close recorded the WALs' lengths, open took them for one and read older values.
#[test]
fn a_zeroed_page_in_a_wal_after_a_clean_close_is_corruption_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..1000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.close().unwrap();
    let wal = files_with_suffix(dir.path(), ".log").pop().unwrap();
    let name = wal.file_name().unwrap().to_string_lossy().to_string();
    let len = std::fs::metadata(&wal).unwrap().len() as usize;
    assert!(len > 3 * 4096, "the WAL holds {len} bytes");
    for page_start in [0, 4096, len / 4096 * 4096] {
        let image = tempfile::tempdir().unwrap();
        crash_image(dir.path(), image.path());
        let damaged = image.path().join(&name);
        let mut bytes = std::fs::read(&damaged).unwrap();
        bytes[page_start..(page_start + 4096).min(len)].fill(0);
        std::fs::write(&damaged, &bytes).unwrap();
        let err = Db::open(image.path(), Options::default()).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::Corruption,
            "page at {page_start}: {err}"
        );
        assert!(err.to_string().contains(&name), "{err}");
    }
}

// Issue 16: after a crash nothing says which WAL bytes were fsynced, and a power cut can
// lose a page while keeping later ones: recovery keeps the prefix before the lost page.
#[test]
fn a_lost_page_in_a_wal_after_a_crash_ends_recovery_there() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path(), Options::default()).unwrap();
    for i in 0..1000 {
        db.put(&key(i), &value(i, 0)).unwrap();
    }
    db.sync().unwrap();
    let image = tempfile::tempdir().unwrap();
    crash_image(dir.path(), image.path());
    let wal = files_with_suffix(image.path(), ".log").pop().unwrap();
    let mut bytes = std::fs::read(&wal).unwrap();
    bytes[2 * 4096..3 * 4096].fill(0);
    std::fs::write(&wal, &bytes).unwrap();
    let recovered = Db::open(image.path(), Options::default()).unwrap();
    let all = scan_all(&recovered);
    assert!(!all.is_empty() && all.len() < 1000, "{} keys", all.len());
    for (i, (k, v)) in all.iter().enumerate() {
        assert_eq!((k, v), (&key(i), &value(i, 0)), "not a prefix");
    }
    let stats = recovered.property("toykv.stats").unwrap();
    assert!(stats.contains("stopped at"), "{stats}");
}

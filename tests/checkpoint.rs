//! Online checkpoints (issue 15): a complete database in a new directory, taken while the
//! source serves reads and writes.
//!
//! What is promised: the checkpoint opens on its own and holds every write acknowledged
//! before the call, as of one moment (never part of a batch); sstables are hard-linked on the
//! same file system and copied across file systems; it survives a power cut the moment the
//! call returns; source and checkpoint share nothing afterwards; a failure at any step
//! leaves no directory behind and the source as it was. The races with a compaction that
//! replaces the checkpoint's files are forced in `src/db/checkpoint.rs`'s unit tests.

mod common;

use common::{dir_bytes, files_with_suffix, key, manual_compaction_options, scan_all, value};
use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use toykv::env::{FaultFs, FaultKind, FaultOp};
use toykv::{CheckpointOptions, Db, ErrorKind, Options, WriteBatch};

/// Keys each concurrent batch writes besides its bookkeeping.
const KEYS_PER_BATCH: usize = 5;
const WRITERS: usize = 4;

fn batch_key(writer: usize, batch: u64, j: usize) -> Vec<u8> {
    format!("w{writer}/b{batch:06}/{j}").into_bytes()
}

fn batch_value(writer: usize, batch: u64, j: usize) -> Vec<u8> {
    format!(
        "value of writer {writer} batch {batch} key {j} {}",
        "v".repeat(j * 7)
    )
    .into_bytes()
}

fn pending_key(writer: usize, batch: u64) -> Vec<u8> {
    format!("w{writer}/pending{batch:06}").into_bytes()
}

/// Batch `i` of `writer`: `KEYS_PER_BATCH` new keys, a `pending` marker for itself, and the
/// deletion of the previous batch's marker (so tombstones cross memtables and sstables).
fn writer_batch(writer: usize, i: u64) -> WriteBatch {
    let mut batch = WriteBatch::new();
    for j in 0..KEYS_PER_BATCH {
        batch
            .put(&batch_key(writer, i, j), &batch_value(writer, i, j))
            .unwrap();
    }
    batch.put(&pending_key(writer, i), b"").unwrap();
    if i > 0 {
        batch.delete(&pending_key(writer, i - 1)).unwrap();
    }
    batch
}

/// The live entries after `writer`'s first `count` batches, in key order.
fn writer_state(writer: usize, count: u64) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut state: BTreeMap<Vec<u8>, Vec<u8>> = (0..count)
        .flat_map(|i| (0..KEYS_PER_BATCH).map(move |j| (i, j)))
        .map(|(i, j)| (batch_key(writer, i, j), batch_value(writer, i, j)))
        .collect();
    if count > 0 {
        state.insert(pending_key(writer, count - 1), Vec::new());
    }
    state.into_iter().collect()
}

/// How many of `writer`'s batches the database holds, checking that they are exactly its
/// first ones, each whole.
fn batches_held(db: &Db, writer: usize) -> u64 {
    let prefix = format!("w{writer}/");
    let mut end = prefix.clone().into_bytes();
    *end.last_mut().unwrap() += 1;
    let held: Vec<(Vec<u8>, Vec<u8>)> = db
        .scan_bounds(Some(prefix.as_bytes()), Some(&end))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    // Each batch leaves its keys; only the last one's `pending` marker is live.
    let count = (held.len().saturating_sub(1) / KEYS_PER_BATCH) as u64;
    let expected = writer_state(writer, count);
    if held != expected {
        let show = |entries: &[(Vec<u8>, Vec<u8>)]| -> Vec<String> {
            entries
                .iter()
                .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
                .collect()
        };
        let (held_keys, expected_keys) = (show(&held), show(&expected));
        let extra: Vec<_> = held_keys
            .iter()
            .filter(|k| !expected_keys.contains(k))
            .collect();
        let missing: Vec<_> = expected_keys
            .iter()
            .filter(|k| !held_keys.contains(k))
            .collect();
        panic!(
            "writer {writer}: not its first {count} batches, whole: extra {extra:?}, \
             missing {missing:?}"
        );
    }
    count
}

/// One checkpoint taken during the concurrent test, with the writers' acknowledged batch
/// counts just before the call and just after it returned.
struct Taken {
    dir: PathBuf,
    acked_before: Vec<u64>,
    acked_after: Vec<u64>,
}

#[test]
fn a_checkpoint_taken_while_four_threads_write_batches_holds_every_acknowledged_batch_whole() {
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("src");
    // Small memtables: the writes spread over the memtables, L0 and compacted levels, and
    // flushes and compactions run while the checkpoints are taken.
    let db = Arc::new(Db::open(&src, common::small_options()).unwrap());
    let acked: Arc<Vec<AtomicU64>> = Arc::new((0..WRITERS).map(|_| AtomicU64::new(0)).collect());
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (db, acked, stop) = (Arc::clone(&db), Arc::clone(&acked), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    db.write(&writer_batch(w, i)).unwrap();
                    i += 1;
                    // The writer's log: batch i returned OK.
                    acked[w].store(i, Ordering::SeqCst);
                }
            })
        })
        .collect();
    let counts = |acked: &[AtomicU64]| -> Vec<u64> {
        acked.iter().map(|a| a.load(Ordering::SeqCst)).collect()
    };

    let mut taken = Vec::new();
    for n in 0..6 {
        // Let the writers get ahead (by the batches they log, not by time).
        let target: u64 = counts(&acked).iter().sum::<u64>() + 1500;
        while counts(&acked).iter().sum::<u64>() < target {
            std::thread::yield_now();
        }
        let dir = root.path().join(format!("cp{n}"));
        let acked_before = counts(&acked);
        let stats = db.checkpoint(&dir).unwrap();
        let acked_after = counts(&acked);
        assert!(stats.linked_files > 0, "checkpoint {n}: {stats:?}");
        assert_eq!(stats.copied_files, 0, "checkpoint {n}: {stats:?}");
        taken.push(Taken {
            dir,
            acked_before,
            acked_after,
        });
    }
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.join().unwrap();
    }
    let final_counts = counts(&acked);
    db.close().unwrap();

    for (n, t) in taken.iter().enumerate() {
        let cp = Db::open(&t.dir, common::small_options()).unwrap();
        for w in 0..WRITERS {
            let held = batches_held(&cp, w);
            // Every batch acknowledged before the call; at most one more than had been
            // logged when it returned (the batch whose ack was on its way).
            assert!(
                t.acked_before[w] <= held && held <= t.acked_after[w] + 1,
                "checkpoint {n}, writer {w}: holds {held} batches, {} acknowledged before \
                 the call, {} when it returned",
                t.acked_before[w],
                t.acked_after[w]
            );
        }
        cp.close().unwrap();
    }
    // The source, reopened, holds every batch.
    let db = Db::open(&src, common::small_options()).unwrap();
    for (w, &count) in final_counts.iter().enumerate() {
        assert_eq!(batches_held(&db, w), count, "source, writer {w}");
    }
}

/// Inode numbers of the `.sst` files in `dir`, by name.
fn sstable_inodes(dir: &Path) -> BTreeMap<String, u64> {
    files_with_suffix(dir, ".sst")
        .into_iter()
        .map(|p| {
            let ino = std::fs::metadata(&p).unwrap().ino();
            (p.file_name().unwrap().to_string_lossy().into_owned(), ino)
        })
        .collect()
}

/// No background compaction, and memtables that flush only when the test says so: the
/// sstables in the directory are exactly those of the version a checkpoint sees.
fn quiet_options() -> Options {
    Options {
        memtable_bytes: 4 << 20,
        ..manual_compaction_options()
    }
}

/// A database with `rounds` flushed rounds over keys `0..n`, then a round in the memtable
/// that overwrites the even keys and deletes every third.
fn populate(db: &Db, n: usize, rounds: usize) {
    for round in 0..rounds {
        for i in 0..n {
            db.put(&key(i), &value(i, round)).unwrap();
        }
        db.flush().unwrap();
    }
    for i in (0..n).step_by(2) {
        db.put(&key(i), &value(i, rounds)).unwrap();
    }
    for i in (0..n).step_by(3) {
        db.delete(&key(i)).unwrap();
    }
}

/// Live entries, in key order.
type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A database in `root/src` made by `populate`, and its live entries.
fn populated(root: &Path, n: usize, rounds: usize) -> (PathBuf, Db, Entries) {
    let src = root.join("src");
    let db = Db::open(&src, quiet_options()).unwrap();
    populate(&db, n, rounds);
    let expected = scan_all(&db);
    (src, db, expected)
}

#[test]
fn source_and_checkpoint_diverge_and_source_compaction_removes_nothing_the_checkpoint_needs() {
    let root = tempfile::tempdir().unwrap();
    let (src, db, expected) = populated(root.path(), 2000, 3);
    let cp = root.path().join("cp");

    let stats = db.checkpoint(&cp).unwrap();
    // Same file system: every sstable is linked (one inode, two names), nothing copied.
    let (src_inodes, cp_inodes) = (sstable_inodes(&src), sstable_inodes(&cp));
    assert_eq!(stats.linked_files, src_inodes.len(), "{stats:?}");
    assert_eq!(stats.copied_files, 0);
    for (name, ino) in &src_inodes {
        assert_eq!(cp_inodes.get(name), Some(ino), "{name} is not linked");
    }
    // Only the memtable's sstable, the manifest and CURRENT were written, and the WAL is
    // empty: all of the checkpoint's bytes but the linked ones.
    assert_eq!(cp_inodes.len(), src_inodes.len() + 1);
    assert_eq!(
        stats.bytes_written,
        dir_bytes(&cp) - stats.linked_bytes,
        "{stats:?}"
    );
    assert!(files_with_suffix(&cp, ".log")
        .iter()
        .all(|wal| std::fs::metadata(wal).unwrap().len() == 0));

    // They diverge: writes to one never show in the other.
    db.put(b"only in the source", b"s").unwrap();
    db.delete(&key(1)).unwrap();
    let checkpoint = Db::open(&cp, quiet_options()).unwrap();
    assert_eq!(scan_all(&checkpoint), expected);
    checkpoint.put(b"only in the checkpoint", b"c").unwrap();
    checkpoint.flush().unwrap();
    assert_eq!(db.get(b"only in the checkpoint").unwrap(), None);
    assert_eq!(checkpoint.get(b"only in the source").unwrap(), None);
    assert_eq!(checkpoint.get(&key(1)).unwrap(), Some(value(1, 2)));
    checkpoint.close().unwrap();

    // The source compacts everything away and closes: its old sstables are gone from its
    // directory, and the checkpoint still has all of them.
    db.compact().unwrap();
    assert!(sstable_inodes(&src)
        .keys()
        .all(|name| !src_inodes.contains_key(name)));
    db.close().unwrap();
    let checkpoint = Db::open(&cp, quiet_options()).unwrap();
    let mut with_own_write = expected.clone();
    with_own_write.push((b"only in the checkpoint".to_vec(), b"c".to_vec()));
    with_own_write.sort();
    assert_eq!(scan_all(&checkpoint), with_own_write);
    // And it compacts on its own, leaving the source alone.
    checkpoint.compact().unwrap();
    assert_eq!(scan_all(&checkpoint), with_own_write);
    checkpoint.close().unwrap();
    let db = Db::open(&src, quiet_options()).unwrap();
    assert_eq!(db.get(b"only in the source").unwrap(), Some(b"s".to_vec()));
    assert_eq!(db.get(&key(1)).unwrap(), None);
}

#[test]
fn a_forced_copy_shares_no_inode_and_writes_every_byte() {
    let root = tempfile::tempdir().unwrap();
    let (src, db, expected) = populated(root.path(), 1000, 2);
    let cp = root.path().join("cp");
    let copy = CheckpointOptions {
        copy_sstables: true,
    };
    let stats = db.checkpoint_with(&cp, &copy).unwrap();
    let (src_inodes, cp_inodes) = (sstable_inodes(&src), sstable_inodes(&cp));
    assert_eq!(stats.copied_files, src_inodes.len(), "{stats:?}");
    assert_eq!(stats.linked_files, 0);
    for (name, ino) in &src_inodes {
        assert_ne!(
            cp_inodes.get(name),
            Some(ino),
            "{name} is linked, not copied"
        );
        assert_eq!(
            std::fs::read(src.join(name)).unwrap(),
            std::fs::read(cp.join(name)).unwrap()
        );
    }
    assert_eq!(stats.bytes_written, dir_bytes(&cp), "{stats:?}");
    db.close().unwrap();
    let checkpoint = Db::open(&cp, quiet_options()).unwrap();
    assert_eq!(scan_all(&checkpoint), expected);
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs {
    mount_point: tempfile::TempDir,
}

impl Tmpfs {
    /// `None` (with a message) where this process cannot mount one: not root, or no
    /// permission in this container.
    fn mount() -> Option<Tmpfs> {
        let mount_point = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(mount_point.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        mounted.then_some(Tmpfs { mount_point })
    }

    fn path(&self) -> &Path {
        self.mount_point.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.mount_point.path())
            .status();
    }
}

#[test]
fn a_checkpoint_on_another_file_system_copies_the_sstables() {
    let Some(tmpfs) = Tmpfs::mount() else {
        eprintln!(
            "SKIPPED a_checkpoint_on_another_file_system_copies_the_sstables: cannot mount a \
             tmpfs here (needs root); the copy path is tested by forced copies and by a \
             link refused with EXDEV in FaultFs"
        );
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let (src, db, expected) = populated(root.path(), 1000, 2);
    let cp = tmpfs.path().join("backups").join("cp");
    let stats = db.checkpoint(&cp).unwrap();
    let sstables = files_with_suffix(&src, ".sst").len();
    assert_eq!(stats.linked_files, 0, "{stats:?}");
    assert_eq!(stats.copied_files, sstables, "{stats:?}");
    assert_eq!(stats.bytes_written, dir_bytes(&cp), "{stats:?}");
    db.close().unwrap();
    let checkpoint = Db::open(&cp, quiet_options()).unwrap();
    assert_eq!(scan_all(&checkpoint), expected);
    checkpoint.close().unwrap();
}

#[test]
fn an_existing_directory_is_an_invalid_argument_and_is_left_alone() {
    let root = tempfile::tempdir().unwrap();
    let src = root.path().join("src");
    let db = Db::open(&src, Options::default()).unwrap();
    db.put(b"k", b"v").unwrap();
    let occupied = root.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("mine"), b"keep").unwrap();
    for existing in [
        occupied.as_path(),
        &src,
        root.path(),
        &occupied.join("mine"),
    ] {
        let err = db.checkpoint(existing).unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidArgument,
            "{existing:?}: {err}"
        );
        assert!(err.to_string().contains("exists"), "{err}");
    }
    assert_eq!(
        common::dir_contents(&occupied),
        BTreeMap::from([("mine".to_string(), b"keep".to_vec())])
    );
    // A database closed is refused too.
    db.close().unwrap();
    let err = db.checkpoint(root.path().join("after close")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Closed);
    assert!(!root.path().join("after close").exists());
}

#[test]
fn a_read_only_database_and_an_empty_one_checkpoint_too() {
    let root = tempfile::tempdir().unwrap();
    let (src, empty) = (root.path().join("src"), root.path().join("empty"));
    let db = Db::open(&src, quiet_options()).unwrap();
    // An empty database gives an empty checkpoint that takes writes of its own.
    db.checkpoint(&empty).unwrap();
    populate(&db, 500, 1);
    let expected = scan_all(&db);
    db.close().unwrap();
    let checkpoint = Db::open(&empty, Options::default()).unwrap();
    assert!(scan_all(&checkpoint).is_empty());
    checkpoint.put(b"k", b"v").unwrap();
    checkpoint.close().unwrap();
    let checkpoint = Db::open(&empty, Options::default()).unwrap();
    assert_eq!(scan_all(&checkpoint), vec![(b"k".to_vec(), b"v".to_vec())]);

    // Read-only: the WAL replayed into memory goes into the checkpoint's own sstable, and
    // the source's files stay exactly as they were.
    let before = common::dir_contents(&src);
    let read_only = Db::open(
        &src,
        Options {
            read_only: true,
            ..Options::default()
        },
    )
    .unwrap();
    let cp = root.path().join("from-read-only");
    read_only.checkpoint(&cp).unwrap();
    read_only.close().unwrap();
    assert_eq!(common::dir_contents(&src), before);
    // A checkpoint of a checkpoint, still the same data.
    let checkpoint = Db::open(&cp, Options::default()).unwrap();
    assert_eq!(scan_all(&checkpoint), expected);
    let again = root.path().join("again");
    checkpoint.checkpoint(&again).unwrap();
    checkpoint.close().unwrap();
    assert_eq!(
        scan_all(&Db::open(&again, Options::default()).unwrap()),
        expected
    );
}

// ---- FaultFs: every step failing, and power cuts -----------------------------------------

const SRC: &str = "/db";

fn fault_options(fs: &Arc<FaultFs>) -> Options {
    Options {
        fs: fs.clone(),
        ..quiet_options()
    }
}

/// A database on `fs` with sstables at two levels and writes only in its memtable. No
/// background work is due afterwards, so only a checkpoint touches the file system.
fn fault_source(fs: &Arc<FaultFs>) -> Db {
    let db = Db::open(Path::new(SRC), fault_options(fs)).unwrap();
    populate(&db, 300, 2);
    db.compact().unwrap();
    populate(&db, 300, 1);
    db
}

/// Removes `dir` and everything below it from `fs`.
fn remove_tree(fs: &FaultFs, dir: &Path) {
    for name in fs.file_names(dir) {
        let _ = toykv::env::FileSystem::remove(fs, &dir.join(&name));
    }
    for sub in toykv::env::FileSystem::list(fs, dir).unwrap_or_default() {
        remove_tree(fs, &dir.join(sub));
    }
    let _ = toykv::env::FileSystem::remove_dir(fs, dir);
}

/// For every I/O step of a checkpoint (into `/backups/daily/cp`, whose parents it must
/// create too), a run with that step failing: the error is I/O, nothing of the checkpoint
/// is left (not even `/backups`), and the source is unharmed. Returns the number of steps.
fn fail_at_every_step(opts: &CheckpointOptions) -> u64 {
    let fs = Arc::new(FaultFs::new());
    let db = fault_source(&fs);
    let expected = scan_all(&db);
    let source_files = fs.file_names(SRC);

    // A clean run into a path of the same shape counts the steps.
    let before = fs.op_count(FaultOp::Any);
    let stats = db.checkpoint_with("/counting/daily/cp", opts).unwrap();
    let steps = fs.op_count(FaultOp::Any) - before;
    assert!(stats.linked_files + stats.copied_files >= 2, "{stats:?}");
    remove_tree(&fs, Path::new("/counting"));

    let target = Path::new("/backups/daily/cp");
    for step in 1..=steps {
        for kind in [FaultKind::Eio, FaultKind::Enospc] {
            fs.inject(FaultOp::Any, step, kind);
            let result = db.checkpoint_with(target, opts);
            fs.clear_faults();
            let err = match result {
                Ok(stats) => {
                    panic!("step {step} of {steps} failing: the checkpoint succeeded: {stats:?}")
                }
                Err(err) => err,
            };
            assert_eq!(err.kind(), ErrorKind::Io, "step {step}: {err}");
            assert!(
                !toykv::env::FileSystem::exists(&*fs, Path::new("/backups")),
                "step {step} ({err}): left {:?}",
                fs.file_names(target)
            );
            assert_eq!(fs.file_names(SRC), source_files, "step {step}");
        }
    }
    // The source still reads and writes, and a checkpoint now succeeds.
    assert_eq!(scan_all(&db), expected);
    db.put(b"after the failures", b"x").unwrap();
    db.checkpoint_with(target, opts).unwrap();
    db.close().unwrap();
    let checkpoint = Db::open(target, fault_options(&fs)).unwrap();
    let mut with_write = expected;
    with_write.push((b"after the failures".to_vec(), b"x".to_vec()));
    with_write.sort();
    assert_eq!(scan_all(&checkpoint), with_write);
    steps
}

#[test]
fn a_failure_at_any_step_of_a_linking_checkpoint_leaves_nothing_behind() {
    let steps = fail_at_every_step(&CheckpointOptions::default());
    assert!(steps >= 15, "only {steps} steps");
}

#[test]
fn a_failure_at_any_step_of_a_copying_checkpoint_leaves_nothing_behind() {
    let steps = fail_at_every_step(&CheckpointOptions {
        copy_sstables: true,
    });
    assert!(steps >= 25, "only {steps} steps");
}

#[test]
fn a_link_refused_across_devices_falls_back_to_copying() {
    let fs = Arc::new(FaultFs::new());
    let db = fault_source(&fs);
    let expected = scan_all(&db);
    fs.inject_sticky(FaultOp::Link, 1, FaultKind::CrossDevice);
    let stats = db.checkpoint("/other-device/cp").unwrap();
    // One link was tried; the rest were copied without trying.
    assert_eq!(fs.op_count(FaultOp::Link), 1);
    assert_eq!(stats.linked_files, 0, "{stats:?}");
    assert_eq!(
        stats.copied_files,
        fs.file_names(SRC)
            .iter()
            .filter(|n| n.ends_with(".sst"))
            .count()
    );
    fs.clear_faults();
    db.close().unwrap();
    let checkpoint = Db::open(Path::new("/other-device/cp"), fault_options(&fs)).unwrap();
    assert_eq!(scan_all(&checkpoint), expected);
}

#[test]
fn a_power_cut_right_after_a_checkpoint_returns_keeps_all_of_it() {
    for (n, opts) in [
        CheckpointOptions::default(),
        CheckpointOptions {
            copy_sstables: true,
        },
    ]
    .iter()
    .enumerate()
    {
        let fs = Arc::new(FaultFs::new());
        let db = fault_source(&fs);
        let expected = scan_all(&db);
        // A relative path too: its parent is the working directory.
        for cp in ["/cp", "relative/cp"] {
            db.checkpoint_with(cp, opts).unwrap();
            // The source never synced its WAL: the checkpoint alone holds those writes durably.
            let images =
                std::iter::once(fs.crash_copy()).chain((0..10).map(|seed| fs.power_cut_copy(seed)));
            for (i, image) in images.enumerate() {
                let checkpoint = Db::open(Path::new(cp), fault_options(&image))
                    .unwrap_or_else(|e| panic!("options {n}, {cp}, image {i}: {e}"));
                assert_eq!(
                    scan_all(&checkpoint),
                    expected,
                    "options {n}, {cp}, image {i}"
                );
            }
        }
    }
}

//! Compaction: rewriting sstables to drop what no reader can see and to keep reads cheap.
//!
//! Split in two: the policy ([`policy::pick`], pure) names input files and an output level;
//! [`execute`] merges the inputs, drops shadowed versions and tombstones no snapshot can see,
//! writes the output files and installs the result with one manifest edit (the manifest logs
//! file changes, never tasks). The background compaction thread runs [`run_background`] in a
//! loop; `toykv_compact` runs [`compact_all`] on the caller's thread.
//!
//! Whoever executes holds `DbInner::compaction`, so one compaction runs at a time; flushes go
//! on meanwhile and only ever add newer L0 files, which no task's inputs include.

pub(crate) mod policy;

use crate::db::DbInner;
use crate::filename::table_path;
use crate::iterators::merge::MergeIterator;
use crate::iterators::InternalIterator;
use crate::sstable::TableBuilder;
use crate::types::{SeqNum, ValueKind};
use crate::version::{inconsistent, TableFile, VersionEdit};
use crate::{Error, Result};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Files to merge and where the result goes.
pub(crate) struct Task {
    pub inputs: Vec<(usize, Arc<TableFile>)>,
    pub output_level: usize,
    /// No data older than the inputs exists below the output level, so tombstones that no
    /// snapshot needs can be dropped.
    pub bottommost: bool,
    /// One input file with nothing to merge with: move it down instead of rewriting it.
    pub trivial_move: bool,
}

/// What a round of background compaction did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Ran,
    /// No level needed compaction.
    Idle,
    /// The task picked needs a file an earlier compaction found corrupt.
    Blocked,
}

/// One round of background compaction: picks a task (if any level needs one) and runs it.
pub(crate) fn run_background(db: &DbInner) -> Result<Outcome> {
    let _one_at_a_time = db.compaction.lock();
    db.check_open()?;
    let version = db.current().version.clone();
    let task = {
        let mut pointers = db.compact_pointers.lock();
        let Some(task) = policy::pick(&version, &db.opts, &pointers) else {
            return Ok(Outcome::Idle);
        };
        // The next compaction of this level starts after this file.
        if let Some((level, first)) = task.inputs.first() {
            if let Some(pointer) = pointers.get_mut(*level) {
                pointer.clone_from(&first.meta.largest);
            }
        }
        task
    };
    // A corrupt file stays where it is: compacting around it in L0 would move newer data
    // below it, and reading it again would only fail again.
    if task.inputs.iter().any(|(_, f)| f.is_corrupt()) {
        return Ok(Outcome::Blocked);
    }
    execute(db, task)?;
    db.stats.compactions.fetch_add(1, Ordering::Relaxed);
    Ok(Outcome::Ran)
}

/// Flushes the memtables, then merges every sstable into one sorted run at the last level
/// (where the dynamic level sizing wants the bulk of the data).
pub(crate) fn compact_all(db: &DbInner) -> Result<()> {
    db.flush_and_wait()?;
    let _one_at_a_time = db.compaction.lock();
    // `close` takes the compaction lock before it gives up the directory.
    db.check_open()?;
    let version = db.current().version.clone();
    let inputs: Vec<(usize, Arc<TableFile>)> = version
        .all_files()
        .map(|(level, file)| (level, Arc::clone(file)))
        .collect();
    if inputs.is_empty() {
        return Ok(());
    }
    execute(
        db,
        Task {
            inputs,
            output_level: policy::LAST_LEVEL,
            bottommost: true,
            trivial_move: false,
        },
    )
}

/// Runs `task`: merge, filter, write, then install with one durable manifest edit.
///
/// # Errors
/// I/O and corruption errors from reading inputs or writing outputs (partial outputs are
/// removed and nothing changes); a failed manifest write also makes the database refuse
/// writes until reopened.
pub(crate) fn execute(db: &DbInner, task: Task) -> Result<()> {
    let outputs: Vec<Arc<TableFile>> = if task.trivial_move {
        task.inputs.iter().map(|(_, f)| Arc::clone(f)).collect()
    } else {
        write_outputs(db, &task).inspect_err(|e| note_corrupt_input(db, &task, e))?
    };
    #[cfg(test)]
    db.test_hooks
        .pause(crate::db::tests::PausePoint::BeforeCompactionInstall);

    let mut versions = db.versions.lock();
    // A database closing meanwhile gets no new edit: the outputs, which nothing names, go.
    if let Err(closed) = db.check_open() {
        if !task.trivial_move {
            for file in &outputs {
                file.mark_obsolete();
            }
        }
        return Err(closed);
    }
    let edit = VersionEdit {
        next_file_number: Some(db.next_file_number()),
        removed: task
            .inputs
            .iter()
            .map(|(level, f)| (*level, f.meta.number))
            .collect(),
        added: outputs
            .iter()
            .map(|f| (task.output_level, f.meta.clone()))
            .collect(),
        ..VersionEdit::default()
    };
    db.log_edit(&mut versions, &edit)?;
    let added = outputs
        .into_iter()
        .map(|f| (task.output_level, f))
        .collect();
    let manifest_path = versions.manifest()?.path().to_path_buf();
    db.replace_version(|version| {
        version
            .apply(&edit.removed, added)
            .map_err(|reason| inconsistent(&manifest_path, reason))
    })?;
    db.maybe_roll_manifest(&mut versions)?;
    drop(versions);
    if task.trivial_move {
        let bytes: u64 = task.inputs.iter().map(|(_, f)| f.meta.size).sum();
        db.stats
            .files_moved
            .fetch_add(task.inputs.len() as u64, Ordering::Relaxed);
        db.stats.bytes_moved.fetch_add(bytes, Ordering::Relaxed);
    }
    // The edit is durable: each input is deleted once no reader holds it (a moved file
    // lives on at its new level).
    if !task.trivial_move {
        for (_, file) in &task.inputs {
            file.mark_obsolete();
        }
    }
    Ok(())
}

/// When `error` is corruption in one of the task's inputs, marks that file so that no
/// compaction reads it again, and names it in `toykv.stats`. Reads of it go on reporting the
/// corruption; the write path goes on (see doc/RELIABILITY.md).
fn note_corrupt_input(db: &DbInner, task: &Task, error: &Error) {
    let Error::Corruption { path, .. } = error else {
        return;
    };
    for (_, file) in &task.inputs {
        if table_path(&db.dir, file.meta.number) == *path && !file.is_corrupt() {
            file.mark_corrupt();
            db.bg_errors.lock().corrupt_files.push(file.meta.number);
        }
    }
}

/// Merges the inputs into new sstables, each fsynced, then fsyncs the directory once so
/// that their names are durable before the manifest edit names them; on error removes
/// whatever it wrote.
fn write_outputs(db: &DbInner, task: &Task) -> Result<Vec<Arc<TableFile>>> {
    let mut writer = OutputWriter {
        db,
        level: task.output_level,
        outputs: Vec::new(),
        written: Vec::new(),
        current: None,
    };
    let result = merge_into(db, task, &mut writer)
        .and_then(|()| writer.finish_current())
        .and_then(|()| db.fs.sync_dir(&db.dir));
    match result {
        Ok(()) => Ok(writer.outputs),
        Err(e) => {
            writer.abandon();
            Err(e)
        }
    }
}

fn merge_into(db: &DbInner, task: &Task, writer: &mut OutputWriter<'_>) -> Result<()> {
    // Inputs are ordered newest source first (L0 newest first, then deeper levels).
    let children = task
        .inputs
        .iter()
        .map(|(_, f)| Ok(f.table()?.iter()))
        .collect::<Result<Vec<_>>>()?;
    let mut merged = MergeIterator::new(children);
    merged.seek_to_first()?;
    let oldest_snapshot = db.oldest_snapshot();
    let mut current_key: Option<Vec<u8>> = None;
    // Sequence number of the previous (newer) version of the current key, if any.
    let mut newer_seq: Option<SeqNum> = None;
    let mut steps: u32 = 0;
    while merged.valid() {
        // Closing the database abandons a long compaction rather than waiting for it.
        steps = steps.wrapping_add(1);
        if steps % 4096 == 0 {
            db.check_open()?;
        }
        let (key, seq, kind) = (merged.key(), merged.seq(), merged.kind());
        let new_key = current_key.as_deref() != Some(key);
        if new_key {
            current_key = Some(key.to_vec());
            newer_seq = None;
        }
        // A newer version every snapshot can see hides this one from everybody.
        let shadowed = newer_seq.is_some_and(|newer| newer <= oldest_snapshot);
        // A tombstone every snapshot can see, with nothing below it, hides nothing.
        let dead_tombstone = kind == ValueKind::Delete && seq <= oldest_snapshot && task.bottommost;
        newer_seq = Some(seq);
        if !shadowed && !dead_tombstone {
            writer.add(
                new_key,
                key,
                output_seq(task, seq, oldest_snapshot),
                kind,
                merged.value(),
            )?;
        }
        merged.next()?;
    }
    Ok(())
}

/// The sequence number a kept version is written with: 0 for the version every snapshot
/// reads at the bottom of the tree, so that it encodes in one byte; its own otherwise.
///
/// Zeroing is safe there because, of each user key, it is the oldest version left anywhere:
/// - every older version in the inputs is shadowed by it (it is at or below the oldest
///   snapshot) and dropped above; nothing deeper overlaps the inputs (`bottommost`);
/// - every version outside the inputs is in a higher level, L0 or a memtable, so newer,
///   with a real (larger) sequence number, and it still sorts and wins before this one;
/// - every snapshot, open now or later, is at or above the oldest snapshot, so it read this
///   version as the newest at or below it before and still does; versions newer than the
///   oldest snapshot keep their numbers, which stay above 0.
///
/// Tombstones are never zeroed: at the bottom, one every snapshot sees is dropped instead.
fn output_seq(task: &Task, seq: SeqNum, oldest_snapshot: SeqNum) -> SeqNum {
    if task.bottommost && seq <= oldest_snapshot {
        0
    } else {
        seq
    }
}

/// Writes compaction output, cutting files at user-key boundaries (a key's versions never
/// span two files of one level, so deeper levels stay non-overlapping).
struct OutputWriter<'a> {
    db: &'a DbInner,
    /// The level the outputs go to.
    level: usize,
    outputs: Vec<Arc<TableFile>>,
    /// Numbers of every file created, finished or not: what `abandon` removes.
    written: Vec<u64>,
    current: Option<(u64, TableBuilder)>,
}

impl OutputWriter<'_> {
    fn add(
        &mut self,
        new_key: bool,
        key: &[u8],
        seq: SeqNum,
        kind: ValueKind,
        value: &[u8],
    ) -> Result<()> {
        let target = self.db.opts.target_file_bytes;
        let full = matches!(&self.current, Some((_, b)) if b.estimated_size() >= target);
        if new_key && full {
            self.finish_current()?;
        }
        let builder = match &mut self.current {
            Some((_, builder)) => builder,
            None => {
                let number = self.db.new_file_number();
                let path = table_path(&self.db.dir, number);
                self.written.push(number);
                let options = self.db.opts.table_options();
                let builder = TableBuilder::new(self.db.fs.create(&path)?, path, options);
                &mut self.current.insert((number, builder)).1
            }
        };
        builder.add(key, seq, kind, value)
    }

    fn finish_current(&mut self) -> Result<()> {
        let Some((number, builder)) = self.current.take() else {
            return Ok(());
        };
        let db = self.db;
        // The directory is fsynced once, after the last output (`write_outputs`).
        let file = TableFile::finish_unnamed(builder, &db.fs, &db.dir, number, &db.tables)?;
        db.stats
            .compaction_bytes_written
            .fetch_add(file.meta.size, Ordering::Relaxed);
        if let Some(level) = db.stats.compaction_bytes_by_level.get(self.level) {
            level.fetch_add(file.meta.size, Ordering::Relaxed);
        }
        self.outputs.push(file);
        Ok(())
    }

    /// Removes every file written so far: nothing names them.
    fn abandon(&mut self) {
        self.current = None;
        self.outputs.clear();
        for number in self.written.drain(..) {
            let _ = self.db.fs.remove(&table_path(&self.db.dir, number));
        }
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::env::{FileSystem, PosixFs};
    use crate::sstable::Table;
    use crate::{Db, Options};
    use std::collections::BTreeMap;
    use std::path::Path;

    fn options() -> Options {
        Options {
            l0_compaction_trigger: 1000,
            l0_slowdown_trigger: 1000,
            l0_stop_trigger: 1000,
            ..Options::default()
        }
    }

    /// Every version stored in the sstables of `dir`, per user key, newest first.
    fn versions_on_disk(dir: &Path) -> BTreeMap<Vec<u8>, Vec<(SeqNum, ValueKind)>> {
        let mut out: BTreeMap<Vec<u8>, Vec<(SeqNum, ValueKind)>> = BTreeMap::new();
        for name in PosixFs.list(dir).unwrap() {
            if !name.ends_with(".sst") {
                continue;
            }
            let path = dir.join(name);
            let file = PosixFs.open_random(&path).unwrap();
            let table = Arc::new(Table::open(file, path, 0, None).unwrap());
            let mut it = table.iter();
            it.seek_to_first().unwrap();
            while it.valid() {
                let versions = out.entry(it.key().to_vec()).or_default();
                versions.push((it.seq(), it.kind()));
                it.next().unwrap();
            }
        }
        for versions in out.values_mut() {
            versions.sort_by_key(|v| std::cmp::Reverse(v.0));
        }
        out
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key{i:04}").into_bytes()
    }

    fn value(i: usize, round: usize) -> Vec<u8> {
        format!("value {i} of round {round}").into_bytes()
    }

    #[test]
    fn the_bottom_level_stores_sequence_number_zero_where_no_snapshot_needs_more() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path(), options()).unwrap();
        let n = 300;
        for i in 0..n {
            db.put(&key(i), &value(i, 0)).unwrap(); // sequence numbers 1..=300
        }
        let snap = db.snapshot().unwrap();
        for i in (0..n).step_by(2) {
            db.put(&key(i), &value(i, 1)).unwrap();
        }
        for i in (0..n).step_by(3) {
            db.delete(&key(i)).unwrap();
        }
        db.compact().unwrap();

        // The snapshot (at 300) still needs round 0 beside what came after it: of each key,
        // the version it reads is stored with 0, newer ones keep their numbers.
        let on_disk = versions_on_disk(dir.path());
        assert_eq!(on_disk.len(), n);
        for (k, versions) in &on_disk {
            let (oldest, newer) = versions.split_last().unwrap();
            assert_eq!(*oldest, (0, ValueKind::Put), "{k:?}: {versions:?}");
            assert!(
                newer.iter().all(|&(seq, _)| seq > 300),
                "{k:?}: {versions:?}"
            );
        }
        for i in 0..n {
            assert_eq!(snap.get(&key(i)).unwrap(), Some(value(i, 0)));
            let now = match (i % 3, i % 2) {
                (0, _) => None,
                (_, 0) => Some(value(i, 1)),
                _ => Some(value(i, 0)),
            };
            assert_eq!(db.get(&key(i)).unwrap(), now, "key {i}");
        }

        // Without the snapshot, every version left is the one every reader sees: one per
        // key, stored with 0; the deleted keys are gone.
        drop(snap);
        db.compact().unwrap();
        let on_disk = versions_on_disk(dir.path());
        assert_eq!(on_disk.len(), n - n.div_ceil(3));
        assert!(on_disk.values().all(|v| v == &[(0, ValueKind::Put)]));

        // New writes carry real sequence numbers and shadow the zeroed versions, in L0 and
        // after another compaction, and across a reopen.
        for i in (1..n).step_by(3) {
            db.put(&key(i), &value(i, 2)).unwrap();
        }
        db.flush().unwrap();
        let expected = |i: usize| match i % 3 {
            0 => None,
            1 => Some(value(i, 2)),
            _ => Some(value(i, if i % 2 == 0 { 1 } else { 0 })),
        };
        for i in 0..n {
            assert_eq!(db.get(&key(i)).unwrap(), expected(i), "key {i} in L0");
        }
        db.compact().unwrap();
        drop(db);
        let db = Db::open(dir.path(), options()).unwrap();
        for i in 0..n {
            assert_eq!(
                db.get(&key(i)).unwrap(),
                expected(i),
                "key {i} after reopen"
            );
        }
        let on_disk = versions_on_disk(dir.path());
        assert!(on_disk.values().all(|v| v == &[(0, ValueKind::Put)]));
    }

    #[test]
    fn sequence_numbers_are_kept_above_the_oldest_snapshot_and_off_the_bottom() {
        let task = |bottommost| Task {
            inputs: Vec::new(),
            output_level: 3,
            bottommost,
            trivial_move: false,
        };
        assert_eq!(output_seq(&task(true), 7, 7), 0);
        assert_eq!(output_seq(&task(true), 8, 7), 8);
        assert_eq!(output_seq(&task(false), 7, 7), 7);
        assert_eq!(output_seq(&task(false), 1, 7), 1);
    }
}

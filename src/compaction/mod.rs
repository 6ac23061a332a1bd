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

/// Merges the inputs into new sstables; on error removes whatever it wrote.
fn write_outputs(db: &DbInner, task: &Task) -> Result<Vec<Arc<TableFile>>> {
    let mut writer = OutputWriter {
        db,
        outputs: Vec::new(),
        written: Vec::new(),
        current: None,
    };
    let result = merge_into(db, task, &mut writer);
    match result.and_then(|()| writer.finish_current()) {
        Ok(()) => Ok(writer.outputs),
        Err(e) => {
            writer.abandon();
            Err(e)
        }
    }
}

fn merge_into(db: &DbInner, task: &Task, writer: &mut OutputWriter<'_>) -> Result<()> {
    // Inputs are ordered newest source first (L0 newest first, then deeper levels).
    let children: Vec<Box<dyn InternalIterator>> = task
        .inputs
        .iter()
        .map(|(_, f)| Box::new(f.table.iter()) as Box<dyn InternalIterator>)
        .collect();
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
            writer.add(new_key, key, seq, kind, merged.value())?;
        }
        merged.next()?;
    }
    Ok(())
}

/// Writes compaction output, cutting files at user-key boundaries (a key's versions never
/// span two files of one level, so deeper levels stay non-overlapping).
struct OutputWriter<'a> {
    db: &'a DbInner,
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
        let file = TableFile::finish_and_open(builder, &db.fs, &db.dir, number, db.cache.clone())?;
        db.stats
            .compaction_bytes_written
            .fetch_add(file.meta.size, Ordering::Relaxed);
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

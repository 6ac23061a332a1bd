//! Versions: the set of live sstables, level by level, at one moment.
//!
//! A [`Version`] is immutable. Flushes and compactions build a new one by applying a
//! [`VersionEdit`] and swap it in; readers keep the `Arc<Version>` they started with, so they
//! never wait and never see a half-applied change. An sstable file is deleted only when it has
//! been removed by a durable edit *and* the last version that lists it is gone (see
//! [`TableFile`]'s `Drop`).
//!
//! Level 0 holds flushed files whose key ranges overlap, ordered newest first. Levels 1 and
//! deeper each hold one sorted run of non-overlapping files, ordered by key.

pub(crate) mod edit;
mod level_iter;
pub(crate) mod manifest;
mod table_cache;

pub(crate) use edit::{FileMeta, VersionEdit};
pub(crate) use level_iter::LevelIter;
pub(crate) use table_cache::TableCache;

use crate::key_heads::KeyHeads;

use crate::env::FileSystem;
use crate::filename::table_path;
use crate::iterators::ScanSource;
use crate::sstable::{Table, TableBuilder};
use crate::types::{SeqNum, ValueKind};
use crate::{Error, Result};
use parking_lot::RwLock;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Levels 0 through 6.
pub(crate) const NUM_LEVELS: usize = 7;

/// A live sstable: its manifest entry and, while the table cache keeps it open, its reader.
#[derive(Debug)]
pub(crate) struct TableFile {
    pub meta: FileMeta,
    /// The open table; `None` while the table cache has it closed.
    table: RwLock<Option<Arc<Table>>>,
    /// Set on each use: the table cache's clock spares a file used since it last looked.
    recently_used: AtomicBool,
    tables: Arc<TableCache>,
    /// Set once a durable edit removed this file; the last reference then deletes it.
    obsolete: AtomicBool,
    /// Set when a compaction found damage in this file: compactions leave it alone.
    corrupt: AtomicBool,
    fs: Arc<dyn FileSystem>,
    path: PathBuf,
}

impl TableFile {
    /// A live file whose table `table` was just opened; it counts against the table
    /// cache's limit from now on.
    pub(crate) fn new(
        meta: FileMeta,
        table: Arc<Table>,
        fs: Arc<dyn FileSystem>,
        path: PathBuf,
        tables: &Arc<TableCache>,
    ) -> Arc<TableFile> {
        let file = Arc::new(TableFile {
            meta,
            table: RwLock::new(Some(table)),
            recently_used: AtomicBool::new(true),
            tables: Arc::clone(tables),
            obsolete: AtomicBool::new(false),
            corrupt: AtomicBool::new(false),
            fs,
            path,
        });
        tables.register(&file);
        file
    }

    /// The open table, opened through the table cache when it is closed.
    ///
    /// # Errors
    /// An I/O error or [`Error::Corruption`] from reopening the table.
    pub(crate) fn table(self: &Arc<Self>) -> Result<Arc<Table>> {
        match self.open_table() {
            Some(table) => Ok(table),
            None => self.tables.table(self),
        }
    }

    /// Runs `read` on the table, opening it through the table cache when it is closed. An
    /// open table is borrowed under its read lock, without touching its reference count:
    /// the cheap path for point lookups, which probe a table per level.
    ///
    /// # Errors
    /// An I/O error or [`Error::Corruption`] from reopening the table; `read`'s error.
    pub(crate) fn with_table<R>(
        self: &Arc<Self>,
        read: impl FnOnce(&Table) -> Result<R>,
    ) -> Result<R> {
        {
            let open = self.table.read();
            if let Some(table) = open.as_ref() {
                self.mark_used();
                return read(table);
            }
        }
        read(&*self.tables.table(self)?)
    }

    /// The table if it is open now (marked as used).
    pub(crate) fn open_table(&self) -> Option<Arc<Table>> {
        let table = self.table.read().clone();
        if table.is_some() {
            self.mark_used();
        }
        table
    }

    /// Marks the file used for the table cache's clock; writes the shared flag only when
    /// it changes, so concurrent readers do not bounce its cache line.
    fn mark_used(&self) {
        if !self.recently_used.load(Ordering::Relaxed) {
            self.recently_used.store(true, Ordering::Relaxed);
        }
    }

    fn set_table(&self, table: Option<Arc<Table>>) {
        self.recently_used.store(table.is_some(), Ordering::Relaxed);
        *self.table.write() = table;
    }

    fn fs(&self) -> &Arc<dyn FileSystem> {
        &self.fs
    }

    fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes `builder` (which fsyncs the table), fsyncs `dir` so that the new name is
    /// durable too, and opens the result: what a flush does before a manifest edit may name
    /// the file.
    pub(crate) fn finish_and_open(
        builder: TableBuilder,
        fs: &Arc<dyn FileSystem>,
        dir: &Path,
        number: u64,
        tables: &Arc<TableCache>,
    ) -> Result<Arc<TableFile>> {
        let file = Self::finish_unnamed(builder, fs, dir, number, tables)?;
        fs.sync_dir(dir)?;
        Ok(file)
    }

    /// [`TableFile::finish_and_open`] without the fsync of `dir`: for a caller writing
    /// several tables, which fsyncs the directory once, after the last, before any manifest
    /// edit names them (a compaction).
    pub(crate) fn finish_unnamed(
        builder: TableBuilder,
        fs: &Arc<dyn FileSystem>,
        dir: &Path,
        number: u64,
        tables: &Arc<TableCache>,
    ) -> Result<Arc<TableFile>> {
        let path = table_path(dir, number);
        let summary = builder.finish()?;
        let table = Table::open(
            fs.open_random(&path)?,
            path.clone(),
            number,
            tables.block_cache(),
        )?;
        let meta = FileMeta {
            number,
            size: summary.file_size,
            smallest: summary.smallest,
            largest: summary.largest,
            min_seq: summary.min_seq,
            max_seq: summary.max_seq,
        };
        Ok(TableFile::new(
            meta,
            Arc::new(table),
            Arc::clone(fs),
            path,
            tables,
        ))
    }

    /// Deletes the file once the last reference goes. REQUIRES: the edit removing this file
    /// is durable in the manifest, or no edit ever named it.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::Release);
    }

    pub(crate) fn mark_corrupt(&self) {
        self.corrupt.store(true, Ordering::Release);
    }

    pub(crate) fn is_corrupt(&self) -> bool {
        self.corrupt.load(Ordering::Acquire)
    }

    fn contains(&self, key: &[u8]) -> bool {
        self.meta.smallest.as_slice() <= key && key <= self.meta.largest.as_slice()
    }
}

impl Drop for TableFile {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::Acquire) {
            // Nothing references the file any more. A failure leaves an orphan that the
            // next open removes, so it is not worth failing anything for.
            let _ = self.fs.remove(&self.path);
        }
    }
}

/// The sstables of the database at one moment.
#[derive(Debug, Clone, Default)]
pub(crate) struct Version {
    levels: [Vec<Arc<TableFile>>; NUM_LEVELS],
    /// Per level below L0, its files' key ranges laid out for searching (rebuilt with the
    /// version): a lookup finds its file without following a pointer per probe.
    bounds: [LevelBounds; NUM_LEVELS],
}

/// The smallest and largest keys of one sorted level's files, in file order, as integers.
#[derive(Debug, Clone, Default)]
struct LevelBounds {
    smallest: KeyHeads,
    largest: KeyHeads,
}

impl LevelBounds {
    fn new(files: &[Arc<TableFile>]) -> LevelBounds {
        LevelBounds {
            smallest: KeyHeads::new(files.iter().map(|f| f.meta.smallest.as_slice())),
            largest: KeyHeads::new(files.iter().map(|f| f.meta.largest.as_slice())),
        }
    }

    /// The position of the first file of the sorted level `files` (these bounds' level)
    /// whose largest key is at or after `key`: the only one that can hold it.
    fn first_ending_at_or_after(&self, files: &[Arc<TableFile>], key: &[u8]) -> usize {
        let largest = |i: usize| files.get(i).map_or(&[][..], |f| f.meta.largest.as_slice());
        self.largest.partition_point(key, |i| largest(i) < key)
    }

    /// The one file of the sorted level `files` (these bounds' level) whose key range
    /// holds `key`, if any.
    fn file_holding<'a>(
        &self,
        files: &'a [Arc<TableFile>],
        key: &[u8],
    ) -> Option<&'a Arc<TableFile>> {
        let i = self.first_ending_at_or_after(files, key);
        let file = files.get(i)?;
        let after_smallest = match self.smallest.order(i, key) {
            Some(order) => order != std::cmp::Ordering::Greater,
            None => file.meta.smallest.as_slice() <= key,
        };
        after_smallest.then_some(file)
    }
}

impl Version {
    /// Files of `level`: L0 newest first, deeper levels by key.
    pub(crate) fn files(&self, level: usize) -> &[Arc<TableFile>] {
        self.levels.get(level).map_or(&[], |files| files.as_slice())
    }

    /// The position in sorted level `level` (1 or deeper) of the first file whose largest
    /// key is at or after `key`: the one file a seek to `key` needs.
    pub(crate) fn first_file_ending_at_or_after(&self, level: usize, key: &[u8]) -> usize {
        match self.bounds.get(level) {
            Some(bounds) => bounds.first_ending_at_or_after(self.files(level), key),
            None => 0,
        }
    }

    pub(crate) fn all_files(&self) -> impl Iterator<Item = (usize, &Arc<TableFile>)> {
        self.levels
            .iter()
            .enumerate()
            .flat_map(|(level, files)| files.iter().map(move |f| (level, f)))
    }

    /// A new version with `edit` applied. `added` supplies the opened tables the edit names.
    ///
    /// # Errors
    /// `Corruption` when the edit removes a file this version does not hold or adds one it
    /// already has: the manifest and the directory disagree.
    pub(crate) fn apply(
        &self,
        removed: &[(usize, u64)],
        added: Vec<(usize, Arc<TableFile>)>,
    ) -> std::result::Result<Version, String> {
        let mut next = self.clone();
        for &(level, number) in removed {
            let files = next
                .levels
                .get_mut(level)
                .ok_or_else(|| format!("level {level} out of range"))?;
            let before = files.len();
            files.retain(|f| f.meta.number != number);
            if files.len() == before {
                return Err(format!("removes file {number} absent from level {level}"));
            }
        }
        for (level, file) in added {
            if next
                .all_files()
                .any(|(_, f)| f.meta.number == file.meta.number)
            {
                return Err(format!("adds file {} twice", file.meta.number));
            }
            next.levels
                .get_mut(level)
                .ok_or_else(|| format!("level {level} out of range"))?
                .push(file);
        }
        next.sort();
        Ok(next)
    }

    fn sort(&mut self) {
        let [level0, deeper @ ..] = &mut self.levels;
        level0.sort_by_key(|f| std::cmp::Reverse((f.meta.max_seq, f.meta.number)));
        for files in deeper {
            files.sort_by(|a, b| a.meta.smallest.cmp(&b.meta.smallest));
        }
        for (bounds, files) in self.bounds.iter_mut().zip(&self.levels).skip(1) {
            *bounds = LevelBounds::new(files);
        }
    }

    /// The newest version of `key` at or below `snapshot` held by any sstable.
    pub(crate) fn get(
        &self,
        key: &[u8],
        key_hash: u64,
        snapshot: SeqNum,
    ) -> Result<Option<(SeqNum, ValueKind, Vec<u8>)>> {
        let [level0, deeper @ ..] = &self.levels;
        // L0 files overlap: the newest file holding a visible version wins. A file whose
        // oldest entry is newer than the snapshot cannot help.
        for file in level0 {
            if file.meta.min_seq > snapshot || !file.contains(key) {
                continue;
            }
            if let Some(found) = file.with_table(|t| t.get(key, key_hash, snapshot))? {
                return Ok(Some(found));
            }
        }
        // Deeper levels: at most one file per level can hold the key.
        for (files, bounds) in deeper.iter().zip(self.bounds.iter().skip(1)) {
            if let Some(file) = bounds.file_holding(files, key) {
                if let Some(found) = file.with_table(|t| t.get(key, key_hash, snapshot))? {
                    return Ok(Some(found));
                }
            }
        }
        Ok(None)
    }

    /// The sources of a scan, newest first, for the merge iterator: one iterator per L0
    /// file (they overlap), then one per non-empty deeper level, which opens only the file
    /// a seek lands in. A seek so costs one table seek per L0 file and per level. Tables
    /// are opened (through the table cache) by the first seek, not here.
    pub(crate) fn iterators(self: &Arc<Self>, out: &mut Vec<ScanSource>) {
        for index in 0..self.files(0).len() {
            out.push(ScanSource::Level(LevelIter::one_file(
                Arc::clone(self),
                0,
                index,
            )));
        }
        for level in 1..NUM_LEVELS {
            if !self.files(level).is_empty() {
                out.push(ScanSource::Level(LevelIter::new(Arc::clone(self), level)));
            }
        }
    }

    /// The edit that recreates this version from nothing (a new manifest's first record).
    pub(crate) fn snapshot_edit(&self) -> VersionEdit {
        VersionEdit {
            added: self
                .all_files()
                .map(|(level, f)| (level, f.meta.clone()))
                .collect(),
            ..VersionEdit::default()
        }
    }
}

/// Turns a manifest inconsistency into a corruption error naming the manifest.
pub(crate) fn inconsistent(path: &std::path::Path, reason: String) -> Error {
    Error::corruption(
        path,
        0,
        format!("manifest inconsistent with itself: {reason}"),
    )
}

/// A real (in-memory) sstable holding `smallest` and `largest`, with its recorded size set
/// to `size`: versions for policy tests.
#[cfg(test)]
pub(crate) fn test_file(number: u64, smallest: &str, largest: &str, size: u64) -> Arc<TableFile> {
    let mut entries = vec![(smallest, 2)];
    if largest != smallest {
        entries.push((largest, 1));
    }
    let file = test_file_with(number, &entries);
    let meta = FileMeta {
        size,
        ..file.meta.clone()
    };
    let tables = Arc::new(TableCache::new(None, usize::MAX));
    let table = file.open_table().unwrap();
    TableFile::new(
        meta,
        table,
        Arc::clone(&file.fs),
        file.path.clone(),
        &tables,
    )
}

/// A real (in-memory) sstable holding puts of `entries` (in internal-key order), whose
/// values are the key followed by the sequence number.
#[cfg(test)]
pub(crate) fn test_file_with(number: u64, entries: &[(&str, SeqNum)]) -> Arc<TableFile> {
    use crate::env::FaultFs;
    use crate::sstable::TableOptions;
    let fs: Arc<dyn FileSystem> = Arc::new(FaultFs::new());
    let dir = Path::new("/t");
    fs.create_dir_all(dir).unwrap();
    let path = table_path(dir, number);
    let mut builder = TableBuilder::new(fs.create(&path).unwrap(), path, TableOptions::default());
    for (key, seq) in entries {
        let value = format!("{key}{seq}");
        builder
            .add(key.as_bytes(), *seq, ValueKind::Put, value.as_bytes())
            .unwrap();
    }
    let tables = Arc::new(TableCache::new(None, usize::MAX));
    TableFile::finish_and_open(builder, &fs, dir, number, &tables).unwrap()
}

/// Makes `dir` a closed database whose one sstable (number 1, at `level`) holds the bytes
/// `table`, recorded in a hand-written manifest with `meta`'s key range and sequence
/// numbers (its number and size are filled in), and an empty WAL: a database as another
/// build (or another format version) left it.
#[cfg(test)]
pub(crate) fn test_database_of_one_table(dir: &Path, table: &[u8], level: usize, meta: FileMeta) {
    use crate::env::PosixFs;
    use crate::filename::wal_path;
    std::fs::write(table_path(dir, 1), table).unwrap();
    std::fs::write(wal_path(dir, 3), b"").unwrap();
    let last_seq = meta.max_seq;
    let meta = FileMeta {
        number: 1,
        size: table.len() as u64,
        ..meta
    };
    let snapshot = VersionEdit {
        log_number: Some(3),
        next_file_number: Some(4),
        last_seq: Some(last_seq),
        added: vec![(level, meta)],
        ..VersionEdit::default()
    };
    manifest::ManifestWriter::create(&PosixFs, dir, 2, &snapshot).unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lookup_finds_the_one_file_of_a_level_whose_range_holds_the_key() {
        // Files [b, d], [f, h], [j, j] with long shared prefixes, in level 3.
        let key = |k: &str| format!("shared/prefix/{k}");
        let ranges = [("b", "d"), ("f", "h"), ("j", "j")];
        let added = ranges
            .iter()
            .enumerate()
            .map(|(i, (lo, hi))| {
                let (lo, hi) = (key(lo), key(hi));
                let entries: Vec<(&str, SeqNum)> = if lo == hi {
                    vec![(&lo, 1)]
                } else {
                    vec![(&lo, 1), (&hi, 1)]
                };
                (3, test_file_with(i as u64 + 1, &entries))
            })
            .collect();
        let version = Version::default().apply(&[], added).unwrap();
        let files = version.files(3);
        let bounds = &version.bounds[3];
        let cases: [(&str, Option<usize>, usize); 12] = [
            ("a", None, 0),
            ("b", Some(0), 0),
            ("c", Some(0), 0),
            ("d", Some(0), 0),
            ("d\0", None, 1),
            ("e", None, 1),
            ("f", Some(1), 1),
            ("h", Some(1), 1),
            ("i", None, 2),
            ("j", Some(2), 2),
            ("j\0", None, 3),
            ("k", None, 3),
        ];
        for (k, holding, first) in cases {
            let k = key(k);
            let found = bounds.file_holding(files, k.as_bytes());
            assert_eq!(
                found.map(|f| f.meta.number - 1),
                holding.map(|i| i as u64),
                "{k}"
            );
            assert_eq!(
                version.first_file_ending_at_or_after(3, k.as_bytes()),
                first,
                "{k}"
            );
        }
        // Keys outside the shared prefix, on either side.
        assert!(bounds.file_holding(files, b"a").is_none());
        assert!(bounds.file_holding(files, b"z").is_none());
        assert_eq!(version.first_file_ending_at_or_after(3, b"a"), 0);
        assert_eq!(version.first_file_ending_at_or_after(3, b"z"), 3);
        // An empty level holds nothing.
        assert!(version.bounds[4]
            .file_holding(version.files(4), b"x")
            .is_none());
    }
}

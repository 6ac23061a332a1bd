//! A cursor over one sorted level (L1 and deeper): the level's files read as one run.
//!
//! The files of a level below L0 are ordered by key and never overlap, and no user key
//! spans two of them (compaction cuts output files only between user keys). So a seek
//! needs only the one file whose largest key is at or after the target, found by binary
//! search over the file list, and a scan opens each next file when the previous one ends.
//! A seek over the whole database then costs one table seek per level instead of one per
//! file (LevelDB's two-level iterator over its level file list does the same).
//!
//! The iterator holds the version it reads (an `Arc`: opening one costs no per-file work),
//! so the files outlive it; it is used by one thread at a time. A table error makes it fail
//! for good, as [`InternalIterator`] asks.

use super::{TableFile, Version};
use crate::iterators::{EntryHead, InternalIterator};
use crate::sstable::TableIter;
use crate::types::{SeqNum, ValueKind};
use crate::{Error, Result};
use std::sync::Arc;

/// One level's files as one sorted stream of entries.
pub(crate) struct LevelIter {
    version: Arc<Version>,
    /// The level read; its files are in key order and disjoint.
    level: usize,
    /// The positions of the level's files this iterator reads (all of them, or one L0 file).
    range: std::ops::Range<usize>,
    /// Position in `files` of the open table; meaningful while `table` is `Some`.
    file_index: usize,
    /// The cursor over the open table; `None` when unpositioned or past the end.
    table: Option<TableIter>,
    /// The first error; once set, the iterator is invalid and every move returns it.
    error: Option<Error>,
}

impl LevelIter {
    /// REQUIRES: `level` is 1 or deeper (one sorted run).
    pub(crate) fn new(version: Arc<Version>, level: usize) -> LevelIter {
        let range = 0..version.files(level).len();
        LevelIter {
            version,
            level,
            range,
            file_index: 0,
            table: None,
            error: None,
        }
    }

    /// File `index` of `level` alone (an L0 file: they overlap, so each is its own run).
    pub(crate) fn one_file(version: Arc<Version>, level: usize, index: usize) -> LevelIter {
        let mut it = LevelIter::new(version, level);
        it.range = index..(index + 1).min(it.range.end);
        it
    }

    /// Opens file `index` (or nothing past the last file), positioned by `position`.
    fn open(
        &mut self,
        index: usize,
        position: impl FnOnce(&mut TableIter) -> Result<()>,
    ) -> Result<()> {
        self.table = None;
        let Some(file) = self.files().get(index) else {
            return Ok(());
        };
        let mut it = file.table()?.iter();
        position(&mut it)?;
        self.file_index = index;
        self.table = Some(it);
        Ok(())
    }

    /// While the open table is exhausted, moves to the first entry of the next file; `table`
    /// is `None` past the last.
    fn skip_exhausted_files(&mut self) -> Result<()> {
        while matches!(&self.table, Some(it) if !it.valid()) {
            let next = self.file_index + 1;
            self.open(next, |it| it.seek_to_first())?;
        }
        Ok(())
    }

    /// Runs a move unless the iterator already failed; a failure makes it sticky.
    #[inline]
    fn guarded(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        step(self).inspect_err(|e| {
            self.table = None;
            self.error = Some(e.duplicate());
        })
    }

    /// The position in `files()` of the one file that can hold the first key `>= target`
    /// (past the last when none can).
    fn file_for(&self, target: &[u8]) -> usize {
        if self.level == 0 {
            self.files()
                .partition_point(|f| f.meta.largest.as_slice() < target)
        } else {
            self.version
                .first_file_ending_at_or_after(self.level, target)
        }
    }

    fn files(&self) -> &[Arc<TableFile>] {
        self.version
            .files(self.level)
            .get(self.range.clone())
            .unwrap_or_default()
    }
}

/// The open table's cursor is `Some` only while it is on an entry (moves past a table's end
/// open the next one or leave `None`), so the accessors need not ask it whether it is valid.
impl InternalIterator for LevelIter {
    #[inline]
    fn valid(&self) -> bool {
        self.table.is_some()
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.table.as_ref().map_or(&[], |it| it.key())
    }

    #[inline]
    fn seq(&self) -> SeqNum {
        self.table.as_ref().map_or(0, |it| it.seq())
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.table
            .as_ref()
            .map_or(ValueKind::Delete, |it| it.kind())
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.table.as_ref().map_or(&[], |it| it.value())
    }

    #[inline(always)]
    fn head(&self) -> EntryHead<'_> {
        match &self.table {
            Some(it) => it.head(),
            None => EntryHead::NONE,
        }
    }

    #[inline]
    fn next(&mut self) -> Result<()> {
        self.guarded(|level| {
            if let Some(it) = level.table.as_mut() {
                it.next()?;
                if it.valid() {
                    return Ok(());
                }
            }
            level.skip_exhausted_files()
        })
    }

    /// Asks for the first lines the seek will read in the one file that can hold `target`,
    /// when that file's table is open.
    fn prepare_seek(&self, target: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Some(table) = self
            .files()
            .get(self.file_for(target))
            .and_then(|file| file.open_table())
        {
            table.prefetch_seek(target);
        }
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|level| {
            let index = level.file_for(target);
            level.open(index, |it| it.seek(target))?;
            level.skip_exhausted_files()
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|level| {
            level.open(0, |it| it.seek_to_first())?;
            level.skip_exhausted_files()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::test_file_with;

    fn level(files: &[&[(&str, SeqNum)]]) -> LevelIter {
        let added = files
            .iter()
            .enumerate()
            .map(|(i, entries)| (2, test_file_with(i as u64 + 1, entries)))
            .collect();
        let version = Version::default().apply(&[], added).unwrap();
        LevelIter::new(Arc::new(version), 2)
    }

    fn drain(it: &mut LevelIter) -> Vec<(String, SeqNum)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((String::from_utf8(it.key().to_vec()).unwrap(), it.seq()));
            it.next().unwrap();
        }
        out
    }

    fn names(list: &[(&str, SeqNum)]) -> Vec<(String, SeqNum)> {
        list.iter().map(|(k, s)| (k.to_string(), *s)).collect()
    }

    #[test]
    fn a_scan_crosses_every_file_in_order() {
        let mut it = level(&[&[("a", 3), ("a", 1), ("c", 2)], &[("d", 9)], &[("f", 4)]]);
        assert!(!it.valid());
        it.seek_to_first().unwrap();
        assert_eq!(
            drain(&mut it),
            names(&[("a", 3), ("a", 1), ("c", 2), ("d", 9), ("f", 4)])
        );
        // Moving past the end stays at the end.
        it.next().unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn seek_lands_in_the_one_file_that_can_hold_the_target() {
        let mut it = level(&[&[("b", 1), ("c", 1)], &[("e", 1), ("g", 1)], &[("k", 1)]]);
        it.seek(b"a").unwrap();
        assert_eq!(it.key(), b"b");
        it.seek(b"d").unwrap(); // between files: the next file's first key
        assert_eq!(it.key(), b"e");
        it.seek(b"g").unwrap();
        assert_eq!(it.key(), b"g");
        it.seek(b"h").unwrap();
        assert_eq!(drain(&mut it), names(&[("k", 1)]));
        it.seek(b"l").unwrap(); // past the last key
        assert!(!it.valid());
        it.seek(b"c").unwrap(); // and back
        assert_eq!(
            drain(&mut it),
            names(&[("c", 1), ("e", 1), ("g", 1), ("k", 1)])
        );
    }

    #[test]
    fn an_empty_level_is_an_empty_stream() {
        let mut it = LevelIter::new(Arc::new(Version::default()), 1);
        it.seek_to_first().unwrap();
        assert!(!it.valid());
        it.seek(b"x").unwrap();
        assert!(!it.valid());
    }
}

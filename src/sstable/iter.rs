//! A cursor over one table's entries in internal-key order.
//!
//! A [`TableIter`] owns an `Arc<Table>` (so the table outlives it) and the one data block it
//! is positioned in; blocks are read lazily, one at a time, through the table (and so the
//! block cache). `seek` uses the in-memory index to go straight to the one block that can
//! hold the target. The cursor is used by one thread at a time; after an error it stays
//! failed, as [`InternalIterator`] requires.

use super::block::{Block, EntryPos};
use super::reader::Table;
use crate::iterators::InternalIterator;
use crate::types::{SeqNum, ValueKind};
use crate::{Error, Result};
use std::sync::Arc;

/// A cursor over a [`Table`]. Created by [`Table::iter`], unpositioned.
#[derive(Debug)]
pub(crate) struct TableIter {
    table: Arc<Table>,
    /// Index position of `block`.
    block_index: usize,
    /// The block the cursor is in; `None` when unpositioned or at the end.
    block: Option<Arc<Block>>,
    /// Position of the current entry in `block`.
    entry_index: usize,
    /// The current entry; `None` when not valid.
    current: Option<EntryPos>,
    /// The first error; once set, the cursor is invalid and every move returns it again.
    error: Option<Error>,
}

impl TableIter {
    pub(crate) fn new(table: Arc<Table>) -> Self {
        TableIter {
            table,
            block_index: 0,
            block: None,
            entry_index: 0,
            current: None,
            error: None,
        }
    }

    /// Moves to entry `entry_index` of block `block_index`, stepping over to the next block
    /// when the entry index is past the end of this one; invalid past the last block.
    fn position(&mut self, mut block_index: usize, mut entry_index: usize) -> Result<()> {
        loop {
            if block_index >= self.table.index().len() {
                self.block = None;
                self.current = None;
                return Ok(());
            }
            let loaded = self.block_index == block_index && self.block.is_some();
            if !loaded {
                let b = self.table.read_block(block_index)?;
                self.block_index = block_index;
                self.block = Some(b);
            }
            // Borrow the block in place: no reference-count traffic per step of a scan.
            let found = match &self.block {
                Some(block) if entry_index < block.len() => Some(block.entry_pos(entry_index)),
                _ => None,
            };
            if let Some(pos) = found {
                let pos = pos.map_err(|e| self.block_error(e))?;
                self.entry_index = entry_index;
                self.current = Some(pos);
                return Ok(());
            }
            block_index += 1;
            entry_index = 0;
        }
    }

    fn block_error(&self, e: crate::error::DecodeError) -> Error {
        let offset = self
            .table
            .index()
            .entry(self.block_index)
            .map_or(0, |entry| entry.handle.offset);
        e.in_file(self.table.path(), offset)
    }

    /// Runs a move unless the cursor already failed; a failure makes it sticky.
    fn guarded(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        match step(self) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.block = None;
                self.current = None;
                self.error = Some(e.duplicate());
                Err(e)
            }
        }
    }

    fn block_slice(&self, pick: impl FnOnce(&EntryPos) -> std::ops::Range<usize>) -> &[u8] {
        match (&self.block, &self.current) {
            (Some(block), Some(pos)) => block.slice(pick(pos)),
            _ => &[],
        }
    }
}

impl InternalIterator for TableIter {
    fn valid(&self) -> bool {
        self.error.is_none() && self.current.is_some()
    }

    /// Borrowed from the current block; valid until the next move.
    fn key(&self) -> &[u8] {
        self.block_slice(|p| p.key.clone())
    }

    fn seq(&self) -> SeqNum {
        self.current.as_ref().map_or(0, |p| p.seq)
    }

    fn kind(&self) -> ValueKind {
        self.current.as_ref().map_or(ValueKind::Delete, |p| p.kind)
    }

    /// Borrowed from the current block; valid until the next move.
    fn value(&self) -> &[u8] {
        self.block_slice(|p| p.value.clone())
    }

    /// A no-op on an unpositioned or exhausted cursor.
    fn next(&mut self) -> Result<()> {
        self.guarded(|it| {
            if it.current.is_none() {
                return Ok(());
            }
            it.position(it.block_index, it.entry_index + 1)
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|it| {
            // The newest version of `target` sorts first among its versions: (target, MAX).
            let Some(block_index) = it.table.index().find(target, SeqNum::MAX) else {
                it.block = None;
                it.current = None;
                return Ok(());
            };
            let block = it.table.read_block(block_index)?;
            it.block_index = block_index;
            it.block = Some(Arc::clone(&block));
            let entry_index = block
                .seek(target, SeqNum::MAX)
                .map_err(|e| it.block_error(e))?;
            it.position(block_index, entry_index)
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|it| it.position(0, 0))
    }
}

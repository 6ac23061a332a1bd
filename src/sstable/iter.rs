//! A cursor over one table's entries in internal-key order.
//!
//! A [`TableIter`] owns an `Arc<Table>` (so the table outlives it) and the one data block it
//! is positioned in; blocks are read lazily, one at a time, through the table (and so the
//! block cache). `seek` uses the in-memory index to go straight to the one block that can
//! hold the target. The cursor is used by one thread at a time; after an error it stays
//! failed, as [`InternalIterator`] requires.

use super::block::BlockIter;
use super::reader::Table;
use crate::error::DecodeError;
use crate::iterators::InternalIterator;
use crate::types::{SeqNum, ValueKind};
use crate::{Error, Result};
use std::sync::Arc;

/// A cursor over a [`Table`]. Created by [`Table::iter`], unpositioned.
#[derive(Debug)]
pub(crate) struct TableIter {
    table: Arc<Table>,
    /// Index position of the block `block` is in.
    block_index: usize,
    /// The cursor in the current block; `None` when unpositioned or at the end.
    block: Option<BlockIter>,
    /// The first error; once set, the cursor is invalid and every move returns it again.
    error: Option<Error>,
}

impl TableIter {
    pub(crate) fn new(table: Arc<Table>) -> Self {
        TableIter {
            table,
            block_index: 0,
            block: None,
            error: None,
        }
    }

    /// Opens block `block_index` and positions in it with `position`; steps on to the first
    /// entry of the following blocks while that leaves the cursor past the block's end.
    /// Invalid past the last block.
    fn enter(
        &mut self,
        mut block_index: usize,
        position: impl FnOnce(&mut BlockIter) -> Result<(), DecodeError>,
    ) -> Result<()> {
        let mut position: Option<_> = Some(position);
        // The previous block's cursor is reused for its key buffer's allocation.
        let mut spare = self.block.take();
        loop {
            if block_index >= self.table.index().len() {
                return Ok(());
            }
            let block = self.table.read_block(block_index)?;
            let mut it = match spare.take() {
                Some(mut it) => {
                    it.reset(block);
                    it
                }
                None => BlockIter::new(block),
            };
            let result = match position.take() {
                Some(position) => position(&mut it),
                None => it.seek_to_first(),
            };
            result.map_err(|e| self.table.block_error(block_index, e))?;
            self.block_index = block_index;
            if it.valid() {
                self.block = Some(it);
                return Ok(());
            }
            spare = Some(it);
            block_index += 1;
        }
    }

    /// Runs a move unless the cursor already failed; a failure makes it sticky.
    #[inline]
    fn guarded(&mut self, step: impl FnOnce(&mut Self) -> Result<()>) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        match step(self) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.block = None;
                self.error = Some(e.duplicate());
                Err(e)
            }
        }
    }
}

/// `block` is `Some` only while it is on an entry (a move that leaves a block's end enters
/// the next block or leaves `None`; an error leaves `None`), so the accessors need not ask
/// the block cursor whether it is valid.
impl InternalIterator for TableIter {
    #[inline]
    fn valid(&self) -> bool {
        self.block.is_some()
    }

    /// Valid until the next move.
    #[inline]
    fn key(&self) -> &[u8] {
        self.block.as_ref().map_or(&[], BlockIter::key)
    }

    #[inline]
    fn seq(&self) -> SeqNum {
        self.block.as_ref().map_or(0, BlockIter::seq)
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.block
            .as_ref()
            .map_or(ValueKind::Delete, BlockIter::kind)
    }

    /// Borrowed from the current block; valid until the next move.
    #[inline]
    fn value(&self) -> &[u8] {
        self.block.as_ref().map_or(&[], BlockIter::value)
    }

    /// A no-op on an unpositioned or exhausted cursor.
    #[inline]
    fn next(&mut self) -> Result<()> {
        self.guarded(|it| {
            let Some(block) = &mut it.block else {
                return Ok(());
            };
            let stepped = block.next();
            let at_end = !block.valid();
            stepped.map_err(|e| it.table.block_error(it.block_index, e))?;
            if at_end {
                it.enter(it.block_index + 1, BlockIter::seek_to_first)?;
            }
            Ok(())
        })
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.guarded(|it| {
            // The newest version of `target` sorts first among its versions: (target, MAX).
            let Some(block_index) = it.table.index().find(target, SeqNum::MAX) else {
                it.block = None;
                return Ok(());
            };
            it.enter(block_index, |b| b.seek(target, SeqNum::MAX))
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|it| it.enter(0, BlockIter::seek_to_first))
    }
}

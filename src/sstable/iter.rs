//! A cursor over one table's entries in internal-key order.
//!
//! A [`TableIter`] owns an `Arc<Table>` (so the table outlives it) and the one data block it
//! is positioned in; blocks are read lazily, one at a time, through the table (and so the
//! block cache). `seek` uses the in-memory index to go straight to the one block that can
//! hold the target, which is verified whole before the search trusts it. A scan that enters
//! a block not yet verified at its first entry verifies it as it reads it instead: it walks
//! it with a checking cursor (every entry checked before it is returned, the first against
//! the previous block's separator), checks the last entry against the block's separator, and
//! only then has the table keep the block as verified. So a scan reads each block once, not
//! once to verify and once to return it. The cursor is used by one thread at a time; after
//! an error it stays failed, as [`InternalIterator`] requires.

use super::block::{Block, BlockIter};
use super::reader::Table;
use crate::error::DecodeError;
use crate::iterators::{EntryHead, InternalIterator};
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

    /// Opens block `block_index`, verified, and positions in it with `position`; moves on to
    /// the first entry of the following blocks when that leaves it past the block's end.
    fn enter_at(
        &mut self,
        block_index: usize,
        position: impl FnOnce(&mut BlockIter) -> Result<(), DecodeError>,
    ) -> Result<()> {
        let block = self.table.read_block(block_index)?;
        let mut it = self.cursor_over(block);
        position(&mut it).map_err(|e| self.table.block_error(block_index, e))?;
        self.block_index = block_index;
        if it.valid() {
            self.block = Some(it);
            return Ok(());
        }
        self.block = Some(it);
        self.enter_first(block_index + 1)
    }

    /// Moves to the first entry of block `block_index` (or of the next non-empty block);
    /// invalid past the last block. A block not yet verified is walked (see the module
    /// documentation).
    fn enter_first(&mut self, mut block_index: usize) -> Result<()> {
        loop {
            if block_index >= self.table.index().len() {
                self.block = None;
                return Ok(());
            }
            let (block, verified) = self.table.read_block_for_scan(block_index)?;
            let mut it = self.cursor_over(block);
            let entered = if verified {
                it.seek_to_first()
            } else {
                let bounds = self.table.block_bounds(block_index);
                it.walk_first()
                    .and_then(|()| match bounds.and_then(|b| b.after) {
                        Some(after) => it.check_after(after),
                        None => Ok(()),
                    })
            };
            entered.map_err(|e| self.table.block_error(block_index, e))?;
            self.block_index = block_index;
            // A scan that entered this block is likely to read the next one too.
            self.table.prefetch_block(block_index + 1);
            if it.valid() {
                self.block = Some(it);
                return Ok(());
            }
            self.block = Some(it);
            block_index += 1;
        }
    }

    /// A block cursor over `block`, reusing the current one's key buffer.
    fn cursor_over(&mut self, block: Arc<Block>) -> BlockIter {
        match self.block.take() {
            Some(mut it) => {
                it.reset(block);
                it
            }
            None => BlockIter::new(block),
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

    #[inline(always)]
    fn head(&self) -> EntryHead<'_> {
        match &self.block {
            Some(block) => EntryHead {
                key: block.key(),
                seq: block.seq(),
                kind: block.kind(),
            },
            None => EntryHead::NONE,
        }
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
                // A block walked to its end is verified once its last entry is checked
                // against its separator; the table keeps it so.
                let upto = it.table.block_bounds(it.block_index).map(|b| b.upto);
                let verified = block
                    .walk_verified(upto)
                    .map_err(|e| it.table.block_error(it.block_index, e))?;
                if verified {
                    it.table.keep_walked(it.block_index, block.block());
                }
                it.enter_first(it.block_index + 1)?;
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
            it.enter_at(block_index, |b| b.seek(target, SeqNum::MAX))
        })
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.guarded(|it| it.enter_first(0))
    }
}

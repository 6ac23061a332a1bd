//! In-order completion of write groups whose WAL fsyncs overlap (with `sync_writes`).
//!
//! A group is appended to the WAL and inserted into the memtable under the writer lock, in
//! sequence order; its fsync then runs outside the lock, so the next group can append (and
//! start its own fsync) meanwhile. Fsyncs may return in any order, but groups complete in
//! sequence order: a group is published (`visible_seq` moves past it) and acknowledged only
//! once its own fsync succeeded and every group before it completed. An fsync that fails
//! fails its group and every group behind it, whatever their own fsyncs said: after a failed
//! fsync the kernel may have dropped the failed pages while a later fsync reports success, so
//! no later write may be acknowledged as durable (the database has stopped by then; see
//! `DbInner::fail_wal`).
//!
//! Lock order: `writer` -> pipeline. Completing a group needs only the pipeline's lock, so a
//! writer holding `writer` may wait here for the groups in flight to drain.

use crate::types::SeqNum;
use crate::{Error, Result};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};

/// Groups allowed in flight (appended, their fsync not yet completed) at once. Two lets one
/// group fsync while the next gathers writers and starts its own; more splits the waiting
/// writers into ever smaller groups.
pub(crate) const MAX_GROUPS_IN_FLIGHT: usize = 2;

#[derive(Debug, Default)]
pub(crate) struct SyncPipeline {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Groups in flight, in sequence order: each one's last sequence number and, once its
    /// fsync returned, whether it succeeded.
    groups: VecDeque<(SeqNum, Option<Result<()>>)>,
    /// The last sequence number published.
    published: SeqNum,
    /// The first failed fsync: every group completed after it fails with it.
    failure: Option<Error>,
}

impl SyncPipeline {
    /// Enters a group whose last sequence number is `last_seq`. REQUIRES: the writer lock is
    /// held, and `last_seq` is above every group entered before.
    pub(crate) fn enter(&self, last_seq: SeqNum) {
        self.state.lock().groups.push_back((last_seq, None));
    }

    /// Waits until fewer than `limit` groups are in flight.
    pub(crate) fn wait_below(&self, limit: usize) {
        let mut state = self.state.lock();
        while state.groups.len() >= limit {
            self.changed.wait(&mut state);
        }
    }

    /// Waits until every group in flight has completed: what a memtable switch needs, so
    /// that the frozen memtable's last sequence number is exact and published.
    pub(crate) fn drain(&self) {
        self.wait_below(1);
    }

    /// Records how the fsync of the group ending at `last_seq` went, completes every group at
    /// the front whose fsync has returned (publishing them through `visible_seq`), and waits
    /// until this group has completed. Returns the group's outcome.
    pub(crate) fn complete(
        &self,
        last_seq: SeqNum,
        synced: Result<()>,
        visible_seq: &AtomicU64,
    ) -> Result<()> {
        let mut state = self.state.lock();
        if let Some(slot) = state.groups.iter_mut().find(|(seq, _)| *seq == last_seq) {
            slot.1 = Some(synced);
        }
        let mut advanced = false;
        while let Some((seq, Some(_))) = state.groups.front() {
            let seq = *seq;
            let outcome = state.groups.pop_front().and_then(|(_, outcome)| outcome);
            match (outcome, &state.failure) {
                (Some(Ok(())), None) => {
                    state.published = seq;
                    visible_seq.store(seq, Ordering::Release);
                }
                (Some(Err(e)), None) => state.failure = Some(e),
                _ => {}
            }
            advanced = true;
        }
        if advanced {
            self.changed.notify_all();
        }
        loop {
            if state.published >= last_seq {
                return Ok(());
            }
            let completed = state.groups.front().is_none_or(|(seq, _)| *seq > last_seq);
            if completed {
                return Err(match &state.failure {
                    Some(e) => e.duplicate(),
                    None => Error::invalid("internal: a write group completed unpublished"),
                });
            }
            self.changed.wait(&mut state);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn groups_complete_in_order_whatever_order_their_fsyncs_return_in() {
        let pipeline = Arc::new(SyncPipeline::default());
        let visible = Arc::new(AtomicU64::new(0));
        pipeline.enter(3);
        pipeline.enter(5);
        // The later group's fsync returns first: it waits for the earlier one.
        let later = {
            let (p, v) = (Arc::clone(&pipeline), Arc::clone(&visible));
            std::thread::spawn(move || p.complete(5, Ok(()), &v))
        };
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(!later.is_finished());
        assert_eq!(visible.load(Ordering::Acquire), 0);
        pipeline.complete(3, Ok(()), &visible).unwrap();
        later.join().unwrap().unwrap();
        assert_eq!(visible.load(Ordering::Acquire), 5);
        pipeline.drain();
    }

    #[test]
    fn a_failed_fsync_fails_every_group_behind_it_even_those_whose_fsync_succeeded() {
        let pipeline = Arc::new(SyncPipeline::default());
        let visible = AtomicU64::new(0);
        pipeline.enter(1);
        pipeline.enter(2);
        pipeline.enter(3);
        let first = pipeline.complete(1, Ok(()), &visible);
        assert!(first.is_ok());
        let third = {
            let p = Arc::clone(&pipeline);
            std::thread::spawn(move || p.complete(3, Ok(()), &AtomicU64::new(0)))
        };
        let second = pipeline.complete(2, Err(Error::invalid("fsync failed")), &visible);
        assert!(second.is_err());
        let third = third.join().unwrap();
        assert!(third.unwrap_err().to_string().contains("fsync failed"));
        assert_eq!(
            visible.load(Ordering::Acquire),
            1,
            "nothing after the failure published"
        );
        // Later groups fail too.
        pipeline.enter(4);
        assert!(pipeline.complete(4, Ok(()), &visible).is_err());
    }
}

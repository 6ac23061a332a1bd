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
//!
//! The locks come from `crate::sync`, so that `make loom` can check this protocol under every
//! interleaving (the `loom_model` tests below).

use crate::sync::{AtomicU64, Condvar, Mutex};
use crate::types::SeqNum;
use crate::{Error, Result};
use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Groups allowed in flight (appended, their fsync not yet completed) at once, when fsyncs
/// are slow (see [`FsyncLatency`]). Two lets one group fsync while the next gathers writers
/// and starts its own; more splits the waiting writers into ever smaller groups.
pub(crate) const MAX_GROUPS_IN_FLIGHT: usize = 2;

/// The mean WAL fsync time from which a second group may overlap the first one's fsync.
///
/// Overlapping pays when an fsync is long beside the work and wake-ups of a group, so that
/// a device that can flush two requests at once gets two. When fsyncs are as fast as the
/// scheduler's wake-ups it only splits the waiting writers into smaller groups, each paying
/// its own fsync and wake-ups. Measured on this 2-core machine, 16 threads of durable puts:
/// - with this disk's 40-60 µs fsyncs, one group at a time did 7.3-7.7 µs a put and two
///   7.9-8.5 (and 1.57-1.68x LevelDB against 1.30-1.43x in the benchmark);
/// - with fsyncs made 160-320 µs by a sleep before each (an `LD_PRELOAD` shim: a device
///   that takes two flushes at once), one group did 34-43 µs a put and two 15-17.5;
///   pipelining was also measured to pay with real fsyncs of 0.6-3.5 ms.
///
/// So the line lies between 60 and 160 µs; it is drawn nearer the slow side of this disk,
/// as losing a few percent there costs less than losing half past it.
const OVERLAP_FSYNCS_FROM: Duration = Duration::from_micros(100);

/// A moving average of the time WAL fsyncs take, which sets how many groups may be in
/// flight. A heuristic: concurrent updates may lose one another, which only slows it.
#[derive(Debug, Default)]
pub(crate) struct FsyncLatency {
    mean_nanos: std::sync::atomic::AtomicU64,
}

impl FsyncLatency {
    /// Folds one fsync's duration into the mean, weighted 1/8 and counted as at most twice
    /// the threshold: a few slow fsyncs in a row move it past, one stall does not.
    pub(crate) fn record(&self, took: Duration) {
        let took = took.min(OVERLAP_FSYNCS_FROM * 2);
        let sample = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let mean = self.mean_nanos.load(Ordering::Relaxed);
        let next = mean - mean / 8 + sample / 8;
        self.mean_nanos.store(next, Ordering::Relaxed);
    }

    /// The groups a leader may have in flight, its own included.
    pub(crate) fn groups_in_flight(&self) -> usize {
        let mean = Duration::from_nanos(self.mean_nanos.load(Ordering::Relaxed));
        match mean >= OVERLAP_FSYNCS_FROM {
            true => MAX_GROUPS_IN_FLIGHT,
            false => 1,
        }
    }
}

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
    /// Enters a group whose last sequence number is `last_seq`, and returns how many groups
    /// were in flight before it. REQUIRES: the writer lock is held, and `last_seq` is above
    /// every group entered before.
    pub(crate) fn enter(&self, last_seq: SeqNum) -> usize {
        let mut state = self.state.lock();
        let ahead = state.groups.len();
        state.groups.push_back((last_seq, None));
        ahead
    }

    /// Waits until fewer than `limit` groups are in flight. The bound holds only if one
    /// thread at a time goes from here to `enter` (in the engine, the group-commit leader).
    pub(crate) fn wait_below(&self, limit: usize) {
        let mut state = self.state.lock();
        while state.groups.len() >= limit {
            state = self.changed.wait(state);
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
            state = self.changed.wait(state);
        }
    }

    /// Groups in flight now.
    #[cfg(all(test, loom))]
    fn in_flight(&self) -> usize {
        self.state.lock().groups.len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_second_group_may_overlap_only_while_fsyncs_are_slow() {
        let latency = FsyncLatency::default();
        assert_eq!(latency.groups_in_flight(), 1);
        for _ in 0..20 {
            latency.record(Duration::from_micros(50));
        }
        assert_eq!(latency.groups_in_flight(), 1);
        // One stalled fsync among fast ones does not switch, nor do two slow ones after it;
        // a run of slow ones does.
        latency.record(Duration::from_secs(3));
        assert_eq!(latency.groups_in_flight(), 1);
        for _ in 0..2 {
            latency.record(Duration::from_millis(1));
            assert_eq!(latency.groups_in_flight(), 1);
        }
        latency.record(Duration::from_millis(1));
        assert_eq!(latency.groups_in_flight(), MAX_GROUPS_IN_FLIGHT);
        // And back once they are fast again.
        for _ in 0..20 {
            latency.record(Duration::from_micros(50));
        }
        assert_eq!(latency.groups_in_flight(), 1);
    }

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

/// Models of the pipeline for loom (`make loom`): writers that, like `DbInner::write`, wait
/// for room, take a sequence number and enter under a writer lock, "fsync" outside it with an
/// outcome the test chooses, and complete. loom runs each model under every interleaving of
/// its threads (up to `LOOM_MAX_PREEMPTIONS`), so fsyncs return in every order.
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::sync::{check_model as model, Arc};
    use loom::sync::atomic::AtomicBool;

    /// Sequence numbers a model hands out: 1..=WRITERS.
    const WRITERS: usize = 3;

    struct Shared {
        pipeline: SyncPipeline,
        /// The group-commit leadership: one writer at a time goes from `wait_below` to
        /// `enter`, and hands it on before its fsync.
        leadership: Mutex<()>,
        visible_seq: AtomicU64,
        /// The last sequence number assigned (the engine's `writer.last_seq`).
        writer: Mutex<SeqNum>,
        /// Set (before `complete`) once the group ending at that sequence number is durable.
        durable: [AtomicBool; WRITERS + 1],
    }

    /// What one writer saw: its group's sequence number, its own fsync's outcome, the
    /// outcome `complete` returned, and `visible_seq` after it returned.
    struct Written {
        seq: SeqNum,
        fsync_ok: bool,
        result: Result<()>,
        visible_after: SeqNum,
    }

    fn shared() -> Arc<Shared> {
        Arc::new(Shared {
            pipeline: SyncPipeline::default(),
            leadership: Mutex::new(()),
            visible_seq: AtomicU64::new(0),
            writer: Mutex::new(0),
            durable: std::array::from_fn(|_| AtomicBool::new(false)),
        })
    }

    /// One write group of one entry, as `DbInner::write` and `lead` run it.
    fn write(shared: &Shared, fsync_ok: bool) -> Written {
        let leading = shared.leadership.lock();
        shared.pipeline.wait_below(MAX_GROUPS_IN_FLIGHT);
        let seq = {
            let mut last = shared.writer.lock();
            *last += 1;
            shared.pipeline.enter(*last);
            assert!(shared.pipeline.in_flight() <= MAX_GROUPS_IN_FLIGHT);
            *last
        };
        drop(leading);
        let synced = match fsync_ok {
            true => {
                shared.durable[seq as usize].store(true, Ordering::Relaxed);
                Ok(())
            }
            false => Err(Error::invalid("fsync failed")),
        };
        let result = shared.pipeline.complete(seq, synced, &shared.visible_seq);
        let visible_after = shared.visible_seq.load(Ordering::Acquire);
        Written {
            seq,
            fsync_ok,
            result,
            visible_after,
        }
    }

    /// A reader between the writes: what it sees published is durable.
    fn check_visible_is_durable(shared: &Shared) {
        let visible = shared.visible_seq.load(Ordering::Acquire);
        for seq in 1..=visible {
            assert!(
                shared.durable[seq as usize].load(Ordering::Relaxed),
                "visible_seq {visible} passed group {seq}, which is not durable"
            );
        }
    }

    /// Runs one writer per entry of `fsyncs` (its fsync's outcome) beside a reader, then
    /// checks every outcome against the documented rule: a group succeeds exactly when its
    /// fsync and every earlier group's fsync succeeded, and `visible_seq` ends at the last
    /// such group.
    fn run(fsyncs: &'static [bool]) {
        let shared = shared();
        let writers: Vec<_> = fsyncs
            .iter()
            .map(|&ok| {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || write(&shared, ok))
            })
            .collect();
        check_visible_is_durable(&shared);
        // A join that never returns is a lost wake-up: loom reports it as a deadlock.
        let mut written: Vec<Written> = writers.into_iter().map(|w| w.join().unwrap()).collect();
        written.sort_by_key(|w| w.seq);

        let mut all_durable_so_far = true;
        let mut last_good = 0;
        for w in &written {
            all_durable_so_far &= w.fsync_ok;
            if all_durable_so_far {
                last_good = w.seq;
                assert!(w.result.is_ok(), "group {} failed", w.seq);
                assert!(w.visible_after >= w.seq, "group {} unpublished", w.seq);
            } else {
                let e = w
                    .result
                    .as_ref()
                    .expect_err("acknowledged after a failed fsync");
                assert!(e.to_string().contains("fsync failed"), "{e}");
            }
        }
        check_visible_is_durable(&shared);
        assert_eq!(shared.visible_seq.load(Ordering::Acquire), last_good);
        // Every group completed: nothing is left in flight.
        shared.pipeline.drain();
        assert_eq!(shared.pipeline.in_flight(), 0);
        // After a failure, later groups fail too, whatever their fsync said.
        if last_good < written.len() as SeqNum {
            shared.pipeline.enter(WRITERS as SeqNum + 1);
            let later =
                shared
                    .pipeline
                    .complete(WRITERS as SeqNum + 1, Ok(()), &shared.visible_seq);
            assert!(later.is_err());
            assert_eq!(shared.visible_seq.load(Ordering::Acquire), last_good);
        }
    }

    #[test]
    fn loom_two_writers_fsyncs_succeed_in_any_order() {
        model("loom_two_writers_fsyncs_succeed_in_any_order", || {
            run(&[true, true])
        });
    }

    #[test]
    fn loom_two_writers_one_fsync_fails() {
        model("loom_two_writers_one_fsync_fails", || run(&[false, true]));
    }

    #[test]
    fn loom_three_writers_wait_for_room_and_complete_in_order() {
        model(
            "loom_three_writers_wait_for_room_and_complete_in_order",
            || run(&[true, true, true]),
        );
    }

    #[test]
    fn loom_three_writers_one_fsync_fails() {
        model("loom_three_writers_one_fsync_fails", || {
            run(&[true, false, true])
        });
    }
}

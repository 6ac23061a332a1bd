//! Group commit: the queue of writers, the leader that commits a group of them, and the
//! handover of the leadership. What a group's commit does (WAL, memtable, fsync) is the
//! caller's [`GroupCommit`]: `DbInner` in `write.rs`, a model in the `loom_model` tests below.
//!
//! A writer that finds no leader becomes the leader and commits its own batch at once,
//! borrowed, with no copy (the path of a single writer). Writers that arrive while a leader
//! is busy queue up (with a copy of their batch) and wait; once the leader's commit step is
//! done it hands the leadership to the first of them, which takes every batch queued (up to
//! `max_group_bytes`) as its group, while the old leader finishes its group (the fsync) and
//! tells its followers the outcome. One leader at a time runs `GroupCommit::commit`.
//!
//! Any thread may call [`WriteQueue::write`]. The locks come from `crate::sync`, so that
//! `make loom` can check this protocol under every interleaving.

use crate::batch::WriteBatch;
use crate::sync::{Arc, Condvar, Mutex};
use crate::{Error, Result};
use std::collections::VecDeque;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};

/// The steps of a group's commit, run by its leader.
pub(crate) trait GroupCommit {
    /// What is left to do once the leadership is handed on (the fsync).
    type Committed;

    /// Runs when a writer becomes the leader, before it takes the queued writers. Returns
    /// whether a leader that found the queue idle should take writers that queued meanwhile
    /// (worth it only if this waited); a leader handed the leadership always takes them.
    fn before_leading(&self) -> bool;

    /// Commits `group` (the only leader does this at a time).
    fn commit(&self, group: &Group<'_>) -> Result<Self::Committed>;

    /// Finishes a committed group after the leadership was handed on; the group's outcome.
    fn finish(&self, committed: Self::Committed) -> Result<()>;

    /// The error every writer of a group gets when its commit panicked (the panic itself
    /// goes on to the leader's caller).
    fn panicked(&self) -> Error;
}

/// What the leader of a group commits: its own batch (borrowed when it arrived to an idle
/// queue) and the queued writers it took.
pub(crate) struct Group<'a> {
    own: &'a WriteBatch,
    followers: Vec<Arc<QueuedWrite>>,
}

impl Group<'_> {
    pub(crate) fn batches(&self) -> impl Iterator<Item = &WriteBatch> {
        std::iter::once(self.own).chain(self.followers.iter().map(|f| &f.batch))
    }

    /// The leader's batch alone, when nobody else is in the group.
    pub(crate) fn alone(&self) -> Option<&WriteBatch> {
        self.followers.is_empty().then_some(self.own)
    }

    pub(crate) fn len(&self) -> usize {
        self.followers.len() + 1
    }
}

/// The engine's cap on a group's bytes (`WriteQueue::default`).
const MAX_GROUP_BYTES: usize = 1 << 20;

/// The group-commit queue.
#[derive(Debug)]
pub(crate) struct WriteQueue {
    state: Mutex<QueueState>,
    /// A leader stops adding queued batches to its group past this many bytes, so that one
    /// small write does not wait behind a huge group.
    max_group_bytes: usize,
}

#[derive(Debug, Default)]
struct QueueState {
    /// A leader is committing: writers arriving now queue up.
    leading: bool,
    waiting: VecDeque<Arc<QueuedWrite>>,
}

/// A writer waiting in the queue.
#[derive(Debug)]
struct QueuedWrite {
    batch: WriteBatch,
    /// Set by a leader: the leadership, or the outcome of the group this write was
    /// committed in. `None` while waiting.
    turn: Mutex<Option<Turn>>,
    woken: Condvar,
}

#[derive(Debug)]
enum Turn {
    Lead,
    Done(Result<()>),
}

impl QueuedWrite {
    fn give(&self, turn: Turn) {
        *self.turn.lock() = Some(turn);
        self.woken.notify_one();
    }
}

impl Default for WriteQueue {
    fn default() -> Self {
        Self::new(MAX_GROUP_BYTES)
    }
}

impl WriteQueue {
    pub(crate) fn new(max_group_bytes: usize) -> Self {
        Self {
            state: Mutex::new(QueueState::default()),
            max_group_bytes,
        }
    }

    /// Commits `batch` through group commit: as the leader of a group, or as a follower in
    /// someone else's. Returns the outcome of the group it was committed in.
    pub(crate) fn write<C: GroupCommit>(&self, batch: &WriteBatch, committer: &C) -> Result<()> {
        let mut queue = self.state.lock();
        if !queue.leading {
            // Nobody is committing: lead, with a group of this batch alone unless others
            // queued while this one waited.
            queue.leading = true;
            drop(queue);
            let mut followers = Vec::new();
            if committer.before_leading() {
                followers = self.take_queued(batch.approximate_bytes());
            }
            return self.lead(
                Group {
                    own: batch,
                    followers,
                },
                committer,
            );
        }
        let me = Arc::new(QueuedWrite {
            batch: batch.clone(),
            turn: Mutex::new(None),
            woken: Condvar::new(),
        });
        queue.waiting.push_back(Arc::clone(&me));
        drop(queue);
        let mut turn = me.turn.lock();
        loop {
            match turn.take() {
                Some(Turn::Done(result)) => return result,
                Some(Turn::Lead) => break,
                None => turn = me.woken.wait(turn),
            }
        }
        drop(turn);
        // Handed the leadership: the group is this write and every one queued behind it
        // (whatever `before_leading` says: they queued behind a busy leader).
        committer.before_leading();
        let followers = self.take_queued(me.batch.approximate_bytes());
        self.lead(
            Group {
                own: &me.batch,
                followers,
            },
            committer,
        )
    }

    /// Takes queued writers, oldest first, while the group stays within `max_group_bytes`
    /// (`bytes` already in it).
    fn take_queued(&self, mut bytes: usize) -> Vec<Arc<QueuedWrite>> {
        let mut queue = self.state.lock();
        let mut taken = Vec::new();
        while let Some(next) = queue.waiting.front() {
            bytes += next.batch.approximate_bytes();
            if bytes > self.max_group_bytes {
                break;
            }
            taken.extend(queue.waiting.pop_front());
        }
        taken
    }

    /// Commits `group` as its leader, hands the leadership on, finishes the group and tells
    /// the followers. Returns the leader's own outcome.
    fn lead<C: GroupCommit>(&self, group: Group<'_>, committer: &C) -> Result<()> {
        // A panic must not leave followers (or the next leader) waiting forever: everyone
        // gets an error, and the panic goes on to the caller (the C layer reports it).
        let committed = catch_unwind(AssertUnwindSafe(|| committer.commit(&group)));
        self.hand_over_leadership();
        let (result, panic) = match committed {
            Ok(Ok(committed)) => (committer.finish(committed), None),
            Ok(Err(e)) => (Err(e), None),
            Err(payload) => (Err(committer.panicked()), Some(payload)),
        };
        for follower in &group.followers {
            let theirs = match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(e.duplicate()),
            };
            follower.give(Turn::Done(theirs));
        }
        if let Some(payload) = panic {
            resume_unwind(payload);
        }
        result
    }

    /// Hands the leadership to the first queued writer, or leaves the queue idle.
    fn hand_over_leadership(&self) {
        let mut queue = self.state.lock();
        match queue.waiting.pop_front() {
            Some(next) => {
                drop(queue);
                next.give(Turn::Lead);
            }
            None => queue.leading = false,
        }
    }

    /// Writers waiting in the queue now.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        self.state.lock().waiting.len()
    }

    /// Whether a leader is committing now.
    #[cfg(all(test, loom))]
    fn leading(&self) -> bool {
        self.state.lock().leading
    }
}

/// Models of group commit for loom (`make loom`): writers run [`WriteQueue::write`] with a
/// committer that records every group, checks that one leader commits at a time, and fails
/// where the test says; in the pipelined models it also enters each group into a
/// [`SyncPipeline`](super::pipeline::SyncPipeline) and completes it after the handover, as
/// `DbInner` does with `sync_writes`. loom runs each under every interleaving of its threads
/// (up to `LOOM_MAX_PREEMPTIONS`).
#[cfg(all(test, loom))]
mod loom_model {
    use super::*;
    use crate::db::pipeline::{SyncPipeline, MAX_GROUPS_IN_FLIGHT};
    use crate::sync::{check_model, AtomicU64};
    use crate::types::SeqNum;
    use loom::sync::atomic::AtomicBool;
    use std::sync::atomic::Ordering;

    /// A writer's batch: one put whose key is the writer's id.
    fn batch(id: u8) -> WriteBatch {
        let mut batch = WriteBatch::new();
        batch.put(&[id], b"value").unwrap();
        batch
    }

    fn id(batch: &WriteBatch) -> u8 {
        batch.ops().next().unwrap().key[0]
    }

    struct Pipelined {
        pipeline: SyncPipeline,
        visible_seq: AtomicU64,
        last_seq: Mutex<SeqNum>,
    }

    struct Committer {
        /// Set while a leader runs `commit`: two at once is a broken queue.
        committing: AtomicBool,
        /// Every group committed, in commit order: its writers' ids. (Records for the checks,
        /// not part of the protocol: std's mutex, which loom does not schedule around.)
        committed: std::sync::Mutex<Vec<Vec<u8>>>,
        /// Every group whose commit failed or panicked.
        failed: std::sync::Mutex<Vec<Vec<u8>>>,
        /// Whether a leader that found the queue idle takes writers queued meanwhile.
        gather: bool,
        /// The commit of the group holding this writer fails.
        fail_commit: Option<u8>,
        /// The commit of the group holding this writer panics.
        panic_commit: Option<u8>,
        /// The fsync of the group holding this writer fails (pipelined models).
        fail_fsync: Option<u8>,
        /// The largest group in bytes (a group of one batch may be larger).
        max_group_bytes: usize,
        pipelined: Option<Pipelined>,
    }

    impl Committer {
        fn new() -> Self {
            Committer {
                committing: AtomicBool::new(false),
                committed: std::sync::Mutex::new(Vec::new()),
                failed: std::sync::Mutex::new(Vec::new()),
                gather: false,
                fail_commit: None,
                panic_commit: None,
                fail_fsync: None,
                max_group_bytes: MAX_GROUP_BYTES,
                pipelined: None,
            }
        }

        fn pipelined() -> Self {
            Committer {
                pipelined: Some(Pipelined {
                    pipeline: SyncPipeline::default(),
                    visible_seq: AtomicU64::new(0),
                    last_seq: Mutex::new(0),
                }),
                ..Committer::new()
            }
        }
    }

    impl GroupCommit for Committer {
        /// The group's last sequence number (pipelined) and whether its fsync succeeds.
        type Committed = Option<(SeqNum, bool)>;

        fn before_leading(&self) -> bool {
            match &self.pipelined {
                Some(p) => {
                    p.pipeline.wait_below(MAX_GROUPS_IN_FLIGHT);
                    true
                }
                None => self.gather,
            }
        }

        fn commit(&self, group: &Group<'_>) -> Result<Self::Committed> {
            assert!(
                !self.committing.swap(true, Ordering::Relaxed),
                "two leaders commit at once"
            );
            let ids: Vec<u8> = group.batches().map(id).collect();
            let bytes: usize = group.batches().map(WriteBatch::approximate_bytes).sum();
            assert!(
                ids.len() == 1 || bytes <= self.max_group_bytes,
                "group {ids:?} over the byte cap"
            );
            let fails = |who: Option<u8>| who.is_some_and(|w| ids.contains(&w));
            if fails(self.panic_commit) {
                self.failed.lock().unwrap().push(ids.clone());
                self.committing.store(false, Ordering::Relaxed);
                // Unwinds without the panic hook: nothing printed for each interleaving.
                std::panic::resume_unwind(Box::new("commit panicked"));
            }
            let result = if fails(self.fail_commit) {
                self.failed.lock().unwrap().push(ids.clone());
                Err(Error::invalid("commit failed"))
            } else {
                let pending = self.pipelined.as_ref().map(|p| {
                    let mut last = p.last_seq.lock();
                    *last += ids.len() as SeqNum;
                    p.pipeline.enter(*last);
                    (*last, !fails(self.fail_fsync))
                });
                self.committed.lock().unwrap().push(ids);
                Ok(pending)
            };
            self.committing.store(false, Ordering::Relaxed);
            result
        }

        fn finish(&self, committed: Self::Committed) -> Result<()> {
            let (Some(p), Some((last_seq, fsync_ok))) = (&self.pipelined, committed) else {
                return Ok(());
            };
            let synced = match fsync_ok {
                true => Ok(()),
                false => Err(Error::invalid("fsync failed")),
            };
            p.pipeline.complete(last_seq, synced, &p.visible_seq)
        }

        fn panicked(&self) -> Error {
            Error::invalid("panicked")
        }
    }

    /// Runs `writers` writers through `queue` with `committer` (built anew for each run by
    /// `setup`), then checks: every write was committed in exactly one group or failed with
    /// its group; a write succeeded exactly when its group's commit, its group's fsync and
    /// every earlier group's fsync did; and the queue is idle.
    fn run(writers: u8, setup: impl Fn() -> (WriteQueue, Committer)) {
        let (queue, committer) = setup();
        let shared = Arc::new((queue, committer));
        let threads: Vec<_> = (0..writers)
            .map(|w| {
                let shared = Arc::clone(&shared);
                loom::thread::spawn(move || {
                    let (queue, committer) = &*shared;
                    // A leader whose commit panicked passes the panic on: caught here.
                    catch_unwind(AssertUnwindSafe(|| queue.write(&batch(w), committer)))
                })
            })
            .collect();
        // A join that never returns is a writer never woken: loom reports a deadlock.
        let outcomes: Vec<std::thread::Result<Result<()>>> =
            threads.into_iter().map(|t| t.join().unwrap()).collect();
        let result = |w: u8| match &outcomes[w as usize] {
            Ok(result) => result.as_ref(),
            Err(_) => panic!("writer {w} panicked"),
        };
        let (queue, committer) = &*shared;

        let committed = committer.committed.lock().unwrap().clone();
        let failed = committer.failed.lock().unwrap().clone();
        let mut seen: Vec<u8> = committed.iter().chain(&failed).flatten().copied().collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..writers).collect::<Vec<u8>>(),
            "committed once each"
        );

        let mut fsyncs_good = true;
        for group in &committed {
            fsyncs_good &= !committer.fail_fsync.is_some_and(|w| group.contains(&w));
            for &w in group {
                match result(w) {
                    Ok(()) => assert!(fsyncs_good, "writer {w} acknowledged after a failure"),
                    Err(e) => {
                        assert!(!fsyncs_good, "writer {w} failed in a good group: {e}");
                        assert!(e.to_string().contains("fsync failed"), "{e}");
                    }
                }
            }
        }
        for group in &failed {
            if committer.panic_commit.is_some_and(|p| group.contains(&p)) {
                // The leader (its own batch first) passed the panic on; the followers got
                // an error.
                assert!(
                    outcomes[group[0] as usize].is_err(),
                    "the panic was swallowed"
                );
                for &w in &group[1..] {
                    let e = result(w).unwrap_err();
                    assert!(e.to_string().contains("panicked"), "{e}");
                }
                continue;
            }
            assert!(group.contains(&committer.fail_commit.unwrap()));
            for &w in group {
                let e = result(w).unwrap_err();
                assert!(e.to_string().contains("commit failed"), "{e}");
            }
        }
        assert_eq!(queue.queued(), 0);
        assert!(!queue.leading(), "the leadership was never given back");
        if let Some(p) = &committer.pipelined {
            p.pipeline.drain();
            let ok: Vec<u8> = (0..writers).filter(|&w| result(w).is_ok()).collect();
            assert_eq!(p.visible_seq.load(Ordering::Acquire), ok.len() as SeqNum);
        }
    }

    /// Three writers through a queue of `max_group_bytes` with `committer`, each built anew
    /// for every interleaving.
    fn three_writers(name: &str, max_group_bytes: usize, committer: fn() -> Committer) {
        check_model(name, move || {
            run(3, || (WriteQueue::new(max_group_bytes), committer()))
        });
    }

    #[test]
    fn loom_group_commit_every_write_once_one_leader_at_a_time() {
        three_writers(
            "loom_group_commit_every_write_once_one_leader_at_a_time",
            MAX_GROUP_BYTES,
            Committer::new,
        );
    }

    #[test]
    fn loom_group_commit_leaders_that_gather_on_an_idle_queue() {
        three_writers(
            "loom_group_commit_leaders_that_gather_on_an_idle_queue",
            MAX_GROUP_BYTES,
            || Committer {
                gather: true,
                ..Committer::new()
            },
        );
    }

    #[test]
    fn loom_group_commit_a_failed_commit_fails_its_whole_group_only() {
        three_writers(
            "loom_group_commit_a_failed_commit_fails_its_whole_group_only",
            MAX_GROUP_BYTES,
            || Committer {
                fail_commit: Some(1),
                ..Committer::new()
            },
        );
    }

    #[test]
    fn loom_group_commit_a_panicking_leader_fails_its_group_and_hands_over() {
        three_writers(
            "loom_group_commit_a_panicking_leader_fails_its_group_and_hands_over",
            MAX_GROUP_BYTES,
            || Committer {
                panic_commit: Some(1),
                ..Committer::new()
            },
        );
    }

    /// Room for two batches: a leader that gathers on an idle queue may find both others
    /// queued, and must leave one for the next group.
    fn two_batches() -> usize {
        2 * batch(0).approximate_bytes()
    }

    #[test]
    fn loom_group_commit_groups_stay_within_their_byte_cap() {
        three_writers(
            "loom_group_commit_groups_stay_within_their_byte_cap",
            two_batches(),
            || Committer {
                max_group_bytes: two_batches(),
                gather: true,
                ..Committer::new()
            },
        );
    }

    #[test]
    fn loom_group_commit_with_pipelined_fsyncs() {
        three_writers(
            "loom_group_commit_with_pipelined_fsyncs",
            MAX_GROUP_BYTES,
            Committer::pipelined,
        );
    }

    #[test]
    fn loom_group_commit_a_failed_pipelined_fsync_fails_the_groups_behind_it() {
        three_writers(
            "loom_group_commit_a_failed_pipelined_fsync_fails_the_groups_behind_it",
            MAX_GROUP_BYTES,
            || Committer {
                fail_fsync: Some(1),
                ..Committer::pipelined()
            },
        );
    }
}

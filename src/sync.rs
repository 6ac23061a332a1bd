//! The synchronisation types of the write path's thread protocols (the group-commit queue in
//! `db/write_queue.rs`, the sync pipeline in `db/pipeline.rs`), switched for model checking.
//!
//! A normal build gets parking_lot's `Mutex` (no poisoning: a caught panic at the C boundary
//! must not wedge the database) and std's `Arc` and atomics, unchanged. A build with
//! `--cfg loom` (`make loom`) gets loom's types instead, so that loom can run those modules'
//! models under every interleaving of their threads. The one difference in shape is
//! `Condvar::wait`, which takes and returns the guard as std's (and loom's) does; for
//! parking_lot that is a move of the guard, nothing more. loom is a dev-dependency, so a
//! `--cfg loom` build is the library's unit tests (`cargo test --lib`) and nothing else.

#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{atomic::AtomicU64, Arc};

#[cfg(loom)]
pub(crate) use loom::sync::{atomic::AtomicU64, Arc, MutexGuard};

/// A condition variable whose `wait` takes the guard and gives it back.
#[derive(Debug, Default)]
pub(crate) struct Condvar {
    #[cfg(not(loom))]
    inner: parking_lot::Condvar,
    #[cfg(loom)]
    inner: loom::sync::Condvar,
}

impl Condvar {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Releases the lock of `guard`, waits for a notification (or a spurious wake-up), and
    /// returns the lock held again.
    #[cfg(not(loom))]
    pub(crate) fn wait<'a, T>(&self, mut guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner.wait(&mut guard);
        guard
    }

    #[cfg(loom)]
    pub(crate) fn wait<'a, T>(&self, guard: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.inner
            .wait(guard)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn notify_one(&self) {
        self.inner.notify_one();
    }

    pub(crate) fn notify_all(&self) {
        self.inner.notify_all();
    }
}

/// loom's mutex without poisoning, as parking_lot's.
#[cfg(loom)]
#[derive(Debug, Default)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Checks `f` under every interleaving of its threads within loom's bound on preemptions
/// (`LOOM_MAX_PREEMPTIONS`, 2 unless set), and says how many it ran.
#[cfg(all(test, loom))]
pub(crate) fn check_model(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(2);
    }
    let runs = std::sync::Arc::new(AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&runs);
    builder.check(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let bound = builder.preemption_bound.unwrap_or(0);
    let runs = runs.load(Ordering::Relaxed);
    println!("loom: {name}: {runs} interleavings (preemption bound {bound})");
}

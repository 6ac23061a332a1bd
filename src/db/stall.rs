//! Write stalls: slowing writers down, then stopping them, while background work falls
//! behind, so that reads and disk use stay bounded (LevelDB's L0 triggers, RocksDB's limits
//! on pending compaction bytes).
//!
//! - L0 at `l0_slowdown_trigger` files: each write sleeps about a millisecond (LevelDB).
//! - Pending compaction bytes (`policy::pending_compaction_bytes`) past
//!   `soft_pending_compaction_bytes`: writes are paced to a rate that falls from 16 MiB/s at
//!   the soft limit towards nothing at the hard limit, so the further behind compaction is,
//!   the more of the disk it gets.
//! - Stops, under the writer lock (`write.rs`, `make_room`): L0 at `l0_stop_trigger`, pending
//!   bytes at `hard_pending_compaction_bytes`, or every frozen memtable slot taken: writers
//!   wait until the background threads catch up.
//!
//! The write path reads the version's shape from [`Pressure`], two atomics kept current with
//! every installed version, never from `current`. Every stall is counted by cause for
//! `toykv.stats`.

use super::DbInner;
use crate::compaction::policy;
use crate::options::Options;
use crate::version::Version;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a write sleeps while L0 holds `l0_slowdown_trigger` files (LevelDB's delay:
/// measured against pacing writes at a rate there instead, no better on the fill workloads).
const L0_SLOWDOWN_DELAY: Duration = Duration::from_millis(1);
/// The write rate allowed at the soft limit of pending bytes (RocksDB's default
/// `delayed_write_rate`); it falls linearly to `MIN_DELAYED_RATE` at the hard limit.
const MAX_DELAYED_RATE: f64 = 16.0 * 1024.0 * 1024.0;
const MIN_DELAYED_RATE: f64 = 64.0 * 1024.0;
/// Paced writers sleep once their debt reaches this, not for every write.
const MIN_SLEEP: Duration = Duration::from_millis(1);

/// The current version's shape as the write path sees it.
#[derive(Debug, Default)]
pub(crate) struct Pressure {
    l0_files: AtomicUsize,
    pending_bytes: AtomicU64,
}

impl Pressure {
    /// Records the shape of `version`, about to be installed.
    pub(crate) fn update(&self, version: &Version, opts: &Options) {
        self.l0_files
            .store(version.files(0).len(), Ordering::Relaxed);
        self.pending_bytes.store(
            policy::pending_compaction_bytes(version, opts),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn l0_files(&self) -> usize {
        self.l0_files.load(Ordering::Relaxed)
    }

    pub(crate) fn pending_bytes(&self) -> u64 {
        self.pending_bytes.load(Ordering::Relaxed)
    }
}

/// Why writers were slowed down or stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StallCause {
    L0Slowdown,
    PendingSlowdown,
    /// Every frozen memtable slot taken: waiting for a flush.
    Memtables,
    L0Stop,
    PendingStop,
}

impl StallCause {
    const ALL: [StallCause; 5] = [
        StallCause::L0Slowdown,
        StallCause::PendingSlowdown,
        StallCause::Memtables,
        StallCause::L0Stop,
        StallCause::PendingStop,
    ];

    fn is_stop(self) -> bool {
        matches!(
            self,
            StallCause::Memtables | StallCause::L0Stop | StallCause::PendingStop
        )
    }

    fn describe(self) -> &'static str {
        match self {
            StallCause::L0Slowdown => "L0 slowdown",
            StallCause::PendingSlowdown => "pending-bytes slowdown",
            StallCause::Memtables => "stop for a flush",
            StallCause::L0Stop => "stop for L0",
            StallCause::PendingStop => "stop for pending bytes",
        }
    }
}

/// Stall counters by cause.
#[derive(Debug, Default)]
pub(crate) struct StallStats {
    count: [AtomicU64; 5],
    micros: [AtomicU64; 5],
    longest_micros: AtomicU64,
}

impl StallStats {
    pub(crate) fn record(&self, cause: StallCause, waited: Duration) {
        let i = cause as usize;
        let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
        self.count[i].fetch_add(1, Ordering::Relaxed);
        self.micros[i].fetch_add(micros, Ordering::Relaxed);
        self.longest_micros.fetch_max(micros, Ordering::Relaxed);
    }

    /// Delays (slowdowns) and stops, each summed over their causes.
    pub(crate) fn delays_and_stops(&self) -> (u64, u64) {
        StallCause::ALL
            .iter()
            .fold((0, 0), |(delays, stops), &cause| {
                let n = self.count[cause as usize].load(Ordering::Relaxed);
                match cause.is_stop() {
                    true => (delays, stops + n),
                    false => (delays + n, stops),
                }
            })
    }

    pub(crate) fn longest(&self) -> Duration {
        Duration::from_micros(self.longest_micros.load(Ordering::Relaxed))
    }

    /// "L0 slowdown 3 (4.1 ms), ..." for every cause that happened.
    pub(crate) fn by_cause(&self) -> String {
        let parts: Vec<String> = StallCause::ALL
            .iter()
            .filter_map(|&cause| {
                let n = self.count[cause as usize].load(Ordering::Relaxed);
                let ms = self.micros[cause as usize].load(Ordering::Relaxed) as f64 / 1000.0;
                (n > 0).then(|| format!("{} {n} ({ms:.1} ms)", cause.describe()))
            })
            .collect();
        match parts.is_empty() {
            true => "none".to_string(),
            false => parts.join(", "),
        }
    }
}

/// Paces writes while pending compaction bytes are past the soft limit: the time the next
/// write may start, pushed forward by each write's bytes at the allowed rate.
#[derive(Debug, Default)]
pub(crate) struct WritePacer {
    next_at: Mutex<Option<Instant>>,
}

impl DbInner {
    /// Before a write of `bytes` joins the queue: sleeps while L0 is at its slowdown trigger
    /// (about a millisecond) or pending compaction bytes are past the soft limit (for as long
    /// as the allowed rate asks).
    pub(crate) fn delay_if_behind(&self, bytes: usize) {
        let l0 = self.pressure.l0_files();
        if l0 >= self.opts.l0_slowdown_trigger && l0 < self.opts.l0_stop_trigger {
            let started = Instant::now();
            std::thread::sleep(L0_SLOWDOWN_DELAY);
            self.stats
                .stalls
                .record(StallCause::L0Slowdown, started.elapsed());
            return;
        }
        let Some(rate) = self.delayed_write_rate() else {
            return;
        };
        let now = Instant::now();
        let wake_at = {
            let mut next_at = self.pacer.next_at.lock();
            // No credit for time spent under the limit: pacing starts from now.
            let start = next_at.filter(|at| *at > now).unwrap_or(now);
            let next = start + Duration::from_secs_f64(bytes as f64 / rate);
            *next_at = Some(next);
            next
        };
        if wake_at.duration_since(now) >= MIN_SLEEP {
            std::thread::sleep(wake_at.duration_since(now));
            self.stats
                .stalls
                .record(StallCause::PendingSlowdown, now.elapsed());
        }
    }

    /// The write rate allowed now, in bytes per second, when pending compaction bytes are
    /// past the soft limit (and below the hard one, where writes stop instead): 16 MiB/s at
    /// the soft limit, falling linearly towards the hard one.
    fn delayed_write_rate(&self) -> Option<f64> {
        let soft = self.opts.soft_pending_compaction_bytes;
        let pending = self.pressure.pending_bytes();
        if soft == 0 || pending < soft {
            return None;
        }
        let room = match self.opts.hard_pending_compaction_bytes {
            0 => 1.0,
            hard if hard <= soft => 0.0,
            hard => hard.saturating_sub(pending) as f64 / (hard - soft) as f64,
        };
        Some((MAX_DELAYED_RATE * room).max(MIN_DELAYED_RATE))
    }

    /// Whether writers must wait for compaction: L0 at its stop trigger, or pending bytes at
    /// the hard limit. Which, if so.
    pub(crate) fn compaction_stop(&self) -> Option<StallCause> {
        let hard = self.opts.hard_pending_compaction_bytes;
        if self.pressure.l0_files() >= self.opts.l0_stop_trigger {
            Some(StallCause::L0Stop)
        } else if hard > 0 && self.pressure.pending_bytes() >= hard {
            Some(StallCause::PendingStop)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stalls_are_counted_by_cause_and_the_longest_kept() {
        let stats = StallStats::default();
        assert_eq!(stats.by_cause(), "none");
        stats.record(StallCause::L0Slowdown, Duration::from_millis(1));
        stats.record(StallCause::PendingSlowdown, Duration::from_millis(3));
        stats.record(StallCause::PendingStop, Duration::from_millis(20));
        stats.record(StallCause::Memtables, Duration::from_millis(2));
        assert_eq!(stats.delays_and_stops(), (2, 2));
        assert_eq!(stats.longest(), Duration::from_millis(20));
        let text = stats.by_cause();
        assert!(text.contains("pending-bytes slowdown 1 (3.0 ms)"), "{text}");
        assert!(
            text.contains("stop for pending bytes 1 (20.0 ms)"),
            "{text}"
        );
        assert!(!text.contains("stop for L0"), "{text}");
    }
}

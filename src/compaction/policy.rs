//! The leveled compaction policy: which files to compact next. Pure: it reads a version and
//! the options, never the disk, so it can be tested (and simulated) on made-up versions.
//!
//! Level sizes are dynamic, sized from the bottom up as RocksDB's
//! `level_compaction_dynamic_level_bytes` does: the last level holds the data set, the level
//! above it may hold a `level_size_ratio`-th of that, and so on up to the *base level*, the
//! first level (going up) whose target is no more than `level1_bytes`. L0 compacts into the
//! base level, so each L0 compaction rewrites at most about `level1_bytes` of it. So the data that sits in upper levels, overwritten or not, stays about a ninth of
//! the bottom level: space amplification stays near 1.1 however large the data set grows.
//!
//! Each level gets a score: L0 by file count (`files / l0_compaction_trigger`, since every
//! L0 file is one more place a read must look), the levels from the base level down to the
//! one above the last by size against their target. The highest score at or above 1 is
//! compacted: all of L0 into the overlapping part of the base level, or one file of level n
//! (round-robin through the key space) into the overlapping part of level n+1. A single file
//! with nothing to merge with below is moved down without being rewritten.

use super::Task;
use crate::options::Options;
use crate::version::{TableFile, Version, NUM_LEVELS};
use std::sync::Arc;

/// Where each level's round-robin left off: the largest key of the file compacted last.
pub(crate) type CompactPointers = [Vec<u8>; NUM_LEVELS];

/// The deepest level: it has no size target.
pub(crate) const LAST_LEVEL: usize = NUM_LEVELS - 1;

fn level_bytes(version: &Version, level: usize) -> u64 {
    version.files(level).iter().map(|f| f.meta.size).sum()
}

/// The base level (where L0 compacts to) and each level's target size, from the largest
/// level's size down. Levels above the base level have a target of 0 (they stay empty).
pub(crate) fn level_targets(version: &Version, opts: &Options) -> (usize, [u64; NUM_LEVELS]) {
    let largest = (1..NUM_LEVELS)
        .map(|level| level_bytes(version, level))
        .max()
        .unwrap_or(0);
    let mut targets = [0u64; NUM_LEVELS];
    targets[LAST_LEVEL] = u64::MAX;
    let mut base = LAST_LEVEL;
    let mut target = largest;
    for level in (1..LAST_LEVEL).rev() {
        if target <= opts.level1_bytes {
            break;
        }
        target /= opts.level_size_ratio.max(2);
        targets[level] = target.max(1);
        base = level;
    }
    (base, targets)
}

/// The level most in need of compaction and its score (>= 1 means it needs one).
pub(crate) fn most_urgent_level(version: &Version, opts: &Options) -> Option<(usize, f64)> {
    let (_, targets) = level_targets(version, opts);
    let l0 = version.files(0).len() as f64 / opts.l0_compaction_trigger as f64;
    // Levels above the base level should be empty (the base level moved down, or data
    // arrived before it did): any bytes there are urgent. The last level has no target.
    let deeper = (1..LAST_LEVEL).map(|level| {
        let bytes = level_bytes(version, level) as f64;
        let score = match targets[level] {
            0 if bytes > 0.0 => f64::MAX,
            0 => 0.0,
            target => bytes / target as f64,
        };
        (level, score)
    });
    std::iter::once((0, l0))
        .chain(deeper)
        .filter(|(_, score)| *score >= 1.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))
}

/// The next compaction to run, if any level needs one.
pub(crate) fn pick(version: &Version, opts: &Options, pointers: &CompactPointers) -> Option<Task> {
    let (level, _) = most_urgent_level(version, opts)?;
    let (base, _) = level_targets(version, opts);
    // L0 goes to the base level; any other level to the next one down.
    let output_level = if level == 0 { base } else { level + 1 };
    let chosen: Vec<Arc<TableFile>> = if level == 0 {
        version.files(0).to_vec()
    } else {
        let files = version.files(level);
        let after = pointers.get(level).map_or(&[][..], |p| p.as_slice());
        // Round-robin: the first file past where the last compaction of this level ended.
        let next = files
            .iter()
            .find(|f| f.meta.largest.as_slice() > after)
            .or_else(|| files.first());
        next.cloned().into_iter().collect()
    };
    let (smallest, largest) = key_hull(&chosen)?;
    let below = overlapping(version, output_level, smallest, largest);
    let all_inputs: Vec<Arc<TableFile>> = chosen.iter().chain(below.iter()).cloned().collect();
    let (low, high) = key_hull(&all_inputs)?;
    let bottommost = ((output_level + 1)..NUM_LEVELS)
        .all(|deeper| overlapping(version, deeper, low, high).is_empty());
    let trivial_move = chosen.len() == 1 && below.is_empty();
    let inputs = chosen
        .into_iter()
        .map(|f| (level, f))
        .chain(below.into_iter().map(|f| (output_level, f)))
        .collect();
    Some(Task {
        inputs,
        output_level,
        bottommost,
        trivial_move,
    })
}

/// The smallest and largest user keys over `files`.
fn key_hull(files: &[Arc<TableFile>]) -> Option<(&[u8], &[u8])> {
    let smallest = files.iter().map(|f| f.meta.smallest.as_slice()).min()?;
    let largest = files.iter().map(|f| f.meta.largest.as_slice()).max()?;
    Some((smallest, largest))
}

/// Files of `level` whose key range meets `[smallest, largest]`.
fn overlapping(
    version: &Version,
    level: usize,
    smallest: &[u8],
    largest: &[u8],
) -> Vec<Arc<TableFile>> {
    version
        .files(level)
        .iter()
        .filter(|f| f.meta.smallest.as_slice() <= largest && smallest <= f.meta.largest.as_slice())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::test_file;

    fn options() -> Options {
        Options {
            l0_compaction_trigger: 4,
            level1_bytes: 1000,
            level_size_ratio: 10,
            ..Options::default()
        }
    }

    /// A version from (level, number, smallest, largest, size) tuples.
    fn version(files: &[(usize, u64, &str, &str, u64)]) -> Version {
        let added = files
            .iter()
            .map(|&(level, number, lo, hi, size)| (level, test_file(number, lo, hi, size)))
            .collect();
        Version::default().apply(&[], added).unwrap()
    }

    fn numbers(task: &Task) -> Vec<(usize, u64)> {
        task.inputs
            .iter()
            .map(|(l, f)| (*l, f.meta.number))
            .collect()
    }

    #[test]
    fn level_targets_follow_the_bottom_level() {
        let v = version(&[(6, 1, "a", "z", 1_000_000)]);
        let (base, targets) = level_targets(&v, &options());
        assert_eq!(base, 3);
        assert_eq!(&targets[..6], &[0, 0, 0, 1000, 10_000, 100_000]);
        // A small database has no intermediate levels: L0 compacts into the last level.
        let v = version(&[(6, 1, "a", "z", 900)]);
        assert_eq!(level_targets(&v, &options()).0, LAST_LEVEL);
        assert_eq!(level_targets(&Version::default(), &options()).0, LAST_LEVEL);
    }

    #[test]
    fn nothing_to_do_while_every_level_is_within_its_target() {
        let v = version(&[
            (0, 1, "a", "z", 10),
            (5, 2, "a", "m", 400),
            (6, 3, "a", "z", 5000),
        ]);
        assert!(pick(&v, &options(), &Default::default()).is_none());
    }

    #[test]
    fn l0_at_its_trigger_merges_into_every_overlapping_base_level_file() {
        let v = version(&[
            (0, 1, "c", "d", 10),
            (0, 2, "a", "b", 10),
            (0, 3, "x", "y", 10),
            (0, 4, "e", "f", 10),
            (5, 5, "a", "c", 100),
            // Inside the L0 files' hull, though no single L0 file overlaps it.
            (5, 6, "g", "h", 100),
            (5, 7, "z", "zz", 100),
            (6, 8, "a", "zzz", 5000),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        let mut got = numbers(&task);
        got.sort();
        assert_eq!(got, vec![(0, 1), (0, 2), (0, 3), (0, 4), (5, 5), (5, 6)]);
        assert_eq!(task.output_level, 5, "the base level");
        assert!(!task.bottommost, "level 6 holds older data in range");
        assert!(!task.trivial_move);
    }

    #[test]
    fn an_oversized_level_pushes_one_file_down_round_robin() {
        let v = version(&[
            (5, 1, "a", "c", 1500),
            (5, 2, "d", "f", 1500),
            (6, 3, "b", "e", 10_000),
            (6, 4, "x", "z", 10_000),
        ]);
        let mut pointers = CompactPointers::default();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(5, 1), (6, 3)]);
        assert_eq!(task.output_level, 6);
        assert!(task.bottommost);
        pointers[5] = b"c".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(5, 2), (6, 3)]);
        pointers[5] = b"f".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task)[0], (5, 1), "wraps around");
    }

    #[test]
    fn a_file_with_nothing_below_is_moved_not_rewritten() {
        let v = version(&[
            (5, 1, "a", "c", 1500),
            (5, 2, "d", "f", 1500),
            (6, 3, "x", "z", 20_000),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        assert_eq!(numbers(&task), vec![(5, 1)]);
        assert!(task.trivial_move);
        assert_eq!(task.output_level, 6);
    }

    #[test]
    fn data_above_the_base_level_is_drained_first() {
        let v = version(&[
            (0, 1, "a", "b", 10),
            (0, 2, "a", "b", 10),
            (0, 3, "a", "b", 10),
            (0, 4, "a", "b", 10),
            (1, 5, "a", "b", 10),
            (6, 6, "a", "z", 5000),
        ]);
        assert_eq!(most_urgent_level(&v, &options()).map(|(l, _)| l), Some(1));
        let task = pick(&v, &options(), &Default::default()).unwrap();
        assert_eq!(task.output_level, 2);
    }
}

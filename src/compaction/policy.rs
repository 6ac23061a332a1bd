//! The leveled compaction policy: which files to compact next. Pure: it reads a version and
//! the options, never the disk, so it can be tested (and simulated) on made-up versions.
//!
//! Each level gets a score: L0 by file count (`files / l0_compaction_trigger`, since every
//! L0 file is one more place a read must look), deeper levels by size against their target
//! (`level1_bytes * level_size_ratio^(n-1)`). The highest score at or above 1 is compacted:
//! all of L0 into the overlapping part of L1, or one file of level n (round-robin through
//! the key space) into the overlapping part of level n+1. A single file with nothing to merge
//! with below is moved down without being rewritten.

use super::Task;
use crate::options::Options;
use crate::version::{TableFile, Version, NUM_LEVELS};
use std::sync::Arc;

/// Where each level's round-robin left off: the largest key of the file compacted last.
pub(crate) type CompactPointers = [Vec<u8>; NUM_LEVELS];

/// Target size of `level` (>= 1).
pub(crate) fn level_target_bytes(opts: &Options, level: usize) -> u64 {
    let mut target = opts.level1_bytes;
    for _ in 1..level {
        target = target.saturating_mul(opts.level_size_ratio);
    }
    target
}

fn level_bytes(version: &Version, level: usize) -> u64 {
    version.files(level).iter().map(|f| f.meta.size).sum()
}

/// The level most in need of compaction and its score (>= 1 means it needs one).
pub(crate) fn most_urgent_level(version: &Version, opts: &Options) -> Option<(usize, f64)> {
    let l0 = version.files(0).len() as f64 / opts.l0_compaction_trigger as f64;
    // The last level has no target: it holds whatever the data set needs.
    let deeper = (1..NUM_LEVELS - 1).map(|level| {
        let score = level_bytes(version, level) as f64 / level_target_bytes(opts, level) as f64;
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
    let below = overlapping(version, level + 1, smallest, largest);
    let all_inputs: Vec<Arc<TableFile>> = chosen.iter().chain(below.iter()).cloned().collect();
    let (low, high) = key_hull(&all_inputs)?;
    let bottommost =
        ((level + 2)..NUM_LEVELS).all(|deeper| overlapping(version, deeper, low, high).is_empty());
    let trivial_move = chosen.len() == 1 && below.is_empty();
    let inputs = chosen
        .into_iter()
        .map(|f| (level, f))
        .chain(below.into_iter().map(|f| (level + 1, f)))
        .collect();
    Some(Task {
        inputs,
        output_level: level + 1,
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
    fn nothing_to_do_below_every_trigger() {
        let v = version(&[(0, 1, "a", "z", 10), (1, 2, "a", "m", 900)]);
        assert!(pick(&v, &options(), &Default::default()).is_none());
    }

    #[test]
    fn l0_at_its_trigger_merges_into_every_overlapping_l1_file() {
        let v = version(&[
            (0, 1, "c", "d", 10),
            (0, 2, "a", "b", 10),
            (0, 3, "x", "y", 10),
            (0, 4, "e", "f", 10),
            (1, 5, "a", "c", 100),
            // Inside the L0 files' hull, though no single L0 file overlaps it.
            (1, 6, "g", "h", 100),
            (1, 7, "z", "zz", 100),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        let mut got = numbers(&task);
        got.sort();
        assert_eq!(got, vec![(0, 1), (0, 2), (0, 3), (0, 4), (1, 5), (1, 6)]);
        assert_eq!(task.output_level, 1);
        assert!(task.bottommost);
        assert!(!task.trivial_move);
    }

    #[test]
    fn an_oversized_level_pushes_one_file_down_round_robin() {
        let v = version(&[
            (1, 1, "a", "c", 600),
            (1, 2, "d", "f", 600),
            (2, 3, "b", "e", 100),
            (3, 4, "a", "z", 100),
        ]);
        let mut pointers = CompactPointers::default();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(1, 1), (2, 3)]);
        assert!(!task.bottommost, "level 3 holds older data in range");
        pointers[1] = b"c".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(1, 2), (2, 3)]);
        pointers[1] = b"f".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task)[0], (1, 1), "wraps around");
    }

    #[test]
    fn a_file_with_nothing_below_is_moved_not_rewritten() {
        let v = version(&[
            (1, 1, "a", "c", 600),
            (1, 2, "d", "f", 600),
            (2, 3, "x", "z", 10),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        assert_eq!(numbers(&task), vec![(1, 1)]);
        assert!(task.trivial_move);
        assert_eq!(task.output_level, 2);
    }

    #[test]
    fn the_most_urgent_level_wins_and_the_last_level_has_no_limit() {
        let v = version(&[
            (0, 1, "a", "b", 10),
            (0, 2, "a", "b", 10),
            (0, 3, "a", "b", 10),
            (0, 4, "a", "b", 10),
            (1, 5, "a", "b", 3000),
            (6, 6, "a", "z", u64::MAX / 2),
        ]);
        assert_eq!(most_urgent_level(&v, &options()).map(|(l, _)| l), Some(1));
        assert_eq!(level_target_bytes(&options(), 3), 100_000);
    }
}

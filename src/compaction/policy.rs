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
//! (round-robin through the key space) into the overlapping part of level n+1. Files with
//! nothing to merge with below, and none overlapping each other (sequential keys give such
//! L0 files), are moved down without being rewritten.
//!
//! [`pending_compaction_bytes`] estimates how far behind compaction is, in bytes still to
//! write: what the write path slows down on, and what `toykv.compaction-pending` reports.

use super::Task;
use crate::options::Options;
use crate::version::{TableFile, Version, NUM_LEVELS};
use std::sync::Arc;

/// How many output files' worth of input an expanded compaction may take at most.
const MAX_EXPANDED_FILES: u64 = 25;

/// Where each level's round-robin left off: the largest key of the file compacted last.
pub(crate) type CompactPointers = [Vec<u8>; NUM_LEVELS];

/// The deepest level: it has no size target.
pub(crate) const LAST_LEVEL: usize = NUM_LEVELS - 1;

fn level_bytes(version: &Version, level: usize) -> u64 {
    version.files(level).iter().map(|f| f.meta.size).sum()
}

/// About what one L0 compaction brings down: `l0_compaction_trigger` memtables.
fn l0_batch_bytes(opts: &Options) -> u64 {
    (opts.l0_compaction_trigger as u64).saturating_mul(opts.memtable_bytes as u64)
}

/// The base level (where L0 compacts to) and each level's target size, from the largest
/// level's size down. Levels above the base level have a target of 0 (they stay empty).
///
/// No base level is made smaller than a quarter of what one L0 compaction brings down: such
/// a level is overfull after every L0 compaction and passes nearly all of it on to the next
/// one, so every byte would be written once more for little (measured on the 200k x 10
/// overwrite: a 220 KB base level under L0 compactions of 1 MB took 1.1 bytes of writes per
/// user byte). A half instead of a quarter made the bottom level the base level of a 1M-key
/// fill for longer, and each L0 compaction rewrote all of it: 15% more compaction bytes.
pub(crate) fn level_targets(version: &Version, opts: &Options) -> (usize, [u64; NUM_LEVELS]) {
    let largest = (1..NUM_LEVELS)
        .map(|level| level_bytes(version, level))
        .max()
        .unwrap_or(0);
    let mut targets = [0u64; NUM_LEVELS];
    targets[LAST_LEVEL] = u64::MAX;
    let mut base = LAST_LEVEL;
    let mut target = largest;
    let ratio = opts.level_size_ratio.max(2);
    let smallest_base = l0_batch_bytes(opts) / 4;
    for level in (1..LAST_LEVEL).rev() {
        if target <= opts.level1_bytes || target / ratio < smallest_base {
            break;
        }
        target /= ratio;
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

/// How many bytes compaction must still write to bring every level within its target (RocksDB's
/// estimate of pending compaction bytes): with L0 at its trigger, all of L0 and the base level
/// (L0 files span the key space, so an L0 compaction rewrites the base level); then, from the
/// base level down, whatever a level holds past its target (counting what flows into it from
/// above) moves to the next level, rewriting its share of that level on the way: `excess *
/// (1 + next level / this level)`. 0 when nothing is due.
pub(crate) fn pending_compaction_bytes(version: &Version, opts: &Options) -> u64 {
    let (base, targets) = level_targets(version, opts);
    let mut pending: u64 = 0;
    let mut from_l0: u64 = 0;
    if version.files(0).len() >= opts.l0_compaction_trigger {
        from_l0 = level_bytes(version, 0);
        pending = from_l0 + level_bytes(version, base);
    }
    // Bytes moving into `level` from the level above it.
    let mut carried: u64 = 0;
    for (level, &target) in targets.iter().enumerate().take(LAST_LEVEL).skip(1) {
        let arriving = carried + if level == base { from_l0 } else { 0 };
        let size = level_bytes(version, level) + arriving;
        // Levels above the base level have a target of 0: all they hold moves down.
        if size <= target {
            carried = 0;
            continue;
        }
        let excess = size - target;
        let below = level_bytes(version, level + 1);
        let rewritten = (u128::from(excess) * u128::from(below) / u128::from(size)) as u64;
        pending = pending.saturating_add(excess).saturating_add(rewritten);
        carried = excess;
    }
    pending
}

/// The next compaction to run, if any level needs one.
pub(crate) fn pick(version: &Version, opts: &Options, pointers: &CompactPointers) -> Option<Task> {
    let (level, _) = most_urgent_level(version, opts)?;
    let (base, _) = level_targets(version, opts);
    // L0 goes to the base level; any other level to the next one down.
    let output_level = if level == 0 { base } else { level + 1 };
    let mut chosen: Vec<Arc<TableFile>> = if level == 0 {
        version.files(0).to_vec()
    } else {
        let after = pointers.get(level).map_or(&[][..], |p| p.as_slice());
        cheapest_to_push(version, level, after)
            .into_iter()
            .collect()
    };
    let (smallest, largest) = key_hull(&chosen)?;
    let mut below = overlapping(version, output_level, smallest, largest);
    if level > 0 && !below.is_empty() {
        // More files of the level may fit inside the key range of the files below at no
        // extra cost: they add input without adding anything to rewrite (LevelDB's
        // expansion of a compaction).
        let all: Vec<Arc<TableFile>> = chosen.iter().chain(below.iter()).cloned().collect();
        let (low, high) = key_hull(&all)?;
        let expanded = overlapping(version, level, low, high);
        if expanded.len() > chosen.len() {
            let (low, high) = key_hull(&expanded)?;
            let expanded_below = overlapping(version, output_level, low, high);
            let bytes: u64 = expanded
                .iter()
                .chain(expanded_below.iter())
                .map(|f| f.meta.size)
                .sum();
            let limit = opts.target_file_bytes.saturating_mul(MAX_EXPANDED_FILES);
            if expanded_below.len() == below.len() && bytes <= limit {
                chosen = expanded;
                below = expanded_below;
            }
        }
    }
    let all_inputs: Vec<Arc<TableFile>> = chosen.iter().chain(below.iter()).cloned().collect();
    let (low, high) = key_hull(&all_inputs)?;
    let bottommost = ((output_level + 1)..NUM_LEVELS)
        .all(|deeper| overlapping(version, deeper, low, high).is_empty());
    // Nothing below to merge with, and no two chosen files overlapping each other: the
    // files can move down as they are (L0 files of sequential keys do). Several small files
    // are merged instead, so that a level does not fill up with tiny files (a flush every
    // few writes makes them).
    let big_enough = |f: &Arc<TableFile>| f.meta.size >= opts.target_file_bytes / 2;
    let trivial_move = below.is_empty()
        && !any_overlap(&chosen)
        && (chosen.len() == 1 || chosen.iter().all(big_enough));
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

/// The file of `level` whose push into the next level rewrites the least per byte pushed:
/// the smallest ratio of overlapping bytes below to its own size (RocksDB's
/// `kMinOverlappingRatio`). Ties go round-robin, to the first file past `after` (where the
/// last compaction of this level ended).
fn cheapest_to_push(version: &Version, level: usize, after: &[u8]) -> Option<Arc<TableFile>> {
    let files = version.files(level);
    let start = files.partition_point(|f| f.meta.largest.as_slice() <= after);
    let in_turn = files.iter().skip(start).chain(files.iter().take(start));
    let mut best: Option<(&Arc<TableFile>, u128)> = None;
    for file in in_turn {
        let below: u64 = overlapping(version, level + 1, &file.meta.smallest, &file.meta.largest)
            .iter()
            .map(|f| f.meta.size)
            .sum();
        // below / size, compared without division: scaled by 2^20.
        let ratio = (u128::from(below) << 20) / u128::from(file.meta.size.max(1));
        if best.is_none_or(|(_, r)| ratio < r) {
            best = Some((file, ratio));
        }
    }
    best.map(|(file, _)| Arc::clone(file))
}

/// Whether any two of `files` have overlapping key ranges.
fn any_overlap(files: &[Arc<TableFile>]) -> bool {
    let mut by_start: Vec<&Arc<TableFile>> = files.iter().collect();
    by_start.sort_by(|a, b| a.meta.smallest.cmp(&b.meta.smallest));
    by_start
        .windows(2)
        .any(|pair| pair[1].meta.smallest.as_slice() <= pair[0].meta.largest.as_slice())
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
            // L0 compactions of about 400 bytes: no base level below 100 bytes.
            memtable_bytes: 100,
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
    fn no_base_level_is_smaller_than_a_quarter_of_an_l0_compaction() {
        // L0 compactions of 4 x 5,000 bytes: a base level of 1,000 would pass on nearly all
        // of every one; the base level is the one of 10,000 instead.
        let opts = Options {
            memtable_bytes: 5000,
            ..options()
        };
        let v = version(&[(6, 1, "a", "z", 1_000_000)]);
        let (base, targets) = level_targets(&v, &opts);
        assert_eq!(base, 4);
        assert_eq!(&targets[..6], &[0, 0, 0, 0, 10_000, 100_000]);
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
    fn an_oversized_level_pushes_one_file_down_round_robin_among_equals() {
        // Both files overlap as much below, per byte: they take turns.
        let v = version(&[
            (5, 1, "a", "c", 1500),
            (5, 2, "d", "f", 1500),
            (6, 3, "b", "c", 10_000),
            (6, 4, "e", "f", 10_000),
            (6, 5, "x", "z", 10_000),
        ]);
        let mut pointers = CompactPointers::default();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(5, 1), (6, 3)]);
        assert_eq!(task.output_level, 6);
        assert!(task.bottommost);
        pointers[5] = b"c".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task), vec![(5, 2), (6, 4)]);
        pointers[5] = b"f".to_vec();
        let task = pick(&v, &options(), &pointers).unwrap();
        assert_eq!(numbers(&task)[0], (5, 1), "wraps around");
    }

    #[test]
    fn the_file_pushed_down_is_the_one_that_rewrites_least_below_per_byte() {
        let v = version(&[
            (5, 1, "a", "c", 2500),
            (5, 2, "d", "f", 2500),
            (5, 3, "g", "i", 2500),
            (6, 4, "a", "c", 30_000),
            (6, 5, "d", "f", 5_000),
            (6, 6, "g", "i", 20_000),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        assert_eq!(numbers(&task), vec![(5, 2), (6, 5)]);
    }

    #[test]
    fn files_inside_the_range_rewritten_below_join_the_compaction_for_free() {
        // File 1 overlaps file 4 below, whose range also covers file 2 (and only file 4):
        // both go down together. File 3 would pull in file 5 too, so it stays.
        let v = version(&[
            (5, 1, "a", "b", 1500),
            (5, 2, "c", "d", 1500),
            (5, 3, "e", "g", 1500),
            (6, 4, "a", "d", 10_000),
            (6, 5, "f", "h", 10_000),
        ]);
        let task = pick(&v, &options(), &Default::default()).unwrap();
        assert_eq!(numbers(&task), vec![(5, 1), (5, 2), (6, 4)]);
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

    #[test]
    fn l0_files_of_sequential_keys_move_down_together_without_a_rewrite() {
        let opts = Options {
            target_file_bytes: 20,
            ..options()
        };
        let v = version(&[
            (0, 4, "m", "n", 10),
            (0, 3, "k", "l", 10),
            (0, 2, "g", "h", 10),
            (0, 1, "e", "f", 10),
            (6, 5, "a", "d", 5000),
        ]);
        let task = pick(&v, &opts, &Default::default()).unwrap();
        assert!(task.trivial_move);
        assert_eq!(task.inputs.len(), 4);
        assert_eq!(task.output_level, 5);
        // Files smaller than half an output file are merged instead.
        let small = Options {
            target_file_bytes: 22,
            ..options()
        };
        assert!(!pick(&v, &small, &Default::default()).unwrap().trivial_move);
        // One overlapping pair, or anything below in range, and they are merged instead.
        let v = version(&[
            (0, 4, "m", "n", 10),
            (0, 3, "k", "m", 10),
            (0, 2, "g", "h", 10),
            (0, 1, "e", "f", 10),
            (6, 5, "a", "d", 5000),
        ]);
        assert!(
            !pick(&v, &options(), &Default::default())
                .unwrap()
                .trivial_move
        );
        let v = version(&[
            (0, 4, "m", "n", 10),
            (0, 3, "k", "l", 10),
            (0, 2, "g", "h", 10),
            (0, 1, "e", "f", 10),
            (5, 6, "i", "j", 100),
            (6, 5, "a", "d", 5000),
        ]);
        assert!(
            !pick(&v, &options(), &Default::default())
                .unwrap()
                .trivial_move
        );
    }

    #[test]
    fn pending_bytes_are_zero_exactly_when_no_compaction_is_due() {
        let idle = [
            version(&[]),
            version(&[(0, 1, "a", "b", 10), (6, 2, "a", "z", 5000)]),
            version(&[(5, 1, "a", "m", 400), (6, 2, "a", "z", 5000)]),
        ];
        for v in &idle {
            assert!(most_urgent_level(v, &options()).is_none());
            assert_eq!(pending_compaction_bytes(v, &options()), 0);
        }
        let due = [
            version(&[
                (0, 1, "a", "b", 10),
                (0, 2, "a", "b", 10),
                (0, 3, "a", "b", 10),
                (0, 4, "a", "b", 10),
            ]),
            version(&[(5, 1, "a", "m", 1500), (6, 2, "a", "z", 5000)]),
            version(&[(2, 1, "a", "m", 1), (6, 2, "a", "z", 5000)]),
        ];
        for v in &due {
            assert!(most_urgent_level(v, &options()).is_some());
            assert!(pending_compaction_bytes(v, &options()) > 0);
        }
    }

    #[test]
    fn pending_bytes_count_what_each_level_pushes_down_and_rewrites_below() {
        // Targets (level1_bytes 1000, ratio 10, 100,000 bytes at the bottom): L4 1,000,
        // L5 10,000. L0 at its trigger: its 400 bytes and L4's 1,500 are rewritten; L4 then
        // holds 1,900, 900 over its target, which moves to L5 rewriting 900 * 9,000 / 1,900
        // of it; L5 (9,000 + 900) stays within 10,000.
        let v = version(&[
            (0, 1, "a", "z", 100),
            (0, 2, "a", "z", 100),
            (0, 3, "a", "z", 100),
            (0, 4, "a", "z", 100),
            (4, 5, "a", "z", 1500),
            (5, 6, "a", "z", 9000),
            (6, 7, "a", "z", 100_000),
        ]);
        let l0_step = 400 + 1500;
        let l4_step = 900 + 900 * 9000 / 1900;
        assert_eq!(pending_compaction_bytes(&v, &options()), l0_step + l4_step);
        // The further behind, the larger.
        let behind = version(&[
            (0, 1, "a", "z", 100),
            (0, 2, "a", "z", 100),
            (0, 3, "a", "z", 100),
            (0, 4, "a", "z", 100),
            (4, 5, "a", "z", 1500),
            (5, 6, "a", "z", 30_000),
            (6, 7, "a", "z", 100_000),
        ]);
        assert!(
            pending_compaction_bytes(&behind, &options())
                > pending_compaction_bytes(&v, &options())
        );
    }
}

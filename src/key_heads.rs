//! Binary search over a sorted list of byte strings by integer comparisons.
//!
//! A [`KeyHeads`] is built once from keys in ascending order (an sstable's index separators,
//! a level's file boundaries) and then only read, by any number of threads. It sets aside
//! the prefix every key shares and keeps, per key, the next eight bytes as one big-endian
//! `u64` (its *head*) in a contiguous array. Integer order agrees with byte order wherever
//! two heads differ, so a search is a binary search over a few cache lines of integers; only
//! the keys whose head ties with the target's are compared whole, by the caller, who knows
//! where the keys live and what else (a sequence number) orders them. Without it, every
//! probe of a search follows a pointer to a key on the heap and calls `memcmp`.

use std::cmp::Ordering;

/// The heads of a sorted list of byte strings.
#[derive(Debug, Default, Clone)]
pub(crate) struct KeyHeads {
    /// The prefix every key starts with.
    common: Vec<u8>,
    /// Per key, its eight bytes after `common`, zero-padded, big-endian.
    heads: Vec<u64>,
}

impl KeyHeads {
    /// The heads of `keys`. REQUIRES: `keys` ascend (ties allowed). Given keys out of order,
    /// searches give wrong positions but never fail.
    pub(crate) fn new<'a>(keys: impl Iterator<Item = &'a [u8]> + Clone) -> KeyHeads {
        let first = keys.clone().next().unwrap_or_default();
        let last = keys.clone().last().unwrap_or_default();
        // Sorted: whatever the first and the last share, every key between them shares.
        let common = first
            .get(..common_prefix_len(first, last))
            .unwrap_or_default()
            .to_vec();
        let heads = keys
            .map(|k| head(k.get(common.len()..).unwrap_or_default()))
            .collect();
        KeyHeads { common, heads }
    }

    pub(crate) fn len(&self) -> usize {
        self.heads.len()
    }

    /// The number of keys before `target`: the first position `i` for which `before(i)` is
    /// false. `before(i)` is the caller's whole comparison of key `i` with the target (by
    /// user key first, so that it is true whenever key `i < target` as byte strings and
    /// false whenever key `i > target`); it is called only for keys whose head ties with
    /// the target's.
    pub(crate) fn partition_point(
        &self,
        target: &[u8],
        mut before: impl FnMut(usize) -> bool,
    ) -> usize {
        let target = match self.target_head(target) {
            Ok(head) => head,
            // Every key starts with `common`: the target is before all or after all.
            Err(Ordering::Greater) => return 0,
            Err(_) => return self.len(),
        };
        let lo = self.heads.partition_point(|&h| h < target);
        // Heads that tie with the target's are rare (they share its first eight bytes after
        // the common prefix): look for their end only when there is one.
        let ties = match self.heads.get(lo..) {
            Some(rest) if rest.first() == Some(&target) => rest.partition_point(|&h| h == target),
            _ => 0,
        };
        let (mut lo, mut hi) = (lo, lo + ties);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if before(mid) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// How key `i` orders against `target` as far as the heads tell: `None` when they tie
    /// (or `i` is out of range) and only a whole comparison can say.
    pub(crate) fn order(&self, i: usize, target: &[u8]) -> Option<Ordering> {
        let own = *self.heads.get(i)?;
        match self.target_head(target) {
            Ok(target) if own == target => None,
            Ok(target) => Some(own.cmp(&target)),
            Err(order) => Some(order),
        }
    }

    /// The head of `target`, or how every key orders against it when it does not start
    /// with the common prefix (and so is before all keys or after all).
    #[inline]
    fn target_head(&self, target: &[u8]) -> Result<u64, Ordering> {
        let common = self.common.as_slice();
        let shared = common_prefix_len(common, target);
        if shared == common.len() {
            return Ok(head(target.get(shared..).unwrap_or_default()));
        }
        Err(match (common.get(shared), target.get(shared)) {
            (Some(c), Some(t)) => c.cmp(t),
            // The target is a proper prefix of the common prefix: before every key.
            _ => Ordering::Greater,
        })
    }
}

/// The first eight bytes of `bytes`, zero-padded, as a big-endian integer. For byte strings
/// `a < b`, `head(a) <= head(b)`.
#[inline]
pub(crate) fn head(bytes: &[u8]) -> u64 {
    match bytes.first_chunk::<8>() {
        Some(chunk) => u64::from_be_bytes(*chunk),
        // Shifted into place byte by byte: a copy into a buffer would call `memcpy`.
        None => bytes
            .iter()
            .enumerate()
            .fold(0, |acc, (i, &byte)| acc | u64::from(byte) << (56 - 8 * i)),
    }
}

/// How many leading bytes `a` and `b` have in common. Compares eight bytes at a time.
#[inline(always)]
pub(crate) fn common_prefix_len(a: &[u8], b: &[u8]) -> usize {
    let (mut x, mut y) = (a, b);
    let mut same = 0;
    while let (Some((wx, tx)), Some((wy, ty))) =
        (x.split_first_chunk::<8>(), y.split_first_chunk::<8>())
    {
        let differ = u64::from_le_bytes(*wx) ^ u64::from_le_bytes(*wy);
        if differ != 0 {
            // Little-endian: the lowest set bit is in the first byte that differs.
            return same + (differ.trailing_zeros() / 8) as usize;
        }
        same += 8;
        (x, y) = (tx, ty);
    }
    same + x.iter().zip(y).take_while(|(p, q)| p == q).count()
}

/// Whether two byte strings are equal, as `a == b` but without a call to `memcmp`.
#[inline(always)]
pub(crate) fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a, b);
    while let (Some((wx, tx)), Some((wy, ty))) =
        (x.split_first_chunk::<8>(), y.split_first_chunk::<8>())
    {
        if wx != wy {
            return false;
        }
        (x, y) = (tx, ty);
    }
    x.iter().zip(y).all(|(p, q)| p == q)
}

/// Orders two byte strings as `a.cmp(b)` does, eight bytes at a time without a call to
/// `memcmp`: keys are short, and a call costs more than the comparison.
#[inline(always)]
pub(crate) fn compare_bytes(a: &[u8], b: &[u8]) -> Ordering {
    let n = common_prefix_len(a, b);
    match (a.get(n), b.get(n)) {
        (Some(x), Some(y)) => x.cmp(y),
        _ => a.len().cmp(&b.len()),
    }
}

/// Appends `bytes` to `key`. Keys and their deltas are mostly a few bytes, which fixed-size
/// copies of eight and single bytes append for less than a call to `memcpy` costs.
#[inline(always)]
pub(crate) fn extend_short(key: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.len() > 32 {
        key.extend_from_slice(bytes);
        return;
    }
    key.reserve(bytes.len());
    let mut rest = bytes;
    while let Some((word, tail)) = rest.split_first_chunk::<8>() {
        key.extend_from_slice(word);
        rest = tail;
    }
    for &byte in rest {
        key.push(byte);
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn keys() -> Vec<Vec<u8>> {
        let mut keys: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"\0".to_vec(),
            b"a".to_vec(),
            b"abcdefg".to_vec(),
            b"abcdefgh".to_vec(),
            b"abcdefgh\0".to_vec(),
            b"abcdefghijklmnopq".to_vec(),
            b"abcdefghijklmnopr".to_vec(),
            b"abcdefgXijklmnopq".to_vec(),
            b"Xbcdefghijklmnopq".to_vec(),
            vec![0xff; 40],
            vec![0xff; 33],
        ];
        for i in 0..40u32 {
            keys.push(format!("common/prefix/{:04}", i / 2).into_bytes());
            keys.push(format!("common/prefix/{:04}\0\0\0\0\0\0\0\0{i}", i / 2).into_bytes());
        }
        keys
    }

    #[test]
    fn prefix_lengths_comparisons_and_equality_agree_with_byte_by_byte_answers() {
        let keys = keys();
        for a in &keys {
            for b in &keys {
                let slow = a.iter().zip(b).take_while(|(x, y)| x == y).count();
                assert_eq!(common_prefix_len(a, b), slow, "{a:?} {b:?}");
                assert_eq!(compare_bytes(a, b), a.cmp(b), "{a:?} {b:?}");
                assert_eq!(bytes_equal(a, b), a == b, "{a:?} {b:?}");
                let mut joined = a.clone();
                extend_short(&mut joined, b);
                assert_eq!(joined, [a.as_slice(), b.as_slice()].concat());
            }
        }
    }

    #[test]
    fn partition_point_and_order_agree_with_whole_comparisons_whatever_the_prefix() {
        let all = keys();
        let mut targets = all.clone();
        for k in &all {
            let mut longer = k.clone();
            longer.push(0);
            targets.push(longer);
            if let Some((_, shorter)) = k.split_last() {
                targets.push(shorter.to_vec());
            }
        }
        // Sorted lists with and without a long common prefix, with duplicates.
        let mut prefixed: Vec<Vec<u8>> = all
            .iter()
            .filter(|k| k.starts_with(b"common"))
            .cloned()
            .collect();
        prefixed.push(prefixed[3].clone());
        let mut sorted = all.clone();
        for list in [&mut sorted, &mut prefixed] {
            list.sort();
            let heads = KeyHeads::new(list.iter().map(Vec::as_slice));
            assert_eq!(heads.len(), list.len());
            for t in &targets {
                let expected = list.partition_point(|k| k < t);
                let got = heads.partition_point(t, |i| list[i] < *t);
                assert_eq!(got, expected, "{t:?}");
                for (i, k) in list.iter().enumerate() {
                    if let Some(order) = heads.order(i, t) {
                        assert_eq!(order, k.as_slice().cmp(t), "{k:?} {t:?}");
                    }
                }
            }
        }
        let empty = KeyHeads::new(std::iter::empty());
        assert_eq!(empty.partition_point(b"x", |_| unreachable!()), 0);
        assert_eq!(empty.order(0, b"x"), None);
    }
}

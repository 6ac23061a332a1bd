//! The merge iterator: many sorted sources seen as one sorted stream.
//!
//! Children are given newest source first (memtable, frozen memtables, L0 newest first, then
//! deeper levels). Entries come out in internal-key order; on a tie of user key and sequence
//! number the newer source wins (sequence numbers are unique, so ties only arise from a bug
//! or a replayed duplicate, and then the newest copy is the right one). Visibility and
//! tombstones are not this iterator's business: see `user_iter`.
//!
//! The child holding the smallest entry is kept out of the heap: a step advances it and
//! compares it once with the heap's smallest, and only when that one is now smaller do the
//! two trade places. In a scan, long runs of entries come from one source (the bottom
//! level holds most of the data), so most steps cost one comparison and no heap work.

use super::InternalIterator;
use crate::types::{compare_internal, SeqNum, ValueKind};
use crate::{Error, Result};
use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// A child iterator with its source rank (0 = newest).
struct Child {
    rank: usize,
    iter: Box<dyn InternalIterator>,
}

impl Child {
    /// REQUIRES: both children valid.
    fn order(&self, other: &Child) -> Ordering {
        compare_internal(
            self.iter.key(),
            self.iter.seq(),
            other.iter.key(),
            other.iter.seq(),
        )
        .then(self.rank.cmp(&other.rank))
    }
}

impl PartialEq for Child {
    fn eq(&self, other: &Self) -> bool {
        self.order(other) == Ordering::Equal
    }
}

impl Eq for Child {}

impl PartialOrd for Child {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Child {
    /// Reversed: `BinaryHeap` is a max-heap and we want the smallest entry on top.
    fn cmp(&self, other: &Self) -> Ordering {
        other.order(self)
    }
}

/// Merges children into one stream in internal-key order.
pub(crate) struct MergeIterator {
    /// The valid child with the smallest current entry; `None` when no child is valid.
    top: Option<Child>,
    /// The other valid children, smallest current entry on top.
    heap: BinaryHeap<Child>,
    /// Exhausted children, kept for the next seek.
    idle: Vec<Child>,
    /// The first error any child returned; once set the iterator stays failed.
    error: Option<Error>,
}

impl MergeIterator {
    /// `children` newest first. The iterator starts unpositioned: seek before reading.
    pub(crate) fn new(children: Vec<Box<dyn InternalIterator>>) -> MergeIterator {
        MergeIterator {
            top: None,
            heap: BinaryHeap::with_capacity(children.len()),
            idle: children
                .into_iter()
                .enumerate()
                .map(|(rank, iter)| Child { rank, iter })
                .collect(),
            error: None,
        }
    }

    fn check_failed(&self) -> Result<()> {
        match &self.error {
            Some(e) => Err(e.duplicate()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, error: Error) -> Error {
        let copy = error.duplicate();
        self.error = Some(error);
        self.idle.extend(self.top.take());
        self.idle.extend(self.heap.drain());
        copy
    }

    /// Repositions every child with `position` and rebuilds the heap.
    fn reposition(
        &mut self,
        mut position: impl FnMut(&mut dyn InternalIterator) -> Result<()>,
    ) -> Result<()> {
        self.check_failed()?;
        let mut children: Vec<Child> = self.heap.drain().collect();
        children.extend(self.top.take());
        children.append(&mut self.idle);
        children.sort_by_key(|c| c.rank);
        for mut child in children {
            if let Err(e) = position(child.iter.as_mut()) {
                self.idle.push(child);
                return Err(self.fail(e));
            }
            if child.iter.valid() {
                self.heap.push(child);
            } else {
                self.idle.push(child);
            }
        }
        self.top = self.heap.pop();
        Ok(())
    }

    fn top(&self) -> &Child {
        // Callers check `valid()` first, as the trait requires.
        match &self.top {
            Some(child) => child,
            None => panic!("MergeIterator read while not valid"),
        }
    }
}

impl InternalIterator for MergeIterator {
    fn valid(&self) -> bool {
        self.error.is_none() && self.top.is_some()
    }

    fn key(&self) -> &[u8] {
        self.top().iter.key()
    }

    fn seq(&self) -> SeqNum {
        self.top().iter.seq()
    }

    fn kind(&self) -> ValueKind {
        self.top().iter.kind()
    }

    fn value(&self) -> &[u8] {
        self.top().iter.value()
    }

    fn next(&mut self) -> Result<()> {
        self.check_failed()?;
        let Some(top) = self.top.as_mut() else {
            return Ok(());
        };
        if let Err(e) = top.iter.next() {
            return Err(self.fail(e));
        }
        if !top.iter.valid() {
            self.idle.extend(self.top.take());
            self.top = self.heap.pop();
            return Ok(());
        }
        if let Some(mut second) = self.heap.peek_mut() {
            if second.order(top) == Ordering::Less {
                // Dropping `second` after the swap restores the heap order.
                std::mem::swap(&mut *second, top);
            }
        }
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        self.reposition(|it| it.seek(target))
    }

    fn seek_to_first(&mut self) -> Result<()> {
        self.reposition(|it| it.seek_to_first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iterators::vec_iter::{Entry, VecIter};

    fn put(key: &str, seq: SeqNum, value: &str) -> Entry {
        (key.into(), seq, ValueKind::Put, value.into())
    }

    fn drain(it: &mut MergeIterator) -> Vec<(String, SeqNum)> {
        let mut out = Vec::new();
        while it.valid() {
            out.push((String::from_utf8(it.key().to_vec()).unwrap(), it.seq()));
            it.next().unwrap();
        }
        out
    }

    #[test]
    fn merges_in_internal_key_order_with_newest_versions_first() {
        let newer = VecIter::new(vec![put("b", 9, "b9"), put("d", 8, "d8")]);
        let older = VecIter::new(vec![
            put("a", 1, "a1"),
            put("b", 2, "b2"),
            put("c", 3, "c3"),
        ]);
        let mut it = MergeIterator::new(vec![Box::new(newer), Box::new(older)]);
        it.seek_to_first().unwrap();
        let expect: Vec<(String, SeqNum)> = [("a", 1), ("b", 9), ("b", 2), ("c", 3), ("d", 8)]
            .iter()
            .map(|(k, s)| (k.to_string(), *s))
            .collect();
        assert_eq!(drain(&mut it), expect);
        it.seek("c".as_bytes()).unwrap();
        assert_eq!(drain(&mut it), expect[3..].to_vec());
        it.seek("e".as_bytes()).unwrap();
        assert!(!it.valid());
    }

    #[test]
    fn equal_entries_come_from_the_newest_source_first() {
        let newer = VecIter::new(vec![put("k", 5, "new")]);
        let older = VecIter::new(vec![put("k", 5, "old")]);
        let mut it = MergeIterator::new(vec![Box::new(newer), Box::new(older)]);
        it.seek_to_first().unwrap();
        assert_eq!(it.value(), b"new");
    }

    #[test]
    fn many_children_with_runs_and_interleavings_merge_like_a_sort() {
        // Five sources, entries spread by a simple generator: some sources give long runs,
        // some alternate; sequence numbers are unique.
        let mut sources: Vec<Vec<Entry>> = vec![Vec::new(); 5];
        let mut all = Vec::new();
        let mut state = 12345u64;
        for seq in 1..=2000u64 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let key = format!("k{:04}", (state >> 33) % 700);
            let source = if seq % 7 == 0 {
                (state >> 20) as usize % 5
            } else {
                4
            };
            let e = put(&key, seq, "v");
            sources[source].push(e.clone());
            all.push((key, seq));
        }
        let order = |a: &(String, SeqNum), b: &(String, SeqNum)| {
            compare_internal(a.0.as_bytes(), a.1, b.0.as_bytes(), b.1)
        };
        all.sort_by(order);
        let children: Vec<Box<dyn InternalIterator>> = sources
            .into_iter()
            .map(|mut entries| {
                entries.sort_by(|a, b| compare_internal(&a.0, a.1, &b.0, b.1));
                Box::new(VecIter::new(entries)) as Box<dyn InternalIterator>
            })
            .collect();
        let mut it = MergeIterator::new(children);
        it.seek_to_first().unwrap();
        assert_eq!(drain(&mut it), all);
        it.seek(b"k0350").unwrap();
        let from = all.partition_point(|(k, _)| k.as_str() < "k0350");
        assert_eq!(drain(&mut it), all[from..].to_vec());
    }

    #[test]
    fn no_children_is_an_empty_stream() {
        let mut it = MergeIterator::new(Vec::new());
        it.seek_to_first().unwrap();
        assert!(!it.valid());
    }

    struct Failing;
    impl InternalIterator for Failing {
        fn valid(&self) -> bool {
            false
        }
        fn key(&self) -> &[u8] {
            unreachable!()
        }
        fn seq(&self) -> SeqNum {
            unreachable!()
        }
        fn kind(&self) -> ValueKind {
            unreachable!()
        }
        fn value(&self) -> &[u8] {
            unreachable!()
        }
        fn next(&mut self) -> Result<()> {
            unreachable!()
        }
        fn seek(&mut self, _: &[u8]) -> Result<()> {
            Err(Error::corruption(std::path::Path::new("x.sst"), 0, "bad"))
        }
        fn seek_to_first(&mut self) -> Result<()> {
            self.seek(b"")
        }
    }

    #[test]
    fn a_child_error_surfaces_and_sticks() {
        let ok = VecIter::new(vec![put("a", 1, "1")]);
        let mut it = MergeIterator::new(vec![Box::new(ok), Box::new(Failing)]);
        assert!(it.seek_to_first().is_err());
        assert!(!it.valid());
        assert!(it.seek(b"a").is_err());
        assert!(it.next().is_err());
    }
}

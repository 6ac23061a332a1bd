//! The merge iterator: many sorted sources seen as one sorted stream.
//!
//! Children are given newest source first (memtable, frozen memtables, L0 newest first, then
//! deeper levels). Entries come out in internal-key order; on a tie of user key and sequence
//! number the newer source wins (sequence numbers are unique, so ties only arise from a bug
//! or a replayed duplicate, and then the newest copy is the right one). Visibility and
//! tombstones are not this iterator's business: see `user_iter`.
//!
//! The children stay where they are, in one vector; the order is kept over their positions.
//! The child holding the smallest entry is kept apart: a step advances it and compares it
//! once with the smallest of the others (the runner-up), and only when that one is now
//! smaller do the two trade places. In a scan, long runs of entries come from one source
//! (the bottom level holds most of the data), so most steps cost one comparison, made
//! against a copy of the runner-up's key and sequence number kept here: the runner-up does
//! not move while the top advances, and the copy spares each step a walk down its stack of
//! cursors. The others are few (a source per memtable, L0 file and level), so they are kept
//! in a small array sorted by their current entry, largest first, where a child re-enters
//! by a short insertion.

use super::{EntryHead, InternalIterator};
use crate::types::{compare_internal, SeqNum, ValueKind};
use crate::{Error, Result};
use std::cmp::Ordering;

/// Merges children into one stream in internal-key order. Generic over the children's type
/// so that a scan's many calls into them per step are direct (see [`super::ScanSource`]).
pub(crate) struct MergeIterator<I> {
    /// The children, newest source first: a child's position is its rank.
    children: Vec<I>,
    /// The valid child with the smallest current entry; `None` when no child is valid.
    top: Option<usize>,
    /// The other valid children, largest current entry first (the next smallest is last).
    rest: Vec<usize>,
    /// The runner-up's (`rest`'s last child's) current key and sequence number, copied
    /// whenever the runner-up changes; meaningless while `rest` is empty.
    runner_up_key: Vec<u8>,
    runner_up_seq: SeqNum,
    /// The first error any child returned; once set the iterator stays failed.
    error: Option<Error>,
}

impl<I: InternalIterator> MergeIterator<I> {
    /// `children` newest first. The iterator starts unpositioned: seek before reading.
    pub(crate) fn new(children: Vec<I>) -> MergeIterator<I> {
        MergeIterator {
            rest: Vec::with_capacity(children.len()),
            runner_up_key: Vec::new(),
            runner_up_seq: 0,
            children,
            top: None,
            error: None,
        }
    }

    /// How the current entries of children `a` and `b` order (REQUIRES: both valid).
    #[inline]
    fn order(&self, a: usize, b: usize) -> Ordering {
        match (self.children.get(a), self.children.get(b)) {
            (Some(x), Some(y)) => {
                let (x, y) = (x.head(), y.head());
                compare_internal(x.key, x.seq, y.key, y.seq).then(a.cmp(&b))
            }
            _ => a.cmp(&b),
        }
    }

    /// Copies the runner-up's key and sequence number (after `rest` changed at its end).
    fn note_runner_up(&mut self) {
        if let Some(child) = self.rest.last().and_then(|&i| self.children.get(i)) {
            let head = child.head();
            self.runner_up_key.clear();
            self.runner_up_key.extend_from_slice(head.key);
            self.runner_up_seq = head.seq;
        }
    }

    /// Puts valid child `child` among `rest`, keeping it sorted.
    #[inline]
    fn insert(&mut self, child: usize) {
        let at = self
            .rest
            .iter()
            .rposition(|&other| self.order(other, child) == Ordering::Greater)
            .map_or(0, |i| i + 1);
        self.rest.insert(at, child);
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
        self.top = None;
        self.rest.clear();
        copy
    }

    /// Repositions every child with `position` and orders them again.
    fn reposition(&mut self, mut position: impl FnMut(&mut I) -> Result<()>) -> Result<()> {
        self.check_failed()?;
        self.top = None;
        self.rest.clear();
        for child in 0..self.children.len() {
            let Some(it) = self.children.get_mut(child) else {
                break;
            };
            if let Err(e) = position(it) {
                return Err(self.fail(e));
            }
            if it.valid() {
                self.insert(child);
            }
        }
        self.top = self.rest.pop();
        self.note_runner_up();
        Ok(())
    }

    #[inline]
    fn top(&self) -> &I {
        // Callers check `valid()` first, as the trait requires.
        match self.top.and_then(|top| self.children.get(top)) {
            Some(child) => child,
            None => panic!("MergeIterator read while not valid"),
        }
    }
}

impl<I: InternalIterator> InternalIterator for MergeIterator<I> {
    #[inline]
    fn valid(&self) -> bool {
        self.error.is_none() && self.top.is_some()
    }

    #[inline]
    fn key(&self) -> &[u8] {
        self.top().key()
    }

    #[inline]
    fn seq(&self) -> SeqNum {
        self.top().seq()
    }

    #[inline]
    fn kind(&self) -> ValueKind {
        self.top().kind()
    }

    #[inline]
    fn value(&self) -> &[u8] {
        self.top().value()
    }

    #[inline]
    fn head(&self) -> EntryHead<'_> {
        self.top().head()
    }

    fn next(&mut self) -> Result<()> {
        self.check_failed()?;
        let Some(top) = self.top else {
            return Ok(());
        };
        let Some(it) = self.children.get_mut(top) else {
            return Ok(());
        };
        if let Err(e) = it.next() {
            return Err(self.fail(e));
        }
        if !it.valid() {
            self.top = self.rest.pop();
            self.note_runner_up();
            return Ok(());
        }
        // Mostly the same child stays on top: one comparison, with the runner-up's copy.
        let Some(&second) = self.rest.last() else {
            return Ok(());
        };
        let head = it.head();
        let order = compare_internal(&self.runner_up_key, self.runner_up_seq, head.key, head.seq)
            .then(second.cmp(&top));
        if order == Ordering::Less {
            self.rest.pop();
            self.top = Some(second);
            self.insert(top);
            self.note_runner_up();
        }
        Ok(())
    }

    fn seek(&mut self, target: &[u8]) -> Result<()> {
        // Every child's first misses at once, then the seeks one after the other.
        for child in &self.children {
            child.prepare_seek(target);
        }
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

    fn drain<I: InternalIterator>(it: &mut MergeIterator<I>) -> Vec<(String, SeqNum)> {
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
        let mut it = MergeIterator::new(vec![newer, older]);
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
        let mut it = MergeIterator::new(vec![newer, older]);
        it.seek_to_first().unwrap();
        assert_eq!(it.value(), b"new");
    }

    #[test]
    fn ties_reached_by_stepping_come_out_newest_source_first() {
        // Each child reaches the tied entries ("k", 5) only after a step, so the order
        // among them is decided by `next` against the runner-up's copy, not by the seek.
        let child = |first: &str, tag: &str| {
            VecIter::new(vec![
                put(first, 9, first),
                put("k", 5, tag),
                put("z", 1, tag),
            ])
        };
        let mut it = MergeIterator::new(vec![
            child("c", "newest"),
            child("a", "middle"),
            child("b", "oldest"),
        ]);
        it.seek_to_first().unwrap();
        let mut values = Vec::new();
        while it.valid() {
            values.push(String::from_utf8(it.value().to_vec()).unwrap());
            it.next().unwrap();
        }
        let expect = [
            "a", "b", "c", "newest", "middle", "oldest", "newest", "middle", "oldest",
        ];
        assert_eq!(values, expect);
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
        let children: Vec<VecIter> = sources
            .into_iter()
            .map(|mut entries| {
                entries.sort_by(|a, b| compare_internal(&a.0, a.1, &b.0, b.1));
                VecIter::new(entries)
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
        let mut it = MergeIterator::<VecIter>::new(Vec::new());
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
        let children: Vec<Box<dyn InternalIterator>> = vec![Box::new(ok), Box::new(Failing)];
        let mut it = MergeIterator::new(children);
        assert!(it.seek_to_first().is_err());
        assert!(!it.valid());
        assert!(it.seek(b"a").is_err());
        assert!(it.next().is_err());
    }
}

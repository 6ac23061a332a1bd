//! The user-facing view of a merged stream: one entry per live key.
//!
//! Wraps an [`InternalIterator`] (normally the merge iterator) and applies, in order:
//! snapshot visibility (versions newer than the snapshot are skipped), newest-wins (older
//! versions of a key are skipped), tombstone hiding (a deleted key does not appear), and the
//! range `[start, end)`. The key returned is copied out (the next call steps past its other
//! versions, comparing with it as the sources move on); the value is borrowed from the
//! source, which stays where it is until the next call.

use super::InternalIterator;
use crate::key_heads::{bytes_equal, compare_bytes, extend_short};
use crate::types::{SeqNum, ValueKind};
use crate::Result;
use std::cmp::Ordering;

/// Live entries of a range at a snapshot.
pub(crate) struct UserIterator<I: InternalIterator> {
    inner: I,
    snapshot: SeqNum,
    start: Option<Vec<u8>>,
    end: Option<Vec<u8>>,
    /// The key returned last (while `on_returned_key`, `inner` is on its newest version).
    key: Vec<u8>,
    /// Set once the range is exhausted (until the next seek).
    done: bool,
    /// The next call to `advance` must first position `inner` (nothing read yet).
    unpositioned: bool,
    /// `inner` still sits on the key returned last: step past its versions first.
    on_returned_key: bool,
    /// The first error seen; once set, every call returns it.
    error: Option<crate::Error>,
}

impl<I: InternalIterator> UserIterator<I> {
    /// `inner` unpositioned; `start`/`end` of `None` are unbounded.
    pub(crate) fn new(
        inner: I,
        snapshot: SeqNum,
        start: Option<Vec<u8>>,
        end: Option<Vec<u8>>,
    ) -> Self {
        let empty = matches!((&start, &end), (Some(s), Some(e)) if s >= e);
        UserIterator {
            inner,
            snapshot,
            start,
            end,
            key: Vec::new(),
            done: empty,
            unpositioned: true,
            on_returned_key: false,
            error: None,
        }
    }

    /// The next live entry in the range, or `None` at the end (and on every call after, until
    /// a seek). Returned slices are valid until the next call.
    pub(crate) fn advance(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        if self.done {
            return Ok(None);
        }
        match self.find_next() {
            Ok(true) => Ok(Some((&self.key, self.inner.value()))),
            Ok(false) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.error = Some(e.duplicate());
                Err(e)
            }
        }
    }

    /// Repositions so that the next entry is the first live key `>= target` (and within the
    /// range).
    pub(crate) fn seek(&mut self, target: &[u8]) -> Result<()> {
        if let Some(e) = &self.error {
            return Err(e.duplicate());
        }
        let target = match &self.start {
            Some(start) if start.as_slice() > target => start.clone(),
            _ => target.to_vec(),
        };
        let empty = matches!((&self.start, &self.end), (Some(s), Some(e)) if s >= e);
        self.done = empty;
        if empty {
            return Ok(());
        }
        self.unpositioned = false;
        self.on_returned_key = false;
        if let Err(e) = self.inner.seek(&target) {
            self.error = Some(e.duplicate());
            return Err(e);
        }
        Ok(())
    }

    /// Moves `inner` to the newest visible, live version of the next key and copies the key
    /// out.
    fn find_next(&mut self) -> Result<bool> {
        // While set, entries with the user key `self.key` are older versions to step past.
        let mut passing_key = false;
        if self.unpositioned {
            self.unpositioned = false;
            match &self.start {
                Some(start) => self.inner.seek(&start.clone())?,
                None => self.inner.seek_to_first()?,
            }
        } else if self.on_returned_key {
            // `inner` is on the newest version of the key returned last time: step off it
            // (no comparison needed) and then past its older versions.
            self.on_returned_key = false;
            self.inner.next()?;
            passing_key = true;
        }
        loop {
            if !self.inner.valid() {
                return Ok(false);
            }
            let head = self.inner.head();
            if passing_key {
                if bytes_equal(head.key, &self.key) {
                    self.inner.next()?;
                    continue;
                }
                passing_key = false;
            }
            if let Some(end) = &self.end {
                if compare_bytes(head.key, end) != Ordering::Less {
                    return Ok(false);
                }
            }
            if head.seq > self.snapshot {
                self.inner.next()?;
                continue;
            }
            // The newest visible version of this key.
            self.key.clear();
            extend_short(&mut self.key, head.key);
            match head.kind {
                ValueKind::Put => {
                    self.on_returned_key = true;
                    return Ok(true);
                }
                ValueKind::Delete => {
                    // A tombstone hides the key: step past it and its older versions.
                    self.inner.next()?;
                    passing_key = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iterators::vec_iter::{Entry, VecIter};

    fn e(key: &str, seq: SeqNum, kind: ValueKind, value: &str) -> Entry {
        (key.into(), seq, kind, value.into())
    }

    fn source() -> VecIter {
        use ValueKind::{Delete, Put};
        VecIter::new(vec![
            e("", 1, Put, "empty"),
            e("a", 7, Put, "a7"),
            e("a", 3, Put, "a3"),
            e("b", 6, Delete, ""),
            e("b", 2, Put, "b2"),
            e("c", 5, Put, ""),
            e("d", 9, Put, "d9"),
            e("d", 4, Delete, ""),
        ])
    }

    fn all(snapshot: SeqNum, start: Option<&str>, end: Option<&str>) -> Vec<(String, String)> {
        let mut it = UserIterator::new(
            source(),
            snapshot,
            start.map(|s| s.as_bytes().to_vec()),
            end.map(|s| s.as_bytes().to_vec()),
        );
        let mut out = Vec::new();
        while let Some((k, v)) = it.advance().unwrap() {
            out.push((
                String::from_utf8(k.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ));
        }
        assert!(it.advance().unwrap().is_none(), "END repeats");
        out
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn newest_visible_version_wins_and_tombstones_hide_keys() {
        assert_eq!(
            all(100, None, None),
            pairs(&[("", "empty"), ("a", "a7"), ("c", ""), ("d", "d9")])
        );
        assert_eq!(
            all(5, None, None),
            pairs(&[("", "empty"), ("a", "a3"), ("b", "b2"), ("c", "")])
        );
        assert_eq!(all(0, None, None), pairs(&[]));
    }

    #[test]
    fn bounds_are_half_open_and_empty_or_inverted_ranges_yield_nothing() {
        assert_eq!(
            all(100, Some("a"), Some("d")),
            pairs(&[("a", "a7"), ("c", "")])
        );
        assert_eq!(all(100, Some(""), Some("a")), pairs(&[("", "empty")]));
        assert_eq!(all(100, None, Some("")), pairs(&[]));
        assert_eq!(all(100, Some("c"), Some("c")), pairs(&[]));
        assert_eq!(all(100, Some("d"), Some("a")), pairs(&[]));
        assert_eq!(all(100, Some("zz"), None), pairs(&[]));
    }

    #[test]
    fn seek_repositions_within_the_range() {
        let mut it = UserIterator::new(source(), 100, Some(b"a".to_vec()), None);
        it.seek(b"b").unwrap();
        assert_eq!(it.advance().unwrap(), Some((&b"c"[..], &b""[..])));
        // Seeking before the start clamps to the start.
        it.seek(b"").unwrap();
        assert_eq!(
            it.advance().unwrap().map(|(k, _)| k.to_vec()),
            Some(b"a".to_vec())
        );
        // After the end, seek revives the cursor.
        while it.advance().unwrap().is_some() {}
        it.seek(b"d").unwrap();
        assert_eq!(
            it.advance().unwrap().map(|(k, _)| k.to_vec()),
            Some(b"d".to_vec())
        );
    }
}

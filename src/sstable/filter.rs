//! The table's bloom filter over user keys: lets a point lookup skip a table that cannot hold
//! the key without reading any data block.
//!
//! The filter is a split-block bloom filter (the Parquet SBBF layout, from crate
//! `sbbf-rs-safe`): `len / 32` buckets of eight little-endian u32 words; a 64-bit key hash
//! picks a bucket with its upper 32 bits and sets one bit per word from its lower 32 bits.
//! The hash is [`crate::hash::key_hash`] of the user key, which is pinned because the bits on
//! disk depend on it. Every distinct user key of the table is inserted once, whatever the
//! number of its versions.
//!
//! [`FilterBuilder`] is owned by the table builder; [`BloomFilter`] is immutable after
//! decoding and shared by every reader of the table.

use sbbf_rs_safe::Filter;

/// Filter bytes are a whole number of these buckets. On disk: never change.
pub(crate) const FILTER_BUCKET_BYTES: usize = 32;

/// Collects the hashes of a table's distinct user keys until the table is finished, when the
/// number of keys (and so the filter's size) is known.
#[derive(Debug)]
pub(crate) struct FilterBuilder {
    bits_per_key: u32,
    hashes: Vec<u64>,
}

impl FilterBuilder {
    /// `bits_per_key == 0` builds no filter.
    pub(crate) fn new(bits_per_key: u32) -> Self {
        FilterBuilder {
            bits_per_key,
            hashes: Vec::new(),
        }
    }

    /// Records one distinct user key by its [`crate::hash::key_hash`].
    pub(crate) fn add_key_hash(&mut self, hash: u64) {
        if self.bits_per_key > 0 {
            self.hashes.push(hash);
        }
    }

    /// The filter's bytes (without the CRC trailer), or `None` when no filter is built.
    pub(crate) fn finish(&self) -> Option<Vec<u8>> {
        if self.bits_per_key == 0 {
            return None;
        }
        let mut filter = Filter::new(self.bits_per_key as usize, self.hashes.len());
        for &h in &self.hashes {
            filter.insert_hash(h);
        }
        Some(filter.as_bytes().to_vec())
    }
}

/// A decoded filter.
#[derive(Debug)]
pub(crate) struct BloomFilter {
    inner: Filter,
}

impl BloomFilter {
    /// Wraps filter bytes read from disk (checksum already verified). `None` when the length
    /// is not a positive multiple of [`FILTER_BUCKET_BYTES`].
    pub(crate) fn decode(bytes: &[u8]) -> Option<BloomFilter> {
        if bytes.is_empty() || bytes.len() % FILTER_BUCKET_BYTES != 0 {
            return None;
        }
        Filter::from_bytes(bytes).map(|inner| BloomFilter { inner })
    }

    /// False when the key with this hash is definitely absent.
    pub(crate) fn may_contain(&self, key_hash: u64) -> bool {
        self.inner.contains_hash(key_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::key_hash;

    #[test]
    fn inserted_keys_are_always_found_after_a_round_trip() {
        let mut b = FilterBuilder::new(10);
        for i in 0..1000u32 {
            b.add_key_hash(key_hash(&i.to_be_bytes()));
        }
        let bytes = b.finish().unwrap();
        assert_eq!(bytes.len(), 1280); // 10 bits x 1000 keys / 8, a multiple of 32
        let f = BloomFilter::decode(&bytes).unwrap();
        for i in 0..1000u32 {
            assert!(f.may_contain(key_hash(&i.to_be_bytes())));
        }
    }

    #[test]
    fn zero_bits_per_key_builds_nothing_and_bad_lengths_are_refused() {
        let mut b = FilterBuilder::new(0);
        b.add_key_hash(1);
        assert!(b.finish().is_none());
        assert!(BloomFilter::decode(&[]).is_none());
        assert!(BloomFilter::decode(&[0; 33]).is_none());
        // An empty table's filter still has one bucket.
        assert_eq!(FilterBuilder::new(10).finish().unwrap().len(), 32);
    }
}

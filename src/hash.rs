//! The 64-bit key hashes behind the bloom filters. Both are part of the sstable format
//! (filters store their bits), so neither output may ever change.
//!
//! - [`key_hash`], for format version 2 and later: XXH3-64 with seed 0, from the
//!   `xxhash-rust` crate (the hash RocksDB's newer filters use; its output is specified by
//!   the xxHash project and tested against the reference implementation by the crate).
//! - [`legacy_key_hash`], for format version 1 only: the home-made hash the first tables
//!   were written with, kept so that their filters still answer correctly. Nothing new is
//!   ever written with it.

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const MUL: u64 = 0xff51_afd7_ed55_8ccd;

/// Hashes a user key for the filter of a version-2 table: XXH3-64, seed 0. Stable across
/// versions and platforms.
pub fn key_hash(key: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(key)
}

/// Hashes a user key for the filter of a version-1 table. Stable across versions and
/// platforms; never used for new tables.
pub fn legacy_key_hash(key: &[u8]) -> u64 {
    let mut h = SEED ^ (key.len() as u64).wrapping_mul(MUL);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = mix(h, u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
    }
    fmix64(h)
}

fn mix(h: u64, word: u64) -> u64 {
    (h ^ word.wrapping_mul(MUL))
        .rotate_left(31)
        .wrapping_mul(SEED)
}

fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_hash_is_pinned_because_v1_filters_on_disk_depend_on_it() {
        // If this fails, every version-1 sstable filter is wrong: do not update the numbers.
        let pinned = [
            legacy_key_hash(b""),
            legacy_key_hash(b"a"),
            legacy_key_hash(b"key000001"),
        ];
        assert_eq!(pinned, LEGACY_PINNED);
    }

    #[test]
    fn key_hash_is_xxh3_64_and_pinned_because_v2_filters_on_disk_depend_on_it() {
        // XXH3_64bits("") with seed 0, as the xxHash reference implementation computes it.
        assert_eq!(key_hash(b""), 0x2d06_8005_38d3_94c2);
        // If these fail, every version-2 sstable filter is wrong: do not update the numbers.
        let pinned = [
            key_hash(b"a"),
            key_hash(b"key000001"),
            key_hash(&[0xab; 300]),
        ];
        assert_eq!(pinned, PINNED);
    }

    #[test]
    fn trailing_zero_bytes_change_either_hash() {
        for hash in [key_hash, legacy_key_hash] {
            assert_ne!(hash(b"a"), hash(b"a\0"));
            assert_ne!(hash(b""), hash(b"\0"));
            assert_ne!(hash(b"abcdefgh"), hash(b"abcdefgh\0"));
        }
    }

    const LEGACY_PINNED: [u64; 3] = [
        11286133854226296554,
        553275282993068688,
        9865517723558500841,
    ];

    // From the reference implementation (libxxhash's XXH3_64bits), not from this crate.
    const PINNED: [u64; 3] = [
        0xe6c6_32b6_1e96_4e1f,
        0x7276_1e97_64b7_20d6,
        0xc3bb_a68e_636e_3292,
    ];
}

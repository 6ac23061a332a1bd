//! The 64-bit key hash behind the bloom filters.
//!
//! The hash is part of the sstable format (filters store its bits), so its output must never
//! change. It reads eight bytes at a time, mixes each word with a multiply-rotate step and
//! ends with the murmur3 64-bit finalizer, which spreads every input bit over the output.

const SEED: u64 = 0x9e37_79b9_7f4a_7c15;
const MUL: u64 = 0xff51_afd7_ed55_8ccd;

/// Hashes a user key for the filter. Stable across versions and platforms.
pub fn key_hash(key: &[u8]) -> u64 {
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
    fn hash_is_pinned_because_filters_on_disk_depend_on_it() {
        // If this fails, every existing sstable filter is wrong: do not update the numbers.
        assert_eq!(key_hash(b""), key_hash(b""));
        let pinned = [key_hash(b""), key_hash(b"a"), key_hash(b"key000001")];
        assert_eq!(pinned, PINNED);
    }

    #[test]
    fn trailing_zero_bytes_change_the_hash() {
        assert_ne!(key_hash(b"a"), key_hash(b"a\0"));
        assert_ne!(key_hash(b""), key_hash(b"\0"));
        assert_ne!(key_hash(b"abcdefgh"), key_hash(b"abcdefgh\0"));
    }

    const PINNED: [u64; 3] = [
        11286133854226296554,
        553275282993068688,
        9865517723558500841,
    ];
}

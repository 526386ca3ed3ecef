//! Seeded 64-bit hashing of byte strings (std only, deterministic across platforms).

const K0: u64 = 0x9e37_79b9_7f4a_7c15;
const K1: u64 = 0xbf58_476d_1ce4_e5b9;
const K2: u64 = 0x94d0_49bb_1331_11eb;

/// Final avalanche (SplitMix64 / Murmur3 finalizer).
#[inline(always)]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(K1);
    z = (z ^ (z >> 27)).wrapping_mul(K2);
    z ^ (z >> 31)
}

/// Hash of `bytes` under `seed`: 8-byte words folded by multiply-rotate, then mixed.
#[inline]
pub fn hash_bytes(bytes: &[u8], seed: u64) -> u64 {
    let mut h = seed ^ K0 ^ (bytes.len() as u64).wrapping_mul(K1);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h ^ w).wrapping_mul(K1).rotate_left(31);
    }
    let mut tail = 0u64;
    for (k, &b) in chunks.remainder().iter().enumerate() {
        tail |= (b as u64) << (8 * k);
    }
    mix64((h ^ tail).wrapping_mul(K2))
}

/// 128-bit content digest (two independent seeded hashes) for exact dedup.
pub fn content_digest(bytes: &[u8]) -> u128 {
    ((hash_bytes(bytes, 0x6e65_7861) as u128) << 64) | hash_bytes(bytes, 0x6465_6475) as u128
}

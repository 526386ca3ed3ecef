//! Deterministic, seeded shuffles of `[0, n)` with O(1) memory.
//!
//! * [`Permutation`]: Feistel network + cycle walking over a tight power-of-two
//!   domain; `permute(i)` and `inverse(y)` in O(1) time and memory.
//! * [`BlockShuffle`]: streaming-friendly windowed shuffle (block order + in-block).
//! * [`shard_range`]: the contiguous slice of output positions owned by one shard.
//! * [`fisher_yates`]: the O(n)-memory reference shuffle (oracle and benchmark baseline).

mod feistel;
mod window;

pub use feistel::{splitmix64_next, Permutation};
pub use window::BlockShuffle;

// ---------------------------------------------------------------------------
// Sharding
// ---------------------------------------------------------------------------

/// Output positions `[start, end)` owned by `shard` of `num_shards` (balanced split).
/// Returns `None` when `num_shards == 0` or `shard >= num_shards`.
pub fn shard_range(n: u64, shard: u64, num_shards: u64) -> Option<(u64, u64)> {
    if num_shards == 0 || shard >= num_shards {
        return None;
    }
    let at = |s: u64| ((n as u128 * s as u128) / num_shards as u128) as u64;
    Some((at(shard), at(shard + 1)))
}

/// Writes `perm.permute(start + k)` into `out[k]` for every `k`.
/// Works in batches of 64 (see [`Permutation::permute_batch`]).
pub fn permutation_fill(perm: &Permutation, start: u64, out: &mut [u64]) {
    let mut base = start;
    for chunk in out.chunks_mut(64) {
        perm.permute_batch(base, chunk);
        base += chunk.len() as u64;
    }
}

// ---------------------------------------------------------------------------
// Reference
// ---------------------------------------------------------------------------

/// Classic Fisher–Yates shuffle of `0..n` with SplitMix64 (O(n) memory).
pub fn fisher_yates(n: u32, seed: u64) -> Vec<u32> {
    let mut v = vec![0u32; n as usize];
    fisher_yates_fill(&mut v, seed);
    v
}

/// Fisher–Yates into a caller buffer: `out` becomes a shuffle of `0..out.len()`.
pub fn fisher_yates_fill(v: &mut [u32], seed: u64) {
    for (i, slot) in v.iter_mut().enumerate() {
        *slot = i as u32;
    }
    let mut state = seed;
    for i in (1..v.len()).rev() {
        // Lemire's multiply-shift reduction to [0, i].
        let j = ((splitmix64_next(&mut state) as u128 * (i as u128 + 1)) >> 64) as usize;
        v.swap(i, j);
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn is_bijection(n: u64, f: impl Fn(u64) -> u64) -> bool {
        let mut seen = vec![false; n as usize];
        for i in 0..n {
            let y = f(i);
            if y >= n || seen[y as usize] {
                return false;
            }
            seen[y as usize] = true;
        }
        true
    }

    #[test]
    fn permutation_is_bijection_and_inverts_property() {
        let mut rng = 7u64;
        let mut sizes: Vec<u64> = (0..=70).collect();
        for _ in 0..60 {
            sizes.push(splitmix64_next(&mut rng) % 5000);
        }
        sizes.extend([1 << 12, (1 << 12) + 1, 65_537]);
        for n in sizes {
            let seed = splitmix64_next(&mut rng);
            let p = Permutation::permutation_new(n, seed);
            assert!(is_bijection(n, |i| p.permute(i)), "n={n} seed={seed}");
            for i in 0..n {
                assert_eq!(p.inverse(p.permute(i)), i, "n={n}");
            }
        }
    }

    #[test]
    fn permutation_is_deterministic_and_seed_sensitive() {
        let a = Permutation::permutation_new(1000, 1);
        let b = Permutation::permutation_new(1000, 1);
        let c = Permutation::permutation_new(1000, 2);
        let va: Vec<u64> = (0..1000).map(|i| a.permute(i)).collect();
        let vb: Vec<u64> = (0..1000).map(|i| b.permute(i)).collect();
        let vc: Vec<u64> = (0..1000).map(|i| c.permute(i)).collect();
        assert_eq!(va, vb);
        assert_ne!(va, vc);
        // Not the identity and not a rotation: few fixed points.
        let fixed = va.iter().enumerate().filter(|(i, &y)| *i as u64 == y).count();
        assert!(fixed < 20, "{fixed} fixed points");
    }

    #[test]
    fn permutation_large_n_inverse_round_trips() {
        let mut rng = 99u64;
        for _ in 0..20 {
            let n = splitmix64_next(&mut rng) >> (splitmix64_next(&mut rng) % 60);
            let p = Permutation::permutation_new(n.max(1), 5);
            for _ in 0..200 {
                let i = splitmix64_next(&mut rng) % n.max(1);
                let y = p.permute(i);
                assert!(y < n.max(1));
                assert_eq!(p.inverse(y), i);
            }
        }
    }

    #[test]
    fn block_shuffle_is_bijection_with_local_windows() {
        let mut rng = 11u64;
        for _ in 0..80 {
            let n = splitmix64_next(&mut rng) % 3000;
            let block = 1 + splitmix64_next(&mut rng) % 300;
            let s = BlockShuffle::block_shuffle_new(n, block, splitmix64_next(&mut rng));
            assert!(is_bijection(n, |p| s.permute(p)), "n={n} block={block}");
            for p in 0..n {
                assert_eq!(s.inverse(s.permute(p)), p);
                // Every output window maps into a single source block.
                let eff = block.min(n.max(1));
                assert_eq!(s.permute(p) / eff, s.permute(p - p % eff) / eff);
            }
        }
    }

    #[test]
    fn shard_ranges_tile_the_range() {
        for n in [0u64, 1, 7, 100, 1001] {
            for k in 1..9u64 {
                let mut next = 0;
                for s in 0..k {
                    let (a, b) = shard_range(n, s, k).unwrap();
                    assert_eq!(a, next);
                    next = b;
                }
                assert_eq!(next, n);
            }
        }
        assert!(shard_range(10, 3, 3).is_none());
        assert!(shard_range(10, 0, 0).is_none());
    }

    #[test]
    fn fill_matches_permute() {
        for n in [0u64, 1, 2, 3, 63, 64, 65, 1000, 4097] {
            let p = Permutation::permutation_new(n, 17);
            let start = n / 3;
            let mut out = vec![0u64; (n - start) as usize];
            permutation_fill(&p, start, &mut out);
            for (k, &y) in out.iter().enumerate() {
                assert_eq!(y, p.permute(start + k as u64));
            }
        }
    }

    #[test]
    fn batches_give_the_bits_of_permute_for_any_size() {
        // permute_batch takes the AVX2 lanes where the CPU has them; permute is always the scalar path.
        let mut rng = 2024u64;
        let mut sizes: Vec<u64> = vec![2, 3, 5, 1 << 20, 10_000_000, u32::MAX as u64 + 1];
        sizes.extend([(u32::MAX as u64) << 32, ((u32::MAX as u64) << 32) + 1, u64::MAX - 1, u64::MAX]);
        for _ in 0..200 {
            let n = splitmix64_next(&mut rng) >> (splitmix64_next(&mut rng) % 62);
            sizes.push(n.max(2));
        }
        for n in sizes {
            let p = Permutation::permutation_new(n, splitmix64_next(&mut rng));
            for len in [64usize, 63, 7, 4, 1] {
                let base = splitmix64_next(&mut rng) % (n - len.min(n as usize) as u64 + 1);
                let mut out = vec![0u64; len.min(n as usize)];
                p.permute_batch(base, &mut out);
                for (j, &y) in out.iter().enumerate() {
                    assert_eq!(y, p.permute(base + j as u64), "n={n} base={base} j={j}");
                }
            }
        }
    }

    #[test]
    fn fisher_yates_is_a_permutation() {
        let v = fisher_yates(1000, 3);
        assert!(is_bijection(1000, |i| v[i as usize] as u64));
    }
}

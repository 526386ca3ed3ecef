//! Seeded O(1)-memory permutation of `[0, n)`: a 4-round Feistel network over the
//! tight mixed-radix domain `[0, b·2^k)` plus cycle walking.
//!
//! A value `x` is split into `L = x >> k` in `[0, b)` and `R = x & (2^k - 1)`, with
//! `k = ⌊⌈log2 n⌉ / 2⌋` and `b = ⌈n / 2^k⌉`, so the domain exceeds `n` by less than
//! `2^k ≈ √n` and cycle walking (re-encrypting values `>= n`) almost never runs.
//! Rounds alternate: `L = (L + F(R)) mod b`, then `R = R xor G(L)`; each is a
//! bijection of the domain (the format-preserving-encryption form of Feistel), and
//! walking on a bijection's cycle returns to `[0, n)`, so the result is a bijection
//! of `[0, n)`. Round functions are one multiply by an odd constant keyed by xor;
//! `F` maps into `[0, b)` with a multiply-high, so no division is needed.

// ---------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------

/// Number of Feistel rounds (unrolled in `encrypt`): two updates of each half.
const ROUNDS: usize = 4;

/// Odd 64-bit multipliers (from SplitMix64 / Murmur3's finalizer).
const MUL_A: u64 = 0xbf58_476d_1ce4_e5b9;
const MUL_B: u64 = 0x94d0_49bb_1331_11eb;

// ---------------------------------------------------------------------------
// Seed expansion
// ---------------------------------------------------------------------------

/// SplitMix64 step: the key schedule and the deterministic generator used by tests.
pub fn splitmix64_next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(MUL_A);
    z = (z ^ (z >> 27)).wrapping_mul(MUL_B);
    z ^ (z >> 31)
}

// ---------------------------------------------------------------------------
// Permutation
// ---------------------------------------------------------------------------

/// A bijection of `[0, n)` keyed by a 64-bit seed. Copyable, 56 bytes, no tables.
#[derive(Clone, Copy, Debug)]
pub struct Permutation {
    n: u64,
    /// Bits of the right half (>= 1).
    k: u32,
    /// Modulus of the left half (>= 1).
    b: u64,
    keys: [u64; ROUNDS],
}

/// `F`: a value in `[0, modulus)` from `half` and `key` (high half of a 128-bit product).
#[inline(always)]
fn round_mod(half: u64, key: u64, modulus: u64) -> u64 {
    let h = (half ^ key).wrapping_mul(MUL_A);
    ((h as u128 * modulus as u128) >> 64) as u64
}

/// `G`: the top `bits` bits of a keyed multiplicative hash of `half` (1 <= bits <= 32).
#[inline(always)]
fn round_bits(half: u64, key: u64, bits: u32) -> u64 {
    (half ^ key).wrapping_mul(MUL_B) >> (64 - bits)
}

impl Permutation {
    /// Builds the permutation of `[0, n)` for `seed`. `n` may be 0 or 1 (trivial).
    pub fn permutation_new(n: u64, seed: u64) -> Permutation {
        let bits = if n <= 2 { 2 } else { 64 - (n - 1).leading_zeros() };
        let k = (bits / 2).max(1);
        let b = (n >> k) + u64::from(n & ((1u64 << k) - 1) != 0);
        let mut state = seed ^ 0x6e65_7861_5f73_6875; // "nexa_shu": domain separation
        let mut keys = [0u64; ROUNDS];
        for key in keys.iter_mut() {
            *key = splitmix64_next(&mut state);
        }
        Permutation { n, k, b: b.max(1), keys }
    }

    /// Size of the permuted range.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when the range is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// One encryption over the domain `[0, b·2^k)`; `tweak` re-keys all rounds.
    #[inline(always)]
    fn encrypt(&self, x: u64, tweak: u64) -> u64 {
        let (k, b, key) = (self.k, self.b, &self.keys);
        let (mut l, mut r) = (x >> k, x & ((1u64 << k) - 1));
        l = add_mod(l, round_mod(r, key[0] ^ tweak, b), b);
        r ^= round_bits(l, key[1] ^ tweak, k);
        l = add_mod(l, round_mod(r, key[2] ^ tweak, b), b);
        r ^= round_bits(l, key[3] ^ tweak, k);
        (l << k) | r
    }

    /// Inverse of `encrypt`: the rounds undone in reverse order.
    #[inline(always)]
    fn decrypt(&self, y: u64, tweak: u64) -> u64 {
        let (k, b, key) = (self.k, self.b, &self.keys);
        let (mut l, mut r) = (y >> k, y & ((1u64 << k) - 1));
        r ^= round_bits(l, key[3] ^ tweak, k);
        l = sub_mod(l, round_mod(r, key[2] ^ tweak, b), b);
        r ^= round_bits(l, key[1] ^ tweak, k);
        l = sub_mod(l, round_mod(r, key[0] ^ tweak, b), b);
        (l << k) | r
    }

    /// Position `i` of the permuted sequence, i.e. `permute(i)` for `i < n`.
    #[inline]
    pub fn permute(&self, i: u64) -> u64 {
        self.permute_tweaked(i, 0)
    }

    /// `out[k] = permute(base + k)` for up to 64 consecutive indices (throughput path):
    /// one straight-line encryption pass the CPU can overlap, then cycle walking only
    /// for the lanes that left `[0, n)`, compacted branch-free so that the loop exit
    /// is the only data-dependent branch.
    pub fn permute_batch(&self, base: u64, out: &mut [u64]) {
        debug_assert!(out.len() <= 64);
        if self.n <= 1 {
            for (k, o) in out.iter_mut().enumerate() {
                *o = base + k as u64;
            }
            return;
        }
        #[cfg(target_arch = "x86_64")]
        let first = if self.b <= u64::from(u32::MAX) && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected just above.
            unsafe { self.encrypt_lanes_avx2(base, out) }
        } else {
            0
        };
        #[cfg(not(target_arch = "x86_64"))]
        let first = 0;
        for (k, o) in out.iter_mut().enumerate().skip(first) {
            *o = self.encrypt(base + k as u64, 0);
        }
        let mut pending = [0u8; 64];
        let mut count = 0usize;
        for (k, &o) in out.iter().enumerate() {
            pending[count] = k as u8;
            count += (o >= self.n) as usize;
        }
        while count > 0 {
            let mut next = 0usize;
            for t in 0..count {
                let k = pending[t] as usize;
                out[k] = self.encrypt(out[k], 0);
                pending[next] = k as u8;
                next += (out[k] >= self.n) as usize;
            }
            count = next;
        }
    }

    /// `out[j] = encrypt(base + j, 0)` four lanes at a time for the longest prefix of `out` that is a multiple of
    /// four; returns its length. The same integer operations as `encrypt`, written with 32 × 32 → 64-bit products
    /// (AVX2 has no 64-bit multiply), so every lane gets the bits of the scalar path:
    /// * a half is below 2^32 (`l < b <= u32::MAX`, `r < 2^k`, `k <= 32`), so in `(half ^ key) · m mod 2^64` the
    ///   high word of `half ^ key` is the key's: `lo(t)·lo(m) + ((hi(key)·lo(m) + lo(t)·hi(m)) << 32)`;
    /// * the high 64 bits of `h · b` for `b < 2^32` are `(hi(h)·b + (lo(h)·b >> 32)) >> 32`, with no overflow.
    ///
    /// # Safety
    /// The CPU must support AVX2, and `self.b <= u32::MAX`.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn encrypt_lanes_avx2(&self, base: u64, out: &mut [u64]) -> usize {
        use std::arch::x86_64::*;
        let lanes = out.len() / 4 * 4;
        let k = self.k;
        let splat = |v: u64| _mm256_set1_epi64x(v as i64);
        // (half ^ key) · m mod 2^64 for a half below 2^32.
        let mul_keyed = |half: __m256i, key: u64, m: u64| {
            let t = _mm256_xor_si256(half, splat(key));
            let lo = _mm256_mul_epu32(t, splat(m & 0xffff_ffff));
            let cross =
                _mm256_add_epi64(_mm256_mul_epu32(t, splat(m >> 32)), splat((key >> 32).wrapping_mul(m & 0xffff_ffff)));
            _mm256_add_epi64(lo, _mm256_slli_epi64::<32>(cross))
        };
        let bv = splat(self.b);
        // F: the high 64 bits of (keyed hash) · b.
        let round_mod = |r: __m256i, key: u64| {
            let h = mul_keyed(r, key, MUL_A);
            let low = _mm256_mul_epu32(h, bv);
            let high = _mm256_mul_epu32(_mm256_srli_epi64::<32>(h), bv);
            _mm256_srli_epi64::<32>(_mm256_add_epi64(high, _mm256_srli_epi64::<32>(low)))
        };
        // (l + f) mod b: values below 2^33, so the signed compare is exact.
        let add_mod = |l: __m256i, f: __m256i| {
            let t = _mm256_add_epi64(l, f);
            let below = _mm256_cmpgt_epi64(bv, t);
            _mm256_sub_epi64(t, _mm256_andnot_si256(below, bv))
        };
        let k_count = _mm_set_epi64x(0, i64::from(k));
        let g_count = _mm_set_epi64x(0, i64::from(64 - k));
        let r_mask = splat((1u64 << k) - 1);
        let step = splat(4);
        let mut x = _mm256_add_epi64(splat(base), _mm256_set_epi64x(3, 2, 1, 0));
        let key = &self.keys;
        for j in (0..lanes).step_by(4) {
            let mut l = _mm256_srl_epi64(x, k_count);
            let mut r = _mm256_and_si256(x, r_mask);
            l = add_mod(l, round_mod(r, key[0]));
            r = _mm256_xor_si256(r, _mm256_srl_epi64(mul_keyed(l, key[1], MUL_B), g_count));
            l = add_mod(l, round_mod(r, key[2]));
            r = _mm256_xor_si256(r, _mm256_srl_epi64(mul_keyed(l, key[3], MUL_B), g_count));
            let y = _mm256_or_si256(_mm256_sll_epi64(l, k_count), r);
            _mm256_storeu_si256(out.as_mut_ptr().add(j) as *mut __m256i, y);
            x = _mm256_add_epi64(x, step);
        }
        lanes
    }

    /// Inverse: `inverse(permute(i)) == i`.
    #[inline]
    pub fn inverse(&self, y: u64) -> u64 {
        self.inverse_tweaked(y, 0)
    }

    /// `permute` under an independent key derived from `tweak` (used per block).
    #[inline]
    pub fn permute_tweaked(&self, i: u64, tweak: u64) -> u64 {
        debug_assert!(i < self.n);
        if self.n <= 1 {
            return i;
        }
        let mut y = self.encrypt(i, tweak);
        while y >= self.n {
            y = self.encrypt(y, tweak);
        }
        y
    }

    /// Inverse of `permute_tweaked` for the same tweak.
    #[inline]
    pub fn inverse_tweaked(&self, y: u64, tweak: u64) -> u64 {
        debug_assert!(y < self.n);
        if self.n <= 1 {
            return y;
        }
        let mut x = self.decrypt(y, tweak);
        while x >= self.n {
            x = self.decrypt(x, tweak);
        }
        x
    }
}

/// `(l + f) mod b` for `l, f < b`.
#[inline(always)]
fn add_mod(l: u64, f: u64, b: u64) -> u64 {
    let t = l + f; // < 2b <= 2^33 (b <= 2^32), no overflow
    if t >= b {
        t - b
    } else {
        t
    }
}

/// `(l - f) mod b` for `l, f < b`.
#[inline(always)]
fn sub_mod(l: u64, f: u64, b: u64) -> u64 {
    if l >= f {
        l - f
    } else {
        l + b - f
    }
}

/// Tweak for block `b`: a well-mixed value so neighbouring blocks get unrelated keys.
#[inline(always)]
pub fn tweak_for_block(block: u64) -> u64 {
    let mut s = block;
    splitmix64_next(&mut s)
}

//! MinHash signatures over word shingles and LSH banding for near-duplicate search.
//!
//! Words are maximal runs of non-whitespace bytes (ASCII whitespace splits),
//! lowercased (ASCII). A shingle is `shingle_words` consecutive words; its 64-bit
//! hash combines the word hashes and is folded to 32 bits (`x`). Hash function `i`
//! is the high half of the 32×32→64-bit product `(x ^ m_i) * a_i` (odd `a_i`),
//! minimized over the document's shingles. A 32×32→64 multiply is one SSE2 lane
//! operation (`pmuludq`), so the inner loop vectorizes without target flags;
//! 64×64 products do not (2.5× slower on the baseline x86-64 target).

use crate::hash::{hash_bytes, mix64};

/// MinHash / LSH parameters; `bands * rows` hash functions in total.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MinHashConfig {
    pub bands: u32,
    pub rows: u32,
    pub shingle_words: u32,
    pub seed: u64,
}

impl Default for MinHashConfig {
    fn default() -> Self {
        MinHashConfig { bands: 14, rows: 8, shingle_words: 5, seed: 1 }
    }
}

/// Precomputed hash-function coefficients.
#[derive(Clone, Debug)]
pub struct MinHasher {
    pub cfg: MinHashConfig,
    xor: Vec<u32>,
    mul: Vec<u32>,
}

impl MinHasher {
    pub fn minhasher_new(cfg: MinHashConfig) -> Result<MinHasher, String> {
        if cfg.bands == 0 || cfg.rows == 0 || cfg.shingle_words == 0 {
            return Err(format!(
                "minhash bands, rows and shingle_words must be > 0 (got {}, {}, {})",
                cfg.bands, cfg.rows, cfg.shingle_words
            ));
        }
        if cfg.bands as u64 * cfg.rows as u64 > 4096 {
            return Err("minhash bands * rows must be <= 4096".into());
        }
        let n = (cfg.bands * cfg.rows) as usize;
        let mut s = cfg.seed;
        let mut next = || {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix64(s)
        };
        let xor = (0..n).map(|_| next() as u32).collect();
        let mul = (0..n).map(|_| (next() >> 32) as u32 | 1).collect();
        Ok(MinHasher { cfg, xor, mul })
    }

    pub fn num_hashes(&self) -> usize {
        self.mul.len()
    }

    /// Shingle hashes of `doc` (an empty document has none; a document shorter
    /// than one shingle has one shingle of all its words).
    pub fn shingles(&self, doc: &[u8], out: &mut Vec<u64>) {
        out.clear();
        let lower = doc.to_ascii_lowercase();
        let words: Vec<u64> = lower
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty())
            .map(|w| hash_bytes(w, self.cfg.seed))
            .collect();
        let k = self.cfg.shingle_words as usize;
        if words.is_empty() {
            return;
        }
        let k = k.min(words.len());
        for win in words.windows(k) {
            let mut h = 0u64;
            for &w in win {
                h = mix64(h.rotate_left(17) ^ w);
            }
            out.push(h);
        }
    }

    /// Signature (`num_hashes` minima) of the given shingle hashes. Integer arithmetic only, so the AVX2 build of
    /// the same loop (taken when the CPU has AVX2) gives the same minima as the baseline one.
    pub fn signature(&self, shingles: &[u64], sig: &mut Vec<u32>) {
        sig.clear();
        sig.resize(self.num_hashes(), u32::MAX);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 was detected just above.
            unsafe { signature_avx2(shingles, &self.xor, &self.mul, sig) };
            return;
        }
        signature_min(shingles, &self.xor, &self.mul, sig);
    }

    /// LSH band keys of a signature: one 64-bit key per band (band index mixed in).
    pub fn band_keys(&self, sig: &[u32], keys: &mut Vec<u64>) {
        keys.clear();
        let r = self.cfg.rows as usize;
        for (b, band) in sig.chunks(r).enumerate() {
            let mut h = mix64(b as u64 ^ 0x6c73_68);
            for &v in band {
                h = mix64(h ^ v as u64);
            }
            keys.push(h);
        }
    }
}

/// sig[i] = min over shingles x of ((x' ^ xor[i]) · mul[i]) >> 32, x' = the 32-bit fold of x.
#[inline(always)]
pub(crate) fn signature_min(shingles: &[u64], xor: &[u32], mul: &[u32], sig: &mut [u32]) {
    for &x in shingles {
        let x = (x ^ (x >> 32)) as u32;
        for ((s, &m), &a) in sig.iter_mut().zip(xor).zip(mul) {
            let v = (((x ^ m) as u64 * a as u64) >> 32) as u32;
            *s = (*s).min(v);
        }
    }
}

/// `signature_min` compiled for AVX2 (the compiler vectorises its loop over 8 lanes).
///
/// # Safety
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) unsafe fn signature_avx2(shingles: &[u64], xor: &[u32], mul: &[u32], sig: &mut [u32]) {
    signature_min(shingles, xor, mul, sig)
}

/// Estimated Jaccard similarity: the fraction of equal signature positions.
pub fn signature_similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64
}

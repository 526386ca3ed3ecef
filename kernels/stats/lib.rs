//! Corpus statistics: document token lengths and token ids in, counts, length
//! histograms/quantiles, vocabulary usage, bigram counts and merged per-reason drop counts out.
//!
//! All functions are pure and order-independent in their results (quantiles use a
//! sorted copy; histograms and counts are sums), so shard results merge exactly.

// ---------------------------------------------------------------------------
// Lengths
// ---------------------------------------------------------------------------

/// Summary of document lengths (in tokens).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LengthStats {
    pub docs: u64,
    pub tokens: u64,
    pub min: u64,
    pub max: u64,
    pub mean: f64,
    /// Nearest-rank quantiles (the smallest length with at least q of documents <= it).
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
}

/// Number of log2 histogram buckets: bucket 0 holds length 0, bucket k holds [2^(k-1), 2^k).
pub const HISTOGRAM_BUCKETS: usize = 65;

/// Length summary of `lens` (all zeros for no documents).
pub fn length_stats(lens: &[u64]) -> LengthStats {
    if lens.is_empty() {
        return LengthStats::default();
    }
    let mut sorted = lens.to_vec();
    sorted.sort_unstable();
    let tokens: u64 = sorted.iter().sum();
    let rank = |q: f64| sorted[(((q * sorted.len() as f64).ceil() as usize).max(1) - 1).min(sorted.len() - 1)];
    LengthStats {
        docs: lens.len() as u64,
        tokens,
        min: sorted[0],
        max: sorted[sorted.len() - 1],
        mean: tokens as f64 / lens.len() as f64,
        p50: rank(0.5),
        p90: rank(0.9),
        p99: rank(0.99),
    }
}

/// Bucket of length `len` in the log2 histogram.
pub fn histogram_bucket(len: u64) -> usize {
    (64 - len.leading_zeros()) as usize
}

/// Adds `lens` into the log2 histogram `hist`.
pub fn length_histogram(lens: &[u64], hist: &mut [u64; HISTOGRAM_BUCKETS]) {
    for &l in lens {
        hist[histogram_bucket(l)] += 1;
    }
}

/// Document lengths from CSR offsets (`n_docs + 1` non-decreasing entries).
pub fn lens_from_offsets(offsets: &[u64]) -> Result<Vec<u64>, String> {
    if offsets.is_empty() {
        return Err("offsets need n_docs + 1 entries (got 0)".into());
    }
    offsets
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            w[1].checked_sub(w[0]).ok_or_else(|| format!("offsets decrease at document {i} ({} > {})", w[0], w[1]))
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Vocabulary usage
// ---------------------------------------------------------------------------

/// Adds the occurrences of each id into `counts` (`counts.len()` = vocab size) and
/// returns how many ids have a non-zero count. `Err(i)` names the first id >= vocab size.
pub fn vocab_usage(ids: &[u32], counts: &mut [u64]) -> Result<u64, usize> {
    for (i, &id) in ids.iter().enumerate() {
        match counts.get_mut(id as usize) {
            Some(c) => *c += 1,
            None => return Err(i),
        }
    }
    Ok(counts.iter().filter(|&&c| c > 0).count() as u64)
}

// ---------------------------------------------------------------------------
// Bigram counts
// ---------------------------------------------------------------------------

/// Distinct pairs `(prev[i], next[i])` over the positions with `next[i] != skip`, as keys
/// `prev · vocab_size + next` in increasing order with their counts: writes `keys[..d]` and
/// `counts[..d]` and returns `d`. Both outputs must hold at least `prev.len()` entries (the
/// most pairs there can be). The result depends only on the multiset of pairs, so counts
/// of several arrays merge exactly by adding the counts of equal keys.
pub fn bigram_counts(
    prev: &[u32],
    next: &[u32],
    vocab_size: u64,
    skip: u32,
    keys: &mut [u64],
    counts: &mut [u64],
) -> Result<usize, String> {
    if prev.len() != next.len() {
        return Err(format!("prev has {} ids and next {}; they must be the same length", prev.len(), next.len()));
    }
    if keys.len() < prev.len() || counts.len() < prev.len() {
        return Err(format!(
            "keys ({}) and counts ({}) must hold at least {} entries (one per position)",
            keys.len(),
            counts.len(),
            prev.len()
        ));
    }
    if vocab_size == 0 || vocab_size.checked_mul(vocab_size).is_none() {
        return Err(format!("vocab_size {vocab_size} must be in [1, 2^32]"));
    }
    let mut pairs: Vec<u64> = Vec::with_capacity(prev.len());
    for (i, (&p, &n)) in prev.iter().zip(next).enumerate() {
        if n == skip {
            continue;
        }
        if p as u64 >= vocab_size || n as u64 >= vocab_size {
            return Err(format!("position {i}: pair ({p}, {n}) has an id >= vocab_size {vocab_size}"));
        }
        pairs.push(p as u64 * vocab_size + n as u64);
    }
    pairs.sort_unstable();
    let mut d = 0;
    for (j, &k) in pairs.iter().enumerate() {
        if j > 0 && pairs[j - 1] == k {
            counts[d - 1] += 1;
        } else {
            keys[d] = k;
            counts[d] = 1;
            d += 1;
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------
// Drop counts
// ---------------------------------------------------------------------------

/// Adds per-reason counts from one shard into a running total (same reason codes).
pub fn merge_counts(total: &mut [u64], shard: &[u64]) -> Result<(), String> {
    if total.len() != shard.len() {
        return Err(format!("reason count arrays differ in length ({} vs {})", total.len(), shard.len()));
    }
    for (t, s) in total.iter_mut().zip(shard) {
        *t += s;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_stats_and_quantiles() {
        let lens: Vec<u64> = (1..=100).collect();
        let s = length_stats(&lens);
        assert_eq!((s.docs, s.tokens, s.min, s.max), (100, 5050, 1, 100));
        assert_eq!((s.p50, s.p90, s.p99), (50, 90, 99));
        assert_eq!(s.mean, 50.5);
        assert_eq!(length_stats(&[]), LengthStats::default());
    }

    #[test]
    fn histogram_buckets_are_log2() {
        let mut h = [0u64; HISTOGRAM_BUCKETS];
        length_histogram(&[0, 1, 2, 3, 4, 1023, 1024, u64::MAX], &mut h);
        assert_eq!((h[0], h[1], h[2], h[3], h[10], h[11], h[64]), (1, 1, 2, 1, 1, 1, 1));
    }

    #[test]
    fn vocab_usage_counts_and_rejects_out_of_range() {
        let mut c = vec![0u64; 5];
        assert_eq!(vocab_usage(&[0, 0, 3], &mut c), Ok(2));
        assert_eq!(c, vec![2, 0, 0, 1, 0]);
        assert_eq!(vocab_usage(&[1, 9], &mut c), Err(1));
    }

    #[test]
    fn bigram_counts_sort_and_skip() {
        let (mut k, mut c) = (vec![0u64; 6], vec![0u64; 6]);
        // pairs 2→1, 0→3, 2→1, (skipped), 1→0; vocab 4: keys 9, 3, 9, 4
        let d = bigram_counts(&[2, 0, 2, 3, 1, 3], &[1, 3, 1, 9, 0, 9], 4, 9, &mut k, &mut c).unwrap();
        assert_eq!((&k[..d], &c[..d]), (&[3u64, 4, 9][..], &[1u64, 1, 2][..]));
        assert!(bigram_counts(&[0, 4], &[1, 1], 4, 9, &mut k, &mut c).unwrap_err().contains("position 1"));
        assert!(bigram_counts(&[0], &[1, 2], 4, 9, &mut k, &mut c).is_err());
        assert!(bigram_counts(&[0; 7], &[0; 7], 4, 9, &mut k, &mut c).is_err());
        assert_eq!(bigram_counts(&[], &[], 4, 9, &mut k, &mut c), Ok(0));
    }

    #[test]
    fn offsets_and_merging() {
        assert_eq!(lens_from_offsets(&[0, 3, 3, 10]).unwrap(), vec![3, 0, 7]);
        assert!(lens_from_offsets(&[0, 5, 4]).is_err());
        assert!(lens_from_offsets(&[]).is_err());
        let mut t = vec![1, 2];
        merge_counts(&mut t, &[3, 4]).unwrap();
        assert_eq!(t, vec![4, 6]);
        assert!(merge_counts(&mut t, &[1]).is_err());
    }
}

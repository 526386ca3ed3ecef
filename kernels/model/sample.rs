//! Next-token sampling from logits: greedy, temperature, top-k, top-p, all driven by a
//! seeded `Rng`, with ties broken by the lower token id so sampling is reproducible.

use crate::elementary::exp_f64;
use crate::rng::Rng;

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleOptions {
    /// 0 = greedy (argmax); otherwise logits are divided by it.
    pub temperature: f32,
    /// Keep only the k most likely tokens (0 = no limit).
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose mass reaches top_p (1 = no limit).
    pub top_p: f32,
}

impl Default for SampleOptions {
    fn default() -> SampleOptions {
        SampleOptions { temperature: 1.0, top_k: 0, top_p: 1.0 }
    }
}

/// Index of the largest logit (lowest index on ties).
pub fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, &x) in logits.iter().enumerate() {
        if x > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// Draws one token id from `logits` [V].
pub fn sample_next(logits: &[f32], opts: &SampleOptions, rng: &mut Rng) -> u32 {
    if opts.temperature <= 0.0 || opts.top_k == 1 {
        return argmax(logits);
    }
    let maxv = logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let mut cand: Vec<(f64, u32)> =
        logits.iter().enumerate().map(|(i, &z)| (exp_f64(((z - maxv) / opts.temperature) as f64), i as u32)).collect();
    // most likely first; equal probabilities by token id. The weights are exp(≤ 0) in [0, 1] (never -0), whose IEEE
    // bits order like their values, so an integer key gives that order, and token ids make it total (any sort
    // gives the same permutation).
    cand.sort_unstable_by_key(|&(w, id)| (std::cmp::Reverse(w.to_bits()), id));
    if opts.top_k > 0 {
        cand.truncate(opts.top_k);
    }
    let total: f64 = cand.iter().map(|c| c.0).sum();
    if opts.top_p < 1.0 {
        let mut mass = 0.0;
        let mut keep = cand.len();
        for (i, c) in cand.iter().enumerate() {
            mass += c.0 / total;
            if mass >= opts.top_p as f64 {
                keep = i + 1;
                break;
            }
        }
        cand.truncate(keep.max(1));
    }
    let total: f64 = cand.iter().map(|c| c.0).sum();
    let mut u = rng.uniform() * total;
    for c in &cand {
        if u < c.0 {
            return c.1;
        }
        u -= c.0;
    }
    cand.last().unwrap().1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_respects_greedy_top_k_top_p_and_seed() {
        let logits = [1.0f32, 3.0, 2.0, 3.0, -5.0];
        let mut rng = Rng::new(1);
        assert_eq!(sample_next(&logits, &SampleOptions { temperature: 0.0, ..Default::default() }, &mut rng), 1);
        let draw = |opts: SampleOptions, seed| {
            let mut rng = Rng::new(seed);
            (0..400).map(|_| sample_next(&logits, &opts, &mut rng)).collect::<Vec<u32>>()
        };
        let k2 = draw(SampleOptions { top_k: 2, ..Default::default() }, 3);
        assert!(k2.iter().all(|&t| t == 1 || t == 3) && k2.contains(&1) && k2.contains(&3));
        let p = draw(SampleOptions { top_p: 0.5, ..Default::default() }, 4);
        assert!(p.iter().all(|&t| t == 1 || t == 3), "top-p 0.5 keeps the two tied leaders");
        let all = draw(SampleOptions::default(), 5);
        assert!(all.contains(&0) && all.contains(&2));
        assert_eq!(all, draw(SampleOptions::default(), 5), "same seed, same draws");
    }
}

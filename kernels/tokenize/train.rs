//! Byte-level BPE training.
//!
//! Ids 0..=255 are the single bytes, then one id per merge in the order learned,
//! then the special tokens. Each step merges the most frequent adjacent pair over
//! the pre-tokenized corpus; ties go to the smallest `(left id, right id)`, so the
//! result depends only on the corpus and the config (never on hash order).
//! Pair counts are updated incrementally: only the words containing the merged
//! pair are rescanned, and a max-heap with lazy invalidation picks the next pair.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::bpe::{model_new, pair_key, FastMap, Model};
use crate::pretokenize::pretokenize;

/// Training knobs.
#[derive(Clone, Debug)]
pub struct TrainConfig {
    /// Final vocabulary size, special tokens included (>= 256 + specials).
    pub vocab_size: u32,
    /// Pairs seen fewer times than this are never merged (>= 1).
    pub min_frequency: u64,
    /// Special tokens appended after the merges, e.g. `<|endoftext|>`.
    pub specials: Vec<Vec<u8>>,
}

/// Trains a vocabulary on `docs` (each document is pre-tokenized on its own).
pub fn train<'a>(docs: impl Iterator<Item = &'a [u8]>, cfg: &TrainConfig) -> Result<Model, String> {
    let base = 256 + cfg.specials.len() as u32;
    if cfg.vocab_size < base {
        return Err(format!(
            "vocab_size {} is too small: need at least 256 byte tokens + {} specials = {base}",
            cfg.vocab_size,
            cfg.specials.len()
        ));
    }
    let target_merges = (cfg.vocab_size - base) as usize;

    // Unique pieces with counts, in first-seen order (deterministic).
    let mut piece_index: FastMap<&[u8], usize> = FastMap::default();
    let mut words: Vec<Vec<u32>> = Vec::new();
    let mut freq: Vec<u64> = Vec::new();
    for doc in docs {
        for piece in pretokenize(doc) {
            let next = words.len();
            let i = *piece_index.entry(piece).or_insert(next);
            if i == next {
                words.push(piece.iter().map(|&b| b as u32).collect());
                freq.push(0);
            }
            freq[i] += 1;
        }
    }

    // Initial pair counts and pair -> words index.
    let mut counts: FastMap<u64, u64> = FastMap::default();
    let mut where_: FastMap<u64, Vec<u32>> = FastMap::default();
    for (w, word) in words.iter().enumerate() {
        for p in word.windows(2) {
            let k = pair_key(p[0], p[1]);
            *counts.entry(k).or_insert(0) += freq[w];
            let list = where_.entry(k).or_default();
            if list.last() != Some(&(w as u32)) {
                list.push(w as u32);
            }
        }
    }
    let mut heap: BinaryHeap<(u64, Reverse<u64>)> = counts.iter().map(|(&k, &c)| (c, Reverse(k))).collect();

    let mut vocab: Vec<Vec<u8>> = (0..=255u8).map(|b| vec![b]).collect();
    let mut merges: FastMap<u64, (u32, u32)> = FastMap::default();
    let min_freq = cfg.min_frequency.max(1);
    while merges.len() < target_merges {
        let Some((c, Reverse(k))) = heap.pop() else {
            break;
        };
        if counts.get(&k).copied().unwrap_or(0) != c {
            continue; // stale heap entry
        }
        if c < min_freq {
            break;
        }
        let (a, b) = ((k >> 32) as u32, k as u32);
        let new_id = vocab.len() as u32;
        let mut merged = vocab[a as usize].clone();
        merged.extend_from_slice(&vocab[b as usize]);
        vocab.push(merged);
        merges.insert(k, (new_id, new_id));

        // Rescan the words that contain (a, b): subtract old pairs, merge, add new pairs.
        let mut delta: FastMap<u64, i64> = FastMap::default();
        for &w in where_.remove(&k).unwrap_or_default().iter() {
            let word = &mut words[w as usize];
            if !word.windows(2).any(|p| p[0] == a && p[1] == b) {
                continue; // stale index entry
            }
            let f = freq[w as usize] as i64;
            for p in word.windows(2) {
                *delta.entry(pair_key(p[0], p[1])).or_insert(0) -= f;
            }
            let mut out = Vec::with_capacity(word.len());
            let mut i = 0;
            while i < word.len() {
                if i + 1 < word.len() && word[i] == a && word[i + 1] == b {
                    out.push(new_id);
                    i += 2;
                } else {
                    out.push(word[i]);
                    i += 1;
                }
            }
            *word = out;
            for p in word.windows(2) {
                let pk = pair_key(p[0], p[1]);
                *delta.entry(pk).or_insert(0) += f;
                if p[0] == new_id || p[1] == new_id {
                    let list = where_.entry(pk).or_default();
                    if list.last() != Some(&w) {
                        list.push(w);
                    }
                }
            }
        }
        for (pk, d) in delta {
            if d == 0 {
                continue;
            }
            let c = counts.entry(pk).or_insert(0);
            *c = (*c as i64 + d) as u64;
            if *c > 0 {
                heap.push((*c, Reverse(pk)));
            }
        }
        counts.remove(&k);
    }

    let first_special = vocab.len() as u32;
    let specials = cfg.specials.iter().enumerate().map(|(i, s)| (s.clone(), first_special + i as u32)).collect();
    model_new(vocab, merges, specials, true)
}

//! Quality gate: documents in, keep or (drop, reason) out per document, counted
//! per reason; exact dedup by 128-bit content digest and near-dedup by MinHash+LSH.
//!
//! A [`Gate`] is stateful across batches (dedup memory) and deterministic: the
//! same documents in the same order give the same decisions.

mod filters;
mod hash;
mod minhash;

use std::collections::HashSet;

pub use filters::{char_counts, duplicate_line_fraction, filter_document, ngram_repeat_fraction, FilterConfig};
pub use hash::{content_digest, hash_bytes};
pub use minhash::{signature_similarity, MinHashConfig, MinHasher};

// ---------------------------------------------------------------------------
// Reasons
// ---------------------------------------------------------------------------

/// Decision for one document. Codes are part of the C ABI (`NEXA_GATE_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum DropReason {
    Keep = 0,
    TooShort = 1,
    TooLong = 2,
    InvalidUtf8 = 3,
    DuplicateLines = 4,
    NgramRepetition = 5,
    SymbolRatio = 6,
    DigitRatio = 7,
    ExactDuplicate = 8,
    NearDuplicate = 9,
    /// Not processed: the document belongs to another shard (not a drop).
    OtherShard = 10,
}

/// Number of reason codes (size of the per-reason counts array).
pub const REASON_COUNT: usize = 11;

/// Stable snake_case name of a reason code (for logs and stats).
pub fn reason_name(code: u8) -> Option<&'static str> {
    const NAMES: [&str; REASON_COUNT] = [
        "keep",
        "too_short",
        "too_long",
        "invalid_utf8",
        "duplicate_lines",
        "ngram_repetition",
        "symbol_ratio",
        "digit_ratio",
        "exact_duplicate",
        "near_duplicate",
        "other_shard",
    ];
    NAMES.get(code as usize).copied()
}

// ---------------------------------------------------------------------------
// Gate
// ---------------------------------------------------------------------------

/// Full gate configuration.
#[derive(Clone, Debug)]
pub struct GateConfig {
    pub filters: FilterConfig,
    pub exact_dedup: bool,
    pub near_dedup: bool,
    pub minhash: MinHashConfig,
    /// This gate processes documents whose global index % num_shards == shard.
    pub shard: u64,
    pub num_shards: u64,
}

impl Default for GateConfig {
    fn default() -> Self {
        GateConfig {
            filters: FilterConfig::default(),
            exact_dedup: true,
            near_dedup: true,
            minhash: MinHashConfig::default(),
            shard: 0,
            num_shards: 1,
        }
    }
}

/// Stateful filter + dedup over a stream of documents.
pub struct Gate {
    cfg: GateConfig,
    hasher: MinHasher,
    seen_digests: HashSet<u128>,
    seen_bands: HashSet<u64>,
    counts: [u64; REASON_COUNT],
    next_index: u64,
    // Scratch buffers reused across documents.
    shingles: Vec<u64>,
    sig: Vec<u32>,
    keys: Vec<u64>,
}

impl Gate {
    pub fn gate_new(cfg: GateConfig) -> Result<Gate, String> {
        if cfg.num_shards == 0 || cfg.shard >= cfg.num_shards {
            return Err(format!("shard {} of {} is invalid: need 0 <= shard < num_shards", cfg.shard, cfg.num_shards));
        }
        let hasher = MinHasher::minhasher_new(cfg.minhash)?;
        Ok(Gate {
            cfg,
            hasher,
            seen_digests: HashSet::new(),
            seen_bands: HashSet::new(),
            counts: [0; REASON_COUNT],
            next_index: 0,
            shingles: Vec::new(),
            sig: Vec::new(),
            keys: Vec::new(),
        })
    }

    /// Decides the next document of the stream (global index = documents seen so far).
    pub fn gate_document(&mut self, doc: &[u8]) -> DropReason {
        let index = self.next_index;
        self.next_index += 1;
        let reason =
            if index % self.cfg.num_shards != self.cfg.shard { DropReason::OtherShard } else { self.decide(doc) };
        self.counts[reason as usize] += 1;
        reason
    }

    fn decide(&mut self, doc: &[u8]) -> DropReason {
        if let Some(r) = filter_document(doc, &self.cfg.filters) {
            return r;
        }
        if self.cfg.exact_dedup && !self.seen_digests.insert(content_digest(doc)) {
            return DropReason::ExactDuplicate;
        }
        if self.cfg.near_dedup {
            self.hasher.shingles(doc, &mut self.shingles);
            if !self.shingles.is_empty() {
                self.hasher.signature(&self.shingles, &mut self.sig);
                self.hasher.band_keys(&self.sig, &mut self.keys);
                if self.keys.iter().any(|k| self.seen_bands.contains(k)) {
                    return DropReason::NearDuplicate;
                }
                self.seen_bands.extend(self.keys.iter().copied());
            }
        }
        DropReason::Keep
    }

    /// Documents counted per reason so far (index = reason code).
    pub fn counts(&self) -> [u64; REASON_COUNT] {
        self.counts
    }
}

#[cfg(test)]
mod tests;

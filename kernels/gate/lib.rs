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
    /// Threads `gate_run` prepares documents on (the decisions never depend on it).
    threads: usize,
}

/// What deciding one document needs that does not depend on the documents before it: the filters' verdict, or
/// its content digest and LSH band keys (empty when it has no shingle or near dedup is off).
enum Prepared {
    Drop(DropReason),
    Candidate { digest: u128, keys: Vec<u64> },
}

/// Documents prepared per round of `gate_run` (bounds the band keys held at once).
const PREPARE_CHUNK: usize = 4096;

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
            threads: 1,
        })
    }

    /// Threads for `gate_run` (at least 1). The stream's decisions are the same for every count: only the
    /// per-document work (filters, digest, shingles, MinHash signature) runs in parallel; the dedup state is
    /// updated by one thread in stream order.
    pub fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
    }

    /// Decides the next document of the stream (global index = documents seen so far).
    pub fn gate_document(&mut self, doc: &[u8]) -> DropReason {
        let index = self.next_index;
        self.next_index += 1;
        let reason = if index % self.cfg.num_shards != self.cfg.shard {
            DropReason::OtherShard
        } else {
            let prepared = self.prepare(doc);
            self.commit(prepared)
        };
        self.counts[reason as usize] += 1;
        reason
    }

    /// Decides the next `docs.len()` documents of the stream into `out`: exactly `gate_document` one at a time,
    /// with the per-document work spread over `set_threads` threads.
    pub fn gate_run(&mut self, docs: &[&[u8]], out: &mut [DropReason]) {
        assert_eq!(docs.len(), out.len(), "gate_run: one reason per document");
        if self.threads <= 1 {
            for (o, doc) in out.iter_mut().zip(docs) {
                *o = self.gate_document(doc);
            }
            return;
        }
        for (docs, out) in docs.chunks(PREPARE_CHUNK).zip(out.chunks_mut(PREPARE_CHUNK)) {
            let first = self.next_index;
            let (shard, num_shards) = (self.cfg.shard, self.cfg.num_shards);
            let mine = |i: usize| (first + i as u64) % num_shards == shard;
            let mut prepared: Vec<Option<Prepared>> = (0..docs.len()).map(|_| None).collect();
            let per = docs.len().div_ceil(self.threads);
            let this = &*self;
            std::thread::scope(|scope| {
                for (t, part) in prepared.chunks_mut(per).enumerate() {
                    scope.spawn(move || {
                        for (j, slot) in part.iter_mut().enumerate() {
                            let i = t * per + j;
                            if mine(i) {
                                *slot = Some(this.prepare(docs[i]));
                            }
                        }
                    });
                }
            });
            for (o, p) in out.iter_mut().zip(prepared) {
                self.next_index += 1;
                let reason = match p {
                    None => DropReason::OtherShard,
                    Some(p) => self.commit(p),
                };
                self.counts[reason as usize] += 1;
                *o = reason;
            }
        }
    }

    /// The per-document part of a decision (no state read but the config).
    fn prepare(&self, doc: &[u8]) -> Prepared {
        if let Some(r) = filter_document(doc, &self.cfg.filters) {
            return Prepared::Drop(r);
        }
        let digest = if self.cfg.exact_dedup { content_digest(doc) } else { 0 };
        let mut keys = Vec::new();
        if self.cfg.near_dedup {
            let (mut shingles, mut sig) = (Vec::new(), Vec::new());
            self.hasher.shingles(doc, &mut shingles);
            if !shingles.is_empty() {
                self.hasher.signature(&shingles, &mut sig);
                self.hasher.band_keys(&sig, &mut keys);
            }
        }
        Prepared::Candidate { digest, keys }
    }

    /// The stream-ordered part: exact dedup, then LSH (a document whose bands meet a kept one's is a near
    /// duplicate; a kept document's bands join the index).
    fn commit(&mut self, prepared: Prepared) -> DropReason {
        let (digest, keys) = match prepared {
            Prepared::Drop(r) => return r,
            Prepared::Candidate { digest, keys } => (digest, keys),
        };
        if self.cfg.exact_dedup && !self.seen_digests.insert(digest) {
            return DropReason::ExactDuplicate;
        }
        if keys.iter().any(|k| self.seen_bands.contains(k)) {
            return DropReason::NearDuplicate;
        }
        self.seen_bands.extend(keys);
        DropReason::Keep
    }

    /// Documents counted per reason so far (index = reason code).
    pub fn counts(&self) -> [u64; REASON_COUNT] {
        self.counts
    }
}

#[cfg(test)]
mod tests;

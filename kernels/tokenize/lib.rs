//! Byte-level BPE tokenizer: train a vocabulary, encode/decode with GPT-2
//! pre-tokenization, and read/write Hugging Face tokenizer.json, tiktoken ranks
//! and the native binary format.
//!
//! ```text
//! bytes ──pretokenize──▶ pieces ──BPE merges──▶ ids ──decode──▶ bytes (exact)
//! ```

mod bpe;
mod hf;
mod native;
mod pretokenize;
mod tiktoken;
mod train;
mod unicode;

pub use bpe::{EncodeCache, Model};
pub use native::{NATIVE_MAGIC, NATIVE_VERSION};
pub use pretokenize::pretokenize;
pub use tiktoken::{base64_decode, base64_encode};
pub use train::TrainConfig;

// ---------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------

/// A byte-level BPE tokenizer. Immutable and `Sync`; callers own an
/// [`EncodeCache`] per thread.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    model: Model,
}

/// On-disk formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Native binary (magic "NXTOKBPE", versioned, digest-checked).
    Native,
    /// Hugging Face tokenizer.json (byte-level BPE).
    HfJson,
    /// tiktoken ranks: `<base64> <rank>` lines (load only).
    Tiktoken,
}

impl Tokenizer {
    /// Trains on `docs`.
    pub fn tokenizer_train<'a>(docs: impl Iterator<Item = &'a [u8]>, cfg: &TrainConfig) -> Result<Tokenizer, String> {
        Ok(Tokenizer { model: train::train(docs, cfg)? })
    }

    /// Loads `bytes` in `format`; `specials` are `(text, id)` pairs added to
    /// tiktoken ranks (other formats carry their own and ignore the argument).
    pub fn tokenizer_load(bytes: &[u8], format: Format, specials: Vec<(Vec<u8>, u32)>) -> Result<Tokenizer, String> {
        let model = match format {
            Format::Native => native::native_read(bytes)?,
            Format::HfJson => {
                let text = std::str::from_utf8(bytes).map_err(|e| format!("tokenizer.json is not UTF-8: {e}"))?;
                hf::hf_read(text)?
            }
            Format::Tiktoken => tiktoken::tiktoken_load(bytes, specials)?,
        };
        Ok(Tokenizer { model })
    }

    /// Serializes in `format` (tiktoken output is not supported: it cannot carry
    /// merge priorities that differ from ids).
    pub fn tokenizer_save(&self, format: Format) -> Result<Vec<u8>, String> {
        match format {
            Format::Native => Ok(native::native_write(&self.model)),
            Format::HfJson => Ok(hf::hf_write(&self.model).into_bytes()),
            Format::Tiktoken => Err("saving as tiktoken ranks is not supported; use native or hf_json".into()),
        }
    }

    /// Number of ids (specials included).
    pub fn vocab_size(&self) -> u32 {
        self.model.vocab_size()
    }

    /// Id of special token `text`, if any.
    pub fn special_id(&self, text: &[u8]) -> Option<u32> {
        self.model.specials.iter().find(|(s, _)| s.as_slice() == text).map(|(_, id)| *id)
    }

    /// Appends the ids of `bytes` to `out`. Never fails: any byte string encodes.
    pub fn encode(&self, bytes: &[u8], allow_special: bool, cache: &mut EncodeCache, out: &mut Vec<u32>) {
        self.model.encode(bytes, allow_special, cache, out)
    }

    /// Encodes the documents `data[offsets[i]..offsets[i + 1]]` on `caches.len()` threads (one cache each; the
    /// calling thread is the first): the ids, concatenated, to `out[..n]` (n is returned) and where each document
    /// starts to `out_offsets` (n_docs + 1 entries, the first 0). Each thread takes a contiguous run of documents of
    /// about equal bytes and encodes each exactly as [`Tokenizer::encode`] would, so the ids are the same for any
    /// thread count. `out` must hold at least as many ids as the documents have bytes (no document has more ids than
    /// bytes): each thread writes its run at its run's byte position, so the threads touch `out` side by side, and
    /// the runs are then moved down into place. `offsets` must be non-decreasing and within `data` (the caller
    /// checks).
    pub fn encode_batch(
        &self,
        data: &[u8],
        offsets: &[u64],
        allow_special: bool,
        caches: &mut [EncodeCache],
        out: &mut [u32],
        out_offsets: &mut [u64],
    ) -> usize {
        assert!(!caches.is_empty(), "encode_batch needs at least one cache");
        let n_docs = offsets.len().saturating_sub(1);
        assert_eq!(out_offsets.len(), n_docs + 1, "out_offsets needs n_docs + 1 entries");
        out_offsets[0] = 0;
        if n_docs == 0 {
            return 0;
        }
        let first = offsets[0];
        assert!(out.len() as u64 >= offsets[n_docs] - first, "encode_batch: out must hold one id per byte");
        let threads = caches.len().min(n_docs);
        let bounds = run_bounds(offsets, threads);
        // each thread: its documents, its byte range of `out`, and its documents' ends (relative to that range)
        let mut jobs = Vec::with_capacity(threads);
        let (mut rest, mut ends_rest) = (&mut out[..(offsets[n_docs] - first) as usize], &mut out_offsets[1..]);
        for (t, cache) in caches[..threads].iter_mut().enumerate() {
            let (lo, hi) = (bounds[t], bounds[t + 1]);
            let (region, r) = std::mem::take(&mut rest).split_at_mut((offsets[hi] - offsets[lo]) as usize);
            let (ends, e) = std::mem::take(&mut ends_rest).split_at_mut(hi - lo);
            (rest, ends_rest) = (r, e);
            jobs.push((lo, hi, cache, region, ends));
        }
        let run = |(lo, hi, cache, region, ends): (usize, usize, &mut EncodeCache, &mut [u32], &mut [u64])| {
            let mut scratch = Vec::with_capacity(4096);
            let mut at = 0usize;
            for i in lo..hi {
                scratch.clear();
                self.model.encode(
                    &data[offsets[i] as usize..offsets[i + 1] as usize],
                    allow_special,
                    cache,
                    &mut scratch,
                );
                region[at..at + scratch.len()].copy_from_slice(&scratch);
                at += scratch.len();
                ends[i - lo] = at as u64;
            }
            at
        };
        let mut jobs = jobs.into_iter();
        let own = jobs.next().expect("threads >= 1");
        let counts: Vec<usize> = std::thread::scope(|scope| {
            let workers: Vec<_> = jobs.map(|job| scope.spawn(move || run(job))).collect();
            let mut counts = vec![run(own)];
            counts.extend(workers.into_iter().map(|w| w.join().expect("an encode worker panicked")));
            counts
        });
        // move each run down next to the previous one; its documents' ends become absolute
        let mut at = counts[0];
        for t in 1..threads {
            let src = (offsets[bounds[t]] - first) as usize;
            out.copy_within(src..src + counts[t], at);
            out_offsets[bounds[t] + 1..bounds[t + 1] + 1].iter_mut().for_each(|e| *e += at as u64);
            at += counts[t];
        }
        at
    }

    /// Appends the bytes of `ids` to `out`; `Err(i)` names the first unknown id.
    pub fn decode(&self, ids: &[u32], out: &mut Vec<u8>) -> Result<(), usize> {
        self.model.decode(ids, out)
    }
}

/// The first document of each thread's run (and `n_docs` last): the document starts closest to each multiple of
/// total bytes / threads.
fn run_bounds(offsets: &[u64], threads: usize) -> Vec<usize> {
    let n_docs = offsets.len() - 1;
    let (first, total) = (offsets[0], offsets[n_docs] - offsets[0]);
    let mut bounds = vec![0usize; threads + 1];
    bounds[threads] = n_docs;
    for t in 1..threads {
        let target = first + total * t as u64 / threads as u64;
        bounds[t] = offsets[..n_docs].partition_point(|&o| o < target).max(bounds[t - 1]);
    }
    bounds
}

#[cfg(test)]
mod tests;

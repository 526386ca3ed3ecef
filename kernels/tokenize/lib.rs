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

    /// Appends the bytes of `ids` to `out`; `Err(i)` names the first unknown id.
    pub fn decode(&self, ids: &[u32], out: &mut Vec<u8>) -> Result<(), usize> {
        self.model.decode(ids, out)
    }
}

#[cfg(test)]
mod tests;

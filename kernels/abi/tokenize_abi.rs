//! nexa_tokenizer_*: byte-level BPE through the C ABI.

use std::sync::{Mutex, MutexGuard};

use tokenize::{EncodeCache, Format, Tokenizer, TrainConfig};

use crate::boundary::*;

/// Opaque `nexa_tokenizer`: the tokenizer plus one piece cache per encode thread (`caches.len()` is the thread
/// count of `nexa_tokenizer_encode_batch`; `nexa_tokenizer_encode` uses the first).
pub struct TokenizerHandle {
    tok: Tokenizer,
    caches: Mutex<Vec<EncodeCache>>,
}

/// Most threads `nexa_tokenizer_set_threads` takes.
const MAX_ENCODE_THREADS: u32 = 256;

fn format_of(code: u32) -> Result<Format, AbiError> {
    match code {
        0 => Ok(Format::Native),
        1 => Ok(Format::HfJson),
        2 => Ok(Format::Tiktoken),
        _ => Err(invalid(format!(
            "format {code} is unknown; use NEXA_FORMAT_NATIVE (0), NEXA_FORMAT_HF_JSON (1) or NEXA_FORMAT_TIKTOKEN (2)"
        ))),
    }
}

impl TokenizerHandle {
    /// The piece caches, for one encode call; a panic in an earlier call leaves them poisoned.
    fn caches(&self) -> Result<MutexGuard<'_, Vec<EncodeCache>>, AbiError> {
        self.caches.lock().map_err(|_| invalid("tokenizer cache poisoned by an earlier panic; reload the tokenizer"))
    }
}

/// Splits the '\n'-separated specials list (empty entries are ignored).
fn specials_list(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split(|&b| b == b'\n').filter(|s| !s.is_empty()).map(<[u8]>::to_vec).collect()
}

fn into_handle(tok: Tokenizer, out: &mut *mut TokenizerHandle) {
    *out = Box::into_raw(Box::new(TokenizerHandle { tok, caches: Mutex::new(vec![EncodeCache::default()]) }));
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_train(
    data: *const u8,
    data_len: usize,
    doc_offsets: *const u64,
    n_docs: usize,
    vocab_size: u32,
    min_frequency: u64,
    specials: *const u8,
    specials_len: usize,
    out: *mut *mut TokenizerHandle,
) -> Status {
    guard("nexa_tokenizer_train", || {
        let out = out_ref(out, "out")?;
        let data = slice_in(data, data_len, "data")?;
        let offsets = slice_in(doc_offsets, n_docs.saturating_add(1), "doc_offsets")?;
        check_offsets(offsets, data.len(), "doc_offsets")?;
        let cfg = TrainConfig {
            vocab_size,
            min_frequency,
            specials: specials_list(slice_in(specials, specials_len, "specials")?),
        };
        let docs = offsets.windows(2).map(|w| &data[w[0] as usize..w[1] as usize]);
        let tok = Tokenizer::tokenizer_train(docs, &cfg).map_err(invalid)?;
        into_handle(tok, out);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_load(
    data: *const u8,
    data_len: usize,
    format: u32,
    specials: *const u8,
    specials_len: usize,
    special_ids: *const u32,
    n_special_ids: usize,
    out: *mut *mut TokenizerHandle,
) -> Status {
    guard("nexa_tokenizer_load", || {
        let out = out_ref(out, "out")?;
        let format = format_of(format)?;
        let data = slice_in(data, data_len, "data")?;
        let names = specials_list(slice_in(specials, specials_len, "specials")?);
        let ids = slice_in(special_ids, n_special_ids, "special_ids")?;
        if names.len() != ids.len() {
            return Err(invalid(format!("{} special tokens but {} special ids", names.len(), ids.len())));
        }
        let tok = Tokenizer::tokenizer_load(data, format, names.into_iter().zip(ids.iter().copied()).collect())
            .map_err(format_error)?;
        into_handle(tok, out);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_save(
    tok: *const TokenizerHandle,
    format: u32,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_tokenizer_save", || {
        let h = handle(tok, "tok")?;
        let out_len = out_ref(out_len, "out_len")?;
        let bytes = h.tok.tokenizer_save(format_of(format)?).map_err(invalid)?;
        copy_out(&bytes, slice_out(out, cap, "out")?, out_len, "tokenizer bytes")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_vocab_size(tok: *const TokenizerHandle, out: *mut u32) -> Status {
    guard("nexa_tokenizer_vocab_size", || {
        *out_ref(out, "out")? = handle(tok, "tok")?.tok.vocab_size();
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_encode(
    tok: *mut TokenizerHandle,
    text: *const u8,
    text_len: usize,
    allow_special: u32,
    out_ids: *mut u32,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_tokenizer_encode", || {
        let h = handle(tok, "tok")?;
        let out_len = out_ref(out_len, "out_len")?;
        let text = slice_in(text, text_len, "text")?;
        let out = slice_out(out_ids, cap, "out_ids")?;
        let mut ids = Vec::with_capacity(text.len() / 3);
        let mut caches = h.caches()?;
        h.tok.encode(text, allow_special != 0, &mut caches[0], &mut ids);
        copy_out(&ids, out, out_len, "out_ids")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_encode_batch(
    tok: *mut TokenizerHandle,
    data: *const u8,
    data_len: usize,
    doc_offsets: *const u64,
    n_docs: usize,
    allow_special: u32,
    out_ids: *mut u32,
    cap: usize,
    out_doc_offsets: *mut u64,
    out_len: *mut usize,
) -> Status {
    guard("nexa_tokenizer_encode_batch", || {
        let h = handle(tok, "tok")?;
        let out_len = out_ref(out_len, "out_len")?;
        let data = slice_in(data, data_len, "data")?;
        let offsets = slice_in(doc_offsets, n_docs.saturating_add(1), "doc_offsets")?;
        check_offsets(offsets, data.len(), "doc_offsets")?;
        let out_offsets = slice_out(out_doc_offsets, n_docs + 1, "out_doc_offsets")?;
        let out = slice_out(out_ids, cap, "out_ids")?;
        let mut caches = h.caches()?;
        if out.len() >= data.len() {
            // room for one id per byte: the threads write straight into the caller's buffer
            *out_len = h.tok.encode_batch_into(data, offsets, allow_special != 0, &mut caches, out, out_offsets);
            return Ok(());
        }
        let batch = h.tok.encode_batch(data, offsets, allow_special != 0, &mut caches);
        *out_len = batch.len();
        if out.len() < batch.len() {
            return Err(too_small("out_ids", batch.len(), out.len()));
        }
        batch.copy_to(out, out_offsets);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_set_threads(tok: *mut TokenizerHandle, threads: u32) -> Status {
    guard("nexa_tokenizer_set_threads", || {
        let h = handle(tok, "tok")?;
        if threads > MAX_ENCODE_THREADS {
            return Err(invalid(format!("threads {threads} is too many; use 1..={MAX_ENCODE_THREADS}")));
        }
        h.caches()?.resize_with(threads.max(1) as usize, EncodeCache::default);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_decode(
    tok: *const TokenizerHandle,
    ids: *const u32,
    n_ids: usize,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_tokenizer_decode", || {
        let h = handle(tok, "tok")?;
        let out_len = out_ref(out_len, "out_len")?;
        let ids = slice_in(ids, n_ids, "ids")?;
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        h.tok.decode(ids, &mut bytes).map_err(|i| {
            invalid(format!("ids[{i}] = {} is not in the vocabulary (size {})", ids[i], h.tok.vocab_size()))
        })?;
        copy_out(&bytes, slice_out(out, cap, "out")?, out_len, "decoded bytes")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_tokenizer_free(tok: *mut TokenizerHandle) {
    if !tok.is_null() {
        drop(Box::from_raw(tok));
    }
}

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
            *out_len = h.tok.encode_batch(data, offsets, allow_special != 0, &mut caches, out, out_offsets);
            return Ok(());
        }
        // a smaller buffer: encode into one of one id per byte, then copy what fits (or report the size needed)
        let mut ids = vec![0u32; data.len()];
        let n = h.tok.encode_batch(data, offsets, allow_special != 0, &mut caches, &mut ids, out_offsets);
        copy_out(&ids[..n], out, out_len, "out_ids")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// (status, out_len, ids, offsets) of one `nexa_tokenizer_encode_batch` call with `cap` ids of room.
    fn encode_batch(tok: *mut TokenizerHandle, docs: &[&[u8]], cap: usize) -> (Status, usize, Vec<u32>, Vec<u64>) {
        let data: Vec<u8> = docs.concat();
        let mut offsets = vec![0u64];
        docs.iter().for_each(|d| offsets.push(offsets.last().unwrap() + d.len() as u64));
        let (mut ids, mut out_offsets, mut len) = (vec![0u32; cap], vec![0u64; docs.len() + 1], 0usize);
        let s = unsafe {
            nexa_tokenizer_encode_batch(
                tok,
                data.as_ptr(),
                data.len(),
                offsets.as_ptr(),
                docs.len(),
                0,
                ids.as_mut_ptr(),
                cap,
                out_offsets.as_mut_ptr(),
                &mut len,
            )
        };
        (s, len, ids, out_offsets)
    }

    #[test]
    fn encode_batch_into_a_buffer_smaller_than_one_id_per_byte_copies_or_reports_the_size() {
        let corpus: Vec<&[u8]> = vec![b"the whale, the whale and the white whale"; 20];
        let cfg = TrainConfig { vocab_size: 300, min_frequency: 1, specials: vec![] };
        let mut tok = std::ptr::null_mut();
        into_handle(Tokenizer::tokenizer_train(corpus.into_iter(), &cfg).unwrap(), &mut tok);
        let docs: [&[u8]; 3] = [b"the white whale", b"", b"and the whale, the whale"];
        let bytes: usize = docs.iter().map(|d| d.len()).sum();
        for threads in [1, 2, 3] {
            assert_eq!(unsafe { nexa_tokenizer_set_threads(tok, threads) }, NEXA_OK);
            let (s, n, ids, offsets) = encode_batch(tok, &docs, bytes);
            assert_eq!(s, NEXA_OK);
            assert!(n < bytes, "merges make fewer ids than bytes");
            // exactly the ids' count: the same ids and offsets through the copying path
            let (s2, n2, ids2, offsets2) = encode_batch(tok, &docs, n);
            assert_eq!((s2, n2, &ids2[..], &offsets2), (NEXA_OK, n, &ids[..n], &offsets));
            // one short: refused with the size needed
            let (s3, n3, _, _) = encode_batch(tok, &docs, n - 1);
            assert_eq!((s3, n3), (NEXA_ERR_BUFFER_TOO_SMALL, n));
        }
        assert_eq!(unsafe { nexa_tokenizer_set_threads(tok, 257) }, NEXA_ERR_INVALID_ARGUMENT);
        unsafe { nexa_tokenizer_free(tok) };
    }
}

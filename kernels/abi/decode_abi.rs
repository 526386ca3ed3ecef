//! Decoders: generations in progress over a loaded model, one call per token or per prompt chunk, each with its own
//! KV cache, so a server streams tokens as they come and runs several generations on one model from several
//! threads. A caller-owned cancel flag is read between tokens. Every failure is also kept on the decoder
//! (`nexa_decoder_error`), because a call made on a worker thread leaves `nexa_last_error` on that thread.

use std::sync::atomic::{AtomicU32, Ordering};

use nexa_model::{Decoder, Model, Step};

use crate::boundary::*;
use crate::model_abi::{generate_options, model_error, stop_code, GenerateOptionsC};

/// `NEXA_STOP_NONE`: the generation can go on.
pub const STOP_NONE: u32 = 0xFFFF_FFFF;

/// The `nexa_decoder` handle: the model it reads (which must outlive it), its state, its last error.
pub struct DecoderHandle {
    model: *const Model,
    decoder: Decoder,
    error: String,
}

/// Runs `f` like [`guard`] and keeps a failure's message on the decoder too.
unsafe fn decoder_guard(
    d: *mut DecoderHandle,
    name: &str,
    f: impl FnOnce(&mut DecoderHandle) -> Result<(), AbiError>,
) -> Status {
    let status = guard(name, || f(handle_mut(d, "decoder")?));
    if status != NEXA_OK && !d.is_null() {
        let message = std::ffi::CStr::from_ptr(last_error_ptr()).to_string_lossy().into_owned();
        (*d).error = message;
    }
    status
}

/// The cancel flag: NULL never cancels; otherwise a 4-byte-aligned uint32_t the caller may set from any thread.
unsafe fn cancel_flag<'a>(cancel: *const u32) -> Result<Option<&'a AtomicU32>, AbiError> {
    if cancel.is_null() {
        return Ok(None);
    }
    handle(cancel, "cancel")?; // alignment
    Ok(Some(AtomicU32::from_ptr(cancel as *mut u32)))
}

fn is_set(flag: Option<&AtomicU32>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Acquire) != 0)
}

#[no_mangle]
pub unsafe extern "C" fn nexa_decoder_new(
    model: *const Model,
    options: *const GenerateOptionsC,
    stop_tokens: *const u32,
    n_stop: usize,
    out: *mut *mut DecoderHandle,
) -> Status {
    guard("nexa_decoder_new", || {
        let m = handle(model, "model")?;
        let o = handle(options, "options")?;
        let out = out_ref(out, "out")?;
        let stops = slice_in(stop_tokens, n_stop, "stop_tokens")?;
        let opts = generate_options(o, stops)?;
        let decoder = Decoder::new(m, &opts);
        *out = Box::into_raw(Box::new(DecoderHandle { model, decoder, error: String::new() }));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_decoder_feed(
    decoder: *mut DecoderHandle,
    tokens: *const u32,
    n: usize,
    cancel: *const u32,
    out_fed: *mut usize,
) -> Status {
    decoder_guard(decoder, "nexa_decoder_feed", |d| {
        let m = &*d.model;
        let tokens = slice_in(tokens, n, "tokens")?;
        let flag = cancel_flag(cancel)?;
        let fed = out_ref(out_fed, "out_fed")?;
        *fed = d.decoder.feed(m, tokens, &|| is_set(flag)).map_err(model_error)?;
        Ok(())
    })
}

#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nexa_decoder_next(
    decoder: *mut DecoderHandle,
    max_tokens: usize,
    cancel: *const u32,
    out_tokens: *mut u32,
    out_logprobs: *mut f32,
    top_n: usize,
    out_top_ids: *mut u32,
    out_top_logprobs: *mut f32,
    out_len: *mut usize,
    out_stop_reason: *mut u32,
) -> Status {
    decoder_guard(decoder, "nexa_decoder_next", |d| {
        let m = &*d.model;
        if max_tokens == 0 {
            return Err(invalid("max_tokens is 0; ask for at least one token"));
        }
        if top_n > m.config.vocab_size {
            return Err(invalid(format!("top_n {top_n} exceeds vocab_size {}", m.config.vocab_size)));
        }
        let flag = cancel_flag(cancel)?;
        let tokens = slice_out(out_tokens, max_tokens, "out_tokens")?;
        let logprobs = slice_out(out_logprobs, max_tokens, "out_logprobs")?;
        let n_top = max_tokens.checked_mul(top_n).ok_or_else(|| invalid("max_tokens * top_n overflows"))?;
        let top_ids = slice_out(out_top_ids, n_top, "out_top_ids")?;
        let top_lps = slice_out(out_top_logprobs, n_top, "out_top_logprobs")?;
        let len = out_ref(out_len, "out_len")?;
        let reason = out_ref(out_stop_reason, "out_stop_reason")?;
        *len = 0;
        *reason = STOP_NONE;
        while *len < max_tokens {
            match d.decoder.next(m, top_n, &|| is_set(flag)).map_err(model_error)? {
                Step::Token(t) => {
                    let i = *len;
                    tokens[i] = t.id;
                    logprobs[i] = t.logprob;
                    for (j, (id, lp)) in t.top.iter().enumerate() {
                        top_ids[i * top_n + j] = *id;
                        top_lps[i * top_n + j] = *lp;
                    }
                    *len += 1;
                }
                Step::Stop(stop) => {
                    *reason = stop_code(stop);
                    break;
                }
            }
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_decoder_error(
    decoder: *const DecoderHandle,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_decoder_error", || {
        let d = handle(decoder, "decoder")?;
        let len = out_ref(out_len, "out_len")?;
        copy_out(d.error.as_bytes(), slice_out(out, cap, "out")?, len, "decoder error")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_decoder_free(decoder: *mut DecoderHandle) {
    if !decoder.is_null() {
        drop(Box::from_raw(decoder));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_abi::{nexa_model_free, nexa_model_generate};
    use crate::model_test_support::tiny;

    fn options(max_new_tokens: u32) -> GenerateOptionsC {
        GenerateOptionsC { max_new_tokens, top_k: 4, temperature: 0.9, top_p: 1.0, seed: 5 }
    }

    fn decoder(m: *const Model, o: &GenerateOptionsC) -> *mut DecoderHandle {
        let mut d = std::ptr::null_mut();
        assert_eq!(unsafe { nexa_decoder_new(m, o, std::ptr::null(), 0, &mut d) }, NEXA_OK);
        d
    }

    fn error_of(d: *const DecoderHandle) -> String {
        let (mut buf, mut len) = (vec![0u8; 256], 0usize);
        assert_eq!(unsafe { nexa_decoder_error(d, buf.as_mut_ptr(), buf.len(), &mut len) }, NEXA_OK);
        String::from_utf8(buf[..len].to_vec()).unwrap()
    }

    /// One `nexa_decoder_next` call of up to `max` tokens with the top 2: (tokens, stop reason).
    fn next(d: *mut DecoderHandle, max: usize, cancel: *const u32) -> (Vec<u32>, u32) {
        let (mut t, mut lp, mut ti, mut tl) =
            (vec![0u32; max], vec![0f32; max], vec![0u32; 2 * max], vec![0f32; 2 * max]);
        let (mut len, mut reason) = (0usize, 0u32);
        let s = unsafe {
            nexa_decoder_next(
                d,
                max,
                cancel,
                t.as_mut_ptr(),
                lp.as_mut_ptr(),
                2,
                ti.as_mut_ptr(),
                tl.as_mut_ptr(),
                &mut len,
                &mut reason,
            )
        };
        assert_eq!(s, NEXA_OK, "{}", error_of(d));
        assert!(lp[..len].iter().all(|&x| x <= 0.0) && tl[..2 * len].iter().all(|&x| x <= 0.0));
        (t[..len].to_vec(), reason)
    }

    #[test]
    fn token_by_token_equals_generate_and_the_flag_cancels() {
        let m = tiny();
        let o = options(5);
        let prompt = [1u32, 2, 3];
        let (mut whole, mut len, mut reason) = (vec![0u32; 5], 0usize, 0u32);
        let s = unsafe {
            nexa_model_generate(
                m,
                prompt.as_ptr(),
                3,
                &o,
                std::ptr::null(),
                0,
                whole.as_mut_ptr(),
                5,
                &mut len,
                &mut reason,
            )
        };
        assert_eq!(s, NEXA_OK);
        let d = decoder(m, &o);
        let mut fed = 0usize;
        assert_eq!(unsafe { nexa_decoder_feed(d, prompt.as_ptr(), 3, std::ptr::null(), &mut fed) }, NEXA_OK);
        assert_eq!(fed, 3);
        let mut got = Vec::new();
        loop {
            let (t, r) = next(d, 1, std::ptr::null());
            got.extend(t);
            if r != STOP_NONE {
                assert_eq!(r, reason);
                break;
            }
        }
        assert_eq!(got, whole[..len]);
        unsafe { nexa_decoder_free(d) };

        // a set flag: feed takes nothing, next stops with NEXA_STOP_CANCELLED (3)
        let flag = AtomicU32::new(1);
        let d = decoder(m, &o);
        assert_eq!(unsafe { nexa_decoder_feed(d, prompt.as_ptr(), 3, flag.as_ptr(), &mut fed) }, NEXA_OK);
        assert_eq!(fed, 0);
        flag.store(0, Ordering::Release);
        assert_eq!(unsafe { nexa_decoder_feed(d, prompt.as_ptr(), 3, flag.as_ptr(), &mut fed) }, NEXA_OK);
        assert_eq!(next(d, 2, flag.as_ptr()).0.len(), 2);
        flag.store(1, Ordering::Release);
        assert_eq!(next(d, 2, flag.as_ptr()), (vec![], 3));
        unsafe { nexa_decoder_free(d) };

        // a failure is kept on the decoder, for a caller on another thread
        let d = decoder(m, &o);
        let (mut t, mut lp, mut len) = ([0u32; 1], [0f32; 1], 0usize);
        let s = unsafe {
            nexa_decoder_next(
                d,
                1,
                std::ptr::null(),
                t.as_mut_ptr(),
                lp.as_mut_ptr(),
                0,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut len,
                &mut reason,
            )
        };
        assert_eq!(s, NEXA_ERR_INVALID_ARGUMENT);
        assert!(
            error_of(d).contains("nexa_decoder_next: next: feed at least one prompt token first"),
            "{}",
            error_of(d)
        );
        let too_many = [0u32; 9];
        assert_eq!(
            unsafe { nexa_decoder_feed(d, too_many.as_ptr(), 9, std::ptr::null(), &mut fed) },
            NEXA_ERR_INVALID_ARGUMENT
        );
        assert!(error_of(d).contains("9 tokens do not fit"), "{}", error_of(d));
        unsafe {
            nexa_decoder_free(d);
            nexa_model_free(m);
        }
    }
}

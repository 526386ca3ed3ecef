//! nexa_gate_* and nexa_minhash_similarity: quality filters and dedup through the C ABI.

use std::collections::HashSet;

use gate::{
    reason_name, signature_similarity, DropReason, FilterConfig, Gate, GateConfig, MinHashConfig, MinHasher,
    REASON_COUNT,
};

use crate::boundary::*;

/// Mirrors `nexa_gate_config`.
#[repr(C)]
pub struct GateConfigC {
    pub(crate) min_bytes: u64,
    pub(crate) max_bytes: u64,
    pub(crate) max_duplicate_line_fraction: f64,
    pub(crate) max_ngram_repeat_fraction: f64,
    pub(crate) max_symbol_fraction: f64,
    pub(crate) max_digit_fraction: f64,
    pub(crate) ngram_words: u32,
    pub(crate) exact_dedup: u32,
    pub(crate) near_dedup: u32,
    pub(crate) minhash_bands: u32,
    pub(crate) minhash_rows: u32,
    pub(crate) minhash_shingle_words: u32,
    pub(crate) minhash_seed: u64,
    pub(crate) shard: u64,
    pub(crate) num_shards: u64,
}

fn check_fraction(name: &str, v: f64) -> Result<f64, AbiError> {
    if v.is_nan() || v < 0.0 {
        return Err(invalid(format!("config.{name} must be a number >= 0 (got {v})")));
    }
    Ok(v)
}

#[no_mangle]
pub unsafe extern "C" fn nexa_gate_new(config: *const GateConfigC, out: *mut *mut Gate) -> Status {
    guard("nexa_gate_new", || {
        let c = handle(config, "config")?;
        let out = out_ref(out, "out")?;
        let cfg = GateConfig {
            filters: FilterConfig {
                min_bytes: c.min_bytes,
                max_bytes: c.max_bytes,
                max_duplicate_line_fraction: check_fraction(
                    "max_duplicate_line_fraction",
                    c.max_duplicate_line_fraction,
                )?,
                ngram_words: c.ngram_words,
                max_ngram_repeat_fraction: check_fraction("max_ngram_repeat_fraction", c.max_ngram_repeat_fraction)?,
                max_symbol_fraction: check_fraction("max_symbol_fraction", c.max_symbol_fraction)?,
                max_digit_fraction: check_fraction("max_digit_fraction", c.max_digit_fraction)?,
            },
            exact_dedup: c.exact_dedup != 0,
            near_dedup: c.near_dedup != 0,
            minhash: MinHashConfig {
                bands: c.minhash_bands,
                rows: c.minhash_rows,
                shingle_words: c.minhash_shingle_words,
                seed: c.minhash_seed,
            },
            shard: c.shard,
            num_shards: c.num_shards,
        };
        if cfg.filters.ngram_words == 0 && cfg.filters.max_ngram_repeat_fraction < 1.0 {
            return Err(invalid("config.ngram_words must be >= 1 when the n-gram filter is enabled"));
        }
        *out = Box::into_raw(Box::new(Gate::gate_new(cfg).map_err(invalid)?));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_gate_run(
    gate: *mut Gate,
    data: *const u8,
    data_len: usize,
    doc_offsets: *const u64,
    n_docs: usize,
    out_reasons: *mut u8,
) -> Status {
    guard("nexa_gate_run", || {
        let g = handle_mut(gate, "gate")?;
        let data = slice_in(data, data_len, "data")?;
        let offsets = slice_in(doc_offsets, n_docs.saturating_add(1), "doc_offsets")?;
        check_offsets(offsets, data.len(), "doc_offsets")?;
        let reasons = slice_out(out_reasons, n_docs, "out_reasons")?;
        let docs: Vec<&[u8]> = offsets.windows(2).map(|w| &data[w[0] as usize..w[1] as usize]).collect();
        let mut decided = vec![DropReason::Keep; n_docs];
        g.gate_run(&docs, &mut decided);
        for (r, d) in reasons.iter_mut().zip(decided) {
            *r = d as u8;
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_gate_set_threads(gate: *mut Gate, threads: u32) -> Status {
    guard("nexa_gate_set_threads", || {
        handle_mut(gate, "gate")?.set_threads(threads as usize);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_gate_counts(gate: *const Gate, out: *mut u64, len: usize) -> Status {
    guard("nexa_gate_counts", || {
        let g = handle(gate, "gate")?;
        if len != REASON_COUNT {
            return Err(too_small("counts (must be NEXA_GATE_REASON_COUNT)", REASON_COUNT, len));
        }
        slice_out(out, len, "out")?.copy_from_slice(&g.counts());
        Ok(())
    })
}

#[no_mangle]
pub extern "C" fn nexa_gate_reason_name(code: u32) -> *const std::ffi::c_char {
    // NUL-terminated copies of gate::reason_name, in code order.
    const NAMES: [&std::ffi::CStr; REASON_COUNT] = [
        c"keep",
        c"too_short",
        c"too_long",
        c"invalid_utf8",
        c"duplicate_lines",
        c"ngram_repetition",
        c"symbol_ratio",
        c"digit_ratio",
        c"exact_duplicate",
        c"near_duplicate",
        c"other_shard",
    ];
    match NAMES.get(code as usize) {
        Some(n) if reason_name(code as u8).map(str::as_bytes) == Some(n.to_bytes()) => n.as_ptr(),
        _ => std::ptr::null(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn nexa_gate_free(gate: *mut Gate) {
    if !gate.is_null() {
        drop(Box::from_raw(gate));
    }
}

#[no_mangle]
pub unsafe extern "C" fn nexa_minhash_similarity(
    a: *const u8,
    a_len: usize,
    b: *const u8,
    b_len: usize,
    bands: u32,
    rows: u32,
    shingle_words: u32,
    seed: u64,
    out_estimate: *mut f64,
    out_exact: *mut f64,
) -> Status {
    guard("nexa_minhash_similarity", || {
        let (est, exact) = (out_ref(out_estimate, "out_estimate")?, out_ref(out_exact, "out_exact")?);
        let h = MinHasher::minhasher_new(MinHashConfig { bands, rows, shingle_words, seed }).map_err(invalid)?;
        let (mut sa, mut sb, mut ga, mut gb) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        h.shingles(slice_in(a, a_len, "a")?, &mut sa);
        h.shingles(slice_in(b, b_len, "b")?, &mut sb);
        h.signature(&sa, &mut ga);
        h.signature(&sb, &mut gb);
        let (x, y): (HashSet<u64>, HashSet<u64>) = (sa.into_iter().collect(), sb.into_iter().collect());
        let union = x.union(&y).count();
        *exact = if union == 0 { 1.0 } else { x.intersection(&y).count() as f64 / union as f64 };
        *est = if union == 0 { 1.0 } else { signature_similarity(&ga, &gb) };
        Ok(())
    })
}

//! nexa_pack_*: best-fit-decreasing packing through the C ABI.

use pack::{pack_materialize, pack_plan, shard_bins, PackPlan};

use crate::boundary::*;

/// Mirrors `nexa_pack_stats`.
#[repr(C)]
pub struct PackStatsC {
    pub(crate) docs: u64,
    pub(crate) empty_docs: u64,
    pub(crate) total_tokens: u64,
    pub(crate) bins: u64,
    pub(crate) lower_bound_bins: u64,
    pub(crate) segments: u64,
    pub(crate) truncated_docs: u64,
    pub(crate) padding_tokens: u64,
    pub(crate) fill_ratio: f64,
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_plan_new(
    doc_lens: *const u32,
    n_docs: usize,
    seq_len: u32,
    out: *mut *mut PackPlan,
) -> Status {
    guard("nexa_pack_plan_new", || {
        let out = out_ref(out, "out")?;
        let lens = slice_in(doc_lens, n_docs, "doc_lens")?;
        let plan = pack_plan(lens, seq_len).map_err(|e| invalid(e.to_string()))?;
        *out = Box::into_raw(Box::new(plan));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_plan_stats(plan: *const PackPlan, out: *mut PackStatsC) -> Status {
    guard("nexa_pack_plan_stats", || {
        let s = handle(plan, "plan")?.stats;
        *out_ref(out, "out")? = PackStatsC {
            docs: s.docs,
            empty_docs: s.empty_docs,
            total_tokens: s.total_tokens,
            bins: s.bins,
            lower_bound_bins: s.lower_bound_bins,
            segments: s.segments,
            truncated_docs: s.truncated_docs,
            padding_tokens: s.padding_tokens,
            fill_ratio: s.fill_ratio,
        };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_plan_segments(
    plan: *const PackPlan,
    bin_starts: *mut u64,
    bin_starts_len: usize,
    segments: *mut u32,
    segments_len: usize,
) -> Status {
    guard("nexa_pack_plan_segments", || {
        let p = handle(plan, "plan")?;
        if bin_starts_len != p.bin_starts.len() {
            return Err(too_small("bin_starts (must be bins + 1)", p.bin_starts.len(), bin_starts_len));
        }
        if segments_len != 3 * p.segments.len() {
            return Err(too_small("segments (must be 3 * segments)", 3 * p.segments.len(), segments_len));
        }
        slice_out(bin_starts, bin_starts_len, "bin_starts")?.copy_from_slice(&p.bin_starts);
        for (dst, s) in slice_out(segments, segments_len, "segments")?.chunks_exact_mut(3).zip(&p.segments) {
            dst.copy_from_slice(&[s.doc, s.doc_offset, s.len]);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_shard_bins(
    plan: *const PackPlan,
    shard: u64,
    num_shards: u64,
    first_bin: *mut u64,
    n_bins: *mut u64,
) -> Status {
    guard("nexa_pack_shard_bins", || {
        let p = handle(plan, "plan")?;
        let (f, n) = (out_ref(first_bin, "first_bin")?, out_ref(n_bins, "n_bins")?);
        let (a, b) = shard_bins(p, shard, num_shards).ok_or_else(|| {
            invalid(format!("shard {shard} of {num_shards} is invalid: need 0 <= shard < num_shards"))
        })?;
        (*f, *n) = (a, b - a);
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_materialize(
    plan: *const PackPlan,
    tokens: *const u32,
    n_tokens: usize,
    doc_offsets: *const u64,
    n_offsets: usize,
    pad_id: u32,
    first_bin: u64,
    n_bins: u64,
    out_tokens: *mut u32,
    out_doc_ids: *mut u32,
    out_positions: *mut u32,
    out_len: usize,
) -> Status {
    guard("nexa_pack_materialize", || {
        let p = handle(plan, "plan")?;
        let tokens = slice_in(tokens, n_tokens, "tokens")?;
        let offsets = slice_in(doc_offsets, n_offsets, "doc_offsets")?;
        let end = first_bin.checked_add(n_bins).ok_or_else(|| invalid("first_bin + n_bins overflows"))?;
        let needed = n_bins.saturating_mul(p.seq_len as u64);
        if (out_len as u64) < needed {
            return Err(too_small("out_tokens/out_doc_ids/out_positions (n_bins * seq_len)", needed as usize, out_len));
        }
        let (t, d, pos) = (
            slice_out(out_tokens, out_len, "out_tokens")?,
            slice_out(out_doc_ids, out_len, "out_doc_ids")?,
            slice_out(out_positions, out_len, "out_positions")?,
        );
        pack_materialize(p, tokens, offsets, pad_id, first_bin..end, t, d, pos).map_err(|e| invalid(e.to_string()))
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_pack_plan_free(plan: *mut PackPlan) {
    if !plan.is_null() {
        drop(Box::from_raw(plan));
    }
}

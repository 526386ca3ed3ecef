//! nexa_stats_*: corpus statistics through the C ABI.

use stats::{
    bigram_counts, length_histogram, length_stats, lens_from_offsets, merge_counts, vocab_usage, HISTOGRAM_BUCKETS,
};

use crate::boundary::*;

/// Mirrors `nexa_length_stats`.
#[repr(C)]
pub struct LengthStatsC {
    pub(crate) docs: u64,
    pub(crate) tokens: u64,
    pub(crate) min: u64,
    pub(crate) max: u64,
    pub(crate) mean: f64,
    pub(crate) p50: u64,
    pub(crate) p90: u64,
    pub(crate) p99: u64,
}

#[no_mangle]
pub unsafe extern "C" fn nexa_stats_lengths(
    doc_offsets: *const u64,
    n_offsets: usize,
    out: *mut LengthStatsC,
    histogram: *mut u64,
) -> Status {
    guard("nexa_stats_lengths", || {
        let out = out_ref(out, "out")?;
        let lens = lens_from_offsets(slice_in(doc_offsets, n_offsets, "doc_offsets")?).map_err(invalid)?;
        let s = length_stats(&lens);
        *out = LengthStatsC {
            docs: s.docs,
            tokens: s.tokens,
            min: s.min,
            max: s.max,
            mean: s.mean,
            p50: s.p50,
            p90: s.p90,
            p99: s.p99,
        };
        if !histogram.is_null() {
            let h = slice_out(histogram, HISTOGRAM_BUCKETS, "histogram")?;
            let h: &mut [u64; HISTOGRAM_BUCKETS] = h.try_into().map_err(|_| invalid("histogram size"))?;
            length_histogram(&lens, h);
        }
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_stats_vocab_usage(
    ids: *const u32,
    n_ids: usize,
    counts: *mut u64,
    vocab_size: usize,
    out_used: *mut u64,
) -> Status {
    guard("nexa_stats_vocab_usage", || {
        let used = out_ref(out_used, "out_used")?;
        let ids = slice_in(ids, n_ids, "ids")?;
        let counts = slice_out(counts, vocab_size, "counts")?;
        *used = vocab_usage(ids, counts)
            .map_err(|i| invalid(format!("ids[{i}] = {} is >= vocab_size {vocab_size}", ids[i])))?;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_stats_bigram_counts(
    prev: *const u32,
    next: *const u32,
    n: usize,
    vocab_size: u64,
    skip: u32,
    keys: *mut u64,
    counts: *mut u64,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_stats_bigram_counts", || {
        let len = out_ref(out_len, "out_len")?;
        let prev = slice_in(prev, n, "prev")?;
        let next = slice_in(next, n, "next")?;
        let keys = slice_out(keys, cap, "keys")?;
        let counts = slice_out(counts, cap, "counts")?;
        *len = bigram_counts(prev, next, vocab_size, skip, keys, counts).map_err(invalid)?;
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_stats_merge_counts(total: *mut u64, shard: *const u64, len: usize) -> Status {
    guard("nexa_stats_merge_counts", || {
        let shard = slice_in(shard, len, "shard")?;
        let total = slice_out(total, len, "total")?;
        merge_counts(total, shard).map_err(invalid)
    })
}

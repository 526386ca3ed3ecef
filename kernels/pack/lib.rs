//! Best-fit-decreasing sequence packing: documents of token ids in, fixed-length
//! bins (tokens, document ids, position ids) and packing statistics out.
//!
//! * [`pack_plan`]: decide which document chunks go in which bin (lengths only).
//! * [`pack_materialize`]: write the rows of a plan into caller-owned buffers.
//! * [`shard_bins`]: the bins owned by one shard when materializing in parallel.

mod materialize;
mod plan;

pub use materialize::{doc_lens_from_offsets, pack_materialize, MaterializeError, PAD_DOC_ID};
pub use plan::{pack_plan, PackError, PackPlan, PackStats, Segment};

/// Bins `[start, end)` owned by `shard` of `num_shards`, or `None` for a bad shard spec.
pub fn shard_bins(plan: &PackPlan, shard: u64, num_shards: u64) -> Option<(u64, u64)> {
    if num_shards == 0 || shard >= num_shards {
        return None;
    }
    let n = plan.stats.bins as u128;
    let at = |s: u64| (n * s as u128 / num_shards as u128) as u64;
    Some((at(shard), at(shard + 1)))
}

#[cfg(test)]
mod tests;

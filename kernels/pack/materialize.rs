//! Writes the token, document-id and position-id rows of a plan into caller buffers.

use crate::plan::PackPlan;

/// Document id written at padding positions.
pub const PAD_DOC_ID: u32 = u32::MAX;

/// Why the rows could not be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MaterializeError {
    /// `doc_offsets` must have one more entry than documents, start at 0, be
    /// non-decreasing and end at `tokens.len()`.
    BadOffsets(String),
    /// Output slices must hold `bins * seq_len` entries each.
    BufferTooSmall { needed: u64 },
    /// The requested bin range is not inside `[0, bins)`.
    BadBinRange { start: u64, end: u64, bins: u64 },
}

impl std::fmt::Display for MaterializeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MaterializeError::BadOffsets(m) => write!(f, "invalid doc_offsets: {m}"),
            MaterializeError::BufferTooSmall { needed } => {
                write!(f, "output buffers must hold bins * seq_len = {needed} entries each")
            }
            MaterializeError::BadBinRange { start, end, bins } => {
                write!(f, "bin range {start}..{end} is outside the plan's {bins} bins")
            }
        }
    }
}

/// Document lengths from CSR offsets (`doc_offsets.len() == n_docs + 1`).
pub fn doc_lens_from_offsets(doc_offsets: &[u64], n_tokens: u64) -> Result<Vec<u32>, MaterializeError> {
    if doc_offsets.is_empty() {
        return Err(MaterializeError::BadOffsets("need n_docs + 1 entries (got 0)".into()));
    }
    if doc_offsets[0] != 0 {
        return Err(MaterializeError::BadOffsets(format!("first offset must be 0 (got {})", doc_offsets[0])));
    }
    let last = *doc_offsets.last().unwrap_or(&0);
    if last != n_tokens {
        return Err(MaterializeError::BadOffsets(format!("last offset {last} != token count {n_tokens}")));
    }
    let mut lens = Vec::with_capacity(doc_offsets.len() - 1);
    for (i, w) in doc_offsets.windows(2).enumerate() {
        if w[1] < w[0] || w[1] - w[0] > u32::MAX as u64 {
            return Err(MaterializeError::BadOffsets(format!(
                "document {i}: offsets {}..{} are decreasing or span > 2^32 tokens",
                w[0], w[1]
            )));
        }
        lens.push((w[1] - w[0]) as u32);
    }
    Ok(lens)
}

/// Fills `out_tokens`, `out_doc_ids` and `out_positions` (each `bins.len() * seq_len`,
/// row-major by bin) for the bins in `bins` (all bins, or one shard's range).
/// Positions restart at 0 for every segment; padding gets `pad_id`,
/// [`PAD_DOC_ID`] and position 0.
#[allow(clippy::too_many_arguments)]
pub fn pack_materialize(
    plan: &PackPlan,
    tokens: &[u32],
    doc_offsets: &[u64],
    pad_id: u32,
    bins: std::ops::Range<u64>,
    out_tokens: &mut [u32],
    out_doc_ids: &mut [u32],
    out_positions: &mut [u32],
) -> Result<(), MaterializeError> {
    let l = plan.seq_len as usize;
    if bins.start > bins.end || bins.end > plan.stats.bins {
        return Err(MaterializeError::BadBinRange { start: bins.start, end: bins.end, bins: plan.stats.bins });
    }
    let needed = (bins.end - bins.start) * l as u64;
    if (out_tokens.len() as u64) < needed
        || (out_doc_ids.len() as u64) < needed
        || (out_positions.len() as u64) < needed
    {
        return Err(MaterializeError::BufferTooSmall { needed });
    }
    // The offsets must describe exactly the documents the plan was made for.
    let lens = doc_lens_from_offsets(doc_offsets, tokens.len() as u64)?;
    if lens.len() as u64 != plan.stats.docs {
        return Err(MaterializeError::BadOffsets(format!(
            "plan has {} documents, offsets describe {}",
            plan.stats.docs,
            lens.len()
        )));
    }
    let mut planned = vec![0u64; lens.len()];
    for s in &plan.segments {
        planned[s.doc as usize] += s.len as u64;
    }
    if let Some(i) = lens.iter().zip(&planned).position(|(&a, &b)| a as u64 != b) {
        return Err(MaterializeError::BadOffsets(format!(
            "document {i} has {} tokens but the plan was made for {}",
            lens[i], planned[i]
        )));
    }
    for b in bins.start as usize..bins.end as usize {
        let row = (b - bins.start as usize) * l;
        let mut at = row;
        for seg in &plan.segments[plan.bin_starts[b] as usize..plan.bin_starts[b + 1] as usize] {
            let src = (doc_offsets[seg.doc as usize] + seg.doc_offset as u64) as usize;
            let n = seg.len as usize;
            out_tokens[at..at + n].copy_from_slice(&tokens[src..src + n]);
            out_doc_ids[at..at + n].fill(seg.doc);
            for (p, slot) in out_positions[at..at + n].iter_mut().enumerate() {
                *slot = p as u32;
            }
            at += n;
        }
        out_tokens[at..row + l].fill(pad_id);
        out_doc_ids[at..row + l].fill(PAD_DOC_ID);
        out_positions[at..row + l].fill(0);
    }
    Ok(())
}

//! Best-fit-decreasing assignment of document chunks to bins of `seq_len` tokens.
//!
//! Documents longer than `seq_len` are cut into full `seq_len` chunks (each fills a
//! bin on its own) plus a remainder; every remaining piece is then placed, longest
//! first, into the open bin with the *smallest* remaining capacity that still fits
//! (best fit). Open bins are indexed by remaining capacity in a 64-ary bitset tree
//! (a segment tree with 64-way fan-out), so each placement is O(log_64 L) and the
//! whole plan is O(N log L) with a counting sort by length.

// ---------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------

/// One contiguous run of a document inside a bin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of the source document.
    pub doc: u32,
    /// First token of the run inside the document.
    pub doc_offset: u32,
    /// Number of tokens in the run.
    pub len: u32,
}

/// Summary figures of a plan.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PackStats {
    pub docs: u64,
    pub empty_docs: u64,
    pub total_tokens: u64,
    pub bins: u64,
    /// `ceil(total_tokens / seq_len)`: no packing can use fewer bins.
    pub lower_bound_bins: u64,
    pub segments: u64,
    /// Documents longer than `seq_len` that were split into several segments.
    pub truncated_docs: u64,
    pub padding_tokens: u64,
    /// `total_tokens / (bins * seq_len)`.
    pub fill_ratio: f64,
}

/// The packing decision: bins in creation order, segments grouped per bin (CSR).
#[derive(Clone, Debug)]
pub struct PackPlan {
    pub seq_len: u32,
    /// `segments[bin_starts[b]..bin_starts[b + 1]]` are the segments of bin `b`.
    pub bin_starts: Vec<u64>,
    pub segments: Vec<Segment>,
    pub stats: PackStats,
}

/// Why a plan could not be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PackError {
    ZeroSeqLen,
    TooManyBins,
}

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackError::ZeroSeqLen => {
                write!(f, "seq_len must be > 0 (got 0); set pack.seq_len to the model context length")
            }
            PackError::TooManyBins => write!(f, "plan needs more than 2^32 bins; split the input into shards"),
        }
    }
}

// ---------------------------------------------------------------------------
// Capacity index: 64-ary bitset tree over remaining capacities 0..=L
// ---------------------------------------------------------------------------

/// Set of capacities that have at least one open bin; `next_at_least(c)` finds the
/// smallest member >= c in O(log_64 L).
struct CapacityTree {
    levels: Vec<Vec<u64>>, // levels[0] = one bit per capacity; levels[k+1] summarizes levels[k]
}

impl CapacityTree {
    fn capacity_tree_new(max: usize) -> CapacityTree {
        let mut levels = Vec::new();
        let mut width = max + 1;
        loop {
            let words = width.div_ceil(64);
            levels.push(vec![0u64; words]);
            if words == 1 {
                break;
            }
            width = words;
        }
        CapacityTree { levels }
    }

    fn capacity_insert(&mut self, mut i: usize) {
        for level in self.levels.iter_mut() {
            let was_empty = level[i / 64] == 0;
            level[i / 64] |= 1u64 << (i % 64);
            if !was_empty {
                return;
            }
            i /= 64;
        }
    }

    fn capacity_remove(&mut self, mut i: usize) {
        for level in self.levels.iter_mut() {
            level[i / 64] &= !(1u64 << (i % 64));
            if level[i / 64] != 0 {
                return;
            }
            i /= 64;
        }
    }

    fn next_at_least(&self, i: usize) -> Option<usize> {
        self.next_in_level(0, i)
    }

    fn next_in_level(&self, level: usize, i: usize) -> Option<usize> {
        let words = self.levels.get(level)?;
        let w = i / 64;
        if w >= words.len() {
            return None;
        }
        let m = words[w] & (u64::MAX << (i % 64));
        if m != 0 {
            return Some(w * 64 + m.trailing_zeros() as usize);
        }
        let nw = self.next_in_level(level + 1, w + 1)?;
        Some(nw * 64 + words[nw].trailing_zeros() as usize)
    }
}

// ---------------------------------------------------------------------------
// Planning
// ---------------------------------------------------------------------------

const NONE: u32 = u32::MAX;

/// Plans bins for documents of the given token lengths.
pub fn pack_plan(doc_lens: &[u32], seq_len: u32) -> Result<PackPlan, PackError> {
    if seq_len == 0 {
        return Err(PackError::ZeroSeqLen);
    }
    let l = seq_len as usize;
    let mut stats = PackStats { docs: doc_lens.len() as u64, ..PackStats::default() };

    // Split long documents: full chunks become bins at once; remainders are items.
    // `bin_of` is filled per segment; segments are emitted in placement order.
    let mut segments: Vec<Segment> = Vec::with_capacity(doc_lens.len() + 16);
    let mut bin_of: Vec<u32> = Vec::with_capacity(doc_lens.len() + 16);
    let mut bins: u64 = 0;
    let mut count_by_len = vec![0u32; l + 1];
    for (doc, &len) in doc_lens.iter().enumerate() {
        stats.total_tokens += len as u64;
        if len == 0 {
            stats.empty_docs += 1;
        } else if len > seq_len {
            stats.truncated_docs += 1;
            let full = len / seq_len;
            for c in 0..full {
                segments.push(Segment { doc: doc as u32, doc_offset: c * seq_len, len: seq_len });
                bin_of.push(bins as u32);
                bins += 1;
            }
            count_by_len[(len % seq_len) as usize] += 1;
        } else {
            count_by_len[len as usize] += 1;
        }
    }

    // Counting sort of the items by length, descending; ties keep document order.
    let mut start_by_len = vec![0u32; l + 2];
    let mut acc = 0u32;
    for len in (1..=l).rev() {
        start_by_len[len] = acc;
        acc += count_by_len[len];
    }
    let mut order = vec![0u32; acc as usize];
    for (doc, &len) in doc_lens.iter().enumerate() {
        let rem = if len > seq_len { len % seq_len } else { len } as usize;
        if rem > 0 {
            order[start_by_len[rem] as usize] = doc as u32;
            start_by_len[rem] += 1;
        }
    }

    // Best fit: bins with remaining capacity c form a linked list head[c] -> next[bin].
    let mut tree = CapacityTree::capacity_tree_new(l);
    let mut head = vec![NONE; l + 1];
    let mut next: Vec<u32> = Vec::new();
    let full_bins = bins;
    // Walk the sorted items bucket by bucket: the bucket gives the piece length.
    let mut item = 0usize;
    for rem in (1..=seq_len).rev() {
        let bucket_end = item + count_by_len[rem as usize] as usize;
        while item < bucket_end {
            let doc = order[item];
            item += 1;
            let len = doc_lens[doc as usize];
            let offset = if len > seq_len { len - rem } else { 0 };
            let bin = match tree.next_at_least(rem as usize) {
                Some(cap) => {
                    let bin = head[cap];
                    head[cap] = next[(bin as u64 - full_bins) as usize];
                    if head[cap] == NONE {
                        tree.capacity_remove(cap);
                    }
                    let left = cap - rem as usize;
                    if left > 0 {
                        list_push(&mut head, &mut next, &mut tree, left, bin, full_bins);
                    }
                    bin
                }
                None => {
                    if bins >= NONE as u64 {
                        return Err(PackError::TooManyBins);
                    }
                    let bin = bins as u32;
                    bins += 1;
                    next.push(NONE);
                    let left = l - rem as usize;
                    if left > 0 {
                        list_push(&mut head, &mut next, &mut tree, left, bin, full_bins);
                    }
                    bin
                }
            };
            segments.push(Segment { doc, doc_offset: offset, len: rem });
            bin_of.push(bin);
        }
    }

    // Group segments by bin (stable counting sort on bin id).
    let mut bin_starts = vec![0u64; bins as usize + 1];
    for &b in &bin_of {
        bin_starts[b as usize + 1] += 1;
    }
    for b in 0..bins as usize {
        bin_starts[b + 1] += bin_starts[b];
    }
    let mut cursor = bin_starts.clone();
    let mut grouped = vec![Segment { doc: 0, doc_offset: 0, len: 0 }; segments.len()];
    for (seg, &b) in segments.iter().zip(&bin_of) {
        grouped[cursor[b as usize] as usize] = *seg;
        cursor[b as usize] += 1;
    }

    stats.bins = bins;
    stats.segments = grouped.len() as u64;
    stats.lower_bound_bins = stats.total_tokens.div_ceil(seq_len as u64);
    stats.padding_tokens = bins * seq_len as u64 - stats.total_tokens;
    stats.fill_ratio = if bins == 0 { 1.0 } else { stats.total_tokens as f64 / (bins * seq_len as u64) as f64 };
    Ok(PackPlan { seq_len, bin_starts, segments: grouped, stats })
}

/// Pushes `bin` onto the list of bins with remaining capacity `cap`.
fn list_push(head: &mut [u32], next: &mut [u32], tree: &mut CapacityTree, cap: usize, bin: u32, first: u64) {
    if head[cap] == NONE {
        tree.capacity_insert(cap);
    }
    next[(bin as u64 - first) as usize] = head[cap];
    head[cap] = bin;
}

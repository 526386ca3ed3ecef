//! Block ("windowed") shuffle for streaming readers: the order of fixed-size blocks
//! is permuted, and positions inside each block are permuted with a per-block key.
//! A reader that follows `permute(0), permute(1), ...` touches one block at a time,
//! so it needs only `block` items of memory. A trailing partial block (when `block`
//! does not divide `n`) stays last and is shuffled internally.

use crate::feistel::{tweak_for_block, Permutation};

/// Bijection of `[0, n)` that keeps each output window of `block` positions inside
/// one source block.
#[derive(Clone, Copy, Debug)]
pub struct BlockShuffle {
    n: u64,
    block: u64,
    full_blocks: u64,
    blocks: Permutation,
    within: Permutation,
    tail: Permutation,
}

impl BlockShuffle {
    /// `block` must be >= 1 (checked by the caller; 0 is treated as 1).
    pub fn block_shuffle_new(n: u64, block: u64, seed: u64) -> BlockShuffle {
        let block = block.max(1).min(n.max(1));
        let full_blocks = n / block;
        let tail_len = n - full_blocks * block;
        BlockShuffle {
            n,
            block,
            full_blocks,
            blocks: Permutation::permutation_new(full_blocks, seed),
            within: Permutation::permutation_new(block, seed ^ 0x5eed_b10c),
            tail: Permutation::permutation_new(tail_len, seed ^ 0x5eed_7a11),
        }
    }

    /// Size of the permuted range.
    pub fn len(&self) -> u64 {
        self.n
    }

    /// True when the range is empty.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Source index shown at output position `p`.
    pub fn permute(&self, p: u64) -> u64 {
        let (b, o) = (p / self.block, p % self.block);
        if b < self.full_blocks {
            let src_block = self.blocks.permute(b);
            src_block * self.block + self.within.permute_tweaked(o, tweak_for_block(src_block))
        } else {
            b * self.block + self.tail.permute(o)
        }
    }

    /// Output position of source index `s` (inverse of `permute`).
    pub fn inverse(&self, s: u64) -> u64 {
        let (src_block, o) = (s / self.block, s % self.block);
        if src_block < self.full_blocks {
            let b = self.blocks.inverse(src_block);
            b * self.block + self.within.inverse_tweaked(o, tweak_for_block(src_block))
        } else {
            src_block * self.block + self.tail.inverse(o)
        }
    }
}

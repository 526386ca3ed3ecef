//! Unit and property tests (std-only generator with fixed seeds).

use super::*;

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Random corpus: documents with lengths up to `3 * seq_len` (some longer than a bin).
fn corpus(seed: u64, docs: usize, seq_len: u32) -> (Vec<u32>, Vec<u64>) {
    let mut s = seed;
    let mut tokens = Vec::new();
    let mut offsets = vec![0u64];
    for _ in 0..docs {
        let r = splitmix(&mut s);
        let len = match r % 10 {
            0 => 0,
            1 => (r >> 8) as u32 % (3 * seq_len + 1),
            _ => 1 + (r >> 8) as u32 % seq_len.div_ceil(3).max(1),
        };
        for _ in 0..len {
            tokens.push((splitmix(&mut s) % 50_000) as u32);
        }
        offsets.push(tokens.len() as u64);
    }
    (tokens, offsets)
}

#[test]
fn zero_seq_len_is_an_error() {
    assert_eq!(pack_plan(&[1, 2], 0).unwrap_err(), PackError::ZeroSeqLen);
}

#[test]
fn empty_input_gives_no_bins() {
    let plan = pack_plan(&[], 8).unwrap();
    assert_eq!(plan.stats.bins, 0);
    assert_eq!(plan.bin_starts, vec![0]);
}

#[test]
fn small_example_is_best_fit() {
    // Sorted: 6, 5, 3, 2 -> bins [6,2], [5,3]? best fit puts 3 into the bin with 3 left (5's bin).
    let plan = pack_plan(&[3, 6, 2, 5], 8).unwrap();
    assert_eq!(plan.stats.bins, 2);
    assert_eq!(plan.stats.lower_bound_bins, 2);
    let bin0: Vec<u32> = plan.segments[0..2].iter().map(|s| s.doc).collect();
    assert_eq!(bin0, vec![1, 2]); // 6 + 2
}

#[test]
fn long_documents_are_split() {
    let plan = pack_plan(&[20], 8).unwrap();
    assert_eq!(plan.stats.truncated_docs, 1);
    assert_eq!(plan.stats.bins, 3);
    let lens: Vec<u32> = plan.segments.iter().map(|s| s.len).collect();
    assert_eq!(lens, vec![8, 8, 4]);
}

#[test]
fn bad_offsets_are_rejected() {
    assert!(doc_lens_from_offsets(&[], 0).is_err());
    assert!(doc_lens_from_offsets(&[1, 2], 2).is_err());
    assert!(doc_lens_from_offsets(&[0, 3, 2], 2).is_err());
    assert!(doc_lens_from_offsets(&[0, 2], 3).is_err());
}

#[test]
fn packing_property_every_token_once_no_overflow_consistent_boundaries() {
    let mut s = 2024u64;
    for case in 0..60 {
        let seq_len = 1 + (splitmix(&mut s) % 200) as u32;
        let docs = (splitmix(&mut s) % 400) as usize;
        let (tokens, offsets) = corpus(splitmix(&mut s), docs, seq_len);
        let lens = doc_lens_from_offsets(&offsets, tokens.len() as u64).unwrap();
        let plan = pack_plan(&lens, seq_len).unwrap();
        let l = seq_len as usize;
        let n = plan.stats.bins as usize * l;
        let (mut t, mut d, mut p) = (vec![0; n], vec![0; n], vec![0; n]);
        pack_materialize(&plan, &tokens, &offsets, 7, 0..plan.stats.bins, &mut t, &mut d, &mut p).unwrap();
        // A shard's bin range gives the same rows as the full run.
        if let Some((a, b)) = shard_bins(&plan, 1, 3) {
            let m = (b - a) as usize * l;
            let (mut t2, mut d2, mut p2) = (vec![0; m], vec![0; m], vec![0; m]);
            pack_materialize(&plan, &tokens, &offsets, 7, a..b, &mut t2, &mut d2, &mut p2).unwrap();
            assert_eq!(t2[..], t[a as usize * l..b as usize * l]);
            assert_eq!(d2[..], d[a as usize * l..b as usize * l]);
        }

        // Every token of every document appears exactly once, in order within a segment.
        let mut seen = vec![false; tokens.len()];
        for b in 0..plan.stats.bins as usize {
            let mut used = 0usize;
            for seg in &plan.segments[plan.bin_starts[b] as usize..plan.bin_starts[b + 1] as usize] {
                assert!(seg.len > 0, "case {case}: empty segment");
                for k in 0..seg.len as usize {
                    let src = offsets[seg.doc as usize] as usize + seg.doc_offset as usize + k;
                    assert!(!seen[src], "case {case}: token placed twice");
                    seen[src] = true;
                    let at = b * l + used + k;
                    assert_eq!(t[at], tokens[src]);
                    assert_eq!(d[at], seg.doc);
                    assert_eq!(p[at], k as u32, "position restarts per segment");
                }
                used += seg.len as usize;
            }
            assert!(used <= l, "case {case}: bin {b} overflows");
            for at in b * l + used..(b + 1) * l {
                assert_eq!((t[at], d[at], p[at]), (7, PAD_DOC_ID, 0));
            }
        }
        assert!(seen.iter().all(|&x| x), "case {case}: token missing");

        // Statistics agree with the rows.
        let st = plan.stats;
        assert_eq!(st.total_tokens, tokens.len() as u64);
        assert_eq!(st.padding_tokens, d.iter().filter(|&&x| x == PAD_DOC_ID).count() as u64);
        assert!(st.bins >= st.lower_bound_bins);
        assert_eq!(st.truncated_docs, lens.iter().filter(|&&x| x > seq_len).count() as u64);
        // Only documents longer than seq_len are split.
        for (doc, &len) in lens.iter().enumerate() {
            let pieces = plan.segments.iter().filter(|s| s.doc as usize == doc).count();
            if len == 0 {
                assert_eq!(pieces, 0);
            } else if len <= seq_len {
                assert_eq!(pieces, 1);
            } else {
                assert_eq!(pieces as u32, len.div_ceil(seq_len));
            }
        }
    }
}

#[test]
fn best_fit_is_near_the_lower_bound_for_small_documents() {
    let mut s = 5u64;
    let lens: Vec<u32> = (0..200_000).map(|_| 1 + (splitmix(&mut s) % 600) as u32).collect();
    let plan = pack_plan(&lens, 2048).unwrap();
    let over = plan.stats.bins as f64 / plan.stats.lower_bound_bins as f64 - 1.0;
    assert!(over < 1e-3, "bins over lower bound: {over}");
}

#[test]
fn plan_is_deterministic() {
    let mut s = 9u64;
    let lens: Vec<u32> = (0..5000).map(|_| (splitmix(&mut s) % 300) as u32).collect();
    let a = pack_plan(&lens, 128).unwrap();
    let b = pack_plan(&lens, 128).unwrap();
    assert_eq!(a.segments, b.segments);
    assert_eq!(a.bin_starts, b.bin_starts);
}

#[test]
fn shard_bins_tile() {
    let plan = pack_plan(&[5; 100], 8).unwrap();
    let mut next = 0;
    for s in 0..3 {
        let (a, b) = shard_bins(&plan, s, 3).unwrap();
        assert_eq!(a, next);
        next = b;
    }
    assert_eq!(next, plan.stats.bins);
    assert!(shard_bins(&plan, 3, 3).is_none());
}

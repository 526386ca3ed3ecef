//! Causal multi-head self-attention with document masking for packed sequences.
//!
//! Token i may attend to token j iff j ≤ i and doc[j] == doc[i]: attention never crosses
//! a document boundary inside a packed row. One task per (batch row, head); each task
//! writes head-major scratch that is scattered back serially, so results are bitwise
//! independent of the thread count.
//!
//! A task's rows are cut into blocks (`blocks`): the rows of one document, at most 32 at a
//! time, with the keys they may see, [first position of their document, last row of the
//! block]; the work of other documents and of the future beyond the block is skipped. Each
//! product of a block is one call of the crate's GEMM on one thread (scores q·kᵀ, output P·v;
//! backward dP = dy·vᵀ, dq = dS·k, dk += dSᵀ·q, dv += Pᵀ·dy, blocks in ascending order), so
//! every element is the GEMM's fixed fused chain and the bits depend neither on the kernel
//! variant nor on the thread count. Keys a row may not see inside its block get probability
//! exactly 0, which leaves a fused chain's sum unchanged.
//!
//! Shapes: qkv [B,T,3C] (q | k | v, head h at channels h·hs..(h+1)·hs of each third),
//! doc [B,T], out [B,T,C], att [B,H,T,T] (softmax probabilities, kept for backward).

use crate::elementary::exp_f32;
use crate::matmul::{gemm, Layout};
use crate::scratch::{scratch_give, scratch_take};
use crate::threads::{threads_run, Ctx};

#[derive(Clone, Copy, Debug)]
pub struct AttnShape {
    pub b: usize,
    pub t: usize,
    pub c: usize,
    pub h: usize,
}

impl AttnShape {
    fn hs(&self) -> usize {
        self.c / self.h
    }
}

/// Gathers head `hh` of row `bb` of a [B,T,stride] tensor, channels `at + hh·hs ..`, into [T,hs].
fn gather_head(x: &[f32], s: AttnShape, bb: usize, hh: usize, stride: usize, at: usize) -> Vec<f32> {
    let hs = s.hs();
    let mut out = scratch_take(s.t * hs);
    for i in 0..s.t {
        let src = &x[(bb * s.t + i) * stride + at + hh * hs..][..hs];
        out[i * hs..(i + 1) * hs].copy_from_slice(src);
    }
    out
}

/// Gathers q, k or v (`which` = 0, 1, 2) of head `hh` in row `bb` into [T,hs].
fn gather(qkv: &[f32], s: AttnShape, bb: usize, hh: usize, which: usize) -> Vec<f32> {
    gather_head(qkv, s, bb, hh, 3 * s.c, which * s.c)
}

/// Query rows per block: block [i0, i1) of a document's rows attends to keys [lo, i1) only.
const ROWS_PER_BLOCK: usize = 32;

/// The blocks of one packed row: (i0, i1, lo), in ascending order. Rows come in runs of one document id; each run is
/// cut into blocks of at most `ROWS_PER_BLOCK` rows, and `lo` is the first position carrying the run's id (the run's
/// start unless the id also occurs earlier), so every key a block's rows may see lies in [lo, i1).
fn blocks(doc: &[u32]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let mut a = 0;
    while a < doc.len() {
        let b = a + doc[a..].iter().take_while(|&&d| d == doc[a]).count();
        let lo = doc[..a].iter().position(|&d| d == doc[a]).unwrap_or(a);
        let mut i0 = a;
        while i0 < b {
            let i1 = (i0 + ROWS_PER_BLOCK).min(b);
            out.push((i0, i1, lo));
            i0 = i1;
        }
        a = b;
    }
    out
}

// ---------------------------------------------------------------- forward

pub fn attention_forward(ctx: Ctx, out: &mut [f32], att: &mut [f32], qkv: &[f32], doc: &[u32], s: AttnShape) {
    let (t, hs) = (s.t, s.hs());
    let scale = 1.0 / (hs as f32).sqrt();
    let one = Ctx { threads: 1, ..ctx };
    let mut yh = scratch_take(s.b * s.h * t * hs);
    let tasks: Vec<(usize, (&mut [f32], &mut [f32]))> =
        att.chunks_mut(t * t).zip(yh.chunks_mut(t * hs)).enumerate().collect();
    threads_run(ctx.threads, tasks, |(task, (att, y))| {
        let (bb, hh) = (task / s.h, task % s.h);
        let (q, k, v) = (gather(qkv, s, bb, hh, 0), gather(qkv, s, bb, hh, 1), gather(qkv, s, bb, hh, 2));
        let doc = &doc[bb * t..(bb + 1) * t];
        att.fill(0.0);
        for (i0, i1, lo) in blocks(doc) {
            let (m, kl) = (i1 - i0, i1 - lo);
            // scores q_i·k_j of the block, then each row's masked softmax in place
            let mut p = scratch_take(m * kl);
            gemm(
                one,
                &mut p,
                &q[i0 * hs..i1 * hs],
                Layout::Normal,
                &k[lo * hs..i1 * hs],
                Layout::Transposed,
                m,
                kl,
                hs,
                false,
            );
            for r in 0..m {
                let i = i0 + r;
                let row = &mut p[r * kl..(r + 1) * kl];
                let mut maxv = f32::NEG_INFINITY;
                for (jj, x) in row.iter_mut().enumerate() {
                    let j = lo + jj;
                    *x = if j <= i && doc[j] == doc[i] { *x * scale } else { f32::NEG_INFINITY };
                    maxv = maxv.max(*x);
                }
                let mut sum = 0f32;
                for x in row.iter_mut() {
                    *x = if *x == f32::NEG_INFINITY { 0.0 } else { exp_f32(*x - maxv) };
                    sum += *x;
                }
                let inv = 1.0 / sum; // j = i is always allowed, so sum ≥ 1
                row.iter_mut().for_each(|x| *x *= inv);
                att[i * t + lo..i * t + i1].copy_from_slice(row);
            }
            // y = P·v
            gemm(
                one,
                &mut y[i0 * hs..i1 * hs],
                &p,
                Layout::Normal,
                &v[lo * hs..i1 * hs],
                Layout::Normal,
                m,
                hs,
                kl,
                false,
            );
            scratch_give(p);
        }
        [q, k, v].into_iter().for_each(scratch_give);
    });
    for bb in 0..s.b {
        for hh in 0..s.h {
            for i in 0..t {
                let src = &yh[((bb * s.h + hh) * t + i) * hs..][..hs];
                out[(bb * t + i) * s.c + hh * hs..][..hs].copy_from_slice(src);
            }
        }
    }
    scratch_give(yh);
}

// ---------------------------------------------------------------- backward

/// Accumulates dqkv [B,T,3C] from dout [B,T,C], using the saved `att` probabilities; `doc` is the forward's.
pub fn attention_backward(
    ctx: Ctx,
    dqkv: &mut [f32],
    dout: &[f32],
    qkv: &[f32],
    att: &[f32],
    doc: &[u32],
    s: AttnShape,
) {
    let (t, hs) = (s.t, s.hs());
    let scale = 1.0 / (hs as f32).sqrt();
    let one = Ctx { threads: 1, ..ctx };
    let mut grads = scratch_take(s.b * s.h * 3 * t * hs); // per task: dq | dk | dv, each [T,hs]
    let tasks: Vec<(usize, &mut [f32])> = grads.chunks_mut(3 * t * hs).enumerate().collect();
    threads_run(ctx.threads, tasks, |(task, g)| {
        let (bb, hh) = (task / s.h, task % s.h);
        let (q, k, v) = (gather(qkv, s, bb, hh, 0), gather(qkv, s, bb, hh, 1), gather(qkv, s, bb, hh, 2));
        let dy = gather_head(dout, s, bb, hh, s.c, 0);
        let (dq, rest) = g.split_at_mut(t * hs);
        let (dk, dv) = rest.split_at_mut(t * hs);
        let att = &att[task * t * t..(task + 1) * t * t];
        for (i0, i1, lo) in blocks(&doc[bb * t..(bb + 1) * t]) {
            let (m, kl) = (i1 - i0, i1 - lo);
            let mut p = scratch_take(m * kl);
            for r in 0..m {
                p[r * kl..(r + 1) * kl].copy_from_slice(&att[(i0 + r) * t + lo..(i0 + r) * t + i1]);
            }
            // y_i = Σ_j p_ij v_j  →  dp_ij = dy_i·v_j,  dv += Pᵀ·dy
            let (dyb, kb, qb) = (&dy[i0 * hs..i1 * hs], &k[lo * hs..i1 * hs], &q[i0 * hs..i1 * hs]);
            let mut ds = scratch_take(m * kl);
            gemm(one, &mut ds, dyb, Layout::Normal, &v[lo * hs..i1 * hs], Layout::Transposed, m, kl, hs, false);
            gemm(one, &mut dv[lo * hs..i1 * hs], &p, Layout::Transposed, dyb, Layout::Normal, kl, hs, m, true);
            // softmax backward, in place: ds_ij = p_ij (dp_ij − Σ_l p_il dp_il) · scale (0 where p_ij = 0)
            for r in 0..m {
                let (pr, dr) = (&p[r * kl..(r + 1) * kl], &mut ds[r * kl..(r + 1) * kl]);
                let mut pdp = 0f32;
                for (pj, dj) in pr.iter().zip(dr.iter()) {
                    pdp += pj * dj;
                }
                for (pj, dj) in pr.iter().zip(dr.iter_mut()) {
                    *dj = pj * (*dj - pdp) * scale;
                }
            }
            // scores = scale · q_i·k_j  →  dq = dS·k,  dk += dSᵀ·q
            gemm(one, &mut dq[i0 * hs..i1 * hs], &ds, Layout::Normal, kb, Layout::Normal, m, hs, kl, false);
            gemm(one, &mut dk[lo * hs..i1 * hs], &ds, Layout::Transposed, qb, Layout::Normal, kl, hs, m, true);
            [p, ds].into_iter().for_each(scratch_give);
        }
        [q, k, v, dy].into_iter().for_each(scratch_give);
    });
    for bb in 0..s.b {
        for hh in 0..s.h {
            let g = &grads[(bb * s.h + hh) * 3 * t * hs..][..3 * t * hs];
            for which in 0..3 {
                for i in 0..t {
                    let src = &g[(which * t + i) * hs..][..hs];
                    let dst = &mut dqkv[(bb * t + i) * 3 * s.c + which * s.c + hh * hs..][..hs];
                    dst.iter_mut().zip(src).for_each(|(d, x)| *d += x);
                }
            }
        }
    }
    scratch_give(grads);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::{grad_check, Projection};
    use crate::rng::Rng;
    use crate::threads::Variant;

    fn run(qkv: &[f32], doc: &[u32], s: AttnShape, threads: usize) -> (Vec<f32>, Vec<f32>) {
        let mut out = vec![0f32; s.b * s.t * s.c];
        let mut att = vec![0f32; s.b * s.h * s.t * s.t];
        attention_forward(Ctx::new(threads, Variant::Portable), &mut out, &mut att, qkv, doc, s);
        (out, att)
    }

    #[test]
    fn attention_gradients_match_finite_differences() {
        let s = AttnShape { b: 2, t: 5, c: 6, h: 2 };
        let qkv = Rng::new(21).normal_vec(s.b * s.t * 3 * s.c, 1.0);
        let doc = [0, 0, 1, 1, 1, 4, 4, 4, 5, 5];
        let proj = Projection::new(s.b * s.t * s.c, 22);
        let (_, att) = run(&qkv, &doc, s, 2);
        let mut dqkv = vec![0f32; qkv.len()];
        attention_backward(Ctx::new(2, Variant::Portable), &mut dqkv, &proj.r, &qkv, &att, &doc, s);
        grad_check("attention.qkv", &qkv, &dqkv, |x| proj.loss(&run(x, &doc, s, 1).0));
    }

    #[test]
    fn attention_never_crosses_documents_and_ignores_thread_count() {
        let s = AttnShape { b: 1, t: 8, c: 8, h: 2 };
        let mut qkv = Rng::new(23).normal_vec(s.t * 3 * s.c, 1.0);
        let doc = [3, 3, 3, 7, 7, 7, 7, 7];
        let (out_a, att) = run(&qkv, &doc, s, 1);
        assert_eq!(att[1], 0.0); // token 0 never attends to the future
        assert_eq!(att[3 * s.t + 2], 0.0); // first token of doc 7 never sees doc 3
        assert_eq!(out_a, run(&qkv, &doc, s, 3).0);
        // perturb doc 3's q, k, v: doc 7's outputs must not move at all
        qkv[..3 * 3 * s.c].iter_mut().for_each(|x| *x += 1.5);
        let out_b = run(&qkv, &doc, s, 2).0;
        assert_eq!(out_a[3 * s.c..], out_b[3 * s.c..]);
        assert_ne!(out_a[..3 * s.c], out_b[..3 * s.c]);
    }

    /// Plain f64 attention: out_i = Σ_{j ≤ i, doc_j = doc_i} softmax(scale q_i·k_j) v_j.
    fn reference(qkv: &[f32], doc: &[u32], s: AttnShape) -> Vec<f64> {
        let (t, c, hs) = (s.t, s.c, s.hs());
        let scale = 1.0 / (hs as f64).sqrt();
        let mut out = vec![0f64; s.b * t * c];
        for bb in 0..s.b {
            for hh in 0..s.h {
                let at = |i: usize, which: usize, d: usize| qkv[(bb * t + i) * 3 * c + which * c + hh * hs + d] as f64;
                for i in 0..t {
                    let seen: Vec<usize> = (0..=i).filter(|&j| doc[bb * t + j] == doc[bb * t + i]).collect();
                    let sc: Vec<f64> =
                        seen.iter().map(|&j| (0..hs).map(|d| at(i, 0, d) * at(j, 1, d)).sum::<f64>() * scale).collect();
                    let mx = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let z: f64 = sc.iter().map(|x| (x - mx).exp()).sum();
                    for (n, &j) in seen.iter().enumerate() {
                        let w = (sc[n] - mx).exp() / z;
                        for d in 0..hs {
                            out[(bb * t + i) * c + hh * hs + d] += w * at(j, 2, d);
                        }
                    }
                }
            }
        }
        out
    }

    #[test]
    fn blocks_cover_each_document_run_and_reach_back_to_an_earlier_run_of_the_same_id() {
        let doc: Vec<u32> = [vec![1; 40], vec![2; 10], vec![1; 20]].concat();
        assert_eq!(blocks(&doc), vec![(0, 32, 0), (32, 40, 0), (40, 50, 40), (50, 70, 0)]);
        assert_eq!(blocks(&[]), vec![]);
    }

    #[test]
    fn blocked_attention_matches_a_plain_reference_on_every_variant() {
        // rows longer than a block, a document id that occurs twice in one row, documents of one token
        let s = AttnShape { b: 2, t: 70, c: 16, h: 2 };
        let doc: Vec<u32> = [vec![1; 40], vec![2; 10], vec![1; 20], vec![5], vec![6; 68], vec![7]].concat();
        let qkv = Rng::new(29).normal_vec(s.b * s.t * 3 * s.c, 1.0);
        let want = reference(&qkv, &doc, s);
        let (out, att) = run(&qkv, &doc, s, 1);
        for (i, (a, b)) in out.iter().zip(&want).enumerate() {
            assert!((*a as f64 - b).abs() < 1e-5, "out[{i}]: {a} vs {b}");
        }
        let dout = Rng::new(30).normal_vec(out.len(), 1.0);
        let grads = |ctx: Ctx| {
            let mut o = vec![0f32; out.len()];
            let mut a = vec![0f32; att.len()];
            attention_forward(ctx, &mut o, &mut a, &qkv, &doc, s);
            let mut d = vec![0f32; qkv.len()];
            attention_backward(ctx, &mut d, &dout, &qkv, &a, &doc, s);
            let bits = |x: Vec<f32>| x.into_iter().map(f32::to_bits).collect::<Vec<u32>>();
            (bits(o), bits(a), bits(d))
        };
        let base = grads(Ctx::new(1, Variant::Portable));
        for v in Variant::supported() {
            for threads in [1, 3] {
                assert!(grads(Ctx::new(threads, v)) == base, "{} on {threads} threads", v.name());
            }
        }
    }
}

//! Causal multi-head self-attention with document masking for packed sequences.
//!
//! Token i may attend to token j iff j ≤ i and doc[j] == doc[i]: attention never crosses
//! a document boundary inside a packed row. One task per (batch row, head); each task
//! writes head-major scratch that is scattered back serially, so results are bitwise
//! independent of the thread count.
//!
//! Shapes: qkv [B,T,3C] (q | k | v, head h at channels h·hs..(h+1)·hs of each third),
//! doc [B,T], out [B,T,C], att [B,H,T,T] (softmax probabilities, kept for backward).

use crate::dot::dot;
use crate::elementary::exp_f32;
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

#[inline]
fn axpy(y: &mut [f32], a: f32, x: &[f32]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Gathers q, k or v (`which` = 0, 1, 2) of head `hh` in row `bb` into [T,hs].
fn gather(qkv: &[f32], s: AttnShape, bb: usize, hh: usize, which: usize) -> Vec<f32> {
    let hs = s.hs();
    let mut out = scratch_take(s.t * hs);
    for i in 0..s.t {
        let src = &qkv[(bb * s.t + i) * 3 * s.c + which * s.c + hh * hs..][..hs];
        out[i * hs..(i + 1) * hs].copy_from_slice(src);
    }
    out
}

// ---------------------------------------------------------------- forward

pub fn attention_forward(ctx: Ctx, out: &mut [f32], att: &mut [f32], qkv: &[f32], doc: &[u32], s: AttnShape) {
    let (t, hs) = (s.t, s.hs());
    let scale = 1.0 / (hs as f32).sqrt();
    let mut yh = scratch_take(s.b * s.h * t * hs);
    let tasks: Vec<(usize, (&mut [f32], &mut [f32]))> =
        att.chunks_mut(t * t).zip(yh.chunks_mut(t * hs)).enumerate().collect();
    threads_run(ctx.threads, tasks, |(task, (att, y))| {
        let (bb, hh) = (task / s.h, task % s.h);
        let (q, k, v) = (gather(qkv, s, bb, hh, 0), gather(qkv, s, bb, hh, 1), gather(qkv, s, bb, hh, 2));
        let doc = &doc[bb * t..(bb + 1) * t];
        for i in 0..t {
            let row = &mut att[i * t..(i + 1) * t];
            let qi = &q[i * hs..(i + 1) * hs];
            let mut maxv = f32::NEG_INFINITY;
            for j in 0..=i {
                row[j] = if doc[j] == doc[i] { dot(qi, &k[j * hs..(j + 1) * hs]) * scale } else { f32::NEG_INFINITY };
                maxv = maxv.max(row[j]);
            }
            let mut sum = 0f32;
            for p in row[..=i].iter_mut() {
                *p = if *p == f32::NEG_INFINITY { 0.0 } else { exp_f32(*p - maxv) };
                sum += *p;
            }
            let inv = 1.0 / sum; // j = i is always allowed, so sum ≥ 1
            row[..=i].iter_mut().for_each(|p| *p *= inv);
            row[i + 1..].iter_mut().for_each(|p| *p = 0.0);
            let yi = &mut y[i * hs..(i + 1) * hs];
            yi.iter_mut().for_each(|x| *x = 0.0);
            for j in 0..=i {
                if row[j] != 0.0 {
                    axpy(yi, row[j], &v[j * hs..(j + 1) * hs]);
                }
            }
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

/// Accumulates dqkv [B,T,3C] from dout [B,T,C], using the saved `att` probabilities.
pub fn attention_backward(ctx: Ctx, dqkv: &mut [f32], dout: &[f32], qkv: &[f32], att: &[f32], s: AttnShape) {
    let (t, hs) = (s.t, s.hs());
    let scale = 1.0 / (hs as f32).sqrt();
    let mut grads = scratch_take(s.b * s.h * 3 * t * hs); // per task: dq | dk | dv, each [T,hs]
    let tasks: Vec<(usize, &mut [f32])> = grads.chunks_mut(3 * t * hs).enumerate().collect();
    threads_run(ctx.threads, tasks, |(task, g)| {
        let (bb, hh) = (task / s.h, task % s.h);
        let (q, k, v) = (gather(qkv, s, bb, hh, 0), gather(qkv, s, bb, hh, 1), gather(qkv, s, bb, hh, 2));
        let (dq, rest) = g.split_at_mut(t * hs);
        let (dk, dv) = rest.split_at_mut(t * hs);
        let att = &att[task * t * t..(task + 1) * t * t];
        let mut dp = vec![0f32; t];
        for i in 0..t {
            let p = &att[i * t..i * t + i + 1];
            let dyi = &dout[(bb * t + i) * s.c + hh * hs..][..hs];
            // y_i = Σ_j p_ij v_j  →  dp_ij = dy_i·v_j,  dv_j += p_ij dy_i
            let mut pdp = 0f32;
            for j in 0..=i {
                if p[j] != 0.0 {
                    dp[j] = dot(dyi, &v[j * hs..(j + 1) * hs]);
                    axpy(&mut dv[j * hs..(j + 1) * hs], p[j], dyi);
                    pdp += p[j] * dp[j];
                }
            }
            // softmax backward, then scores = scale · q_i·k_j
            for j in 0..=i {
                if p[j] != 0.0 {
                    let ds = p[j] * (dp[j] - pdp) * scale;
                    axpy(&mut dq[i * hs..(i + 1) * hs], ds, &k[j * hs..(j + 1) * hs]);
                    axpy(&mut dk[j * hs..(j + 1) * hs], ds, &q[i * hs..(i + 1) * hs]);
                }
            }
        }
        [q, k, v].into_iter().for_each(scratch_give);
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
        attention_backward(Ctx::new(2, Variant::Portable), &mut dqkv, &proj.r, &qkv, &att, s);
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
}

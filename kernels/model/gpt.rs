//! The GPT decoder as pure functions: forward (keeping activations) and backward.
//!
//!   x0  = wte[token] + wpe[position-in-document]                    [BT,C]
//!   per block:  x += proj(attn(ln1(x)));  x += fcproj(gelu(fc(ln2(x))))
//!   logits = lnf(x) · wteᵀ   (tied output head)                       [BT,V]

use crate::attention::{attention_backward, attention_forward, AttnShape};
use crate::batch::Batch;
use crate::config::GptConfig;
use crate::gelu::{gelu_backward_par, gelu_forward_par};
use crate::layernorm::{layernorm_backward, layernorm_forward};
use crate::matmul::{matmul_backward, matmul_forward};
use crate::params::ParamLayout;
use crate::threads::Ctx;

/// Saved activations of one block (all [BT,·] unless noted).
pub struct BlockActs {
    pub ln1: Vec<f32>,
    pub ln1_mean: Vec<f32>,
    pub ln1_rstd: Vec<f32>,
    pub qkv: Vec<f32>,  // [BT,3C]
    pub atty: Vec<f32>, // [BT,C]
    pub att: Vec<f32>,  // [B,H,T,T]
    pub res2: Vec<f32>,
    pub ln2: Vec<f32>,
    pub ln2_mean: Vec<f32>,
    pub ln2_rstd: Vec<f32>,
    pub fch: Vec<f32>,      // [BT,4C]
    pub fch_gelu: Vec<f32>, // [BT,4C]
    pub res3: Vec<f32>,     // block output
}

/// Activations of one forward pass plus the backward pass's gradient scratch, allocated
/// once per batch shape and reused (every buffer is fully overwritten or cleared per use).
pub struct Acts {
    pub b: usize,
    pub t: usize,
    pub encoded: Vec<f32>,
    pub blocks: Vec<BlockActs>,
    pub lnf: Vec<f32>,
    pub lnf_mean: Vec<f32>,
    pub lnf_rstd: Vec<f32>,
    pub logits: Vec<f32>,  // [BT,V]
    pub dlogits: Vec<f32>, // [BT,V], written by the loss
    d_fch_gelu: Vec<f32>,
    d_fch: Vec<f32>,
    d_ln: Vec<f32>,
    d_atty: Vec<f32>,
    d_qkv: Vec<f32>,
    dres: Vec<f32>,
}

impl Acts {
    pub fn new(cfg: &GptConfig, b: usize, t: usize) -> Acts {
        let (n, c, z) = (b * t, cfg.d_model, |len: usize| vec![0f32; len]);
        let blocks = (0..cfg.n_layer)
            .map(|_| BlockActs {
                ln1: z(n * c),
                ln1_mean: z(n),
                ln1_rstd: z(n),
                qkv: z(n * 3 * c),
                atty: z(n * c),
                att: z(b * cfg.n_head * t * t),
                res2: z(n * c),
                ln2: z(n * c),
                ln2_mean: z(n),
                ln2_rstd: z(n),
                fch: z(n * 4 * c),
                fch_gelu: z(n * 4 * c),
                res3: z(n * c),
            })
            .collect();
        Acts {
            b,
            t,
            encoded: z(n * c),
            blocks,
            lnf: z(n * c),
            lnf_mean: z(n),
            lnf_rstd: z(n),
            logits: z(n * cfg.vocab_size),
            dlogits: z(n * cfg.vocab_size),
            d_fch_gelu: z(n * 4 * c),
            d_fch: z(n * 4 * c),
            d_ln: z(n * c),
            d_atty: z(n * c),
            d_qkv: z(n * 3 * c),
            dres: z(n * c),
        }
    }
}

fn t<'a>(buf: &'a [f32], off: usize, len: usize) -> &'a [f32] {
    &buf[off..off + len]
}

/// Mutable weight and bias gradients of a layer whose bias directly follows its weight.
fn wb_mut(grads: &mut [f32], w_off: usize, w_len: usize, b_len: usize) -> (&mut [f32], &mut [f32]) {
    grads[w_off..w_off + w_len + b_len].split_at_mut(w_len)
}

// ---------------------------------------------------------------- forward

/// Fills `acts` (allocated for this batch's B and T) with the forward pass.
pub fn gpt_forward(ctx: Ctx, cfg: &GptConfig, layout: &ParamLayout, p: &[f32], batch: &Batch, acts: &mut Acts) {
    let (b, tt, c, v) = (batch.b, batch.t, cfg.d_model, cfg.vocab_size);
    assert_eq!((acts.b, acts.t), (b, tt), "gpt_forward: activations allocated for another shape");
    let n = b * tt;
    let shape = AttnShape { b, t: tt, c, h: cfg.n_head };
    // ---- embeddings
    let pos = batch.positions();
    let encoded = &mut acts.encoded;
    for i in 0..n {
        let te = t(p, layout.wte + batch.tokens[i] as usize * c, c);
        let pe = t(p, layout.wpe + pos[i] * c, c);
        for j in 0..c {
            encoded[i * c + j] = te[j] + pe[j];
        }
    }
    // ---- blocks
    for (l, bo) in layout.blocks.iter().enumerate() {
        let (done, rest) = acts.blocks.split_at_mut(l);
        let x: &[f32] = done.last().map_or(&acts.encoded, |a| &a.res3);
        let a = &mut rest[0];
        layernorm_forward(&mut a.ln1, &mut a.ln1_mean, &mut a.ln1_rstd, x, t(p, bo.ln1_w, c), t(p, bo.ln1_b, c), c);
        matmul_forward(ctx, &mut a.qkv, &a.ln1, t(p, bo.qkv_w, 3 * c * c), Some(t(p, bo.qkv_b, 3 * c)), n, c, 3 * c);
        attention_forward(ctx, &mut a.atty, &mut a.att, &a.qkv, &batch.doc_ids, shape);
        matmul_forward(ctx, &mut a.res2, &a.atty, t(p, bo.proj_w, c * c), Some(t(p, bo.proj_b, c)), n, c, c);
        a.res2.iter_mut().zip(x).for_each(|(r, xi)| *r += xi);
        layernorm_forward(
            &mut a.ln2,
            &mut a.ln2_mean,
            &mut a.ln2_rstd,
            &a.res2,
            t(p, bo.ln2_w, c),
            t(p, bo.ln2_b, c),
            c,
        );
        matmul_forward(ctx, &mut a.fch, &a.ln2, t(p, bo.fc_w, 4 * c * c), Some(t(p, bo.fc_b, 4 * c)), n, c, 4 * c);
        gelu_forward_par(ctx, &mut a.fch_gelu, &a.fch);
        matmul_forward(
            ctx,
            &mut a.res3,
            &a.fch_gelu,
            t(p, bo.fcproj_w, 4 * c * c),
            Some(t(p, bo.fcproj_b, c)),
            n,
            4 * c,
            c,
        );
        a.res3.iter_mut().zip(&a.res2).for_each(|(r, xi)| *r += xi);
    }
    // ---- final norm and tied head
    let last: &[f32] = acts.blocks.last().map_or(&acts.encoded, |a| &a.res3);
    layernorm_forward(
        &mut acts.lnf,
        &mut acts.lnf_mean,
        &mut acts.lnf_rstd,
        last,
        t(p, layout.lnf_w, c),
        t(p, layout.lnf_b, c),
        c,
    );
    matmul_forward(ctx, &mut acts.logits, &acts.lnf, t(p, layout.wte, v * c), None, n, c, v);
}

// ---------------------------------------------------------------- backward

/// Accumulates dLoss/dparams into `grads` given dLoss/dlogits in `acts.dlogits` [BT,V].
pub fn gpt_backward(
    ctx: Ctx,
    cfg: &GptConfig,
    layout: &ParamLayout,
    p: &[f32],
    grads: &mut [f32],
    acts: &mut Acts,
    batch: &Batch,
) {
    let (b, tt, c, v) = (batch.b, batch.t, cfg.d_model, cfg.vocab_size);
    let n = b * tt;
    let shape = AttnShape { b, t: tt, c, h: cfg.n_head };
    // ---- head and final norm
    let Acts {
        encoded, blocks, lnf, lnf_mean, lnf_rstd, dlogits, d_fch_gelu, d_fch, d_ln, d_atty, d_qkv, dres, ..
    } = acts;
    let (encoded, blocks) = (&*encoded, &*blocks);
    d_ln.fill(0.0);
    matmul_backward(
        ctx,
        d_ln,
        &mut grads[layout.wte..layout.wte + v * c],
        None,
        dlogits,
        lnf,
        t(p, layout.wte, v * c),
        n,
        c,
        v,
    );
    dres.fill(0.0);
    let last: &[f32] = blocks.last().map_or(encoded, |a| &a.res3);
    let (dw, db) = wb_mut(grads, layout.lnf_w, c, c);
    layernorm_backward(dres, dw, db, d_ln, last, t(p, layout.lnf_w, c), lnf_mean, lnf_rstd, c);
    // ---- blocks, last to first; `dres` carries dLoss/d(residual stream)
    for (l, bo) in layout.blocks.iter().enumerate().rev() {
        let a = &blocks[l];
        let x: &[f32] = if l == 0 { encoded } else { &blocks[l - 1].res3 };
        // res3 = res2 + fcproj(gelu(fc(ln2(res2))))
        d_fch_gelu.fill(0.0);
        let (dw, db) = wb_mut(grads, bo.fcproj_w, 4 * c * c, c);
        matmul_backward(ctx, d_fch_gelu, dw, Some(db), dres, &a.fch_gelu, t(p, bo.fcproj_w, 4 * c * c), n, 4 * c, c);
        d_fch.fill(0.0);
        gelu_backward_par(ctx, d_fch, &a.fch, d_fch_gelu);
        d_ln.fill(0.0);
        let (dw, db) = wb_mut(grads, bo.fc_w, 4 * c * c, 4 * c);
        matmul_backward(ctx, d_ln, dw, Some(db), d_fch, &a.ln2, t(p, bo.fc_w, 4 * c * c), n, c, 4 * c);
        let (dw, db) = wb_mut(grads, bo.ln2_w, c, c);
        layernorm_backward(dres, dw, db, d_ln, &a.res2, t(p, bo.ln2_w, c), &a.ln2_mean, &a.ln2_rstd, c);
        // res2 = x + proj(attn(ln1(x)))
        d_atty.fill(0.0);
        let (dw, db) = wb_mut(grads, bo.proj_w, c * c, c);
        matmul_backward(ctx, d_atty, dw, Some(db), dres, &a.atty, t(p, bo.proj_w, c * c), n, c, c);
        d_qkv.fill(0.0);
        attention_backward(ctx, d_qkv, d_atty, &a.qkv, &a.att, &batch.doc_ids, shape);
        d_ln.fill(0.0);
        let (dw, db) = wb_mut(grads, bo.qkv_w, 3 * c * c, 3 * c);
        matmul_backward(ctx, d_ln, dw, Some(db), d_qkv, &a.ln1, t(p, bo.qkv_w, 3 * c * c), n, c, 3 * c);
        let (dw, db) = wb_mut(grads, bo.ln1_w, c, c);
        layernorm_backward(dres, dw, db, d_ln, x, t(p, bo.ln1_w, c), &a.ln1_mean, &a.ln1_rstd, c);
    }
    // ---- embeddings (serial, token order: fixed accumulation order)
    let pos = batch.positions();
    for i in 0..n {
        let d = &dres[i * c..(i + 1) * c];
        let te = layout.wte + batch.tokens[i] as usize * c;
        grads[te..te + c].iter_mut().zip(d).for_each(|(g, x)| *g += x);
        let pe = layout.wpe + pos[i] * c;
        grads[pe..pe + c].iter_mut().zip(d).for_each(|(g, x)| *g += x);
    }
}

//! Autoregressive generation with a KV cache: one token per step, per-layer keys and
//! values cached for a single sequence (one document, positions 0, 1, 2, …).

use crate::attention::dot;
use crate::elementary::exp_f32;
use crate::error::{err, ErrorKind, Result};
use crate::gelu::gelu_forward;
use crate::layernorm::layernorm_forward;
use crate::model::Model;
use crate::rng::Rng;
use crate::sample::{sample_next, SampleOptions};

#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    pub max_new_tokens: usize,
    pub sample: SampleOptions,
    pub seed: u64,
    /// Generation stops after producing any of these (the stop token is not returned).
    pub stop_tokens: Vec<u32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    MaxNewTokens,
    StopToken,
    /// The sequence reached the model's seq_len.
    ContextFull,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    pub tokens: Vec<u32>,
    pub stop: StopReason,
}

/// Keys and values of every layer for positions 0..len: [n_layer][seq_len·C].
pub struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pub len: usize,
}

/// y[o] = b[o] + x·w[o]   (w: [O,C]); one row, so a plain dot per output.
fn matvec(y: &mut [f32], x: &[f32], w: &[f32], b: Option<&[f32]>) {
    let c = x.len();
    for (o, yo) in y.iter_mut().enumerate() {
        *yo = dot(x, &w[o * c..(o + 1) * c]) + b.map_or(0.0, |b| b[o]);
    }
}

impl Model {
    pub fn kv_cache_new(&self) -> KvCache {
        let n = self.config.seq_len * self.config.d_model;
        KvCache { k: vec![vec![0.0; n]; self.config.n_layer], v: vec![vec![0.0; n]; self.config.n_layer], len: 0 }
    }

    /// Feeds one token at position `cache.len`; returns the next-token logits [V].
    pub fn decode_step(&self, cache: &mut KvCache, token: u32) -> Result<Vec<f32>> {
        let (c, nh, p) = (self.config.d_model, self.config.n_head, &self.params);
        let (l, pos) = (&self.layout, cache.len);
        if token as usize >= self.config.vocab_size {
            return err(
                ErrorKind::InvalidBatch,
                format!("token {token} is outside vocab_size {}", self.config.vocab_size),
            );
        }
        if pos >= self.config.seq_len {
            return err(ErrorKind::InvalidBatch, format!("KV cache is full (seq_len {})", self.config.seq_len));
        }
        let hs = c / nh;
        let t = |off: usize, len: usize| &p[off..off + len];
        let mut x: Vec<f32> = (0..c).map(|j| p[l.wte + token as usize * c + j] + p[l.wpe + pos * c + j]).collect();
        let (mut ln, mut m, mut s) = (vec![0f32; c], [0f32], [0f32]);
        let (mut qkv, mut y, mut tmp) = (vec![0f32; 3 * c], vec![0f32; c], vec![0f32; c]);
        let (mut h, mut hg) = (vec![0f32; 4 * c], vec![0f32; 4 * c]);
        let mut scores = vec![0f32; pos + 1];
        for (li, bo) in l.blocks.iter().enumerate() {
            layernorm_forward(&mut ln, &mut m, &mut s, &x, t(bo.ln1_w, c), t(bo.ln1_b, c), c);
            matvec(&mut qkv, &ln, t(bo.qkv_w, 3 * c * c), Some(t(bo.qkv_b, 3 * c)));
            cache.k[li][pos * c..(pos + 1) * c].copy_from_slice(&qkv[c..2 * c]);
            cache.v[li][pos * c..(pos + 1) * c].copy_from_slice(&qkv[2 * c..]);
            for hh in 0..nh {
                let q = &qkv[hh * hs..(hh + 1) * hs];
                let mut maxv = f32::NEG_INFINITY;
                for j in 0..=pos {
                    scores[j] = dot(q, &cache.k[li][j * c + hh * hs..][..hs]) / (hs as f32).sqrt();
                    maxv = maxv.max(scores[j]);
                }
                let mut sum = 0f32;
                scores.iter_mut().for_each(|e| {
                    *e = exp_f32(*e - maxv);
                    sum += *e;
                });
                let yh = &mut y[hh * hs..(hh + 1) * hs];
                yh.fill(0.0);
                for j in 0..=pos {
                    let vj = &cache.v[li][j * c + hh * hs..][..hs];
                    yh.iter_mut().zip(vj).for_each(|(a, b)| *a += scores[j] / sum * b);
                }
            }
            matvec(&mut tmp, &y, t(bo.proj_w, c * c), Some(t(bo.proj_b, c)));
            x.iter_mut().zip(&tmp).for_each(|(a, b)| *a += b);
            layernorm_forward(&mut ln, &mut m, &mut s, &x, t(bo.ln2_w, c), t(bo.ln2_b, c), c);
            matvec(&mut h, &ln, t(bo.fc_w, 4 * c * c), Some(t(bo.fc_b, 4 * c)));
            gelu_forward(&mut hg, &h);
            matvec(&mut tmp, &hg, t(bo.fcproj_w, 4 * c * c), Some(t(bo.fcproj_b, c)));
            x.iter_mut().zip(&tmp).for_each(|(a, b)| *a += b);
        }
        layernorm_forward(&mut ln, &mut m, &mut s, &x, t(l.lnf_w, c), t(l.lnf_b, c), c);
        let mut logits = vec![0f32; self.config.vocab_size];
        matvec(&mut logits, &ln, t(l.wte, self.config.vocab_size * c), None);
        cache.len += 1;
        Ok(logits)
    }

    /// Continues `prompt` (non-empty) by up to `max_new_tokens` sampled tokens.
    pub fn generate(&self, prompt: &[u32], opts: &GenerateOptions) -> Result<Generation> {
        if prompt.is_empty() || prompt.len() > self.config.seq_len {
            return err(
                ErrorKind::InvalidBatch,
                format!("prompt length {} must be in 1..={}", prompt.len(), self.config.seq_len),
            );
        }
        let mut rng = Rng::new(opts.seed);
        let mut cache = self.kv_cache_new();
        let mut logits = Vec::new();
        for &tok in prompt {
            logits = self.decode_step(&mut cache, tok)?;
        }
        let mut out = Vec::new();
        loop {
            if out.len() >= opts.max_new_tokens {
                return Ok(Generation { tokens: out, stop: StopReason::MaxNewTokens });
            }
            let next = sample_next(&logits, &opts.sample, &mut rng);
            if opts.stop_tokens.contains(&next) {
                return Ok(Generation { tokens: out, stop: StopReason::StopToken });
            }
            out.push(next);
            if cache.len >= self.config.seq_len {
                return Ok(Generation { tokens: out, stop: StopReason::ContextFull });
            }
            logits = self.decode_step(&mut cache, next)?;
        }
    }
}

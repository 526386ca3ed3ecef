//! Autoregressive generation with a KV cache: one token per step, per-layer keys and
//! values cached for a single sequence (one document, positions 0, 1, 2, …).

use crate::attention::{dot, dot4};
use crate::elementary::{exp_f32, exp_f64, ln_f64};
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
    /// The caller cancelled the generation (`Decoder::next`).
    Cancelled,
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

/// y[o] = b[o] + x·w[o]   (w: [O,C]); one row of x, so a dot per output, four outputs at a time (`dot4`: the
/// same bits as `dot`, with x read once per four rows).
fn matvec(y: &mut [f32], x: &[f32], w: &[f32], b: Option<&[f32]>) {
    let c = x.len();
    let row = |o: usize| &w[o * c..(o + 1) * c];
    let bias = |o: usize| b.map_or(0.0, |b| b[o]);
    let quads = y.len() / 4 * 4;
    for o in (0..quads).step_by(4) {
        let d = dot4(x, [row(o), row(o + 1), row(o + 2), row(o + 3)]);
        for r in 0..4 {
            y[o + r] = d[r] + bias(o + r);
        }
    }
    for o in quads..y.len() {
        y[o] = dot(x, row(o)) + bias(o);
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
        let mut decoder = Decoder::new(self, opts);
        decoder.feed(self, prompt, &|| false)?;
        let mut out = Vec::new();
        loop {
            match decoder.next(self, 0, &|| false)? {
                Step::Token(t) => out.push(t.id),
                Step::Stop(stop) => return Ok(Generation { tokens: out, stop }),
            }
        }
    }
}

/// One sampled token: its id, its log-probability under the model's distribution (softmax of the logits at
/// temperature 1, before top-k / top-p) and, when asked for, the `top_n` most probable tokens with theirs.
#[derive(Clone, Debug, PartialEq)]
pub struct SampledToken {
    pub id: u32,
    pub logprob: f32,
    pub top: Vec<(u32, f32)>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    Token(SampledToken),
    Stop(StopReason),
}

/// A generation in progress, one token at a time: its own KV cache and sampler state over a model it does not own
/// (every call takes the model, so one model serves any number of decoders, from any threads). The tokens it
/// samples are exactly `Model::generate`'s for the same prompt and options.
pub struct Decoder {
    cache: Option<KvCache>,
    rng: Rng,
    opts: GenerateOptions,
    /// Next-token logits of the last fed position (empty before the first feed).
    logits: Vec<f32>,
    /// A sampled token not yet fed back (fed lazily, so the last one costs no forward pass).
    pending: Option<u32>,
    generated: usize,
    done: Option<StopReason>,
}

impl Decoder {
    pub fn new(model: &Model, opts: &GenerateOptions) -> Decoder {
        Decoder {
            cache: Some(model.kv_cache_new()),
            rng: Rng::new(opts.seed),
            opts: opts.clone(),
            logits: Vec::new(),
            pending: None,
            generated: 0,
            done: None,
        }
    }

    /// Positions in the KV cache.
    pub fn len(&self) -> usize {
        self.cache.as_ref().map_or(0, |c| c.len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tokens sampled so far.
    pub fn generated(&self) -> usize {
        self.generated
    }

    /// Feeds prompt tokens at the next positions; `cancelled` is asked before each one. Returns how many were fed
    /// (fewer than `tokens.len()` only when cancelled). Only before the first `next`.
    pub fn feed(&mut self, model: &Model, tokens: &[u32], cancelled: &dyn Fn() -> bool) -> Result<usize> {
        if self.generated > 0 || self.pending.is_some() || self.done.is_some() {
            return err(ErrorKind::InvalidBatch, "feed: the decoder has started generating; feed only the prompt");
        }
        let room = model.config.seq_len - self.len();
        if tokens.len() > room {
            return err(
                ErrorKind::InvalidBatch,
                format!(
                    "feed: {} tokens do not fit: {} of the context's {} positions are free",
                    tokens.len(),
                    room,
                    model.config.seq_len
                ),
            );
        }
        if let Some(&bad) = tokens.iter().find(|&&t| t as usize >= model.config.vocab_size) {
            return err(
                ErrorKind::InvalidBatch,
                format!("feed: token {bad} is outside vocab_size {}", model.config.vocab_size),
            );
        }
        let cache = self.cache.as_mut().expect("decoder cache");
        for (i, &tok) in tokens.iter().enumerate() {
            if cancelled() {
                return Ok(i);
            }
            self.logits = model.decode_step(cache, tok)?;
        }
        Ok(tokens.len())
    }

    /// The next token, or why generation ended (then every later call returns the same reason). `cancelled` is
    /// asked before any forward pass; a cancelled decoder stops with `StopReason::Cancelled`.
    pub fn next(&mut self, model: &Model, top_n: usize, cancelled: &dyn Fn() -> bool) -> Result<Step> {
        if let Some(stop) = self.done {
            return Ok(Step::Stop(stop));
        }
        if self.logits.is_empty() {
            return err(ErrorKind::InvalidBatch, "next: feed at least one prompt token first");
        }
        if self.generated >= self.opts.max_new_tokens {
            return Ok(self.finish(StopReason::MaxNewTokens));
        }
        if cancelled() {
            return Ok(self.finish(StopReason::Cancelled));
        }
        if let Some(tok) = self.pending.take() {
            let cache = self.cache.as_mut().expect("decoder cache");
            if cache.len >= model.config.seq_len {
                return Ok(self.finish(StopReason::ContextFull));
            }
            self.logits = model.decode_step(cache, tok)?;
        }
        let id = sample_next(&self.logits, &self.opts.sample, &mut self.rng);
        if self.opts.stop_tokens.contains(&id) {
            return Ok(self.finish(StopReason::StopToken));
        }
        let (logprob, top) = log_probs(&self.logits, id, top_n);
        self.generated += 1;
        self.pending = Some(id);
        Ok(Step::Token(SampledToken { id, logprob, top }))
    }

    fn finish(&mut self, stop: StopReason) -> Step {
        self.done = Some(stop);
        self.cache = None; // the KV cache is the decoder's memory: release it as soon as it is done
        Step::Stop(stop)
    }
}

/// log softmax(logits)[id] and the `top_n` largest entries (equal logits by ascending id), in f64 through the
/// crate's own exp/ln, so the values are the same on every CPU.
fn log_probs(logits: &[f32], id: u32, top_n: usize) -> (f32, Vec<(u32, f32)>) {
    let maxv = logits.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x)) as f64;
    let sum: f64 = logits.iter().map(|&z| exp_f64(z as f64 - maxv)).sum();
    let norm = maxv + ln_f64(sum);
    let lp = |z: f32| (z as f64 - norm) as f32;
    let mut top: Vec<(u32, f32)> = Vec::new();
    if top_n > 0 {
        let mut order: Vec<u32> = (0..logits.len() as u32).collect();
        order.sort_by(|&a, &b| {
            logits[b as usize].partial_cmp(&logits[a as usize]).unwrap_or(std::cmp::Ordering::Equal).then(a.cmp(&b))
        });
        top = order.into_iter().take(top_n).map(|t| (t, lp(logits[t as usize]))).collect();
    }
    (lp(logits[id as usize]), top)
}

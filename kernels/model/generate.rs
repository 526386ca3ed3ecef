//! Autoregressive generation with a KV cache: one token per step, per-layer keys and
//! values cached for a single sequence (one document, positions 0, 1, 2, …).

use crate::dot::{dot, matvec};
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
#[derive(Clone)]
pub struct KvCache {
    k: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
    pub len: usize,
}

impl Model {
    pub fn kv_cache_new(&self) -> KvCache {
        let n = self.config.seq_len * self.config.d_model;
        KvCache { k: vec![vec![0.0; n]; self.config.n_layer], v: vec![vec![0.0; n]; self.config.n_layer], len: 0 }
    }

    /// Feeds one token at position `cache.len`; returns the next-token logits [V].
    pub fn decode_step(&self, cache: &mut KvCache, token: u32) -> Result<Vec<f32>> {
        self.decode_rows(cache, &[token])
    }

    /// Feeds `tokens` (non-empty) at positions `cache.len`, `cache.len + 1`, …; returns the next-token logits [V]
    /// after the last one. Layer by layer over all the rows (each weight matrix is read once for all of them, from
    /// cache), with exactly `decode_step`'s operations per row: a row's attention reads the keys and values of
    /// positions up to its own, so feeding tokens one call at a time or all in one call gives the same bits. Only
    /// the last row goes through the output head.
    pub fn decode_rows(&self, cache: &mut KvCache, tokens: &[u32]) -> Result<Vec<f32>> {
        let (c, nh, p) = (self.config.d_model, self.config.n_head, &self.params);
        let (l, pos0, n) = (&self.layout, cache.len, tokens.len());
        if let Some(&token) = tokens.iter().find(|&&t| t as usize >= self.config.vocab_size) {
            return err(
                ErrorKind::InvalidBatch,
                format!("token {token} is outside vocab_size {}", self.config.vocab_size),
            );
        }
        if n == 0 {
            return err(ErrorKind::InvalidBatch, "decode: no tokens to feed");
        }
        if pos0 + n > self.config.seq_len {
            return err(
                ErrorKind::InvalidBatch,
                format!(
                    "KV cache is full: {n} tokens at position {pos0} do not fit in seq_len {}",
                    self.config.seq_len
                ),
            );
        }
        let (hs, variant) = (c / nh, self.ctx.variant);
        let t = |off: usize, len: usize| &p[off..off + len];
        let mut x = vec![0f32; n * c];
        for (i, &token) in tokens.iter().enumerate() {
            let (te, pe) = (t(l.wte + token as usize * c, c), t(l.wpe + (pos0 + i) * c, c));
            x[i * c..(i + 1) * c].iter_mut().zip(te.iter().zip(pe)).for_each(|(xj, (a, b))| *xj = a + b);
        }
        let (mut ln, mut m, mut s) = (vec![0f32; n * c], vec![0f32; n], vec![0f32; n]);
        let (mut qkv, mut y, mut tmp) = (vec![0f32; n * 3 * c], vec![0f32; n * c], vec![0f32; n * c]);
        let (mut h, mut hg) = (vec![0f32; n * 4 * c], vec![0f32; n * 4 * c]);
        let mut scores = vec![0f32; pos0 + n];
        let rows = |y: &mut [f32], x: &[f32], w: &[f32], b: &[f32]| {
            let (cin, cout) = (x.len() / n, y.len() / n);
            for (yr, xr) in y.chunks_exact_mut(cout).zip(x.chunks_exact(cin)) {
                matvec(variant, yr, xr, w, Some(b));
            }
        };
        for (li, bo) in l.blocks.iter().enumerate() {
            layernorm_forward(&mut ln, &mut m, &mut s, &x, t(bo.ln1_w, c), t(bo.ln1_b, c), c);
            rows(&mut qkv, &ln, t(bo.qkv_w, 3 * c * c), t(bo.qkv_b, 3 * c));
            for i in 0..n {
                let (row, at) = (&qkv[i * 3 * c..(i + 1) * 3 * c], (pos0 + i) * c);
                cache.k[li][at..at + c].copy_from_slice(&row[c..2 * c]);
                cache.v[li][at..at + c].copy_from_slice(&row[2 * c..]);
            }
            for i in 0..n {
                let pos = pos0 + i;
                let scores = &mut scores[..=pos];
                for hh in 0..nh {
                    let q = &qkv[i * 3 * c + hh * hs..][..hs];
                    let mut maxv = f32::NEG_INFINITY;
                    for (j, e) in scores.iter_mut().enumerate() {
                        *e = dot(q, &cache.k[li][j * c + hh * hs..][..hs]) / (hs as f32).sqrt();
                        maxv = maxv.max(*e);
                    }
                    let mut sum = 0f32;
                    scores.iter_mut().for_each(|e| {
                        *e = exp_f32(*e - maxv);
                        sum += *e;
                    });
                    let yh = &mut y[i * c + hh * hs..][..hs];
                    yh.fill(0.0);
                    for (j, &e) in scores.iter().enumerate() {
                        let (vj, pj) = (&cache.v[li][j * c + hh * hs..][..hs], e / sum);
                        yh.iter_mut().zip(vj).for_each(|(a, b)| *a += pj * b);
                    }
                }
            }
            rows(&mut tmp, &y, t(bo.proj_w, c * c), t(bo.proj_b, c));
            x.iter_mut().zip(&tmp).for_each(|(a, b)| *a += b);
            layernorm_forward(&mut ln, &mut m, &mut s, &x, t(bo.ln2_w, c), t(bo.ln2_b, c), c);
            rows(&mut h, &ln, t(bo.fc_w, 4 * c * c), t(bo.fc_b, 4 * c));
            gelu_forward(&mut hg, &h);
            rows(&mut tmp, &hg, t(bo.fcproj_w, 4 * c * c), t(bo.fcproj_b, c));
            x.iter_mut().zip(&tmp).for_each(|(a, b)| *a += b);
        }
        let last = &x[(n - 1) * c..];
        layernorm_forward(&mut ln[..c], &mut m[..1], &mut s[..1], last, t(l.lnf_w, c), t(l.lnf_b, c), c);
        let mut logits = vec![0f32; self.config.vocab_size];
        matvec(variant, &mut logits, &ln[..c], t(l.wte, self.config.vocab_size * c), None);
        cache.len += n;
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

/// Prompt tokens per `decode_rows` call in `Decoder::feed`: the weights are read once per chunk, and `cancelled` is
/// asked between chunks (a chunk of this model size takes about a millisecond). The bits do not depend on it.
pub(crate) const FEED_CHUNK: usize = 16;

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

    /// Feeds prompt tokens at the next positions, `FEED_CHUNK` at a time; `cancelled` is asked before each chunk.
    /// Returns how many were fed (fewer than `tokens.len()` only when cancelled). Only before the first `next`.
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
        for (i, chunk) in tokens.chunks(FEED_CHUNK).enumerate() {
            if cancelled() {
                return Ok(i * FEED_CHUNK);
            }
            self.logits = model.decode_rows(cache, chunk)?;
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

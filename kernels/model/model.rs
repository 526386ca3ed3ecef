//! `Model`: parameters + optimizer state + training position, and the operations the
//! C ABI exposes (train_step, eval_loss, logits). Checkpoint I/O lives in checkpoint.rs,
//! generation in generate.rs.

use crate::adamw::{adamw_update, grad_clip, lr_at};
use crate::batch::Batch;
use crate::config::{GptConfig, TrainConfig};
use crate::error::{err, ErrorKind, ModelError, Result};
use crate::gpt::{gpt_backward, gpt_forward, Acts};
use crate::loss::{loss_forward_backward, Distill, LossSums};
use crate::params::ParamLayout;
use crate::rng::Rng;
use crate::threads::{Ctx, Variant};

/// Numbers reported after every optimizer step (numbers only: safe for progress callbacks).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StepMetrics {
    /// Optimizer steps completed after this one.
    pub step: u64,
    /// Mean training loss over the micro-batches (distillation mix included).
    pub loss: f32,
    /// Mean cross-entropy part alone (nats/token).
    pub ce: f32,
    /// Mean KL part alone (0 without a teacher).
    pub kl: f32,
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
    pub lr: f32,
    /// Tokens with a target in this step.
    pub tokens: u64,
}

/// Loss of a batch without training.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EvalResult {
    /// Mean cross-entropy (nats/token) over positions with a target.
    pub loss: f64,
    pub loss_sum: f64,
    pub count: u64,
    /// [B,T] cross-entropy per position (0 where the target is IGNORE).
    pub per_token: Vec<f32>,
}

/// Bits per byte from a summed loss in nats and the UTF-8 byte count it covers.
pub fn bits_per_byte(loss_sum_nats: f64, bytes: u64) -> f64 {
    if bytes == 0 {
        return 0.0;
    }
    loss_sum_nats / (std::f64::consts::LN_2 * bytes as f64)
}

pub struct Model {
    pub config: GptConfig,
    pub train_config: TrainConfig,
    pub layout: ParamLayout,
    pub params: Vec<f32>,
    pub grads: Vec<f32>,
    pub adam_m: Vec<f32>,
    pub adam_v: Vec<f32>,
    /// Optimizer steps taken.
    pub step: u64,
    pub rng: Rng,
    /// Data position: rows and tokens consumed by training so far.
    pub rows_seen: u64,
    pub tokens_seen: u64,
    /// Digest of the tokenizer this model was trained with (opaque string, stored in checkpoints).
    pub tokenizer_digest: String,
    /// Caller key/values written verbatim into the checkpoint's `__metadata__` (keys never start
    /// with "nexa."); read back on load. Set through `set_metadata`.
    pub metadata: Vec<(String, String)>,
    pub(crate) ctx: Ctx,
    /// Activation buffers of the last batch shape, reused across calls.
    acts: std::sync::Mutex<Option<Acts>>,
}

impl Model {
    /// A freshly initialised model (single-threaded; kernel variant from `Variant::from_env`,
    /// i.e. `$NEXA_KERNEL_VARIANT` or the widest this CPU has).
    pub fn new(config: GptConfig, seed: u64) -> Result<Model> {
        config.validate()?;
        let variant = Variant::from_env().map_err(|e| ModelError::new(ErrorKind::InvalidConfig, e))?;
        let layout = ParamLayout::new(&config);
        let mut rng = Rng::new(seed);
        let params = layout.init(&config, &mut rng);
        let n = layout.total;
        Ok(Model {
            config,
            train_config: TrainConfig::default(),
            layout,
            params,
            grads: vec![0.0; n],
            adam_m: vec![0.0; n],
            adam_v: vec![0.0; n],
            step: 0,
            rng,
            rows_seen: 0,
            tokens_seen: 0,
            tokenizer_digest: String::new(),
            metadata: Vec::new(),
            ctx: Ctx::new(1, variant),
            acts: std::sync::Mutex::new(None),
        })
    }

    pub fn num_params(&self) -> usize {
        self.layout.total
    }

    pub fn set_train_config(&mut self, cfg: TrainConfig) -> Result<()> {
        cfg.validate()?;
        self.train_config = cfg;
        Ok(())
    }

    /// Sets (or replaces) one caller metadata entry stored in checkpoints. Keys are non-empty, at
    /// most 256 bytes, and must not start with "nexa." (the crate's own namespace) or "__".
    pub fn set_metadata(&mut self, key: &str, value: &str) -> Result<()> {
        if key.is_empty() || key.len() > 256 || key.starts_with("nexa.") || key.starts_with("__") {
            return err(ErrorKind::InvalidConfig, format!("metadata key \"{key}\" is invalid: use 1..=256 bytes, not starting with \"nexa.\" or \"__\" (the tokenizer digest has its own field)"));
        }
        match self.metadata.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.metadata.push((key.to_string(), value.to_string())),
        }
        self.metadata.sort();
        Ok(())
    }

    /// Worker threads for matmul and attention; results are bitwise identical for any value.
    pub fn set_threads(&mut self, threads: usize) {
        self.ctx.threads = threads.max(1);
    }

    pub fn threads(&self) -> usize {
        self.ctx.threads
    }

    /// Selects the kernel variant: only the speed changes, every result is bitwise the same.
    pub fn set_variant(&mut self, variant: Variant) -> Result<()> {
        if !variant.is_supported() {
            return err(
                ErrorKind::InvalidConfig,
                format!("kernel variant {} is not supported by this CPU", variant.name()),
            );
        }
        self.ctx.variant = variant;
        Ok(())
    }

    pub fn variant(&self) -> Variant {
        self.ctx.variant
    }

    fn acts_take(&self, b: usize, t: usize) -> Acts {
        match self.acts.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(a) if a.b == b && a.t == t => a,
            _ => Acts::new(&self.config, b, t),
        }
    }

    /// The forward pass of `batch` in activation buffers of its shape (the cached ones when they fit); the
    /// caller gives them back with `acts_put`.
    pub(crate) fn forward_acts(&self, batch: &Batch) -> Acts {
        let mut acts = self.acts_take(batch.b, batch.t);
        gpt_forward(self.ctx, &self.config, &self.layout, &self.params, batch, &mut acts);
        acts
    }

    /// The loss of the logits in `acts` against `batch`'s targets. With `grad_scale`: the training loss (the
    /// batch's teacher mixed in as the train config says) and its gradient, times `grad_scale`, into
    /// `acts.dlogits`; without: the cross-entropy alone, no gradient.
    fn batch_loss(&self, acts: &mut Acts, batch: &Batch, grad_scale: Option<f32>) -> LossSums {
        let (teacher, distill, dlogits, scale) = match grad_scale {
            Some(scale) => (batch.teacher.as_ref(), self.train_config.distill, Some(&mut acts.dlogits[..]), scale),
            None => (None, Distill::default(), None, 1.0),
        };
        let v = self.config.vocab_size;
        loss_forward_backward(self.ctx, &acts.logits, v, &batch.targets, teacher, distill, dlogits, scale)
    }

    pub(crate) fn acts_put(&self, acts: Acts) {
        *self.acts.lock().unwrap_or_else(|e| e.into_inner()) = Some(acts);
    }

    // ------------------------------------------------------------ training

    /// One optimizer step over `micro_batches` (gradient accumulation: the step's loss is
    /// the mean of the micro-batch losses). Validates every batch before touching state.
    pub fn train_step(&mut self, micro_batches: &[Batch]) -> Result<StepMetrics> {
        if micro_batches.is_empty() {
            return err(ErrorKind::InvalidBatch, "train_step needs at least one micro-batch");
        }
        for b in micro_batches {
            b.validate(&self.config)?;
        }
        let cfg = self.train_config;
        let k = micro_batches.len() as f32;
        self.grads.fill(0.0);
        let mut m = StepMetrics::default();
        for batch in micro_batches {
            let mut acts = self.forward_acts(batch);
            let sums = self.batch_loss(&mut acts, batch, Some(1.0 / k));
            if sums.count > 0 {
                let cnt = sums.count as f64;
                m.loss += (sums.loss_sum / cnt) as f32 / k;
                m.ce += (sums.ce_sum / cnt) as f32 / k;
                m.kl += (sums.kl_sum / cnt) as f32 / k;
                gpt_backward(self.ctx, &self.config, &self.layout, &self.params, &mut self.grads, &mut acts, batch);
            }
            self.acts_put(acts);
            m.tokens += sums.count as u64;
            self.rows_seen += batch.b as u64;
            self.tokens_seen += (batch.b * batch.t) as u64;
        }
        m.grad_norm = grad_clip(&mut self.grads, cfg.grad_clip);
        m.lr = lr_at(&cfg, self.step);
        self.step += 1;
        adamw_update(
            &cfg,
            &self.layout,
            &mut self.params,
            &self.grads,
            &mut self.adam_m,
            &mut self.adam_v,
            m.lr,
            self.step,
        );
        m.step = self.step;
        Ok(m)
    }

    // ------------------------------------------------------------ evaluation

    /// Logits [B,T,V] for a batch (targets are ignored).
    pub fn forward(&self, batch: &Batch) -> Result<Vec<f32>> {
        batch.validate(&self.config)?;
        let acts = self.forward_acts(batch);
        let logits = acts.logits.clone();
        self.acts_put(acts);
        Ok(logits)
    }

    /// Cross-entropy of a batch (no distillation, no state change).
    pub fn eval_loss(&self, batch: &Batch) -> Result<EvalResult> {
        batch.validate(&self.config)?;
        let mut acts = self.forward_acts(batch);
        let s = self.batch_loss(&mut acts, batch, None);
        self.acts_put(acts);
        let loss = if s.count > 0 { s.ce_sum / s.count as f64 } else { 0.0 };
        Ok(EvalResult { loss, loss_sum: s.ce_sum, count: s.count as u64, per_token: s.per_token_ce })
    }

    /// Mean training loss (distillation mix included) and its gradient into `self.grads`,
    /// without an optimizer step. Used by gradient checks.
    pub fn loss_and_grads(&mut self, batch: &Batch) -> Result<f64> {
        batch.validate(&self.config)?;
        self.grads.fill(0.0);
        let mut acts = self.forward_acts(batch);
        let s = self.batch_loss(&mut acts, batch, Some(1.0));
        gpt_backward(self.ctx, &self.config, &self.layout, &self.params, &mut self.grads, &mut acts, batch);
        self.acts_put(acts);
        Ok(s.loss_sum / s.count.max(1) as f64)
    }
}

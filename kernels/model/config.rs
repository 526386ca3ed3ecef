//! Model and training configuration, validation, and the model-FLOPs formula.

use crate::error::{err, ErrorKind, Result};
use crate::loss::Distill;

/// Shape of the GPT decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GptConfig {
    pub vocab_size: usize,
    /// Maximum sequence length (rows of the position table).
    pub seq_len: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub d_model: usize,
}

impl GptConfig {
    pub fn validate(&self) -> Result<()> {
        let c = self;
        if c.vocab_size == 0 || c.seq_len == 0 || c.n_layer == 0 || c.n_head == 0 || c.d_model == 0 {
            return err(ErrorKind::InvalidConfig, format!("every GptConfig field must be > 0, got {c:?}"));
        }
        if c.d_model % c.n_head != 0 {
            return err(
                ErrorKind::InvalidConfig,
                format!("d_model {} must be divisible by n_head {}", c.d_model, c.n_head),
            );
        }
        if c.vocab_size > u32::MAX as usize - 1 {
            return err(ErrorKind::InvalidConfig, "vocab_size must fit in u32 (u32::MAX is the ignore target)");
        }
        Ok(())
    }

    /// Parameters that take part in matmuls: everything but the position table
    /// (the tied token embedding counts once, as the output head).
    pub fn matmul_params(&self) -> usize {
        let c = self.d_model;
        self.vocab_size * c + self.n_layer * (12 * c * c + 13 * c) + 2 * c
    }

    /// Training FLOPs per token at sequence length t: 6·N + 12·L·C·t
    /// (PaLM appendix B convention: attention scores and values, forward + backward, unmasked).
    pub fn train_flops_per_token(&self, t: usize) -> f64 {
        6.0 * self.matmul_params() as f64 + 12.0 * (self.n_layer * self.d_model * t) as f64
    }
}

/// Optimizer and schedule. Learning rate: linear warm-up from 0 to `lr` over
/// `warmup_steps`, then cosine decay to `min_lr` at `total_steps` (constant after).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub lr: f32,
    pub min_lr: f32,
    pub warmup_steps: u64,
    pub total_steps: u64,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: f32,
    /// When false (the usual choice), LayerNorm weights, biases and embeddings get no decay.
    pub decay_all: bool,
    /// Global-norm gradient clipping threshold; 0 disables clipping.
    pub grad_clip: f32,
    pub distill: Distill,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            lr: 3e-4,
            min_lr: 3e-5,
            warmup_steps: 0,
            total_steps: 1000,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_all: false,
            grad_clip: 1.0,
            distill: Distill::default(),
        }
    }
}

impl TrainConfig {
    pub fn validate(&self) -> Result<()> {
        let t = self;
        let ok = t.lr >= 0.0
            && t.min_lr >= 0.0
            && (0.0..1.0).contains(&t.beta1)
            && (0.0..1.0).contains(&t.beta2)
            && t.eps > 0.0
            && t.weight_decay >= 0.0
            && t.grad_clip >= 0.0
            && (0.0..=1.0).contains(&t.distill.weight)
            && t.distill.temperature > 0.0;
        if !ok {
            return err(ErrorKind::InvalidConfig, format!("TrainConfig out of range: {t:?}"));
        }
        Ok(())
    }
}

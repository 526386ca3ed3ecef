//! AdamW with decoupled weight decay, the learning-rate schedule, and global-norm clipping.
//! All loops are serial over the flat buffers: one fixed order, bitwise reproducible.

use crate::config::TrainConfig;
use crate::elementary::{cos_pi, powi_f32};
use crate::params::{ParamLayout, TensorKind};

/// Learning rate at optimizer step `step` (0-based): linear warm-up, then cosine to min_lr.
pub fn lr_at(cfg: &TrainConfig, step: u64) -> f32 {
    if step < cfg.warmup_steps {
        return cfg.lr * (step + 1) as f32 / cfg.warmup_steps as f32;
    }
    if step >= cfg.total_steps || cfg.total_steps <= cfg.warmup_steps {
        return cfg.min_lr;
    }
    let progress = (step - cfg.warmup_steps) as f64 / (cfg.total_steps - cfg.warmup_steps) as f64;
    let cosine = 0.5 * (1.0 + cos_pi(progress));
    (cfg.min_lr as f64 + (cfg.lr - cfg.min_lr) as f64 * cosine) as f32
}

/// √(Σ g²), accumulated in f64 in buffer order.
pub fn grad_norm(grads: &[f32]) -> f32 {
    grads.iter().map(|&g| g as f64 * g as f64).sum::<f64>().sqrt() as f32
}

/// Scales grads so their global norm is at most `max_norm` (0 = off). Returns the pre-clip norm.
pub fn grad_clip(grads: &mut [f32], max_norm: f32) -> f32 {
    let norm = grad_norm(grads);
    if max_norm > 0.0 && norm > max_norm {
        let scale = max_norm / (norm + 1e-6);
        grads.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

/// One AdamW update (step `t` is 1-based for bias correction).
/// θ ← θ − lr·( m̂/(√v̂ + ε) + λ·θ ), with λ = 0 for norms/biases/embeddings unless `decay_all`.
pub fn adamw_update(
    cfg: &TrainConfig,
    layout: &ParamLayout,
    params: &mut [f32],
    grads: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    lr: f32,
    t: u64,
) {
    let bc1 = 1.0 - powi_f32(cfg.beta1, t);
    let bc2 = 1.0 - powi_f32(cfg.beta2, t);
    for spec in &layout.tensors {
        let decay = if cfg.decay_all || spec.kind == TensorKind::Matrix { cfg.weight_decay } else { 0.0 };
        for i in spec.range() {
            let g = grads[i];
            m[i] = cfg.beta1 * m[i] + (1.0 - cfg.beta1) * g;
            v[i] = cfg.beta2 * v[i] + (1.0 - cfg.beta2) * g * g;
            let mhat = m[i] / bc1;
            let vhat = v[i] / bc2;
            params[i] -= lr * (mhat / (vhat.sqrt() + cfg.eps) + decay * params[i]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GptConfig;

    #[test]
    fn schedule_warms_up_then_decays_to_min() {
        let cfg = TrainConfig { lr: 1.0, min_lr: 0.1, warmup_steps: 4, total_steps: 14, ..Default::default() };
        assert_eq!(lr_at(&cfg, 0), 0.25);
        assert_eq!(lr_at(&cfg, 3), 1.0);
        assert!((lr_at(&cfg, 4) - 1.0).abs() < 1e-6);
        assert!((lr_at(&cfg, 9) - 0.55).abs() < 1e-6);
        assert_eq!(lr_at(&cfg, 14), 0.1);
        assert_eq!(lr_at(&cfg, 99), 0.1);
    }

    #[test]
    fn clipping_bounds_the_global_norm() {
        let mut g = vec![3.0, 4.0];
        assert_eq!(grad_clip(&mut g, 1.0), 5.0);
        assert!((grad_norm(&g) - 1.0).abs() < 1e-5);
        let mut g = vec![0.3, 0.4];
        grad_clip(&mut g, 1.0);
        assert_eq!(g, vec![0.3, 0.4]);
    }

    #[test]
    fn adamw_first_step_moves_by_lr_and_decays_only_matrices() {
        let cfg_m = GptConfig { vocab_size: 3, seq_len: 2, n_layer: 1, n_head: 1, d_model: 2 };
        let layout = ParamLayout::new(&cfg_m);
        let cfg = TrainConfig { weight_decay: 0.5, ..Default::default() };
        let mut p = vec![1f32; layout.total];
        let g = vec![0f32; layout.total];
        let (mut m, mut v) = (vec![0f32; layout.total], vec![0f32; layout.total]);
        adamw_update(&cfg, &layout, &mut p, &g, &mut m, &mut v, 0.1, 1);
        for spec in &layout.tensors {
            let want = if spec.kind == TensorKind::Matrix { 0.95 } else { 1.0 };
            assert!(p[spec.range()].iter().all(|&x| (x - want).abs() < 1e-6), "{}", spec.name);
        }
        let g = vec![2f32; layout.total];
        let mut p = vec![0f32; layout.total];
        let (mut m, mut v) = (vec![0f32; layout.total], vec![0f32; layout.total]);
        adamw_update(&cfg, &layout, &mut p, &g, &mut m, &mut v, 0.1, 1);
        assert!(p.iter().all(|&x| (x + 0.1).abs() < 1e-5)); // m̂/√v̂ = 1 on the first step
    }
}

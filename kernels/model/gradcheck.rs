//! Test-only finite-difference gradient checker (central differences, f64 loss).
//!
//! Tolerance, stated once for every layer: with step h = 1e-2·max(1,|x|) on f32
//! inputs, an analytic gradient g passes when |g − fd| ≤ 5e-3 + 2e-2·|fd|.

use crate::rng::Rng;

/// A fixed random projection turning any output tensor into a scalar loss Σ r·y.
pub struct Projection {
    pub r: Vec<f32>,
}

impl Projection {
    pub fn new(n: usize, seed: u64) -> Projection {
        Projection { r: Rng::new(seed).normal_vec(n, 1.0) }
    }
    pub fn loss(&self, y: &[f32]) -> f64 {
        y.iter().zip(&self.r).map(|(a, b)| *a as f64 * *b as f64).sum()
    }
}

/// Checks every coordinate of `analytic` against central differences of `loss` at `x`.
pub fn grad_check(name: &str, x: &[f32], analytic: &[f32], loss: impl Fn(&[f32]) -> f64) {
    grad_check_indices(name, x, analytic, (0..x.len()).collect(), loss)
}

pub fn grad_check_indices(name: &str, x: &[f32], analytic: &[f32], idx: Vec<usize>, loss: impl Fn(&[f32]) -> f64) {
    assert_eq!(x.len(), analytic.len(), "{name}: gradient length");
    let mut xp = x.to_vec();
    for i in idx {
        let h = 1e-2 * x[i].abs().max(1.0);
        xp[i] = x[i] + h;
        let lp = loss(&xp);
        xp[i] = x[i] - h;
        let lm = loss(&xp);
        xp[i] = x[i];
        let h_eff = ((x[i] + h) as f64 - (x[i] - h) as f64) / 2.0;
        let fd = (lp - lm) / (2.0 * h_eff);
        let g = analytic[i] as f64;
        assert!((g - fd).abs() <= 5e-3 + 2e-2 * fd.abs(), "{name}[{i}]: analytic {g} vs finite difference {fd}");
    }
}

//! Softmax cross-entropy and distillation loss on logits, with the logits gradient.
//!
//! Per position i with a target (targets[i] != IGNORE):
//!   ℓ_i = (1 − α)·CE(softmax(z_i), y_i) + α·τ²·KL(p̃_i ‖ softmax(z_i/τ))
//! where p̃_i is the teacher's top-k distribution sharpened by temperature τ
//! (p̃ ∝ p^(1/τ), renormalized over its k entries). The batch loss is the mean of ℓ_i.
//! dℓ/dz = (1 − α)(softmax(z) − onehot(y)) + α·τ·(softmax(z/τ) − p̃)   (p̃ scattered, 0 elsewhere)

/// Target value meaning "no loss at this position" (e.g. the last token of a document).
pub const IGNORE: u32 = u32::MAX;

/// A teacher's top-k next-token probabilities for every position: ids/probs [N,k].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TeacherTopK {
    pub k: usize,
    pub ids: Vec<u32>,
    pub probs: Vec<f32>,
}

/// How to mix distillation into the loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Distill {
    /// α: weight of the KL term (0 = pure cross-entropy).
    pub weight: f32,
    /// τ: softmax temperature for both teacher and student in the KL term.
    pub temperature: f32,
}

impl Default for Distill {
    fn default() -> Distill {
        Distill { weight: 0.0, temperature: 1.0 }
    }
}

/// Sums over the positions with a target. `per_token_ce[i]` is NaN-free and 0 where ignored.
#[derive(Clone, Debug, Default)]
pub struct LossSums {
    pub loss_sum: f64,
    pub ce_sum: f64,
    pub kl_sum: f64,
    pub count: usize,
    pub per_token_ce: Vec<f32>,
}

use crate::elementary::{exp_f32, ln_f32};
use crate::threads::{threads_run, Ctx};

/// out = softmax(z · inv_temp): max-shifted, the crate's exp, an f32 sum in index order, times 1/sum.
pub(crate) fn softmax_into(out: &mut [f32], z: &[f32], inv_temp: f32) {
    let maxv = z.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
    let mut sum = 0f32;
    for (o, &x) in out.iter_mut().zip(z) {
        *o = exp_f32((x - maxv) * inv_temp);
        sum += *o;
    }
    let inv = 1.0 / sum;
    out.iter_mut().for_each(|o| *o *= inv);
}

/// Teacher distribution after temperature: p̃ ∝ p^(1/τ) over the k entries.
fn teacher_sharpen(probs: &[f32], temperature: f32) -> Vec<f32> {
    let logs: Vec<f32> = probs.iter().map(|p| ln_f32(p.max(1e-30)) / temperature).collect();
    let mut out = vec![0f32; probs.len()];
    softmax_into(&mut out, &logs, 1.0);
    out
}

/// Rows per parallel task.
const ROWS: usize = 16;

/// Computes the loss sums over logits [N,V]. When `dlogits` is given it is overwritten with
/// `grad_scale · dℓ/dz / count` (the gradient of the *mean* loss, times `grad_scale`).
/// Rows run in parallel in fixed chunks; the sums are then taken serially in row order.
#[allow(clippy::too_many_arguments)]
pub fn loss_forward_backward(
    ctx: Ctx,
    logits: &[f32],
    v: usize,
    targets: &[u32],
    teacher: Option<&TeacherTopK>,
    distill: Distill,
    dlogits: Option<&mut [f32]>,
    grad_scale: f32,
) -> LossSums {
    let n = targets.len();
    assert_eq!(logits.len(), n * v, "loss: logits shape");
    if let Some(&y) = targets.iter().find(|&&y| y != IGNORE && y as usize >= v) {
        panic!("loss: target {y} out of vocabulary {v}");
    }
    let count = targets.iter().filter(|&&y| y != IGNORE).count();
    let scale = grad_scale / count.max(1) as f32;
    let mut rows = vec![[0f32; 3]; n]; // per row: ce, kl, mixed loss
    let mut d_chunks: Vec<Option<&mut [f32]>> = match dlogits {
        Some(d) => d[..n * v].chunks_mut(ROWS * v).map(Some).collect(),
        None => (0..n.div_ceil(ROWS)).map(|_| None).collect(),
    };
    let tasks: Vec<(usize, (&mut [[f32; 3]], Option<&mut [f32]>))> =
        rows.chunks_mut(ROWS).zip(d_chunks.drain(..)).enumerate().collect();
    threads_run(ctx.threads, tasks, |(chunk, (out, mut d))| {
        let mut probs = vec![0f32; v];
        let mut probs_t = vec![0f32; v];
        for (r, o) in out.iter_mut().enumerate() {
            let i = chunk * ROWS + r;
            let drow = d.as_deref_mut().map(|d| &mut d[r * v..(r + 1) * v]);
            *o = loss_row(
                &logits[i * v..(i + 1) * v],
                targets[i],
                teacher.map(|t| (t, i)),
                distill,
                drow,
                scale,
                &mut probs,
                &mut probs_t,
            );
        }
    });
    let mut sums = LossSums { count, per_token_ce: rows.iter().map(|r| r[0]).collect(), ..Default::default() };
    for r in &rows {
        sums.ce_sum += r[0] as f64;
        sums.kl_sum += r[1] as f64;
        sums.loss_sum += r[2] as f64;
    }
    sums
}

/// One position: returns [ce, kl, mixed loss] and writes `scale · dℓ/dz` into `d`.
#[allow(clippy::too_many_arguments)]
fn loss_row(
    z: &[f32],
    y: u32,
    teacher: Option<(&TeacherTopK, usize)>,
    distill: Distill,
    d: Option<&mut [f32]>,
    scale: f32,
    probs: &mut [f32],
    probs_t: &mut [f32],
) -> [f32; 3] {
    if y == IGNORE {
        if let Some(d) = d {
            d.fill(0.0);
        }
        return [0.0; 3];
    }
    let alpha = if teacher.is_some() { distill.weight } else { 0.0 };
    let tau = distill.temperature;
    softmax_into(probs, z, 1.0);
    let ce = -ln_f32(probs[y as usize].max(1e-30));
    let mut kl = 0f32;
    let mut p_teacher = Vec::new();
    let mut ids: &[u32] = &[];
    if alpha > 0.0 {
        let (t, i) = teacher.unwrap();
        softmax_into(probs_t, z, 1.0 / tau);
        p_teacher = teacher_sharpen(&t.probs[i * t.k..(i + 1) * t.k], tau);
        ids = &t.ids[i * t.k..(i + 1) * t.k];
        for (j, &id) in ids.iter().enumerate() {
            let p = p_teacher[j];
            if p > 0.0 {
                kl += p * (ln_f32(p) - ln_f32(probs_t[id as usize].max(1e-30)));
            }
        }
    }
    if let Some(d) = d {
        for j in 0..d.len() {
            d[j] = (1.0 - alpha) * probs[j];
        }
        d[y as usize] -= 1.0 - alpha;
        if alpha > 0.0 {
            for j in 0..d.len() {
                d[j] += alpha * tau * probs_t[j];
            }
            for (j, &id) in ids.iter().enumerate() {
                d[id as usize] -= alpha * tau * p_teacher[j];
            }
        }
        d.iter_mut().for_each(|x| *x *= scale);
    }
    [ce, kl, (1.0 - alpha) * ce + alpha * tau * tau * kl]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gradcheck::grad_check;
    use crate::rng::Rng;
    use crate::threads::Variant;

    fn ctx() -> Ctx {
        Ctx::new(2, Variant::Portable)
    }

    #[test]
    fn cross_entropy_and_distillation_gradients_match_finite_differences() {
        let (n, v) = (4, 7);
        let logits = Rng::new(31).normal_vec(n * v, 2.0);
        let targets = [3, IGNORE, 0, 6];
        let teacher = TeacherTopK {
            k: 3,
            ids: vec![3, 1, 0, 2, 2, 2, 0, 5, 6, 6, 1, 2],
            probs: vec![0.6, 0.3, 0.1, 0.5, 0.3, 0.2, 0.7, 0.2, 0.05, 0.9, 0.05, 0.05],
        };
        for distill in
            [Distill::default(), Distill { weight: 0.5, temperature: 2.0 }, Distill { weight: 1.0, temperature: 0.7 }]
        {
            let mut d = vec![0f32; n * v];
            loss_forward_backward(ctx(), &logits, v, &targets, Some(&teacher), distill, Some(&mut d), 1.0);
            let mean = |z: &[f32]| {
                let s = loss_forward_backward(ctx(), z, v, &targets, Some(&teacher), distill, None, 1.0);
                s.loss_sum / s.count as f64
            };
            grad_check("loss.logits", &logits, &d, mean);
            assert!(d[v..2 * v].iter().all(|&x| x == 0.0), "ignored position has no gradient");
        }
    }

    #[test]
    fn kl_is_zero_when_student_matches_teacher() {
        // student logits = ln p on the teacher's support, -inf-ish elsewhere
        let v = 4;
        let logits = vec![(0.5f32).ln(), (0.25f32).ln(), (0.25f32).ln(), -80.0];
        let teacher = TeacherTopK { k: 3, ids: vec![0, 1, 2], probs: vec![0.5, 0.25, 0.25] };
        let s = loss_forward_backward(
            ctx(),
            &logits,
            v,
            &[0],
            Some(&teacher),
            Distill { weight: 1.0, temperature: 1.0 },
            None,
            1.0,
        );
        assert!(s.kl_sum.abs() < 1e-5, "kl {}", s.kl_sum);
        assert!((s.ce_sum - 2f64.ln()).abs() < 1e-5);
    }
}

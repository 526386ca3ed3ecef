//! A teacher's top-k next-token distribution per position: the distillation input of `train_step`.
//!
//! For every position i of a batch (document masking as in `forward`), with logits z_i [V]:
//!   p_i = softmax(z_i / T)            (the loss's own softmax: max-shifted, `elementary::exp_f32`,
//!                                      f32 sum in id order, times the rounded reciprocal of the sum)
//!   ids_i = the k ids with the largest p_i, by descending p_i, equal p_i by ascending id
//!   probs_i = p_i at those ids         (full-vocabulary probabilities: NOT renormalised over the k)
//!
//! What `train_step` consumes: `loss.rs` sharpens the given probs itself, p̃ ∝ p^(1/τ) renormalised
//! over the k entries (τ = `TrainConfig.distill.temperature`), and softens the student by the same τ.
//! So the teacher input of a distillation at temperature τ is `teacher_topk(batch, 1.0, k)`; a T ≠ 1
//! here compounds with τ (the teacher then enters the KL at T·τ, the student at τ). Renormalising over
//! the k would not change p̃ (it is scale-free) beyond rounding, so the probs keep their full-softmax
//! meaning: their sum is the teacher's mass on its top k. The loss treats probs below 1e-30 as 1e-30.
//!
//! Determinism: the logits are bitwise fixed (any thread count, any variant); rows are cut into
//! fixed chunks, each written by one task with scalar code shared by every variant, and the
//! ordering is a total order (probability, then id), so the selection cannot depend on the schedule.

use std::cmp::Ordering;

use crate::batch::Batch;
use crate::error::{err, ErrorKind, Result};
use crate::loss::{softmax_into, TeacherTopK};
use crate::model::Model;
use crate::threads::{threads_run, Ctx};

/// Positions per parallel task (a shape constant: never depends on the thread count).
const ROWS: usize = 16;

/// Descending probability, then ascending id: a strict total order on distinct ids with finite probs.
fn by_prob_then_id(p: &[f32]) -> impl Fn(&u32, &u32) -> Ordering + '_ {
    move |&a, &b| p[b as usize].total_cmp(&p[a as usize]).then(a.cmp(&b))
}

/// One position: the k most probable ids of softmax(z·inv_temp) and their probabilities.
fn topk_row(z: &[f32], inv_temp: f32, ids: &mut [u32], probs: &mut [f32], p: &mut [f32], order: &mut Vec<u32>) {
    let k = ids.len();
    softmax_into(p, z, inv_temp);
    order.clear();
    order.extend(0..z.len() as u32);
    let cmp = by_prob_then_id(p);
    if k < order.len() {
        order.select_nth_unstable_by(k - 1, &cmp);
    }
    order[..k].sort_unstable_by(&cmp);
    for (j, &id) in order[..k].iter().enumerate() {
        ids[j] = id;
        probs[j] = p[id as usize];
    }
}

/// Top-k of softmax(logits / temperature) for every row of logits [N,V] (checked by the caller:
/// finite logits, finite temperature with a finite reciprocal, 1 ≤ k ≤ V).
pub(crate) fn topk_of_logits(ctx: Ctx, logits: &[f32], v: usize, temperature: f32, k: usize) -> TeacherTopK {
    let n = logits.len() / v;
    let inv_temp = 1.0 / temperature;
    let mut ids = vec![0u32; n * k];
    let mut probs = vec![0f32; n * k];
    let tasks: Vec<(usize, (&mut [u32], &mut [f32]))> =
        ids.chunks_mut(ROWS * k).zip(probs.chunks_mut(ROWS * k)).enumerate().collect();
    threads_run(ctx.threads, tasks, |(chunk, (ids, probs))| {
        let mut p = vec![0f32; v];
        let mut order = Vec::with_capacity(v);
        for (r, (ids, probs)) in ids.chunks_mut(k).zip(probs.chunks_mut(k)).enumerate() {
            let i = chunk * ROWS + r;
            topk_row(&logits[i * v..(i + 1) * v], inv_temp, ids, probs, &mut p, &mut order);
        }
    });
    TeacherTopK { k, ids, probs }
}

/// Checks a teacher temperature: finite, > 0, with a finite reciprocal (the softmax scales by 1/T).
fn check_temperature(temperature: f32) -> Result<()> {
    if !(temperature.is_finite() && temperature > 0.0 && (1.0 / temperature).is_finite()) {
        return err(
            ErrorKind::InvalidConfig,
            format!(
                "teacher temperature {temperature} is invalid: it must be a finite f32 > 0 whose reciprocal is finite \
             (>= {:e}); use 1 for the input of train_step (its distill temperature softens both sides)",
                f32::MIN_POSITIVE
            ),
        );
    }
    Ok(())
}

impl Model {
    /// The model as a teacher: for every position of `batch` (validated as in `forward`; its
    /// targets and teacher are not used) the `k` (1..=vocab_size) most probable next tokens
    /// under softmax(logits / temperature), ids/probs [B·T·k] in the layout `Batch::teacher`
    /// takes (see the module comment for the ordering and what the probs mean).
    pub fn teacher_topk(&self, batch: &Batch, temperature: f32, k: usize) -> Result<TeacherTopK> {
        let v = self.config.vocab_size;
        if k == 0 || k > v {
            return err(ErrorKind::InvalidConfig, format!("teacher k = {k} must be in 1..=vocab_size ({v})"));
        }
        check_temperature(temperature)?;
        batch.validate(&self.config)?;
        let acts = self.forward_acts(batch);
        let bad = acts.logits.iter().position(|z| !z.is_finite());
        let out =
            match bad {
                None => Ok(topk_of_logits(self.ctx, &acts.logits, v, temperature, k)),
                Some(at) => err(
                    ErrorKind::InvalidConfig,
                    format!(
                "teacher logit of token {} at position {} (row {}, column {}) is {}, not finite: the teacher's \
                 parameters have diverged; use an earlier checkpoint", at % v, at / v, at / v / batch.t,
                at / v % batch.t, acts.logits[at]),
                ),
            };
        self.acts_put(acts);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementary::exp_f32;
    use crate::loss::IGNORE;
    use crate::threads::Variant;

    fn ctx(threads: usize) -> Ctx {
        Ctx::new(threads, Variant::Portable)
    }

    /// The definition, written out plainly: full softmax, then a full sort by (prob desc, id asc).
    fn reference(z: &[f32], temperature: f32, k: usize) -> (Vec<u32>, Vec<f32>) {
        let inv = 1.0 / temperature;
        let maxv = z.iter().fold(f32::NEG_INFINITY, |m, &x| m.max(x));
        let e: Vec<f32> = z.iter().map(|&x| exp_f32((x - maxv) * inv)).collect();
        let mut sum = 0f32;
        e.iter().for_each(|x| sum += x);
        let p: Vec<f32> = e.iter().map(|x| x * (1.0 / sum)).collect();
        let mut order: Vec<u32> = (0..z.len() as u32).collect();
        order.sort_by(|&a, &b| p[b as usize].partial_cmp(&p[a as usize]).unwrap().then(a.cmp(&b)));
        order.truncate(k);
        let probs = order.iter().map(|&i| p[i as usize]).collect();
        (order, probs)
    }

    #[test]
    fn rows_match_the_reference_definition_bit_for_bit() {
        let (n, v) = (37, 29); // not a multiple of the task size
        let logits = crate::rng::Rng::new(5).normal_vec(n * v, 3.0);
        for (temperature, k) in [(1.0, 1), (1.0, 5), (2.0, 7), (0.5, 29), (1e-3, 3), (300.0, 4)] {
            let got = topk_of_logits(ctx(1), &logits, v, temperature, k);
            assert_eq!((got.k, got.ids.len(), got.probs.len()), (k, n * k, n * k));
            for i in 0..n {
                let (ids, probs) = reference(&logits[i * v..(i + 1) * v], temperature, k);
                assert_eq!(got.ids[i * k..(i + 1) * k], ids[..], "T={temperature} k={k} row {i}");
                let bits = |x: &[f32]| x.iter().map(|p| p.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got.probs[i * k..(i + 1) * k]), bits(&probs), "T={temperature} k={k} row {i}");
                assert!(probs.windows(2).all(|w| w[0] >= w[1]));
            }
            // k = V holds the whole distribution: it sums to 1
            if k == v {
                let s: f32 = got.probs[..v].iter().sum();
                assert!((s - 1.0).abs() < 1e-5, "{s}");
            }
        }
    }

    #[test]
    fn equal_probabilities_are_ordered_by_ascending_id_and_temperature_sharpens() {
        let z = [0.5f32, 2.0, -1.0, 2.0, 0.5, 2.0, -3.0];
        let t = topk_of_logits(ctx(1), &z, 7, 1.0, 6);
        assert_eq!(t.ids, vec![1, 3, 5, 0, 4, 2]);
        assert_eq!(t.probs[0], t.probs[1]);
        assert_eq!(t.probs[1], t.probs[2]);
        assert_eq!(t.probs[3], t.probs[4]);
        assert!(t.probs[2] > t.probs[3] && t.probs[4] > t.probs[5]);
        // a huge temperature rounds every probability to the same value: pure id order
        let flat = topk_of_logits(ctx(1), &[0.0, 1e-6, 2e-6, 3e-6], 4, 1e30, 4);
        assert_eq!(flat.ids, vec![0, 1, 2, 3]);
        // a lower temperature puts more mass on the leader; a tiny one all of it
        let soft = topk_of_logits(ctx(1), &z, 7, 4.0, 1).probs[0];
        let sharp = topk_of_logits(ctx(1), &z, 7, 0.25, 1).probs[0];
        assert!(sharp > t.probs[0] && t.probs[0] > soft);
        let one = topk_of_logits(ctx(1), &[0.0, 1.0, 0.5], 3, 1e-6, 3);
        assert_eq!(one.ids[0], 1);
        assert!(one.probs[0] == 1.0 && one.probs[1] < 1e-30, "{:?}", one.probs);
    }

    #[test]
    fn thread_counts_give_the_same_bits() {
        let (n, v) = (53, 64);
        let logits = crate::rng::Rng::new(9).normal_vec(n * v, 2.0);
        let one = topk_of_logits(ctx(1), &logits, v, 1.5, 9);
        for threads in [2, 3, 4, 7] {
            assert_eq!(topk_of_logits(ctx(threads), &logits, v, 1.5, 9), one, "{threads} threads");
        }
    }

    use crate::loss::{loss_forward_backward, Distill};
    use crate::model_test::{tiny_batch, tiny_config};

    #[test]
    fn model_teacher_topk_is_the_top_k_of_its_forward_logits() {
        let model = Model::new(tiny_config(), 4).unwrap();
        let batch = tiny_batch(3);
        let logits = model.forward(&batch).unwrap();
        let v = tiny_config().vocab_size;
        for (temperature, k) in [(1.0, 4), (2.0, 13)] {
            let t = model.teacher_topk(&batch, temperature, k).unwrap();
            for i in 0..batch.b * batch.t {
                let (ids, probs) = reference(&logits[i * v..(i + 1) * v], temperature, k);
                assert_eq!(
                    (&t.ids[i * k..(i + 1) * k], &t.probs[i * k..(i + 1) * k]),
                    (&ids[..], &probs[..]),
                    "position {i}"
                );
            }
        }
        // document masking as in forward: changing document 0 of row 0 leaves document 1 and row 1 alone
        let k = 5;
        let base = model.teacher_topk(&batch, 1.0, k).unwrap();
        let mut changed = batch.clone();
        (0..3).for_each(|i| changed.tokens[i] = (changed.tokens[i] + 5) % 13);
        let after = model.teacher_topk(&changed, 1.0, k).unwrap();
        assert_eq!(base.probs[3 * k..], after.probs[3 * k..]);
        assert_eq!(base.ids[3 * k..], after.ids[3 * k..]);
        assert_ne!(base.probs[..3 * k], after.probs[..3 * k]);
        // targets and a teacher already on the batch are not used
        let mut other = batch.clone();
        other.targets = vec![IGNORE; 16];
        other.teacher = Some(base.clone());
        assert_eq!(model.teacher_topk(&other, 1.0, k).unwrap(), base);
    }

    #[test]
    fn its_output_at_temperature_1_is_what_train_step_distils_from() {
        // A student identical to the teacher, distilled at τ from the full distribution (k = V) of
        // teacher_topk(T = 1), has KL ≈ 0: the loss applies τ to both sides itself. Produced at
        // T = τ instead, the teacher would enter the KL at τ² and the KL would not vanish.
        let mut model = Model::new(tiny_config(), 6).unwrap();
        let mut rng = crate::rng::Rng::new(2);
        model.params.iter_mut().for_each(|p| *p += (rng.normal() * 0.5) as f32); // a peaked teacher
        let batch = tiny_batch(8);
        let v = tiny_config().vocab_size;
        let logits = model.forward(&batch).unwrap();
        let tau = 2.0;
        let kl = |teacher: &TeacherTopK| {
            let s = loss_forward_backward(
                ctx(1),
                &logits,
                v,
                &batch.targets,
                Some(teacher),
                Distill { weight: 1.0, temperature: tau },
                None,
                1.0,
            );
            s.kl_sum / s.count as f64
        };
        let at_one = model.teacher_topk(&batch, 1.0, v).unwrap();
        let at_tau = model.teacher_topk(&batch, tau, v).unwrap();
        assert!(kl(&at_one).abs() < 1e-6, "kl {}", kl(&at_one));
        assert!(kl(&at_tau) > 1e-3, "kl {}", kl(&at_tau));
        // and train_step takes it as the batch's teacher
        model.train_config.distill = Distill { weight: 0.5, temperature: tau };
        let mut with = batch.clone();
        with.teacher = Some(model.teacher_topk(&batch, 1.0, 4).unwrap());
        let m = model.train_step(&[with]).unwrap();
        assert!(m.kl > 0.0 && m.loss.is_finite(), "{m:?}");
    }

    #[test]
    fn model_teacher_topk_is_bitwise_identical_for_every_variant_and_thread_count() {
        let batch = tiny_batch(11);
        let run = |variant, threads| {
            let mut model = Model::new(tiny_config(), 12).unwrap();
            model.set_variant(variant).unwrap();
            model.set_threads(threads);
            let t = model.teacher_topk(&batch, 0.7, 6).unwrap();
            (t.ids, t.probs.iter().map(|p| p.to_bits()).collect::<Vec<_>>())
        };
        let reference = run(Variant::Portable, 1);
        for v in Variant::supported() {
            for threads in [1, 2, 4] {
                assert_eq!(run(v, threads), reference, "{} with {threads} thread(s)", v.name());
            }
        }
    }

    #[test]
    fn bad_arguments_and_a_diverged_teacher_are_errors_naming_the_fix() {
        let mut model = Model::new(tiny_config(), 1).unwrap();
        let batch = tiny_batch(1);
        for (k, temperature, want) in [
            (0, 1.0, "teacher k = 0 must be in 1..=vocab_size (13)"),
            (14, 1.0, "teacher k = 14"),
            (3, 0.0, "teacher temperature 0 is invalid"),
            (3, f32::NAN, "teacher temperature NaN is invalid"),
        ] {
            let e = model.teacher_topk(&batch, temperature, k).unwrap_err();
            assert!(e.kind == ErrorKind::InvalidConfig && e.message.contains(want), "{e}");
        }
        let mut bad = batch.clone();
        bad.tokens[4] = 13;
        let e = model.teacher_topk(&bad, 1.0, 3).unwrap_err();
        assert!(e.kind == ErrorKind::InvalidBatch && e.message.contains("token 13 at index 4"), "{e}");
        let wpe = model.layout.tensors.iter().find(|t| t.name == "wpe.weight").unwrap().range();
        model.params[wpe.start] = f32::NAN; // position 0 of every document
        let e = model.teacher_topk(&batch, 1.0, 3).unwrap_err();
        assert!(e.message.contains("at position 0 (row 0, column 0)") && e.message.contains("diverged"), "{e}");
    }

    #[test]
    fn temperatures_without_a_finite_reciprocal_are_refused() {
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e-39] {
            let e = check_temperature(bad).unwrap_err();
            assert!(e.kind == ErrorKind::InvalidConfig && e.message.contains("teacher temperature"), "{bad}: {e}");
        }
        for good in [f32::MIN_POSITIVE, 1e-3, 1.0, 2.0, f32::MAX] {
            assert!(check_temperature(good).is_ok(), "{good}");
        }
    }
}

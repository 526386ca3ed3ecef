//! Whole-model tests: gradient check, overfitting, determinism across threads and runs,
//! document masking. Tiny configs only (each test well under a second).

use crate::batch::Batch;
use crate::config::{GptConfig, TrainConfig};
use crate::gradcheck::grad_check_indices;
use crate::loss::{Distill, TeacherTopK, IGNORE};
use crate::model::Model;
use crate::rng::Rng;
use crate::threads::Variant;

pub fn tiny_config() -> GptConfig {
    GptConfig { vocab_size: 13, seq_len: 8, n_layer: 2, n_head: 2, d_model: 8 }
}

/// A deterministic packed batch: row 0 holds two documents, row 1 one.
pub fn tiny_batch(seed: u64) -> Batch {
    let (b, t) = (2, 8);
    let mut rng = Rng::new(seed);
    let mut tokens: Vec<u32> = (0..b * t).map(|_| (rng.next_u64() % 13) as u32).collect();
    // distinct first tokens per document: no two positions share a context (learnable to ~0 loss)
    tokens[3] = (tokens[0] + 1) % 13;
    tokens[8] = (tokens[0] + 2) % 13;
    let doc_ids = vec![0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0];
    let mut targets: Vec<u32> = (0..b * t).map(|i| if i + 1 < b * t { tokens[i + 1] } else { IGNORE }).collect();
    targets[2] = IGNORE; // last token of doc 0 predicts nothing across the boundary
    targets[7] = IGNORE;
    Batch { b, t, tokens, targets, doc_ids, teacher: None }
}

fn with_teacher(mut batch: Batch) -> Batch {
    let n = batch.b * batch.t;
    let mut rng = Rng::new(99);
    let k = 3;
    let ids = (0..n * k).map(|_| (rng.next_u64() % 13) as u32).collect();
    let probs = (0..n * k).map(|_| rng.uniform() as f32 + 0.05).collect();
    batch.teacher = Some(TeacherTopK { k, ids, probs });
    batch
}

#[test]
fn full_model_gradients_match_finite_differences() {
    for (batch, distill) in
        [(tiny_batch(1), Distill::default()), (with_teacher(tiny_batch(2)), Distill { weight: 0.5, temperature: 2.0 })]
    {
        let mut model = Model::new(tiny_config(), 7).unwrap();
        model.set_variant(Variant::Portable).unwrap();
        // larger weights than the 0.02 init so every path carries signal
        let mut rng = Rng::new(3);
        model.params.iter_mut().for_each(|p| *p += (rng.normal() * 0.3) as f32);
        model.train_config.distill = distill;
        model.loss_and_grads(&batch).unwrap();
        let grads = model.grads.clone();
        let params = model.params.clone();
        // every tensor: its first, middle and last coordinate
        let mut idx: Vec<usize> = Vec::new();
        for t in &model.layout.tensors {
            let r = t.range();
            idx.extend([r.start, (r.start + r.end) / 2, r.end - 1]);
        }
        let mut probe = Model::new(tiny_config(), 7).unwrap();
        probe.set_variant(Variant::Portable).unwrap();
        probe.train_config.distill = distill;
        let probe = std::cell::RefCell::new(probe);
        grad_check_indices("gpt", &params, &grads, idx, |x| {
            let mut m = probe.borrow_mut();
            m.params.copy_from_slice(x);
            m.loss_and_grads(&batch).unwrap()
        });
    }
}

#[test]
fn tiny_model_overfits_a_fixed_batch() {
    let mut model = Model::new(tiny_config(), 1).unwrap();
    model
        .set_train_config(TrainConfig {
            lr: 3e-2,
            min_lr: 3e-2,
            warmup_steps: 5,
            weight_decay: 0.0,
            grad_clip: 0.0,
            ..Default::default()
        })
        .unwrap();
    let batch = tiny_batch(4);
    let first = model.train_step(std::slice::from_ref(&batch)).unwrap().loss;
    let mut last = first;
    for _ in 0..400 {
        last = model.train_step(std::slice::from_ref(&batch)).unwrap().loss;
    }
    assert!(first > 2.0 && last < 0.05, "loss {first} -> {last}");
}

fn train_bits(threads: usize, variant: Variant, steps: usize) -> Vec<u32> {
    let mut model = Model::new(tiny_config(), 5).unwrap();
    model.set_threads(threads);
    model.set_variant(variant).unwrap();
    model.train_config.distill = Distill { weight: 0.3, temperature: 1.5 };
    for s in 0..steps as u64 {
        model.train_step(&[tiny_batch(10 + s), with_teacher(tiny_batch(20 + s))]).unwrap();
    }
    model.params.iter().chain(&model.adam_m).chain(&model.adam_v).map(|x| x.to_bits()).collect()
}

#[test]
fn training_is_bitwise_identical_across_runs_thread_counts_and_variants() {
    let reference = train_bits(1, Variant::Portable, 3);
    for v in Variant::supported() {
        let one = train_bits(1, v, 3);
        assert_eq!(one, reference, "{v:?} differs from portable");
        assert_eq!(one, train_bits(1, v, 3), "two runs differ ({v:?})");
        assert_eq!(one, train_bits(2, v, 3), "1 vs 2 threads differ ({v:?})");
        assert_eq!(one, train_bits(4, v, 3), "1 vs 4 threads differ ({v:?})");
    }
}

#[test]
fn changing_document_a_never_changes_logits_of_document_b() {
    let model = Model::new(tiny_config(), 8).unwrap();
    let batch = tiny_batch(6);
    let base = model.forward(&batch).unwrap();
    let mut changed = batch.clone();
    for i in 0..3 {
        changed.tokens[i] = (changed.tokens[i] + 5) % 13; // doc 0 of row 0 = tokens 0..3
    }
    let after = model.forward(&changed).unwrap();
    let v = 13;
    assert_eq!(base[3 * v..8 * v], after[3 * v..8 * v], "doc 1 of row 0 must not see doc 0");
    assert_eq!(base[8 * v..], after[8 * v..], "row 1 is independent");
    assert_ne!(base[..3 * v], after[..3 * v]);
    // positions restart: doc 1 alone in its own row gives the same logits
    let alone = Batch::single_doc(1, 5, batch.tokens[3..8].to_vec(), vec![IGNORE; 5]);
    let solo = model.forward(&alone).unwrap();
    for (x, y) in solo.iter().zip(&base[3 * v..8 * v]) {
        assert!((x - y).abs() < 1e-5, "{x} vs {y}");
    }
}

#[test]
fn invalid_batches_are_rejected_without_state_change() {
    let mut model = Model::new(tiny_config(), 1).unwrap();
    let mut bad = tiny_batch(1);
    bad.tokens[0] = 13;
    let e = model.train_step(&[bad]).unwrap_err();
    assert!(e.message.contains("outside vocab_size"), "{e}");
    assert_eq!(model.step, 0);
}

/// Runs inside a child process that `nexa_kernel_variant_env_selects_the_variant` starts with
/// NEXA_KERNEL_VARIANT set (the environment is process-wide, so it is never changed in-process).
#[test]
#[ignore = "run by nexa_kernel_variant_env_selects_the_variant in a child process"]
fn variant_env_probe() {
    let want = std::env::var("NEXA_PROBE_EXPECT").unwrap();
    match Model::new(tiny_config(), 1) {
        Ok(m) => assert_eq!(m.variant().name(), want),
        Err(e) => assert!(e.message.contains(&want), "{}", e.message),
    }
}

#[test]
fn nexa_kernel_variant_env_selects_the_variant() {
    let exe = std::env::current_exe().unwrap();
    for (value, expect) in [
        ("portable", "portable"),
        ("auto", Variant::detect().name()),
        ("avx9", "NEXA_KERNEL_VARIANT: \"avx9\" is not a kernel variant"),
    ] {
        let out = std::process::Command::new(&exe)
            .args(["--ignored", "--exact", "model_test::variant_env_probe"])
            .env("NEXA_KERNEL_VARIANT", value)
            .env("NEXA_PROBE_EXPECT", expect)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "NEXA_KERNEL_VARIANT={value}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

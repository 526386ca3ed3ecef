//! Cross-CPU determinism: a golden-sized model (the golden student: vocab 1024, seq_len 128,
//! 2 layers, 4 heads, d_model 64) trained on packed rows with document masking, padding and
//! a distillation micro-batch, under every kernel variant this CPU supports (forced) × 1, 2
//! and 3 threads, resumed half-way from its checkpoint under another variant. Checkpoint
//! bytes, step metrics, forward logits, eval metrics, teacher top-k and generated tokens must
//! be bitwise identical everywhere: on an AVX2 machine this compares portable and avx2_fma, on an
//! AVX-512 machine all three (the portable variant stands in for every CPU without them).

use crate::batch::{Batch, PAD_DOC_ID};
use crate::config::{GptConfig, TrainConfig};
use crate::generate::GenerateOptions;
use crate::loss::{Distill, TeacherTopK};
use crate::model::Model;
use crate::rng::Rng;
use crate::sample::SampleOptions;
use crate::threads::Variant;

const STEPS: u64 = 36;
const RESUME_AT: u64 = 18;

fn golden_student() -> GptConfig {
    GptConfig { vocab_size: 1024, seq_len: 128, n_layer: 2, n_head: 4, d_model: 64 }
}

/// 4 rows of 128 tokens packed with documents of 3..=60 tokens; every third row ends in padding.
fn packed_batch(seed: u64, teacher_k: usize) -> Batch {
    let (b, t, v) = (4, 128, 1024u64);
    let mut rng = Rng::new(seed);
    let (mut tokens, mut doc_ids) = (Vec::new(), Vec::new());
    for row in 0..b {
        let limit = if row % 3 == 2 { t - 1 - (rng.next_u64() % 40) as usize } else { t };
        let mut doc = 0u32;
        while tokens.len() < row * t + limit {
            let len = (3 + rng.next_u64() % 58) as usize;
            for _ in 0..len.min(row * t + limit - tokens.len()) {
                // a skewed distribution, so training has something to learn
                tokens.push(((rng.next_u64() % v) * (rng.next_u64() % v) / v) as u32);
                doc_ids.push(doc);
            }
            doc += 1;
        }
        while tokens.len() < (row + 1) * t {
            tokens.push(0);
            doc_ids.push(PAD_DOC_ID);
        }
    }
    let targets = Batch::next_token_targets(t, &tokens, &doc_ids);
    let teacher = (teacher_k > 0).then(|| {
        let n = b * t * teacher_k;
        TeacherTopK {
            k: teacher_k,
            ids: (0..n).map(|_| (rng.next_u64() % v) as u32).collect(),
            probs: (0..n).map(|_| rng.uniform() as f32 + 0.01).collect(),
        }
    });
    Batch { b, t, tokens, targets, doc_ids, teacher }
}

fn train_config() -> TrainConfig {
    TrainConfig {
        lr: 6e-3,
        min_lr: 6e-4,
        warmup_steps: 5,
        total_steps: STEPS,
        weight_decay: 0.1,
        grad_clip: 1.0,
        beta2: 0.95,
        distill: Distill { weight: 0.5, temperature: 2.0 },
        ..Default::default()
    }
}

/// Everything observable of one run, as bits.
#[derive(PartialEq, Eq)]
struct Outcome {
    checkpoint: Vec<u8>,
    steps: Vec<[u64; 5]>,
    logits: Vec<u32>,
    eval: Vec<u64>,
    /// teacher_topk of the validation batch (T = 1, k = 8 and T = 0.5, k = V): ids, then prob bits.
    teacher: Vec<u32>,
    generated: Vec<Vec<u32>>,
}

/// Trains STEPS steps with `variants[0]` (switching to `variants[1]` after a checkpoint round
/// trip at RESUME_AT when given), then evaluates, computes logits and teacher top-k, and generates.
fn run(variants: &[Variant], threads: usize) -> Outcome {
    let mut model = Model::new(golden_student(), 11).unwrap();
    model.set_variant(variants[0]).unwrap();
    model.set_threads(threads);
    model.set_train_config(train_config()).unwrap();
    model.tokenizer_digest = "sha256:00ff".into();
    let mut steps = Vec::new();
    for s in 0..STEPS {
        if s == RESUME_AT && variants.len() > 1 {
            model = Model::from_safetensors(model.to_safetensors()).unwrap();
            model.set_variant(variants[1]).unwrap();
            model.set_threads(threads);
        }
        // every other step: gradient accumulation over a plain and a distillation micro-batch
        let batches = if s % 2 == 0 {
            vec![packed_batch(100 + s, 0)]
        } else {
            vec![packed_batch(100 + s, 0), packed_batch(500 + s, 4)]
        };
        let m = model.train_step(&batches).unwrap();
        steps.push([
            m.loss.to_bits() as u64,
            m.ce.to_bits() as u64,
            m.kl.to_bits() as u64,
            m.grad_norm.to_bits() as u64,
            m.lr.to_bits() as u64,
        ]);
    }
    let val = packed_batch(9_000, 0);
    let logits = model.forward(&val).unwrap().iter().map(|x| x.to_bits()).collect();
    let e = model.eval_loss(&val).unwrap();
    let mut eval = vec![e.loss.to_bits(), e.loss_sum.to_bits(), e.count];
    eval.extend(e.per_token.iter().map(|x| x.to_bits() as u64));
    let mut teacher = Vec::new();
    for (temperature, k) in [(1.0, 8), (0.5, golden_student().vocab_size)] {
        let t = model.teacher_topk(&val, temperature, k).unwrap();
        teacher.extend(t.ids);
        teacher.extend(t.probs.iter().map(|p| p.to_bits()));
    }
    let prompt = &val.tokens[..20];
    let generated = [
        SampleOptions { temperature: 0.0, ..Default::default() },
        SampleOptions { temperature: 0.8, top_k: 40, top_p: 0.9 },
        SampleOptions { temperature: 1.3, top_k: 0, top_p: 1.0 },
    ]
    .into_iter()
    .map(|sample| {
        model
            .generate(prompt, &GenerateOptions { max_new_tokens: 40, sample, seed: 77, stop_tokens: vec![] })
            .unwrap()
            .tokens
    })
    .collect();
    Outcome { checkpoint: model.to_safetensors(), steps, logits, eval, teacher, generated }
}

fn first_difference(a: &Outcome, b: &Outcome) -> String {
    if a.checkpoint != b.checkpoint {
        let at = a
            .checkpoint
            .iter()
            .zip(&b.checkpoint)
            .position(|(x, y)| x != y)
            .unwrap_or(a.checkpoint.len().min(b.checkpoint.len()));
        return format!("checkpoint bytes differ from offset {at}");
    }
    for (name, x, y) in [
        ("step metrics", format!("{:?}", a.steps), format!("{:?}", b.steps)),
        ("eval", format!("{:?}", a.eval), format!("{:?}", b.eval)),
        ("teacher top-k", format!("{:?}", a.teacher), format!("{:?}", b.teacher)),
        ("generated", format!("{:?}", a.generated), format!("{:?}", b.generated)),
    ] {
        if x != y {
            return format!("{name} differ");
        }
    }
    "logits differ".into()
}

#[test]
fn every_variant_and_thread_count_gives_the_same_bits() {
    let variants = Variant::supported();
    let reference = run(&[Variant::Portable], 1);
    assert!(reference.generated[1] != reference.generated[2], "sampling settings are exercised");
    assert!(reference.eval[2] > 300, "the validation batch has targets");
    for (i, &v) in variants.iter().enumerate() {
        // resume under the next variant (wrapping), so a checkpoint moves between CPUs mid-run
        let next = variants[(i + 1) % variants.len()];
        for threads in 1..=3 {
            if v == Variant::Portable && threads == 1 {
                continue; // the reference itself
            }
            let got = if threads == 2 { run(&[v, next], threads) } else { run(&[v], threads) };
            assert!(
                got == reference,
                "{} with {threads} thread(s){}: {} (vs portable, 1 thread)",
                v.name(),
                if threads == 2 { format!(", resumed under {}", next.name()) } else { String::new() },
                first_difference(&got, &reference)
            );
        }
    }
}

#[test]
fn checkpoint_bytes_carry_no_host_facts() {
    let mut model = Model::new(golden_student(), 3).unwrap();
    model.set_train_config(train_config()).unwrap();
    let mut bytes_seen = Vec::new();
    for v in Variant::supported() {
        for threads in [1, 3] {
            model.set_variant(v).unwrap();
            model.set_threads(threads);
            let bytes = model.to_safetensors();
            let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
            let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap();
            for fact in ["variant", "portable", "avx", "thread", "cpu", "host"] {
                assert!(!header.to_lowercase().contains(fact), "checkpoint header mentions \"{fact}\": {header:.300}");
            }
            bytes_seen.push(bytes);
        }
    }
    assert!(bytes_seen.windows(2).all(|w| w[0] == w[1]), "checkpoint bytes depend on the variant or thread count");
    // a checkpoint written by an earlier build with "nexa.kernel_variant" still loads, and the key is not written back
    let st = crate::safetensors::safetensors_parse(bytes_seen[0].clone()).unwrap();
    let mut meta = st.metadata.clone();
    meta.push(("nexa.kernel_variant".into(), "avx512f".into()));
    meta.sort();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> =
        st.tensors.iter().map(|t| (t.name.clone(), t.shape.clone(), st.read_f32(&t.name, &t.shape).unwrap())).collect();
    let legacy = crate::safetensors::safetensors_write(
        &tensors.iter().map(|(n, s, d)| (n.clone(), s.clone(), &d[..])).collect::<Vec<_>>(),
        &meta,
    );
    assert_ne!(legacy, bytes_seen[0]);
    assert_eq!(Model::from_safetensors(legacy).unwrap().to_safetensors(), bytes_seen[0]);
}

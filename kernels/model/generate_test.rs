//! Inference tests: KV-cached decoding matches the full forward; generation is seeded,
//! honours stop tokens and limits; eval helpers.

use crate::batch::Batch;
use crate::generate::{GenerateOptions, StopReason};
use crate::loss::IGNORE;
use crate::model::{bits_per_byte, Model};
use crate::model_test::{tiny_batch, tiny_config};
use crate::sample::SampleOptions;

#[test]
fn kv_cache_decoding_matches_full_forward() {
    let model = Model::new(tiny_config(), 3).unwrap();
    let tokens = vec![1u32, 5, 7, 2, 2, 9];
    let full = model.forward(&Batch::single_doc(1, 6, tokens.clone(), vec![IGNORE; 6])).unwrap();
    let mut cache = model.kv_cache_new();
    for (i, &tok) in tokens.iter().enumerate() {
        let step = model.decode_step(&mut cache, tok).unwrap();
        for (a, b) in step.iter().zip(&full[i * 13..(i + 1) * 13]) {
            assert!((a - b).abs() < 1e-5, "position {i}: {a} vs {b}");
        }
    }
}

#[test]
fn generation_is_seeded_and_stops() {
    let model = Model::new(tiny_config(), 4).unwrap();
    let opts = GenerateOptions {
        max_new_tokens: 5,
        sample: SampleOptions { temperature: 1.0, top_k: 5, top_p: 0.9 },
        seed: 11,
        stop_tokens: vec![],
    };
    let a = model.generate(&[1, 2], &opts).unwrap();
    assert_eq!(a, model.generate(&[1, 2], &opts).unwrap());
    assert_eq!((a.tokens.len(), a.stop), (5, StopReason::MaxNewTokens));
    let greedy = GenerateOptions { sample: SampleOptions { temperature: 0.0, ..Default::default() }, ..opts.clone() };
    let g = model.generate(&[1, 2], &greedy).unwrap();
    let stop = GenerateOptions { stop_tokens: vec![g.tokens[2]], ..greedy.clone() };
    let s = model.generate(&[1, 2], &stop).unwrap();
    assert_eq!(s.stop, StopReason::StopToken);
    assert!(s.tokens.len() <= 2 && g.tokens.starts_with(&s.tokens));
    let long = GenerateOptions { max_new_tokens: 100, ..greedy };
    let l = model.generate(&[1, 2], &long).unwrap();
    // 8 positions fed (2 prompt + 6 generated) predict a 7th new token, then the context is full
    assert_eq!((l.tokens.len(), l.stop), (7, StopReason::ContextFull));
}

#[test]
fn eval_loss_reports_per_token_loss_and_bits_per_byte() {
    let model = Model::new(tiny_config(), 5).unwrap();
    let batch = tiny_batch(3);
    let r = model.eval_loss(&batch).unwrap();
    assert_eq!(r.count, 13);
    assert_eq!(r.per_token[2], 0.0);
    assert!((r.loss - (13f64).ln()).abs() < 0.1, "near-uniform at init: {}", r.loss);
    let sum: f64 = r.per_token.iter().map(|&x| x as f64).sum();
    assert!((sum - r.loss_sum).abs() < 1e-4);
    assert!((bits_per_byte(r.loss_sum, 26) - r.loss_sum / (2f64.ln() * 26.0)).abs() < 1e-12);
}

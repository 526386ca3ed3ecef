//! Inference tests: KV-cached decoding matches the full forward; generation is seeded,
//! honours stop tokens and limits; eval helpers.

use crate::batch::Batch;
use crate::config::GptConfig;
use crate::generate::{GenerateOptions, StopReason, FEED_CHUNK};
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

#[test]
fn decoder_gives_generate_tokens_logprobs_and_cancels() {
    use crate::generate::{Decoder, Step};
    let model = Model::new(tiny_config(), 6).unwrap();
    let opts = GenerateOptions {
        max_new_tokens: 4,
        sample: SampleOptions { temperature: 0.8, top_k: 6, top_p: 0.95 },
        seed: 21,
        stop_tokens: vec![],
    };
    let whole = model.generate(&[3, 1, 4], &opts).unwrap();
    let mut d = Decoder::new(&model, &opts);
    assert_eq!(d.feed(&model, &[3, 1, 4], &|| false).unwrap(), 3);
    let mut got = Vec::new();
    loop {
        match d.next(&model, 3, &|| false).unwrap() {
            Step::Token(t) => {
                assert!(t.logprob < 0.0 && t.top.len() == 3);
                assert!(t.top.windows(2).all(|w| w[0].1 >= w[1].1), "top entries by descending logprob");
                let mass: f64 = t.top.iter().map(|e| (e.1 as f64).exp()).sum();
                assert!(mass > 0.0 && mass <= 1.0 + 1e-6);
                got.push(t.id);
            }
            Step::Stop(s) => {
                assert_eq!(s, whole.stop);
                break;
            }
        }
    }
    assert_eq!(got, whole.tokens);
    assert_eq!(d.next(&model, 0, &|| false).unwrap(), Step::Stop(whole.stop), "a finished decoder stays finished");

    // the greedy token's log-probability is log softmax of the full forward's last logits
    let greedy = GenerateOptions { sample: SampleOptions { temperature: 0.0, ..Default::default() }, ..opts.clone() };
    let mut g = Decoder::new(&model, &greedy);
    g.feed(&model, &[3, 1, 4], &|| false).unwrap();
    let full = model.forward(&Batch::single_doc(1, 3, vec![3, 1, 4], vec![IGNORE; 3])).unwrap();
    let last = &full[2 * 13..3 * 13];
    let m = last.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
    let lse = m + last.iter().map(|&z| (z as f64 - m).exp()).sum::<f64>().ln();
    match g.next(&model, 1, &|| false).unwrap() {
        Step::Token(t) => {
            assert_eq!(t.top[0].0, t.id, "greedy picks the most probable token");
            assert!((t.logprob as f64 - (last[t.id as usize] as f64 - lse)).abs() < 1e-4);
        }
        s => panic!("expected a token, got {s:?}"),
    }

    // cancellation: feed is asked before each chunk of FEED_CHUNK tokens and stops before the chunk it is told
    // about; next stops with Cancelled
    let long = Model::new(GptConfig { seq_len: 3 * FEED_CHUNK, ..tiny_config() }, 6).unwrap();
    let calls = std::cell::Cell::new(0);
    let after_two = || {
        calls.set(calls.get() + 1);
        calls.get() > 2
    };
    let mut c = Decoder::new(&long, &opts);
    assert_eq!(c.feed(&long, &vec![3; 3 * FEED_CHUNK], &after_two).unwrap(), 2 * FEED_CHUNK);
    assert_eq!(c.next(&long, 0, &|| true).unwrap(), Step::Stop(StopReason::Cancelled));
    assert!(c.feed(&long, &[5], &|| false).is_err(), "no feeding after the end");
    let mut c = Decoder::new(&model, &opts);
    assert_eq!(c.feed(&model, &[3, 1, 4, 1], &|| true).unwrap(), 0, "cancelled before the first chunk");
    let mut e = Decoder::new(&model, &opts);
    assert!(e.next(&model, 0, &|| false).is_err(), "next before any feed");
    assert!(e.feed(&model, &[0; 9], &|| false).is_err(), "more than seq_len");
    assert!(e.feed(&model, &[13], &|| false).is_err(), "outside the vocabulary");
}

#[test]
fn feeding_many_tokens_in_one_call_gives_the_bits_of_one_at_a_time() {
    let cfg = GptConfig { seq_len: 40, ..tiny_config() };
    let model = Model::new(cfg, 8).unwrap();
    let tokens: Vec<u32> = (0..37).map(|i| (i * 5 % cfg.vocab_size) as u32).collect();
    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
    let mut one = model.kv_cache_new();
    let mut stepwise = Vec::new();
    for &t in &tokens {
        stepwise = model.decode_step(&mut one, t).unwrap();
    }
    // all at once, and in uneven pieces (a row's attention sees exactly the positions before it either way)
    for pieces in [vec![37], vec![1, 15, 16, 5], vec![20, 17]] {
        let mut cache = model.kv_cache_new();
        let mut at = 0;
        let mut logits = Vec::new();
        for n in pieces {
            logits = model.decode_rows(&mut cache, &tokens[at..at + n]).unwrap();
            at += n;
        }
        assert_eq!(bits(&logits), bits(&stepwise));
        assert_eq!(cache.len, one.len);
        // the caches hold the same keys and values: the next step gives the same logits
        assert_eq!(
            bits(&model.decode_step(&mut cache, 2).unwrap()),
            bits(&model.decode_step(&mut one.clone(), 2).unwrap())
        );
    }
    let mut full = model.kv_cache_new();
    assert!(model.decode_rows(&mut full, &[]).is_err(), "no tokens");
    assert!(model.decode_rows(&mut full, &vec![1; 41]).is_err(), "more than seq_len");
    assert_eq!(full.len, 0, "a refused call changes nothing");
}

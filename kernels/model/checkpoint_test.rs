//! Checkpoint tests: round trip, bitwise determinism of the written bytes (runs and
//! thread counts), bitwise resume, an independent field-by-field check of the file
//! layout against the safetensors spec, and rejection of mismatched checkpoints.

use crate::config::TrainConfig;
use crate::error::ErrorKind;
use crate::loss::Distill;
use crate::model::Model;
use crate::model_test::{tiny_batch, tiny_config};
use crate::safetensors::safetensors_write;

fn trainer(threads: usize) -> Model {
    let mut m = Model::new(tiny_config(), 42).unwrap();
    m.set_threads(threads);
    m.set_train_config(TrainConfig {
        lr: 1e-2,
        warmup_steps: 2,
        total_steps: 8,
        distill: Distill { weight: 0.0, temperature: 1.0 },
        ..Default::default()
    })
    .unwrap();
    m.tokenizer_digest = "sha256:0123abcd".into();
    m
}

fn steps(m: &mut Model, from: u64, to: u64) {
    for s in from..to {
        m.train_step(&[tiny_batch(100 + s), tiny_batch(200 + s)]).unwrap();
    }
}

#[test]
fn checkpoint_bytes_are_identical_across_runs_and_thread_counts() {
    let run = |threads| {
        let mut m = trainer(threads);
        steps(&mut m, 0, 4);
        m.to_safetensors()
    };
    let one = run(1);
    assert_eq!(one, run(1));
    assert_eq!(one, run(2));
}

#[test]
fn resume_from_checkpoint_equals_uninterrupted_training_byte_for_byte() {
    let n = 3;
    let mut straight = trainer(1);
    steps(&mut straight, 0, 2 * n);
    let mut first = trainer(2);
    steps(&mut first, 0, n);
    let dir = std::env::temp_dir().join(format!("nexa_model_resume_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mid.safetensors");
    first.save(&path).unwrap();
    drop(first);
    let mut resumed = Model::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(resumed.step, n);
    assert_eq!(resumed.rows_seen, 4 * n);
    steps(&mut resumed, n, 2 * n);
    assert_eq!(resumed.to_safetensors(), straight.to_safetensors());
}

#[test]
fn round_trip_preserves_every_field() {
    let mut m = trainer(1);
    steps(&mut m, 0, 1);
    m.rng.next_u64();
    let bytes = m.to_safetensors();
    let back = Model::from_safetensors(bytes.clone()).unwrap();
    assert_eq!(back.to_safetensors(), bytes);
    assert_eq!((back.step, back.rng.state, back.tokens_seen), (m.step, m.rng.state, m.tokens_seen));
    assert_eq!(back.train_config, m.train_config);
    assert_eq!(back.tokenizer_digest, "sha256:0123abcd");
    assert_eq!(back.variant(), m.variant());
}

/// Reads the file with nothing but string handling (no crate JSON/safetensors code).
#[test]
fn written_file_follows_the_safetensors_spec_field_by_field() {
    let m = trainer(1);
    let bytes = m.to_safetensors();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    let header = std::str::from_utf8(&bytes[8..8 + n]).unwrap().trim_end_matches(' ');
    assert!(header.starts_with("{\"__metadata__\":{") && header.ends_with('}'));
    for key in [
        "format",
        "format_version",
        "vocab_size",
        "seq_len",
        "n_layer",
        "n_head",
        "d_model",
        "tokenizer_digest",
        "step",
        "rng_state",
        "rows_seen",
    ] {
        assert!(header.contains(&format!("\"nexa.{key}\":\"")), "metadata {key} missing or not a string");
    }
    assert!(header.contains("\"nexa.d_model\":\"8\""));
    let data = &bytes[8 + n..];
    let mut spans = Vec::new();
    for t in &m.layout.tensors {
        let shape = t.shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",");
        let prefix = format!("\"{}\":{{\"dtype\":\"F32\",\"shape\":[{shape}],\"data_offsets\":[", t.name);
        let at = header.find(&prefix).unwrap_or_else(|| panic!("entry for {} not found", t.name)) + prefix.len();
        let rest = &header[at..at + header[at..].find(']').unwrap()];
        let (b, e) = rest.split_once(',').unwrap();
        let (b, e): (usize, usize) = (b.parse().unwrap(), e.parse().unwrap());
        assert_eq!(e - b, 4 * t.numel());
        let le: Vec<u8> = m.params[t.range()].iter().flat_map(|x| x.to_le_bytes()).collect();
        assert_eq!(&data[b..e], &le[..], "raw little-endian data of {}", t.name);
        spans.push((b, e));
    }
    assert_eq!(header.matches("\"dtype\"").count(), 3 * m.layout.tensors.len());
    assert_eq!(data.len(), 3 * 4 * m.num_params());
    spans.sort();
    assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "no overlapping offsets");
}

#[test]
fn loader_rejects_mismatched_or_truncated_checkpoints() {
    let m = trainer(1);
    let good = m.to_safetensors();
    let e = Model::from_safetensors(good[..good.len() - 4].to_vec()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Format);
    // metadata claims d_model 8 but a tensor has the wrong shape
    let mut meta: Vec<(String, String)> = Vec::new();
    let st = crate::safetensors::safetensors_parse(good.clone()).unwrap();
    meta.extend(st.metadata.iter().cloned());
    let wrong = vec![0f32; 6];
    let mut tensors: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
    for t in &m.layout.tensors {
        if t.name == "lnf.bias" {
            tensors.push((t.name.clone(), vec![6], &wrong));
        } else {
            tensors.push((t.name.clone(), t.shape.clone(), &m.params[t.range()]));
        }
    }
    let e = Model::from_safetensors(safetensors_write(&tensors, &meta)).err().unwrap();
    assert_eq!(e.kind, ErrorKind::Mismatch);
    assert!(e.message.contains("lnf.bias") && e.message.contains("shape"), "{}", e.message);
    // weights-only export loads with zero optimizer state
    tensors.retain(|t| t.0 != "lnf.bias");
    tensors.push(("lnf.bias".into(), vec![8], &m.params[m.layout.lnf_b..m.layout.lnf_b + 8]));
    assert!(Model::from_safetensors(safetensors_write(&tensors, &meta)).is_ok());
    // unknown format version
    let meta2: Vec<(String, String)> = meta
        .iter()
        .map(|(k, v)| if k == "nexa.format_version" { (k.clone(), "9".into()) } else { (k.clone(), v.clone()) })
        .collect();
    let e = Model::from_safetensors(safetensors_write(&tensors, &meta2)).err().unwrap();
    assert!(e.message.contains("format_version 9"), "{}", e.message);
}

#[test]
fn caller_metadata_round_trips_and_the_nexa_namespace_is_reserved() {
    let mut m = trainer(1);
    m.set_metadata("tokenizer.manifest_digest", "sha256:feed").unwrap();
    m.set_metadata("a.note", "x").unwrap();
    m.set_metadata("a.note", "y").unwrap();
    assert!(m.set_metadata("nexa.step", "3").is_err());
    assert!(m.set_metadata("", "3").is_err());
    let back = Model::from_safetensors(m.to_safetensors()).unwrap();
    assert_eq!(
        back.metadata,
        vec![
            ("a.note".to_string(), "y".to_string()),
            ("tokenizer.manifest_digest".to_string(), "sha256:feed".to_string())
        ]
    );
    assert_eq!(back.to_safetensors(), m.to_safetensors());
    assert!(back.checkpoint_metadata().iter().any(|(k, v)| k == "nexa.tokenizer_digest" && v == "sha256:0123abcd"));
}

//! Model checkpoints as safetensors: parameters, AdamW moments, and in `__metadata__`
//! (strings only) the format version, model config, training config, step, RNG state,
//! data position and tokenizer digest, so training resumes bit for bit (on any CPU: no host fact
//! such as the kernel variant or thread count is stored).
//!
//! Tensor names: parameters as in `ParamLayout` ("wte.weight", "h.0.attn.qkv.weight", …);
//! optimizer moments as "optimizer.adam_m.<name>" and "optimizer.adam_v.<name>".

use crate::config::{GptConfig, TrainConfig};
use crate::error::{err, ErrorKind, ModelError, Result};
use crate::loss::Distill;
use crate::model::Model;
use crate::rng::Rng;
use crate::safetensors::{safetensors_parse, safetensors_write};
use std::io::Write;

pub const FORMAT: &str = "nexa.gpt";
pub const FORMAT_VERSION: &str = "1";

fn meta_get<'a>(meta: &'a [(String, String)], key: &str) -> Result<&'a str> {
    meta.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .ok_or_else(|| ModelError::new(ErrorKind::Mismatch, format!("checkpoint metadata lacks \"{key}\"")))
}

fn meta_num<T: std::str::FromStr>(meta: &[(String, String)], key: &str) -> Result<T> {
    let s = meta_get(meta, key)?;
    s.parse().map_err(|_| {
        ModelError::new(ErrorKind::Format, format!("checkpoint metadata \"{key}\" = \"{s}\" is not a valid number"))
    })
}

impl Model {
    /// The checkpoint's `__metadata__`: the crate's "nexa.*" keys plus the caller's entries, sorted.
    pub fn checkpoint_metadata(&self) -> Vec<(String, String)> {
        let mut m = self.nexa_metadata();
        m.extend(self.metadata.iter().cloned());
        m.sort();
        m
    }

    fn nexa_metadata(&self) -> Vec<(String, String)> {
        let c = &self.config;
        let t = &self.train_config;
        let mut m: Vec<(&str, String)> = vec![
            ("format", FORMAT.into()),
            ("format_version", FORMAT_VERSION.into()),
            ("vocab_size", c.vocab_size.to_string()),
            ("seq_len", c.seq_len.to_string()),
            ("n_layer", c.n_layer.to_string()),
            ("n_head", c.n_head.to_string()),
            ("d_model", c.d_model.to_string()),
            ("tokenizer_digest", self.tokenizer_digest.clone()),
            ("step", self.step.to_string()),
            ("rng_state", self.rng.state.to_string()),
            ("rows_seen", self.rows_seen.to_string()),
            ("tokens_seen", self.tokens_seen.to_string()),
        ];
        // f32 Display is the shortest string that parses back to the same bits
        for (k, v) in [
            ("lr", t.lr),
            ("min_lr", t.min_lr),
            ("beta1", t.beta1),
            ("beta2", t.beta2),
            ("eps", t.eps),
            ("weight_decay", t.weight_decay),
            ("grad_clip", t.grad_clip),
            ("distill_weight", t.distill.weight),
            ("distill_temperature", t.distill.temperature),
        ] {
            m.push((k, v.to_string()));
        }
        m.push(("warmup_steps", t.warmup_steps.to_string()));
        m.push(("total_steps", t.total_steps.to_string()));
        m.push(("decay_all", t.decay_all.to_string()));
        m.into_iter().map(|(k, v)| (format!("nexa.{k}"), v)).collect()
    }

    /// The checkpoint as safetensors bytes (deterministic: same state → same bytes).
    pub fn to_safetensors(&self) -> Vec<u8> {
        let mut tensors: Vec<(String, Vec<usize>, &[f32])> = Vec::new();
        for t in &self.layout.tensors {
            tensors.push((t.name.clone(), t.shape.clone(), &self.params[t.range()]));
            tensors.push((format!("optimizer.adam_m.{}", t.name), t.shape.clone(), &self.adam_m[t.range()]));
            tensors.push((format!("optimizer.adam_v.{}", t.name), t.shape.clone(), &self.adam_v[t.range()]));
        }
        safetensors_write(&tensors, &self.checkpoint_metadata())
    }

    /// Rebuilds a model from checkpoint bytes, validating everything. Optimizer moments
    /// may be absent altogether (weights-only export): they then start at zero.
    pub fn from_safetensors(bytes: Vec<u8>) -> Result<Model> {
        let st = safetensors_parse(bytes)?;
        let meta = st
            .metadata
            .iter()
            .filter_map(|(k, v)| k.strip_prefix("nexa.").map(|k| (k.to_string(), v.clone())))
            .collect::<Vec<_>>();
        let format = meta_get(&meta, "format")?;
        if format != FORMAT {
            return err(ErrorKind::Mismatch, format!("checkpoint format \"{format}\" is not \"{FORMAT}\""));
        }
        let version = meta_get(&meta, "format_version")?;
        if version != FORMAT_VERSION {
            return err(ErrorKind::Mismatch, format!("checkpoint format_version {version} is not supported (this build reads {FORMAT_VERSION}); re-export it with a matching build"));
        }
        let config = GptConfig {
            vocab_size: meta_num(&meta, "vocab_size")?,
            seq_len: meta_num(&meta, "seq_len")?,
            n_layer: meta_num(&meta, "n_layer")?,
            n_head: meta_num(&meta, "n_head")?,
            d_model: meta_num(&meta, "d_model")?,
        };
        config.validate()?;
        let train = TrainConfig {
            lr: meta_num(&meta, "lr")?,
            min_lr: meta_num(&meta, "min_lr")?,
            warmup_steps: meta_num(&meta, "warmup_steps")?,
            total_steps: meta_num(&meta, "total_steps")?,
            beta1: meta_num(&meta, "beta1")?,
            beta2: meta_num(&meta, "beta2")?,
            eps: meta_num(&meta, "eps")?,
            weight_decay: meta_num(&meta, "weight_decay")?,
            decay_all: meta_num(&meta, "decay_all")?,
            grad_clip: meta_num(&meta, "grad_clip")?,
            distill: Distill {
                weight: meta_num(&meta, "distill_weight")?,
                temperature: meta_num(&meta, "distill_temperature")?,
            },
        };
        train.validate()?;
        let mut model = Model::new(config, 0)?;
        model.train_config = train;
        let has_optimizer = st.tensors.iter().any(|t| t.name.starts_with("optimizer."));
        let expected = model.layout.tensors.len() * if has_optimizer { 3 } else { 1 };
        if st.tensors.len() != expected {
            let known = |n: &str| {
                model.layout.tensors.iter().any(|t| {
                    n == t.name
                        || n.strip_prefix("optimizer.adam_m.") == Some(&t.name)
                        || n.strip_prefix("optimizer.adam_v.") == Some(&t.name)
                })
            };
            let extra: Vec<&str> = st.tensors.iter().map(|t| t.name.as_str()).filter(|n| !known(n)).collect();
            return err(
                ErrorKind::Mismatch,
                format!("checkpoint holds {} tensors, expected {expected}; unexpected: {extra:?}", st.tensors.len()),
            );
        }
        for t in model.layout.tensors.clone() {
            let r = t.range();
            model.params[r.clone()].copy_from_slice(&st.read_f32(&t.name, &t.shape)?);
            if has_optimizer {
                model.adam_m[r.clone()]
                    .copy_from_slice(&st.read_f32(&format!("optimizer.adam_m.{}", t.name), &t.shape)?);
                model.adam_v[r].copy_from_slice(&st.read_f32(&format!("optimizer.adam_v.{}", t.name), &t.shape)?);
            }
        }
        model.step = meta_num(&meta, "step")?;
        model.rng = Rng::new(meta_num(&meta, "rng_state")?);
        model.rows_seen = meta_num(&meta, "rows_seen")?;
        model.tokens_seen = meta_num(&meta, "tokens_seen")?;
        model.tokenizer_digest = meta_get(&meta, "tokenizer_digest")?.to_string();
        model.metadata = st.metadata.iter().filter(|(k, _)| !k.starts_with("nexa.")).cloned().collect();
        model.metadata.sort();
        // "nexa.kernel_variant" of earlier checkpoints is a host fact that never changed a result:
        // it is ignored and not written again (the loading process keeps its own variant)
        Ok(model)
    }

    /// Writes the checkpoint atomically (temp file, fsync, rename).
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        let io = |e: std::io::Error| ModelError::new(ErrorKind::Io, format!("writing {}: {e}", path.display()));
        let tmp = path.with_extension("safetensors.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(io)?;
        f.write_all(&self.to_safetensors()).map_err(io)?;
        f.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &std::path::Path) -> Result<Model> {
        let bytes = std::fs::read(path)
            .map_err(|e| ModelError::new(ErrorKind::Io, format!("reading {}: {e}", path.display())))?;
        Model::from_safetensors(bytes)
            .map_err(|e| ModelError::new(e.kind, format!("{}: {}", path.display(), e.message)))
    }
}

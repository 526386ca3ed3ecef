//! nexa model math: a deterministic GPT (forward, backward, AdamW, checkpoints, generation)
//! on the CPU, std only. This file is the crate's public face; see README.md.
//!
//! Public API (what the C ABI in kernels/abi maps onto):
//!   Model::new(config, seed) · train_step(&[Batch]) -> StepMetrics · eval_loss(&Batch)
//!   forward(&Batch) -> logits · save(path) / Model::load(path) · generate(prompt, &GenerateOptions)

mod adamw;
mod attention;
mod batch;
mod checkpoint;
mod config;
mod dot;
mod elementary;
mod error;
mod gelu;
mod generate;
mod gpt;
mod layernorm;
mod loss;
mod matmul;
mod model;
mod params;
mod rng;
mod safetensors;
mod sample;
mod scratch;
mod teacher;
mod threads;

#[cfg(test)]
mod checkpoint_test;
#[cfg(test)]
mod generate_test;
#[cfg(test)]
mod gradcheck;
#[cfg(test)]
mod model_test;
#[cfg(test)]
mod variant_test;

pub use adamw::lr_at;
pub use batch::{Batch, PAD_DOC_ID};
pub use checkpoint::{FORMAT, FORMAT_VERSION};
pub use config::{GptConfig, TrainConfig};
pub use error::{ErrorKind, ModelError, Result};
pub use generate::{Decoder, GenerateOptions, Generation, KvCache, SampledToken, Step, StopReason};
pub use loss::{Distill, TeacherTopK, IGNORE};
pub use model::{bits_per_byte, EvalResult, Model, StepMetrics};
pub use params::{TensorKind, TensorSpec};
pub use rng::Rng;
pub use safetensors::{safetensors_parse, Dtype, SafeTensors, TensorInfo};
pub use sample::SampleOptions;
pub use threads::Variant;

/// Reference and fast kernels, public for benchmarks and parity tests (not part of the ABI).
pub mod kernels {
    pub use crate::matmul::{gemm, matmul_forward, matmul_forward_reference, Layout};
    pub use crate::threads::Ctx;
}

//! nexa_model_*: the CPU GPT of `nexa_model` (//kernels/model) through the C ABI.
//!
//! One function per public crate operation: create/free (`Model::new`), load/save
//! (`from_safetensors` / `to_safetensors`, as bytes in caller buffers), settings (threads,
//! training config, checkpoint metadata), `eval_loss`, `forward`, `teacher_topk` (distillation
//! input), `generate`, and the packed-row target helper `Batch::next_token_targets`. Batches are
//! flat `[B·T]` arrays.
//! Training steps (`train_step`, `train_steps`) live in model_train_abi.rs.

use nexa_model::{
    Batch, Distill, ErrorKind, GenerateOptions, GptConfig, Model, ModelError, SampleOptions, StopReason, TrainConfig,
    Variant, IGNORE,
};

use crate::boundary::*;

// ---------------------------------------------------------------------------
// C structs (mirror nexa_kernels.h)
// ---------------------------------------------------------------------------

/// Mirrors `nexa_model_config`.
#[repr(C)]
pub struct ModelConfigC {
    pub(crate) vocab_size: u32,
    pub(crate) seq_len: u32,
    pub(crate) n_layer: u32,
    pub(crate) n_head: u32,
    pub(crate) d_model: u32,
}

/// Mirrors `nexa_train_config`.
#[repr(C)]
pub struct TrainConfigC {
    pub(crate) lr: f64,
    pub(crate) min_lr: f64,
    pub(crate) warmup_steps: u64,
    pub(crate) total_steps: u64,
    pub(crate) beta1: f64,
    pub(crate) beta2: f64,
    pub(crate) eps: f64,
    pub(crate) weight_decay: f64,
    pub(crate) grad_clip: f64,
    pub(crate) distill_weight: f64,
    pub(crate) distill_temperature: f64,
    pub(crate) decay_all: u32,
}

/// Mirrors `nexa_model_info`.
#[repr(C)]
pub struct ModelInfoC {
    pub(crate) config: ModelConfigC,
    pub(crate) num_params: u64,
    pub(crate) step: u64,
    pub(crate) rows_seen: u64,
    pub(crate) tokens_seen: u64,
    pub(crate) threads: u32,
}

/// Mirrors `nexa_eval_result`.
#[repr(C)]
pub struct EvalResultC {
    pub(crate) loss: f64,
    pub(crate) loss_sum: f64,
    pub(crate) count: u64,
}

/// Mirrors `nexa_generate_options`.
#[repr(C)]
pub struct GenerateOptionsC {
    pub(crate) max_new_tokens: u32,
    pub(crate) top_k: u32,
    pub(crate) temperature: f64,
    pub(crate) top_p: f64,
    pub(crate) seed: u64,
}

// ---------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------

/// Crate errors → ABI status: bad configs and batches are invalid arguments,
/// malformed or mismatched checkpoints are format errors.
pub(crate) fn model_error(e: ModelError) -> AbiError {
    match e.kind {
        ErrorKind::InvalidConfig | ErrorKind::InvalidBatch | ErrorKind::Io => invalid(e.message),
        ErrorKind::Format | ErrorKind::Mismatch => format_error(e.message),
    }
}

fn str_in<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a str, AbiError> {
    let bytes = unsafe { slice_in(ptr, len, name)? };
    std::str::from_utf8(bytes).map_err(|_| invalid(format!("{name} is not valid UTF-8")))
}

/// Checks a batch shape before any slice is formed from it (`B·T` must not overflow).
pub(crate) fn batch_len(b: usize, t: usize) -> Result<usize, AbiError> {
    if b == 0 || t == 0 {
        return Err(invalid(format!("batch shape b={b} t={t} is empty; need b >= 1 and 1 <= t <= seq_len")));
    }
    b.checked_mul(t).ok_or_else(|| invalid(format!("batch shape b={b} t={t} overflows")))
}

/// The `targets` of a call that needs them (`why` says what for): NULL is refused whatever the length.
pub(crate) fn targets_required(targets: *const u32, why: &str) -> Result<(), AbiError> {
    if targets.is_null() {
        return Err(AbiError { status: NEXA_ERR_NULL_POINTER, message: format!("targets is NULL ({why})") });
    }
    Ok(())
}

/// A `[B·T]` batch; `targets` NULL means "no targets" (all IGNORE, for forward).
unsafe fn batch_in(
    tokens: *const u32,
    targets: *const u32,
    doc_ids: *const u32,
    b: usize,
    t: usize,
) -> Result<Batch, AbiError> {
    let n = batch_len(b, t)?;
    // every pointer and length is checked before anything of size n is allocated
    let tokens = slice_in(tokens, n, "tokens")?;
    let doc_ids = slice_in(doc_ids, n, "doc_ids")?;
    let targets = if targets.is_null() { vec![IGNORE; n] } else { slice_in(targets, n, "targets")?.to_vec() };
    Ok(Batch { b, t, tokens: tokens.to_vec(), targets, doc_ids: doc_ids.to_vec(), teacher: None })
}

// ---------------------------------------------------------------------------
// Create, free, load, save
// ---------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn nexa_model_new(config: *const ModelConfigC, seed: u64, out: *mut *mut Model) -> Status {
    guard("nexa_model_new", || {
        let c = handle(config, "config")?;
        let out = out_ref(out, "out")?;
        let cfg = GptConfig {
            vocab_size: c.vocab_size as usize,
            seq_len: c.seq_len as usize,
            n_layer: c.n_layer as usize,
            n_head: c.n_head as usize,
            d_model: c.d_model as usize,
        };
        let model = Model::new(cfg, seed).map_err(model_error)?;
        *out = Box::into_raw(Box::new(model));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_load(data: *const u8, data_len: usize, out: *mut *mut Model) -> Status {
    guard("nexa_model_load", || {
        let out = out_ref(out, "out")?;
        let bytes = slice_in(data, data_len, "data")?.to_vec();
        let model = Model::from_safetensors(bytes).map_err(model_error)?;
        *out = Box::into_raw(Box::new(model));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_save(model: *const Model, out: *mut u8, cap: usize, out_len: *mut usize) -> Status {
    guard("nexa_model_save", || {
        let m = handle(model, "model")?;
        let out_len = out_ref(out_len, "out_len")?;
        let bytes = m.to_safetensors();
        copy_out(&bytes, slice_out(out, cap, "out")?, out_len, "checkpoint bytes")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_free(model: *mut Model) {
    if !model.is_null() {
        drop(Box::from_raw(model));
    }
}

// ---------------------------------------------------------------------------
// Settings and info
// ---------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn nexa_model_get_info(model: *const Model, out: *mut ModelInfoC) -> Status {
    guard("nexa_model_get_info", || {
        let m = handle(model, "model")?;
        let c = &m.config;
        *out_ref(out, "out")? = ModelInfoC {
            config: ModelConfigC {
                vocab_size: c.vocab_size as u32,
                seq_len: c.seq_len as u32,
                n_layer: c.n_layer as u32,
                n_head: c.n_head as u32,
                d_model: c.d_model as u32,
            },
            num_params: m.num_params() as u64,
            step: m.step,
            rows_seen: m.rows_seen,
            tokens_seen: m.tokens_seen,
            threads: m.threads() as u32,
        };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_set_threads(model: *mut Model, threads: u32) -> Status {
    guard("nexa_model_set_threads", || {
        if threads == 0 || threads > 1024 {
            return Err(invalid(format!("threads = {threads} must be in 1..=1024")));
        }
        handle_mut(model, "model")?.set_threads(threads as usize);
        Ok(())
    })
}

/// name: "auto" (the widest this CPU has), "portable", "avx2_fma" or "avx512f". Speed only:
/// every variant computes the same bits.
#[no_mangle]
pub unsafe extern "C" fn nexa_model_set_variant(model: *mut Model, name: *const u8, name_len: usize) -> Status {
    guard("nexa_model_set_variant", || {
        let m = handle_mut(model, "model")?;
        let v = Variant::resolve(str_in(name, name_len, "name")?).map_err(invalid)?;
        m.set_variant(v).map_err(model_error)
    })
}

/// The model's current kernel variant name.
#[no_mangle]
pub unsafe extern "C" fn nexa_model_variant(
    model: *const Model,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_model_variant", || {
        let m = handle(model, "model")?;
        let out_len = out_ref(out_len, "out_len")?;
        copy_out(m.variant().name().as_bytes(), slice_out(out, cap, "out")?, out_len, "variant name bytes")
    })
}

/// The kernel variants this CPU supports, comma-separated, narrowest first ("portable,avx2_fma").
#[no_mangle]
pub unsafe extern "C" fn nexa_kernel_variants(out: *mut u8, cap: usize, out_len: *mut usize) -> Status {
    guard("nexa_kernel_variants", || {
        let out_len = out_ref(out_len, "out_len")?;
        let names = Variant::supported().iter().map(|v| v.name()).collect::<Vec<_>>().join(",");
        copy_out(names.as_bytes(), slice_out(out, cap, "out")?, out_len, "variant list bytes")
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_set_train_config(model: *mut Model, config: *const TrainConfigC) -> Status {
    guard("nexa_model_set_train_config", || {
        let m = handle_mut(model, "model")?;
        let c = handle(config, "config")?;
        let cfg = TrainConfig {
            lr: c.lr as f32,
            min_lr: c.min_lr as f32,
            warmup_steps: c.warmup_steps,
            total_steps: c.total_steps,
            beta1: c.beta1 as f32,
            beta2: c.beta2 as f32,
            eps: c.eps as f32,
            weight_decay: c.weight_decay as f32,
            decay_all: c.decay_all != 0,
            grad_clip: c.grad_clip as f32,
            distill: Distill { weight: c.distill_weight as f32, temperature: c.distill_temperature as f32 },
        };
        m.set_train_config(cfg).map_err(model_error)
    })
}

/// key "nexa.tokenizer_digest" sets the tokenizer digest; any other key must be a caller key
/// (not "nexa."-prefixed, see `Model::set_metadata`).
#[no_mangle]
pub unsafe extern "C" fn nexa_model_set_metadata(
    model: *mut Model,
    key: *const u8,
    key_len: usize,
    value: *const u8,
    value_len: usize,
) -> Status {
    guard("nexa_model_set_metadata", || {
        let m = handle_mut(model, "model")?;
        let (k, v) = (str_in(key, key_len, "key")?, str_in(value, value_len, "value")?);
        if k == "nexa.tokenizer_digest" {
            m.tokenizer_digest = v.to_string();
            return Ok(());
        }
        m.set_metadata(k, v).map_err(model_error)
    })
}

/// The checkpoint `__metadata__` as "key\0value\0" pairs, sorted by key.
#[no_mangle]
pub unsafe extern "C" fn nexa_model_metadata(
    model: *const Model,
    out: *mut u8,
    cap: usize,
    out_len: *mut usize,
) -> Status {
    guard("nexa_model_metadata", || {
        let m = handle(model, "model")?;
        let out_len = out_ref(out_len, "out_len")?;
        let mut bytes = Vec::new();
        for (k, v) in m.checkpoint_metadata() {
            bytes.extend_from_slice(k.replace('\0', " ").as_bytes());
            bytes.push(0);
            bytes.extend_from_slice(v.replace('\0', " ").as_bytes());
            bytes.push(0);
        }
        copy_out(&bytes, slice_out(out, cap, "out")?, out_len, "metadata bytes")
    })
}

// ---------------------------------------------------------------------------
// Batches: targets, eval, forward
// ---------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn nexa_model_next_token_targets(
    tokens: *const u32,
    doc_ids: *const u32,
    n: usize,
    t: usize,
    out_targets: *mut u32,
) -> Status {
    guard("nexa_model_next_token_targets", || {
        if t == 0 || n % t != 0 {
            return Err(invalid(format!("n = {n} must be a multiple of the row length t = {t} (t >= 1)")));
        }
        let tokens = slice_in(tokens, n, "tokens")?;
        let doc_ids = slice_in(doc_ids, n, "doc_ids")?;
        slice_out(out_targets, n, "out_targets")?.copy_from_slice(&Batch::next_token_targets(t, tokens, doc_ids));
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_eval_loss(
    model: *const Model,
    tokens: *const u32,
    targets: *const u32,
    doc_ids: *const u32,
    b: usize,
    t: usize,
    out: *mut EvalResultC,
    out_per_token: *mut f32,
    per_token_len: usize,
) -> Status {
    guard("nexa_model_eval_loss", || {
        let m = handle(model, "model")?;
        let out = out_ref(out, "out")?;
        batch_len(b, t)?;
        targets_required(targets, "the loss needs targets")?;
        let batch = batch_in(tokens, targets, doc_ids, b, t)?;
        let n = b * t;
        if per_token_len != 0 && per_token_len != n {
            return Err(invalid(format!("out_per_token holds {per_token_len} values; pass 0 (none) or b * t = {n}")));
        }
        let r = m.eval_loss(&batch).map_err(model_error)?;
        slice_out(out_per_token, per_token_len, "out_per_token")?.copy_from_slice(&r.per_token[..per_token_len]);
        *out = EvalResultC { loss: r.loss, loss_sum: r.loss_sum, count: r.count };
        Ok(())
    })
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_forward(
    model: *const Model,
    tokens: *const u32,
    doc_ids: *const u32,
    b: usize,
    t: usize,
    out_logits: *mut f32,
    out_len: usize,
) -> Status {
    guard("nexa_model_forward", || {
        let m = handle(model, "model")?;
        let batch = batch_in(tokens, std::ptr::null(), doc_ids, b, t)?;
        let needed = (b * t).checked_mul(m.config.vocab_size).ok_or_else(|| invalid("b * t * vocab_size overflows"))?;
        if out_len != needed {
            return Err(too_small("out_logits (must be b * t * vocab_size)", needed, out_len));
        }
        let out = slice_out(out_logits, out_len, "out_logits")?;
        out.copy_from_slice(&m.forward(&batch).map_err(model_error)?);
        Ok(())
    })
}

/// The model as a distillation teacher: per position of a `[B·T]` batch the `k` most probable next
/// tokens under softmax(logits / temperature) (`Model::teacher_topk`), ids and probs `[B·T·k]` each,
/// in the layout `nexa_model_train_step` takes as `teacher_ids` / `teacher_probs`.
#[no_mangle]
pub unsafe extern "C" fn nexa_model_teacher_topk(
    model: *const Model,
    tokens: *const u32,
    doc_ids: *const u32,
    b: usize,
    t: usize,
    temperature: f64,
    k: usize,
    out_ids: *mut u32,
    out_probs: *mut f32,
    out_len: usize,
) -> Status {
    guard("nexa_model_teacher_topk", || {
        let m = handle(model, "model")?;
        let batch = batch_in(tokens, std::ptr::null(), doc_ids, b, t)?;
        let v = m.config.vocab_size;
        if k == 0 || k > v {
            return Err(invalid(format!("k = {k} must be in 1..=vocab_size ({v})")));
        }
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(invalid(format!(
                "temperature = {temperature} must be finite and > 0 (1 gives the input of a distillation at the train config's temperature)"
            )));
        }
        let needed = (b * t).checked_mul(k).ok_or_else(|| invalid(format!("b * t * k = {b} * {t} * {k} overflows")))?;
        if out_len != needed {
            return Err(invalid(format!(
                "out_len = {out_len}: out_ids and out_probs must each hold b * t * k = {needed} values"
            )));
        }
        let ids = slice_out(out_ids, out_len, "out_ids")?;
        let probs = slice_out(out_probs, out_len, "out_probs")?;
        let top = m.teacher_topk(&batch, temperature as f32, k).map_err(model_error)?;
        ids.copy_from_slice(&top.ids);
        probs.copy_from_slice(&top.probs);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Generation
// ---------------------------------------------------------------------------

/// `nexa_generate_options` + stop tokens → the crate's options (temperature >= 0, top_p in (0, 1]).
pub(crate) fn generate_options(o: &GenerateOptionsC, stops: &[u32]) -> Result<GenerateOptions, AbiError> {
    if !(o.temperature >= 0.0) || !(o.top_p > 0.0 && o.top_p <= 1.0) {
        return Err(invalid(format!(
            "options: temperature {} must be >= 0 and top_p {} in (0, 1]",
            o.temperature, o.top_p
        )));
    }
    Ok(GenerateOptions {
        max_new_tokens: o.max_new_tokens as usize,
        sample: SampleOptions { temperature: o.temperature as f32, top_k: o.top_k as usize, top_p: o.top_p as f32 },
        seed: o.seed,
        stop_tokens: stops.to_vec(),
    })
}

/// NEXA_STOP_* code of a stop reason.
pub(crate) fn stop_code(stop: StopReason) -> u32 {
    match stop {
        StopReason::MaxNewTokens => 0,
        StopReason::StopToken => 1,
        StopReason::ContextFull => 2,
        StopReason::Cancelled => 3,
    }
}

#[no_mangle]
pub unsafe extern "C" fn nexa_model_generate(
    model: *const Model,
    prompt: *const u32,
    n_prompt: usize,
    options: *const GenerateOptionsC,
    stop_tokens: *const u32,
    n_stop: usize,
    out_tokens: *mut u32,
    cap: usize,
    out_len: *mut usize,
    out_stop_reason: *mut u32,
) -> Status {
    guard("nexa_model_generate", || {
        let m = handle(model, "model")?;
        let o = handle(options, "options")?;
        let out_len = out_ref(out_len, "out_len")?;
        let reason = out_ref(out_stop_reason, "out_stop_reason")?;
        let prompt = slice_in(prompt, n_prompt, "prompt")?;
        let stops = slice_in(stop_tokens, n_stop, "stop_tokens")?;
        let opts = generate_options(o, stops)?;
        let g = m.generate(prompt, &opts).map_err(model_error)?;
        *reason = stop_code(g.stop);
        copy_out(&g.tokens, slice_out(out_tokens, cap, "out_tokens")?, out_len, "generated tokens")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_test_support::{last_error, tiny, TrainCall};
    use crate::model_train_abi::StepMetricsC;

    #[test]
    fn train_save_load_round_trip_and_bad_batches_are_statuses() {
        let m = tiny();
        let tokens: Vec<u32> = (0..16).map(|i| i % 11).collect();
        let docs = vec![0u32; 16];
        let mut targets = vec![0u32; 16];
        assert_eq!(
            unsafe { nexa_model_next_token_targets(tokens.as_ptr(), docs.as_ptr(), 16, 8, targets.as_mut_ptr()) },
            NEXA_OK
        );
        assert_eq!(targets[7], IGNORE);
        let mut s = StepMetricsC::default();
        let call = TrainCall::new(&tokens, &targets, &docs, (1, 2, 8));
        assert_eq!(call.step(m, &mut s), NEXA_OK);
        assert_eq!((s.step, s.tokens), (1, 14));
        let mut len = 0usize;
        assert_eq!(unsafe { nexa_model_save(m, std::ptr::null_mut(), 0, &mut len) }, NEXA_ERR_BUFFER_TOO_SMALL);
        let mut bytes = vec![0u8; len];
        assert_eq!(unsafe { nexa_model_save(m, bytes.as_mut_ptr(), len, &mut len) }, NEXA_OK);
        let mut back = std::ptr::null_mut();
        assert_eq!(unsafe { nexa_model_load(bytes.as_ptr(), bytes.len(), &mut back) }, NEXA_OK);
        assert_eq!(unsafe { nexa_model_load(bytes.as_ptr(), 9, &mut back) }, NEXA_ERR_FORMAT);
        // a token outside the vocabulary and an empty shape are invalid arguments, not panics
        let bad: Vec<u32> = vec![11; 16];
        assert_eq!(TrainCall { tokens: &bad, ..call }.step(m, &mut s), NEXA_ERR_INVALID_ARGUMENT);
        assert_eq!(TrainCall { t: 0, ..call }.step(m, &mut s), NEXA_ERR_INVALID_ARGUMENT);
        unsafe {
            nexa_model_free(m);
            nexa_model_free(back);
        }
    }

    /// The arguments of `nexa_model_teacher_topk`, so that a case names only what it changes.
    #[derive(Clone, Copy)]
    struct TopK {
        model: *const Model,
        tokens: *const u32,
        docs: *const u32,
        b: usize,
        t: usize,
        temperature: f64,
        k: usize,
        ids: *mut u32,
        probs: *mut f32,
        len: usize,
    }

    impl TopK {
        /// A `[b·t]` batch at temperature 1, writing `b·t·k` ids and probs.
        fn new(
            m: *const Model,
            tokens: &[u32],
            docs: &[u32],
            b: usize,
            t: usize,
            k: usize,
            out: (&mut [u32], &mut [f32]),
        ) -> TopK {
            let (tokens, docs, ids, probs) = (tokens.as_ptr(), docs.as_ptr(), out.0.as_mut_ptr(), out.1.as_mut_ptr());
            TopK { model: m, tokens, docs, b, t, temperature: 1.0, k, ids, probs, len: b * t * k }
        }

        fn call(&self) -> Status {
            let TopK { model, tokens, docs, b, t, temperature, k, ids, probs, len } = *self;
            unsafe { nexa_model_teacher_topk(model, tokens, docs, b, t, temperature, k, ids, probs, len) }
        }
    }

    #[test]
    fn teacher_topk_writes_the_crate_result_and_train_step_distils_from_it() {
        let (teacher, student) = (tiny(), tiny());
        let tokens: Vec<u32> = (0..16).map(|i| (i * 3 + 2) % 11).collect();
        let docs: Vec<u32> = (0..16).map(|i| (i >= 5) as u32).collect();
        let (b, t, k) = (2, 8, 4);
        let (mut ids, mut probs) = (vec![0u32; 16 * k], vec![0f32; 16 * k]);
        let st = TopK::new(teacher, &tokens, &docs, b, t, k, (&mut ids, &mut probs)).call();
        assert_eq!(st, NEXA_OK, "{}", last_error());
        let batch =
            Batch { b, t, tokens: tokens.clone(), targets: vec![IGNORE; 16], doc_ids: docs.clone(), teacher: None };
        let want = unsafe { &*teacher }.teacher_topk(&batch, 1.0, k).unwrap();
        assert_eq!((ids.clone(), probs.clone()), (want.ids, want.probs));
        let mut targets = vec![0u32; 16];
        assert_eq!(
            unsafe { nexa_model_next_token_targets(tokens.as_ptr(), docs.as_ptr(), 16, t, targets.as_mut_ptr()) },
            NEXA_OK
        );
        let cfg = TrainConfigC {
            lr: 1e-2,
            min_lr: 1e-3,
            warmup_steps: 0,
            total_steps: 10,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.0,
            grad_clip: 1.0,
            distill_weight: 0.5,
            distill_temperature: 2.0,
            decay_all: 0,
        };
        assert_eq!(unsafe { nexa_model_set_train_config(student, &cfg) }, NEXA_OK);
        let mut s = StepMetricsC::default();
        let call =
            TrainCall { teacher: Some((&ids, &probs, k)), ..TrainCall::new(&tokens, &targets, &docs, (1, b, t)) };
        assert_eq!(call.step(student, &mut s), NEXA_OK, "{}", last_error());
        assert!(s.kl > 0.0 && s.loss.is_finite());
        unsafe {
            nexa_model_free(teacher);
            nexa_model_free(student);
        }
    }

    #[test]
    fn teacher_topk_refuses_bad_arguments_with_the_argument_named() {
        let m = tiny();
        let tokens = vec![1u32; 16];
        let docs = vec![0u32; 16];
        let (mut ids, mut probs) = (vec![0u32; 48], vec![0f32; 48]);
        let ok = TopK::new(m, &tokens, &docs, 2, 8, 3, (&mut ids, &mut probs));
        const NULL: Status = NEXA_ERR_NULL_POINTER;
        const INVALID: Status = NEXA_ERR_INVALID_ARGUMENT;
        let cases = [
            (TopK { model: std::ptr::null(), ..ok }, NULL, "model is NULL"),
            (TopK { tokens: std::ptr::null(), ..ok }, NULL, "tokens is NULL"),
            (TopK { t: 0, ..ok }, INVALID, "b=2 t=0 is empty"),
            (TopK { k: 0, len: 0, ..ok }, INVALID, "k = 0 must be in 1..=vocab_size (11)"),
            (TopK { k: 12, len: 192, ..ok }, INVALID, "k = 12 must be in 1..=vocab_size (11)"),
            (TopK { temperature: 0.0, ..ok }, INVALID, "temperature = 0 must be finite and > 0"),
            (TopK { temperature: -2.0, ..ok }, INVALID, "temperature = -2 must be"),
            (TopK { temperature: f64::NAN, ..ok }, INVALID, "temperature = NaN must be"),
            (TopK { temperature: f64::INFINITY, ..ok }, INVALID, "temperature = inf must be"),
            (TopK { temperature: 1e-50, ..ok }, INVALID, "teacher temperature 0 is invalid"),
            (TopK { len: 47, ..ok }, INVALID, "out_len = 47: out_ids and out_probs must each hold b * t * k = 48"),
            (TopK { ids: std::ptr::null_mut(), ..ok }, NULL, "out_ids is NULL"),
            (TopK { probs: std::ptr::null_mut(), ..ok }, NULL, "out_probs is NULL"),
            (TopK { b: usize::MAX / 2, t: 2, ..ok }, INVALID, "tokens: length 18446744073709551614 is too large"),
        ];
        for (case, status, want) in cases {
            let st = case.call();
            let msg = last_error();
            assert_eq!(st, status, "{want}: {msg}");
            assert!(msg.starts_with("nexa_model_teacher_topk: ") && msg.contains(want), "{want}: {msg}");
        }
        let outside = vec![11u32; 16];
        assert_eq!(TopK { tokens: outside.as_ptr(), ..ok }.call(), NEXA_ERR_INVALID_ARGUMENT);
        assert!(last_error().contains("token 11 at index 0 is outside vocab_size 11"));
        assert!(ids.iter().all(|&x| x == 0) && probs.iter().all(|&x| x == 0.0), "nothing written on error");
        unsafe { nexa_model_free(m) };
    }
}

//! nexa_model_train_step / nexa_model_train_steps: optimizer steps of the CPU GPT through the C ABI.
//!
//! A step takes `n_micro` micro-batches of `[B·T]` back to back (gradient accumulation); `train_steps`
//! takes `n_steps` such steps back to back and runs exactly what `n_steps` calls of `train_step` would
//! (the same `Model::train_step` on the same batches, in order), calling an optional C progress callback
//! with numbers only after each step. Both read the caller's flat arrays through [`TrainArrays`].

use std::ffi::c_void;

use nexa_model::{Batch, Model, StepMetrics, TeacherTopK};

use crate::boundary::*;
use crate::model_abi::{batch_len, model_error, targets_required};

// ---------------------------------------------------------------------------
// C types (mirror nexa_kernels.h)
// ---------------------------------------------------------------------------

/// Mirrors `nexa_step_metrics`.
#[repr(C)]
#[derive(Default)]
pub struct StepMetricsC {
    pub(crate) step: u64,
    pub(crate) loss: f64,
    pub(crate) ce: f64,
    pub(crate) kl: f64,
    pub(crate) grad_norm: f64,
    pub(crate) lr: f64,
    pub(crate) tokens: u64,
}

impl From<&StepMetrics> for StepMetricsC {
    fn from(s: &StepMetrics) -> StepMetricsC {
        StepMetricsC {
            step: s.step,
            loss: s.loss as f64,
            ce: s.ce as f64,
            kl: s.kl as f64,
            grad_norm: s.grad_norm as f64,
            lr: s.lr as f64,
            tokens: s.tokens,
        }
    }
}

/// Mirrors `nexa_progress_fn`; `None` is a NULL pointer. The "C" ABI (not "C-unwind"): a callback that
/// unwinds aborts the process instead of unwinding through Rust frames (the header forbids it).
pub type ProgressFn =
    Option<unsafe extern "C" fn(user: *mut c_void, step: u64, loss: f64, lr: f64, grad_norm: f64, tokens: u64)>;

// ---------------------------------------------------------------------------
// The caller's flat batch arrays
// ---------------------------------------------------------------------------

/// `count` micro-batches of `[B·T]` back to back: tokens/targets/doc_ids `[count·B·T]`, teacher
/// ids/probs `[count·B·T·k]` (none when k = 0). Borrowed from the caller for the duration of the call.
struct TrainArrays<'a> {
    b: usize,
    t: usize,
    tokens: &'a [u32],
    targets: &'a [u32],
    doc_ids: &'a [u32],
    teacher_k: usize,
    teacher: Option<(&'a [u32], &'a [f32])>,
}

impl TrainArrays<'_> {
    /// Micro-batch `i` (`i < count`) as an owned `Batch`.
    fn micro_batch(&self, i: usize) -> Batch {
        let n = self.b * self.t;
        let (lo, hi) = (i * n, (i + 1) * n);
        let k = self.teacher_k;
        Batch {
            b: self.b,
            t: self.t,
            tokens: self.tokens[lo..hi].to_vec(),
            targets: self.targets[lo..hi].to_vec(),
            doc_ids: self.doc_ids[lo..hi].to_vec(),
            teacher: self.teacher.map(|(ids, probs)| TeacherTopK {
                k,
                ids: ids[lo * k..hi * k].to_vec(),
                probs: probs[lo * k..hi * k].to_vec(),
            }),
        }
    }

    /// The `n_micro` micro-batches of step `s`.
    fn step_batches(&self, s: usize, n_micro: usize) -> Vec<Batch> {
        (s * n_micro..(s + 1) * n_micro).map(|i| self.micro_batch(i)).collect()
    }
}

/// Checks the shape (`count·B·T·k` must not overflow) and the pointers of `count` micro-batches.
/// `what` names the count in messages ("n_micro" or "n_steps * n_micro").
#[allow(clippy::too_many_arguments)]
unsafe fn train_arrays_in<'a>(
    tokens: *const u32,
    targets: *const u32,
    doc_ids: *const u32,
    count: usize,
    what: &str,
    b: usize,
    t: usize,
    teacher_ids: *const u32,
    teacher_probs: *const f32,
    teacher_k: usize,
) -> Result<TrainArrays<'a>, AbiError> {
    let n = batch_len(b, t)?;
    let total = n.checked_mul(count).ok_or_else(|| invalid(format!("{what} * b * t overflows")))?;
    targets_required(targets, "training needs targets")?;
    let teacher = if teacher_k == 0 {
        None
    } else {
        let kn =
            total.checked_mul(teacher_k).ok_or_else(|| invalid(format!("{what} * b * t * teacher_k overflows")))?;
        Some((slice_in(teacher_ids, kn, "teacher_ids")?, slice_in(teacher_probs, kn, "teacher_probs")?))
    };
    Ok(TrainArrays {
        b,
        t,
        targets: slice_in(targets, total, "targets")?,
        tokens: slice_in(tokens, total, "tokens")?,
        doc_ids: slice_in(doc_ids, total, "doc_ids")?,
        teacher_k,
        teacher,
    })
}

// ---------------------------------------------------------------------------
// Exported functions
// ---------------------------------------------------------------------------

#[no_mangle]
pub unsafe extern "C" fn nexa_model_train_step(
    model: *mut Model,
    tokens: *const u32,
    targets: *const u32,
    doc_ids: *const u32,
    n_micro: usize,
    b: usize,
    t: usize,
    teacher_ids: *const u32,
    teacher_probs: *const f32,
    teacher_k: usize,
    out: *mut StepMetricsC,
) -> Status {
    guard("nexa_model_train_step", || {
        let m = handle_mut(model, "model")?;
        let out = out_ref(out, "out")?;
        if n_micro == 0 {
            return Err(invalid("n_micro must be >= 1"));
        }
        let arrays =
            train_arrays_in(tokens, targets, doc_ids, n_micro, "n_micro", b, t, teacher_ids, teacher_probs, teacher_k)?;
        let s = m.train_step(&arrays.step_batches(0, n_micro)).map_err(model_error)?;
        *out = StepMetricsC::from(&s);
        Ok(())
    })
}

/// `n_steps` consecutive `nexa_model_train_step`s over arrays laid out step after step. Every
/// micro-batch is validated before the first step, so an invalid argument leaves the model as it was.
#[no_mangle]
pub unsafe extern "C" fn nexa_model_train_steps(
    model: *mut Model,
    tokens: *const u32,
    targets: *const u32,
    doc_ids: *const u32,
    n_micro: usize,
    b: usize,
    t: usize,
    teacher_ids: *const u32,
    teacher_probs: *const f32,
    teacher_k: usize,
    n_steps: usize,
    progress: ProgressFn,
    user: *mut c_void,
    out: *mut StepMetricsC,
) -> Status {
    guard("nexa_model_train_steps", || {
        let m = handle_mut(model, "model")?;
        let out = out_ref(out, "out")?;
        if n_micro == 0 || n_steps == 0 {
            return Err(invalid(format!("n_micro = {n_micro} and n_steps = {n_steps} must both be >= 1")));
        }
        let count = n_steps.checked_mul(n_micro).ok_or_else(|| invalid("n_steps * n_micro overflows"))?;
        let arrays = train_arrays_in(
            tokens,
            targets,
            doc_ids,
            count,
            "n_steps * n_micro",
            b,
            t,
            teacher_ids,
            teacher_probs,
            teacher_k,
        )?;
        // all or nothing: no step runs unless every micro-batch of every step is valid
        for i in 0..count {
            arrays.micro_batch(i).validate(&m.config).map_err(|e| {
                let mut e = model_error(e);
                e.message = format!("step {} micro-batch {}: {}", i / n_micro, i % n_micro, e.message);
                e
            })?;
        }
        for s in 0..n_steps {
            let metrics = m.train_step(&arrays.step_batches(s, n_micro)).map_err(model_error)?;
            *out = StepMetricsC::from(&metrics);
            if let Some(f) = progress {
                f(user, out.step, out.loss, out.lr, out.grad_norm, out.tokens);
            }
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_abi::nexa_model_free;
    use crate::model_test_support::{last_error, saved, tiny, Seen, TrainCall};
    use nexa_model::IGNORE;

    /// 3 steps × 2 micro-batches of [1·8]: tokens, targets (IGNORE at each row end), doc ids.
    fn steps_data() -> (Vec<u32>, Vec<u32>, Vec<u32>) {
        let tokens: Vec<u32> = (0..48u32).map(|i| (i * 5 + 1) % 11).collect();
        let targets: Vec<u32> = (0..48).map(|i| if i % 8 == 7 { IGNORE } else { tokens[i + 1] }).collect();
        (tokens, targets, vec![0u32; 48])
    }

    #[test]
    fn train_steps_equals_repeated_train_step_and_reports_each_step() {
        let (tokens, targets, docs) = steps_data();
        let (a, b) = (tiny(), tiny());
        let mut one = StepMetricsC::default();
        let mut singles = Vec::new();
        for s in 0..3 {
            let at = s * 16;
            let st = TrainCall::new(&tokens[at..], &targets[at..], &docs[at..], (2, 1, 8)).step(a, &mut one);
            assert_eq!(st, NEXA_OK);
            singles.push((one.step, one.loss, one.lr, one.grad_norm, one.tokens));
        }
        let mut seen = Seen::new();
        let mut last = StepMetricsC::default();
        let call = TrainCall::new(&tokens, &targets, &docs, (2, 1, 8));
        assert_eq!(call.steps(b, 3, Some(&mut seen), &mut last), NEXA_OK);
        assert_eq!(seen, singles);
        assert_eq!((last.step, last.loss.to_bits()), (one.step, one.loss.to_bits()));
        assert_eq!(saved(a), saved(b));
        // no callback is fine too
        let st = call.steps(b, 3, None, &mut last);
        assert_eq!((st, last.step), (NEXA_OK, 6));
        unsafe {
            nexa_model_free(a);
            nexa_model_free(b);
        }
    }

    #[test]
    fn a_bad_batch_in_any_step_is_refused_before_the_first_step() {
        let (mut tokens, targets, docs) = steps_data();
        tokens[40] = 11; // step 2, micro-batch 1: outside the vocabulary
        let m = tiny();
        let before = saved(m);
        let mut seen = Seen::new();
        let mut last = StepMetricsC::default();
        let call = |n_steps: usize, n_micro: usize, seen: &mut Seen, last: &mut StepMetricsC| {
            TrainCall::new(&tokens, &targets, &docs, (n_micro, 1, 8)).steps(m, n_steps, Some(seen), last)
        };
        assert_eq!(call(3, 2, &mut seen, &mut last), NEXA_ERR_INVALID_ARGUMENT);
        let msg = last_error();
        assert!(msg.contains("step 2 micro-batch 1: token 11 at index 0"), "{msg}");
        assert_eq!(call(0, 2, &mut seen, &mut last), NEXA_ERR_INVALID_ARGUMENT);
        assert_eq!(call(3, 0, &mut seen, &mut last), NEXA_ERR_INVALID_ARGUMENT);
        assert_eq!(call(usize::MAX, 2, &mut seen, &mut last), NEXA_ERR_INVALID_ARGUMENT);
        let no_targets = TrainCall { targets: None, ..TrainCall::new(&tokens, &targets, &docs, (2, 1, 8)) };
        assert_eq!(no_targets.steps(m, 3, None, &mut last), NEXA_ERR_NULL_POINTER);
        assert!(seen.is_empty());
        assert_eq!(saved(m), before);
        unsafe { nexa_model_free(m) };
    }
}

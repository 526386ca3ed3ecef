//! What the tests of model_abi.rs and model_train_abi.rs share: a tiny model, its checkpoint bytes, the last
//! error, and the training calls made as a C caller makes them ([`TrainCall`]), so that each call is one line.

use std::ffi::c_void;

use nexa_model::Model;

use crate::boundary::*;
use crate::model_abi::{nexa_model_new, nexa_model_save, ModelConfigC};
use crate::model_train_abi::{nexa_model_train_step, nexa_model_train_steps, ProgressFn, StepMetricsC};

/// A fresh model of one layer (vocab 11, seq_len 8, 2 heads, d_model 8) from seed 7.
pub(crate) fn tiny() -> *mut Model {
    let cfg = ModelConfigC { vocab_size: 11, seq_len: 8, n_layer: 1, n_head: 2, d_model: 8 };
    let mut m = std::ptr::null_mut();
    assert_eq!(unsafe { nexa_model_new(&cfg, 7, &mut m) }, NEXA_OK);
    m
}

/// The checkpoint bytes of `m` (`nexa_model_save`, sized by a first call with no buffer).
pub(crate) fn saved(m: *mut Model) -> Vec<u8> {
    let mut len = 0usize;
    unsafe { nexa_model_save(m, std::ptr::null_mut(), 0, &mut len) };
    let mut bytes = vec![0u8; len];
    assert_eq!(unsafe { nexa_model_save(m, bytes.as_mut_ptr(), len, &mut len) }, NEXA_OK);
    bytes
}

/// This thread's `nexa_last_error()`.
pub(crate) fn last_error() -> String {
    unsafe { std::ffi::CStr::from_ptr(crate::nexa_last_error()) }.to_string_lossy().into_owned()
}

/// Every progress callback as (step, loss, lr, grad_norm, tokens).
pub(crate) type Seen = Vec<(u64, f64, f64, f64, u64)>;

/// The progress callback of [`TrainCall::steps`]: records each call in the `Seen` passed as `user`.
unsafe extern "C" fn record(user: *mut c_void, step: u64, loss: f64, lr: f64, grad_norm: f64, tokens: u64) {
    (*(user as *mut Seen)).push((step, loss, lr, grad_norm, tokens));
}

/// The arrays and shape of a training call: micro-batches of `[b·t]` back to back in `tokens`, `targets` (None
/// passes NULL) and `docs`, `n_micro` of them per step, and the teacher's top-k (`ids`, `probs`, `k`; None
/// passes NULL, NULL, 0).
#[derive(Clone, Copy)]
pub(crate) struct TrainCall<'a> {
    pub tokens: &'a [u32],
    pub targets: Option<&'a [u32]>,
    pub docs: &'a [u32],
    pub n_micro: usize,
    pub b: usize,
    pub t: usize,
    pub teacher: Option<(&'a [u32], &'a [f32], usize)>,
}

impl<'a> TrainCall<'a> {
    /// No teacher; the shape is `(n_micro, b, t)`.
    pub fn new(tokens: &'a [u32], targets: &'a [u32], docs: &'a [u32], shape: (usize, usize, usize)) -> Self {
        let (n_micro, b, t) = shape;
        TrainCall { tokens, targets: Some(targets), docs, n_micro, b, t, teacher: None }
    }

    /// The array pointers: tokens, targets, doc ids, teacher ids, teacher probs.
    fn ptrs(&self) -> (*const u32, *const u32, *const u32, *const u32, *const f32) {
        let targets = self.targets.map_or(std::ptr::null(), |t| t.as_ptr());
        let (ids, probs) =
            self.teacher.map_or((std::ptr::null(), std::ptr::null()), |(i, p, _)| (i.as_ptr(), p.as_ptr()));
        (self.tokens.as_ptr(), targets, self.docs.as_ptr(), ids, probs)
    }

    fn teacher_k(&self) -> usize {
        self.teacher.map_or(0, |(_, _, k)| k)
    }

    /// `nexa_model_train_step` on `m`.
    pub fn step(&self, m: *mut Model, out: &mut StepMetricsC) -> Status {
        let ((tokens, targets, docs, ids, probs), k) = (self.ptrs(), self.teacher_k());
        unsafe { nexa_model_train_step(m, tokens, targets, docs, self.n_micro, self.b, self.t, ids, probs, k, out) }
    }

    /// `nexa_model_train_steps` of `n_steps` on `m`, each step recorded in `seen` (None: no callback, NULL user).
    pub fn steps(&self, m: *mut Model, n_steps: usize, seen: Option<&mut Seen>, out: &mut StepMetricsC) -> Status {
        let ((tokens, targets, docs, ids, probs), k) = (self.ptrs(), self.teacher_k());
        let (progress, user): (ProgressFn, *mut c_void) = match seen {
            Some(seen) => (Some(record), seen as *mut Seen as *mut c_void),
            None => (None, std::ptr::null_mut()),
        };
        let (n, b, t) = (self.n_micro, self.b, self.t);
        unsafe {
            nexa_model_train_steps(m, tokens, targets, docs, n, b, t, ids, probs, k, n_steps, progress, user, out)
        }
    }
}

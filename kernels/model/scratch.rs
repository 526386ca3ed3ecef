//! Per-thread pool of reusable f32 buffers. Large temporaries (GEMM packing, attention
//! scratch) come from here instead of fresh allocations, which would otherwise cost a
//! page fault per 4 KiB on every call. Contents are always zeroed on take.

use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A zero-filled buffer of `len` floats (reused from this thread's pool when possible).
pub fn scratch_take(len: usize) -> Vec<f32> {
    let mut v = POOL.with(|p| {
        let mut p = p.borrow_mut();
        match p.iter().position(|v| v.capacity() >= len) {
            Some(i) => p.swap_remove(i),
            None => p.pop().unwrap_or_default(),
        }
    });
    v.clear();
    v.resize(len, 0.0);
    v
}

/// Returns a buffer to this thread's pool (kept small: at most 8 buffers).
pub fn scratch_give(v: Vec<f32>) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < 8 {
            p.push(v);
        }
    });
}

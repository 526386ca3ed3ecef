//! Per-thread pool of reusable f32 buffers. Large temporaries (GEMM packing, attention
//! scratch) come from here instead of fresh allocations, which would otherwise cost a
//! page fault per 4 KiB on every call. Contents are always zeroed on take.

use std::cell::RefCell;

thread_local! {
    static POOL: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// The pooled buffer that fits `len` best (the smallest large enough, else the largest), or a new one.
fn pooled(len: usize) -> Vec<f32> {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        let fits = (0..p.len()).filter(|&i| p[i].capacity() >= len).min_by_key(|&i| p[i].capacity());
        match fits.or_else(|| (0..p.len()).max_by_key(|&i| p[i].capacity())) {
            Some(i) => p.swap_remove(i),
            None => Vec::new(),
        }
    })
}

/// A zero-filled buffer of `len` floats (reused from this thread's pool when possible).
pub fn scratch_take(len: usize) -> Vec<f32> {
    let mut v = pooled(len);
    v.clear();
    v.resize(len, 0.0);
    v
}

/// A buffer of `len` floats with whatever an earlier user left in it (zeros where it is new), for callers that write
/// every element they read: no zero-fill.
pub fn scratch_take_dirty(len: usize) -> Vec<f32> {
    let mut v = pooled(len);
    v.truncate(len);
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

//! The FFI boundary: status codes, the thread-local last error, panic capture and
//! checked conversion of raw (pointer, length) pairs into slices.

use std::cell::RefCell;
use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};

// ---------------------------------------------------------------------------
// Status codes (mirror nexa_kernels.h)
// ---------------------------------------------------------------------------

pub type Status = i32;
pub const NEXA_OK: Status = 0;
pub const NEXA_ERR_INVALID_ARGUMENT: Status = 1;
pub const NEXA_ERR_NULL_POINTER: Status = 2;
pub const NEXA_ERR_BUFFER_TOO_SMALL: Status = 3;
pub const NEXA_ERR_FORMAT: Status = 4;
pub const NEXA_ERR_INTERNAL: Status = 5;

/// A failed call: status plus a message naming the argument and the fix.
pub struct AbiError {
    pub status: Status,
    pub message: String,
}

pub fn invalid(message: impl Into<String>) -> AbiError {
    AbiError { status: NEXA_ERR_INVALID_ARGUMENT, message: message.into() }
}

pub fn format_error(message: impl Into<String>) -> AbiError {
    AbiError { status: NEXA_ERR_FORMAT, message: message.into() }
}

pub fn too_small(what: &str, needed: usize, cap: usize) -> AbiError {
    AbiError { status: NEXA_ERR_BUFFER_TOO_SMALL, message: format!("{what}: buffer holds {cap}, needs {needed}") }
}

// ---------------------------------------------------------------------------
// Last error (thread-local)
// ---------------------------------------------------------------------------

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|e| *e.borrow_mut() = c);
}

/// Pointer to this thread's last error message (valid until the next call).
pub fn last_error_ptr() -> *const std::ffi::c_char {
    LAST_ERROR.with(|e| e.borrow().as_ptr())
}

/// Runs `f`, converting errors and panics into a status and the last error.
pub fn guard(name: &str, f: impl FnOnce() -> Result<(), AbiError>) -> Status {
    set_last_error("");
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => NEXA_OK,
        Ok(Err(e)) => {
            set_last_error(&format!("{name}: {}", e.message));
            e.status
        }
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "{name}: internal error (Rust panic: {msg}); please report this with the input that caused it"
            ));
            NEXA_ERR_INTERNAL
        }
    }
}

// ---------------------------------------------------------------------------
// Raw pointers -> slices
// ---------------------------------------------------------------------------

fn check_ptr<T>(ptr: *const T, len: usize, name: &str) -> Result<(), AbiError> {
    if ptr.is_null() {
        let message =
            if len == 1 { format!("{name} is NULL") } else { format!("{name} is NULL but its length is {len}") };
        return Err(AbiError { status: NEXA_ERR_NULL_POINTER, message });
    }
    if (ptr as usize) % std::mem::align_of::<T>() != 0 {
        return Err(invalid(format!("{name} is not aligned to {} bytes", std::mem::align_of::<T>())));
    }
    if len.checked_mul(std::mem::size_of::<T>()).is_none_or(|b| b > isize::MAX as usize) {
        return Err(invalid(format!("{name}: length {len} is too large")));
    }
    Ok(())
}

/// Input slice; `len == 0` accepts NULL.
///
/// # Safety
/// `ptr` must point to `len` readable `T` for the duration of the call.
pub unsafe fn slice_in<'a, T>(ptr: *const T, len: usize, name: &str) -> Result<&'a [T], AbiError> {
    if len == 0 {
        return Ok(&[]);
    }
    check_ptr(ptr, len, name)?;
    Ok(std::slice::from_raw_parts(ptr, len))
}

/// Output slice; `len == 0` accepts NULL.
///
/// # Safety
/// `ptr` must point to `len` writable `T` for the duration of the call.
pub unsafe fn slice_out<'a, T>(ptr: *mut T, len: usize, name: &str) -> Result<&'a mut [T], AbiError> {
    if len == 0 {
        return Ok(&mut []);
    }
    check_ptr(ptr as *const T, len, name)?;
    Ok(std::slice::from_raw_parts_mut(ptr, len))
}

/// A required single output value.
///
/// # Safety
/// `ptr` must be NULL or point to a writable `T`.
pub unsafe fn out_ref<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, AbiError> {
    check_ptr(ptr as *const T, 1, name)?;
    Ok(&mut *ptr)
}

/// A required handle argument.
///
/// # Safety
/// `ptr` must be NULL or a live handle of type `T` created by this library.
pub unsafe fn handle<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, AbiError> {
    check_ptr(ptr, 1, name)?;
    Ok(&*ptr)
}

/// Mutable handle argument.
///
/// # Safety
/// As [`handle`], and no other reference to it may be live.
pub unsafe fn handle_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, AbiError> {
    check_ptr(ptr as *const T, 1, name)?;
    Ok(&mut *ptr)
}

/// Validates CSR document offsets (`n_docs + 1` entries, from 0, non-decreasing, ending at `data_len`).
pub fn check_offsets(offsets: &[u64], data_len: usize, name: &str) -> Result<(), AbiError> {
    if offsets.is_empty() {
        return Err(invalid(format!("{name} needs n_docs + 1 entries (got 0)")));
    }
    if offsets[0] != 0 {
        return Err(invalid(format!("{name}[0] must be 0 (got {})", offsets[0])));
    }
    for (i, w) in offsets.windows(2).enumerate() {
        if w[1] < w[0] {
            return Err(invalid(format!("{name} decrease at document {i} ({} > {})", w[0], w[1])));
        }
    }
    let last = offsets[offsets.len() - 1];
    if last != data_len as u64 {
        return Err(invalid(format!("{name} ends at {last} but the data holds {data_len} entries")));
    }
    Ok(())
}

/// Copies `src` into a caller buffer, reporting the required size via `out_len`.
pub fn copy_out<T: Copy>(src: &[T], out: &mut [T], out_len: &mut usize, what: &str) -> Result<(), AbiError> {
    *out_len = src.len();
    if out.len() < src.len() {
        return Err(too_small(what, src.len(), out.len()));
    }
    out[..src.len()].copy_from_slice(src);
    Ok(())
}

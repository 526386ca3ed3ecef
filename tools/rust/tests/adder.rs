//! A C-ABI shared library proving rust_shared_library: called from a C test and a TypeScript (koffi) test.
use std::os::raw::c_char;

/// Adds two signed 32-bit integers, saturating on overflow.
#[no_mangle]
pub extern "C" fn nexa_example_add(a: i32, b: i32) -> i32 {
    a.saturating_add(b)
}

/// Number of bytes before the NUL terminator of `s`; -1 when `s` is null.
///
/// # Safety
/// `s` must be null or point to a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn nexa_example_strlen(s: *const c_char) -> i64 {
    if s.is_null() {
        return -1;
    }
    std::ffi::CStr::from_ptr(s).to_bytes().len() as i64
}

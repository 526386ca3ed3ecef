//! `libnexa_kernels.so`: the one C ABI over the kernel crates (see nexa_kernels.h).
//!
//! Every exported function goes through [`boundary::guard`], which turns errors
//! into status codes plus a thread-local message and catches panics, so nothing
//! unwinds into the caller.

// The C header documents every function's contract; the Rust side mirrors it.
#![allow(clippy::missing_safety_doc)]

#[cfg(test)]
mod abi_view;
mod boundary;
mod decode_abi;
mod gate_abi;
mod model_abi;
#[cfg(test)]
mod model_test_support;
mod model_train_abi;
mod pack_abi;
mod shuffle_abi;
mod stats_abi;
mod tokenize_abi;

use boundary::{guard, Status};

/// Must equal NEXA_ABI_VERSION in nexa_kernels.h.
pub const ABI_VERSION: u32 = 9;

#[no_mangle]
pub extern "C" fn nexa_abi_version() -> u32 {
    ABI_VERSION
}

#[no_mangle]
pub extern "C" fn nexa_last_error() -> *const std::ffi::c_char {
    boundary::last_error_ptr()
}

#[no_mangle]
pub extern "C" fn nexa_selftest_panic() -> Status {
    guard("nexa_selftest_panic", || panic!("deliberate panic to test the FFI boundary"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header and this crate agree on the version.
    #[test]
    fn header_declares_the_same_abi_version() {
        let header = include_str!("nexa_kernels.h");
        assert!(header.contains(&format!("#define NEXA_ABI_VERSION {ABI_VERSION}u")));
    }

    #[test]
    fn panics_become_internal_status_with_message() {
        assert_eq!(nexa_selftest_panic(), boundary::NEXA_ERR_INTERNAL);
        let msg = unsafe { std::ffi::CStr::from_ptr(nexa_last_error()) }.to_string_lossy().into_owned();
        assert!(msg.contains("deliberate panic"), "{msg}");
    }
}

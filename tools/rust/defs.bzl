"""Public face of the Rust rule family: rust_library, rust_binary, rust_test, rust_shared_library.

These call the host rustc (detected and pinned by //tools/toolchains) directly. Names and core attributes follow
rules_rust (`//rust:defs.bzl`), so a team with network access can switch to upstream by changing this load.
"""

load(
    "//tools/rust/private:rust.bzl",
    _RustInfo = "RustInfo",
    _rust_binary = "rust_binary",
    _rust_library = "rust_library",
    _rust_shared_library = "rust_shared_library",
    _rust_test = "rust_test",
)

RustInfo = _RustInfo
rust_library = _rust_library
rust_binary = _rust_binary
rust_test = _rust_test
rust_shared_library = _rust_shared_library

"""kernel_crate(): a std-only kernel crate and its unit tests, built the way every kernel crate is built."""

load("//tools/rust:defs.bzl", "rust_library", "rust_test")

# Kernels are always optimized (also in fastbuild): the ABI library links these rlibs and the benchmarks measure
# them. No target-specific CPU flags: one binary runs everywhere.
KERNEL_RUSTC_FLAGS = [
    "-C",
    "opt-level=3",
    "-C",
    "codegen-units=1",
]

# Kernel unit tests are optimised like the crates but keep `debug_assert!` and integer-overflow checks on, so the
# invariants the code states are checked under `bazel test` (benchmarks and the ABI library stay without them).
KERNEL_TEST_RUSTC_FLAGS = [
    "-C",
    "debug-assertions=on",
    "-C",
    "overflow-checks=on",
]

def kernel_crate(name, srcs = None, crate_name = None, deps = []):
    """Declares rust_library `name` (visible inside //kernels) and rust_test `<name>_test` of its sources.

    Args:
      name: the crate's target name, e.g. "gate".
      srcs: Rust sources; default every *.rs file of the package (tests included, under #[cfg(test)]).
      crate_name: crate name when it differs from `name`.
      deps: other kernel crates it uses.
    """
    rust_library(
        name = name,
        srcs = srcs if srcs != None else native.glob(["*.rs"]),
        crate_name = crate_name,
        rustc_flags = KERNEL_RUSTC_FLAGS,
        deps = deps,
        visibility = [
            "//kernels:__subpackages__",
            "//tests/governance:__pkg__",
        ],
    )
    rust_test(
        name = name + "_test",
        size = "small",
        crate = ":" + name,
        rustc_flags = KERNEL_TEST_RUSTC_FLAGS,
    )

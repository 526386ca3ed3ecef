"""The one file that pins host toolchain versions.

Repository rules in repositories.bzl compare what they find on the host with these pins. A pin is a version
prefix on component boundaries: "1.95" accepts 1.95.0 and 1.95.2 but not 1.9.5 or 1.96.0. Change a pin here (and
in the README's prerequisites) when the team moves to a new toolchain.
"""

TOOL_PINS = {
    # Node.js runs TypeScript tools (tsc, esbuild, jest) and every stage entry point.
    "node": struct(version = "20", fix = "install Node.js 20 (Debian: the NodeSource or distro nodejs package) so that `node --version` prints v20.x"),
    # rustc compiles the kernels (std only); the rustup proxy is resolved to the real binary.
    "rustc": struct(version = "1.95", fix = "install Rust 1.95 (`rustup toolchain install 1.95 && rustup default 1.95`)"),
    # protoc compiles the nexa.v1 contracts; Debian's protobuf-compiler 3.21.12.
    "protoc": struct(version = "3.21", fix = "run `bash tools/setup/setup.sh` (installs Debian's protobuf-compiler and libprotobuf-dev)"),
    # nvcc compiles kernels/cuda; optional: without it CUDA targets are skipped.
    "nvcc": struct(version = "13.0", fix = "install the CUDA 13.0 toolkit under /usr/local/cuda-13.0, or build without CUDA with --repo_env=NEXA_CUDA=off"),
}

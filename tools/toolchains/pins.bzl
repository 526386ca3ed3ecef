"""The one file that pins toolchain versions.

Repository rules in repositories.bzl compare what they find on the host with TOOL_PINS. A pin is a version
prefix on component boundaries: "1.95" accepts 1.95.0 and 1.95.2 but not 1.9.5 or 1.96.0. Change a pin here (and
in the README's prerequisites) when the team moves to a new toolchain.

CUDA_WHEELS are exact: tools/setup/cuda_toolkit.py (run by tools/setup/setup.sh) parses this file and installs
those wheels, checked against their digests, as a toolkit under ~/.cache/nexacompute/cuda-<nvcc>-<key>; @nexa_cuda
computes the same directory from the same pins and uses it. Keep CUDA_WHEELS a plain literal (the installer reads
it with Python's literal parser) and the nvcc wheel's version within TOOL_PINS["nvcc"] (checked at fetch).
"""

TOOL_PINS = {
    # Node.js runs TypeScript tools (tsc, esbuild, jest) and every stage entry point.
    "node": struct(version = "20", fix = "install Node.js 20 (Debian: the NodeSource or distro nodejs package) so that `node --version` prints v20.x"),
    # rustc compiles the kernels (std only); the rustup proxy is resolved to the real binary.
    "rustc": struct(version = "1.95", fix = "install Rust 1.95 (`rustup toolchain install 1.95 && rustup default 1.95`)"),
    # protoc compiles the nexa.v1 contracts; Debian's protobuf-compiler 3.21.12.
    "protoc": struct(version = "3.21", fix = "run `bash tools/setup/setup.sh` (installs Debian's protobuf-compiler and libprotobuf-dev)"),
    # nvcc compiles kernels/cuda; the toolkit comes from CUDA_WHEELS below (or NEXA_CUDA_PATH).
    "nvcc": struct(version = "13.0", fix = "run `bash tools/setup/setup.sh` (installs CUDA_WHEELS of tools/toolchains/pins.bzl), point --repo_env=NEXA_CUDA_PATH at a CUDA 13.0 toolkit, or build without CUDA with --config=nocuda"),
}

# The CUDA toolkit, made of NVIDIA's PyPI wheels for x86_64 Linux: distribution -> (version, SHA-256 of the wheel).
# These five are what nvcc needs to compile .cu files and what cc targets need to link the static runtime. Not
# pinned because nothing here uses them: nvidia-cuda-cupti, -cuxxfilt, -profiler-api, -culibos, nvidia-nvtx. To add
# one, `pip download --no-deps --only-binary=:all: NAME==VERSION` and pin the wheel's sha256sum.
CUDA_WHEELS = {
    # bin/: nvcc, ptxas, fatbinary, cudafe++, nvlink, bin2c, nvcc.profile
    "nvidia-cuda-nvcc": ("13.0.88", "56fe502eb77625a12f25172caa3cdddb4e4c8ba2c8c17dba44b164761b380f03"),
    # include/crt/: host_config.h and the other headers nvcc's front end includes
    "nvidia-cuda-crt": ("13.0.88", "2c8043c7c9e02492716426e9919fc78d2c5b3b2a7a768a88e952676b08aa55a4"),
    # nvvm/bin/cicc (device code generator), nvvm/libdevice, lib/libnvvm.so.4
    "nvidia-nvvm": ("13.0.88", "c5f41ffeb6466944a026dfa5317d7d85355c119bbec279205d22f1869d1054e0"),
    # include/cccl/: libcu++ (cuda/std), CUB, Thrust; nvcc adds it as a system include directory
    "nvidia-cuda-cccl": ("13.0.85", "e0da7ad981f3a8aff08241b5bfc1af868742a63e2762f53a5171c492ef242649"),
    # include/: cuda_runtime.h, cuda_bf16.h, mma.h, ...; lib/: libcudart_static.a, libcudart.so.13, libcudadevrt.a
    "nvidia-cuda-runtime": ("13.0.96", "7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548"),
}

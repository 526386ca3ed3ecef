"""Public face of the CUDA rule family: cuda_library, cuda_test.

nvcc is called by its real path (a symlinked nvcc cannot find its headers) through @nexa_cuda//:nvcc. On a
machine without CUDA every target here is incompatible with //tools/platforms:host and is skipped by
`bazel build //...` / `bazel test //...` instead of failing. Names and core attributes follow rules_cuda.
"""

load("//tools/cuda/private:cuda.bzl", _cuda_archive = "cuda_archive")
load("//tools/platforms:pools.bzl", "GPU_POOL")

CUDA_COMPATIBLE = ["//tools/cuda:cuda_available"]

def cuda_library(name, srcs, hdrs = [], deps = [], copts = [], gpu_arch = "sm_90", visibility = None, tags = [], **kwargs):
    """CUDA sources compiled by nvcc into objects and a static library that cc (and Rust) targets can link.

    Args:
      name: the cc_library to depend on (headers + archive + static cudart).
      srcs: .cu (and .cc/.cpp compiled by nvcc) files.
      hdrs: public headers (a C launcher API declared extern "C" is the usual face).
      deps: other cuda_library or cc_library targets whose headers the sources include.
      copts: extra nvcc flags.
      gpu_arch: the SASS target, e.g. "sm_90" (H100/H200), "sm_90a" (wgmma), "sm_80".
      visibility: visibility of the cc_library.
      tags: tags of every generated target.
      **kwargs: passed to the cc_library.
    """
    _cuda_archive(
        name = name + "_archive",
        srcs = srcs,
        hdrs = hdrs,
        deps = deps,
        copts = copts,
        gpu_arch = gpu_arch,
        tags = tags,
        target_compatible_with = CUDA_COMPATIBLE,
        visibility = ["//visibility:private"],
    )
    native.cc_import(
        name = name + "_import",
        static_library = ":" + name + "_archive",
        alwayslink = True,
        tags = tags,
        # (cc_import has no target_compatible_with in Bazel 4.2; it inherits incompatibility from the archive.)
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        hdrs = hdrs,
        deps = [":" + name + "_import", "@nexa_cuda//:cudart_static"] + deps,
        tags = tags,
        target_compatible_with = CUDA_COMPATIBLE,
        visibility = visibility,
        **kwargs
    )

def cuda_test(name, srcs, deps = [], tags = [], **kwargs):
    """A cc_test of CUDA code, tagged `gpu`: built everywhere CUDA is, run only under --config=gpu.

    Under --config=rbe it goes to the GPU pool (exec_properties = GPU_POOL of //tools/platforms:pools.bzl).
    """
    native.cc_test(
        name = name,
        srcs = srcs,
        deps = deps,
        tags = tags + ["gpu"],
        exec_properties = GPU_POOL,
        target_compatible_with = CUDA_COMPATIBLE,
        **kwargs
    )

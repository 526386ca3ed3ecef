"""The module layering policy as data.

Which targets the governance tests analyse is not listed here: every module and kernel package ends its BUILD file
with governed_package() (package.bzl), which records all of its rules as Bazel declared them.
"""

# Core flow order (a core module may not use the code of any other core module; see the root BUILD.bazel).
CORE_MODULES = ["data", "distill", "pack", "train", "eval", "inference"]

# Cross-cutting modules: used by core modules and the CLI; never use core modules or the CLI.
CROSS_CUTTING_MODULES = ["manifest", "registry", "monitoring", "stage", "packed_shards", "text_dataset", "tokenizer_files", "checkpoint"]

# The composition layer: may use everything; nothing uses it.
CLI_MODULES = ["cli"]

ALL_MODULES = CORE_MODULES + CROSS_CUTTING_MODULES + CLI_MODULES

# Kernel packages (each has a README.md stating its responsibility).
KERNEL_PACKAGES = [
    "kernels",
    "kernels/abi",
    "kernels/binding",
    "kernels/cuda",
    "kernels/gate",
    "kernels/json",
    "kernels/model",
    "kernels/pack",
    "kernels/shuffle",
    "kernels/stats",
    "kernels/tokenize",
]

# Packages recorded with governed_package(graph = False): their targets are not graph roots, with the reason. CUDA targets are incompatible (skipped) on machines
# without a toolkit, and a graph rooted at them would skip the governance tests there too.
GRAPH_EXEMPT_PACKAGES = {
    "kernels/cuda": "CUDA targets are skipped where no toolkit is detected; they depend only on //tools/cuda and @nexa_cuda",
}

def layering_json(name):
    """A genrule writing the layering above as <name>.json for the governance tests."""
    data = {
        "core": CORE_MODULES,
        "crossCutting": CROSS_CUTTING_MODULES,
        "cli": CLI_MODULES,
        "kernelPackages": KERNEL_PACKAGES,
        "graphExempt": GRAPH_EXEMPT_PACKAGES,
    }
    native.genrule(
        name = name,
        outs = [name + ".json"],
        cmd = "printf '%s\\n' '{}' > $@".format(json.encode(data)),
    )

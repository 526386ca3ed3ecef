"""The governance tests' view of the layering: lists and a JSON file made from LAYERS (layers.bzl), which states it.

Which targets the governance tests analyse is not listed here: every module and kernel package ends its BUILD file
with governed_package() (package.bzl), which records all of its rules as Bazel declared them.
"""

load(":layers.bzl", "LAYERS", "layer_packages")

# Every module, in layer order (core flow first).
ALL_MODULES = [m for layer in LAYERS.values() for m in layer.get("modules", [])]

# Kernel packages (each has a README.md stating its responsibility).
KERNEL_PACKAGES = layer_packages("kernels")

# Packages recorded with governed_package(graph = False): their targets are not graph roots, with the reason. CUDA targets are incompatible (skipped) on machines
# without a toolkit, and a graph rooted at them would skip the governance tests there too.
GRAPH_EXEMPT_PACKAGES = {
    "kernels/cuda": "CUDA targets are skipped where no toolkit is detected; they depend only on //tools/cuda and @nexa_cuda",
}

def layering_json(name):
    """A genrule writing the layering as <name>.json for the governance tests (policy.ts `Layering`)."""
    data = {
        "core": LAYERS["core"]["modules"],
        "crossCutting": LAYERS["cross_cutting"]["modules"],
        "cli": LAYERS["cli"]["modules"],
        "kernelPackages": KERNEL_PACKAGES,
        "graphExempt": GRAPH_EXEMPT_PACKAGES,
        "mayUse": {layer: spec["may_use"] for layer, spec in LAYERS.items()},
    }
    native.genrule(
        name = name,
        outs = [name + ".json"],
        cmd = "printf '%s\\n' '{}' > $@".format(json.encode(data)),
    )

"""The module layering policy as data, and the list of module targets the governance tests analyse.

Every rule target declared in a module's BUILD.bazel must be listed in MODULE_TARGETS (the governance test
names any that is missing), so the graph the tests check is the whole module graph.
"""

# Core flow order (a core module may not use the code of any other core module; see the root BUILD.bazel).
CORE_MODULES = ["data", "distill", "pack", "train", "eval", "inference"]

# Cross-cutting modules: used by core modules and the CLI; never use core modules or the CLI.
CROSS_CUTTING_MODULES = ["manifest", "registry", "monitoring", "stage", "packed_shards"]

# The composition layer: may use everything; nothing uses it.
CLI_MODULES = ["cli"]

ALL_MODULES = CORE_MODULES + CROSS_CUTTING_MODULES + CLI_MODULES

# Rule targets of modules/* and kernels/* (roots of the analysed graph).
MODULE_TARGETS = [
    "//modules/manifest",
    "//modules/manifest:manifest_test",
    "//modules/monitoring",
    "//modules/monitoring:monitoring_test",
    "//modules/registry",
    "//modules/registry:bench",
    "//modules/registry:registry_test",
    "//modules/registry:registry_testing",
    "//modules/train",
    "//modules/train:stage",
    "//modules/train:train_test",
    "//modules/stage",
    "//modules/stage:stage_test",
    "//modules/cli",
    "//modules/cli:cli_test",
    "//modules/cli:nexa",
    "//modules/data",
    "//modules/data:data_test",
    "//modules/data:stage",
    "//modules/distill",
    "//modules/distill:distill_test",
    "//modules/distill:stage",
    "//modules/eval",
    "//modules/eval:eval_test",
    "//modules/eval:stage",
    "//modules/pack",
    "//modules/pack:pack_test",
    "//modules/pack:stage",
    "//modules/packed_shards",
    "//modules/packed_shards:packed_shards_test",
    "//kernels:bench",
    "//kernels/abi:abi_test",
    "//kernels/abi:nexa_kernels",
    "//kernels/binding",
    "//kernels/binding:binding_test",
    "//kernels/gate",
    "//kernels/gate:gate_test",
    "//kernels/json",
    "//kernels/json:json_test",
    "//kernels/model",
    "//kernels/model:bench",
    "//kernels/model:model_test",
    "//kernels/pack",
    "//kernels/pack:pack_test",
    "//kernels/shuffle",
    "//kernels/shuffle:shuffle_test",
    "//kernels/stats",
    "//kernels/stats:stats_test",
    "//kernels/tokenize",
    "//kernels/tokenize:tokenize_test",
]

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

# Packages whose targets are not graph roots, with the reason. CUDA targets are incompatible (skipped) on machines
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

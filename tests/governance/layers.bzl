"""The layering of NexaCompute, stated once: its layers, the packages of each, and which layers each may use.

Everything else is made from LAYERS and says no more than where to look:
  - the package groups of the root BUILD.bazel: `consumers_of(layer)` is every package of every layer that may use
    `layer`, so visibility turns a wrong-way edge into an analysis error;
  - the governance tests' data (`layering_json()` in layering.bzl): the same policy checked over the real build
    graph, with messages naming the packages and the fix (modules/cli/policy/policy.ts, which `nexa lint` runs too).
The module graph is a DAG (ARCHITECTURE.md "Modules and the DAG", POLICY.md §11). A core module never uses another
core module's code, only its contract types (generated from proto/nexa/v1), so the core flow's order says where
products go, not who may import whom.
"""

LAYERS = {
    "core": {
        "doc": "the core flow, in order: each stage module turns the previous stage's product into the next",
        "modules": ["data", "distill", "pack", "train", "eval", "inference"],
        "may_use": ["cross_cutting", "kernels", "contracts"],
    },
    "cross_cutting": {
        "doc": "used by core modules and the CLI; never use them",
        "modules": ["manifest", "registry", "monitoring", "stage", "packed_shards", "text_dataset", "tokenizer_files", "checkpoint"],
        "may_use": ["cross_cutting", "kernels", "contracts"],
    },
    "cli": {
        "doc": "the operator's `nexa` command: may use every module; no module uses it",
        "modules": ["cli"],
        "may_use": ["core", "cross_cutting", "kernels", "contracts"],
    },
    "kernels": {
        "doc": "Rust/CUDA behind one C ABI and one TypeScript binding: use nothing in modules/ (each package has a README.md)",
        "packages": [
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
        ],
        "may_use": ["kernels"],
    },
    "contracts": {
        "doc": "proto/nexa/v1: the only thing core modules share with each other",
        "packages": ["proto"],
        "may_use": ["contracts"],
    },
    "composition": {
        "doc": "pipeline definitions (pipelines/, experiments/), cross-module tests and benchmarks: may use everything; nothing uses them",
        "packages": ["benchmarks", "experiments", "pipelines", "tests"],
        "may_use": ["core", "cross_cutting", "cli", "kernels", "contracts"],
    },
    "tools": {
        "doc": "build rules and their tests: may use the contracts",
        "packages": ["tools"],
        "may_use": ["contracts"],
    },
}

def layer_packages(layer):
    """The workspace paths of a layer's packages: `modules/<m>` for module layers, else its `packages`."""
    spec = LAYERS[layer]
    return ["modules/" + m for m in spec.get("modules", [])] + spec.get("packages", [])

def _check():
    for name, spec in LAYERS.items():
        for used in spec["may_use"]:
            if used not in LAYERS:
                fail("tests/governance/layers.bzl: layer {} may use unknown layer {}".format(name, used))
        if ("modules" in spec) == ("packages" in spec):
            fail("tests/governance/layers.bzl: layer {} needs exactly one of modules or packages".format(name))

def consumers_of(layer):
    """Package patterns of every layer that may use `layer` (for a package_group): each package and its subpackages.

    Args:
      layer: a key of LAYERS, e.g. "cross_cutting".

    Returns:
      A list of "//<package>/..." patterns.
    """
    _check()
    if layer not in LAYERS:
        fail("consumers_of: unknown layer {} (layers: {})".format(layer, ", ".join(LAYERS.keys())))
    paths = []
    for name in LAYERS.keys():
        if layer in LAYERS[name]["may_use"]:
            paths += layer_packages(name)

    # A package already covered by another's `/...` adds nothing ("kernels/abi" under "kernels").
    kept = {p: True for p in paths if not [q for q in paths if p.startswith(q + "/")]}
    return sorted(["//{}/...".format(p) for p in kept.keys()])

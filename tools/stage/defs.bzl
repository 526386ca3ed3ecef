"""Public face of the stage rule family: hermetic pipeline stages whose outputs are described by manifests.

A stage is one Bazel action (or `num_shards` shard actions plus a merge action) that runs a module's bundled
entry point (a `ts_binary`) with a strict config, its upstream stages' manifests and data as inputs, and three
declared outputs: `<name>/` (data files), `<name>.manifest.json` and `<name>.log.jsonl`. Logs are never inputs of
anything. Each stage kind returns a typed provider (DatasetInfo, PackedDatasetInfo, CheckpointInfo,
EvalReportInfo), and each input slot accepts only the provider it needs, so wrong wiring fails at analysis.

The contract between the rule and a stage entry point is documented in tools/README.md ("Stages").
"""

load("//tools/stage/private:pipeline.bzl", _nexa_pipeline = "nexa_pipeline")
load(
    "//tools/stage/private:stage.bzl",
    _CheckpointInfo = "CheckpointInfo",
    _DatasetInfo = "DatasetInfo",
    _EvalReportInfo = "EvalReportInfo",
    _PackedDatasetInfo = "PackedDatasetInfo",
    _StageInfo = "StageInfo",
    _slot = "slot",
    _stage_rule = "stage_rule",
)
load("//tools/typescript:defs.bzl", "ts_binary", "ts_module")

StageInfo = _StageInfo
DatasetInfo = _DatasetInfo
PackedDatasetInfo = _PackedDatasetInfo
CheckpointInfo = _CheckpointInfo
EvalReportInfo = _EvalReportInfo
slot = _slot
stage_rule = _stage_rule
nexa_pipeline = _nexa_pipeline

def stage_binary(name = "stage", data = [], library = None, entry = "main.ts"):
    """A stage module's entry point: the `//<module>:stage` ts_binary its stage rule runs by default.

    Args:
      name: "stage" unless a pipeline names the tool explicitly (a stage rule's default tool is `//<module>:stage`).
      data: files the entry point loads at run time (e.g. the kernels library).
      library: the module's ts_project (default: the one named after the package).
      entry: the entry file, whose `runStage(...)` call is the stage's command line (tools/README.md "Stages").
    """
    ts_binary(
        name = name,
        data = data,
        entry = entry,
        visibility = ["//:module_consumers"],
        deps = [library or ":" + native.package_name().split("/")[-1]],
    )

# What every stage module's code uses: the stage runtime (modules/stage: slots, context, manifests of its outputs),
# the manifest and monitoring layers it hands out, the kernels binding and the artifact/stage contracts.
STAGE_MODULE_DEPS = [
    "//kernels/binding",
    "//modules/manifest",
    "//modules/monitoring",
    "//modules/stage",
    "//proto/nexa/v1:artifact_ts_proto",
    "//proto/nexa/v1:stage_ts_proto",
]

# What every stage module's tests use beyond the module: the shared stage fixtures and the kernels library.
STAGE_TEST_DEPS = ["//modules/stage:stage_testing"]
STAGE_DATA = ["//kernels/abi:nexa_kernels"]

def stage_module(name, deps = [], npm_deps = [], test_deps = [], test_npm_deps = [], test_size = None):
    """The targets of a stage module (modules/<name>, run by a pipeline's `<name>_stage` rules).

    Declares `:<name>` (ts_project of the package's `*.ts` but tests and `main.ts`, on top of STAGE_MODULE_DEPS),
    `:stage` (stage_binary: `main.ts` bundled with the library, the stage rules' default tool) and the module's
    test pair (module_tests, with STAGE_TEST_DEPS and the kernels library).

    Args:
      name: the module's name (the package's last component).
      deps: what the module imports beyond STAGE_MODULE_DEPS (format modules, its config and product contracts).
      npm_deps: `@npm//` packages the module imports (beyond `@types/node`).
      test_deps: what its tests import beyond the library and STAGE_TEST_DEPS.
      test_npm_deps: `@npm//` packages its tests import beyond the library's.
      test_size: Bazel test size of both tests.
    """
    ts_module(
        name = name,
        # Who may use a core module's code (the CLI, pipelines, tests): tests/governance/layers.bzl.
        visibility = ["//:module_consumers"],
        deps = STAGE_MODULE_DEPS + [d for d in deps if d not in STAGE_MODULE_DEPS],
        npm_deps = npm_deps,
        test_npm_deps = test_npm_deps,
        test_deps = STAGE_TEST_DEPS + [d for d in test_deps if d not in STAGE_TEST_DEPS],
        test_data = STAGE_DATA,
        test_size = test_size,
    )
    stage_binary(data = STAGE_DATA)

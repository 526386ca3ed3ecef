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
load("//tools/typescript:defs.bzl", "ts_binary")

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

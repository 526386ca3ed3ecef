"""Stage kinds used by the stage rule tests (a real pipeline declares its kinds in pipelines/)."""

load("//tools/stage:defs.bzl", "slot", "stage_rule")

count_stage = stage_rule(module = "tools/stage/tests", produces = "dataset", doc = "Counts lines of raw files.")

recount_stage = stage_rule(
    module = "tools/stage/tests",
    produces = "packed_dataset",
    inputs = {"dataset": slot("dataset")},
    doc = "Consumes a dataset stage (typed input).",
)

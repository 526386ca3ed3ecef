"""The stage kinds of NexaCompute pipelines: one rule per core module, with typed inputs (tools/stage).

Every stage action can load the kernels library (`NEXA_KERNELS_LIB`), which is an input of the action, so a
kernel change reruns exactly the stages that use the kernels. Each rule runs its module's `//modules/<m>:stage`
entry point unless `tool` says otherwise.
"""

load("//tools/stage:defs.bzl", "slot", "stage_rule")

_KERNELS = {"//kernels/abi:nexa_kernels": "NEXA_KERNELS_LIB"}

def _stage_kind(module, produces, doc, inputs = {}):
    return stage_rule(module = module, produces = produces, inputs = inputs, env_files = _KERNELS, doc = doc)

data_stage = _stage_kind(
    module = "modules/data",
    produces = "dataset",
    doc = "Raw files (raw) -> a validated, gated, deduplicated, split text dataset (DatasetManifest).",
)

distill_stage = _stage_kind(
    module = "modules/distill",
    produces = "dataset",
    inputs = {
        "dataset": slot("dataset"),
        "teacher": slot("checkpoint"),
    },
    doc = "Prompts from `dataset`'s train split + the `teacher` checkpoint -> a distilled dataset with provenance.",
)

pack_stage = _stage_kind(
    module = "modules/pack",
    produces = "packed_dataset",
    inputs = {
        "dataset": slot("dataset"),
        "tokenizer_from": slot("packed_dataset"),
    },
    doc = "A text dataset -> tokenizer (trained, or reused from `tokenizer_from`) + shuffled packed shards.",
)

train_stage = _stage_kind(
    module = "modules/train",
    produces = "checkpoint",
    inputs = {
        "packed": slot("packed_dataset"),
        "teacher": slot("checkpoint"),
    },
    doc = "Packed shards + TrainConfig (+ optional teacher for logit distillation) -> a checkpoint directory.",
)

eval_stage = _stage_kind(
    module = "modules/eval",
    produces = "eval_report",
    inputs = {
        "checkpoint": slot("checkpoint"),
        "teacher": slot("checkpoint"),
        "packed": slot("packed_dataset"),
    },
    doc = "Student (+ teacher) checkpoints + packed validation data + EvalRubric -> EvalReport + HTML report.",
)

"""The stage kinds of NexaCompute pipelines: one rule per core module, with typed inputs (tools/stage).

Every stage action can load the kernels library (`NEXA_KERNELS_LIB`), which is an input of the action, so a
kernel change reruns exactly the stages that use the kernels. Each rule runs its module's `//modules/<m>:stage`
entry point unless `tool` says otherwise.
"""

load("//tools/stage:defs.bzl", "slot", "stage_rule")

_KERNELS = {"//kernels/abi:nexa_kernels": "NEXA_KERNELS_LIB"}

def _stage_kind(module, produces, config_schema, doc, inputs = {}, network = False):
    return stage_rule(
        module = module,
        produces = produces,
        inputs = inputs,
        env_files = _KERNELS,
        config_schema = config_schema,
        doc = doc,
        network = network,
    )

data_stage = _stage_kind(
    module = "modules/data",
    config_schema = "nexa.v1.DataConfig",
    produces = "dataset",
    doc = "Raw files (raw) -> a validated, gated, deduplicated, split text dataset (DatasetManifest).",
)

distill_stage = _stage_kind(
    module = "modules/distill",
    config_schema = "nexa.v1.DistillConfig",
    produces = "dataset",
    inputs = {
        "dataset": slot("dataset"),
        "teacher": slot("checkpoint"),
    },
    network = True,
    doc = "Prompts from `dataset`'s train split + the `teacher` checkpoint (or the endpoint the config names, with " +
          "`network = True` or a `recording`) -> a distilled dataset with provenance and the recorded answers.",
)

pack_stage = _stage_kind(
    module = "modules/pack",
    config_schema = "nexa.v1.PackConfig",
    produces = "packed_dataset",
    inputs = {
        "dataset": slot("dataset"),
        "tokenizer_from": slot("packed_dataset"),
    },
    doc = "A text dataset -> tokenizer (trained, or reused from `tokenizer_from`) + shuffled packed shards.",
)

train_stage = _stage_kind(
    module = "modules/train",
    config_schema = "nexa.v1.TrainConfig",
    produces = "checkpoint",
    inputs = {
        "packed": slot("packed_dataset"),
        "teacher": slot("checkpoint"),
    },
    doc = "Packed shards + TrainConfig (+ optional teacher for logit distillation) -> a checkpoint directory.",
)

eval_stage = _stage_kind(
    module = "modules/eval",
    config_schema = "nexa.v1.EvalRubric",
    produces = "eval_report",
    inputs = {
        "checkpoint": slot("checkpoint"),
        "teacher": slot("checkpoint"),
        "undistilled": slot("checkpoint"),
        "packed": slot("packed_dataset"),
    },
    doc = "Student (+ teacher, + the student's model trained on raw text as `undistilled`) checkpoints + packed " +
          "validation data + EvalRubric -> EvalReport + HTML report.",
)

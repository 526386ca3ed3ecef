// TrainConfig (nexa.v1, already strictly decoded by the stage runtime) → the model shape and optimizer settings of
// the kernels' CPU GPT, with every rule the contract table cannot express checked here. Each refusal names the
// config file, the JSON path and the fix.

import type { ModelConfig, TrainSettings } from "@nexa/kernels/binding";
import { ConfigError } from "@nexa/modules/monitoring";
import { Device, OptimizerConfig_Kind, ScheduleConfig_Kind, TrainConfig } from "@nexa/proto/nexa/v1/train";

/** What a run needs from the config, in kernel terms. */
export interface TrainPlan {
  model: ModelConfig;
  settings: TrainSettings;
  steps: number;
  /** Rows per micro-batch (batch_size / grad_accum_steps). */
  microBatch: number;
  gradAccum: number;
  seed: number;
  evalInterval: number;
  evalBatches: number;
  /** Logit distillation from the `teacher` input (absent: hard labels only). */
  distill?: DistillPlan;
}

/** Logit distillation: loss = (1 - alpha) CE + alpha T^2 KL(teacher_T || student_T) over the teacher's top k. */
export interface DistillPlan {
  temperature: number;
  alpha: number;
  /** Teacher entries per position; 0 = the whole vocabulary. */
  topK: number;
  /** The teacher checkpoint the config pins ("" = whatever is wired to `teacher`). */
  teacherDigest: string;
}

/** Facts from the inputs the config is checked against. */
export interface PlanInputs {
  configFile: string;
  stage: string;
  /** seq_len of the packed dataset. */
  seqLen: number;
  /** vocab_size of the tokenizer that encoded it. */
  tokenizerVocab: number;
}

/** Checks `cfg` and derives the plan; throws ConfigError (code TRAIN_CONFIG_*) naming the field. */
export function planTraining(cfg: TrainConfig, inputs: PlanInputs): TrainPlan {
  const fail = (jsonPath: string, message: string, hint: string): never => {
    throw new ConfigError("TRAIN_CONFIG_INVALID", message, {
      context: { file: inputs.configFile, stage: inputs.stage, jsonPath },
      hint,
    });
  };
  const unsupported = (jsonPath: string, message: string, hint: string): never => {
    throw new ConfigError("TRAIN_CONFIG_UNSUPPORTED", message, {
      context: { file: inputs.configFile, stage: inputs.stage, jsonPath },
      hint,
    });
  };

  // device
  if (cfg.device === Device.DEVICE_CUDA) {
    unsupported(
      "$.device",
      "DEVICE_CUDA: the CUDA training path (kernels/cuda) is not wired into stages yet",
      'set "device": "DEVICE_CPU" (the CPU kernels are the reference implementation)',
    );
  }
  if (cfg.device !== Device.DEVICE_CPU)
    fail("$.device", `device ${cfg.device} is not known`, 'set "device": "DEVICE_CPU"');

  // distillation
  let distill: DistillPlan | undefined;
  if (cfg.distillation) {
    const d = cfg.distillation;
    if (!(d.temperature > 0 && Number.isFinite(d.temperature))) {
      fail(
        "$.distillation.temperature",
        `temperature ${d.temperature} must be a finite number > 0 (proto3 reads an unset field as 0)`,
        "e.g. 2",
      );
    }
    if (!(d.alpha >= 0 && d.alpha <= 1))
      fail("$.distillation.alpha", `alpha ${d.alpha} must be in [0, 1]`, "e.g. 0.5 (0 trains on hard labels only)");
    if (d.topK > cfg.model!.vocabSize) {
      fail(
        "$.distillation.topK",
        `top_k ${d.topK} exceeds the model's vocab_size ${cfg.model!.vocabSize}`,
        "use 0 (every token) or a smaller k, e.g. 32",
      );
    }
    distill = { temperature: d.temperature, alpha: d.alpha, topK: d.topK, teacherDigest: d.teacher?.digest ?? "" };
  }

  // model shape
  const m = cfg.model!;
  if (m.dropout !== 0)
    unsupported(
      "$.model.dropout",
      `dropout ${m.dropout} is not supported by the CPU kernels`,
      "set model.dropout to 0",
    );
  if (m.nEmbd % m.nHead !== 0)
    fail("$.model.nHead", `n_head ${m.nHead} does not divide n_embd ${m.nEmbd}`, "pick n_head dividing n_embd");
  if (m.vocabSize < inputs.tokenizerVocab) {
    fail(
      "$.model.vocabSize",
      `vocab_size ${m.vocabSize} is smaller than the tokenizer's ${inputs.tokenizerVocab}`,
      `set model.vocabSize to ${inputs.tokenizerVocab} (or a multiple of 64 above it)`,
    );
  }
  if (m.blockSize < inputs.seqLen) {
    fail(
      "$.model.blockSize",
      `block_size ${m.blockSize} is shorter than the packed sequences (seq_len ${inputs.seqLen})`,
      `set model.blockSize >= ${inputs.seqLen}`,
    );
  }

  // optimizer
  const o = cfg.optimizer!;
  if (o.kind !== OptimizerConfig_Kind.KIND_ADAMW) {
    unsupported(
      "$.optimizer.kind",
      `optimizer ${OptimizerConfig_Kind[o.kind] ?? o.kind} is not supported by the CPU kernels`,
      'set "kind": "KIND_ADAMW"',
    );
  }
  if (!(o.learningRate > 0))
    fail("$.optimizer.learningRate", `learning_rate ${o.learningRate} must be > 0`, "e.g. 0.003");
  for (const [name, v] of [
    ["beta1", o.beta1],
    ["beta2", o.beta2],
  ] as const) {
    if (!(v >= 0 && v < 1))
      fail(`$.optimizer.${name}`, `${name} ${v} must be in [0, 1)`, name === "beta1" ? "e.g. 0.9" : "e.g. 0.95");
  }
  if (!(o.epsilon > 0))
    fail("$.optimizer.epsilon", `epsilon ${o.epsilon} must be > 0 (proto3 reads an unset field as 0)`, "e.g. 1e-8");
  if (!(o.weightDecay >= 0)) fail("$.optimizer.weightDecay", `weight_decay ${o.weightDecay} must be >= 0`, "e.g. 0.1");
  if (!(o.gradClip >= 0)) fail("$.optimizer.gradClip", `grad_clip ${o.gradClip} must be >= 0 (0 disables)`, "e.g. 1.0");

  // steps, batches, schedule
  const gradAccum = Math.max(1, cfg.gradAccumSteps);
  if (cfg.batchSize % gradAccum !== 0) {
    fail(
      "$.gradAccumSteps",
      `batch_size ${cfg.batchSize} is not divisible by grad_accum_steps ${gradAccum}`,
      "make batch_size a multiple of grad_accum_steps (each micro-batch has batch_size / grad_accum_steps rows)",
    );
  }
  const s = cfg.schedule;
  const kind = s?.kind ?? ScheduleConfig_Kind.KIND_CONSTANT;
  const warmup = s?.warmupSteps ?? 0;
  if (warmup >= cfg.steps)
    fail("$.schedule.warmupSteps", `warmup_steps ${warmup} must be < steps ${cfg.steps}`, "shorten the warm-up");
  const ratio = s?.minLrRatio ?? 0;
  if (!(ratio >= 0 && ratio <= 1)) fail("$.schedule.minLrRatio", `min_lr_ratio ${ratio} must be in [0, 1]`, "e.g. 0.1");
  let minLr = o.learningRate;
  if (kind === ScheduleConfig_Kind.KIND_COSINE) minLr = o.learningRate * ratio;
  else if (kind === ScheduleConfig_Kind.KIND_LINEAR) {
    unsupported(
      "$.schedule.kind",
      "KIND_LINEAR decay is not supported by the CPU kernels yet",
      'use "KIND_COSINE" or "KIND_CONSTANT"',
    );
  } else if (kind !== ScheduleConfig_Kind.KIND_CONSTANT) {
    fail("$.schedule.kind", "schedule.kind is unset", 'set "kind": "KIND_COSINE" or "KIND_CONSTANT"');
  }
  if (cfg.evalInterval > 0 && cfg.evalBatches === 0) {
    fail(
      "$.evalBatches",
      "eval_interval is set but eval_batches is 0",
      "set evalBatches >= 1, or evalInterval 0 to skip validation",
    );
  }

  return {
    model: { vocabSize: m.vocabSize, seqLen: m.blockSize, nLayer: m.nLayer, nHead: m.nHead, dModel: m.nEmbd },
    settings: {
      lr: o.learningRate,
      minLr,
      warmupSteps: warmup,
      totalSteps: cfg.steps,
      beta1: o.beta1,
      beta2: o.beta2,
      eps: o.epsilon,
      weightDecay: o.weightDecay,
      gradClip: o.gradClip,
      ...(distill ? { distillWeight: distill.alpha, distillTemperature: distill.temperature } : {}),
    },
    steps: cfg.steps,
    microBatch: cfg.batchSize / gradAccum,
    gradAccum,
    seed: cfg.seed,
    evalInterval: cfg.evalInterval,
    evalBatches: cfg.evalBatches,
    ...(distill ? { distill } : {}),
  };
}

// The train stage (pipelines/stages.bzl `train_stage`): a packed dataset (slot `packed`) + TrainConfig, and with
// `distillation` in the config a teacher checkpoint (slot `teacher`: logit distillation from its top-k next-token
// distribution at every position) → a self-contained checkpoint directory (modules/checkpoint: weights, training
// curve, tokenizer, checkpoint.json).
// Every output byte depends only on the config and the data (never on the thread count or the clock); the model
// math runs in the kernels (@nexa/kernels/binding Model).

import { performance } from "perf_hooks";

import { Model } from "@nexa/kernels/binding";
import type { TrainBatch } from "@nexa/kernels/binding";
import { Checkpoint, CHECKPOINT_MANIFEST_FILE, writeCheckpoint } from "@nexa/modules/checkpoint";
import type { CurveLine } from "@nexa/modules/checkpoint";
import { CONTRACTS } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import { PackedDataset } from "@nexa/modules/packed_shards";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { openTokenizer } from "@nexa/modules/tokenizer_files";
import { Device, TrainConfig } from "@nexa/proto/nexa/v1/train";

import { trainStepBatch, validationBatches } from "./batches";
import type { RowBatch } from "./batches";
import { planTraining } from "./train_config";
import type { TrainPlan } from "./train_config";

export const TRAIN_SPLIT = "train";
export const VALIDATION_SPLIT = "validation";
/** Steps averaged into final_train_loss. */
export const FINAL_LOSS_WINDOW = 10;
/** Most tokens (steps × batch rows × seq_len) one Model.trainSteps call holds; never changes an output byte. */
export const CHUNK_MAX_TOKENS = 1 << 22;

export interface TrainStageOptions {
  /** Most tokens per trainSteps call; default CHUNK_MAX_TOKENS. Never changes an output byte. */
  chunkMaxTokens?: number;
}

/** Token-weighted mean validation loss over the batches. */
function validationLoss(model: Model, batches: readonly RowBatch[]): number {
  let sum = 0;
  let count = 0;
  for (const b of batches) {
    const r = model.evalLoss(b);
    sum += r.lossSum;
    count += r.count;
  }
  return count > 0 ? sum / count : 0;
}

/**
 * End (exclusive, in steps) of the chunk of steps trained in one call after `done` steps: the next evaluation step (a
 * multiple of `evalInterval`, when evaluating), the last step, or `done + maxSteps`, whichever comes first.
 */
export function chunkEnd(done: number, steps: number, evalInterval: number, maxSteps: number): number {
  let end = Math.min(steps, done + Math.max(1, maxSteps));
  if (evalInterval > 0) end = Math.min(end, (Math.floor(done / evalInterval) + 1) * evalInterval);
  return end;
}

/**
 * The teacher of a distilling run: wired to `teacher` exactly when the config has `distillation`, pinned by digest when
 * the config names one, trained on the same tokenizer, and able to score the packed rows.
 */
interface Teacher {
  checkpoint: Checkpoint;
  model: Model;
  vocabSize: number;
}

async function openTeacher(
  ctx: StageContext<TrainConfig>,
  plan: TrainPlan,
  tokenizerDigest: string,
  seqLen: number,
): Promise<Teacher | undefined> {
  const wired = ctx.inputs.some((i) => i.slot === "teacher");
  if (!plan.distill) {
    if (wired) {
      throw new ConfigError("TRAIN_TEACHER_UNUSED", "a `teacher` is wired but the config has no `distillation`", {
        context: { file: ctx.configFile, jsonPath: "$.distillation", stage: ctx.stage },
        hint: 'add "distillation": {"temperature": 2, "alpha": 0.5, "topK": 32} to distil from it, or remove `teacher` from the target',
      });
    }
    return undefined;
  }
  if (!wired) {
    throw new ConfigError("TRAIN_NO_TEACHER", "the config asks for distillation but no `teacher` is wired", {
      context: { file: ctx.configFile, jsonPath: "$.distillation", stage: ctx.stage },
      hint: 'wire the teacher\'s train stage with `teacher = ":<train stage>"` on the train_stage target, or remove `distillation`',
    });
  }
  const checkpoint = new Checkpoint(await ctx.open("teacher", CONTRACTS.CheckpointManifest));
  const display = checkpoint.artifact.display;
  const digest = checkpoint.ref.digest;
  if (plan.distill.teacherDigest !== "" && plan.distill.teacherDigest !== digest) {
    throw new ConfigError(
      "TRAIN_TEACHER_MISMATCH",
      `the config names teacher ${plan.distill.teacherDigest}, but the wired teacher is ${digest}`,
      {
        context: {
          file: ctx.configFile,
          jsonPath: "$.distillation.teacher.digest",
          stage: ctx.stage,
          expected: plan.distill.teacherDigest,
          actual: digest,
        },
        hint: `set "digest": "${digest}", or leave the digest empty to use whatever checkpoint is wired to \`teacher\``,
      },
    );
  }
  const teacherTok = checkpoint.manifest.tokenizer!.digest;
  if (teacherTok !== tokenizerDigest) {
    throw new ConfigError(
      "TRAIN_TEACHER_TOKENIZER",
      `the teacher expects tokenizer ${teacherTok}, but the packed data uses ${tokenizerDigest}`,
      {
        context: { file: display, jsonPath: "$.tokenizer.digest", stage: ctx.stage },
        hint: "logit distillation needs one vocabulary: pack the student's data with the teacher's tokenizer (pack `tokenizer_from`)",
      },
    );
  }
  const model = Model.load(await checkpoint.weights(), { threads: ctx.threads });
  const shape = model.info().config;
  if (shape.vocabSize > plan.model.vocabSize || shape.seqLen < seqLen) {
    model.free();
    throw new ConfigError(
      "TRAIN_TEACHER_SHAPE",
      `the teacher (vocab ${shape.vocabSize}, context ${shape.seqLen}) cannot teach this student (vocab ${plan.model.vocabSize}) on rows of ${seqLen} tokens`,
      {
        context: { file: display, jsonPath: "$.model", stage: ctx.stage },
        hint: "give the student model.vocabSize >= the teacher's and use a teacher whose block_size covers the pack seq_len",
      },
    );
  }
  return { checkpoint, model, vocabSize: shape.vocabSize };
}

async function runTrain(ctx: StageContext<TrainConfig>, chunkMaxTokens: number): Promise<StageResult> {
  const threads = ctx.threads;
  const packed = new PackedDataset(await ctx.open("packed", CONTRACTS.PackedDatasetManifest));
  const display = packed.artifact.display;
  const tokenizer = await openTokenizer(packed.artifact, packed.manifest.tokenizer!, "$.tokenizer");
  const seqLen = packed.manifest.seqLen;
  const plan = planTraining(ctx.config, {
    configFile: ctx.configFile,
    stage: ctx.stage,
    seqLen,
    tokenizerVocab: tokenizer.manifest.vocabSize,
  });
  const train = await packed.loadSplit(TRAIN_SPLIT);
  if (!train || train.rows === 0) {
    throw new ConfigError("TRAIN_NO_TRAIN_SPLIT", `${display} has no "${TRAIN_SPLIT}" sequences`, {
      context: { file: display, stage: ctx.stage },
      hint: 'pack a "train" split (PackConfig.splits)',
    });
  }
  const validation = plan.evalInterval > 0 ? await packed.loadSplit(VALIDATION_SPLIT) : undefined;
  const teacher = await openTeacher(ctx, plan, tokenizer.ref.digest, seqLen);
  const teacherK = teacher ? plan.distill!.topK || teacher.vocabSize : 0;
  const valBatches = validation ? validationBatches(validation, seqLen, plan.microBatch, plan.evalBatches) : [];
  if (plan.evalInterval > 0 && valBatches.length === 0)
    ctx.log.info("validation_skipped", { reason: `no "${VALIDATION_SPLIT}" sequences` });

  const model = Model.create(plan.model, plan.seed, { threads });
  try {
    if (teacher) model.setMetadata("nexa_train.teacher_checkpoint_digest", teacher.checkpoint.ref.digest);
    model.setTrainConfig(plan.settings);
    model.setTokenizerDigest(tokenizer.ref.digest);
    model.setMetadata("nexa_train.packed_dataset_digest", packed.artifact.ref.digest);
    model.setMetadata("nexa_train.train_config_digest", ctx.configDigest);
    const info = model.info();
    ctx.log.info("train_start", {
      params: info.numParams,
      steps: plan.steps,
      micro_batch: plan.microBatch,
      grad_accum: plan.gradAccum,
      seq_len: seqLen,
      train_rows: train.rows,
      validation_batches: valBatches.length,
      threads,
      kernel_variant: model.variant(),
      ...(teacher
        ? {
            distill_teacher: teacher.checkpoint.ref.digest,
            distill_top_k: teacherK,
            distill_alpha: plan.distill!.alpha,
            distill_temperature: plan.distill!.temperature,
          }
        : {}),
    });

    const lines: CurveLine[] = [];
    const losses: number[] = [];
    let tokensSeen = 0;
    let finalVal = 0;
    const started = performance.now();
    const progress = ctx.startProgress("train", plan.steps, "steps");
    const pendingTokens: number[] = []; // real tokens of the steps prepared but not yet trained, in step order
    let trainedTokens = 0;
    // Steps run in chunks, one native call each (Model.trainSteps, bit for bit the same as one call per step); a
    // chunk ends at every evaluation step, and the progress callback (numbers only) writes each step's metrics line.
    const maxChunk = Math.floor(chunkMaxTokens / (plan.microBatch * plan.gradAccum * seqLen));
    try {
      for (let done = 0; done < plan.steps;) {
        const end = chunkEnd(done, plan.steps, plan.evalInterval, maxChunk);
        const batches: TrainBatch[] = [];
        for (let step = done; step < end; step++) {
          const batch = trainStepBatch(train, seqLen, plan.seed, step, plan.microBatch, plan.gradAccum);
          tokensSeen += batch.realTokens;
          pendingTokens.push(batch.realTokens);
          // The teacher's top-k at temperature 1: the train step softens both sides by distillation.temperature.
          const t = teacher?.model.teacherTopK(
            { tokens: batch.tokens, docIds: batch.docIds, b: plan.microBatch * plan.gradAccum, t: seqLen },
            { k: teacherK },
          );
          batches.push({ ...batch, b: plan.microBatch, microBatches: plan.gradAccum, ...(t ? { teacher: t } : {}) });
        }
        model.trainSteps(batches, (p) => {
          losses.push(p.loss);
          lines.push({ step: p.step, loss: p.loss, lr: p.lr, grad_norm: p.gradNorm });
          // Live numbers for `nexa run` (log events and the progress file only; never an output).
          trainedTokens += pendingTokens.shift() ?? 0;
          const secs = (performance.now() - started) / 1000;
          progress.tick(1, { loss: p.loss, tokens_per_s: secs > 0 ? Math.round(trainedTokens / secs) : 0 });
        });
        done = end;
        if (valBatches.length > 0 && (done % plan.evalInterval === 0 || done === plan.steps)) {
          finalVal = validationLoss(model, valBatches);
          lines[lines.length - 1].val_loss = finalVal;
          ctx.log.info("validation", { step: done, val_loss: finalVal });
        }
      }
    } finally {
      progress.stop();
    }
    const seconds = (performance.now() - started) / 1000;
    // Wall-clock figures are logged only: they are not deterministic, so no artifact carries them.
    ctx.log.info("train_done", { seconds, tokens_per_s: seconds > 0 ? tokensSeen / seconds : 0 });

    const window = losses.slice(-FINAL_LOSS_WINDOW);
    const finalTrain = window.reduce((a, b) => a + b, 0) / window.length;
    await writeCheckpoint(ctx.outDir, model.save(), lines, tokenizer, {
      model: ctx.config.model!,
      trainConfigDigest: ctx.configDigest,
      packedDataset: packed.artifact.ref,
      step: plan.steps,
      tokensSeen,
      finalTrainLoss: finalTrain,
      finalValLoss: finalVal,
      paramCount: info.numParams,
      dtype: "F32",
      device: Device.DEVICE_CPU,
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    });
    const metrics: Record<string, number> = {
      final_loss: finalTrain,
      steps: plan.steps,
      tokens_seen: tokensSeen,
      params: info.numParams,
    };
    if (valBatches.length > 0) metrics.val_loss = finalVal;
    return { product: { file: CHECKPOINT_MANIFEST_FILE, schema: CONTRACTS.CheckpointManifest.name }, metrics };
  } finally {
    model.free();
    teacher?.model.free();
  }
}

/** A train stage definition; the options are for tests (outputs are identical for any values). */
export function createTrainStage(options: TrainStageOptions = {}): StageDefinition<TrainConfig> {
  return {
    module: "modules/train",
    config: CONTRACTS.TrainConfig,
    // The kernels do the model math, so the library's bytes are part of the stage's identity.
    usesKernels: true,
    run: (ctx) => runTrain(ctx, options.chunkMaxTokens ?? CHUNK_MAX_TOKENS),
  };
}

/** The train stage (entry point: main.ts). Not shardable: one action per stage. */
export const trainStage: StageDefinition<TrainConfig> = createTrainStage();

// The train stage (pipelines/stages.bzl `train_stage`): a packed dataset (slot `packed`) + TrainConfig → a
// self-contained checkpoint directory (modules/checkpoint: weights, training curve, tokenizer, checkpoint.json).
// Every output byte depends only on the config and the data (never on the thread count or the clock); the model
// math runs in the kernels (@nexa/kernels/binding Model).

import { performance } from "perf_hooks";

import { Model } from "@nexa/kernels/binding";
import type { TrainBatch } from "@nexa/kernels/binding";
import { CHECKPOINT_MANIFEST_FILE, writeCheckpoint } from "@nexa/modules/checkpoint";
import type { CurveLine } from "@nexa/modules/checkpoint";
import { CONTRACTS } from "@nexa/modules/manifest";
import { ConfigError, createProgress } from "@nexa/modules/monitoring";
import { PackedDataset } from "@nexa/modules/packed_shards";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { openTokenizer } from "@nexa/modules/tokenizer_files";
import { Device, TrainConfig } from "@nexa/proto/nexa/v1/train";

import { trainStepBatch, validationBatches } from "./batches";
import type { RowBatch } from "./batches";
import { planTraining } from "./train_config";

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

async function runTrain(ctx: StageContext<TrainConfig>, chunkMaxTokens: number): Promise<StageResult> {
  const threads = ctx.threads;
  const packed = new PackedDataset(await ctx.open("packed", CONTRACTS.PackedDatasetManifest));
  const display = packed.artifact.display;
  const tokenizer = await openTokenizer(packed.artifact, packed.manifest.tokenizer!, "$.tokenizer");
  const seqLen = packed.manifest.seqLen;
  const plan = planTraining(ctx.config, {
    configFile: ctx.configFile, stage: ctx.stage, seqLen, tokenizerVocab: tokenizer.manifest.vocabSize,
  });
  const train = await packed.loadSplit(TRAIN_SPLIT);
  if (!train || train.rows === 0) {
    throw new ConfigError("TRAIN_NO_TRAIN_SPLIT", `${display} has no "${TRAIN_SPLIT}" sequences`, {
      context: { file: display, stage: ctx.stage }, hint: 'pack a "train" split (PackConfig.splits)',
    });
  }
  const validation = plan.evalInterval > 0 ? await packed.loadSplit(VALIDATION_SPLIT) : undefined;
  const valBatches = validation ? validationBatches(validation, seqLen, plan.microBatch, plan.evalBatches) : [];
  if (plan.evalInterval > 0 && valBatches.length === 0) ctx.log.info("validation_skipped", { reason: `no "${VALIDATION_SPLIT}" sequences` });

  const model = Model.create(plan.model, plan.seed, { threads });
  try {
    model.setTrainConfig(plan.settings);
    model.setTokenizerDigest(tokenizer.ref.digest);
    model.setMetadata("nexa_train.packed_dataset_digest", packed.artifact.ref.digest);
    model.setMetadata("nexa_train.train_config_digest", ctx.configDigest);
    const info = model.info();
    ctx.log.info("train_start", {
      params: info.numParams, steps: plan.steps, micro_batch: plan.microBatch, grad_accum: plan.gradAccum,
      seq_len: seqLen, train_rows: train.rows, validation_batches: valBatches.length, threads, kernel_variant: model.variant(),
    });

    const lines: CurveLine[] = [];
    const losses: number[] = [];
    let tokensSeen = 0;
    let finalVal = 0;
    const started = performance.now();
    const progress = createProgress({ logger: ctx.log, label: "train", total: plan.steps, unit: "steps" });
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
          batches.push({ ...batch, b: plan.microBatch, microBatches: plan.gradAccum });
        }
        model.trainSteps(batches, (p) => {
          losses.push(p.loss);
          lines.push({ step: p.step, loss: p.loss, lr: p.lr, grad_norm: p.gradNorm });
          progress.tick();
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
    const metrics: Record<string, number> = { final_loss: finalTrain, steps: plan.steps, tokens_seen: tokensSeen, params: info.numParams };
    if (valBatches.length > 0) metrics.val_loss = finalVal;
    return { product: { file: CHECKPOINT_MANIFEST_FILE, schema: CONTRACTS.CheckpointManifest.name }, metrics };
  } finally {
    model.free();
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

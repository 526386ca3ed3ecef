// The train stage (pipelines/stages.bzl `train_stage`): packed shards (slot `packed`) + TrainConfig → a
// self-contained checkpoint directory:
//   model.safetensors         weights + AdamW state + metadata (kernels/model checkpoint format)
//   metrics.jsonl             one line per step {"step","loss","lr","grad_norm"} (+ "val_loss" at evaluations)
//   tokenizer.json, …         the tokenizer files and tokenizer.manifest.json, copied and verified
//   checkpoint.json           nexa.v1.CheckpointManifest (the product)
// Every output byte depends only on the config and the data (never on the thread count or the clock); the model
// math runs in the kernels (@nexa/kernels/binding Model). (The file is not named stage.ts: the ts_binary `stage`
// emits stage.js.)

import { writeFile } from "fs/promises";
import * as path from "path";
import { performance } from "perf_hooks";

import { ABI_VERSION, libraryPath, Model } from "@nexa/kernels/binding";
import type { TrainBatch } from "@nexa/kernels/binding";
import { CONTRACTS, digestBytes, digestFile, encodeMessage } from "@nexa/modules/manifest";
import { ConfigError, createProgress } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import { Device, TrainConfig } from "@nexa/proto/nexa/v1/train";

import { trainStepBatch, validationBatches } from "./batches";
import type { RowBatch } from "./batches";
import { copyTokenizer, loadSplit, readPackedInput } from "./packed_input";
import { planTraining } from "./train_config";

export const CHECKPOINT_MANIFEST_FILE = "checkpoint.json";
export const WEIGHTS_FILE = "model.safetensors";
export const METRICS_FILE = "metrics.jsonl";
export const TRAIN_SPLIT = "train";
export const VALIDATION_SPLIT = "validation";
/** Steps averaged into final_train_loss. */
export const FINAL_LOSS_WINDOW = 10;
/** Worker threads of the model math by default (results never depend on it). */
export const DEFAULT_THREADS = 2;
/** Most tokens (steps × batch rows × seq_len) one Model.trainSteps call holds; never changes an output byte. */
export const CHUNK_MAX_TOKENS = 1 << 22;

export interface TrainStageOptions {
  /** Model worker threads; default $NEXA_TRAIN_THREADS or DEFAULT_THREADS. Never changes an output byte. */
  threads?: number;
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

function defaultThreads(): number {
  const env = Number(process.env.NEXA_TRAIN_THREADS);
  return Number.isInteger(env) && env >= 1 ? env : DEFAULT_THREADS;
}

async function runTrain(ctx: StageContext<TrainConfig>, threads: number, chunkMaxTokens: number): Promise<StageResult> {
  if (ctx.shard.count > 1) {
    throw new ConfigError("TRAIN_NOT_SHARDABLE", `the train stage runs as one action (got num_shards = ${ctx.shard.count})`, {
      context: { stage: ctx.stage }, hint: "set num_shards = 1 on the train_stage target",
    });
  }
  if (ctx.inputs.some((i) => i.slot === "teacher")) {
    throw new ConfigError("TRAIN_TEACHER_UNSUPPORTED", "a `teacher` input (logit distillation) is not supported yet by modules/train", {
      context: { stage: ctx.stage }, hint: "remove `teacher` from the train_stage target; train on hard labels",
    });
  }
  const input = ctx.input("packed");
  const packed = await readPackedInput(input);
  const seqLen = packed.manifest.seqLen;
  const plan = planTraining(ctx.config, {
    configFile: ctx.configFile, stage: ctx.stage, seqLen, tokenizerVocab: packed.tokenizer.vocabSize,
  });
  const train = await loadSplit(input, packed, TRAIN_SPLIT);
  if (!train || train.rows === 0) {
    throw new ConfigError("TRAIN_NO_TRAIN_SPLIT", `${packed.display} has no "${TRAIN_SPLIT}" sequences`, {
      context: { file: packed.display, stage: ctx.stage }, hint: 'pack a "train" split (PackConfig.splits)',
    });
  }
  const validation = plan.evalInterval > 0 ? await loadSplit(input, packed, VALIDATION_SPLIT) : undefined;
  const valBatches = validation ? validationBatches(validation, seqLen, plan.microBatch, plan.evalBatches) : [];
  if (plan.evalInterval > 0 && valBatches.length === 0) ctx.log.info("validation_skipped", { reason: `no "${VALIDATION_SPLIT}" sequences` });

  const model = Model.create(plan.model, plan.seed, { threads });
  try {
    model.setTrainConfig(plan.settings);
    model.setTokenizerDigest(packed.tokenizerRef.digest);
    model.setMetadata("nexa_train.packed_dataset_digest", packed.ref.digest);
    model.setMetadata("nexa_train.train_config_digest", ctx.configDigest);
    const info = model.info();
    ctx.log.info("train_start", {
      params: info.numParams, steps: plan.steps, micro_batch: plan.microBatch, grad_accum: plan.gradAccum,
      seq_len: seqLen, train_rows: train.rows, validation_batches: valBatches.length, threads, kernel_variant: model.variant(),
    });

    const lines: Record<string, number>[] = [];
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

    const weights = model.save();
    await writeFile(path.join(ctx.outDir, WEIGHTS_FILE), weights);
    await writeFile(path.join(ctx.outDir, METRICS_FILE), lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
    await copyTokenizer(input, packed, ctx.outDir);

    const window = losses.slice(-FINAL_LOSS_WINDOW);
    const finalTrain = window.reduce((a, b) => a + b, 0) / window.length;
    const shape = ctx.config.model!;
    const manifest = CheckpointManifest.fromPartial({
      schemaVersion: 1,
      weights: ArtifactRef.fromPartial({
        digest: digestBytes(weights), sizeBytes: weights.length, mediaType: "application/vnd.nexa.safetensors", path: WEIGHTS_FILE,
      }),
      model: shape,
      trainConfigDigest: ctx.configDigest,
      packedDataset: packed.ref,
      tokenizer: packed.tokenizerRef,
      step: plan.steps,
      tokensSeen,
      finalTrainLoss: finalTrain,
      finalValLoss: finalVal,
      paramCount: info.numParams,
      dtype: "F32",
      device: Device.DEVICE_CPU,
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    });
    await writeFile(path.join(ctx.outDir, CHECKPOINT_MANIFEST_FILE), encodeMessage(CheckpointManifest, manifest));
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
    tools: async () => [{ name: "nexa_kernels", version: `abi ${ABI_VERSION}`, digest: (await digestFile(libraryPath())).digest }],
    run: (ctx) => runTrain(ctx, options.threads ?? defaultThreads(), options.chunkMaxTokens ?? CHUNK_MAX_TOKENS),
  };
}

/** The train stage (entry point: main.ts). Not shardable: one action per stage. */
export const trainStage: StageDefinition<TrainConfig> = createTrainStage();

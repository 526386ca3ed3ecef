// modules/train's own functions without a stage: config → plan (and each refusal naming its JSON path), the
// epoch-wise data order, step and validation batches, and how steps are cut into native calls.
import { IGNORE_TARGET } from "@nexa/kernels/binding";
import { ConfigError } from "@nexa/modules/monitoring";
import { Device, OptimizerConfig_Kind, ScheduleConfig_Kind, TrainConfig } from "@nexa/proto/nexa/v1/train";
import type { ModelShape } from "@nexa/proto/nexa/v1/train";

import { drawRows, gatherRows, trainStepBatch, validationBatches } from "./batches";
import type { SplitRows } from "@nexa/modules/packed_shards";
import { planTraining } from "./train_config";
import { chunkEnd } from "./train_stage";

const INPUTS = { configFile: "pipelines/golden/student_train.json", stage: "train", seqLen: 8, tokenizerVocab: 100 };

function config(overrides: Partial<TrainConfig> = {}): TrainConfig {
  return TrainConfig.fromPartial({
    schemaVersion: 1,
    model: { nLayer: 2, nHead: 4, nEmbd: 64, vocabSize: 128, blockSize: 8 },
    optimizer: {
      kind: OptimizerConfig_Kind.KIND_ADAMW,
      learningRate: 0.003,
      beta1: 0.9,
      beta2: 0.95,
      epsilon: 1e-8,
      weightDecay: 0.1,
      gradClip: 1,
    },
    schedule: { kind: ScheduleConfig_Kind.KIND_COSINE, warmupSteps: 20, minLrRatio: 0.1 },
    steps: 400,
    batchSize: 8,
    gradAccumSteps: 2,
    seed: 2,
    device: Device.DEVICE_CPU,
    evalInterval: 100,
    evalBatches: 2,
    ...overrides,
  });
}

/** Overrides of the config's model: its shape (dropout 0) with `changes`. */
const model = (changes: Partial<ModelShape>) => ({
  model: { nLayer: 2, nHead: 4, nEmbd: 64, vocabSize: 128, blockSize: 8, dropout: 0, ...changes },
});

function refusal(cfg: TrainConfig): ConfigError {
  try {
    planTraining(cfg, INPUTS);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error("expected planTraining to refuse the config");
}

/** `rows` rows of t = 4 tokens: row r holds tokens 10r..10r+3 of one document, the last row is half padding. */
function split(rows: number): SplitRows {
  const t = 4;
  const tokens = Uint32Array.from({ length: rows * t }, (_, i) => 10 * Math.floor(i / t) + (i % t));
  const docIds = new Uint32Array(rows * t);
  const rowTokens = new Uint32Array(rows).fill(t);
  docIds.fill(0xffffffff, (rows - 1) * t + 2);
  rowTokens[rows - 1] = 2;
  return { rows, tokens, docIds, rowTokens };
}

describe("planTraining", () => {
  it("maps the config onto the kernels' model and optimizer settings", () => {
    expect(planTraining(config(), INPUTS)).toEqual({
      model: { vocabSize: 128, seqLen: 8, nLayer: 2, nHead: 4, dModel: 64 },
      settings: {
        lr: 0.003,
        minLr: 0.003 * 0.1,
        warmupSteps: 20,
        totalSteps: 400,
        beta1: 0.9,
        beta2: 0.95,
        eps: 1e-8,
        weightDecay: 0.1,
        gradClip: 1,
      },
      steps: 400,
      microBatch: 4,
      gradAccum: 2,
      seed: 2,
      evalInterval: 100,
      evalBatches: 2,
    });
    const constant = planTraining(
      config({ schedule: { kind: ScheduleConfig_Kind.KIND_CONSTANT, warmupSteps: 0, minLrRatio: 0 } }),
      INPUTS,
    );
    expect(constant.settings.minLr).toBe(0.003);
  });

  it.each([
    [model({ nHead: 3 }), "TRAIN_CONFIG_INVALID", "$.model.nHead"],
    [model({ vocabSize: 64 }), "TRAIN_CONFIG_INVALID", "$.model.vocabSize"],
    [model({ blockSize: 4 }), "TRAIN_CONFIG_INVALID", "$.model.blockSize"],
    [model({ dropout: 0.1 }), "TRAIN_CONFIG_UNSUPPORTED", "$.model.dropout"],
    [{ device: Device.DEVICE_CUDA }, "TRAIN_CONFIG_UNSUPPORTED", "$.device"],
    [{ batchSize: 7 }, "TRAIN_CONFIG_INVALID", "$.gradAccumSteps"],
    [{ steps: 10 }, "TRAIN_CONFIG_INVALID", "$.schedule.warmupSteps"],
    [{ evalBatches: 0 }, "TRAIN_CONFIG_INVALID", "$.evalBatches"],
  ] as const)("refuses %j with %s at %s", (overrides, code, jsonPath) => {
    const e = refusal(config(overrides as Partial<TrainConfig>));
    expect(e.code).toBe(code);
    expect(e.context).toMatchObject({ file: INPUTS.configFile, stage: "train", jsonPath });
    expect(e.hint).not.toBe("");
  });

  it("refuses an unset learning rate, naming the proto3 default it read", () => {
    const cfg = config();
    cfg.optimizer!.learningRate = 0;
    expect(refusal(cfg).context).toMatchObject({ jsonPath: "$.optimizer.learningRate" });
  });
});

describe("batches", () => {
  it("draws every row once per epoch, in a seeded order that differs between epochs and seeds", () => {
    const rows = 10;
    const two = drawRows(rows, 7, 0, 2 * rows);
    expect([...two.slice(0, rows)].sort((a, b) => a - b)).toEqual([...Array(rows).keys()]);
    expect([...two.slice(rows)].sort((a, b) => a - b)).toEqual([...Array(rows).keys()]);
    expect(two.slice(0, rows)).not.toEqual(two.slice(rows));
    expect(drawRows(rows, 8, 0, rows)).not.toEqual(two.slice(0, rows));
    // any window of the stream equals the same window drawn alone (resume anywhere)
    expect(drawRows(rows, 7, 7, 9)).toEqual(two.slice(7, 16));
  });

  it("gathers rows with targets inside one document and counts only real tokens", () => {
    const s = split(3);
    const b = gatherRows(s, 4, [2, 0]);
    expect(Array.from(b.tokens)).toEqual([20, 21, 22, 23, 0, 1, 2, 3]);
    expect(Array.from(b.targets)).toEqual([21, IGNORE_TARGET, IGNORE_TARGET, IGNORE_TARGET, 1, 2, 3, IGNORE_TARGET]);
    expect(b.realTokens).toBe(2 + 4);
  });

  it("step batches are micro_batch × grad_accum rows of the stream; validation takes rows in stored order", () => {
    const s = split(5);
    const step3 = trainStepBatch(s, 4, 7, 3, 2, 2);
    expect(step3.b).toBe(4);
    expect(Array.from(step3.tokens.filter((_, i) => i % 4 === 0)).map((t) => t / 10)).toEqual(drawRows(5, 7, 12, 4));
    const val = validationBatches(s, 4, 2, 9);
    expect(val.map((v) => v.b)).toEqual([2, 2, 1]); // the last batch is short, and there are no more rows
    expect(val.map((v) => v.tokens[0])).toEqual([0, 20, 40]);
  });
});

describe("chunkEnd", () => {
  it("ends a chunk of native steps at the next evaluation step, the last step or the size limit", () => {
    expect(chunkEnd(0, 400, 100, 1000)).toBe(100);
    expect(chunkEnd(100, 400, 100, 1000)).toBe(200);
    expect(chunkEnd(390, 400, 0, 1000)).toBe(400);
    expect(chunkEnd(0, 400, 0, 64)).toBe(64);
    expect(chunkEnd(0, 400, 100, 0)).toBe(1); // at least one step per call
  });
});

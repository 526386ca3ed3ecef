// Round-trip tests of every contract: a fully populated message survives canonical JSON (strictly decoded)
// and the protobuf binary encoding unchanged.

import { DataSource_Format, DataSource_OnInvalidUtf8 } from "@nexa/proto/nexa/v1/data_config";
import { SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import { Comparator } from "@nexa/proto/nexa/v1/eval";
import { PackedDatasetManifest_TokenDtype } from "@nexa/proto/nexa/v1/packed_dataset";
import { TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";
import { Device, OptimizerConfig_Kind, ScheduleConfig_Kind } from "@nexa/proto/nexa/v1/train";

import { contractByName, CONTRACTS, decodeManifest, digestBytes, encodeMessage } from "./index";
import type { Contract } from "./index";

const D = (s: string) => digestBytes(s);
const ID = "a".repeat(64);
// every field set, also where a real manifest would leave one empty (a data file's schema_name, an upstream ref's path)
const ref = (path: string, schemaName = "nexa.v1.Sample") => ({
  digest: D(path || schemaName),
  sizeBytes: 123,
  mediaType: "application/json",
  schemaName,
  path: path || "upstream/manifest.json",
});
const producer = { stageName: "data", stageId: ID, module: "modules/data" };
const model = { nLayer: 2, nHead: 2, nEmbd: 64, vocabSize: 512, blockSize: 128, dropout: 0.1 };

/** One fully populated sample per contract (every field non-default). */
const SAMPLES: Record<keyof typeof CONTRACTS, unknown> = {
  ArtifactRef: ref("x.bin", "nexa.v1.DatasetManifest"),
  DataConfig: {
    schemaVersion: 1,
    name: "golden",
    sources: [
      {
        path: "corpus/a.jsonl",
        format: DataSource_Format.FORMAT_JSONL,
        textField: "text",
        idField: "id",
        encoding: "latin-1",
        onInvalidUtf8: DataSource_OnInvalidUtf8.ON_INVALID_UTF8_ERROR,
      },
    ],
    gate: {
      minBytes: 16,
      maxBytes: 100000,
      maxDuplicateLineFraction: 0.3,
      maxNgramRepeatFraction: 0.2,
      ngramWords: 3,
      maxSymbolFraction: 0.25,
      maxDigitFraction: 0.3,
      exactDedup: true,
      nearDedup: true,
      minhashBands: 16,
      minhashRows: 8,
      minhashShingleWords: 5,
    },
    split: { validationFraction: 0.05, testFraction: 0.05 },
    seed: 7,
    recordsPerShard: 1000,
  },
  PackConfig: {
    schemaVersion: 1,
    tokenizer: { vocabSize: 1024, minFrequency: 2, specialTokens: ["<|endoftext|>"], maxTrainingBytes: 1000000 },
    seqLen: 128,
    shuffleSeed: 11,
    splits: ["train", "validation"],
    appendEos: true,
  },
  DatasetManifest: {
    schemaVersion: 1,
    name: "golden",
    recordCount: 10,
    shards: [{ file: ref("train-00000.jsonl"), recordCount: 10, split: "train", textBytes: 999 }],
    splits: [{ name: "train", recordCount: 10, fraction: 1 }],
    sources: [
      {
        kind: SourceLineage_Kind.KIND_RAW_FILE,
        uri: "pipelines/data/raw.jsonl",
        artifact: ref("raw.jsonl"),
        recordsKept: 10,
        recordsRead: 12,
      },
    ],
    producer,
    textField: "text",
    drops: [{ reason: "duplicate", count: 2 }],
    seed: 7,
    exclusions: [
      {
        reason: "duplicate",
        file: ref("excluded-duplicate.jsonl"),
        count: 2,
        firstLocations: ["pipelines/data/raw.jsonl:3", "pipelines/data/raw.jsonl:9"],
      },
    ],
  },
  TokenizerManifest: {
    schemaVersion: 1,
    kind: TokenizerManifest_Kind.KIND_BPE,
    name: "bpe-512",
    vocabSize: 512,
    specialTokens: [{ text: "<|endoftext|>", id: 511 }],
    eosId: 511,
    files: [ref("merges.txt")],
    trainedOn: ref("", "nexa.v1.DatasetManifest"),
    producer,
  },
  PackedDatasetManifest: {
    schemaVersion: 1,
    seqLen: 128,
    tokenDtype: PackedDatasetManifest_TokenDtype.TOKEN_DTYPE_UINT16,
    bins: [{ file: ref("train-00000.bin"), split: "train", sequenceCount: 4, tokenCount: 500 }],
    fillRatio: 0.9765625,
    truncatedDocuments: 1,
    truncatedTokens: 17,
    totalTokens: 500,
    paddingTokens: 12,
    tokenizer: ref("", "nexa.v1.TokenizerManifest"),
    dataset: ref("", "nexa.v1.DatasetManifest"),
    shuffleSeed: 3,
    padId: 510,
    producer,
  },
  TrainConfig: {
    schemaVersion: 1,
    model,
    optimizer: {
      kind: OptimizerConfig_Kind.KIND_ADAMW,
      learningRate: 3e-4,
      beta1: 0.9,
      beta2: 0.95,
      epsilon: 1e-8,
      weightDecay: 0.1,
      gradClip: 1,
    },
    schedule: { kind: ScheduleConfig_Kind.KIND_COSINE, warmupSteps: 10, minLrRatio: 0.1 },
    steps: 100,
    batchSize: 8,
    gradAccumSteps: 2,
    seed: 42,
    device: Device.DEVICE_CPU,
    evalInterval: 50,
    evalBatches: 4,
    distillation: { teacher: ref("", "nexa.v1.CheckpointManifest"), temperature: 2, alpha: 0.5, topK: 20 },
  },
  CheckpointManifest: {
    schemaVersion: 1,
    weights: ref("model.safetensors"),
    model,
    trainConfigDigest: D("cfg"),
    packedDataset: ref("", "nexa.v1.PackedDatasetManifest"),
    tokenizer: ref("", "nexa.v1.TokenizerManifest"),
    step: 100,
    tokensSeen: 102400,
    finalTrainLoss: 2.5,
    finalValLoss: 2.75,
    paramCount: 123456,
    dtype: "F32",
    device: Device.DEVICE_CUDA,
    producer,
    metrics: ref("metrics.jsonl"),
  },
  DistillConfig: {
    schemaVersion: 1,
    teacher: {
      source: {
        $case: "endpoint",
        value: {
          baseUrl: "http://127.0.0.1:8080/v1",
          model: "teacher",
          apiKeyEnv: "TEACHER_KEY",
          timeoutMs: 5000,
          systemFingerprint: "fp_0123456789abcdef01234567",
          promptChars: 64,
        },
      },
    },
    sampling: { temperature: 0.7, topP: 0.9, topK: 40, maxTokens: 64, seed: 1, n: 2 },
    gating: { minChars: 10, maxChars: 2000, dedupe: true, rejectPatterns: ["^I cannot"] },
    promptTemplate: "Explain: {text}",
    maxExamples: 100,
    concurrency: 4,
  },
  EvalRubric: {
    schemaVersion: 1,
    name: "golden-smoke",
    revision: 2,
    criteria: [{ metric: "val_loss", comparator: Comparator.COMPARATOR_LTE, threshold: 6.5, required: true }],
    maxExamples: 50,
  },
  EvalReport: {
    schemaVersion: 1,
    rubric: ref("", "nexa.v1.EvalRubric"),
    checkpoint: ref("", "nexa.v1.CheckpointManifest"),
    dataset: ref("", "nexa.v1.DatasetManifest"),
    results: [
      {
        metric: "val_loss",
        value: 5.25,
        comparator: Comparator.COMPARATOR_LTE,
        threshold: 6.5,
        passed: true,
        required: true,
      },
    ],
    passed: true,
    exampleCount: 50,
    htmlReport: ref("report.html"),
    producer,
  },
  StageManifest: {
    schemaVersion: 1,
    stageName: "pack",
    module: "modules/pack",
    stageId: ID,
    configDigest: D("c"),
    inputs: [ref("", "nexa.v1.DatasetManifest")],
    outputs: [ref("manifest.json", "nexa.v1.PackedDatasetManifest")],
    tools: [{ name: "modules/pack bundle", version: "0.1.0", digest: D("tool") }],
    toolchains: [{ name: "node", version: "v20.20.2", digest: D("node") }],
    toolDigest: D("tool"),
    codeRevision: "0123abcd",
  },
  RunManifest: {
    schemaVersion: 1,
    runId: "b".repeat(64),
    pipeline: "//pipelines:golden",
    stages: [{ stageName: "data", stageId: ID, manifest: ref("", "nexa.v1.StageManifest") }],
    codeRevision: "0123abcd",
    overrides: [{ stage: "train", field: "steps", value: "20" }],
  },
  PipelinePlan: {
    schemaVersion: 1,
    pipeline: "//pipelines:golden",
    reportStage: "eval",
    stages: [
      {
        stage: "eval",
        module: "modules/eval",
        kind: "nexa.v1.EvalReport",
        manifest: "pipelines/eval.manifest.json",
        data: "pipelines/eval",
        log: "pipelines/eval.log.jsonl",
        config: "pipelines/golden/rubric.json",
        configSchema: "nexa.v1.EvalRubric",
      },
    ],
    overrides: [{ stage: "eval", field: "maxExamples", value: "8" }],
  },
};

/**
 * Fields of `message` (a decoded ts-proto object) that its proto3 JSON form omits, i.e. left at their default:
 * recursively through nested messages, the first element of every list, map values and oneof members
 * (`{ $case, value }`). Returns "path: reason" strings.
 */
function unsetFields(message: unknown, json: unknown, where: string): string[] {
  if (message === null || typeof message !== "object" || ArrayBuffer.isView(message)) return [];
  if (Array.isArray(message)) {
    if (message.length === 0) return [`${where}: empty list`];
    return unsetFields(message[0], (json as unknown[])[0], `${where}[0]`);
  }
  const m = message as Record<string, unknown>;
  const j = (json ?? {}) as Record<string, unknown>;
  const out: string[] = [];
  for (const [k, v] of Object.entries(m)) {
    const oneof =
      v !== null && typeof v === "object" && "$case" in v ? (v as { $case: string; value: unknown }) : undefined;
    if (v === undefined) out.push(`${where}.${k}: unset`);
    else if (oneof) {
      // a oneof appears in JSON under its member's name
      if (oneof.$case in j) out.push(...unsetFields(oneof.value, j[oneof.$case], `${where}.${oneof.$case}`));
      else out.push(`${where}.${k}: oneof member ${oneof.$case} not in JSON`);
    } else if (!(k in j)) out.push(`${where}.${k}: default value (omitted from JSON)`);
    else out.push(...unsetFields(v, j[k], `${where}.${k}`));
  }
  return out;
}

interface BinaryCodec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
  fromPartial(o: unknown): T;
}

describe.each(Object.keys(SAMPLES) as (keyof typeof CONTRACTS)[])("%s", (name) => {
  const contract = CONTRACTS[name] as Contract<unknown>;
  const codec = contract.codec as unknown as BinaryCodec<unknown>;
  const message = codec.fromPartial(SAMPLES[name]);

  it("sample sets every field, nested messages and list elements included (so the round trip covers them all)", () => {
    expect(unsetFields(message, contract.codec.toJSON(message), name)).toEqual([]);
  });

  it("round-trips through canonical JSON with strict decoding", () => {
    const text = encodeMessage(contract.codec, message);
    const decoded = decodeManifest(contract, text, `${name}.json`);
    expect(decoded).toEqual(message);
    expect(encodeMessage(contract.codec, decoded)).toBe(text);
  });

  it("round-trips through the protobuf binary encoding", () => {
    expect(codec.decode(codec.encode(message).finish())).toEqual(message);
  });

  it("is found by its fully qualified name", () => {
    expect(contractByName(contract.name)).toBe(contract);
  });
});

describe("manifests carry schema_version", () => {
  it.each(
    Object.values(CONTRACTS)
      .filter((c) => c.supportedVersions.length > 0)
      .map((c) => [c.name, c] as const),
  )("%s", (_n, contract) => {
    expect((contract as Contract<unknown>).required).toContain("schemaVersion");
  });
});

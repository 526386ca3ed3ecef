// The eval stage end to end through the stage runtime. Fake upstream stages write what pack and train write
// (docs/formats.md): a tokenizer trained by the kernels, hand-written .nxpk shards, and tiny GPT checkpoints created,
// trained and saved through the kernels binding's Model API.
import { createHash } from "crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { Model, nextTokenTargets, Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { ConfigError, NexaError } from "@nexa/modules/monitoring";
import { runStage } from "@nexa/modules/stage";
import type { StageDefinition } from "@nexa/modules/stage";
import { damageFile, expectDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";
import { PackedDatasetManifest, PackedDatasetManifest_TokenDtype } from "@nexa/proto/nexa/v1/packed_dataset";
import { TokenizerManifest, TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";

import { availableMetrics, evalStage } from "./index";

// ----------------------------------------------------------------------------------------------------------
// fixture: corpus, packing and .nxpk bytes (written from docs/formats.md)

const EOT = "<|endoftext|>";
const SEQ_LEN = 32;
const PAD_DOC = 0xffffffff;
const WORDS = ["the", "whale", "sea", "ship", "Ahab", "white", "deep", "sailor", "café", "oil", "boat", "wind"];

function corpus(n: number, seed: number): string[] {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  return Array.from({ length: n }, () =>
    Array.from({ length: 3 + (next() % 12) }, () => WORDS[next() % WORDS.length]).join(" "),
  );
}

/** Documents (ids + eos) placed whole into bins of SEQ_LEN in order (cut at SEQ_LEN); padding = eos, doc id PAD_DOC. */
function packRows(
  docs: Uint32Array[],
  eos: number,
): { tokens: Uint32Array; docIds: Uint32Array; positions: Uint32Array; real: number } {
  const bins: Array<{ tokens: number[]; docIds: number[]; positions: number[] }> = [];
  let real = 0;
  for (const doc of docs) {
    const ids = [...doc, eos].slice(0, SEQ_LEN);
    let bin = bins[bins.length - 1];
    if (!bin || bin.tokens.length + ids.length > SEQ_LEN) bins.push((bin = { tokens: [], docIds: [], positions: [] }));
    const docIndex = bin.docIds.length === 0 ? 0 : bin.docIds[bin.docIds.length - 1] + 1;
    ids.forEach((id, i) => {
      bin.tokens.push(id);
      bin.docIds.push(docIndex);
      bin.positions.push(i);
    });
    real += ids.length;
  }
  for (const bin of bins)
    while (bin.tokens.length < SEQ_LEN) {
      bin.tokens.push(eos);
      bin.docIds.push(PAD_DOC);
      bin.positions.push(0);
    }
  return {
    tokens: Uint32Array.from(bins.flatMap((b) => b.tokens)),
    docIds: Uint32Array.from(bins.flatMap((b) => b.docIds)),
    positions: Uint32Array.from(bins.flatMap((b) => b.positions)),
    real,
  };
}

function nxpk(
  rows: { tokens: Uint32Array; docIds: Uint32Array; positions: Uint32Array },
  padId: number,
  version = 1,
): Buffer {
  const n = rows.tokens.length;
  const out = Buffer.alloc(64 + 12 * n);
  out.write("NEXAPACK", 0, "latin1");
  out.writeUInt32LE(version, 8);
  out.writeUInt32LE(SEQ_LEN, 12);
  out.writeBigUInt64LE(BigInt(n / SEQ_LEN), 16);
  out.writeUInt32LE(padId, 24);
  [rows.tokens, rows.docIds, rows.positions].forEach((a, k) =>
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, 64 + 4 * k * n),
  );
  createHash("sha256").update(out.subarray(64)).digest().copy(out, 32);
  return out;
}

const ref = (file: string, data: string | Buffer | Uint8Array, extra: object = {}) => ({
  digest: digestBytes(data),
  sizeBytes: Buffer.byteLength(data as string),
  path: file,
  ...extra,
});

/** Knobs of the fake pack stage (read when it runs). */
const packKnobs = { shardVersion: 1, vocabSize: 300 };

const fakePack: StageDefinition<EvalRubric> = {
  module: "modules/pack (eval test fixture)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const tok = Tokenizer.train(corpus(80, 1), { vocabSize: packKnobs.vocabSize, minFrequency: 2, specials: [EOT] });
    const eos = tok.encode(EOT, { allowSpecial: true })[0];
    const hf = Buffer.from(tok.save("hf_json"));
    await writeFile(path.join(ctx.outDir, "tokenizer.json"), hf);
    const tokManifest = encodeMessage(
      TokenizerManifest,
      TokenizerManifest.fromPartial({
        schemaVersion: 1,
        kind: TokenizerManifest_Kind.KIND_BPE,
        name: `bpe-${tok.vocabSize}`,
        vocabSize: tok.vocabSize,
        specialTokens: [{ text: EOT, id: eos }],
        eosId: eos,
        files: [ref("tokenizer.json", hf, { mediaType: "application/json" })],
        // a fixed producer: every fake pack stage with the same vocab shares one tokenizer (as with `tokenizer_from`)
        producer: { stageName: "tokenizer", stageId: "1".repeat(64), module: ctx.module },
      }),
    );
    await writeFile(path.join(ctx.outDir, "tokenizer.manifest.json"), tokManifest);
    // train: one shard; validation: two shards (so max_examples crosses a shard boundary)
    const splits: Array<[string, string[]]> = [
      ["train", corpus(80, 1)],
      ["validation", corpus(12, 2)],
      ["validation", corpus(12, 3)],
    ];
    const bins = [];
    const counters: Record<string, number> = {};
    for (const [split, docs] of splits) {
      const rows = packRows(
        docs.map((d) => tok.encode(d)),
        eos,
      );
      const file = `${split}-${String((counters[split] = (counters[split] ?? -1) + 1)).padStart(5, "0")}.nxpk`;
      const bytes = nxpk(rows, eos, split === "validation" ? packKnobs.shardVersion : 1);
      await writeFile(path.join(ctx.outDir, file), bytes);
      bins.push({ file: ref(file, bytes), split, sequenceCount: rows.tokens.length / SEQ_LEN, tokenCount: rows.real });
    }
    tok.free();
    const manifest = PackedDatasetManifest.fromPartial({
      schemaVersion: 1,
      seqLen: SEQ_LEN,
      tokenDtype: PackedDatasetManifest_TokenDtype.TOKEN_DTYPE_UINT32,
      bins,
      padId: eos,
      tokenizer: ref("tokenizer.manifest.json", tokManifest, { schemaName: CONTRACTS.TokenizerManifest.name }),
      dataset: { digest: digestBytes("dataset") },
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    });
    await writeFile(path.join(ctx.outDir, "packed.json"), encodeMessage(PackedDatasetManifest, manifest));
    return { product: { file: "packed.json", schema: CONTRACTS.PackedDatasetManifest.name } };
  },
};

/** A fake train stage: `steps` AdamW steps of a tiny GPT on the train shard of the `packed` input. */
function fakeTrain(seed: number, steps: number, dModel = 16): StageDefinition<EvalRubric> {
  return {
    module: "modules/train (eval test fixture)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      const packedDir = ctx.input("packed").dataDir;
      const packed = decodeManifest(
        CONTRACTS.PackedDatasetManifest,
        readFileSync(path.join(packedDir, "packed.json")),
        "packed.json",
      );
      const shard = readFileSync(path.join(packedDir, "train-00000.nxpk"));
      const n = (shard.length - 64) / 12;
      const tokens = new Uint32Array(Uint8Array.from(shard.subarray(64, 64 + 4 * n)).buffer);
      const docIds = new Uint32Array(Uint8Array.from(shard.subarray(64 + 4 * n, 64 + 8 * n)).buffer);
      const vocab = decodeManifest(
        CONTRACTS.TokenizerManifest,
        readFileSync(path.join(packedDir, "tokenizer.manifest.json")),
        "t",
      ).vocabSize;
      const model = Model.create({ vocabSize: vocab, seqLen: SEQ_LEN, nLayer: 1, nHead: 2, dModel }, seed);
      model.setTrainConfig({ lr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: Math.max(steps, 1) });
      const lines: string[] = [];
      const b = 4;
      const rows = n / SEQ_LEN;
      for (let s = 0; s < steps; s++) {
        const first = (s * b) % (rows - b + 1);
        const span = [first * SEQ_LEN, (first + b) * SEQ_LEN] as const;
        const t = tokens.slice(...span);
        const d = docIds.slice(...span);
        const m = model.trainStep({ tokens: t, docIds: d, targets: nextTokenTargets(t, d, SEQ_LEN), b, t: SEQ_LEN });
        lines.push(
          JSON.stringify(
            s % 5 === 4
              ? { step: m.step, loss: m.loss, lr: m.lr, val_loss: m.loss + 0.1 }
              : { step: m.step, loss: m.loss, lr: m.lr },
          ),
        );
      }
      const weights = Buffer.from(model.save());
      model.free();
      await writeFile(path.join(ctx.outDir, "model.safetensors"), weights);
      const curve = Buffer.from(lines.map((l) => l + "\n").join(""));
      await writeFile(path.join(ctx.outDir, "metrics.jsonl"), curve);
      const manifest = CheckpointManifest.fromPartial({
        schemaVersion: 1,
        weights: ref("model.safetensors", weights, { mediaType: "application/vnd.nexa.safetensors" }),
        metrics: ref("metrics.jsonl", curve, { mediaType: "application/jsonl" }),
        model: { nLayer: 1, nHead: 2, nEmbd: dModel, vocabSize: vocab, blockSize: SEQ_LEN },
        trainConfigDigest: digestBytes(`seed ${seed} steps ${steps}`),
        packedDataset: { digest: digestBytes("packed") },
        tokenizer: packed.tokenizer,
        step: steps,
        dtype: "F32",
        producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      });
      await writeFile(path.join(ctx.outDir, "checkpoint.json"), encodeMessage(CheckpointManifest, manifest));
      return { product: { file: "checkpoint.json", schema: CONTRACTS.CheckpointManifest.name } };
    },
  };
}

// ----------------------------------------------------------------------------------------------------------
// running stages

interface Workspace {
  dir: string;
  bundle: string;
}

function argv(w: Workspace, name: string, config: object, inputs: Record<string, string>): string[] {
  const file = path.join(w.dir, `${name}.config.json`);
  writeFileSync(file, JSON.stringify(config));
  return [
    "run",
    `--stage=${name}`,
    `--module=modules/eval`,
    `--config=${file}`,
    `--out=${path.join(w.dir, name)}`,
    `--log=${path.join(w.dir, name + ".log.jsonl")}`,
    `--manifest=${path.join(w.dir, name + ".manifest.json")}`,
    ...Object.entries(inputs).map(
      ([slot, stage]) => `--input=${slot}=${path.join(w.dir, stage + ".manifest.json")}:${path.join(w.dir, stage)}`,
    ),
  ];
}

const DUMMY = { schemaVersion: 1, name: "fixture", criteria: [] };
const RUBRIC = {
  schemaVersion: 1,
  name: "golden-smoke",
  revision: 1,
  criteria: [
    { metric: "student.bpb_gain_vs_baseline", comparator: "COMPARATOR_GTE", threshold: 0, required: true },
    { metric: "student.loss", comparator: "COMPARATOR_LTE", threshold: 0.01, required: false },
  ],
};

async function upstream(name: string): Promise<Workspace> {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), `eval-${name}-`));
  const w = { dir, bundle: path.join(dir, "bundle.js") };
  writeFileSync(w.bundle, "// bundle bytes\n");
  await runStage(fakePack, argv(w, "pack", DUMMY, {}), w.bundle);
  await runStage(fakeTrain(7, 40), argv(w, "student", DUMMY, { packed: "pack" }), w.bundle);
  await runStage(fakeTrain(11, 60, 24), argv(w, "teacher", DUMMY, { packed: "pack" }), w.bundle);
  return w;
}

const runEval = (w: Workspace, name: string, rubric: object, inputs: Record<string, string>) =>
  runStage(evalStage, argv(w, name, rubric, inputs), w.bundle);
const read = (w: Workspace, stage: string, file: string) => readFileSync(path.join(w.dir, stage, file));

/**
 * Scores a checkpoint on every validation bin without modules/eval: Model.evalLoss per shard, and UTF-8 bytes of
 * the predicted tokens from the tokenizer's own decode (the end-of-text special counts no bytes).
 */
function independentScore(w: Workspace, checkpoint: string): { lossSum: number; count: number; bytes: number } {
  const packed = decodeManifest(CONTRACTS.PackedDatasetManifest, read(w, "pack", "packed.json"), "packed.json");
  const tok = Tokenizer.load(read(w, "pack", "tokenizer.json"), "hf_json");
  const eos = tok.encode(EOT, { allowSpecial: true })[0];
  const model = Model.load(read(w, checkpoint, "model.safetensors"));
  let lossSum = 0;
  let count = 0;
  let bytes = 0;
  for (const bin of packed.bins.filter((b) => b.split === "validation")) {
    const shard = read(w, "pack", bin.file!.path);
    const n = (shard.length - 64) / 12;
    const tokens = new Uint32Array(Uint8Array.from(shard.subarray(64, 64 + 4 * n)).buffer);
    const docIds = new Uint32Array(Uint8Array.from(shard.subarray(64 + 4 * n, 64 + 8 * n)).buffer);
    const targets = nextTokenTargets(tokens, docIds, SEQ_LEN);
    const r = model.evalLoss({ tokens, docIds, targets, b: n / SEQ_LEN, t: SEQ_LEN });
    lossSum += r.lossSum;
    count += r.count;
    for (const t of targets)
      if (t !== 0xffffffff && t !== eos) bytes += Buffer.byteLength(tok.decode(Uint32Array.of(t)));
  }
  model.free();
  tok.free();
  return { lossSum, count, bytes };
}

async function failure(p: Promise<unknown>): Promise<NexaError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NexaError);
    return e as NexaError;
  }
  throw new Error("expected the stage to fail");
}

// ----------------------------------------------------------------------------------------------------------
// tests

describe("eval stage", () => {
  let w: Workspace;
  beforeAll(async () => {
    w = await upstream("main");
  });

  it("scores the student against the unigram baseline and writes report.json, report.html, metrics.json", async () => {
    const out = await runEval(w, "eval", RUBRIC, { checkpoint: "student", packed: "pack" });
    expect(out.manifest!.outputs.map((o) => [o.path, o.schemaName])).toEqual([
      ["metrics.json", ""],
      ["report.html", ""],
      ["report.json", CONTRACTS.EvalReport.name],
    ]);
    const report = decodeManifest(CONTRACTS.EvalReport, read(w, "eval", "report.json"), "report.json");
    const metrics = JSON.parse(read(w, "eval", "metrics.json").toString()) as Record<string, number>;
    expect(Object.keys(metrics)).toEqual(availableMetrics(false));
    // the rubric: the trained student beats the unigram (required), the loss criterion is optional and fails
    expect(metrics["student.bpb_gain_vs_baseline"]).toBeGreaterThan(0);
    expect(report.passed).toBe(true);
    expect(report.results.map((r) => [r.metric, r.passed, r.required])).toEqual([
      ["student.bpb_gain_vs_baseline", true, true],
      ["student.loss", false, false],
    ]);
    expect(report.results[0].value).toBe(metrics["student.bpb_gain_vs_baseline"]);
    // references: rubric = config digest, checkpoint/dataset = product manifest digests, html = the file
    const studentManifest = read(w, "student", "checkpoint.json");
    expect(report.rubric).toMatchObject({ digest: out.manifest!.configDigest, schemaName: "nexa.v1.EvalRubric" });
    expect(report.checkpoint).toMatchObject({
      digest: digestBytes(studentManifest),
      schemaName: "nexa.v1.CheckpointManifest",
    });
    expect(report.dataset).toMatchObject({
      digest: digestBytes(read(w, "pack", "packed.json")),
      schemaName: "nexa.v1.PackedDatasetManifest",
    });
    const html = read(w, "eval", "report.html");
    expect(report.htmlReport).toMatchObject({
      digest: digestBytes(html),
      sizeBytes: html.length,
      path: "report.html",
      mediaType: "text/html",
    });
    expect(report.producer).toEqual({ stageName: "eval", stageId: out.stageId, module: "modules/eval" });
    // the numbers agree with an independent scoring of the same checkpoint (Model.evalLoss, tokenizer decode)
    const mine = independentScore(w, "student");
    expect(metrics["eval.tokens"]).toBe(mine.count);
    expect(metrics["eval.bytes"]).toBe(mine.bytes);
    expect(metrics["student.loss"]).toBeCloseTo(mine.lossSum / mine.count, 10);
    expect(metrics["student.bits_per_byte"]).toBeCloseTo(mine.lossSum / Math.LN2 / mine.bytes, 10);
    expect(metrics["eval.bytes"]).toBeGreaterThan(metrics["eval.tokens"]); // BPE tokens average more than one byte
    expect(report.exampleCount).toBe(metrics["eval.examples"]);
    expect(html.toString()).toMatch(/<title>Eval report: golden-smoke r1 — PASS<\/title>/);
    expect(html.toString()).toContain('<polyline class="train"');
    expect(out.result.metrics).toMatchObject({ passed: 1 });
  });

  it("is deterministic: the same inputs give identical report.json, report.html and metrics.json bytes", async () => {
    await runEval(w, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    const first = ["report.json", "report.html", "metrics.json"].map((f) => read(w, "again", f));
    await runEval(w, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    ["report.json", "report.html", "metrics.json"].forEach((f, i) =>
      expect(read(w, "again", f).equals(first[i])).toBe(true),
    );
    // an independent workspace (other paths, same inputs) gives the same bytes as well
    const other = await upstream("other");
    await runEval(other, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    ["report.json", "report.html", "metrics.json"].forEach((f, i) =>
      expect(read(other, "again", f).equals(first[i])).toBe(true),
    );
  });

  it("with a teacher: teacher metrics, agreement, gap; a checkpoint agrees fully with itself", async () => {
    await runEval(w, "teach", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    const m = JSON.parse(read(w, "teach", "metrics.json").toString()) as Record<string, number>;
    expect(Object.keys(m)).toEqual(availableMetrics(true));
    expect(m["agreement.top1"]).toBeGreaterThan(0);
    expect(m["agreement.top1"]).toBeLessThanOrEqual(1);
    const student = independentScore(w, "student");
    const teacher = independentScore(w, "teacher");
    expect(m["teacher.bits_per_byte"]).toBeCloseTo(teacher.lossSum / Math.LN2 / teacher.bytes, 10);
    expect(m["student.bpb_gap_to_teacher"]).toBeCloseTo(
      (student.lossSum - teacher.lossSum) / Math.LN2 / student.bytes,
      10,
    );
    expect(read(w, "teach", "report.html").toString()).toMatch(/bits per byte (behind|ahead of) the teacher/);

    await runEval(w, "self", RUBRIC, { checkpoint: "student", teacher: "student", packed: "pack" });
    const self = JSON.parse(read(w, "self", "metrics.json").toString()) as Record<string, number>;
    expect(self["agreement.top1"]).toBe(1);
    expect(self["student.bpb_gap_to_teacher"]).toBe(0);
  });

  it("caps the validation bins by max_examples, across shards", async () => {
    const all = JSON.parse(read(w, "eval", "metrics.json").toString()) as Record<string, number>;
    const validationBins = decodeManifest(
      CONTRACTS.PackedDatasetManifest,
      read(w, "pack", "packed.json"),
      "packed.json",
    )
      .bins.filter((b) => b.split === "validation")
      .map((b) => b.sequenceCount);
    expect(all["eval.examples"]).toBe(validationBins[0] + validationBins[1]);
    await runEval(
      w,
      "capped",
      { ...RUBRIC, maxExamples: validationBins[0] + 1 },
      { checkpoint: "student", packed: "pack" },
    );
    const capped = decodeManifest(CONTRACTS.EvalReport, read(w, "capped", "report.json"), "report.json");
    expect(capped.exampleCount).toBe(validationBins[0] + 1);
  });

  it("an unknown metric fails before scoring, naming the criterion and the available metrics", async () => {
    const rubric = {
      ...RUBRIC,
      criteria: [
        ...RUBRIC.criteria,
        { metric: "teacher.loss", comparator: "COMPARATOR_LTE", threshold: 9, required: true },
      ],
    };
    const e = await failure(runEval(w, "unknown", rubric, { checkpoint: "student", packed: "pack" }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(
      /unknown\.config\.json: \$\.criteria\[2\]\.metric: criterion 2 names metric "teacher\.loss".*available: .*student\.loss/,
    );
  });

  it("refuses a teacher with another tokenizer, naming both digests", async () => {
    const other = await upstream("tok");
    packKnobs.vocabSize = 310;
    try {
      await runStage(fakePack, argv(other, "pack2", DUMMY, {}), other.bundle);
      await runStage(fakeTrain(3, 2), argv(other, "teacher2", DUMMY, { packed: "pack2" }), other.bundle);
    } finally {
      packKnobs.vocabSize = 300;
    }
    const e = await failure(
      runEval(other, "mismatch", RUBRIC, { checkpoint: "student", teacher: "teacher2", packed: "pack" }),
    );
    expect(e.code).toBe("EVAL_TOKENIZER_MISMATCH");
    const studentTok = decodeManifest(CONTRACTS.CheckpointManifest, read(other, "student", "checkpoint.json"), "c")
      .tokenizer!.digest;
    const teacherTok = decodeManifest(CONTRACTS.CheckpointManifest, read(other, "teacher2", "checkpoint.json"), "c")
      .tokenizer!.digest;
    expect(studentTok).not.toBe(teacherTok);
    expect(e.message).toContain(`student ${studentTok}, teacher ${teacherTok}`);
    // the student against data packed with another tokenizer is refused too
    const e2 = await failure(runEval(other, "mismatch2", RUBRIC, { checkpoint: "student", packed: "pack2" }));
    expect(e2.message).toMatch(
      /the student expects tokenizer sha256:[0-9a-f]{64}, but the packed data uses sha256:[0-9a-f]{64}/,
    );
  });

  it("refuses a validation shard of an unknown format version, naming the file and the versions", async () => {
    packKnobs.shardVersion = 2;
    try {
      await runStage(fakePack, argv(w, "badpack", DUMMY, {}), w.bundle);
    } finally {
      packKnobs.shardVersion = 1;
    }
    const e = await failure(runEval(w, "badshard", RUBRIC, { checkpoint: "student", packed: "badpack" }));
    expect(e.code).toBe("SHARD_UNSUPPORTED_VERSION");
    expect(e.message).toBe(
      "validation-00000.nxpk: packed shard format version 2 is not supported; this reader supports version 1",
    );
  });

  it.each(["flip", "truncate", "remove"] as const)(
    "reports damaged upstream files the way every stage does (%s)",
    async (how) => {
      const other = await upstream(`damage-${how}`);
      damageFile(path.join(other.dir, "student", "model.safetensors"), how);
      const e = await failure(runEval(other, "damaged", RUBRIC, { checkpoint: "student", packed: "pack" }));
      expectDamagedUpstream(e, { upstream: "student", slot: "checkpoint", path: "model.safetensors", how });
      const bins = decodeManifest(CONTRACTS.PackedDatasetManifest, read(other, "pack", "packed.json"), "p").bins;
      const bin = bins.find((b) => b.split === "validation")!.file!.path;
      damageFile(path.join(other.dir, "pack", bin), how);
      expectDamagedUpstream(
        await failure(runEval(other, "damaged2", RUBRIC, { checkpoint: "teacher", packed: "pack" })),
        { upstream: "pack", slot: "packed", path: bin, how },
      );
    },
  );
});

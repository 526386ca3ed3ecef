// The eval stage end to end through the stage runtime, on products of the shared fake upstream stages: a pack stage
// (a tokenizer trained by the kernels, .nxpk shards written by modules/packed_shards) and train stages (tiny GPT
// checkpoints created, trained and saved through the kernels binding's Model API, written by modules/checkpoint).
import { Model, nextTokenTargets, Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { ConfigError, NexaError } from "@nexa/modules/monitoring";
import { itReportsDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { corpus, EOT, fakePackStage, fakeTrainStage } from "@nexa/modules/stage/testing/upstream";
import { runIn, stageFile, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import type { StageInputs, StageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { availableMetrics, evalStage } from "./index";

// ----------------------------------------------------------------------------------------------------------
// fixture: the shared corpus, packed by the fake pack stage and trained on by fake train stages

const SEQ_LEN = 32;
const docs = (n: number, seed: number) => corpus(n, seed, { words: { min: 3, spread: 12 } });
const TRAIN = docs(80, 1);

/**
 * The fake pack stage: train in one shard, validation in two (so max_examples crosses a shard boundary), written with
 * format version `validationVersion` when given. Every one with the same vocabulary shares one tokenizer (as with
 * `tokenizer_from`).
 */
const fakePack = (o: { vocabSize?: number; validationVersion?: number } = {}) =>
  fakePackStage({
    seqLen: SEQ_LEN,
    tokenizer: { train: TRAIN, vocabSize: o.vocabSize ?? 300, minFrequency: 2 },
    shards: [
      { split: "train", texts: TRAIN },
      { split: "validation", texts: docs(12, 2) },
      { split: "validation", texts: docs(12, 3) },
    ],
    sharedTokenizer: true,
    mutate: (file, bytes) => {
      if (o.validationVersion !== undefined && file.startsWith("validation-"))
        bytes.writeUInt32LE(o.validationVersion, 8);
      return bytes;
    },
  });

// ----------------------------------------------------------------------------------------------------------
// running stages

const RUBRIC = {
  schemaVersion: 1,
  name: "golden-smoke",
  revision: 1,
  criteria: [
    { metric: "student.bpb_gain_vs_baseline", comparator: "COMPARATOR_GTE", threshold: 0, required: true },
    { metric: "student.loss", comparator: "COMPARATOR_LTE", threshold: 0.01, required: false },
  ],
};

/** A fresh workspace with the upstream stages "pack", "student" (40 steps) and "teacher" (60 steps, wider) run. */
async function upstream(name: string): Promise<StageWorkspace> {
  const w = stageWorkspace(`eval-${name}-`);
  await runIn(w, fakePack(), "pack");
  await runIn(w, fakeTrainStage({ seed: 7, steps: 40 }), "student", { inputs: { packed: "pack" } });
  await runIn(w, fakeTrainStage({ seed: 11, steps: 60, dModel: 24 }), "teacher", { inputs: { packed: "pack" } });
  return w;
}

const runEval = (w: StageWorkspace, name: string, rubric: object, inputs: StageInputs) =>
  runIn(w, evalStage, name, { module: "modules/eval", config: rubric, inputs });

/**
 * Scores a checkpoint on every validation bin without modules/eval: Model.evalLoss per shard, and UTF-8 bytes of
 * the predicted tokens from the tokenizer's own decode (the end-of-text special counts no bytes).
 */
function independentScore(w: StageWorkspace, checkpoint: string): { lossSum: number; count: number; bytes: number } {
  const packed = decodeManifest(CONTRACTS.PackedDatasetManifest, stageFile(w, "pack", "packed.json"), "packed.json");
  const tok = Tokenizer.load(stageFile(w, "pack", "tokenizer.json"), "hf_json");
  const eos = tok.encode(EOT, { allowSpecial: true })[0];
  const model = Model.load(stageFile(w, checkpoint, "model.safetensors"));
  let lossSum = 0;
  let count = 0;
  let bytes = 0;
  for (const bin of packed.bins.filter((b) => b.split === "validation")) {
    const shard = stageFile(w, "pack", bin.file!.path);
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

/** The rows of every `split` shard: tokens, doc ids and next-token targets. */
function splitRows(w: StageWorkspace, split: string): { tokens: Uint32Array; targets: Uint32Array }[] {
  const packed = decodeManifest(CONTRACTS.PackedDatasetManifest, stageFile(w, "pack", "packed.json"), "packed.json");
  return packed.bins
    .filter((b) => b.split === split)
    .map((bin) => {
      const shard = stageFile(w, "pack", bin.file!.path);
      const n = (shard.length - 64) / 12;
      const tokens = new Uint32Array(Uint8Array.from(shard.subarray(64, 64 + 4 * n)).buffer);
      const docIds = new Uint32Array(Uint8Array.from(shard.subarray(64 + 4 * n, 64 + 8 * n)).buffer);
      return { tokens, targets: nextTokenTargets(tokens, docIds, SEQ_LEN) };
    });
}

/**
 * The bigram baseline's total nats on the validation positions, written out plainly (per-position loops, Math.log):
 * absolute discounting D = 0.75 interpolated with the add-one unigram, both fitted on the train split.
 */
function independentBigramNats(w: StageWorkspace, vocab: number): number {
  const unigram = new Array<number>(vocab).fill(0);
  const pair = new Map<string, number>();
  const context = new Array<number>(vocab).fill(0);
  const followers = new Array<number>(vocab).fill(0);
  let n = 0;
  const padDoc = 0xffffffff;
  const packed = decodeManifest(CONTRACTS.PackedDatasetManifest, stageFile(w, "pack", "packed.json"), "packed.json");
  for (const bin of packed.bins.filter((b) => b.split === "train")) {
    const shard = stageFile(w, "pack", bin.file!.path);
    const len = (shard.length - 64) / 12;
    const tokens = new Uint32Array(Uint8Array.from(shard.subarray(64, 64 + 4 * len)).buffer);
    const docIds = new Uint32Array(Uint8Array.from(shard.subarray(64 + 4 * len, 64 + 8 * len)).buffer);
    tokens.forEach((t, i) => {
      if (docIds[i] === padDoc) return; // padding
      unigram[t] += 1;
      n += 1;
    });
  }
  for (const { tokens, targets } of splitRows(w, "train")) {
    targets.forEach((next, i) => {
      if (next === 0xffffffff) return;
      const k = `${tokens[i]},${next}`;
      if (!pair.has(k)) followers[tokens[i]] += 1;
      pair.set(k, (pair.get(k) ?? 0) + 1);
      context[tokens[i]] += 1;
    });
  }
  let nats = 0;
  for (const { tokens, targets } of splitRows(w, "validation")) {
    targets.forEach((next, i) => {
      if (next === 0xffffffff) return;
      const v = tokens[i];
      const uni = (unigram[next] + 1) / (n + vocab);
      const p =
        context[v] === 0
          ? uni
          : Math.max((pair.get(`${v},${next}`) ?? 0) - 0.75, 0) / context[v] +
            ((0.75 * followers[v]) / context[v]) * uni;
      nats -= Math.log(p);
    });
  }
  return nats;
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
  let w: StageWorkspace;
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
    const report = decodeManifest(CONTRACTS.EvalReport, stageFile(w, "eval", "report.json"), "report.json");
    const metrics = JSON.parse(stageFile(w, "eval", "metrics.json").toString()) as Record<string, number>;
    expect(Object.keys(metrics)).toEqual(availableMetrics({ teacher: false, undistilled: false }));
    // the rubric: the trained student beats the unigram (required), the loss criterion is optional and fails
    expect(metrics["student.bpb_gain_vs_baseline"]).toBeGreaterThan(0);
    expect(report.passed).toBe(true);
    expect(report.results.map((r) => [r.metric, r.passed, r.required])).toEqual([
      ["student.bpb_gain_vs_baseline", true, true],
      ["student.loss", false, false],
    ]);
    expect(report.results[0].value).toBe(metrics["student.bpb_gain_vs_baseline"]);
    // references: rubric = config digest, checkpoint/dataset = product manifest digests, html = the file
    const studentManifest = stageFile(w, "student", "checkpoint.json");
    expect(report.rubric).toMatchObject({ digest: out.manifest!.configDigest, schemaName: "nexa.v1.EvalRubric" });
    expect(report.checkpoint).toMatchObject({
      digest: digestBytes(studentManifest),
      schemaName: "nexa.v1.CheckpointManifest",
    });
    expect(report.dataset).toMatchObject({
      digest: digestBytes(stageFile(w, "pack", "packed.json")),
      schemaName: "nexa.v1.PackedDatasetManifest",
    });
    const html = stageFile(w, "eval", "report.html");
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
    // the bigram baseline agrees with a plain per-position computation and beats the unigram on this corpus
    const vocab = JSON.parse(stageFile(w, "pack", "tokenizer.manifest.json").toString()).vocabSize as number;
    const bigramNats = independentBigramNats(w, vocab);
    expect(metrics["bigram.loss"]).toBeCloseTo(bigramNats / mine.count, 10);
    expect(metrics["bigram.bits_per_byte"]).toBeCloseTo(bigramNats / Math.LN2 / mine.bytes, 10);
    expect(metrics["bigram.bits_per_byte"]).toBeLessThan(metrics["baseline.bits_per_byte"]);
    expect(metrics["student.bpb_gain_vs_bigram"]).toBeCloseTo(
      metrics["bigram.bits_per_byte"] - metrics["student.bits_per_byte"],
      12,
    );
    // the training curve's spike ratio is a ratio of losses (the fake train stage records lr)
    expect(metrics["student.loss_spike_ratio"]).toBeGreaterThan(0);
    expect(report.exampleCount).toBe(metrics["eval.examples"]);
    expect(html.toString()).toMatch(/<title>Eval report: golden-smoke r1 — PASS<\/title>/);
    expect(html.toString()).toContain('<polyline class="train"');
    expect(out.result.metrics).toMatchObject({ passed: 1 });
  });

  it("is deterministic: the same inputs give identical report.json, report.html and metrics.json bytes", async () => {
    await runEval(w, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    const first = ["report.json", "report.html", "metrics.json"].map((f) => stageFile(w, "again", f));
    await runEval(w, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    ["report.json", "report.html", "metrics.json"].forEach((f, i) =>
      expect(stageFile(w, "again", f).equals(first[i])).toBe(true),
    );
    // an independent workspace (other paths, same inputs) gives the same bytes as well
    const other = await upstream("other");
    await runEval(other, "again", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    ["report.json", "report.html", "metrics.json"].forEach((f, i) =>
      expect(stageFile(other, "again", f).equals(first[i])).toBe(true),
    );
  });

  it("with a teacher: teacher metrics, agreement, gap; a checkpoint agrees fully with itself", async () => {
    await runEval(w, "teach", RUBRIC, { checkpoint: "student", teacher: "teacher", packed: "pack" });
    const m = JSON.parse(stageFile(w, "teach", "metrics.json").toString()) as Record<string, number>;
    expect(Object.keys(m)).toEqual(availableMetrics({ teacher: true, undistilled: false }));
    expect(m["agreement.top1"]).toBeGreaterThan(0);
    expect(m["agreement.top1"]).toBeLessThanOrEqual(1);
    const student = independentScore(w, "student");
    const teacher = independentScore(w, "teacher");
    expect(m["teacher.bits_per_byte"]).toBeCloseTo(teacher.lossSum / Math.LN2 / teacher.bytes, 10);
    expect(m["student.bpb_gap_to_teacher"]).toBeCloseTo(
      (student.lossSum - teacher.lossSum) / Math.LN2 / student.bytes,
      10,
    );
    expect(stageFile(w, "teach", "report.html").toString()).toMatch(/bits per byte (behind|ahead of) the teacher/);

    // the teacher's checkpoint wired as the undistilled student: its metrics and what "distillation" bought
    await runEval(w, "raw", RUBRIC, { checkpoint: "student", undistilled: "teacher", packed: "pack" });
    const raw = JSON.parse(stageFile(w, "raw", "metrics.json").toString()) as Record<string, number>;
    expect(Object.keys(raw)).toEqual(availableMetrics({ teacher: false, undistilled: true }));
    expect(raw["undistilled.bits_per_byte"]).toBe(m["teacher.bits_per_byte"]);
    expect(raw["distillation.bpb_gain"]).toBe(raw["undistilled.bits_per_byte"] - raw["student.bits_per_byte"]);
    const rawHtml = stageFile(w, "raw", "report.html").toString();
    expect(rawHtml).toMatch(/Distillation (bought|cost) [0-9.]+ bits per byte/);
    expect(rawHtml).toContain("<th>undistilled student</th>");

    await runEval(w, "self", RUBRIC, { checkpoint: "student", teacher: "student", packed: "pack" });
    const self = JSON.parse(stageFile(w, "self", "metrics.json").toString()) as Record<string, number>;
    expect(self["agreement.top1"]).toBe(1);
    expect(self["student.bpb_gap_to_teacher"]).toBe(0);
  });

  it("caps the validation bins by max_examples, across shards", async () => {
    const all = JSON.parse(stageFile(w, "eval", "metrics.json").toString()) as Record<string, number>;
    const validationBins = decodeManifest(
      CONTRACTS.PackedDatasetManifest,
      stageFile(w, "pack", "packed.json"),
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
    const capped = decodeManifest(CONTRACTS.EvalReport, stageFile(w, "capped", "report.json"), "report.json");
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
    await runIn(other, fakePack({ vocabSize: 310 }), "pack2");
    await runIn(other, fakeTrainStage({ seed: 3, steps: 2 }), "teacher2", { inputs: { packed: "pack2" } });
    const e = await failure(
      runEval(other, "mismatch", RUBRIC, { checkpoint: "student", teacher: "teacher2", packed: "pack" }),
    );
    expect(e.code).toBe("EVAL_TOKENIZER_MISMATCH");
    const studentTok = decodeManifest(CONTRACTS.CheckpointManifest, stageFile(other, "student", "checkpoint.json"), "c")
      .tokenizer!.digest;
    const teacherTok = decodeManifest(
      CONTRACTS.CheckpointManifest,
      stageFile(other, "teacher2", "checkpoint.json"),
      "c",
    ).tokenizer!.digest;
    expect(studentTok).not.toBe(teacherTok);
    expect(e.message).toContain(`student ${studentTok}, teacher ${teacherTok}`);
    // the student against data packed with another tokenizer is refused too
    const e2 = await failure(runEval(other, "mismatch2", RUBRIC, { checkpoint: "student", packed: "pack2" }));
    expect(e2.message).toMatch(
      /the student expects tokenizer sha256:[0-9a-f]{64}, but the packed data uses sha256:[0-9a-f]{64}/,
    );
  });

  it("refuses a validation shard of an unknown format version, naming the file and the versions", async () => {
    await runIn(w, fakePack({ validationVersion: 2 }), "badpack");
    const e = await failure(runEval(w, "badshard", RUBRIC, { checkpoint: "student", packed: "badpack" }));
    expect(e.code).toBe("SHARD_UNSUPPORTED_VERSION");
    expect(e.message).toBe(
      "validation-00000.nxpk: packed shard format version 2 is not supported; this reader supports version 1",
    );
  });

  // the student's weights, then (with the teacher as the checkpoint) the first validation shard of the packed data
  itReportsDamagedUpstream(
    () => upstream("damage"),
    [
      {
        upstream: "student",
        slot: "checkpoint",
        path: "model.safetensors",
        run: (other) => failure(runEval(other, "damaged", RUBRIC, { checkpoint: "student", packed: "pack" })),
      },
      {
        upstream: "pack",
        slot: "packed",
        path: "validation-00000.nxpk",
        run: (other) => failure(runEval(other, "damaged2", RUBRIC, { checkpoint: "teacher", packed: "pack" })),
      },
    ],
  );
});

// The distill stage end to end through the stage runtime, on products of the shared fake upstream stages: a data
// stage (DatasetManifest + JSONL shards, train/validation/test) and a teacher: a tokenizer trained on the train texts
// (fake pack) and a tiny random-weight GPT saved with it as a checkpoint (fake train, 0 steps). Random weights
// generate gibberish, but deterministic gibberish: enough to check bytes, provenance, carried splits, gating counts
// and the errors.
import * as path from "path";

import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { listDataFiles } from "@nexa/modules/stage";
import type { StageOutcome } from "@nexa/modules/stage";
import { itReportsDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import {
  corpus,
  fakeDataStage,
  fakePackStage,
  fakeTrainStage,
  fixtureRecords,
} from "@nexa/modules/stage/testing/upstream";
import { runIn, stageFile, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import type { StageWorkspace } from "@nexa/modules/stage/testing/workspace";
import { SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";

import { distillStage } from "./index";
import type { DistilledRecord } from "./index";

/** A distilled record as one JSONL line holds it. */
type DistilledLine = Omit<DistilledRecord, "extra"> & DistilledRecord["extra"];

// ----------------------------------------------------------------------------------------------------------
// fixtures

const records = (prefix: string, n: number, seed: number) =>
  fixtureRecords(prefix, corpus(n, seed, { words: { min: 5, spread: 60 } }));

const SPLITS = {
  train: [...records("a", 40, 1), { id: "a-empty", text: "", source: "fixture.txt" }],
  validation: records("v", 7, 2),
  test: records("t", 5, 3),
};

const fakeData = fakeDataStage(SPLITS);
const trainTexts = SPLITS.train.map((r) => r.text);
/** The teacher's tokenizer (and a packed train split, the fake train stage's input). */
const teacherPack = fakePackStage({
  seqLen: 48,
  tokenizer: { train: trainTexts, vocabSize: 300 },
  shards: [{ split: "train", texts: trainTexts }],
});
const fakeTeacher = fakeTrainStage({ seed: 42, steps: 0 });

const CONFIG = {
  schemaVersion: 1,
  teacher: { checkpoint: { schemaName: "nexa.v1.CheckpointManifest" } },
  sampling: { temperature: 1, topP: 0.95, topK: 50, maxTokens: 16, seed: 7 },
  gating: { minChars: 1, dedupe: true },
  maxExamples: 30,
};

/** A fresh workspace with the upstream stages "data" and "teacher" (and the teacher's "teacher_pack") already run. */
async function workspace(): Promise<StageWorkspace> {
  const w = stageWorkspace("distill-");
  await runIn(w, fakeData, "data");
  await runIn(w, teacherPack, "teacher_pack");
  await runIn(w, fakeTeacher, "teacher", { inputs: { packed: "teacher_pack" } });
  return w;
}

const distill = (w: StageWorkspace, name: string, config: object = CONFIG): Promise<StageOutcome> =>
  runIn(w, distillStage, name, { module: "modules/distill", config, inputs: { dataset: "data", teacher: "teacher" } });

const product = (w: StageWorkspace, stage: string) =>
  decodeManifest(CONTRACTS.DatasetManifest, stageFile(w, stage, "dataset.json"), "dataset.json");

const trainRecords = (w: StageWorkspace, stage: string): DistilledLine[] =>
  stageFile(w, stage, "train-00000.jsonl")
    .toString("utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as DistilledLine);

const teacherDigest = (w: StageWorkspace) => digestBytes(stageFile(w, "teacher", "checkpoint.json"));

/** Whether stages `a` and `b` of `w` wrote the same bytes to `file`. */
const sameFile = (w: StageWorkspace, a: string, b: string, file: string) =>
  stageFile(w, a, file).equals(stageFile(w, b, file));

// ----------------------------------------------------------------------------------------------------------
// tests

describe("distill stage", () => {
  let w: StageWorkspace;
  let first: StageOutcome;
  beforeAll(async () => {
    w = await workspace();
    first = await distill(w, "distill");
  });

  it("writes dataset.json, a train shard and the carried held-out shards", async () => {
    expect(first.manifest!.outputs.map((o) => [o.path, o.schemaName])).toEqual([
      ["dataset.json", CONTRACTS.DatasetManifest.name],
      ["test-00000.jsonl", ""],
      ["train-00000.jsonl", ""],
      ["validation-00000.jsonl", ""],
    ]);
    const m = product(w, "distill");
    expect(m.splits.map((s) => s.name)).toEqual(["train", "validation", "test"]);
    expect(m.producer).toEqual({ stageName: "distill", stageId: first.stageId, module: "modules/distill" });
    expect(m.sources.map((s) => [s.kind, s.uri, s.artifact!.schemaName])).toEqual([
      [SourceLineage_Kind.KIND_DATASET, "data", CONTRACTS.DatasetManifest.name],
      [SourceLineage_Kind.KIND_TEACHER, "teacher", CONTRACTS.CheckpointManifest.name],
    ]);
    expect(m.sources[1].artifact!.digest).toBe(teacherDigest(w));
    expect(first.result.metrics).toMatchObject({ prompts: 30, generations: 30, carried: 12 });
    expect(m.recordCount).toBe(first.result.metrics!.distilled + 12);
  });

  it("is deterministic: a second run writes identical bytes", async () => {
    const again = await distill(w, "distill_again");
    expect(again.stageId).not.toBe(first.stageId); // stage name differs, so does the id; the data must not
    const files = await listDataFiles(path.join(w.dir, "distill"));
    expect(await listDataFiles(path.join(w.dir, "distill_again"))).toEqual(files);
    for (const f of files.filter((f) => f !== "dataset.json")) {
      expect(sameFile(w, "distill_again", "distill", f)).toBe(true);
    }
    const strip = (stage: string) => ({ ...product(w, stage), producer: undefined });
    expect(strip("distill_again")).toEqual(strip("distill"));
  });

  it("puts provenance on every distilled record: teacher digest, prompt id, sampling", () => {
    const records = trainRecords(w, "distill");
    expect(records.length).toBeGreaterThan(0);
    const sourceIds = new Set(SPLITS.train.map((r) => r.id));
    const seeds = new Set<number | string>();
    for (const r of records) {
      expect(Object.keys(r)).toEqual(["id", "text", "source", "provenance"]);
      expect(r.provenance.teacher).toBe(teacherDigest(w));
      expect(r.provenance.prompt_id).toBe(r.id);
      expect(r.provenance.prompt_id).toMatch(/#0$/);
      expect(sourceIds.has(r.id.slice(0, -2))).toBe(true);
      expect(r.provenance.sampling).toMatchObject({ temperature: 1, top_p: 0.95, top_k: 50, max_tokens: 16 });
      seeds.add(r.provenance.sampling.seed);
      expect(r.source).toBe("teacher");
    }
    expect(seeds.size).toBe(records.length); // one seed per generation
    const ids = records.map((r) => r.id);
    expect(ids).toEqual([...ids].sort());
  });

  it("carries validation and test through unchanged", () => {
    for (const split of ["validation", "test"]) {
      const file = `${split}-00000.jsonl`;
      expect(sameFile(w, "distill", "data", file)).toBe(true);
      const m = product(w, "distill");
      expect(m.shards.find((s) => s.split === split)).toEqual(product(w, "data").shards.find((s) => s.split === split));
    }
  });

  it("counts gating drops per reason in the manifest", async () => {
    // Greedy decoding makes the second sample of each prompt repeat the first: every one is a duplicate.
    const config = {
      ...CONFIG,
      sampling: { ...CONFIG.sampling, temperature: 0, n: 2 },
      gating: { minChars: 5, maxChars: 200, dedupe: true, rejectPatterns: ["^\\s"] },
      maxExamples: 0,
    };
    const out = await distill(w, "gated", config);
    const m = product(w, "gated");
    const drops = Object.fromEntries(m.drops.map((d) => [d.reason, d.count]));
    expect(drops.empty_prompt).toBe(1); // the record with empty text
    expect(drops.duplicate).toBeGreaterThanOrEqual(40);
    expect(m.drops.map((d) => d.reason)).toEqual([...m.drops.map((d) => d.reason)].sort());
    const kept = trainRecords(w, "gated");
    const dropped = m.drops.filter((d) => d.reason !== "empty_prompt").reduce((n, d) => n + d.count, 0);
    expect(kept.length + dropped).toBe(80); // 40 prompts × 2 samples
    expect(out.result.metrics).toMatchObject({ prompts: 40, generations: 80, distilled: kept.length });
    expect(m.sources[1]).toMatchObject({ recordsRead: 80, recordsKept: kept.length });
    for (const r of kept) expect(r.id).toMatch(/#0$/);
    // A reject pattern matching everything leaves nothing: an explicit error with the drop counts, not an empty split.
    await expect(distill(w, "rejected", { ...CONFIG, gating: { rejectPatterns: ["[\\s\\S]"] } })).rejects.toThrow(
      /\$\.gating: no distilled record was kept \(30 prompts, 30 generations; drops .*reject_pattern: \d+/,
    );
  });

  it("rejects a teacher digest that differs from the wired checkpoint, naming both", async () => {
    const wrong = `sha256:${"0".repeat(64)}`;
    const config = { ...CONFIG, teacher: { checkpoint: { digest: wrong, schemaName: "nexa.v1.CheckpointManifest" } } };
    await expect(distill(w, "mismatch", config)).rejects.toThrow(new RegExp(`${wrong}.*${teacherDigest(w)}`));
    await expect(distill(w, "mismatch", config)).rejects.toMatchObject({ code: "DISTILL_TEACHER_MISMATCH" });
    // The right digest is accepted and changes nothing in the data.
    await distill(w, "pinned", { ...CONFIG, teacher: { checkpoint: { digest: teacherDigest(w) } } });
    expect(sameFile(w, "pinned", "distill", "train-00000.jsonl")).toBe(true);
  });

  it("refuses an endpoint teacher with a checkpoint wired to `teacher` too (which one would it be?)", async () => {
    const endpoint = { baseUrl: "http://127.0.0.1:8080/v1", model: "m", systemFingerprint: "fp_1" };
    const config = { ...CONFIG, teacher: { endpoint } };
    await expect(distill(w, "endpoint", config)).rejects.toMatchObject({ code: "DISTILL_TEACHER_AMBIGUOUS" });
    await expect(distill(w, "endpoint", config)).rejects.toThrow(/\$\.teacher\.endpoint: .*wired to `teacher`/);
  });

  it("rejects bad configs with the field and the fix", async () => {
    await expect(distill(w, "bad1", { ...CONFIG, sampling: { ...CONFIG.sampling, maxTokens: 48 } })).rejects.toThrow(
      /\$\.sampling\.maxTokens: max_tokens 48/,
    );
    await expect(distill(w, "bad2", { ...CONFIG, gating: { rejectPatterns: ["("] } })).rejects.toThrow(
      /\$\.gating\.rejectPatterns\[0\]: invalid regular expression/,
    );
    await expect(distill(w, "bad3", { ...CONFIG, promptTemplate: "no placeholder" })).rejects.toThrow(
      /\$\.promptTemplate/,
    );
    await expect(distill(w, "bad4", { ...CONFIG, sampling: { ...CONFIG.sampling, topP: 1.5 } })).rejects.toThrow(
      /\$\.sampling\.topP/,
    );
  });

  it("applies the prompt template and changes outputs with the seed", async () => {
    await distill(w, "templated", { ...CONFIG, promptTemplate: "Story: {text}", maxExamples: 5 });
    const records = trainRecords(w, "templated");
    for (const r of records) expect(r.text.startsWith("Story: ")).toBe(true);
    await distill(w, "reseeded", { ...CONFIG, sampling: { ...CONFIG.sampling, seed: 8 } });
    expect(sameFile(w, "reseeded", "distill", "train-00000.jsonl")).toBe(false);
  });

  itReportsDamagedUpstream(workspace, [
    { upstream: "teacher", slot: "teacher", path: "model.safetensors", run: (broken) => distill(broken, "damaged") },
    { upstream: "data", slot: "dataset", path: "train-00000.jsonl", run: (broken) => distill(broken, "damaged2") },
  ]);
});

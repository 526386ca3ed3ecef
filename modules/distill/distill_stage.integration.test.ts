// The distill stage end to end through the stage runtime, on fixtures written by two fake upstream stages: a data
// stage (DatasetManifest + JSONL shards, train/validation/test) and a train stage (a tiny random-weight teacher saved
// through the kernels binding, its tokenizer and a CheckpointManifest). Random weights generate gibberish, but
// deterministic gibberish: enough to check bytes, provenance, carried splits, gating counts and the errors.
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { Model, Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { listDataFiles, runStage } from "@nexa/modules/stage";
import type { StageDefinition, StageOutcome } from "@nexa/modules/stage";
import { damageFile, expectDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import { DatasetManifest, DatasetShard, SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";
import { TokenizerManifest, TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";

import { distillStage } from "./index";
import type { DistilledRecord } from "./index";

/** A distilled record as one JSONL line holds it. */
type DistilledLine = Omit<DistilledRecord, "extra"> & DistilledRecord["extra"];

// ----------------------------------------------------------------------------------------------------------
// fixtures

const EOT = "<|endoftext|>";
const WORDS = [
  "the",
  "whale",
  "sea",
  "ship",
  "Ahab",
  "captain",
  "harpoon",
  "white",
  "deep",
  "sailor",
  "wind",
  "boat",
  "café",
  "日本",
  "1851",
  "—",
  "ocean's",
  "Ishmael",
  "storm",
  "rope",
  "mast",
  "oil",
];

function corpus(prefix: string, n: number, seed: number): Array<{ id: string; text: string; source: string }> {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const out = [];
  for (let d = 0; d < n; d++) {
    const words = Array.from({ length: 5 + (next() % 60) }, () => WORDS[next() % WORDS.length]);
    out.push({ id: `${prefix}-${String(d).padStart(3, "0")}`, text: words.join(" "), source: "fixture.txt" });
  }
  return out;
}

const SPLITS = {
  train: [...corpus("a", 40, 1), { id: "a-empty", text: "", source: "fixture.txt" }],
  validation: corpus("v", 7, 2),
  test: corpus("t", 5, 3),
};

const rubric = { schemaVersion: 1, name: "r", criteria: [{ metric: "m", comparator: "COMPARATOR_GTE" }] };

/** A data stage stand-in: one shard per split, records sorted by id. */
const fakeData: StageDefinition<EvalRubric> = {
  module: "modules/distill (test data)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const shards: DatasetShard[] = [];
    for (const [split, records] of Object.entries(SPLITS)) {
      const file = `${split}-00000.jsonl`;
      const body = records.map((r) => JSON.stringify(r) + "\n").join("");
      await writeFile(path.join(ctx.outDir, file), body);
      shards.push(
        DatasetShard.fromPartial({
          file: {
            digest: digestBytes(body),
            sizeBytes: Buffer.byteLength(body),
            path: file,
            mediaType: "application/jsonl",
          },
          recordCount: records.length,
          split,
          textBytes: records.reduce((n, r) => n + Buffer.byteLength(r.text), 0),
        }),
      );
    }
    const manifest = DatasetManifest.fromPartial({
      schemaVersion: 1,
      name: "fixture",
      recordCount: shards.reduce((n, s) => n + s.recordCount, 0),
      shards,
      splits: Object.entries(SPLITS).map(([name, r]) => ({ name, recordCount: r.length, fraction: 1 / 3 })),
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      textField: "text",
      seed: 1,
    });
    await writeFile(path.join(ctx.outDir, "dataset.json"), encodeMessage(DatasetManifest, manifest));
    return { product: { file: "dataset.json", schema: CONTRACTS.DatasetManifest.name } };
  },
};

/** A train stage stand-in: a byte-level BPE tokenizer and a tiny random GPT, as docs/formats.md lays them out. */
const fakeTrain: StageDefinition<EvalRubric> = {
  module: "modules/distill (test teacher)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const tokenizer = Tokenizer.train(
      SPLITS.train.map((r) => r.text),
      { vocabSize: 300, specials: [EOT] },
    );
    const hf = tokenizer.save("hf_json");
    const eosId = tokenizer.encode(EOT, { allowSpecial: true })[0];
    const vocabSize = tokenizer.vocabSize;
    tokenizer.free();
    await writeFile(path.join(ctx.outDir, "tokenizer.json"), hf);
    const tokManifest = encodeMessage(
      TokenizerManifest,
      TokenizerManifest.fromPartial({
        schemaVersion: 1,
        kind: TokenizerManifest_Kind.KIND_BPE,
        name: "bpe-300",
        vocabSize,
        eosId,
        specialTokens: [{ text: EOT, id: eosId }],
        files: [
          { digest: digestBytes(hf), sizeBytes: hf.length, path: "tokenizer.json", mediaType: "application/json" },
        ],
        producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      }),
    );
    await writeFile(path.join(ctx.outDir, "tokenizer.manifest.json"), tokManifest);
    const model = Model.create({ vocabSize, seqLen: 48, nLayer: 1, nHead: 2, dModel: 16 }, 42);
    const weights = model.save();
    model.free();
    await writeFile(path.join(ctx.outDir, "model.safetensors"), weights);
    const checkpoint = CheckpointManifest.fromPartial({
      schemaVersion: 1,
      weights: {
        digest: digestBytes(weights),
        sizeBytes: weights.length,
        path: "model.safetensors",
        mediaType: "application/vnd.nexa.safetensors",
      },
      model: { nLayer: 1, nHead: 2, nEmbd: 16, vocabSize, blockSize: 48 },
      trainConfigDigest: digestBytes("train config"),
      tokenizer: {
        digest: digestBytes(tokManifest),
        sizeBytes: Buffer.byteLength(tokManifest),
        path: "tokenizer.manifest.json",
        schemaName: CONTRACTS.TokenizerManifest.name,
      },
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    });
    await writeFile(path.join(ctx.outDir, "checkpoint.json"), encodeMessage(CheckpointManifest, checkpoint));
    return { product: { file: "checkpoint.json", schema: CONTRACTS.CheckpointManifest.name } };
  },
};

const CONFIG = {
  schemaVersion: 1,
  teacher: { checkpoint: { schemaName: "nexa.v1.CheckpointManifest" } },
  sampling: { temperature: 1, topP: 0.95, topK: 50, maxTokens: 16, seed: 7 },
  gating: { minChars: 1, dedupe: true },
  maxExamples: 30,
};

interface Workspace {
  dir: string;
  bundle: string;
}

const argv = (dir: string, name: string, config: string, extra: string[] = []): string[] => [
  "run",
  `--stage=${name}`,
  "--module=modules/distill",
  `--config=${config}`,
  `--out=${path.join(dir, name)}`,
  `--log=${path.join(dir, name + ".log.jsonl")}`,
  `--manifest=${path.join(dir, name + ".manifest.json")}`,
  ...extra,
];

const input = (w: Workspace, slot: string, stage: string) =>
  `--input=${slot}=${path.join(w.dir, stage + ".manifest.json")}:${path.join(w.dir, stage)}`;

/** A fresh directory with the upstream stages "data" and "teacher" already run. */
async function workspace(): Promise<Workspace> {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "distill-"));
  const bundle = path.join(dir, "bundle.js");
  writeFileSync(bundle, "// bundle bytes\n");
  const config = path.join(dir, "rubric.json");
  writeFileSync(config, JSON.stringify(rubric));
  await runStage(fakeData, argv(dir, "data", config), bundle);
  await runStage(fakeTrain, argv(dir, "teacher", config), bundle);
  return { dir, bundle };
}

async function distill(w: Workspace, name: string, config: object = CONFIG): Promise<StageOutcome> {
  const file = path.join(w.dir, `${name}.config.json`);
  writeFileSync(file, JSON.stringify(config));
  return runStage(
    distillStage,
    argv(w.dir, name, file, [input(w, "dataset", "data"), input(w, "teacher", "teacher")]),
    w.bundle,
  );
}

const product = (w: Workspace, stage: string) =>
  decodeManifest(CONTRACTS.DatasetManifest, readFileSync(path.join(w.dir, stage, "dataset.json")), "dataset.json");

const trainRecords = (w: Workspace, stage: string): DistilledLine[] =>
  readFileSync(path.join(w.dir, stage, "train-00000.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as DistilledLine);

const teacherDigest = (w: Workspace) => digestBytes(readFileSync(path.join(w.dir, "teacher", "checkpoint.json")));

// ----------------------------------------------------------------------------------------------------------
// tests

describe("distill stage", () => {
  let w: Workspace;
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
      expect(
        readFileSync(path.join(w.dir, "distill_again", f)).equals(readFileSync(path.join(w.dir, "distill", f))),
      ).toBe(true);
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
      expect(readFileSync(path.join(w.dir, "distill", file)).equals(readFileSync(path.join(w.dir, "data", file)))).toBe(
        true,
      );
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
    expect(
      readFileSync(path.join(w.dir, "pinned", "train-00000.jsonl")).equals(
        readFileSync(path.join(w.dir, "distill", "train-00000.jsonl")),
      ),
    ).toBe(true);
  });

  it("rejects an endpoint teacher explicitly", async () => {
    const config = { ...CONFIG, teacher: { endpoint: { baseUrl: "http://127.0.0.1:8080/v1", model: "m" } } };
    await expect(distill(w, "endpoint", config)).rejects.toThrow(
      /\$\.teacher\.endpoint: .*not supported in hermetic stages yet/,
    );
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
    expect(
      readFileSync(path.join(w.dir, "reseeded", "train-00000.jsonl")).equals(
        readFileSync(path.join(w.dir, "distill", "train-00000.jsonl")),
      ),
    ).toBe(false);
  });

  it.each(["flip", "truncate", "remove"] as const)(
    "reports damaged upstream files the way every stage does (%s)",
    async (how) => {
      const broken = await workspace();
      damageFile(path.join(broken.dir, "teacher", "model.safetensors"), how);
      expectDamagedUpstream(await distill(broken, "damaged").catch((e) => e), {
        upstream: "teacher",
        slot: "teacher",
        path: "model.safetensors",
        how,
      });
      damageFile(path.join(broken.dir, "data", "train-00000.jsonl"), how);
      expectDamagedUpstream(await distill(broken, "damaged2").catch((e) => e), {
        upstream: "data",
        slot: "dataset",
        path: "train-00000.jsonl",
        how,
      });
    },
  );
});

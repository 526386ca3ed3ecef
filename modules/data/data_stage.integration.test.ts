// The data stage driven through the stage runtime on small fixtures: ingest formats, input errors, gating and
// dedup counts, splits, sharded run + merge, determinism.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";
import { runStage } from "@nexa/modules/stage";
import type { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";

import { dataStage } from "./index";

// ----------------------------------------------------------------------------------------------------------
// fixtures: each test works in its own directory (the cwd), with raw paths relative to it as Bazel gives them

/** Deterministic pseudo-random words: documents built from different seeds are not near duplicates. */
function words(seed: number, count: number): string {
  let state = seed >>> 0;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let w = "";
    for (let k = 0; k < 5; k++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      w += String.fromCharCode(97 + ((state >>> 27) % 26));
    }
    out.push(w);
  }
  return out.join(" ");
}

const PERMISSIVE_GATE = {
  minBytes: 1,
  maxBytes: 0,
  maxDuplicateLineFraction: 1,
  maxNgramRepeatFraction: 1,
  ngramWords: 3,
  maxSymbolFraction: 1,
  maxDigitFraction: 1,
  exactDedup: true,
  nearDedup: true,
  minhashBands: 14,
  minhashRows: 8,
  minhashShingleWords: 5,
};

function config(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemaVersion: 1,
    name: "test",
    sources: [{ path: "raw/*.jsonl", format: "FORMAT_JSONL" }],
    gate: PERMISSIVE_GATE,
    split: { validationFraction: 0, testFraction: 0 },
    seed: 7,
    recordsPerShard: 0,
    ...over,
  };
}

const ROOT = process.cwd();
let bundle = "";

/** A fresh working directory holding `files` (path → content), made the cwd. */
function workspace(files: Record<string, string | Uint8Array>): string {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "data-"));
  process.chdir(dir);
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(rel), { recursive: true });
    writeFileSync(rel, content);
  }
  bundle = path.join(dir, "bundle.js");
  writeFileSync(bundle, "// bundle\n");
  return dir;
}

afterEach(() => process.chdir(ROOT));

const jsonl = (records: object[]): string => records.map((r) => JSON.stringify(r) + "\n").join("");

/** Runs one action; `args` are extra flags (shards, merge inputs). */
async function action(command: "run" | "merge", name: string, cfg: object, raw: string[], args: string[]) {
  writeFileSync("data.json", JSON.stringify(cfg));
  return runStage(
    dataStage,
    [
      command,
      "--stage=data",
      "--module=modules/data",
      "--config=data.json",
      ...raw.map((r) => `--raw=${r}`),
      `--log=${name}.log.jsonl`,
      ...args,
    ],
    bundle,
  );
}

/** An unsharded run into `<name>/`. */
const run = (name: string, cfg: object, raw: string[]) =>
  action("run", name, cfg, raw, [`--out=${name}`, `--manifest=${name}.manifest.json`]);

/** The dataset in `<name>/`: manifest and records per file. */
function dataset(name: string): {
  manifest: DatasetManifest;
  files: Record<string, string>;
  records: Array<{ id: string; text: string; source: string }>;
} {
  const manifest = decodeManifest(
    CONTRACTS.DatasetManifest,
    readFileSync(path.join(name, "dataset.json")),
    "dataset.json",
  );
  const files: Record<string, string> = {};
  for (const f of readdirSync(name).sort()) files[f] = readFileSync(path.join(name, f), "utf8");
  const records = Object.keys(files)
    .filter((f) => f.endsWith(".jsonl"))
    .flatMap((f) =>
      files[f]
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l)),
    );
  return { manifest, files, records };
}

const drops = (m: DatasetManifest) => Object.fromEntries(m.drops.map((d) => [d.reason, d.count]));

// ----------------------------------------------------------------------------------------------------------

describe("ingest", () => {
  it("reads JSONL with text and id fields, skipping blank lines; default ids are <file>:<line>", async () => {
    workspace({
      "raw/a.jsonl":
        jsonl([
          { body: words(1, 30), key: "k1" },
          { body: words(2, 30), key: 2 },
        ]) + "\n",
      "other/b.jsonl": `${JSON.stringify({ text: words(3, 30) })}\n\n${JSON.stringify({ text: words(4, 30) })}\n`,
    });
    await run(
      "out",
      config({
        sources: [
          { path: "raw/a.jsonl", format: "FORMAT_JSONL", textField: "body", idField: "key" },
          { path: "other/*.jsonl", format: "FORMAT_JSONL" },
        ],
      }),
      ["raw/a.jsonl", "other/b.jsonl"],
    );
    const { manifest, records } = dataset("out");
    expect(records).toEqual([
      { id: "2", text: words(2, 30), source: "raw/a.jsonl" },
      { id: "b.jsonl:1", text: words(3, 30), source: "other/*.jsonl" },
      { id: "b.jsonl:3", text: words(4, 30), source: "other/*.jsonl" },
      { id: "k1", text: words(1, 30), source: "raw/a.jsonl" },
    ]);
    expect(manifest.sources.map((s) => [s.uri, s.recordsRead, s.recordsKept])).toEqual([
      ["raw/a.jsonl", 2, 2],
      ["other/b.jsonl", 2, 2],
    ]);
    expect(manifest.sources[0].artifact?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(manifest).toMatchObject({
      name: "test",
      recordCount: 4,
      textField: "text",
      seed: 7,
      producer: { stageName: "data", module: "modules/data" },
    });
  });

  it("reads TEXT files (one document each) and JSON files (text_field), ignoring raw files no source names", async () => {
    workspace({
      "corpus/notes/n1.txt": words(5, 40),
      "corpus/data/chapter_1.json": JSON.stringify({ chapter: "1", title: "Loomings.", text: words(6, 40) }),
      "corpus/data/chapter_2.json": JSON.stringify({ chapter: "2", title: "The Carpet-Bag.", text: words(7, 40) }),
      "corpus/README.md": "not a source",
    });
    await run(
      "out",
      config({
        sources: [
          { path: "data/chapter_*.json", format: "FORMAT_JSON" },
          { path: "notes/*.txt", format: "FORMAT_TEXT" },
        ],
      }),
      ["corpus/README.md", "corpus/data/chapter_2.json", "corpus/data/chapter_1.json", "corpus/notes/n1.txt"],
    );
    const { manifest, records } = dataset("out");
    expect(records.map((r) => [r.id, r.source])).toEqual([
      ["chapter_1.json", "data/chapter_*.json"],
      ["chapter_2.json", "data/chapter_*.json"],
      ["n1.txt", "notes/*.txt"],
    ]);
    expect(records[0].text).toBe(words(6, 40));
    expect(manifest.sources.map((s) => [s.uri, s.artifact?.mediaType])).toEqual([
      ["corpus/data/chapter_1.json", "application/json"],
      ["corpus/data/chapter_2.json", "application/json"],
      ["corpus/notes/n1.txt", "text/plain"],
    ]);
  });

  it("names file:line:column of a malformed JSONL line", async () => {
    workspace({ "raw/bad.jsonl": `${JSON.stringify({ text: "fine" })}\n{"text": "broken", }\n` });
    const err = await run("out", config(), ["raw/bad.jsonl"]).catch((e) => e);
    expect(err).toMatchObject({ code: "DATA_MALFORMED_JSON", context: { file: "raw/bad.jsonl", line: 2, column: 20 } });
    expect(err.message).toContain("raw/bad.jsonl:2:20");
    expect(err.hint).toMatch(/JSON object/);
  });

  it("names file:line and the field of a missing or non-string text field", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "ok" }, { txt: "typo" }]) });
    await expect(run("out", config(), ["raw/a.jsonl"])).rejects.toMatchObject({
      code: "DATA_BAD_TEXT_FIELD",
      context: { file: "raw/a.jsonl", line: 2, field: "text" },
      message: expect.stringMatching(/^raw\/a\.jsonl:2: .*"text" is missing/),
    });
    workspace({ "raw/a.jsonl": jsonl([{ text: 3 }]) });
    await expect(run("out", config(), ["raw/a.jsonl"])).rejects.toThrow(
      /raw\/a\.jsonl:1: .*"text" is a number, not a string/,
    );
  });

  it("rejects duplicate ids, naming both files", async () => {
    workspace({
      "raw/a.jsonl": jsonl([{ id: "x", text: words(1, 20) }]),
      "raw/b.jsonl": jsonl([{ id: "x", text: words(2, 20) }]),
    });
    const cfg = config({ sources: [{ path: "raw/*.jsonl", format: "FORMAT_JSONL", idField: "id" }] });
    await expect(run("out", cfg, ["raw/a.jsonl", "raw/b.jsonl"])).rejects.toMatchObject({
      code: "DATA_DUPLICATE_ID",
      message: expect.stringContaining("raw/a.jsonl:1 and raw/b.jsonl:1"),
    });
  });

  it("rejects an unknown config field, naming the field", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "ok" }]) });
    await expect(run("out", config({ gate: { ...PERMISSIVE_GATE, minWords: 3 } }), ["raw/a.jsonl"])).rejects.toThrow(
      /data\.json: \$\.gate\.minWords/,
    );
  });

  it("fails on a source that matches no raw file", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "ok" }]) });
    await expect(
      run("out", config({ sources: [{ path: "raw/*.json", format: "FORMAT_JSON" }] }), ["raw/a.jsonl"]),
    ).rejects.toMatchObject({ code: "DATA_SOURCE_NO_MATCH", context: { jsonPath: "$.sources[0].path" } });
  });

  it("drops documents with invalid UTF-8 bytes as invalid_utf8 (JSONL line, TEXT file, unpaired surrogate)", async () => {
    const good = jsonl([{ text: words(1, 30) }]);
    const badLine = Buffer.concat([Buffer.from('{"text": "caf'), Buffer.from([0xff, 0xfe]), Buffer.from('"}\n')]);
    workspace({
      "raw/a.jsonl": Buffer.concat([Buffer.from(good), badLine, Buffer.from('{"text": "lone \\ud800 surrogate"}\n')]),
      "raw/t.txt": Buffer.from([0x61, 0x62, 0xc3, 0x28]),
      "raw/u.txt": words(2, 30),
    });
    await run(
      "out",
      config({
        sources: [
          { path: "raw/*.jsonl", format: "FORMAT_JSONL" },
          { path: "raw/*.txt", format: "FORMAT_TEXT" },
        ],
      }),
      ["raw/a.jsonl", "raw/t.txt", "raw/u.txt"],
    );
    const { manifest, records } = dataset("out");
    expect(records.map((r) => r.id)).toEqual(["a.jsonl:1", "u.txt"]);
    expect(drops(manifest)).toEqual({ invalid_utf8: 3 });
    expect(manifest.sources.map((s) => [s.recordsRead, s.recordsKept])).toEqual([
      [3, 1],
      [1, 0],
      [1, 1],
    ]);
  });
});

describe("gate", () => {
  it("drops exact and near duplicates after the first occurrence and counts every reason", async () => {
    const base = words(10, 120);
    workspace({
      "raw/a.jsonl": jsonl([
        { text: base },
        { text: base },
        { text: `${base} and one more tail` },
        { text: words(11, 120) },
        { text: "hi" },
      ]),
    });
    const out = await run("out", config({ gate: { ...PERMISSIVE_GATE, minBytes: 10 } }), ["raw/a.jsonl"]);
    const { manifest, records } = dataset("out");
    expect(records.map((r) => r.id)).toEqual(["a.jsonl:1", "a.jsonl:4"]);
    expect(manifest.drops).toEqual([
      { reason: "exact_duplicate", count: 1 },
      { reason: "near_duplicate", count: 1 },
      { reason: "too_short", count: 1 },
    ]);
    expect(out.result.metrics).toMatchObject({
      records_read: 5,
      records_kept: 2,
      dropped: 3,
      dropped_exact_duplicate: 1,
      dropped_near_duplicate: 1,
      dropped_too_short: 1,
    });
  });

  it("fails when every document is dropped, listing the counts per reason and what to relax", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "short" }, { text: "tiny" }, { text: "1234567890 1234567890" }]) });
    const err = await run("out", config({ gate: { ...PERMISSIVE_GATE, minBytes: 8, maxDigitFraction: 0.5 } }), [
      "raw/a.jsonl",
    ]).catch((e) => e);
    expect(err).toMatchObject({
      code: "DATA_ALL_DROPPED",
      message: expect.stringContaining("digit_ratio=1, too_short=2"),
    });
    expect(err.hint).toContain("lower gate.min_bytes (too_short: 2)");
    expect(err.hint).toContain("gate.max_digit_fraction");
  });
});

describe("split and shards", () => {
  const many = (n: number, seed = 100) =>
    jsonl(
      Array.from({ length: n }, (_, i) => ({ id: `doc-${String(i).padStart(3, "0")}`, text: words(seed + i, 40) })),
    );
  const idSource = [{ path: "raw/*.jsonl", format: "FORMAT_JSONL", idField: "id" }];
  const splitCfg = (seed: number) =>
    config({ sources: idSource, seed, split: { validationFraction: 0.1, testFraction: 0.1 }, recordsPerShard: 50 });

  it("splits by (seed, id): stable under reordering, different for another seed, shards sorted by id", async () => {
    workspace({ "raw/a.jsonl": many(200) });
    await run("out", splitCfg(7), ["raw/a.jsonl"]);
    const first = dataset("out");
    const splitOf = (d: ReturnType<typeof dataset>) =>
      Object.fromEntries(
        d.manifest.shards.flatMap((s) =>
          d.files[s.file!.path]
            .trim()
            .split("\n")
            .map((l) => [JSON.parse(l).id, s.split]),
        ),
      );
    expect(first.manifest.splits.map((s) => s.name)).toEqual(["train", "validation", "test"]);
    expect(first.manifest.splits.reduce((n, s) => n + s.recordCount, 0)).toBe(200);
    for (const s of first.manifest.splits.slice(1)) expect(s.recordCount).toBeGreaterThan(5);
    expect(Object.keys(first.files)).toEqual([
      "dataset.json",
      "test-00000.jsonl",
      "train-00000.jsonl",
      "train-00001.jsonl",
      "train-00002.jsonl",
      "train-00003.jsonl",
      "validation-00000.jsonl",
    ]);
    for (const s of first.manifest.shards) {
      const ids = first.files[s.file!.path]
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).id);
      expect(ids).toEqual([...ids].sort());
      expect(s.recordCount).toBe(ids.length);
    }
    // The same documents in another order (reversed lines) land in the same splits.
    const reversed = readFileSync("raw/a.jsonl", "utf8").trim().split("\n").reverse().join("\n") + "\n";
    writeFileSync("raw/a.jsonl", reversed);
    await run("again", splitCfg(7), ["raw/a.jsonl"]);
    expect(splitOf(dataset("again"))).toEqual(splitOf(first));
    await run("seeded", splitCfg(8), ["raw/a.jsonl"]);
    expect(splitOf(dataset("seeded"))).not.toEqual(splitOf(first));
  });

  it("2 shards + merge write the same bytes as the unsharded run; cross-shard duplicates are dropped once", async () => {
    const dup = words(500, 60);
    workspace({
      "raw/a.jsonl":
        jsonl([
          { id: "dup-a", text: dup },
          { id: "dup-b", text: dup },
          { id: "near", text: `${dup} plus a tail` },
        ]) + many(40),
      "raw/b.txt": "tiny",
    });
    const cfg = config({
      sources: [...idSource, { path: "raw/*.txt", format: "FORMAT_TEXT" }],
      gate: { ...PERMISSIVE_GATE, minBytes: 10 },
      split: { validationFraction: 0.2, testFraction: 0 },
      recordsPerShard: 16,
    });
    const raw = ["raw/a.jsonl", "raw/b.txt"];
    const whole = await run("whole", cfg, raw);
    for (const i of [0, 1]) await action("run", `s${i}`, cfg, raw, [`--shard=${i}`, "--num-shards=2", `--out=s${i}`]);
    const merged = await action("merge", "merged", cfg, raw, [
      "--shard-dir=s0",
      "--shard-dir=s1",
      "--out=merged",
      "--manifest=merged.manifest.json",
    ]);
    const a = dataset("whole");
    expect(dataset("merged").files).toEqual(a.files);
    expect(readFileSync("merged.manifest.json", "utf8")).toBe(readFileSync("whole.manifest.json", "utf8"));
    expect(merged.result.metrics).toEqual(whole.result.metrics);
    expect(drops(a.manifest)).toEqual({ exact_duplicate: 1, near_duplicate: 1, too_short: 1 });
    expect(a.manifest.recordCount).toBe(41);
  });

  it("writes identical bytes for the same input twice", async () => {
    workspace({ "raw/a.jsonl": many(60) });
    await run("one", splitCfg(3), ["raw/a.jsonl"]);
    await run("two", splitCfg(3), ["raw/a.jsonl"]);
    expect(dataset("two").files).toEqual(dataset("one").files);
    expect(readFileSync("two.manifest.json")).toEqual(readFileSync("one.manifest.json"));
  });

  it("refuses to merge shard directories of different runs", async () => {
    workspace({ "raw/a.jsonl": many(10) });
    const cfg = splitCfg(1);
    await action("run", "s0", cfg, ["raw/a.jsonl"], ["--shard=0", "--num-shards=2", "--out=s0"]);
    await expect(
      action("merge", "m", cfg, ["raw/a.jsonl"], ["--shard-dir=s0", "--out=m", "--manifest=m.manifest.json"]),
    ).rejects.toMatchObject({ code: "DATA_SHARD_MISMATCH" });
  });
});

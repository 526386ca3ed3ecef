// The data stage driven through the stage runtime on small fixtures: ingest formats (gzip, Parquet, encodings),
// source globs, input errors, gating and dedup counts, exclusion files, splits, sharded run + merge, determinism.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { gzipSync } from "zlib";

import { parquetMetadata } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";

import { CONTRACTS, decodeManifest, verifyManifest } from "@nexa/modules/manifest";
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
    .filter((f) => f.endsWith(".jsonl") && !f.startsWith("excluded-"))
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

// ----------------------------------------------------------------------------------------------------------

/** The lines of an exclusion file, parsed. */
const excludedLines = (name: string, reason: string): Array<Record<string, unknown>> =>
  readFileSync(path.join(name, `excluded-${reason}.jsonl`), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));

describe("source globs", () => {
  it("matches ** across nested folders (zero included) and {a,b} alternatives", async () => {
    workspace({
      "data/x.jsonl": jsonl([{ text: words(1, 30) }]),
      "data/a/b/y.jsonl": jsonl([{ text: words(2, 30) }]),
      "data/a/z.txt": words(3, 30),
      "data/a/skip.json": "{}",
      "other/w.jsonl": jsonl([{ text: words(4, 30) }]),
    });
    await run(
      "out",
      config({
        sources: [
          { path: "data/**/*.jsonl", format: "FORMAT_JSONL" },
          { path: "data/**/*.{txt,md}", format: "FORMAT_TEXT" },
        ],
      }),
      ["data/x.jsonl", "data/a/b/y.jsonl", "data/a/z.txt", "data/a/skip.json", "other/w.jsonl"],
    );
    expect(dataset("out").manifest.sources.map((s) => s.uri)).toEqual([
      "data/a/b/y.jsonl",
      "data/x.jsonl",
      "data/a/z.txt",
    ]);
  });

  it("rejects an unsupported pattern naming sources[i].path, before reading anything", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "ok" }]) });
    const err = await run(
      "out",
      config({
        sources: [
          { path: "raw/*.jsonl", format: "FORMAT_JSONL" },
          { path: "!raw/b.jsonl", format: "FORMAT_JSONL" },
        ],
      }),
      ["raw/a.jsonl"],
    ).catch((e) => e);
    expect(err).toMatchObject({
      code: "DATA_BAD_SOURCE_PATTERN",
      context: { file: "data.json", jsonPath: "$.sources[1].path", value: "!raw/b.jsonl" },
    });
    expect(err.message).toContain('sources[1].path "!raw/b.jsonl" is a negation');
  });
});

describe("gzip", () => {
  it("reads .jsonl.gz, .json.gz and .txt.gz like their plain forms, recording the compressed file", async () => {
    const a = jsonl([{ text: words(1, 30) }, { text: words(2, 30) }]);
    const b = JSON.stringify({ text: words(3, 30) });
    const c = words(4, 30);
    workspace({ "raw/a.jsonl.gz": gzipSync(a), "raw/b.json.gz": gzipSync(b), "raw/c.txt.gz": gzipSync(c) });
    await run(
      "out",
      config({
        sources: [
          { path: "raw/*.jsonl.gz", format: "FORMAT_JSONL" },
          { path: "raw/*.json.gz", format: "FORMAT_JSON" },
          { path: "raw/*.txt.gz", format: "FORMAT_TEXT" },
        ],
      }),
      ["raw/a.jsonl.gz", "raw/b.json.gz", "raw/c.txt.gz"],
    );
    const { manifest, records } = dataset("out");
    expect(records.map((r) => [r.id, r.text])).toEqual([
      ["a.jsonl.gz:1", words(1, 30)],
      ["a.jsonl.gz:2", words(2, 30)],
      ["b.json.gz", words(3, 30)],
      ["c.txt.gz", words(4, 30)],
    ]);
    expect(manifest.sources.map((s) => [s.artifact?.mediaType, s.artifact?.sizeBytes])).toEqual([
      ["application/gzip", readFileSync("raw/a.jsonl.gz").length],
      ["application/gzip", readFileSync("raw/b.json.gz").length],
      ["application/gzip", readFileSync("raw/c.txt.gz").length],
    ]);
  });

  it("names the file of a .gz that is not gzip and of a truncated gzip stream", async () => {
    workspace({ "raw/a.jsonl.gz": jsonl([{ text: "plain" }]) });
    await expect(
      run("out", config({ sources: [{ path: "raw/*.gz", format: "FORMAT_JSONL" }] }), ["raw/a.jsonl.gz"]),
    ).rejects.toMatchObject({
      code: "DATA_BAD_GZIP",
      context: { file: "raw/a.jsonl.gz" },
      message: expect.stringContaining("not gzip-compressed"),
    });
    const whole = gzipSync(jsonl([{ text: words(1, 200) }]));
    workspace({ "raw/a.jsonl.gz": whole.subarray(0, whole.length - 12) });
    await expect(
      run("out", config({ sources: [{ path: "raw/*.gz", format: "FORMAT_JSONL" }] }), ["raw/a.jsonl.gz"]),
    ).rejects.toMatchObject({
      code: "DATA_BAD_GZIP",
      context: { file: "raw/a.jsonl.gz" },
      hint: expect.stringContaining("truncated"),
    });
  });
});

describe("parquet", () => {
  const texts = [words(1, 30), words(2, 30), words(3, 30)];
  /** A Parquet file of (title, body, key) rows; snappy-compressed columns unless `codec` says otherwise. */
  const parquet = (codec?: "UNCOMPRESSED"): Buffer =>
    Buffer.from(
      parquetWriteBuffer({
        codec,
        columnData: [
          { name: "title", data: ["one", "two", "three"], type: "STRING" },
          { name: "body", data: texts, type: "STRING" },
          { name: "key", data: [BigInt(10), BigInt(20), BigInt(30)], type: "INT64" },
        ],
      }),
    );

  it("reads a text column and an integer id column from snappy and uncompressed files", async () => {
    const snappy = parquet();
    const plain = parquet("UNCOMPRESSED");
    const codecs = (b: Buffer) =>
      parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer).row_groups.flatMap((g) =>
        g.columns.map((c) => c.meta_data?.codec),
      );
    expect(codecs(snappy)).toEqual(["SNAPPY", "SNAPPY", "SNAPPY"]);
    expect(codecs(plain)).toEqual(["UNCOMPRESSED", "UNCOMPRESSED", "UNCOMPRESSED"]);
    workspace({ "pq/a.parquet": snappy, "pq/sub/b.parquet": plain });
    await run(
      "out",
      config({
        sources: [
          { path: "pq/a.parquet", format: "FORMAT_PARQUET", textField: "body", idField: "key" },
          { path: "pq/sub/*.parquet", format: "FORMAT_PARQUET", textField: "body" },
        ],
        gate: { ...PERMISSIVE_GATE, exactDedup: false, nearDedup: false },
      }),
      ["pq/a.parquet", "pq/sub/b.parquet"],
    );
    const { manifest, records } = dataset("out");
    expect(records.map((r) => [r.id, r.text])).toEqual([
      ["10", texts[0]],
      ["20", texts[1]],
      ["30", texts[2]],
      ["b.parquet:1", texts[0]],
      ["b.parquet:2", texts[1]],
      ["b.parquet:3", texts[2]],
    ]);
    expect(manifest.sources.map((s) => [s.uri, s.artifact?.mediaType, s.recordsRead])).toEqual([
      ["pq/a.parquet", "application/vnd.apache.parquet", 3],
      ["pq/sub/b.parquet", "application/vnd.apache.parquet", 3],
    ]);
  });

  it("names the file and the columns of a missing column, and the file of a malformed Parquet file", async () => {
    workspace({ "pq/a.parquet": parquet() });
    const err = await run("out", config({ sources: [{ path: "pq/*.parquet", format: "FORMAT_PARQUET" }] }), [
      "pq/a.parquet",
    ]).catch((e) => e);
    expect(err).toMatchObject({ code: "DATA_BAD_PARQUET_COLUMN", context: { file: "pq/a.parquet", field: "text" } });
    expect(err.hint).toContain("sources[0].text_field to one of its columns: title, body, key");
    workspace({ "pq/a.parquet": "not parquet at all" });
    await expect(
      run("out", config({ sources: [{ path: "pq/*.parquet", format: "FORMAT_PARQUET", textField: "body" }] }), [
        "pq/a.parquet",
      ]),
    ).rejects.toMatchObject({ code: "DATA_MALFORMED_PARQUET", context: { file: "pq/a.parquet" } });
  });

  it("applies on_invalid_utf8 to byte-array values, locating rows", async () => {
    const bad = Buffer.from(
      parquetWriteBuffer({
        columnData: [
          {
            name: "text",
            data: [Buffer.from(words(1, 30)), Buffer.from([0x61, 0x62, 0xff, 0x63])],
            type: "BYTE_ARRAY",
          },
        ],
      }),
    );
    workspace({ "pq/a.parquet": bad });
    await run("out", config({ sources: [{ path: "pq/*.parquet", format: "FORMAT_PARQUET" }] }), ["pq/a.parquet"]);
    expect(drops(dataset("out").manifest)).toEqual({ invalid_utf8: 1 });
    expect(excludedLines("out", "invalid_utf8")).toEqual([
      { reason: "invalid_utf8", id: "a.parquet:2", file: "pq/a.parquet", row: 2, source: "pq/*.parquet" },
    ]);
    const cfg = config({
      sources: [{ path: "pq/*.parquet", format: "FORMAT_PARQUET", onInvalidUtf8: "ON_INVALID_UTF8_ERROR" }],
    });
    await expect(run("err", cfg, ["pq/a.parquet"])).rejects.toMatchObject({
      code: "DATA_INVALID_UTF8",
      context: { file: "pq/a.parquet", row: 2, byteOffset: 2 },
      message: expect.stringContaining("(row 2)"),
    });
  });
});

describe("text hygiene", () => {
  const bom = (s: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(s, "utf8")]);

  it("strips a UTF-8 BOM (JSONL, JSON, TEXT) and accepts CRLF JSONL", async () => {
    workspace({
      "raw/a.jsonl": bom(jsonl([{ text: words(1, 30) }])),
      "raw/b.json": bom(JSON.stringify({ text: words(2, 30) })),
      "raw/c.txt": bom(words(3, 30)),
      "raw/d.jsonl":
        [{ text: words(4, 30) }, { text: words(5, 30) }].map((r) => JSON.stringify(r) + "\r\n").join("") + "\r\n",
    });
    await run(
      "out",
      config({
        sources: [
          { path: "raw/*.jsonl", format: "FORMAT_JSONL" },
          { path: "raw/*.json", format: "FORMAT_JSON" },
          { path: "raw/*.txt", format: "FORMAT_TEXT" },
        ],
      }),
      ["raw/a.jsonl", "raw/b.json", "raw/c.txt", "raw/d.jsonl"],
    );
    expect(dataset("out").records.map((r) => [r.id, r.text])).toEqual([
      ["a.jsonl:1", words(1, 30)],
      ["b.json", words(2, 30)],
      ["c.txt", words(3, 30)],
      ["d.jsonl:1", words(4, 30)],
      ["d.jsonl:2", words(5, 30)],
    ]);
  });

  it("decodes latin-1 (ISO-8859-1) and windows-1252 sources, plain and gzip", async () => {
    // "café “quoted” naïve" in windows-1252; 0x93/0x94 are C1 controls in ISO-8859-1.
    const bytes = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x93, 0x71, 0x94, 0x20, 0x6e, 0x61, 0xef, 0x76, 0x65]);
    const tail = " " + words(9, 20);
    const body = Buffer.concat([bytes, Buffer.from(tail)]);
    workspace({
      "latin/a/l.txt": body,
      "cp/w.txt.gz": gzipSync(body),
      "cp/w.jsonl": Buffer.concat([Buffer.from('{"text": "'), body, Buffer.from('"}\n')]),
    });
    await run(
      "out",
      config({
        sources: [
          { path: "latin/**/*.txt", format: "FORMAT_TEXT", encoding: "latin-1" },
          { path: "cp/*.txt.gz", format: "FORMAT_TEXT", encoding: "windows-1252" },
          { path: "cp/*.jsonl", format: "FORMAT_JSONL", encoding: "windows-1252" },
        ],
        gate: { ...PERMISSIVE_GATE, exactDedup: false, nearDedup: false },
      }),
      ["latin/a/l.txt", "cp/w.txt.gz", "cp/w.jsonl"],
    );
    expect(dataset("out").records.map((r) => [r.id, r.text])).toEqual([
      ["l.txt", `café \u0093q\u0094 naïve${tail}`],
      ["w.jsonl:1", `café “q” naïve${tail}`],
      ["w.txt.gz", `café “q” naïve${tail}`],
    ]);
  });

  it("rejects an unknown encoding naming sources[i].encoding", async () => {
    workspace({ "raw/a.jsonl": jsonl([{ text: "ok" }]) });
    await expect(
      run("out", config({ sources: [{ path: "raw/*.jsonl", format: "FORMAT_JSONL", encoding: "utf-16" }] }), [
        "raw/a.jsonl",
      ]),
    ).rejects.toMatchObject({
      code: "DATA_BAD_ENCODING",
      context: { file: "data.json", jsonPath: "$.sources[0].encoding", value: "utf-16" },
      hint: expect.stringContaining('"latin-1"'),
    });
  });

  describe("on_invalid_utf8", () => {
    const good = jsonl([{ text: words(1, 30) }]);
    const badLine = Buffer.concat([
      Buffer.from('{"text": "caf'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`${words(2, 20)}"}\n`),
    ]);
    const files = () =>
      workspace({
        "raw/a.jsonl": Buffer.concat([Buffer.from(good), badLine]),
        "raw/t.txt": Buffer.from([0x61, 0x62, 0xc3, 0x28]),
      });
    const cfg = (onInvalidUtf8?: string) =>
      config({
        sources: [
          { path: "raw/*.jsonl", format: "FORMAT_JSONL", ...(onInvalidUtf8 ? { onInvalidUtf8 } : {}) },
          { path: "raw/*.txt", format: "FORMAT_TEXT", ...(onInvalidUtf8 ? { onInvalidUtf8 } : {}) },
        ],
      });
    const raw = ["raw/a.jsonl", "raw/t.txt"];

    it("drop (default and explicit): counted as invalid_utf8 and listed in its exclusion file", async () => {
      files();
      await run("out", cfg(), raw);
      await run("explicit", cfg("ON_INVALID_UTF8_DROP"), raw);
      const out = dataset("out");
      expect(out.records.map((r) => r.id)).toEqual(["a.jsonl:1"]);
      expect(drops(out.manifest)).toEqual({ invalid_utf8: 2 });
      // The same outputs (but for the stage id in the manifest: the config differs).
      const explicit = dataset("explicit");
      const { "dataset.json": _m, ...rest } = out.files;
      expect(explicit.files).toEqual(expect.objectContaining(rest));
      expect(explicit.manifest.exclusions).toEqual(out.manifest.exclusions);
      expect(excludedLines("out", "invalid_utf8")).toEqual([
        { reason: "invalid_utf8", id: "a.jsonl:2", file: "raw/a.jsonl", line: 2, source: "raw/*.jsonl" },
        { reason: "invalid_utf8", id: "t.txt", file: "raw/t.txt", line: 1, source: "raw/*.txt" },
      ]);
    });

    it("error: fails naming the file, line and byte offset and the fix", async () => {
      files();
      const err = await run("out", cfg("ON_INVALID_UTF8_ERROR"), raw).catch((e) => e);
      expect(err).toMatchObject({
        code: "DATA_INVALID_UTF8",
        context: { file: "raw/a.jsonl", line: 2, byteOffset: good.length + 13 },
        message: expect.stringContaining(`raw/a.jsonl:2: invalid UTF-8 at byte offset ${good.length + 13} (line 2)`),
      });
      expect(err.hint).toContain('sources[0].encoding to "latin-1" or "windows-1252"');
      expect(err.hint).toContain("ON_INVALID_UTF8_REPLACE");
      workspace({ "raw/a.jsonl": '{"text": "lone \\ud800 surrogate"}\n', "raw/t.txt": words(1, 20) });
      await expect(run("out", cfg("ON_INVALID_UTF8_ERROR"), raw)).rejects.toMatchObject({
        code: "DATA_INVALID_UTF8",
        message: expect.stringContaining("unpaired surrogate"),
      });
    });

    it("replace: keeps the documents with U+FFFD", async () => {
      files();
      await run("out", cfg("ON_INVALID_UTF8_REPLACE"), raw);
      const { manifest, records } = dataset("out");
      expect(manifest.drops).toEqual([]);
      expect(records.map((r) => [r.id, r.text])).toEqual([
        ["a.jsonl:1", words(1, 30)],
        ["a.jsonl:2", `caf\uFFFD\uFFFD${words(2, 20)}`],
        ["t.txt", "ab\uFFFD("],
      ]);
    });
  });
});

describe("exclusion files", () => {
  it("lists every dropped document per reason in reading order, referenced and verified through the manifest", async () => {
    const base = words(10, 120);
    workspace({
      "raw/a.jsonl": jsonl([{ text: base }, { text: "hi" }, { text: base }, { text: "yo" }, { text: words(11, 120) }]),
      "raw/b.jsonl": jsonl([{ text: base }]),
    });
    await run("out", config({ gate: { ...PERMISSIVE_GATE, minBytes: 10 } }), ["raw/a.jsonl", "raw/b.jsonl"]);
    const { manifest, files } = dataset("out");
    expect(Object.keys(files)).toEqual([
      "dataset.json",
      "excluded-exact_duplicate.jsonl",
      "excluded-too_short.jsonl",
      "train-00000.jsonl",
    ]);
    expect(excludedLines("out", "too_short")).toEqual([
      { reason: "too_short", id: "a.jsonl:2", file: "raw/a.jsonl", line: 2, source: "raw/*.jsonl" },
      { reason: "too_short", id: "a.jsonl:4", file: "raw/a.jsonl", line: 4, source: "raw/*.jsonl" },
    ]);
    expect(excludedLines("out", "exact_duplicate").map((l) => `${l.file}:${l.line}`)).toEqual([
      "raw/a.jsonl:3",
      "raw/b.jsonl:1",
    ]);
    expect(manifest.exclusions).toEqual([
      {
        reason: "exact_duplicate",
        file: expect.objectContaining({ path: "excluded-exact_duplicate.jsonl", mediaType: "application/jsonl" }),
        count: 2,
        firstLocations: ["raw/a.jsonl:3", "raw/b.jsonl:1"],
      },
      {
        reason: "too_short",
        file: expect.objectContaining({
          path: "excluded-too_short.jsonl",
          sizeBytes: Buffer.byteLength(files["excluded-too_short.jsonl"]),
        }),
        count: 2,
        firstLocations: ["raw/a.jsonl:2", "raw/a.jsonl:4"],
      },
    ]);
    // The manifest verifies the files it lists: a changed exclusion file fails verification.
    await expect(verifyManifest(CONTRACTS.DatasetManifest, path.join("out", "dataset.json"))).resolves.toBeDefined();
    writeFileSync(path.join("out", "excluded-too_short.jsonl"), "{}\n");
    await expect(verifyManifest(CONTRACTS.DatasetManifest, path.join("out", "dataset.json"))).rejects.toMatchObject({
      context: expect.objectContaining({ jsonPath: "$.exclusions[1].file" }),
    });
  });

  it("lists at most 5 first locations and writes no exclusion file when nothing is dropped", async () => {
    workspace({ "raw/a.jsonl": jsonl([...Array.from({ length: 7 }, () => ({ text: "x" })), { text: words(1, 30) }]) });
    await run("out", config({ gate: { ...PERMISSIVE_GATE, minBytes: 10 } }), ["raw/a.jsonl"]);
    const [ex] = dataset("out").manifest.exclusions;
    expect(ex).toMatchObject({ reason: "too_short", count: 7 });
    expect(ex.firstLocations).toEqual([1, 2, 3, 4, 5].map((n) => `raw/a.jsonl:${n}`));
    workspace({ "raw/a.jsonl": jsonl([{ text: words(1, 30) }]) });
    await run("clean", config(), ["raw/a.jsonl"]);
    expect(readdirSync("clean").sort()).toEqual(["dataset.json", "train-00000.jsonl"]);
    expect(dataset("clean").manifest.exclusions).toEqual([]);
  });

  it("3 shards + merge write the same dataset and exclusion files as the unsharded run (gzip, Parquet, invalid UTF-8)", async () => {
    const dup = words(700, 60);
    const rows = Array.from({ length: 9 }, (_, i) => (i === 4 ? "tiny" : i === 7 ? dup : words(800 + i, 40)));
    workspace({
      "in/a/one.jsonl.gz": gzipSync(
        jsonl([
          { text: dup },
          { text: "tiny one" },
          { text: "tiny two" },
          ...Array.from({ length: 8 }, (_, i) => ({ text: words(900 + i, 40) })),
        ]),
      ),
      "in/b/two.parquet": Buffer.from(
        parquetWriteBuffer({ columnData: [{ name: "text", data: rows, type: "STRING" }] }),
      ),
      "in/c/bad.txt": Buffer.from([0x61, 0xff, 0x62, 0x20, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a]),
    });
    const cfg = config({
      sources: [
        { path: "in/**/*.jsonl.gz", format: "FORMAT_JSONL" },
        { path: "in/**/*.parquet", format: "FORMAT_PARQUET" },
        { path: "in/**/*.txt", format: "FORMAT_TEXT" },
      ],
      gate: { ...PERMISSIVE_GATE, minBytes: 10 },
      split: { validationFraction: 0.25, testFraction: 0 },
    });
    const raw = ["in/c/bad.txt", "in/b/two.parquet", "in/a/one.jsonl.gz"];
    await run("whole", cfg, raw);
    for (const i of [0, 1, 2])
      await action("run", `s${i}`, cfg, raw, [`--shard=${i}`, "--num-shards=3", `--out=s${i}`]);
    await action("merge", "merged", cfg, raw, [
      "--shard-dir=s0",
      "--shard-dir=s1",
      "--shard-dir=s2",
      "--out=merged",
      "--manifest=merged.manifest.json",
    ]);
    const whole = dataset("whole");
    expect(dataset("merged").files).toEqual(whole.files);
    expect(drops(whole.manifest)).toEqual({ exact_duplicate: 1, invalid_utf8: 1, too_short: 3 });
    expect(whole.manifest.exclusions.map((e) => [e.reason, e.firstLocations])).toEqual([
      ["exact_duplicate", ["in/b/two.parquet:8"]],
      ["invalid_utf8", ["in/c/bad.txt:1"]],
      // Reading order, though three shards dropped them (indices 1, 2 and 15: shards 1, 2 and 0).
      ["too_short", ["in/a/one.jsonl.gz:2", "in/a/one.jsonl.gz:3", "in/b/two.parquet:5"]],
    ]);
  });
});

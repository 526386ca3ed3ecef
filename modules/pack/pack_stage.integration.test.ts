// The pack stage end to end through the stage runtime, on a small dataset written by a fake upstream data stage:
// products and manifests, determinism, exactly-once packing, tokenizer reuse, tokenizer.json shape, bad inputs.
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { PACKED_PAD_DOC_ID, readPackedShard } from "@nexa/modules/packed_shards";
import { listDataFiles, runStage } from "@nexa/modules/stage";
import type { StageDefinition, StageOutcome } from "@nexa/modules/stage";
import { damageFile, expectDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { DatasetManifest, DatasetShard } from "@nexa/proto/nexa/v1/dataset";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { END_OF_TEXT, packStage } from "./index";

// ----------------------------------------------------------------------------------------------------------
// fixture: a deterministic corpus and a fake upstream data stage writing DatasetManifest + JSONL shards

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
  "naïve",
  "日本",
  "42",
  "1851",
  "—",
  "ocean's",
  "!",
  "Ishmael",
  "storm",
  "rope",
  "mast",
  "\n\n",
  "oil",
];

function corpus(n: number, seed: number): string[] {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const docs: string[] = [];
  for (let d = 0; d < n; d++) {
    const words = d % 10 === 3 ? 120 + (next() % 120) : 3 + (next() % 30); // every 10th document is long
    const parts: string[] = [];
    for (let w = 0; w < words; w++) parts.push(WORDS[next() % WORDS.length]);
    docs.push(parts.join(" "));
  }
  docs.push(`literal ${END_OF_TEXT} inside a text stays text`, "");
  return docs;
}

const SPLITS: Record<string, string[]> = { train: corpus(150, 1), validation: corpus(30, 2) };

const fakeData: StageDefinition<EvalRubric> = {
  module: "modules/pack (test fixture)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const shards: DatasetShard[] = [];
    for (const split of Object.keys(SPLITS)) {
      const file = `${split}-00000.jsonl`;
      const body = SPLITS[split]
        .map((text, i) => JSON.stringify({ id: `${split}-${i}`, text, source: "fixture" }) + "\n")
        .join("");
      await writeFile(path.join(ctx.outDir, file), body);
      shards.push(
        DatasetShard.fromPartial({
          file: {
            digest: digestBytes(body),
            sizeBytes: Buffer.byteLength(body),
            path: file,
            mediaType: "application/jsonl",
          },
          recordCount: SPLITS[split].length,
          split,
          textBytes: Buffer.byteLength(SPLITS[split].join("")),
        }),
      );
    }
    const manifest = DatasetManifest.fromPartial({
      schemaVersion: 1,
      name: "fixture",
      recordCount: shards.reduce((n, s) => n + s.recordCount, 0),
      shards,
      splits: Object.keys(SPLITS).map((name) => ({ name, recordCount: SPLITS[name].length, fraction: 0.5 })),
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      textField: "text",
      seed: 1,
    });
    await writeFile(path.join(ctx.outDir, "dataset.json"), encodeMessage(DatasetManifest, manifest));
    return { product: { file: "dataset.json", schema: CONTRACTS.DatasetManifest.name } };
  },
};

const CONFIG = {
  schemaVersion: 1,
  tokenizer: { vocabSize: 320, minFrequency: 2, specialTokens: [END_OF_TEXT, "<|pad|>"] },
  seqLen: 64,
  shuffleSeed: 7,
  splits: ["train", "validation"],
  appendEos: true,
};

interface Workspace {
  dir: string;
  bundle: string;
}

/** A fresh directory with a bundle stand-in and the upstream stage "data" already run. */
async function workspace(): Promise<Workspace> {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "pack-"));
  const bundle = path.join(dir, "bundle.js");
  writeFileSync(bundle, "// bundle bytes\n");
  const rubric = path.join(dir, "rubric.json");
  writeFileSync(
    rubric,
    JSON.stringify({ schemaVersion: 1, name: "r", criteria: [{ metric: "m", comparator: "COMPARATOR_GTE" }] }),
  );
  await runStage(fakeData, stageArgv(dir, "data", rubric), bundle);
  return { dir, bundle };
}

function stageArgv(dir: string, name: string, config: string, extra: string[] = []): string[] {
  return [
    "run",
    `--stage=${name}`,
    "--module=modules/pack",
    `--config=${config}`,
    `--out=${path.join(dir, name)}`,
    `--log=${path.join(dir, name + ".log.jsonl")}`,
    `--manifest=${path.join(dir, name + ".manifest.json")}`,
    ...extra,
  ];
}

const input = (w: Workspace, slot: string, stage: string) =>
  `--input=${slot}=${path.join(w.dir, stage + ".manifest.json")}:${path.join(w.dir, stage)}`;

async function pack(
  w: Workspace,
  name: string,
  config: object = CONFIG,
  inputs = [input(w, "dataset", "data")],
): Promise<StageOutcome> {
  const file = path.join(w.dir, `${name}.config.json`);
  writeFileSync(file, JSON.stringify(config));
  return runStage(packStage, stageArgv(w.dir, name, file, inputs), w.bundle);
}

const readPacked = (w: Workspace, stage: string) =>
  decodeManifest(CONTRACTS.PackedDatasetManifest, readFileSync(path.join(w.dir, stage, "packed.json")), "packed.json");

// ----------------------------------------------------------------------------------------------------------
// tests

describe("pack stage", () => {
  let w: Workspace;
  beforeAll(async () => {
    w = await workspace();
    await pack(w, "pack");
  });

  it("writes packed.json, the tokenizer files and manifest, and one shard per split", async () => {
    const manifest = decodeManifest(
      CONTRACTS.StageManifest,
      readFileSync(path.join(w.dir, "pack.manifest.json")),
      "pack.manifest.json",
    );
    expect(manifest.outputs.map((o) => [o.path, o.schemaName])).toEqual([
      ["packed.json", CONTRACTS.PackedDatasetManifest.name],
      ["tokenizer.json", ""],
      ["tokenizer.manifest.json", ""],
      ["tokenizer.nxtok", ""],
      ["train-00000.nxpk", ""],
      ["validation-00000.nxpk", ""],
    ]);
    const packed = readPacked(w, "pack");
    const upstream = readFileSync(path.join(w.dir, "data", "dataset.json"));
    expect(packed.dataset).toMatchObject({
      digest: digestBytes(upstream),
      schemaName: CONTRACTS.DatasetManifest.name,
      path: "",
    });
    const tokBytes = readFileSync(path.join(w.dir, "pack", "tokenizer.manifest.json"));
    expect(packed.tokenizer).toMatchObject({
      digest: digestBytes(tokBytes),
      schemaName: CONTRACTS.TokenizerManifest.name,
      path: "tokenizer.manifest.json",
    });
    const tok = decodeManifest(CONTRACTS.TokenizerManifest, tokBytes, "tokenizer.manifest.json");
    expect(tok).toMatchObject({ name: "bpe-320", vocabSize: 320, eosId: 318, trainedOn: packed.dataset });
    expect(tok.specialTokens).toEqual([
      { text: END_OF_TEXT, id: 318 },
      { text: "<|pad|>", id: 319 },
    ]);
    expect(tok.files.map((f) => f.path)).toEqual(["tokenizer.json", "tokenizer.nxtok"]);
    expect(packed).toMatchObject({ seqLen: 64, tokenDtype: 2, padId: 318, shuffleSeed: 7, truncatedTokens: 0 });
    expect(packed.truncatedDocuments).toBeGreaterThan(0);
    expect(packed.bins.map((b) => [b.file!.path, b.split])).toEqual([
      ["train-00000.nxpk", "train"],
      ["validation-00000.nxpk", "validation"],
    ]);
    const sequences = packed.bins.reduce((n, b) => n + b.sequenceCount, 0);
    expect(packed.totalTokens + packed.paddingTokens).toBe(sequences * 64);
    expect(packed.bins.reduce((n, b) => n + b.tokenCount, 0)).toBe(packed.totalTokens);
    expect(packed.fillRatio).toBeCloseTo(packed.totalTokens / (sequences * 64), 12);
    for (const bin of packed.bins) {
      expect(digestBytes(readFileSync(path.join(w.dir, "pack", bin.file!.path)))).toBe(bin.file!.digest);
    }
  });

  it("is deterministic: a second run elsewhere writes identical bytes", async () => {
    const other = await workspace();
    const again = await pack(other, "pack");
    const files = await listDataFiles(path.join(w.dir, "pack"));
    expect(await listDataFiles(path.join(other.dir, "pack"))).toEqual(files);
    for (const f of files)
      expect(readFileSync(path.join(other.dir, "pack", f)).equals(readFileSync(path.join(w.dir, "pack", f)))).toBe(
        true,
      );
    expect(readFileSync(path.join(other.dir, "pack.manifest.json"), "utf8")).toBe(
      readFileSync(path.join(w.dir, "pack.manifest.json"), "utf8"),
    );
    expect(again.result.metrics).toMatchObject({ vocab_size: 320 });
  });

  it("places every document token exactly once; short documents decode to their text + EOS", async () => {
    const tok = Tokenizer.load(readFileSync(path.join(w.dir, "pack", "tokenizer.nxtok")), "native");
    try {
      const packed = readPacked(w, "pack");
      for (const split of ["train", "validation"]) {
        // Expected pieces: each document's ids + EOS, cut into seq_len chunks (only long documents are split).
        const expected = new Map<string, number>();
        const shortText = new Map<string, string>();
        for (const text of SPLITS[split]) {
          const ids = [...tok.encode(text), 318];
          for (let at = 0; at < ids.length; at += 64) {
            const key = ids.slice(at, at + 64).join(",");
            expected.set(key, (expected.get(key) ?? 0) + 1);
          }
          if (ids.length <= 64) shortText.set(ids.join(","), text);
        }
        const actual = new Map<string, number>();
        let decodedShort = 0;
        for (const bin of packed.bins.filter((b) => b.split === split)) {
          const shard = await readPackedShard(path.join(w.dir, "pack", bin.file!.path));
          expect(shard.header).toMatchObject({ seqLen: 64, padId: 318, bins: bin.sequenceCount });
          for (let b = 0; b < shard.header.bins; b++) {
            const row = (a: Uint32Array) => Array.from(a.subarray(b * 64, (b + 1) * 64));
            const [tokens, docs, positions] = [row(shard.tokens), row(shard.docIds), row(shard.positions)];
            let k = 0;
            for (let doc = 0; k < 64 && docs[k] !== PACKED_PAD_DOC_ID; doc++) {
              expect(docs[k]).toBe(doc); // per-bin document index, counting from 0
              const start = k;
              while (k < 64 && docs[k] === doc) {
                expect(positions[k]).toBe(k - start);
                k++;
              }
              const key = tokens.slice(start, k).join(",");
              actual.set(key, (actual.get(key) ?? 0) + 1);
              if (shortText.has(key)) {
                expect(Buffer.from(tok.decode(Uint32Array.from(tokens.slice(start, k)))).toString("utf8")).toBe(
                  shortText.get(key) + END_OF_TEXT,
                );
                decodedShort++;
              }
            }
            for (; k < 64; k++) expect([tokens[k], docs[k], positions[k]]).toEqual([318, PACKED_PAD_DOC_ID, 0]);
          }
        }
        expect(new Map([...actual].sort())).toEqual(new Map([...expected].sort()));
        expect(decodedShort).toBeGreaterThan(SPLITS[split].length / 2);
      }
    } finally {
      tok.free();
    }
  }, 60_000); // decodes every packed row: CPU-bound, slow on a loaded machine

  it("writes tokenizer.json as Hugging Face byte-level BPE", () => {
    const hf = JSON.parse(readFileSync(path.join(w.dir, "pack", "tokenizer.json"), "utf8"));
    expect(hf.model.type).toBe("BPE");
    expect(hf.pre_tokenizer.type).toBe("ByteLevel");
    expect(hf.decoder.type).toBe("ByteLevel");
    expect(Object.keys(hf.model.vocab)).toHaveLength(318);
    expect(hf.model.merges).toHaveLength(318 - 256);
    expect(hf.added_tokens).toEqual(
      expect.arrayContaining([expect.objectContaining({ id: 318, content: END_OF_TEXT, special: true })]),
    );
  });

  it("reuses the tokenizer of tokenizer_from: same manifest digest, files and ids", async () => {
    const { tokenizer: _unused, ...withoutTokenizer } = CONFIG;
    await pack(w, "reuse", withoutTokenizer, [input(w, "dataset", "data"), input(w, "tokenizer_from", "pack")]);
    const [a, b] = [readPacked(w, "pack"), readPacked(w, "reuse")];
    expect(b.tokenizer).toEqual(a.tokenizer);
    for (const f of [
      "tokenizer.json",
      "tokenizer.nxtok",
      "tokenizer.manifest.json",
      "train-00000.nxpk",
      "validation-00000.nxpk",
    ]) {
      expect(readFileSync(path.join(w.dir, "reuse", f)).equals(readFileSync(path.join(w.dir, "pack", f)))).toBe(true);
    }
  });

  it("rejects a missing dataset input, naming the slot", async () => {
    await expect(pack(w, "nodata", CONFIG, [])).rejects.toMatchObject({
      code: "STAGE_INPUT_MISSING",
      message: expect.stringContaining('"dataset"'),
    });
  });

  it("rejects bad configs with the config file and field", async () => {
    await expect(pack(w, "badsplit", { ...CONFIG, splits: ["train", "test"] })).rejects.toThrow(
      /badsplit\.config\.json: \$\.splits\[1\]: split "test" is not in the dataset/,
    );
    await expect(pack(w, "notok", { ...CONFIG, tokenizer: undefined })).rejects.toMatchObject({
      code: "PACK_NO_TOKENIZER",
    });
    await expect(
      pack(w, "badeos", { ...CONFIG, tokenizer: { vocabSize: 300, specialTokens: ["<eos>"] } }),
    ).rejects.toMatchObject({ code: "PACK_EOS_TOKEN", context: { jsonPath: "$.tokenizer.specialTokens[0]" } });
  });

  it.each(["flip", "truncate", "remove"] as const)(
    "reports damaged upstream files the way every stage does (%s)",
    async (how) => {
      const broken = await workspace();
      damageFile(path.join(broken.dir, "data", "validation-00000.jsonl"), how);
      expectDamagedUpstream(await pack(broken, "pack").catch((e) => e), {
        upstream: "data",
        slot: "dataset",
        path: "validation-00000.jsonl",
        how,
      });
    },
  );
});

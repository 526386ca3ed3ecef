// The pack stage end to end through the stage runtime, on a small dataset written by the fake upstream data stage:
// products and manifests, determinism, exactly-once packing, tokenizer reuse, tokenizer.json shape, bad inputs.
import { readFileSync, writeFileSync } from "fs";
import * as path from "path";

import { Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { PACKED_PAD_DOC_ID, readPackedShard } from "@nexa/modules/packed_shards";
import { listDataFiles, runStage } from "@nexa/modules/stage";
import type { StageOutcome } from "@nexa/modules/stage";
import { itReportsDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { corpus, fakeDataStage, fixtureRecords } from "@nexa/modules/stage/testing/upstream";
import { inputArg, runIn, stageFile, stageWorkspace, writeJson } from "@nexa/modules/stage/testing/workspace";
import type { StageInputs, StageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { END_OF_TEXT, packStage } from "./index";

// ----------------------------------------------------------------------------------------------------------
// fixture: the shared corpus (every 10th document longer than a row) and the fake upstream data stage

const texts = (n: number, seed: number): string[] => [
  ...corpus(n, seed, { words: { min: 3, spread: 30 }, long: { every: 10, words: { min: 120, spread: 120 } } }),
  `literal ${END_OF_TEXT} inside a text stays text`,
  "",
];

const SPLITS: Record<string, string[]> = { train: texts(150, 1), validation: texts(30, 2) };

const fakeData = fakeDataStage(
  Object.fromEntries(Object.entries(SPLITS).map(([split, docs]) => [split, fixtureRecords(split, docs)])),
);

const CONFIG = {
  schemaVersion: 1,
  tokenizer: { vocabSize: 320, minFrequency: 2, specialTokens: [END_OF_TEXT, "<|pad|>"] },
  seqLen: 64,
  shuffleSeed: 7,
  splits: ["train", "validation"],
  appendEos: true,
};

/** A fresh workspace with the upstream stage "data" already run. */
async function workspace(): Promise<StageWorkspace> {
  const w = stageWorkspace("pack-");
  await runIn(w, fakeData, "data");
  return w;
}

const pack = (
  w: StageWorkspace,
  name: string,
  config: object = CONFIG,
  inputs: StageInputs = { dataset: "data" },
): Promise<StageOutcome> => runIn(w, packStage, name, { module: "modules/pack", config, inputs });

/**
 * Stage `name` of `w` as `n` shard actions (into `<name>.shard-<i>`) and a merge (into `<name>`), the way the stage
 * rule lays out a sharded stage; `order` lists the shard directories the merge is given (default: in order).
 */
async function packSharded(
  w: StageWorkspace,
  name: string,
  n: number,
  opts: { config?: object; inputs?: StageInputs; order?: number[]; afterShards?: (dirs: string[]) => void } = {},
): Promise<StageOutcome> {
  const config = writeJson(w.dir, `${name}.config.json`, opts.config ?? CONFIG);
  const inputs = Object.entries(opts.inputs ?? { dataset: "data" }).map(([slot, stage]) => inputArg(w, slot, stage));
  const common = [`--stage=${name}`, "--module=modules/pack", `--config=${config}`, ...inputs];
  const dirs = Array.from({ length: n }, (_, i) => path.join(w.dir, `${name}.shard-${i}`));
  for (const [i, dir] of dirs.entries()) {
    const log = `--log=${dir}.log.jsonl`;
    await runStage(packStage, ["run", ...common, `--shard=${i}`, `--num-shards=${n}`, `--out=${dir}`, log], w.bundle);
  }
  opts.afterShards?.(dirs);
  const given = (opts.order ?? dirs.map((_, i) => i)).map((i) => `--shard-dir=${dirs[i]}`);
  const out = [`--out=${path.join(w.dir, name)}`, `--log=${path.join(w.dir, name + ".log.jsonl")}`];
  return runStage(
    packStage,
    ["merge", ...common, ...given, ...out, `--manifest=${path.join(w.dir, name + ".manifest.json")}`],
    w.bundle,
  );
}

const readPacked = (w: StageWorkspace, stage: string) =>
  decodeManifest(CONTRACTS.PackedDatasetManifest, stageFile(w, stage, "packed.json"), "packed.json");

// ----------------------------------------------------------------------------------------------------------
// tests

describe("pack stage", () => {
  let w: StageWorkspace;
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
    const upstream = stageFile(w, "data", "dataset.json");
    expect(packed.dataset).toMatchObject({
      digest: digestBytes(upstream),
      schemaName: CONTRACTS.DatasetManifest.name,
      path: "",
    });
    const tokBytes = stageFile(w, "pack", "tokenizer.manifest.json");
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
      expect(digestBytes(stageFile(w, "pack", bin.file!.path))).toBe(bin.file!.digest);
    }
  });

  it("is deterministic: a second run elsewhere writes identical bytes", async () => {
    const other = await workspace();
    const again = await pack(other, "pack");
    const files = await listDataFiles(path.join(w.dir, "pack"));
    expect(await listDataFiles(path.join(other.dir, "pack"))).toEqual(files);
    for (const f of files) expect(stageFile(other, "pack", f).equals(stageFile(w, "pack", f))).toBe(true);
    expect(readFileSync(path.join(other.dir, "pack.manifest.json"), "utf8")).toBe(
      readFileSync(path.join(w.dir, "pack.manifest.json"), "utf8"),
    );
    expect(again.result.metrics).toMatchObject({ vocab_size: 320 });
  });

  it("places every document token exactly once; short documents decode to their text + EOS", async () => {
    const tok = Tokenizer.load(stageFile(w, "pack", "tokenizer.nxtok"), "native");
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
    const hf = JSON.parse(stageFile(w, "pack", "tokenizer.json").toString("utf8"));
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
    await pack(w, "reuse", withoutTokenizer, { dataset: "data", tokenizer_from: "pack" });
    const [a, b] = [readPacked(w, "pack"), readPacked(w, "reuse")];
    expect(b.tokenizer).toEqual(a.tokenizer);
    for (const f of [
      "tokenizer.json",
      "tokenizer.nxtok",
      "tokenizer.manifest.json",
      "train-00000.nxpk",
      "validation-00000.nxpk",
    ]) {
      expect(stageFile(w, "reuse", f).equals(stageFile(w, "pack", f))).toBe(true);
    }
  });

  it("rejects a missing dataset input, naming the slot", async () => {
    await expect(pack(w, "nodata", CONFIG, {})).rejects.toMatchObject({
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

  it("sharded into 2, 5 or 40 actions + a merge, writes the unsharded run's bytes (files and stage manifest)", async () => {
    const files = await listDataFiles(path.join(w.dir, "pack"));
    for (const n of [2, 5, 40]) {
      const other = await workspace();
      const merged = await packSharded(other, "pack", n);
      expect(await listDataFiles(path.join(other.dir, "pack"))).toEqual(files);
      for (const f of files)
        expect([n, f, stageFile(other, "pack", f).equals(stageFile(w, "pack", f))]).toEqual([n, f, true]);
      expect(readFileSync(path.join(other.dir, "pack.manifest.json"), "utf8")).toBe(
        readFileSync(path.join(w.dir, "pack.manifest.json"), "utf8"),
      );
      expect(merged.result.metrics).toMatchObject({ vocab_size: 320 });
    }
  });

  it("sharded with tokenizer_from, writes the unsharded reuse's bytes", async () => {
    const { tokenizer: _unused, ...withoutTokenizer } = CONFIG;
    const inputs = { dataset: "data", tokenizer_from: "pack" };
    await pack(w, "reuse1", withoutTokenizer, inputs);
    const other = await workspace();
    await pack(other, "pack");
    await packSharded(other, "reuse1", 3, { config: withoutTokenizer, inputs });
    const files = await listDataFiles(path.join(w.dir, "reuse1"));
    expect(await listDataFiles(path.join(other.dir, "reuse1"))).toEqual(files);
    for (const f of files)
      expect([f, stageFile(other, "reuse1", f).equals(stageFile(w, "reuse1", f))]).toEqual([f, true]);
  });

  it("refuses to merge shards out of order, an incomplete set, or a damaged shard, naming the directory", async () => {
    await expect(packSharded(w, "swapped", 2, { order: [1, 0] })).rejects.toMatchObject({
      code: "PACK_SHARD_MISMATCH",
      message: expect.stringContaining("holds shard 1 of 2, expected 0 of 2"),
    });
    await expect(packSharded(w, "partial", 3, { order: [0, 1] })).rejects.toMatchObject({
      code: "PACK_SHARD_MISMATCH",
    });
    const damage = (dirs: string[]) => writeFileSync(path.join(dirs[1], "train.tokens.bin"), "not tokens");
    await expect(packSharded(w, "damaged", 2, { afterShards: damage })).rejects.toMatchObject({
      code: "PACK_SHARD_CORRUPT",
      context: { file: expect.stringContaining(path.join("damaged.shard-1", "train.tokens.bin")) },
    });
    const noTokenizer = (dirs: string[]) => writeFileSync(path.join(dirs[0], "tokenizer.json"), "{}");
    await expect(packSharded(w, "retrained", 2, { afterShards: noTokenizer })).rejects.toMatchObject({
      code: "PACK_SHARD_MISMATCH",
      message: expect.stringContaining("tokenizer.json differs from shard 0's"),
    });
  });

  itReportsDamagedUpstream(workspace, [
    { upstream: "data", slot: "dataset", path: "validation-00000.jsonl", run: (broken) => pack(broken, "pack") },
  ]);
});

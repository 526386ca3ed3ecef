// The pack stage end to end through the stage runtime, on a small dataset written by the fake upstream data stage:
// products and manifests, determinism, exactly-once packing, tokenizer reuse, tokenizer.json shape, bad inputs.
import { readFileSync } from "fs";
import * as path from "path";

import { Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { PACKED_PAD_DOC_ID, readPackedShard } from "@nexa/modules/packed_shards";
import { listDataFiles } from "@nexa/modules/stage";
import type { StageOutcome } from "@nexa/modules/stage";
import { itReportsDamagedUpstream } from "@nexa/modules/stage/testing/damage";
import { corpus, fakeDataStage, fixtureRecords } from "@nexa/modules/stage/testing/upstream";
import { runIn, stageFile, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
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

  itReportsDamagedUpstream(workspace, [
    { upstream: "data", slot: "dataset", path: "validation-00000.jsonl", run: (broken) => pack(broken, "pack") },
  ]);
});

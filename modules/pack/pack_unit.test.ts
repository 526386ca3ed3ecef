// modules/pack's own functions without a stage: which documents train the tokenizer, and packSplit (encode,
// EOS, kernel packing, seeded document and bin order, shard files) on a small tokenizer.
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { Tokenizer } from "@nexa/kernels/binding";
import { PACKED_PAD_DOC_ID, readPackedShard } from "@nexa/modules/packed_shards";

import { packSplit } from "./packing";
import { END_OF_TEXT, selectTrainingDocs } from "./tokenizer";

describe("selectTrainingDocs", () => {
  it("keeps whole documents in order while they fit, counting UTF-8 bytes; 0 keeps all; at least one", () => {
    const docs = ["aaaa", "café", "bb", "ccc"]; // 4, 5, 2, 3 bytes
    expect(selectTrainingDocs(docs, 0)).toEqual(docs);
    expect(selectTrainingDocs(docs, 9)).toEqual(["aaaa", "café"]);
    expect(selectTrainingDocs(docs, 8)).toEqual(["aaaa"]); // "café" is 5 bytes, not 4
    expect(selectTrainingDocs(docs, 1)).toEqual(["aaaa"]);
    expect(selectTrainingDocs([], 10)).toEqual([]);
  });
});

describe("packSplit", () => {
  const texts = Array.from({ length: 30 }, (_, i) => `document ${i} about the whale and the sea ${"x".repeat(i % 7)}`);
  const tok = Tokenizer.train(texts, { vocabSize: 300, minFrequency: 2, specials: [END_OF_TEXT] });
  const eos = tok.encode(END_OF_TEXT, { allowSpecial: true })[0];
  afterAll(() => tok.free());

  const pack = async (seed: number, seqLen = 16) => {
    const outDir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "pack-"));
    const r = await packSplit({
      outDir,
      split: "train",
      texts,
      tokenizer: tok,
      eosId: eos,
      appendEos: true,
      seqLen,
      padId: eos,
      shuffleSeed: seed,
    });
    return { outDir, ...r };
  };

  it("writes every token of every document, each followed by EOS, exactly once", async () => {
    const r = await pack(7);
    expect(r.shards.map((s) => s.file.path)).toEqual(["train-00000.nxpk"]);
    const shard = await readPackedShard(path.join(r.outDir, "train-00000.nxpk"));
    const counts = new Map<number, number>();
    let real = 0;
    for (let i = 0; i < shard.tokens.length; i++) {
      if (shard.docIds[i] === PACKED_PAD_DOC_ID) {
        expect(shard.tokens[i]).toBe(eos);
        continue;
      }
      real++;
      counts.set(shard.tokens[i], (counts.get(shard.tokens[i]) ?? 0) + 1);
    }
    const want = new Map<number, number>();
    for (const t of texts) for (const id of [...tok.encode(t), eos]) want.set(id, (want.get(id) ?? 0) + 1);
    expect(counts).toEqual(want);
    expect(r.shards[0]).toMatchObject({ sequences: shard.header.bins, tokens: real });
    expect(r.stats.bins).toBe(shard.header.bins);
    // document ids are local to each bin: every bin's first real token is document 0
    for (let b = 0; b < shard.header.bins; b++) expect(shard.docIds[b * 16]).toBe(0);
  });

  it("is a function of the seed: same seed, same bytes; another seed, another order", async () => {
    const [a, b, c] = [await pack(7), await pack(7), await pack(8)];
    const bytes = (r: { outDir: string }) => readFileSync(path.join(r.outDir, "train-00000.nxpk"));
    expect(bytes(a).equals(bytes(b))).toBe(true);
    expect(a.shards[0].file.digest).toBe(b.shards[0].file.digest);
    expect(bytes(a).equals(bytes(c))).toBe(false);
    expect(c.stats.bins).toBe(a.stats.bins);
  });
});

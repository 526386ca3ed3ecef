// The one fake upstream of the stage integration tests: a deterministic corpus, and stand-ins for the data, pack
// and train stages. Each stand-in writes a real product through the owning format module's writer
// (modules/text_dataset, modules/tokenizer_files, modules/packed_shards, modules/checkpoint), so the stage under test
// opens, verifies and reads exactly the files a real upstream stage would hand it; only what the stand-in computes
// is simpler (a tokenizer trained on the given texts, documents packed whole in order, a few optimizer steps).
// Run them with `runIn` (workspace.ts); their config is PLACEHOLDER_RUBRIC.

import { writeFile } from "fs/promises";
import * as path from "path";

import { Model, nextTokenTargets, Tokenizer } from "@nexa/kernels/binding";
import { writeCheckpoint } from "@nexa/modules/checkpoint";
import type { CurveLine } from "@nexa/modules/checkpoint";
import { CONTRACTS, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { encodePackedShard, PackedDataset, PACKED_PAD_DOC_ID } from "@nexa/modules/packed_shards";
import type { StageDefinition } from "@nexa/modules/stage";
import { writeDatasetManifest, writeSplitShards } from "@nexa/modules/text_dataset";
import type { TextRecord } from "@nexa/modules/text_dataset";
import {
  openTokenizer,
  TOKENIZER_HF_FILE,
  TOKENIZER_NATIVE_FILE,
  writeTokenizerFiles,
} from "@nexa/modules/tokenizer_files";
import type { DatasetShard } from "@nexa/proto/nexa/v1/dataset";
import type { EvalRubric } from "@nexa/proto/nexa/v1/eval";
import { PackedBin, PackedDatasetManifest, PackedDatasetManifest_TokenDtype } from "@nexa/proto/nexa/v1/packed_dataset";
import { TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";
import { Device, ModelShape } from "@nexa/proto/nexa/v1/train";

import { runIn } from "./workspace";
import type { StageWorkspace } from "./workspace";

/** The end-of-document special token (docs/formats.md "Tokenizer"). */
export const EOT = "<|endoftext|>";

// ----------------------------------------------------------------------------------------------------------
// corpus

/** The corpus vocabulary: ASCII, accents, CJK, digits, a dash, an apostrophe, punctuation and a paragraph break. */
export const FIXTURE_WORDS: readonly string[] = [
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

/** Document lengths in words: `min + draw % spread`. */
export interface WordCount {
  min: number;
  spread: number;
}

export interface CorpusShape {
  words: WordCount;
  /** Documents 3, 3 + every, 3 + 2·every, … take `words` from here instead (e.g. longer than a packed row). */
  long?: { every: number; words: WordCount };
}

/** `n` documents of space-separated FIXTURE_WORDS, drawn by a linear congruential generator seeded with `seed`. */
export function corpus(n: number, seed: number, shape: CorpusShape): string[] {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const docs: string[] = [];
  for (let d = 0; d < n; d++) {
    const count = shape.long && d % shape.long.every === 3 ? shape.long.words : shape.words;
    const words = count.min + (next() % count.spread);
    const parts: string[] = [];
    for (let w = 0; w < words; w++) parts.push(FIXTURE_WORDS[next() % FIXTURE_WORDS.length]);
    docs.push(parts.join(" "));
  }
  return docs;
}

/** `texts` as records `<prefix>-000`, `<prefix>-001`, … (ids sort in text order) from source "fixture.txt". */
export function fixtureRecords(prefix: string, texts: readonly string[]): TextRecord[] {
  return texts.map((text, i) => ({ id: `${prefix}-${String(i).padStart(3, "0")}`, text, source: "fixture.txt" }));
}

const producer = (ctx: { stage: string; stageId: string; module: string }) => ({
  stageName: ctx.stage,
  stageId: ctx.stageId,
  module: ctx.module,
});

// ----------------------------------------------------------------------------------------------------------
// data

/** A data stage stand-in: a DatasetManifest (`dataset.json`) and one JSONL shard per split, in the given order. */
export function fakeDataStage(splits: Readonly<Record<string, readonly TextRecord[]>>): StageDefinition<EvalRubric> {
  return {
    module: "modules/data (fixture)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      const shards: DatasetShard[] = [];
      for (const [split, records] of Object.entries(splits))
        shards.push(...(await writeSplitShards(ctx.outDir, split, records, { recordsPerShard: 0 })));
      const total = Object.values(splits).reduce((n, r) => n + r.length, 0);
      await writeDatasetManifest(ctx.outDir, {
        name: "fixture",
        textField: "text",
        seed: 1,
        producer: producer(ctx),
        shards,
        splits: Object.entries(splits).map(([name, r]) => ({
          name,
          recordCount: r.length,
          fraction: r.length / total,
        })),
        sources: [],
        drops: {},
      });
      return { product: { file: "dataset.json", schema: CONTRACTS.DatasetManifest.name } };
    },
  };
}

// ----------------------------------------------------------------------------------------------------------
// pack

/** [bins × seqLen] row-major arrays of one shard (padding: the pad id, document id PACKED_PAD_DOC_ID, position 0). */
export interface PackedRows {
  tokens: Uint32Array;
  docIds: Uint32Array;
  positions: Uint32Array;
}

/** Documents (ids + `eos`, cut at `seqLen`) placed whole into rows in order, a new row when one does not fit. */
export function packDocuments(docs: readonly Uint32Array[], eos: number, seqLen: number): PackedRows {
  const tokens: number[] = [];
  const docIds: number[] = [];
  const positions: number[] = [];
  const pad = () => {
    while (tokens.length % seqLen !== 0) {
      tokens.push(eos);
      docIds.push(PACKED_PAD_DOC_ID);
      positions.push(0);
    }
  };
  let doc = 0;
  for (const d of docs) {
    const ids = [...d, eos].slice(0, seqLen);
    const used = tokens.length % seqLen;
    if (used > 0 && used + ids.length > seqLen) pad();
    if (tokens.length % seqLen === 0) doc = 0;
    ids.forEach((id, i) => {
      tokens.push(id);
      docIds.push(doc);
      positions.push(i);
    });
    doc++;
  }
  pad();
  return { tokens: Uint32Array.from(tokens), docIds: Uint32Array.from(docIds), positions: Uint32Array.from(positions) };
}

/** The tokenizer of a fake pack stage. */
export type FakeTokenizer =
  /** A byte-level BPE the kernels train on `train` (EOT its one special token), written as tokenizer.json + .nxtok. */
  | { train: readonly string[]; vocabSize: number; minFrequency?: number }
  /** For synthetic rows: `vocabSize` ids with EOT at `eosId`, a tokenizer.json naming only its model (nothing decodes). */
  | { stub: { vocabSize: number; eosId: number } };

export interface FakePack {
  seqLen: number;
  tokenizer: FakeTokenizer;
  /** The shard files, in order: texts (encoded with the tokenizer, packed by packDocuments) or ready rows. */
  shards: ReadonlyArray<{ split: string; texts: readonly string[] } | { split: string; rows: PackedRows }>;
  /** Edits a shard's bytes after encoding and before they are listed: a damage the manifests agree with. */
  mutate?: (file: string, bytes: Buffer) => Buffer;
  /**
   * The tokenizer manifest names a fixed producer, so every fake pack with the same tokenizer writes the same
   * tokenizer (as a pack stage reusing one with `tokenizer_from` does); default: this stage.
   */
  sharedTokenizer?: boolean;
}

/**
 * A pack stage stand-in: a PackedDatasetManifest (`packed.json`), the tokenizer directory and `<split>-NNNNN.nxpk`
 * shards (pad id = the end-of-document id; token counts without padding).
 */
export function fakePackStage(pack: FakePack): StageDefinition<EvalRubric> {
  return {
    module: "modules/pack (fixture)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      const spec = pack.tokenizer;
      let tokenizer: Tokenizer | undefined;
      let files: [string, Uint8Array][];
      let vocabSize: number;
      let eos: number;
      if ("stub" in spec) {
        files = [[TOKENIZER_HF_FILE, Buffer.from('{"model":{"type":"BPE"}}')]];
        ({ vocabSize, eosId: eos } = spec.stub);
      } else {
        tokenizer = Tokenizer.train(spec.train, {
          vocabSize: spec.vocabSize,
          minFrequency: spec.minFrequency,
          specials: [EOT],
        });
        files = [
          [TOKENIZER_HF_FILE, tokenizer.save("hf_json")],
          [TOKENIZER_NATIVE_FILE, tokenizer.save("native")],
        ];
        vocabSize = tokenizer.vocabSize;
        eos = tokenizer.encode(EOT, { allowSpecial: true })[0];
      }
      try {
        const tok = await writeTokenizerFiles(ctx.outDir, files, {
          schemaVersion: 1,
          kind: TokenizerManifest_Kind.KIND_BPE,
          name: `bpe-${vocabSize}`,
          vocabSize,
          specialTokens: [{ text: EOT, id: eos }],
          eosId: eos,
          producer: pack.sharedTokenizer
            ? { stageName: "tokenizer", stageId: "1".repeat(64), module: ctx.module }
            : producer(ctx),
        });
        const bins: PackedBin[] = [];
        const perSplit: Record<string, number> = {};
        for (const shard of pack.shards) {
          let rows: PackedRows;
          if ("rows" in shard) {
            rows = shard.rows;
          } else {
            const encoder = tokenizer;
            if (!encoder) throw new Error("fakePackStage: texts need a trained tokenizer, not a stub");
            rows = packDocuments(
              shard.texts.map((t) => encoder.encode(t)),
              eos,
              pack.seqLen,
            );
          }
          const index = (perSplit[shard.split] = (perSplit[shard.split] ?? -1) + 1);
          const file = `${shard.split}-${String(index).padStart(5, "0")}.nxpk`;
          let bytes = encodePackedShard(pack.seqLen, eos, rows);
          if (pack.mutate) bytes = pack.mutate(file, bytes);
          await writeFile(path.join(ctx.outDir, file), bytes);
          bins.push(
            PackedBin.fromPartial({
              file: {
                digest: digestBytes(bytes),
                sizeBytes: bytes.length,
                path: file,
                mediaType: "application/octet-stream",
              },
              split: shard.split,
              sequenceCount: rows.tokens.length / pack.seqLen,
              tokenCount: rows.docIds.filter((d) => d !== PACKED_PAD_DOC_ID).length,
            }),
          );
        }
        const manifest = PackedDatasetManifest.fromPartial({
          schemaVersion: 1,
          seqLen: pack.seqLen,
          tokenDtype: PackedDatasetManifest_TokenDtype.TOKEN_DTYPE_UINT32,
          padId: eos,
          bins,
          tokenizer: tok.ref,
          dataset: { digest: digestBytes("fixture dataset"), schemaName: CONTRACTS.DatasetManifest.name },
          producer: producer(ctx),
        });
        await writeFile(path.join(ctx.outDir, "packed.json"), encodeMessage(PackedDatasetManifest, manifest));
        return { product: { file: "packed.json", schema: CONTRACTS.PackedDatasetManifest.name } };
      } finally {
        tokenizer?.free();
      }
    },
  };
}

// ----------------------------------------------------------------------------------------------------------
// train

export interface FakeTrain {
  seed: number;
  /**
   * AdamW steps on the train split, a curve line each; 0 saves the randomly initialised model, its curve the one
   * line {"step":0}.
   */
  steps: number;
  /** Width of the one-layer, two-head GPT (default 16). */
  dModel?: number;
}

/**
 * A train stage stand-in: a tiny GPT (the packed data's seq_len and tokenizer vocabulary) trained `steps` steps on
 * windows of 4 train rows of its `packed` input, written with its curve (val_loss every 5th step) and the packed
 * data's tokenizer as a checkpoint directory (`checkpoint.json`).
 */
export function fakeTrainStage(train: FakeTrain): StageDefinition<EvalRubric> {
  const dModel = train.dModel ?? 16;
  return {
    module: "modules/train (fixture)",
    config: CONTRACTS.EvalRubric,
    usesKernels: true,
    async run(ctx) {
      const packed = new PackedDataset(await ctx.open("packed", CONTRACTS.PackedDatasetManifest));
      const tokenizer = await openTokenizer(packed.artifact, packed.manifest.tokenizer!, "$.tokenizer");
      const seqLen = packed.manifest.seqLen;
      const vocabSize = tokenizer.manifest.vocabSize;
      const rows = await packed.loadSplit("train");
      const b = 4;
      if (!rows || rows.rows < b) throw new Error(`fakeTrainStage: the packed train split needs at least ${b} rows`);
      const model = Model.create({ vocabSize, seqLen, nLayer: 1, nHead: 2, dModel }, train.seed);
      try {
        const curve: CurveLine[] = train.steps === 0 ? [{ step: 0 }] : [];
        let tokensSeen = 0;
        if (train.steps > 0) {
          model.setTrainConfig({ lr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: train.steps });
        }
        for (let s = 0; s < train.steps; s++) {
          const first = (s * b) % (rows.rows - b + 1);
          const span = [first * seqLen, (first + b) * seqLen] as const;
          const tokens = rows.tokens.slice(...span);
          const docIds = rows.docIds.slice(...span);
          const targets = nextTokenTargets(tokens, docIds, seqLen);
          const m = model.trainStep({ tokens, docIds, targets, b, t: seqLen });
          tokensSeen += docIds.filter((d) => d !== PACKED_PAD_DOC_ID).length;
          const line: CurveLine = { step: m.step, loss: m.loss, lr: m.lr };
          if (s % 5 === 4) line.val_loss = m.loss + 0.1;
          curve.push(line);
        }
        await writeCheckpoint(ctx.outDir, model.save(), curve, tokenizer, {
          model: ModelShape.fromPartial({ nLayer: 1, nHead: 2, nEmbd: dModel, vocabSize, blockSize: seqLen }),
          trainConfigDigest: digestBytes(`seed ${train.seed} steps ${train.steps}`),
          packedDataset: packed.artifact.ref,
          step: train.steps,
          tokensSeen,
          finalTrainLoss: curve[curve.length - 1].loss ?? 0,
          finalValLoss: curve.filter((l) => "val_loss" in l).pop()?.val_loss ?? 0,
          paramCount: model.info().numParams,
          dtype: "F32",
          device: Device.DEVICE_CPU,
          producer: producer(ctx),
        });
        return { product: { file: "checkpoint.json", schema: CONTRACTS.CheckpointManifest.name } };
      } finally {
        model.free();
      }
    },
  };
}

/** What `fakeCheckpoint` trains on: its texts (the train split and the tokenizer's corpus) and the tokenizer size. */
export interface FakeCheckpoint extends FakeTrain {
  texts: readonly string[];
  seqLen: number;
  vocabSize: number;
}

/**
 * A checkpoint directory made by the fake pack and train stages run in `w` (`<name>_pack`, then `<name>`); returns
 * `<w.dir>/<name>`.
 */
export async function fakeCheckpoint(w: StageWorkspace, name: string, c: FakeCheckpoint): Promise<string> {
  const pack = `${name}_pack`;
  await runIn(
    w,
    fakePackStage({
      seqLen: c.seqLen,
      tokenizer: { train: c.texts, vocabSize: c.vocabSize, minFrequency: 2 },
      shards: [{ split: "train", texts: c.texts }],
    }),
    pack,
  );
  await runIn(w, fakeTrainStage({ seed: c.seed, steps: c.steps, dModel: c.dModel }), name, {
    inputs: { packed: pack },
  });
  return path.join(w.dir, name);
}

// The pack stage (pipelines/stages.bzl `pack_stage`): a DatasetManifest (slot `dataset`) and optionally another pack
// stage (slot `tokenizer_from`) → tokenizer files + TokenizerManifest, packed shards + PackedDatasetManifest
// (`packed.json`, the product). Config: nexa.v1.PackConfig. See README.md for the step list. Shardable: shard
// actions hand their encoded documents to the merge through shard_io.ts.

import { writeFile } from "fs/promises";
import * as path from "path";
import { performance } from "perf_hooks";

import { CONTRACTS, decodeManifest, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { TextDataset } from "@nexa/modules/text_dataset";
import { TOKENIZER_MANIFEST_FILE } from "@nexa/modules/tokenizer_files";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { PackConfig } from "@nexa/proto/nexa/v1/pack_config";
import { PackedBin, PackedDatasetManifest, PackedDatasetManifest_TokenDtype } from "@nexa/proto/nexa/v1/packed_dataset";

import { encodeSplit, interleaveShards, packEncoded } from "./packing";
import type { EncodedDocs } from "./packing";
import { checkPackShards, readPackShard, writePackShard } from "./shard_io";
import type { SplitPart } from "./shard_io";
import { reuseStageTokenizer, trainStageTokenizer } from "./tokenizer";
import type { StageTokenizer } from "./tokenizer";

export const PACKED_MANIFEST_FILE = "packed.json";
/** The split a tokenizer is trained on. */
export const TRAIN_SPLIT = "train";
const SPLIT_NAME_RE = /^[a-z][a-z0-9_]*$/;

// ----------------------------------------------------------------------------------------------------------
// config checks beyond the contract table (which already requires schemaVersion, seqLen and splits)

function checkConfig(ctx: StageContext<PackConfig>, available: readonly string[], display: string): void {
  const where = { file: ctx.configFile, stage: ctx.stage };
  ctx.config.splits.forEach((split, i) => {
    const jsonPath = `$.splits[${i}]`;
    if (!SPLIT_NAME_RE.test(split) || ctx.config.splits.indexOf(split) !== i) {
      throw new ConfigError("PACK_SPLIT_NAME", `split ${JSON.stringify(split)} is repeated or not a lowercase name`, {
        context: { ...where, jsonPath },
        hint: 'list each split once, e.g. ["train", "validation"]',
      });
    }
    if (!available.includes(split)) {
      throw new ConfigError(
        "PACK_UNKNOWN_SPLIT",
        `split "${split}" is not in the dataset (${display} has: ${available.join(", ") || "none"})`,
        {
          context: { ...where, jsonPath },
          hint: "pack only splits the upstream dataset has, or change the data stage's splits",
        },
      );
    }
  });
}

// ----------------------------------------------------------------------------------------------------------
// run (unsharded: everything; shard i of n: tokenizer + its share of every split, encoded) and merge

type Ctx = StageContext<PackConfig>;
type Encoded = (split: string) => Promise<EncodedDocs>;

/** The dataset input, its splits checked against the config, and a reader of a split's texts (read once). */
async function openDataset(ctx: Ctx): Promise<{ ds: TextDataset; splitTexts: (split: string) => Promise<string[]> }> {
  const ds = new TextDataset(await ctx.open("dataset", CONTRACTS.DatasetManifest));
  checkConfig(ctx, ds.splits(), ds.artifact.display);
  const texts = new Map<string, string[]>();
  const splitTexts = async (split: string): Promise<string[]> => {
    if (!texts.has(split))
      texts.set(
        split,
        (await ds.records(split)).map((r) => r.text),
      );
    return texts.get(split)!;
  };
  return { ds, splitTexts };
}

/** The packed split's texts; an empty split is a config error. */
async function packedSplitTexts(ctx: Ctx, ds: TextDataset, texts: string[], split: string): Promise<string[]> {
  if (texts.length === 0) {
    throw new ConfigError("PACK_EMPTY_SPLIT", `split "${split}" of ${ds.artifact.display} has no documents`, {
      context: { file: ctx.configFile, jsonPath: `$.splits[${ctx.config.splits.indexOf(split)}]`, stage: ctx.stage },
      hint: "remove the split from config.splits, or give the data stage more records",
    });
  }
  return texts;
}

/** The stage's tokenizer (trained on the train split, or reused from `tokenizer_from`), written into ctx.outDir. */
async function stageTokenizer(
  ctx: Ctx,
  ds: TextDataset,
  splitTexts: (split: string) => Promise<string[]>,
): Promise<StageTokenizer> {
  const [from] = await ctx.openAll("tokenizer_from", CONTRACTS.PackedDatasetManifest);
  if (from) {
    if (ctx.config.tokenizer)
      ctx.log.info("tokenizer_config_ignored", { reason: "tokenizer_from is wired; config.tokenizer is not used" });
    return reuseStageTokenizer(ctx, from);
  }
  if (!ds.splits().includes(TRAIN_SPLIT)) {
    throw new ConfigError(
      "PACK_NO_TRAIN_SPLIT",
      `the tokenizer is trained on the "${TRAIN_SPLIT}" split, which ${ds.artifact.display} does not have`,
      {
        context: { file: ds.artifact.display, stage: ctx.stage },
        hint: "give the dataset a train split, or wire `tokenizer_from` to reuse a tokenizer",
      },
    );
  }
  return trainStageTokenizer(ctx, await splitTexts(TRAIN_SPLIT), ds.artifact.ref);
}

/** Packs every configured split's encoded documents and writes the PackedDatasetManifest (run and merge). */
async function writePacked(
  ctx: Ctx,
  ds: TextDataset,
  tokenizer: { ref: ArtifactRef; eosId: number; vocabSize: number },
  encoded: Encoded,
): Promise<StageResult> {
  const cfg = ctx.config;
  // Padding reuses the end-of-document id: padding positions carry document id 0xFFFFFFFF, so a reader
  // masks them by document id and never needs a dedicated pad token in the vocabulary.
  const padId = tokenizer.eosId;
  const bins: PackedBin[] = [];
  let sequences = 0;
  let totalTokens = 0;
  let paddingTokens = 0;
  let truncatedDocuments = 0;
  let documents = 0;
  const progress = ctx.startProgress("pack", cfg.splits.length, "splits");
  for (const split of cfg.splits) {
    const started = performance.now();
    const packed = await packEncoded(
      { outDir: ctx.outDir, split, seqLen: cfg.seqLen, padId, shuffleSeed: cfg.shuffleSeed },
      await encoded(split),
    );
    const s = packed.stats;
    documents += s.docs;
    progress.tick(1, { documents, split });
    ctx.log.info("split_packed", {
      split,
      docs: s.docs,
      empty_docs: s.empty_docs,
      tokens: s.total_tokens,
      bins: s.bins,
      lower_bound_bins: s.lower_bound_bins,
      truncated_docs: s.truncated_docs,
      fill_ratio: s.fill_ratio,
      shards: packed.shards.length,
      pack_ms: Math.round(performance.now() - started),
    });
    for (const shard of packed.shards) {
      bins.push(
        PackedBin.fromPartial({ file: shard.file, split, sequenceCount: shard.sequences, tokenCount: shard.tokens }),
      );
    }
    sequences += s.bins;
    totalTokens += s.total_tokens;
    paddingTokens += s.padding_tokens;
    truncatedDocuments += s.truncated_docs;
  }
  progress.stop();

  const fillRatio = sequences === 0 ? 0 : totalTokens / (sequences * cfg.seqLen);
  const manifest = PackedDatasetManifest.fromPartial({
    schemaVersion: 1,
    seqLen: cfg.seqLen,
    tokenDtype: PackedDatasetManifest_TokenDtype.TOKEN_DTYPE_UINT32,
    bins,
    fillRatio,
    truncatedDocuments,
    // Long documents are split into seq_len chunks and every chunk is kept, so no token is dropped.
    truncatedTokens: 0,
    totalTokens,
    paddingTokens,
    tokenizer: tokenizer.ref,
    dataset: ds.artifact.ref,
    shuffleSeed: cfg.shuffleSeed,
    padId,
    producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
  });
  await writeFile(path.join(ctx.outDir, PACKED_MANIFEST_FILE), encodeMessage(PackedDatasetManifest, manifest));
  return {
    product: { file: PACKED_MANIFEST_FILE, schema: CONTRACTS.PackedDatasetManifest.name },
    metrics: {
      vocab_size: tokenizer.vocabSize,
      sequences,
      fill_ratio: fillRatio,
      tokens: totalTokens,
      truncated_documents: truncatedDocuments,
    },
  };
}

async function run(ctx: Ctx): Promise<StageResult> {
  const cfg = ctx.config;
  const { ds, splitTexts } = await openDataset(ctx);
  const tok = await stageTokenizer(ctx, ds, splitTexts);
  try {
    // encoding runs on the stage's threads; the ids do not depend on their count
    tok.tokenizer.setThreads(ctx.threads);
    const eosId = tok.manifest.eosId;
    const encode = async (split: string, shard?: { index: number; count: number }) =>
      encodeSplit({
        texts: await packedSplitTexts(ctx, ds, await splitTexts(split), split),
        tokenizer: tok.tokenizer,
        eosId,
        appendEos: cfg.appendEos,
        shuffleSeed: cfg.shuffleSeed,
        shard,
      });
    if (ctx.shard.count === 1) {
      const { ref, manifest } = tok;
      return await writePacked(ctx, ds, { ref, eosId, vocabSize: manifest.vocabSize }, (split) => encode(split));
    }
    const splits: SplitPart[] = [];
    let shardDocuments = 0;
    let shardTokens = 0;
    for (const split of cfg.splits) {
      const encoded = await encode(split, ctx.shard);
      splits.push({ split, documents: (await splitTexts(split)).length, encoded });
      shardDocuments += encoded.lens.length;
      shardTokens += encoded.tokens.length;
    }
    const { index, count } = ctx.shard;
    await writePackShard(ctx.outDir, { shard: index, numShards: count, dataset: ds.artifact.ref.digest, splits });
    ctx.log.info("shard_encoded", { shard: index, num_shards: count, documents: shardDocuments, tokens: shardTokens });
    return { metrics: { shard_documents: shardDocuments, shard_tokens: shardTokens } };
  } finally {
    tok.tokenizer.free();
  }
}

async function merge(ctx: Ctx): Promise<StageResult> {
  const { ds } = await openDataset(ctx);
  const parts = await Promise.all(ctx.shardDirs.map(readPackShard));
  const tokenizerFiles = await checkPackShards(parts, ctx.shardDirs);
  if (parts[0].dataset !== ds.artifact.ref.digest) {
    throw new IntegrityError(
      "PACK_SHARD_MISMATCH",
      `the shards encoded dataset ${parts[0].dataset}; the merge's dataset input is ${ds.artifact.ref.digest}`,
      {
        context: { file: ds.artifact.display, stage: ctx.stage },
        hint: "rerun the shard actions with the merge's inputs",
      },
    );
  }
  const names = parts[0].splits.map((s) => s.split);
  if (names.join(",") !== ctx.config.splits.join(",")) {
    throw new IntegrityError(
      "PACK_SHARD_MISMATCH",
      `the shards encoded splits [${names.join(", ")}], the config packs [${ctx.config.splits.join(", ")}]`,
      { context: { file: ctx.configFile, jsonPath: "$.splits", stage: ctx.stage }, hint: "rerun the shard actions" },
    );
  }
  for (const [name, bytes] of tokenizerFiles) await writeFile(path.join(ctx.outDir, name), bytes);
  const manifestBytes = tokenizerFiles.get(TOKENIZER_MANIFEST_FILE)!;
  const manifest = decodeManifest(
    CONTRACTS.TokenizerManifest,
    manifestBytes.toString("utf8"),
    path.join(ctx.shardDirs[0], TOKENIZER_MANIFEST_FILE),
  );
  const ref = ArtifactRef.fromPartial({
    digest: digestBytes(manifestBytes),
    sizeBytes: manifestBytes.length,
    mediaType: "application/json",
    schemaName: CONTRACTS.TokenizerManifest.name,
    path: TOKENIZER_MANIFEST_FILE,
  });
  ctx.log.info("merging", { shards: parts.length, tokenizer: ref.digest });
  const bySplit = (split: string) => parts.map((p) => p.splits.find((s) => s.split === split)!.encoded);
  return writePacked(ctx, ds, { ref, eosId: manifest.eosId, vocabSize: manifest.vocabSize }, async (split) =>
    interleaveShards(bySplit(split)),
  );
}

/**
 * The pack stage definition (entry point: main.ts). Shardable: shard i of n trains (or reuses) the tokenizer and
 * encodes its share of each split's shuffled documents; the merge interleaves them and packs, with output bytes
 * identical to an unsharded run for any shard count. A trained tokenizer is trained by every shard action (the
 * same bytes; the merge checks): wire `tokenizer_from` to train it once.
 */
export const packStage: StageDefinition<PackConfig> = {
  module: "modules/pack",
  config: CONTRACTS.PackConfig,
  // The kernels library does the tokenizing and packing, so its bytes are part of the stage's identity.
  usesKernels: true,
  run,
  merge,
};

// The pack stage (pipelines/stages.bzl `pack_stage`): a DatasetManifest (slot `dataset`) and optionally another pack
// stage (slot `tokenizer_from`) → tokenizer files + TokenizerManifest, packed shards + PackedDatasetManifest
// (`packed.json`, the product). Config: nexa.v1.PackConfig. See README.md for the step list.

import { writeFile } from "fs/promises";
import * as path from "path";
import { performance } from "perf_hooks";

import { CONTRACTS, encodeMessage } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition } from "@nexa/modules/stage";
import { TextDataset } from "@nexa/modules/text_dataset";
import { PackConfig } from "@nexa/proto/nexa/v1/pack_config";
import { PackedBin, PackedDatasetManifest, PackedDatasetManifest_TokenDtype } from "@nexa/proto/nexa/v1/packed_dataset";

import { packSplit } from "./packing";
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
// run

async function runPack(
  ctx: StageContext<PackConfig>,
): Promise<{ product: { file: string; schema: string }; metrics: Record<string, number> }> {
  const cfg = ctx.config;
  const ds = new TextDataset(await ctx.open("dataset", CONTRACTS.DatasetManifest));
  const display = ds.artifact.display;
  checkConfig(ctx, ds.splits(), display);

  const texts = new Map<string, string[]>();
  const splitTexts = async (split: string): Promise<string[]> => {
    if (!texts.has(split))
      texts.set(
        split,
        (await ds.records(split)).map((r) => r.text),
      );
    return texts.get(split)!;
  };

  const [from] = await ctx.openAll("tokenizer_from", CONTRACTS.PackedDatasetManifest);
  let tok: StageTokenizer;
  if (from) {
    if (cfg.tokenizer)
      ctx.log.info("tokenizer_config_ignored", { reason: "tokenizer_from is wired; config.tokenizer is not used" });
    tok = await reuseStageTokenizer(ctx, from);
  } else {
    if (!ds.splits().includes(TRAIN_SPLIT)) {
      throw new ConfigError(
        "PACK_NO_TRAIN_SPLIT",
        `the tokenizer is trained on the "${TRAIN_SPLIT}" split, which ${display} does not have`,
        {
          context: { file: display, stage: ctx.stage },
          hint: "give the dataset a train split, or wire `tokenizer_from` to reuse a tokenizer",
        },
      );
    }
    tok = await trainStageTokenizer(ctx, await splitTexts(TRAIN_SPLIT), ds.artifact.ref);
  }

  try {
    // Padding reuses the end-of-document id: padding positions carry document id 0xFFFFFFFF, so a reader
    // masks them by document id and never needs a dedicated pad token in the vocabulary.
    const eosId = tok.manifest.eosId;
    const padId = eosId;
    const bins: PackedBin[] = [];
    let sequences = 0;
    let totalTokens = 0;
    let paddingTokens = 0;
    let truncatedDocuments = 0;
    let documents = 0;
    const progress = ctx.startProgress("pack", cfg.splits.length, "splits");
    for (const split of cfg.splits) {
      const docs = await splitTexts(split);
      if (docs.length === 0) {
        throw new ConfigError("PACK_EMPTY_SPLIT", `split "${split}" of ${display} has no documents`, {
          context: { file: ctx.configFile, jsonPath: `$.splits[${cfg.splits.indexOf(split)}]`, stage: ctx.stage },
          hint: "remove the split from config.splits, or give the data stage more records",
        });
      }
      const started = performance.now();
      const packed = await packSplit({
        outDir: ctx.outDir,
        split,
        texts: docs,
        tokenizer: tok.tokenizer,
        eosId,
        appendEos: cfg.appendEos,
        seqLen: cfg.seqLen,
        padId,
        shuffleSeed: cfg.shuffleSeed,
      });
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
      tokenizer: tok.ref,
      dataset: ds.artifact.ref,
      shuffleSeed: cfg.shuffleSeed,
      padId,
      producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    });
    await writeFile(path.join(ctx.outDir, PACKED_MANIFEST_FILE), encodeMessage(PackedDatasetManifest, manifest));
    return {
      product: { file: PACKED_MANIFEST_FILE, schema: CONTRACTS.PackedDatasetManifest.name },
      metrics: {
        vocab_size: tok.manifest.vocabSize,
        sequences,
        fill_ratio: fillRatio,
        tokens: totalTokens,
        truncated_documents: truncatedDocuments,
      },
    };
  } finally {
    tok.tokenizer.free();
  }
}

/** The pack stage definition (entry point: main.ts). Not shardable: one action per stage. */
export const packStage: StageDefinition<PackConfig> = {
  module: "modules/pack",
  config: CONTRACTS.PackConfig,
  // The kernels library does the tokenizing and packing, so its bytes are part of the stage's identity.
  usesKernels: true,
  run: runPack,
};

// The stage's tokenizer: trained (byte-level BPE, kernels) on the dataset's train split, or reused byte-for-byte
// from another pack stage (`tokenizer_from`). Either way the stage's data directory ends up with
//   tokenizer.json            Hugging Face byte-level BPE
//   tokenizer.nxtok           the kernels' native binary form (what this stage encodes with)
//   tokenizer.manifest.json   nexa.v1.TokenizerManifest (files relative to it)
// and a loaded Tokenizer handle (the caller frees it).

import { performance } from "perf_hooks";

import { Tokenizer } from "@nexa/kernels/binding";
import type { Artifact } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageContext } from "@nexa/modules/stage";
import {
  openTokenizer,
  TOKENIZER_HF_FILE,
  TOKENIZER_NATIVE_FILE,
  writeTokenizerFiles,
} from "@nexa/modules/tokenizer_files";
import type { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import type { PackConfig } from "@nexa/proto/nexa/v1/pack_config";
import type { PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import { TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";
import type { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";
/** The end-of-document token (docs/formats.md "Tokenizer"); the first special token of a trained tokenizer. */
export const END_OF_TEXT = "<|endoftext|>";

/** A tokenizer ready to encode, with the manifest written for it. */
export interface StageTokenizer {
  tokenizer: Tokenizer;
  manifest: TokenizerManifest;
  /** Reference to tokenizer.manifest.json (schema nexa.v1.TokenizerManifest, path relative to the stage dir). */
  ref: ArtifactRef;
  /** How long training took (0 when reused), for the log only. */
  trainMs: number;
}

// ----------------------------------------------------------------------------------------------------------
// training

/** Training documents: whole documents in dataset order while they fit in `maxBytes` (0 = all; at least one). */
export function selectTrainingDocs(texts: readonly string[], maxBytes: number): string[] {
  if (maxBytes <= 0) return [...texts];
  const out: string[] = [];
  let total = 0;
  for (const text of texts) {
    const bytes = Buffer.byteLength(text, "utf8");
    if (out.length > 0 && total + bytes > maxBytes) break;
    out.push(text);
    total += bytes;
  }
  return out;
}

function trainingConfig(ctx: StageContext<PackConfig>): {
  vocabSize: number;
  minFrequency: number;
  specials: string[];
} {
  const t = ctx.config.tokenizer;
  const where = { file: ctx.configFile, stage: ctx.stage };
  if (!t || t.vocabSize === 0) {
    throw new ConfigError(
      "PACK_NO_TOKENIZER",
      "no tokenizer to use: the config has no tokenizer.vocabSize and no tokenizer_from input is wired",
      {
        context: { ...where, jsonPath: "$.tokenizer.vocabSize" },
        hint: 'set "tokenizer": {"vocabSize": 1024, "specialTokens": ["<|endoftext|>"]}, or wire `tokenizer_from = ":<pack stage>"`',
      },
    );
  }
  const specials = t.specialTokens.length > 0 ? t.specialTokens : [END_OF_TEXT];
  if (specials[0] !== END_OF_TEXT) {
    throw new ConfigError(
      "PACK_EOS_TOKEN",
      `the first special token is ${JSON.stringify(specials[0])}; the end-of-document token must be "${END_OF_TEXT}"`,
      {
        context: { ...where, jsonPath: "$.tokenizer.specialTokens[0]" },
        hint: `put "${END_OF_TEXT}" first in tokenizer.specialTokens (docs/formats.md "Tokenizer")`,
      },
    );
  }
  const dup = specials.find((s, i) => s === "" || s.includes("\n") || specials.indexOf(s) !== i);
  if (dup !== undefined) {
    throw new ConfigError(
      "PACK_SPECIAL_TOKENS",
      `special token ${JSON.stringify(dup)} is empty, repeated or contains a newline`,
      {
        context: { ...where, jsonPath: "$.tokenizer.specialTokens" },
        hint: "list distinct, non-empty, single-line special tokens",
      },
    );
  }
  if (t.vocabSize < 256 + specials.length) {
    throw new ConfigError(
      "PACK_VOCAB_SIZE",
      `vocabSize ${t.vocabSize} is below 256 byte tokens + ${specials.length} special tokens`,
      {
        context: { ...where, jsonPath: "$.tokenizer.vocabSize" },
        hint: `set tokenizer.vocabSize >= ${256 + specials.length} (e.g. 1024)`,
      },
    );
  }
  return { vocabSize: t.vocabSize, minFrequency: t.minFrequency || 2, specials };
}

/** Id of special token `text` in `tok` (it must encode to exactly one id). */
function specialId(tok: Tokenizer, text: string): number {
  const ids = tok.encode(text, { allowSpecial: true });
  if (ids.length !== 1) {
    throw new IntegrityError("PACK_SPECIAL_ID", `special token ${JSON.stringify(text)} encodes to ${ids.length} ids`, {
      hint: "the tokenizer lacks this special token; retrain it with the token in tokenizer.specialTokens",
    });
  }
  return ids[0];
}

/** Trains a tokenizer on `trainTexts`, writes its files and manifest into ctx.outDir. */
export async function trainStageTokenizer(
  ctx: StageContext<PackConfig>,
  trainTexts: readonly string[],
  trainedOn: ArtifactRef,
): Promise<StageTokenizer> {
  const cfg = trainingConfig(ctx);
  const docs = selectTrainingDocs(trainTexts, ctx.config.tokenizer!.maxTrainingBytes);
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
  const started = performance.now();
  const tokenizer = Tokenizer.train(docs, cfg);
  const trainMs = performance.now() - started;
  ctx.log.info("tokenizer_trained", {
    docs: docs.length,
    bytes,
    vocab_size: tokenizer.vocabSize,
    train_ms: Math.round(trainMs),
  });

  const specialTokens = cfg.specials
    .map((text) => ({ text, id: specialId(tokenizer, text) }))
    .sort((a, b) => a.id - b.id);
  const files: [string, Uint8Array][] = [
    [TOKENIZER_HF_FILE, tokenizer.save("hf_json")],
    [TOKENIZER_NATIVE_FILE, tokenizer.save("native")],
  ];
  const { manifest, ref } = await writeTokenizerFiles(ctx.outDir, files, {
    schemaVersion: 1,
    kind: TokenizerManifest_Kind.KIND_BPE,
    name: `bpe-${tokenizer.vocabSize}`,
    vocabSize: tokenizer.vocabSize,
    specialTokens,
    eosId: specialId(tokenizer, END_OF_TEXT),
    trainedOn,
    producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
  });
  return { tokenizer, manifest, ref, trainMs };
}

// ----------------------------------------------------------------------------------------------------------
// reuse

/**
 * Reuses the tokenizer of an upstream pack stage: its PackedDatasetManifest's `tokenizer` ref leads to the
 * TokenizerManifest; the manifest and its files are verified and copied unchanged (same digests), and the
 * native file is loaded.
 */
export async function reuseStageTokenizer(
  ctx: StageContext<PackConfig>,
  from: Artifact<PackedDatasetManifest>,
): Promise<StageTokenizer> {
  const files = await openTokenizer(from, from.message.tokenizer!, "$.tokenizer");
  const native = await files.read(TOKENIZER_NATIVE_FILE);
  const manifest = files.manifest;
  if (!manifest.specialTokens.some((s) => s.id === manifest.eosId && s.text === END_OF_TEXT)) {
    throw new ConfigError("PACK_EOS_TOKEN", `eos_id ${manifest.eosId} is not the special token "${END_OF_TEXT}"`, {
      context: { file: files.artifact.display, jsonPath: "$.eosId", stage: ctx.stage },
      hint: `reuse a tokenizer whose end-of-document token is "${END_OF_TEXT}" (docs/formats.md "Tokenizer")`,
    });
  }
  await files.copyTo(ctx.outDir);
  const tokenizer = Tokenizer.load(native, "native");
  ctx.log.info("tokenizer_reused", {
    from: from.origin.context?.upstream,
    digest: files.ref.digest,
    vocab_size: tokenizer.vocabSize,
  });
  return { tokenizer, manifest, ref: files.ref, trainMs: 0 };
}

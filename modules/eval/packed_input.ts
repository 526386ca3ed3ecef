// The `packed` input: a pack stage's PackedDatasetManifest, its tokenizer (TokenizerManifest + tokenizer.json)
// and its bins, each read and verified (file digest from the manifest, then the .nxpk header and payload digest,
// then the header against the manifest).

import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import type { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import type { PackedBin, PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import type { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";

import { readProduct, readVerified } from "./artifact_io";
import type { Product } from "./artifact_io";
import { decodePackedShard } from "@nexa/modules/packed_shards";

export const TOKENIZER_HF_FILE = "tokenizer.json";

/** The packed dataset with its tokenizer. */
export interface PackedData {
  product: Product<PackedDatasetManifest>;
  /** The manifest's `tokenizer` reference: its digest identifies the TokenizerManifest. */
  tokenizerRef: ArtifactRef;
  tokenizer: TokenizerManifest;
  /** Hugging Face tokenizer.json bytes (verified against the TokenizerManifest). */
  tokenizerJson: Buffer;
}

/** One bin file of a split, with its index in the manifest's `bins` (for error paths). */
export interface SplitBin {
  bin: PackedBin;
  index: number;
}

/** Reads packed.json and the tokenizer it references. */
export async function readPacked(input: StageInput, stage: string): Promise<PackedData> {
  const product = await readProduct(input, CONTRACTS.PackedDatasetManifest, stage);
  const tokenizerRef = product.message.tokenizer!;
  const tokBytes = await readVerified(product.dir, tokenizerRef, { file: product.display, jsonPath: "$.tokenizer" });
  const tokDisplay = `${input.slot} input ${tokenizerRef.path}`;
  const tokenizer = decodeManifest(CONTRACTS.TokenizerManifest, tokBytes, tokDisplay);
  const tokDir = path.dirname(path.join(product.dir, tokenizerRef.path));
  const index = tokenizer.files.findIndex((f) => path.posix.basename(f.path) === TOKENIZER_HF_FILE);
  if (index < 0) {
    throw new ConfigError("EVAL_NO_HF_TOKENIZER", `the tokenizer manifest lists no ${TOKENIZER_HF_FILE}`, {
      context: { file: tokDisplay, jsonPath: "$.files", stage },
      hint: `evaluate data packed by modules/pack, whose tokenizer ships ${TOKENIZER_HF_FILE} (docs/formats.md "Tokenizer")`,
    });
  }
  const tokenizerJson = await readVerified(tokDir, tokenizer.files[index], { file: tokDisplay, jsonPath: `$.files[${index}]` });
  return { product, tokenizerRef, tokenizer, tokenizerJson };
}

/** The bins of `split`, in manifest order. */
export function splitBins(packed: PackedData, split: string): SplitBin[] {
  return packed.product.message.bins.map((bin, index) => ({ bin, index })).filter((b) => b.bin.split === split);
}

/** One verified shard: header fields and [bins × seqLen] row-major arrays. */
export interface ShardRows {
  seqLen: number;
  bins: number;
  padId: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
}

/** Reads one bin file and checks it against the manifest (digest, seq_len, pad_id, sequence count). */
export async function readBin(packed: PackedData, entry: SplitBin): Promise<ShardRows> {
  const m = packed.product.message;
  const jsonPath = `$.bins[${entry.index}]`;
  const bytes = await readVerified(packed.product.dir, entry.bin.file!, { file: packed.product.display, jsonPath: `${jsonPath}.file` });
  const shard = decodePackedShard(bytes, entry.bin.file!.path);
  const rows: ShardRows = { ...shard.header, tokens: shard.tokens, docIds: shard.docIds };
  const mismatch = (field: string, header: number, manifest: number): never => {
    throw new IntegrityError("EVAL_SHARD_MANIFEST_MISMATCH",
      `${entry.bin.file!.path}: header ${field} ${header} differs from the manifest's ${manifest}`, {
        context: { file: packed.product.display, jsonPath, shard: entry.bin.file!.path },
        hint: "the packed dataset is inconsistent; re-run the pack stage",
      });
  };
  if (rows.seqLen !== m.seqLen) mismatch("seq_len", rows.seqLen, m.seqLen);
  if (rows.padId !== m.padId) mismatch("pad_id", rows.padId, m.padId);
  if (rows.bins !== entry.bin.sequenceCount) mismatch("bins", rows.bins, entry.bin.sequenceCount);
  return rows;
}

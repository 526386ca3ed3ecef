// The `packed` input: the upstream PackedDatasetManifest (`packed.json`), its shards per split (verified against
// the manifest's digests and their own headers) and the tokenizer files beside it (verified, then copied into the
// checkpoint directory so it is self-contained, like a Hugging Face model directory).

import { copyFile, readFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";

import { decodePackedShard, PACKED_PAD_DOC_ID } from "@nexa/modules/packed_shards";

/** All rows of one split, shards concatenated in manifest order: [rows × seqLen] each. */
export interface SplitRows {
  rows: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
  /** Non-padding tokens per row. */
  rowTokens: Uint32Array;
}

export interface PackedInput {
  manifest: PackedDatasetManifest;
  /** Reference to the upstream packed.json (location-independent: no path). */
  ref: ArtifactRef;
  tokenizer: TokenizerManifest;
  /** Reference to tokenizer.manifest.json as copied into the checkpoint directory. */
  tokenizerRef: ArtifactRef;
  /** Display name for errors, e.g. "packed input packed.json". */
  display: string;
}

/** A data-dir-relative path from a manifest, refusing absolute paths and "..". */
function safeJoin(dir: string, rel: string, manifestFile: string): string {
  if (rel === "" || path.isAbsolute(rel) || rel.split("/").includes("..")) {
    throw new IntegrityError("TRAIN_BAD_PATH", `path ${JSON.stringify(rel)} is not a relative path inside the data directory`, {
      context: { file: manifestFile }, hint: "rebuild the packed dataset with the pack stage",
    });
  }
  return path.join(dir, rel);
}

/** Reads a file named by `ref` and checks its digest and size. */
async function readVerified(dir: string, ref: ArtifactRef, manifestFile: string): Promise<Uint8Array> {
  const file = safeJoin(dir, ref.path, manifestFile);
  const bytes = await readFile(file);
  const digest = digestBytes(bytes);
  if (digest !== ref.digest || (ref.sizeBytes !== 0 && bytes.length !== ref.sizeBytes)) {
    throw new IntegrityError("TRAIN_DIGEST_MISMATCH",
      `${ref.path} has ${digest} (${bytes.length} bytes) but ${path.basename(manifestFile)} lists ${ref.digest} (${ref.sizeBytes} bytes)`,
      { context: { file: ref.path, manifestFile: path.basename(manifestFile) }, hint: "the upstream data directory was modified; rebuild the pack stage" });
  }
  return bytes;
}

/** Reads and checks the packed dataset manifest and its tokenizer manifest. */
export async function readPackedInput(input: StageInput): Promise<PackedInput> {
  const display = `${input.slot} input ${path.basename(input.productPath)}`;
  if (input.productSchema !== CONTRACTS.PackedDatasetManifest.name) {
    throw new ConfigError("TRAIN_WRONG_INPUT", `${display} is a ${input.productSchema}, expected ${CONTRACTS.PackedDatasetManifest.name}`, {
      hint: "wire `packed` to a pack_stage target",
    });
  }
  const bytes = await readFile(input.productPath);
  const manifest = decodeManifest(CONTRACTS.PackedDatasetManifest, bytes, display);
  const ref = ArtifactRef.fromPartial({
    digest: digestBytes(bytes), sizeBytes: bytes.length, mediaType: "application/json", schemaName: CONTRACTS.PackedDatasetManifest.name,
  });
  const tokRef = manifest.tokenizer!;
  const tokBytes = await readVerified(input.dataDir, tokRef, input.productPath);
  const tokenizer = decodeManifest(CONTRACTS.TokenizerManifest, tokBytes, tokRef.path);
  const tokenizerRef = ArtifactRef.fromPartial({
    digest: tokRef.digest, sizeBytes: tokBytes.length, mediaType: "application/json",
    schemaName: CONTRACTS.TokenizerManifest.name, path: path.posix.basename(tokRef.path),
  });
  return { manifest, ref, tokenizer, tokenizerRef, display };
}

/** Copies the tokenizer manifest and every file it lists (verified) into `outDir`, flat. */
export async function copyTokenizer(input: StageInput, packed: PackedInput, outDir: string): Promise<void> {
  const manifestPath = safeJoin(input.dataDir, packed.manifest.tokenizer!.path, input.productPath);
  const tokDir = path.dirname(manifestPath);
  for (const f of packed.tokenizer.files) {
    if (f.path.includes("/")) {
      throw new IntegrityError("TRAIN_BAD_PATH", `tokenizer file ${f.path} is not beside its manifest`, {
        context: { file: packed.manifest.tokenizer!.path }, hint: "rebuild the pack stage",
      });
    }
    await readVerified(tokDir, f, manifestPath);
    await copyFile(path.join(tokDir, f.path), path.join(outDir, f.path));
  }
  await copyFile(manifestPath, path.join(outDir, packed.tokenizerRef.path));
}

/** What the manifest says a shard holds (checked against its header). */
export interface ShardExpectation {
  seqLen: number;
  bins: number;
}

/** Decodes and verifies one shard (modules/packed_shards) and checks it against the manifest's bin entry. */
export function decodeShard(bytes: Uint8Array, file: string, expect: ShardExpectation): { tokens: Uint32Array; docIds: Uint32Array } {
  const shard = decodePackedShard(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
  if (shard.header.seqLen !== expect.seqLen || shard.header.bins !== expect.bins) {
    throw new IntegrityError("TRAIN_SHARD_MANIFEST_MISMATCH",
      `header says seq_len ${shard.header.seqLen} and ${shard.header.bins} bins, the manifest says seq_len ${expect.seqLen} and ${expect.bins} sequences`, {
        context: { file }, hint: "the shard and packed.json come from different pack runs; rebuild the packed dataset",
      });
  }
  return shard;
}

/** Loads every shard of `split` (verified) into one array; undefined when the split has no shards. */
export async function loadSplit(input: StageInput, packed: PackedInput, split: string): Promise<SplitRows | undefined> {
  const bins = packed.manifest.bins.filter((b) => b.split === split);
  if (bins.length === 0) return undefined;
  const seqLen = packed.manifest.seqLen;
  const rows = bins.reduce((n, b) => n + b.sequenceCount, 0);
  const tokens = new Uint32Array(rows * seqLen);
  const docIds = new Uint32Array(rows * seqLen);
  let at = 0;
  for (const bin of bins) {
    const bytes = await readVerified(input.dataDir, bin.file!, input.productPath);
    const shard = decodeShard(bytes, bin.file!.path, { seqLen, bins: bin.sequenceCount });
    tokens.set(shard.tokens, at);
    docIds.set(shard.docIds, at);
    at += shard.tokens.length;
  }
  // Non-padding tokens per row (one pass over the doc ids at load; the manifest's tokens_seen counts them).
  const rowTokens = new Uint32Array(rows);
  for (let r = 0; r < rows; r++) {
    let n = 0;
    for (let i = r * seqLen; i < (r + 1) * seqLen; i++) if (docIds[i] !== PACKED_PAD_DOC_ID) n++;
    rowTokens[r] = n;
  }
  return { rows, tokens, docIds, rowTokens };
}

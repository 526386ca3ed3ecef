// The hand-over between a pack shard action and the merge: the tokenizer the shard encoded with and, per split,
// its share of the split's encoded documents (packing.ts encodeSplit with a shard). A shard directory holds
//   pack_shard.json          {"format": "nexa.pack.shard", "version": 1, "shard", "num_shards", "dataset",
//                             "splits": [{"split", "documents", "shard_documents", "tokens", "file", "sha256"}]}
//   <split>.tokens.bin       little-endian u32: the shard's documents' lengths [shard_documents], then their
//                            tokens [tokens] (the EncodedDocs of packing.ts, offsets implied by the lengths)
//   tokenizer.json, tokenizer.nxtok, tokenizer.manifest.json   what the stage's data directory will hold
// It is an action-private intermediate (never published), but versioned and checked so a merge refuses a foreign,
// partial or mismatched directory.

import { createHash } from "crypto";
import { readFile, writeFile } from "fs/promises";
import { endianness } from "os";
import * as path from "path";

import { IntegrityError, NexaError } from "@nexa/modules/monitoring";
import { TOKENIZER_HF_FILE, TOKENIZER_MANIFEST_FILE, TOKENIZER_NATIVE_FILE } from "@nexa/modules/tokenizer_files";

import type { EncodedDocs } from "./packing";

export const PACK_SHARD_FORMAT = "nexa.pack.shard";
export const PACK_SHARD_VERSION = 1;
export const PACK_SHARD_HEADER = "pack_shard.json";
/** The tokenizer files every shard writes and the merge publishes once. */
export const TOKENIZER_FILES = [TOKENIZER_MANIFEST_FILE, TOKENIZER_HF_FILE, TOKENIZER_NATIVE_FILE] as const;

/** One split's share in a shard. */
export interface SplitPart {
  split: string;
  /** Documents of the whole split. */
  documents: number;
  encoded: EncodedDocs;
}

export interface PackShardPart {
  shard: number;
  numShards: number;
  /** Digest of the dataset manifest the shard read. */
  dataset: string;
  splits: SplitPart[];
}

interface SplitHeader {
  split: string;
  documents: number;
  shard_documents: number;
  tokens: number;
  file: string;
  sha256: string;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A file of a shard directory; a missing or unreadable one is an incomplete shard. */
async function readShardFile(dir: string, name: string): Promise<Buffer> {
  const file = path.join(dir, name);
  try {
    return await readFile(file);
  } catch (err) {
    throw new IntegrityError("PACK_SHARD_INCOMPLETE", `cannot read ${name} of the shard directory`, {
      context: { file },
      cause: err,
      hint: "rerun the shard action: its directory must hold pack_shard.json, the split token files and the tokenizer",
    });
  }
}

function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new NexaError("PACK_SHARD_BIG_ENDIAN_HOST", "the pack shard hand-over assumes a little-endian host", {
      hint: "run the pack stage on a little-endian machine (x86-64, aarch64)",
    });
  }
}

/** Writes `part`'s token files and header into `dir` (the shard action's output directory). */
export async function writePackShard(dir: string, part: PackShardPart): Promise<void> {
  requireLittleEndian();
  const splits: SplitHeader[] = [];
  for (const { split, documents, encoded } of part.splits) {
    const n = encoded.lens.length;
    const bytes = new Uint8Array(4 * (n + encoded.tokens.length));
    bytes.set(new Uint8Array(encoded.lens.buffer, encoded.lens.byteOffset, 4 * n), 0);
    bytes.set(new Uint8Array(encoded.tokens.buffer, encoded.tokens.byteOffset, 4 * encoded.tokens.length), 4 * n);
    const file = `${split}.tokens.bin`;
    await writeFile(path.join(dir, file), bytes);
    splits.push({ split, documents, shard_documents: n, tokens: encoded.tokens.length, file, sha256: sha256(bytes) });
  }
  const header = {
    format: PACK_SHARD_FORMAT,
    version: PACK_SHARD_VERSION,
    shard: part.shard,
    num_shards: part.numShards,
    dataset: part.dataset,
    splits,
  };
  await writeFile(path.join(dir, PACK_SHARD_HEADER), JSON.stringify(header) + "\n");
}

/** Reads a shard directory written by writePackShard, verifying every token file's size and digest. */
export async function readPackShard(dir: string): Promise<PackShardPart> {
  requireLittleEndian();
  const headerFile = path.join(dir, PACK_SHARD_HEADER);
  const refuse = (code: string, message: string, file = headerFile, cause?: unknown): never => {
    throw new IntegrityError(code, message, {
      context: { file },
      cause,
      hint: "pass the directories written by `run --shard=I` of the same modules/pack build, all of one run",
    });
  };
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(await readFile(headerFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    refuse("PACK_SHARD_UNREADABLE", "cannot read the pack shard header", headerFile, err);
  }
  if (header.format !== PACK_SHARD_FORMAT || header.version !== PACK_SHARD_VERSION) {
    refuse(
      "PACK_SHARD_VERSION",
      `shard format ${String(header.format)} v${String(header.version)} is not ${PACK_SHARD_FORMAT} v${PACK_SHARD_VERSION}`,
    );
  }
  const splits: SplitPart[] = [];
  for (const [i, h] of ((header.splits ?? []) as SplitHeader[]).entries()) {
    const file = path.join(dir, h.file);
    if (path.basename(h.file) !== h.file)
      refuse("PACK_SHARD_FILE", `$.splits[${i}].file ${h.file} is not a plain name`);
    const bytes = await readShardFile(dir, h.file);
    if (bytes.length !== 4 * (h.shard_documents + h.tokens) || sha256(bytes) !== h.sha256) {
      refuse("PACK_SHARD_CORRUPT", `${h.file} does not match its header (size or sha256)`, file);
    }
    const words = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const lens = words.slice(0, h.shard_documents);
    const tokens = words.slice(h.shard_documents);
    const offsets = new BigUint64Array(lens.length + 1);
    let at = 0;
    for (let d = 0; d < lens.length; d++) {
      at += lens[d];
      offsets[d + 1] = BigInt(at);
    }
    if (at !== tokens.length)
      refuse("PACK_SHARD_CORRUPT", `${h.file}: lengths sum to ${at}, not ${tokens.length}`, file);
    splits.push({ split: h.split, documents: h.documents, encoded: { tokens, offsets, lens } });
  }
  return {
    shard: header.shard as number,
    numShards: header.num_shards as number,
    dataset: header.dataset as string,
    splits,
  };
}

/**
 * Checks that `parts` are shards 0..n-1 of one n-way run over the same dataset and splits, each holding exactly
 * its share of every split's documents (positions p ≡ shard mod n), and that every shard wrote the same tokenizer
 * files; returns the tokenizer files' bytes (shard 0's).
 */
export async function checkPackShards(
  parts: readonly PackShardPart[],
  dirs: readonly string[],
): Promise<Map<string, Buffer>> {
  const n = parts.length;
  const fail = (k: number, message: string): never => {
    throw new IntegrityError("PACK_SHARD_MISMATCH", `shard directory ${k} (${dirs[k]}): ${message}`, {
      context: { file: path.join(dirs[k], PACK_SHARD_HEADER) },
      hint: "rerun every shard action of the stage with the same inputs and build; pass their directories in shard order",
    });
  };
  const tokenizer = new Map<string, Buffer>();
  for (const f of TOKENIZER_FILES) tokenizer.set(f, await readShardFile(dirs[0], f));
  for (const [k, part] of parts.entries()) {
    if (part.shard !== k || part.numShards !== n)
      fail(k, `holds shard ${part.shard} of ${part.numShards}, expected ${k} of ${n}`);
    if (part.dataset !== parts[0].dataset) fail(k, `read dataset ${part.dataset}, shard 0 read ${parts[0].dataset}`);
    const names = part.splits.map((s) => s.split).join(",");
    if (names !== parts[0].splits.map((s) => s.split).join(",")) fail(k, `has splits [${names}], shard 0 has others`);
    for (const [i, s] of part.splits.entries()) {
      const total = parts[0].splits[i].documents;
      const share = Math.max(0, Math.ceil((total - k) / n));
      if (s.documents !== total || s.encoded.lens.length !== share) {
        fail(
          k,
          `split ${s.split}: ${s.encoded.lens.length} of ${s.documents} documents, expected ${share} of ${total}`,
        );
      }
    }
    for (const f of TOKENIZER_FILES) {
      const bytes = await readShardFile(dirs[k], f);
      if (!bytes.equals(tokenizer.get(f)!))
        fail(k, `its ${f} differs from shard 0's (a tokenizer trained differently)`);
    }
  }
  return tokenizer;
}

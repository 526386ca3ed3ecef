// Packing one split: documents → shuffled token stream → best-fit bins → shuffled sequences → .nxpk shard files.
// Every per-token step runs in the kernels (encode, shuffle, plan, materialize); TypeScript loops over
// documents, segments and bins only.
//
//   texts ──shuffle(seed)──▶ encode_batch ──(+EOS per doc)──▶ tokens + offsets [docs + 1]      (encodeSplit)
//         ──pack_plan(seq_len)──▶ bins of segments (doc, offset, len) ──materialize──▶ rows [bins × seq_len]
//         ──doc ids per bin, bin order shuffle(seed')──▶ shards of ≤ MAX_SHARD_PAYLOAD_BYTES   (packEncoded)
//
// A sharded stage splits the first line: shard i of n encodes the documents at positions p ≡ i (mod n) of the
// shuffled order (encodeSplit with a shard), and the merge interleaves the shards' token streams back into that
// order (interleaveShards) before planning. A document's tokens do not depend on the others', so the merged
// stream, and every file after it, is byte-identical to the unsharded run's whatever the shard count.
//
// Document ids in the files are the index of the document within its bin (docs/formats.md); the kernel's
// materialize writes plan-wide document indices, so they are rewritten here, one fill per segment.

import { writeFile } from "fs/promises";
import * as path from "path";

import { PackPlan, shuffleFill, shuffleShardRange } from "@nexa/kernels/binding";
import type { PackStats, Tokenizer } from "@nexa/kernels/binding";
import { digestBytes } from "@nexa/modules/manifest";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";

import { encodePackedShard } from "@nexa/modules/packed_shards";

/** Upper bound of one shard file's payload (tokens + doc ids + positions); a split larger than this gets several. */
export const MAX_SHARD_PAYLOAD_BYTES = 64 << 20;
/** XORed into shuffle_seed for the sequence (bin) order, so it is independent of the document order. */
const BIN_SEED_SALT = 0x9e3779b97f4a7c15n;

export interface PackEncodedOptions {
  outDir: string;
  split: string;
  seqLen: number;
  padId: number;
  shuffleSeed: number;
}

export interface PackSplitOptions extends PackEncodedOptions {
  texts: readonly string[];
  tokenizer: Tokenizer;
  /** Appended after every document when appendEos. */
  eosId: number;
  appendEos: boolean;
}

/** One written shard file. */
export interface WrittenShard {
  file: ArtifactRef;
  sequences: number;
  /** Non-padding tokens. */
  tokens: number;
}

export interface PackedSplit {
  shards: WrittenShard[];
  /** The kernel's plan statistics (docs, bins, total/padding tokens, truncated docs, fill ratio). */
  stats: PackStats;
}

// ----------------------------------------------------------------------------------------------------------
// steps

/** A seeded permutation of [0, n) from the kernels (empty for n = 0). */
function permutation(n: number, seed: bigint): BigUint64Array {
  return n === 0 ? new BigUint64Array(0) : shuffleFill(n, seed, 0, n);
}

/** Documents' tokens as CSR: document d (in the order encoded) is tokens[offsets[d], offsets[d + 1]). */
export interface EncodedDocs {
  tokens: Uint32Array;
  /** [docs + 1] */
  offsets: BigUint64Array;
  /** [docs] tokens per document (EOS included when appended) */
  lens: Uint32Array;
}

/** Encodes the documents (in the given order) and appends EOS to each when asked. */
function tokenize(texts: readonly string[], tok: Tokenizer, eosId: number, appendEos: boolean): EncodedDocs {
  const { ids, offsets } = tok.encodeBatch(texts);
  const n = texts.length;
  const lens = new Uint32Array(n);
  if (!appendEos) {
    for (let d = 0; d < n; d++) lens[d] = Number(offsets[d + 1] - offsets[d]);
    return { tokens: ids, offsets, lens };
  }
  const tokens = new Uint32Array(ids.length + n);
  const out = new BigUint64Array(n + 1);
  let at = 0;
  for (let d = 0; d < n; d++) {
    const doc = ids.subarray(Number(offsets[d]), Number(offsets[d + 1]));
    tokens.set(doc, at);
    tokens[at + doc.length] = eosId;
    at += doc.length + 1;
    out[d + 1] = BigInt(at);
    lens[d] = doc.length + 1;
  }
  return { tokens, offsets: out, lens };
}

export interface EncodeSplitOptions {
  texts: readonly string[];
  tokenizer: Tokenizer;
  eosId: number;
  appendEos: boolean;
  shuffleSeed: number;
  /** Encode only the documents at positions p ≡ index (mod count) of the shuffled order (default: all). */
  shard?: { index: number; count: number };
}

/** The split's documents in their shuffled order (or one shard's share of it), encoded. */
export function encodeSplit(opts: EncodeSplitOptions): EncodedDocs {
  const seed = BigInt.asUintN(64, BigInt(opts.shuffleSeed));
  const { index, count } = opts.shard ?? { index: 0, count: 1 };
  const docOrder = permutation(opts.texts.length, seed);
  const mine: string[] = [];
  for (let p = index; p < docOrder.length; p += count) mine.push(opts.texts[Number(docOrder[p])]);
  return tokenize(mine, opts.tokenizer, opts.eosId, opts.appendEos);
}

/**
 * The whole split's encoded stream from its shards' (`parts[i]` is shard i of parts.length, as encodeSplit wrote
 * it): position p of the shuffled order is document ⌊p / n⌋ of shard p mod n.
 */
export function interleaveShards(parts: readonly EncodedDocs[]): EncodedDocs {
  const n = parts.length;
  const docs = parts.reduce((sum, q) => sum + q.lens.length, 0);
  const tokens = new Uint32Array(parts.reduce((sum, q) => sum + q.tokens.length, 0));
  const offsets = new BigUint64Array(docs + 1);
  const lens = new Uint32Array(docs);
  let at = 0;
  for (let p = 0; p < docs; p++) {
    const part = parts[p % n];
    const d = Math.floor(p / n);
    const start = Number(part.offsets[d]);
    const len = Number(part.offsets[d + 1]) - start;
    tokens.set(part.tokens.subarray(start, start + len), at);
    at += len;
    offsets[p + 1] = BigInt(at);
    lens[p] = part.lens[d];
  }
  return { tokens, offsets, lens };
}

/** Rewrites doc ids to per-bin indices (padding keeps PAD_DOC_ID); returns non-padding tokens per bin. */
function binLocalDocIds(plan: PackPlan, docIds: Uint32Array): Uint32Array {
  const { binStarts, segments } = plan.segments();
  const bins = binStarts.length - 1;
  const used = new Uint32Array(bins);
  for (let b = 0; b < bins; b++) {
    let at = b * plan.seqLen;
    const first = Number(binStarts[b]);
    for (let g = first; g < Number(binStarts[b + 1]); g++) {
      const len = segments[3 * g + 2];
      docIds.fill(g - first, at, at + len);
      at += len;
    }
    used[b] = at - b * plan.seqLen;
  }
  return used;
}

// ----------------------------------------------------------------------------------------------------------
// entry point

/** Packs one split's encoded documents (in their shuffled order) into `<split>-NNNNN.nxpk` files in opts.outDir. */
export async function packEncoded(opts: PackEncodedOptions, encoded: EncodedDocs): Promise<PackedSplit> {
  const seed = BigInt.asUintN(64, BigInt(opts.shuffleSeed));
  const { tokens, offsets, lens } = encoded;
  const plan = PackPlan.create(lens, opts.seqLen);
  try {
    const stats = plan.stats();
    const rows = plan.materialize(tokens, offsets, opts.padId);
    const used = binLocalDocIds(plan, rows.docIds);
    const binOrder = permutation(stats.bins, seed ^ BIN_SEED_SALT);

    const L = opts.seqLen;
    const binsPerShard = Math.max(1, Math.floor(MAX_SHARD_PAYLOAD_BYTES / (12 * L)));
    const numShards = Math.max(1, Math.ceil(stats.bins / binsPerShard));
    const shards: WrittenShard[] = [];
    for (let s = 0; s < numShards; s++) {
      const { start, end } = stats.bins === 0 ? { start: 0, end: 0 } : shuffleShardRange(stats.bins, s, numShards);
      const part = {
        tokens: new Uint32Array((end - start) * L),
        docIds: new Uint32Array((end - start) * L),
        positions: new Uint32Array((end - start) * L),
      };
      let shardTokens = 0;
      for (let k = start; k < end; k++) {
        const src = Number(binOrder[k]) * L;
        const dst = (k - start) * L;
        part.tokens.set(rows.tokens.subarray(src, src + L), dst);
        part.docIds.set(rows.docIds.subarray(src, src + L), dst);
        part.positions.set(rows.positions.subarray(src, src + L), dst);
        shardTokens += used[Number(binOrder[k])];
      }
      const bytes = encodePackedShard(L, opts.padId, part);
      const file = `${opts.split}-${String(s).padStart(5, "0")}.nxpk`;
      await writeFile(path.join(opts.outDir, file), bytes);
      shards.push({
        file: ArtifactRef.fromPartial({
          digest: digestBytes(bytes),
          sizeBytes: bytes.length,
          mediaType: "application/vnd.nexa.shard+binary",
          path: file,
        }),
        sequences: end - start,
        tokens: shardTokens,
      });
    }
    return { shards, stats };
  } finally {
    plan.free();
  }
}

/** Packs one split (encodeSplit, then packEncoded). */
export async function packSplit(opts: PackSplitOptions): Promise<PackedSplit> {
  return packEncoded(opts, encodeSplit(opts));
}

// Packing one split: documents → shuffled token stream → best-fit bins → shuffled sequences → .nxpk shard files.
// Every per-token step runs in the kernels (encode, shuffle, plan, materialize); TypeScript loops over
// documents, segments and bins only.
//
//   texts ──shuffle(seed)──▶ encode_batch ──(+EOS per doc)──▶ tokens + offsets [docs + 1]
//         ──pack_plan(seq_len)──▶ bins of segments (doc, offset, len) ──materialize──▶ rows [bins × seq_len]
//         ──doc ids per bin, bin order shuffle(seed')──▶ shards of ≤ MAX_SHARD_PAYLOAD_BYTES
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

export interface PackSplitOptions {
  outDir: string;
  split: string;
  texts: readonly string[];
  tokenizer: Tokenizer;
  /** Appended after every document when appendEos. */
  eosId: number;
  appendEos: boolean;
  seqLen: number;
  padId: number;
  shuffleSeed: number;
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

/** Encodes the documents (in the given order) and appends EOS to each when asked; CSR tokens + offsets. */
function tokenize(
  texts: readonly string[],
  tok: Tokenizer,
  eosId: number,
  appendEos: boolean,
): { tokens: Uint32Array; offsets: BigUint64Array; lens: Uint32Array } {
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

/** Packs one split into `<split>-NNNNN.nxpk` files in opts.outDir. */
export async function packSplit(opts: PackSplitOptions): Promise<PackedSplit> {
  const seed = BigInt.asUintN(64, BigInt(opts.shuffleSeed));
  const docOrder = permutation(opts.texts.length, seed);
  const shuffled = Array.from(docOrder, (i) => opts.texts[Number(i)]);
  const { tokens, offsets, lens } = tokenize(shuffled, opts.tokenizer, opts.eosId, opts.appendEos);

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

// The one TypeScript binding of the kernels' C ABI (kernels/abi/nexa_kernels.h), through koffi: the public face.
//
// Library lookup (first hit wins):
//   1. $NEXA_KERNELS_LIB — an explicit path to libnexa_kernels.so;
//   2. Bazel runfiles — $RUNFILES_DIR or $TEST_SRCDIR + /<workspace>/kernels/abi/libnexa_kernels.so
//      (add //kernels/abi:nexa_kernels to the `data` of the ts_binary / jest_test that loads it).
// At load the library's nexa_abi_version() must equal ABI_VERSION, else a KernelError says how to fix it.
// Every non-OK status becomes a KernelError carrying the status, its name and the library's message.
// Loading and errors live in library.ts, the model (GPT) calls in model.ts; the data kernels are below.

import { check, concatDocs, growCall, kernels, KernelError, Status, toBytes } from "./library";
import { IGNORE_TARGET } from "./model";

export {
  ABI_VERSION,
  abiVersion,
  concatDocs,
  DECLARED_FUNCTIONS,
  KernelError,
  kernels,
  libraryPath,
  selftestPanic,
  Status,
  toBytes,
} from "./library";
export {
  Decoder,
  IGNORE_TARGET,
  KERNEL_VARIANTS,
  Model,
  nextTokenTargets,
  STOP_NONE,
  STOP_REASONS,
  supportedVariants,
} from "./model";
export type {
  DecodedTokens,
  EvalResult,
  GenerateOptions,
  Generation,
  KernelVariant,
  ModelConfig,
  ModelInfo,
  ModelOptions,
  StepMetrics,
  StepProgress,
  StopReason,
  TeacherTopK,
  TeacherTopKOptions,
  TrainBatch,
  TrainSettings,
} from "./model";

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------------------------------

/** On-disk tokenizer formats (NEXA_FORMAT_*). */
export type TokenizerFormat = "native" | "hf_json" | "tiktoken";
/** Their codes (NEXA_FORMAT_NATIVE, …). */
export const TOKENIZER_FORMATS: Readonly<Record<TokenizerFormat, number>> = { native: 0, hf_json: 1, tiktoken: 2 };

export interface TrainOptions {
  vocabSize: number;
  minFrequency?: number;
  specials?: string[];
}

/** Documents up to this many bytes are encoded into a Tokenizer's reused buffer (4 bytes per text byte, kept). */
const ENCODE_SCRATCH_MAX_BYTES = 1 << 20;

/** A byte-level BPE tokenizer living in the library; call free() when done. */
export class Tokenizer {
  private handle: unknown;
  /** encode()'s output buffer, reused: ids are copied out at their real length (about a quarter of the bytes). */
  private scratch = new Uint32Array(0);

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  /** Trains on documents (each pre-tokenized on its own). */
  static train(docs: readonly (string | Uint8Array)[], opts: TrainOptions): Tokenizer {
    const { data, offsets } = concatDocs(docs);
    const specials = toBytes((opts.specials ?? []).join("\n"));
    const out = [null];
    check(
      kernels().nexa_tokenizer_train(
        data,
        data.length,
        offsets,
        docs.length,
        opts.vocabSize,
        opts.minFrequency ?? 2,
        specials,
        specials.length,
        out,
      ),
      "nexa_tokenizer_train",
    );
    return new Tokenizer(out[0]);
  }

  /** Loads a tokenizer; `specials` (text → id) apply to tiktoken ranks only. */
  static load(bytes: Uint8Array, format: TokenizerFormat, specials: Record<string, number> = {}): Tokenizer {
    const names = Object.keys(specials);
    const text = toBytes(names.join("\n"));
    const ids = Uint32Array.from(names.map((n) => specials[n]));
    const out = [null];
    check(
      kernels().nexa_tokenizer_load(
        bytes,
        bytes.length,
        TOKENIZER_FORMATS[format],
        text,
        text.length,
        ids,
        ids.length,
        out,
      ),
      "nexa_tokenizer_load",
    );
    return new Tokenizer(out[0]);
  }

  private live(): unknown {
    if (this.handle === null) {
      throw new KernelError("KERNEL_USE_AFTER_FREE", 0, "tokenizer used after free()", "keep the Tokenizer until done");
    }
    return this.handle;
  }

  /** Serialized bytes in `format` ("native" or "hf_json"). */
  save(format: TokenizerFormat): Uint8Array {
    const h = this.live();
    return growCall(
      (n) => new Uint8Array(n),
      1 << 20,
      (buf, cap, len) => kernels().nexa_tokenizer_save(h, TOKENIZER_FORMATS[format], buf, cap, len),
      "nexa_tokenizer_save",
    );
  }

  get vocabSize(): number {
    const out = [0];
    check(kernels().nexa_tokenizer_vocab_size(this.live(), out), "nexa_tokenizer_vocab_size");
    return out[0];
  }

  /** Token ids of `text` (a string is UTF-8 encoded first). */
  encode(text: string | Uint8Array, opts: { allowSpecial?: boolean } = {}): Uint32Array {
    const bytes = toBytes(text);
    // Never more ids than bytes, so the output buffer has 4 bytes per text byte; the ids fill about a quarter of it.
    // One reused buffer and a copy at the real length: a returned array no longer keeps the whole buffer alive.
    let ids: Uint32Array;
    if (bytes.length > ENCODE_SCRATCH_MAX_BYTES) ids = new Uint32Array(bytes.length);
    else {
      if (this.scratch.length < bytes.length) {
        this.scratch = new Uint32Array(
          Math.min(ENCODE_SCRATCH_MAX_BYTES, Math.max(bytes.length, 2 * this.scratch.length)),
        );
      }
      ids = this.scratch;
    }
    const len = [0];
    check(
      kernels().nexa_tokenizer_encode(
        this.live(),
        bytes,
        bytes.length,
        opts.allowSpecial ? 1 : 0,
        ids,
        ids.length,
        len,
      ),
      "nexa_tokenizer_encode",
    );
    return ids.slice(0, len[0]);
  }

  /**
   * Threads `encodeBatch` runs on (default 1), each on a contiguous run of documents with its own piece cache; the
   * ids are the same for every count.
   */
  setThreads(threads: number): this {
    check(
      kernels().nexa_tokenizer_set_threads(this.live(), Math.max(1, Math.floor(threads))),
      "nexa_tokenizer_set_threads",
    );
    return this;
  }

  /** Encodes many documents in one call (on `setThreads` threads): concatenated ids and n + 1 offsets. */
  encodeBatch(
    docs: readonly (string | Uint8Array)[],
    opts: { allowSpecial?: boolean } = {},
  ): { ids: Uint32Array; offsets: BigUint64Array } {
    const { data, offsets } = concatDocs(docs);
    const ids = new Uint32Array(data.length);
    const outOffsets = new BigUint64Array(docs.length + 1);
    const len = [0];
    check(
      kernels().nexa_tokenizer_encode_batch(
        this.live(),
        data,
        data.length,
        offsets,
        docs.length,
        opts.allowSpecial ? 1 : 0,
        ids,
        ids.length,
        outOffsets,
        len,
      ),
      "nexa_tokenizer_encode_batch",
    );
    return { ids: ids.subarray(0, len[0]), offsets: outOffsets };
  }

  /** Bytes of `ids` (decode with TextDecoder for text). */
  decode(ids: Uint32Array): Uint8Array {
    const h = this.live();
    return growCall(
      (n) => new Uint8Array(n),
      ids.length * 4 + 16,
      (buf, cap, len) => kernels().nexa_tokenizer_decode(h, ids, ids.length, buf, cap, len),
      "nexa_tokenizer_decode",
    );
  }

  free(): void {
    if (this.handle !== null) kernels().nexa_tokenizer_free(this.handle);
    this.handle = null;
    this.scratch = new Uint32Array(0);
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Gate
// ---------------------------------------------------------------------------------------------------------------------

/** Reason names in code order (NEXA_GATE_*). */
export const GATE_REASONS = [
  "keep",
  "too_short",
  "too_long",
  "invalid_utf8",
  "duplicate_lines",
  "ngram_repetition",
  "symbol_ratio",
  "digit_ratio",
  "exact_duplicate",
  "near_duplicate",
  "other_shard",
] as const;
export type GateReason = (typeof GATE_REASONS)[number];

export interface GateConfig {
  minBytes: number;
  maxBytes: number;
  maxDuplicateLineFraction: number;
  maxNgramRepeatFraction: number;
  maxSymbolFraction: number;
  maxDigitFraction: number;
  ngramWords: number;
  exactDedup: boolean;
  nearDedup: boolean;
  minhashBands: number;
  minhashRows: number;
  minhashShingleWords: number;
  minhashSeed: number;
  shard: number;
  numShards: number;
}

export const DEFAULT_GATE_CONFIG: Readonly<GateConfig> = {
  minBytes: 1,
  maxBytes: 0,
  maxDuplicateLineFraction: 0.3,
  maxNgramRepeatFraction: 0.5,
  maxSymbolFraction: 0.5,
  maxDigitFraction: 0.5,
  ngramWords: 3,
  exactDedup: true,
  nearDedup: true,
  minhashBands: 14,
  minhashRows: 8,
  minhashShingleWords: 5,
  minhashSeed: 1,
  shard: 0,
  numShards: 1,
};

/** Name of a reason code from the library (undefined for unknown codes). */
export function gateReasonName(code: number): string | undefined {
  return (kernels().nexa_gate_reason_name(code) as string | null) ?? undefined;
}

/** A stateful quality gate (filters + exact and near dedup); call free() when done. */
export class Gate {
  private handle: unknown;

  constructor(config: Partial<GateConfig> = {}) {
    const c = { ...DEFAULT_GATE_CONFIG, ...config };
    const cfg = {
      min_bytes: c.minBytes,
      max_bytes: c.maxBytes,
      max_duplicate_line_fraction: c.maxDuplicateLineFraction,
      max_ngram_repeat_fraction: c.maxNgramRepeatFraction,
      max_symbol_fraction: c.maxSymbolFraction,
      max_digit_fraction: c.maxDigitFraction,
      ngram_words: c.ngramWords,
      exact_dedup: c.exactDedup ? 1 : 0,
      near_dedup: c.nearDedup ? 1 : 0,
      minhash_bands: c.minhashBands,
      minhash_rows: c.minhashRows,
      minhash_shingle_words: c.minhashShingleWords,
      minhash_seed: c.minhashSeed,
      shard: c.shard,
      num_shards: c.numShards,
    };
    const out = [null];
    check(kernels().nexa_gate_new(cfg, out), "nexa_gate_new");
    this.handle = out[0];
  }

  private live(): unknown {
    if (this.handle === null) {
      throw new KernelError("KERNEL_USE_AFTER_FREE", 0, "gate used after free()", "keep the Gate until done");
    }
    return this.handle;
  }

  /**
   * Threads `run` prepares documents on (filters, digests, MinHash signatures; default 1). The decisions are the
   * same for every count: the dedup state is updated in stream order.
   */
  setThreads(threads: number): this {
    check(kernels().nexa_gate_set_threads(this.live(), Math.max(1, Math.floor(threads))), "nexa_gate_set_threads");
    return this;
  }

  /** Reason code per document (continuing the stream). */
  run(docs: readonly (string | Uint8Array)[]): Uint8Array {
    const { data, offsets } = concatDocs(docs);
    const reasons = new Uint8Array(docs.length);
    check(kernels().nexa_gate_run(this.live(), data, data.length, offsets, docs.length, reasons), "nexa_gate_run");
    return reasons;
  }

  /** Documents per reason so far. */
  counts(): Record<GateReason, number> {
    const out = new BigUint64Array(GATE_REASONS.length);
    check(kernels().nexa_gate_counts(this.live(), out, out.length), "nexa_gate_counts");
    const result = {} as Record<GateReason, number>;
    GATE_REASONS.forEach((r, i) => (result[r] = Number(out[i])));
    return result;
  }

  free(): void {
    if (this.handle !== null) kernels().nexa_gate_free(this.handle);
    this.handle = null;
  }
}

/** MinHash estimate and exact shingle Jaccard of two documents. */
export function minhashSimilarity(
  a: string | Uint8Array,
  b: string | Uint8Array,
  opts: { bands?: number; rows?: number; shingleWords?: number; seed?: number } = {},
): { estimate: number; exact: number } {
  const [x, y] = [toBytes(a), toBytes(b)];
  const est = [0];
  const exact = [0];
  check(
    kernels().nexa_minhash_similarity(
      x,
      x.length,
      y,
      y.length,
      opts.bands ?? 14,
      opts.rows ?? 8,
      opts.shingleWords ?? 5,
      opts.seed ?? 1,
      est,
      exact,
    ),
    "nexa_minhash_similarity",
  );
  return { estimate: est[0], exact: exact[0] };
}

// ---------------------------------------------------------------------------------------------------------------------
// Shuffle
// ---------------------------------------------------------------------------------------------------------------------

type U64 = number | bigint;

/** permute(start + k) for k < count, of the seeded permutation of [0, n). */
export function shuffleFill(
  n: U64,
  seed: U64,
  start: U64,
  count: number,
  out = new BigUint64Array(count),
): BigUint64Array {
  check(kernels().nexa_shuffle_fill(n, seed, start, out, count), "nexa_shuffle_fill");
  return out;
}

/** inverse(v) for each value. */
export function shuffleInverse(n: U64, seed: U64, values: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(values.length);
  check(kernels().nexa_shuffle_inverse(n, seed, values, out, values.length), "nexa_shuffle_inverse");
  return out;
}

/** Windowed (block) shuffle for streaming readers. */
export function blockShuffleFill(n: U64, block: U64, seed: U64, start: U64, count: number): BigUint64Array {
  const out = new BigUint64Array(count);
  check(kernels().nexa_shuffle_block_fill(n, block, seed, start, out, count), "nexa_shuffle_block_fill");
  return out;
}

export function blockShuffleInverse(n: U64, block: U64, seed: U64, values: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(values.length);
  check(kernels().nexa_shuffle_block_inverse(n, block, seed, values, out, values.length), "nexa_shuffle_block_inverse");
  return out;
}

/** Output positions [start, end) of one shard. */
export function shuffleShardRange(n: U64, shard: number, numShards: number): { start: number; end: number } {
  const s = [0];
  const e = [0];
  check(kernels().nexa_shuffle_shard_range(n, shard, numShards, s, e), "nexa_shuffle_shard_range");
  return { start: Number(s[0]), end: Number(e[0]) };
}

/** Reference Fisher–Yates shuffle of 0..n (O(n) memory; benchmark baseline). */
export function fisherYates(n: number, seed: U64, out = new Uint32Array(n)): Uint32Array {
  check(kernels().nexa_shuffle_fisher_yates(seed, out, n), "nexa_shuffle_fisher_yates");
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Pack
// ---------------------------------------------------------------------------------------------------------------------

export interface PackStats {
  docs: number;
  empty_docs: number;
  total_tokens: number;
  bins: number;
  lower_bound_bins: number;
  segments: number;
  truncated_docs: number;
  padding_tokens: number;
  fill_ratio: number;
}

export interface PackedRows {
  tokens: Uint32Array; // [bins × seqLen]
  docIds: Uint32Array; // [bins × seqLen], PAD_DOC_ID at padding
  positions: Uint32Array; // [bins × seqLen], restarting per segment
}

export const PAD_DOC_ID = 0xffffffff;

/** A best-fit-decreasing packing plan; call free() when done. */
export class PackPlan {
  private handle: unknown;
  readonly seqLen: number;

  private constructor(handle: unknown, seqLen: number) {
    this.handle = handle;
    this.seqLen = seqLen;
  }

  static create(docLens: Uint32Array, seqLen: number): PackPlan {
    const out = [null];
    check(kernels().nexa_pack_plan_new(docLens, docLens.length, seqLen, out), "nexa_pack_plan_new");
    return new PackPlan(out[0], seqLen);
  }

  private live(): unknown {
    if (this.handle === null) {
      throw new KernelError("KERNEL_USE_AFTER_FREE", 0, "pack plan used after free()", "keep the PackPlan until done");
    }
    return this.handle;
  }

  stats(): PackStats {
    const out = {} as PackStats;
    check(kernels().nexa_pack_plan_stats(this.live(), out), "nexa_pack_plan_stats");
    return out;
  }

  /** binStarts (bins + 1) and segments as [doc, offsetInDoc, length] triples. */
  segments(): { binStarts: BigUint64Array; segments: Uint32Array } {
    const s = this.stats();
    const binStarts = new BigUint64Array(s.bins + 1);
    const segments = new Uint32Array(3 * s.segments);
    check(
      kernels().nexa_pack_plan_segments(this.live(), binStarts, binStarts.length, segments, segments.length),
      "nexa_pack_plan_segments",
    );
    return { binStarts, segments };
  }

  /** Bins [first, first + count) of one shard. */
  shardBins(shard: number, numShards: number): { first: number; count: number } {
    const f = [0];
    const n = [0];
    check(kernels().nexa_pack_shard_bins(this.live(), shard, numShards, f, n), "nexa_pack_shard_bins");
    return { first: Number(f[0]), count: Number(n[0]) };
  }

  /** Rows of bins [firstBin, firstBin + nBins) (default: all). */
  materialize(
    tokens: Uint32Array,
    docOffsets: BigUint64Array,
    padId: number,
    firstBin = 0,
    nBins?: number,
  ): PackedRows {
    const count = nBins ?? this.stats().bins - firstBin;
    const len = count * this.seqLen;
    const rows = { tokens: new Uint32Array(len), docIds: new Uint32Array(len), positions: new Uint32Array(len) };
    check(
      kernels().nexa_pack_materialize(
        this.live(),
        tokens,
        tokens.length,
        docOffsets,
        docOffsets.length,
        padId,
        firstBin,
        count,
        rows.tokens,
        rows.docIds,
        rows.positions,
        len,
      ),
      "nexa_pack_materialize",
    );
    return rows;
  }

  free(): void {
    if (this.handle !== null) kernels().nexa_pack_plan_free(this.handle);
    this.handle = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Stats
// ---------------------------------------------------------------------------------------------------------------------

export interface LengthStats {
  docs: number;
  tokens: number;
  min: number;
  max: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
}

/** Number of log2 length-histogram buckets (bucket 0: length 0; bucket k: [2^(k-1), 2^k)). */
export const HISTOGRAM_BUCKETS = 65;

/** Length summary and log2 histogram of documents given by n + 1 offsets. */
export function lengthStats(docOffsets: BigUint64Array): { stats: LengthStats; histogram: number[] } {
  const out = {} as LengthStats;
  const hist = new BigUint64Array(HISTOGRAM_BUCKETS);
  check(kernels().nexa_stats_lengths(docOffsets, docOffsets.length, out, hist), "nexa_stats_lengths");
  return { stats: out, histogram: Array.from(hist, Number) };
}

/** Occurrences per id (length vocabSize) and the number of ids used. */
export function vocabUsage(ids: Uint32Array, vocabSize: number): { counts: BigUint64Array; used: number } {
  const counts = new BigUint64Array(vocabSize);
  const used = [0];
  check(kernels().nexa_stats_vocab_usage(ids, ids.length, counts, vocabSize, used), "nexa_stats_vocab_usage");
  return { counts, used: Number(used[0]) };
}

/**
 * Distinct pairs (prev[i], next[i]) over the positions where next[i] !== skip (default IGNORE_TARGET: the pairs of
 * a row and its nextTokenTargets), as keys prev · vocabSize + next in increasing order with their counts.
 */
export function bigramCounts(
  prev: Uint32Array,
  next: Uint32Array,
  vocabSize: number,
  skip: number = IGNORE_TARGET,
): { keys: BigUint64Array; counts: BigUint64Array } {
  const keys = new BigUint64Array(prev.length);
  const counts = new BigUint64Array(prev.length);
  const len = [0];
  check(
    kernels().nexa_stats_bigram_counts(prev, next, prev.length, vocabSize, skip, keys, counts, prev.length, len),
    "nexa_stats_bigram_counts",
  );
  const d = Number(len[0]);
  return { keys: keys.subarray(0, d), counts: counts.subarray(0, d) };
}

/** total[i] += shard[i] for per-reason drop counts. */
export function mergeCounts(total: BigUint64Array, shard: BigUint64Array): void {
  if (total.length !== shard.length) {
    throw new KernelError(
      "KERNEL_INVALID_ARGUMENT",
      Status.INVALID_ARGUMENT,
      `count arrays differ in length (${total.length} vs ${shard.length})`,
      "merge counts of the same reason set",
    );
  }
  check(kernels().nexa_stats_merge_counts(total, shard, total.length), "nexa_stats_merge_counts");
}

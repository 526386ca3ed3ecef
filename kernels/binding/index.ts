// The one TypeScript binding of the kernels' C ABI (kernels/abi/nexa_kernels.h), through koffi.
//
// Library lookup (first hit wins):
//   1. $NEXA_KERNELS_LIB — an explicit path to libnexa_kernels.so;
//   2. Bazel runfiles — $RUNFILES_DIR or $TEST_SRCDIR + /<workspace>/kernels/abi/libnexa_kernels.so
//      (add //kernels/abi:nexa_kernels to the `data` of the ts_binary / jest_test that loads it).
// At load the library's nexa_abi_version() must equal ABI_VERSION, else a KernelError says how to fix it.
// Every non-OK status becomes a KernelError carrying the status, its name and the library's message.

import fs from "fs";
import path from "path";
import koffi from "koffi";

// ---------------------------------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------------------------------

/** Status codes of nexa_kernels.h. */
export const Status = {
  OK: 0,
  INVALID_ARGUMENT: 1,
  NULL_POINTER: 2,
  BUFFER_TOO_SMALL: 3,
  FORMAT: 4,
  INTERNAL: 5,
} as const;

const STATUS_NAMES: Record<number, string> = {
  1: "KERNEL_INVALID_ARGUMENT",
  2: "KERNEL_NULL_POINTER",
  3: "KERNEL_BUFFER_TOO_SMALL",
  4: "KERNEL_FORMAT",
  5: "KERNEL_INTERNAL",
};

const STATUS_HINTS: Record<number, string> = {
  1: "check the argument named in the message against nexa_kernels.h",
  2: "a required buffer or handle was missing (freed handle?)",
  3: "retry with a buffer of the size given in the message",
  4: "the file is malformed or in an unsupported format/version; re-export it",
  5: "a bug in the kernels (a caught Rust panic); report it with the input",
};

/** Error raised for a failed kernel call or a library that cannot be loaded. */
export class KernelError extends Error {
  /** Stable code, e.g. KERNEL_INVALID_ARGUMENT or KERNEL_ABI_MISMATCH. */
  readonly code: string;
  /** The C status (0 when the failure happened before a call). */
  readonly status: number;
  /** What to do about it. */
  readonly hint: string;

  constructor(code: string, status: number, message: string, hint: string) {
    super(message);
    this.name = "KernelError";
    this.code = code;
    this.status = status;
    this.hint = hint;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------------------------------

/** The ABI version this binding was written against (NEXA_ABI_VERSION). */
export const ABI_VERSION = 1;

const LIB_NAME = "libnexa_kernels.so";
const RUNFILES_REL = path.join("kernels", "abi", LIB_NAME);

/** Where the library is found (see the header comment); throws KernelError if nowhere. */
export function libraryPath(): string {
  const explicit = process.env.NEXA_KERNELS_LIB;
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new KernelError("KERNEL_LIBRARY_NOT_FOUND", 0, `NEXA_KERNELS_LIB=${explicit} does not exist`,
        "build it with `bazel build //kernels/abi:nexa_kernels` and point NEXA_KERNELS_LIB at the .so");
    }
    return explicit;
  }
  const tried: string[] = [];
  for (const root of [process.env.RUNFILES_DIR, process.env.TEST_SRCDIR]) {
    if (!root || !fs.existsSync(root)) continue;
    const workspaces = [process.env.TEST_WORKSPACE ?? "nexacompute", ...fs.readdirSync(root).sort()];
    for (const ws of workspaces) {
      const candidate = path.join(root, ws, RUNFILES_REL);
      tried.push(candidate);
      if (fs.existsSync(candidate)) return candidate;
    }
  }
  throw new KernelError("KERNEL_LIBRARY_NOT_FOUND", 0, `cannot find ${LIB_NAME} (tried ${tried.length} runfiles paths)`,
    "set NEXA_KERNELS_LIB to the library path, or add //kernels/abi:nexa_kernels to the target's data");
}

// Opaque handle and struct types (mirror nexa_kernels.h). koffi's type names are process-global and the addon may
// be shared by several module instances (e.g. jest test files in one process), so each is registered once.
function defineType(name: string, define: () => unknown): void {
  try {
    koffi.type(name);
  } catch {
    define();
  }
}

defineType("nexa_tokenizer", () => koffi.opaque("nexa_tokenizer"));
defineType("nexa_gate", () => koffi.opaque("nexa_gate"));
defineType("nexa_pack_plan", () => koffi.opaque("nexa_pack_plan"));

defineType("nexa_gate_config", () => koffi.struct("nexa_gate_config", {
  min_bytes: "uint64_t",
  max_bytes: "uint64_t",
  max_duplicate_line_fraction: "double",
  max_ngram_repeat_fraction: "double",
  max_symbol_fraction: "double",
  max_digit_fraction: "double",
  ngram_words: "uint32_t",
  exact_dedup: "uint32_t",
  near_dedup: "uint32_t",
  minhash_bands: "uint32_t",
  minhash_rows: "uint32_t",
  minhash_shingle_words: "uint32_t",
  minhash_seed: "uint64_t",
  shard: "uint64_t",
  num_shards: "uint64_t",
}));

defineType("nexa_pack_stats", () => koffi.struct("nexa_pack_stats", {
  docs: "uint64_t",
  empty_docs: "uint64_t",
  total_tokens: "uint64_t",
  bins: "uint64_t",
  lower_bound_bins: "uint64_t",
  segments: "uint64_t",
  truncated_docs: "uint64_t",
  padding_tokens: "uint64_t",
  fill_ratio: "double",
}));

defineType("nexa_length_stats", () => koffi.struct("nexa_length_stats", {
  docs: "uint64_t",
  tokens: "uint64_t",
  min: "uint64_t",
  max: "uint64_t",
  mean: "double",
  p50: "uint64_t",
  p90: "uint64_t",
  p99: "uint64_t",
}));

/** C prototypes, one per exported function (a test checks them against the header and the .so). */
const PROTOTYPES = {
  nexa_abi_version: "uint32_t nexa_abi_version(void)",
  nexa_last_error: "const char *nexa_last_error(void)",
  nexa_selftest_panic: "int32_t nexa_selftest_panic(void)",
  nexa_tokenizer_train:
    "int32_t nexa_tokenizer_train(const uint8_t *data, size_t data_len, const uint64_t *doc_offsets, size_t n_docs, uint32_t vocab_size, uint64_t min_frequency, const uint8_t *specials, size_t specials_len, _Out_ nexa_tokenizer **out)",
  nexa_tokenizer_load:
    "int32_t nexa_tokenizer_load(const uint8_t *data, size_t data_len, uint32_t format, const uint8_t *specials, size_t specials_len, const uint32_t *special_ids, size_t n_special_ids, _Out_ nexa_tokenizer **out)",
  nexa_tokenizer_save:
    "int32_t nexa_tokenizer_save(const nexa_tokenizer *tok, uint32_t format, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_tokenizer_vocab_size: "int32_t nexa_tokenizer_vocab_size(const nexa_tokenizer *tok, _Out_ uint32_t *out)",
  nexa_tokenizer_encode:
    "int32_t nexa_tokenizer_encode(nexa_tokenizer *tok, const uint8_t *text, size_t text_len, uint32_t allow_special, uint32_t *out_ids, size_t cap, _Out_ size_t *out_len)",
  nexa_tokenizer_encode_batch:
    "int32_t nexa_tokenizer_encode_batch(nexa_tokenizer *tok, const uint8_t *data, size_t data_len, const uint64_t *doc_offsets, size_t n_docs, uint32_t allow_special, uint32_t *out_ids, size_t cap, uint64_t *out_doc_offsets, _Out_ size_t *out_len)",
  nexa_tokenizer_decode:
    "int32_t nexa_tokenizer_decode(const nexa_tokenizer *tok, const uint32_t *ids, size_t n_ids, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_tokenizer_free: "void nexa_tokenizer_free(nexa_tokenizer *tok)",
  nexa_gate_new: "int32_t nexa_gate_new(const nexa_gate_config *config, _Out_ nexa_gate **out)",
  nexa_gate_run:
    "int32_t nexa_gate_run(nexa_gate *gate, const uint8_t *data, size_t data_len, const uint64_t *doc_offsets, size_t n_docs, uint8_t *out_reasons)",
  nexa_gate_counts: "int32_t nexa_gate_counts(const nexa_gate *gate, uint64_t *out, size_t len)",
  nexa_gate_reason_name: "const char *nexa_gate_reason_name(uint32_t code)",
  nexa_gate_free: "void nexa_gate_free(nexa_gate *gate)",
  nexa_minhash_similarity:
    "int32_t nexa_minhash_similarity(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint32_t bands, uint32_t rows, uint32_t shingle_words, uint64_t seed, _Out_ double *out_estimate, _Out_ double *out_exact)",
  nexa_shuffle_fill: "int32_t nexa_shuffle_fill(uint64_t n, uint64_t seed, uint64_t start, uint64_t *out, size_t count)",
  nexa_shuffle_inverse:
    "int32_t nexa_shuffle_inverse(uint64_t n, uint64_t seed, const uint64_t *values, uint64_t *out, size_t count)",
  nexa_shuffle_block_fill:
    "int32_t nexa_shuffle_block_fill(uint64_t n, uint64_t block, uint64_t seed, uint64_t start, uint64_t *out, size_t count)",
  nexa_shuffle_block_inverse:
    "int32_t nexa_shuffle_block_inverse(uint64_t n, uint64_t block, uint64_t seed, const uint64_t *values, uint64_t *out, size_t count)",
  nexa_shuffle_shard_range:
    "int32_t nexa_shuffle_shard_range(uint64_t n, uint64_t shard, uint64_t num_shards, _Out_ uint64_t *start, _Out_ uint64_t *end)",
  nexa_shuffle_fisher_yates: "int32_t nexa_shuffle_fisher_yates(uint64_t seed, uint32_t *out, size_t n)",
  nexa_pack_plan_new:
    "int32_t nexa_pack_plan_new(const uint32_t *doc_lens, size_t n_docs, uint32_t seq_len, _Out_ nexa_pack_plan **out)",
  nexa_pack_plan_stats: "int32_t nexa_pack_plan_stats(const nexa_pack_plan *plan, _Out_ nexa_pack_stats *out)",
  nexa_pack_plan_segments:
    "int32_t nexa_pack_plan_segments(const nexa_pack_plan *plan, uint64_t *bin_starts, size_t bin_starts_len, uint32_t *segments, size_t segments_len)",
  nexa_pack_shard_bins:
    "int32_t nexa_pack_shard_bins(const nexa_pack_plan *plan, uint64_t shard, uint64_t num_shards, _Out_ uint64_t *first_bin, _Out_ uint64_t *n_bins)",
  nexa_pack_materialize:
    "int32_t nexa_pack_materialize(const nexa_pack_plan *plan, const uint32_t *tokens, size_t n_tokens, const uint64_t *doc_offsets, size_t n_offsets, uint32_t pad_id, uint64_t first_bin, uint64_t n_bins, uint32_t *out_tokens, uint32_t *out_doc_ids, uint32_t *out_positions, size_t out_len)",
  nexa_pack_plan_free: "void nexa_pack_plan_free(nexa_pack_plan *plan)",
  nexa_stats_lengths:
    "int32_t nexa_stats_lengths(const uint64_t *doc_offsets, size_t n_offsets, _Out_ nexa_length_stats *out, uint64_t *histogram)",
  nexa_stats_vocab_usage:
    "int32_t nexa_stats_vocab_usage(const uint32_t *ids, size_t n_ids, uint64_t *counts, size_t vocab_size, _Out_ uint64_t *out_used)",
  nexa_stats_merge_counts: "int32_t nexa_stats_merge_counts(uint64_t *total, const uint64_t *shard, size_t len)",
} as const;

/** Names of the C functions this binding declares. */
export const DECLARED_FUNCTIONS: readonly string[] = Object.keys(PROTOTYPES);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CFunction = (...args: any[]) => any;
type Lib = Record<keyof typeof PROTOTYPES, CFunction>;

let loaded: Lib | null = null;

/** Loads (once) and version-checks the library. */
export function kernels(): Lib {
  if (loaded) return loaded;
  const file = libraryPath();
  const handle = koffi.load(file);
  const lib = {} as Lib;
  for (const [name, proto] of Object.entries(PROTOTYPES)) {
    lib[name as keyof typeof PROTOTYPES] = handle.func(proto);
  }
  const version = lib.nexa_abi_version() as number;
  if (version !== ABI_VERSION) {
    throw new KernelError("KERNEL_ABI_MISMATCH", 0,
      `${file} implements nexa_kernels ABI ${version}, this binding needs ${ABI_VERSION}`,
      "rebuild //kernels/abi:nexa_kernels and //kernels/binding from the same commit");
  }
  loaded = lib;
  return lib;
}

/** Throws a KernelError for a non-OK status of `fn`. */
function check(status: number, fn: string): void {
  if (status === Status.OK) return;
  const message = (kernels().nexa_last_error() as string) || `${fn} failed with status ${status}`;
  throw new KernelError(STATUS_NAMES[status] ?? "KERNEL_UNKNOWN_STATUS", status, message,
    STATUS_HINTS[status] ?? "upgrade the binding to match the library");
}

/** The loaded library's ABI version. */
export function abiVersion(): number {
  return kernels().nexa_abi_version() as number;
}

/** Calls nexa_selftest_panic (a deliberate Rust panic) — proves panics surface as KernelError. */
export function selftestPanic(): void {
  check(kernels().nexa_selftest_panic(), "nexa_selftest_panic");
}

// ---------------------------------------------------------------------------------------------------------------------
// Buffers
// ---------------------------------------------------------------------------------------------------------------------

const encoder = new TextEncoder();

/** UTF-8 bytes of a string, or the bytes themselves. */
export function toBytes(x: string | Uint8Array): Uint8Array {
  return typeof x === "string" ? encoder.encode(x) : x;
}

/** Documents as one byte buffer plus n + 1 offsets (the ABI's CSR layout). */
export function concatDocs(docs: readonly (string | Uint8Array)[]): { data: Uint8Array; offsets: BigUint64Array } {
  const parts = docs.map(toBytes);
  const offsets = new BigUint64Array(parts.length + 1);
  let total = 0;
  parts.forEach((p, i) => {
    total += p.length;
    offsets[i + 1] = BigInt(total);
  });
  const data = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    data.set(p, at);
    at += p.length;
  }
  return { data, offsets };
}

/** Calls `fill(buffer, cap, outLen)` with a buffer of `guess` elements, retrying once with the reported size. */
function growCall<T extends Uint8Array | Uint32Array>(make: (n: number) => T, guess: number,
  fill: (buf: T, cap: number, outLen: number[]) => number, fn: string): T {
  let buf = make(guess);
  const outLen = [0];
  let status = fill(buf, buf.length, outLen);
  if (status === Status.BUFFER_TOO_SMALL) {
    buf = make(outLen[0]);
    status = fill(buf, buf.length, outLen);
  }
  check(status, fn);
  return buf.subarray(0, outLen[0]) as T;
}

// ---------------------------------------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------------------------------------

/** On-disk tokenizer formats (NEXA_FORMAT_*). */
export type TokenizerFormat = "native" | "hf_json" | "tiktoken";
const FORMATS: Record<TokenizerFormat, number> = { native: 0, hf_json: 1, tiktoken: 2 };

export interface TrainOptions {
  vocabSize: number;
  minFrequency?: number;
  specials?: string[];
}

/** A byte-level BPE tokenizer living in the library; call free() when done. */
export class Tokenizer {
  private handle: unknown;

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  /** Trains on documents (each pre-tokenized on its own). */
  static train(docs: readonly (string | Uint8Array)[], opts: TrainOptions): Tokenizer {
    const { data, offsets } = concatDocs(docs);
    const specials = toBytes((opts.specials ?? []).join("\n"));
    const out = [null];
    check(kernels().nexa_tokenizer_train(data, data.length, offsets, docs.length, opts.vocabSize,
      opts.minFrequency ?? 2, specials, specials.length, out), "nexa_tokenizer_train");
    return new Tokenizer(out[0]);
  }

  /** Loads a tokenizer; `specials` (text → id) apply to tiktoken ranks only. */
  static load(bytes: Uint8Array, format: TokenizerFormat, specials: Record<string, number> = {}): Tokenizer {
    const names = Object.keys(specials);
    const text = toBytes(names.join("\n"));
    const ids = Uint32Array.from(names.map((n) => specials[n]));
    const out = [null];
    check(kernels().nexa_tokenizer_load(bytes, bytes.length, FORMATS[format], text, text.length, ids, ids.length, out),
      "nexa_tokenizer_load");
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
    return growCall((n) => new Uint8Array(n), 1 << 20,
      (buf, cap, len) => kernels().nexa_tokenizer_save(h, FORMATS[format], buf, cap, len), "nexa_tokenizer_save");
  }

  get vocabSize(): number {
    const out = [0];
    check(kernels().nexa_tokenizer_vocab_size(this.live(), out), "nexa_tokenizer_vocab_size");
    return out[0];
  }

  /** Token ids of `text` (a string is UTF-8 encoded first). */
  encode(text: string | Uint8Array, opts: { allowSpecial?: boolean } = {}): Uint32Array {
    const bytes = toBytes(text);
    const ids = new Uint32Array(bytes.length); // never more ids than bytes
    const len = [0];
    check(kernels().nexa_tokenizer_encode(this.live(), bytes, bytes.length, opts.allowSpecial ? 1 : 0, ids, ids.length, len),
      "nexa_tokenizer_encode");
    return ids.subarray(0, len[0]);
  }

  /** Encodes many documents in one call: concatenated ids and n + 1 offsets. */
  encodeBatch(docs: readonly (string | Uint8Array)[], opts: { allowSpecial?: boolean } = {}): { ids: Uint32Array; offsets: BigUint64Array } {
    const { data, offsets } = concatDocs(docs);
    const ids = new Uint32Array(data.length);
    const outOffsets = new BigUint64Array(docs.length + 1);
    const len = [0];
    check(kernels().nexa_tokenizer_encode_batch(this.live(), data, data.length, offsets, docs.length,
      opts.allowSpecial ? 1 : 0, ids, ids.length, outOffsets, len), "nexa_tokenizer_encode_batch");
    return { ids: ids.subarray(0, len[0]), offsets: outOffsets };
  }

  /** Bytes of `ids` (decode with TextDecoder for text). */
  decode(ids: Uint32Array): Uint8Array {
    const h = this.live();
    return growCall((n) => new Uint8Array(n), ids.length * 4 + 16,
      (buf, cap, len) => kernels().nexa_tokenizer_decode(h, ids, ids.length, buf, cap, len), "nexa_tokenizer_decode");
  }

  free(): void {
    if (this.handle !== null) kernels().nexa_tokenizer_free(this.handle);
    this.handle = null;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Gate
// ---------------------------------------------------------------------------------------------------------------------

/** Reason names in code order (NEXA_GATE_*). */
export const GATE_REASONS = [
  "keep", "too_short", "too_long", "invalid_utf8", "duplicate_lines", "ngram_repetition",
  "symbol_ratio", "digit_ratio", "exact_duplicate", "near_duplicate", "other_shard",
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
export function minhashSimilarity(a: string | Uint8Array, b: string | Uint8Array,
  opts: { bands?: number; rows?: number; shingleWords?: number; seed?: number } = {}): { estimate: number; exact: number } {
  const [x, y] = [toBytes(a), toBytes(b)];
  const est = [0];
  const exact = [0];
  check(kernels().nexa_minhash_similarity(x, x.length, y, y.length, opts.bands ?? 14, opts.rows ?? 8,
    opts.shingleWords ?? 5, opts.seed ?? 1, est, exact), "nexa_minhash_similarity");
  return { estimate: est[0], exact: exact[0] };
}

// ---------------------------------------------------------------------------------------------------------------------
// Shuffle
// ---------------------------------------------------------------------------------------------------------------------

type U64 = number | bigint;

/** permute(start + k) for k < count, of the seeded permutation of [0, n). */
export function shuffleFill(n: U64, seed: U64, start: U64, count: number, out = new BigUint64Array(count)): BigUint64Array {
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
    check(kernels().nexa_pack_plan_segments(this.live(), binStarts, binStarts.length, segments, segments.length),
      "nexa_pack_plan_segments");
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
  materialize(tokens: Uint32Array, docOffsets: BigUint64Array, padId: number, firstBin = 0, nBins?: number): PackedRows {
    const count = nBins ?? this.stats().bins - firstBin;
    const len = count * this.seqLen;
    const rows = { tokens: new Uint32Array(len), docIds: new Uint32Array(len), positions: new Uint32Array(len) };
    check(kernels().nexa_pack_materialize(this.live(), tokens, tokens.length, docOffsets, docOffsets.length, padId,
      firstBin, count, rows.tokens, rows.docIds, rows.positions, len), "nexa_pack_materialize");
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

/** total[i] += shard[i] for per-reason drop counts. */
export function mergeCounts(total: BigUint64Array, shard: BigUint64Array): void {
  if (total.length !== shard.length) {
    throw new KernelError("KERNEL_INVALID_ARGUMENT", Status.INVALID_ARGUMENT,
      `count arrays differ in length (${total.length} vs ${shard.length})`, "merge counts of the same reason set");
  }
  check(kernels().nexa_stats_merge_counts(total, shard, total.length), "nexa_stats_merge_counts");
}

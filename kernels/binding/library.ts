// The binding's library layer (private to //kernels/binding; the public face is index.ts): errors, loading and
// version check of libnexa_kernels.so, the C prototypes, status checking and buffer helpers.
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
export const ABI_VERSION = 9;

const LIB_NAME = "libnexa_kernels.so";
const RUNFILES_REL = path.join("kernels", "abi", LIB_NAME);

/** Where the library is found (see the header comment); throws KernelError if nowhere. */
export function libraryPath(): string {
  const explicit = process.env.NEXA_KERNELS_LIB;
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new KernelError(
        "KERNEL_LIBRARY_NOT_FOUND",
        0,
        `NEXA_KERNELS_LIB=${explicit} does not exist`,
        "build it with `bazel build //kernels/abi:nexa_kernels` and point NEXA_KERNELS_LIB at the .so",
      );
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
  throw new KernelError(
    "KERNEL_LIBRARY_NOT_FOUND",
    0,
    `cannot find ${LIB_NAME} (tried ${tried.length} runfiles paths)`,
    "set NEXA_KERNELS_LIB to the library path, or add //kernels/abi:nexa_kernels to the target's data",
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// Declarations (mirror nexa_kernels.h; abi_conformance.test.ts holds every one to the header, as koffi reads it)
// ---------------------------------------------------------------------------------------------------------------------

/** Opaque handle types (koffi.opaque). */
export const OPAQUE_TYPES: readonly string[] = [
  "nexa_tokenizer",
  "nexa_gate",
  "nexa_pack_plan",
  "nexa_model",
  "nexa_decoder",
];

/** Struct types (koffi.struct), fields in declaration order; a struct used as a field comes first. */
export const STRUCTS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  nexa_gate_config: {
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
  },
  nexa_pack_stats: {
    docs: "uint64_t",
    empty_docs: "uint64_t",
    total_tokens: "uint64_t",
    bins: "uint64_t",
    lower_bound_bins: "uint64_t",
    segments: "uint64_t",
    truncated_docs: "uint64_t",
    padding_tokens: "uint64_t",
    fill_ratio: "double",
  },
  nexa_length_stats: {
    docs: "uint64_t",
    tokens: "uint64_t",
    min: "uint64_t",
    max: "uint64_t",
    mean: "double",
    p50: "uint64_t",
    p90: "uint64_t",
    p99: "uint64_t",
  },
  nexa_model_config: {
    vocab_size: "uint32_t",
    seq_len: "uint32_t",
    n_layer: "uint32_t",
    n_head: "uint32_t",
    d_model: "uint32_t",
  },
  nexa_train_config: {
    lr: "double",
    min_lr: "double",
    warmup_steps: "uint64_t",
    total_steps: "uint64_t",
    beta1: "double",
    beta2: "double",
    eps: "double",
    weight_decay: "double",
    grad_clip: "double",
    distill_weight: "double",
    distill_temperature: "double",
    decay_all: "uint32_t",
  },
  nexa_model_info: {
    config: "nexa_model_config",
    num_params: "uint64_t",
    step: "uint64_t",
    rows_seen: "uint64_t",
    tokens_seen: "uint64_t",
    threads: "uint32_t",
  },
  nexa_step_metrics: {
    step: "uint64_t",
    loss: "double",
    ce: "double",
    kl: "double",
    grad_norm: "double",
    lr: "double",
    tokens: "uint64_t",
  },
  nexa_eval_result: {
    loss: "double",
    loss_sum: "double",
    count: "uint64_t",
  },
  nexa_generate_options: {
    max_new_tokens: "uint32_t",
    top_k: "uint32_t",
    temperature: "double",
    top_p: "double",
    seed: "uint64_t",
  },
};

/** Callback types (koffi.proto), passed as `<name> *`. nexa_progress_fn: numbers only (`user` arrives as null). */
export const CALLBACKS: Readonly<Record<string, string>> = {
  nexa_progress_fn:
    "void nexa_progress_fn(void *user, uint64_t step, double loss, double lr, double grad_norm, uint64_t tokens)",
};

// koffi's type names are process-global and the addon may be shared by several module instances (e.g. jest test files
// in one process), so each is registered once.
function defineType(name: string, define: () => unknown): void {
  try {
    koffi.type(name);
  } catch {
    define();
  }
}

for (const name of OPAQUE_TYPES) defineType(name, () => koffi.opaque(name));
for (const [name, fields] of Object.entries(STRUCTS)) defineType(name, () => koffi.struct(name, { ...fields }));
for (const [name, proto] of Object.entries(CALLBACKS)) defineType(name, () => koffi.proto(proto));

/** C prototypes, one per exported function; `_Out_` marks single values the call writes (pass `[0]`). */
export const PROTOTYPES = {
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
  nexa_tokenizer_set_threads: "int32_t nexa_tokenizer_set_threads(nexa_tokenizer *tok, uint32_t threads)",
  nexa_tokenizer_decode:
    "int32_t nexa_tokenizer_decode(const nexa_tokenizer *tok, const uint32_t *ids, size_t n_ids, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_tokenizer_free: "void nexa_tokenizer_free(nexa_tokenizer *tok)",
  nexa_gate_new: "int32_t nexa_gate_new(const nexa_gate_config *config, _Out_ nexa_gate **out)",
  nexa_gate_run:
    "int32_t nexa_gate_run(nexa_gate *gate, const uint8_t *data, size_t data_len, const uint64_t *doc_offsets, size_t n_docs, uint8_t *out_reasons)",
  nexa_gate_set_threads: "int32_t nexa_gate_set_threads(nexa_gate *gate, uint32_t threads)",
  nexa_gate_counts: "int32_t nexa_gate_counts(const nexa_gate *gate, uint64_t *out, size_t len)",
  nexa_gate_reason_name: "const char *nexa_gate_reason_name(uint32_t code)",
  nexa_gate_free: "void nexa_gate_free(nexa_gate *gate)",
  nexa_minhash_similarity:
    "int32_t nexa_minhash_similarity(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len, uint32_t bands, uint32_t rows, uint32_t shingle_words, uint64_t seed, _Out_ double *out_estimate, _Out_ double *out_exact)",
  nexa_shuffle_fill:
    "int32_t nexa_shuffle_fill(uint64_t n, uint64_t seed, uint64_t start, uint64_t *out, size_t count)",
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
  nexa_stats_bigram_counts:
    "int32_t nexa_stats_bigram_counts(const uint32_t *prev, const uint32_t *next, size_t n, uint64_t vocab_size, uint32_t skip, uint64_t *keys, uint64_t *counts, size_t cap, _Out_ size_t *out_len)",
  nexa_stats_merge_counts: "int32_t nexa_stats_merge_counts(uint64_t *total, const uint64_t *shard, size_t len)",
  nexa_model_new: "int32_t nexa_model_new(const nexa_model_config *config, uint64_t seed, _Out_ nexa_model **out)",
  nexa_model_load: "int32_t nexa_model_load(const uint8_t *data, size_t data_len, _Out_ nexa_model **out)",
  nexa_model_save: "int32_t nexa_model_save(const nexa_model *model, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_model_get_info: "int32_t nexa_model_get_info(const nexa_model *model, _Out_ nexa_model_info *out)",
  nexa_model_set_threads: "int32_t nexa_model_set_threads(nexa_model *model, uint32_t threads)",
  nexa_model_set_variant: "int32_t nexa_model_set_variant(nexa_model *model, const uint8_t *name, size_t name_len)",
  nexa_model_variant:
    "int32_t nexa_model_variant(const nexa_model *model, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_kernel_variants: "int32_t nexa_kernel_variants(uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_model_set_train_config:
    "int32_t nexa_model_set_train_config(nexa_model *model, const nexa_train_config *config)",
  nexa_model_set_metadata:
    "int32_t nexa_model_set_metadata(nexa_model *model, const uint8_t *key, size_t key_len, const uint8_t *value, size_t value_len)",
  nexa_model_metadata:
    "int32_t nexa_model_metadata(const nexa_model *model, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_model_next_token_targets:
    "int32_t nexa_model_next_token_targets(const uint32_t *tokens, const uint32_t *doc_ids, size_t n, size_t t, uint32_t *out_targets)",
  nexa_model_train_step:
    "int32_t nexa_model_train_step(nexa_model *model, const uint32_t *tokens, const uint32_t *targets, const uint32_t *doc_ids, size_t n_micro, size_t b, size_t t, const uint32_t *teacher_ids, const float *teacher_probs, size_t teacher_k, _Out_ nexa_step_metrics *out)",
  nexa_model_train_steps:
    "int32_t nexa_model_train_steps(nexa_model *model, const uint32_t *tokens, const uint32_t *targets, const uint32_t *doc_ids, size_t n_micro, size_t b, size_t t, const uint32_t *teacher_ids, const float *teacher_probs, size_t teacher_k, size_t n_steps, nexa_progress_fn *progress, void *user, _Out_ nexa_step_metrics *out)",
  nexa_model_eval_loss:
    "int32_t nexa_model_eval_loss(const nexa_model *model, const uint32_t *tokens, const uint32_t *targets, const uint32_t *doc_ids, size_t b, size_t t, _Out_ nexa_eval_result *out, float *out_per_token, size_t per_token_len)",
  nexa_model_forward:
    "int32_t nexa_model_forward(const nexa_model *model, const uint32_t *tokens, const uint32_t *doc_ids, size_t b, size_t t, float *out_logits, size_t out_len)",
  nexa_model_teacher_topk:
    "int32_t nexa_model_teacher_topk(const nexa_model *model, const uint32_t *tokens, const uint32_t *doc_ids, size_t b, size_t t, double temperature, size_t k, uint32_t *out_ids, float *out_probs, size_t out_len)",
  nexa_model_generate:
    "int32_t nexa_model_generate(const nexa_model *model, const uint32_t *prompt, size_t n_prompt, const nexa_generate_options *options, const uint32_t *stop_tokens, size_t n_stop, uint32_t *out_tokens, size_t cap, _Out_ size_t *out_len, _Out_ uint32_t *out_stop_reason)",
  nexa_model_free: "void nexa_model_free(nexa_model *model)",
  nexa_decoder_new:
    "int32_t nexa_decoder_new(const nexa_model *model, const nexa_generate_options *options, const uint32_t *stop_tokens, size_t n_stop, _Out_ nexa_decoder **out)",
  nexa_decoder_feed:
    "int32_t nexa_decoder_feed(nexa_decoder *decoder, const uint32_t *tokens, size_t n, const uint32_t *cancel, _Out_ size_t *out_fed)",
  nexa_decoder_next:
    "int32_t nexa_decoder_next(nexa_decoder *decoder, size_t max_tokens, const uint32_t *cancel, uint32_t *out_tokens, float *out_logprobs, size_t top_n, uint32_t *out_top_ids, float *out_top_logprobs, _Out_ size_t *out_len, _Out_ uint32_t *out_stop_reason)",
  nexa_decoder_error:
    "int32_t nexa_decoder_error(const nexa_decoder *decoder, uint8_t *out, size_t cap, _Out_ size_t *out_len)",
  nexa_decoder_free: "void nexa_decoder_free(nexa_decoder *decoder)",
} as const;

/** Names of the C functions this binding declares. */
export const DECLARED_FUNCTIONS: readonly string[] = Object.keys(PROTOTYPES);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type CFunction = ((...args: any[]) => any) & { async: (...args: any[]) => void };
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
    throw new KernelError(
      "KERNEL_ABI_MISMATCH",
      0,
      `${file} implements nexa_kernels ABI ${version}, this binding needs ${ABI_VERSION}`,
      "rebuild //kernels/abi:nexa_kernels and //kernels/binding from the same commit",
    );
  }
  loaded = lib;
  return lib;
}

/** Throws a KernelError for a non-OK status of `fn`. */
export function check(status: number, fn: string): void {
  if (status === Status.OK) return;
  throw statusError(status, fn, kernels().nexa_last_error() as string);
}

/** The KernelError of a non-OK `status` whose message is `message` (calls made off the main thread). */
export function statusError(status: number, fn: string, message: string): KernelError {
  return new KernelError(
    STATUS_NAMES[status] ?? "KERNEL_UNKNOWN_STATUS",
    status,
    message || `${fn} failed with status ${status}`,
    STATUS_HINTS[status] ?? "upgrade the binding to match the library",
  );
}

/**
 * Calls the library function `fn` on a worker thread of libuv's pool (koffi's async calls) and resolves with its
 * status. The arguments (typed arrays, out arrays) must stay untouched until it settles.
 */
export function callAsync(fn: keyof ReturnType<typeof kernels>, ...args: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    kernels()[fn].async(...args, (err: unknown, status: number) => (err ? reject(err) : resolve(status)));
  });
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
// Callbacks
// ---------------------------------------------------------------------------------------------------------------------

/** A nexa_progress_fn in JS: uint64 arguments arrive as numbers (bigint past 2^53). */
export type ProgressCallback = (
  user: unknown,
  step: number | bigint,
  loss: number,
  lr: number,
  gradNorm: number,
  tokens: number | bigint,
) => void;

/**
 * Runs `call` with `fn` registered as a nexa_progress_fn (koffi.register), and unregisters it when `call` returns or
 * throws. `fn` should catch its own errors: koffi leaves an exception from a callback pending (later calls of the
 * callback are skipped) and throws it when the native call returns, which is an implementation detail to not rely on.
 */
export function withProgressCallback<T>(fn: ProgressCallback, call: (callback: unknown) => T): T {
  const registered = koffi.register(fn, "nexa_progress_fn *");
  try {
    return call(registered);
  } finally {
    koffi.unregister(registered);
  }
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
export function growCall<T extends Uint8Array | Uint32Array>(
  make: (n: number) => T,
  guess: number,
  fill: (buf: T, cap: number, outLen: number[]) => number,
  fn: string,
): T {
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

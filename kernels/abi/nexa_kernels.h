/*
 * nexa_kernels.h — the one C ABI of NexaCompute's CPU data kernels
 * (tokenize, gate, shuffle, pack, stats) and the CPU GPT (model), implemented in Rust
 * (libnexa_kernels.so).
 *
 * Conventions
 *  - Every fallible function returns nexa_status; NEXA_OK (0) is success. On any
 *    other status, nexa_last_error() returns a message for the calling thread.
 *  - No panic crosses this boundary: a Rust panic becomes NEXA_ERR_INTERNAL.
 *  - Buffers are caller-owned. A function that writes a variable amount takes
 *    (out, cap, *out_len): if cap is too small it returns NEXA_ERR_BUFFER_TOO_SMALL
 *    and stores the required length in *out_len (call again with a larger buffer).
 *  - Opaque handles are created by *_new/*_train/*_load and released by the
 *    matching *_free (NULL is ignored). A handle must not be used by two threads
 *    at once.
 *  - A (pointer, length) pair with length 0 may pass NULL.
 *  - Callbacks (nexa_progress_fn) carry numbers only, run on the calling thread
 *    inside the call that takes them, and must return normally.
 *  - Bump NEXA_ABI_VERSION on any change to a signature, struct or constant;
 *    bindings refuse a library whose nexa_abi_version() differs.
 */
#ifndef NEXA_KERNELS_H
#define NEXA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NEXA_ABI_VERSION 9u

/* ---------------------------------------------------------------- status */

typedef int32_t nexa_status;
#define NEXA_OK 0
#define NEXA_ERR_INVALID_ARGUMENT 1 /* a value is out of range or inconsistent */
#define NEXA_ERR_NULL_POINTER 2     /* a required pointer is NULL */
#define NEXA_ERR_BUFFER_TOO_SMALL 3 /* see *out_len for the required size */
#define NEXA_ERR_FORMAT 4           /* malformed or unsupported file content */
#define NEXA_ERR_INTERNAL 5         /* a bug: a Rust panic was caught */

/* ABI version of the loaded library; must equal NEXA_ABI_VERSION. */
uint32_t nexa_abi_version(void);

/* Message of the last error on this thread ("" if none). The pointer is valid
 * until the next nexa_* call on the same thread. */
const char *nexa_last_error(void);

/* Diagnostics: panics inside Rust; returns NEXA_ERR_INTERNAL (boundary test). */
nexa_status nexa_selftest_panic(void);

/* -------------------------------------------------------------- tokenize */

typedef struct nexa_tokenizer nexa_tokenizer;

#define NEXA_FORMAT_NATIVE 0u   /* binary, magic "NXTOKBPE", versioned, digest */
#define NEXA_FORMAT_HF_JSON 1u  /* Hugging Face tokenizer.json (byte-level BPE) */
#define NEXA_FORMAT_TIKTOKEN 2u /* "<base64> <rank>" lines (load only) */

/* Trains byte-level BPE on documents data[doc_offsets[i]..doc_offsets[i+1]]
 * (n_docs + 1 offsets). specials: '\n'-separated special tokens (e.g.
 * "<|endoftext|>"), appended after the merges; vocab_size includes them. */
nexa_status nexa_tokenizer_train(const uint8_t *data, size_t data_len, const uint64_t *doc_offsets,
                                 size_t n_docs, uint32_t vocab_size, uint64_t min_frequency,
                                 const uint8_t *specials, size_t specials_len, nexa_tokenizer **out);

/* Loads a tokenizer. For NEXA_FORMAT_TIKTOKEN, specials ('\n'-separated) get
 * special_ids[i]; other formats carry their own specials (pass n_special_ids 0). */
nexa_status nexa_tokenizer_load(const uint8_t *data, size_t data_len, uint32_t format,
                                const uint8_t *specials, size_t specials_len,
                                const uint32_t *special_ids, size_t n_special_ids, nexa_tokenizer **out);

/* Serializes (NEXA_FORMAT_NATIVE or NEXA_FORMAT_HF_JSON) into out[0..cap). */
nexa_status nexa_tokenizer_save(const nexa_tokenizer *tok, uint32_t format, uint8_t *out, size_t cap,
                                size_t *out_len);

/* Number of ids, specials included. */
nexa_status nexa_tokenizer_vocab_size(const nexa_tokenizer *tok, uint32_t *out);

/* Encodes text (any bytes). Never more ids than bytes, so cap = text_len suffices.
 * allow_special != 0 turns exact special-token text into special ids. */
nexa_status nexa_tokenizer_encode(nexa_tokenizer *tok, const uint8_t *text, size_t text_len,
                                  uint32_t allow_special, uint32_t *out_ids, size_t cap, size_t *out_len);

/* Encodes n_docs documents (n_docs + 1 offsets into data); ids are concatenated
 * in out_ids and out_doc_offsets (n_docs + 1 entries) delimits them. Runs on the
 * tokenizer's threads (nexa_tokenizer_set_threads), each on a contiguous run of
 * documents: the ids are the same for every thread count. */
nexa_status nexa_tokenizer_encode_batch(nexa_tokenizer *tok, const uint8_t *data, size_t data_len,
                                        const uint64_t *doc_offsets, size_t n_docs, uint32_t allow_special,
                                        uint32_t *out_ids, size_t cap, uint64_t *out_doc_offsets,
                                        size_t *out_len);

/* Threads nexa_tokenizer_encode_batch runs on (0 is taken as 1; default 1; at most
 * 256, else NEXA_ERR_INVALID_ARGUMENT). Each thread keeps its own piece cache. */
nexa_status nexa_tokenizer_set_threads(nexa_tokenizer *tok, uint32_t threads);

/* Decodes ids to bytes; an unknown id is NEXA_ERR_INVALID_ARGUMENT. */
nexa_status nexa_tokenizer_decode(const nexa_tokenizer *tok, const uint32_t *ids, size_t n_ids, uint8_t *out,
                                  size_t cap, size_t *out_len);

void nexa_tokenizer_free(nexa_tokenizer *tok);

/* ------------------------------------------------------------------ gate */

typedef struct nexa_gate nexa_gate;

/* Reason codes written per document by nexa_gate_run. */
#define NEXA_GATE_KEEP 0u
#define NEXA_GATE_TOO_SHORT 1u
#define NEXA_GATE_TOO_LONG 2u
#define NEXA_GATE_INVALID_UTF8 3u
#define NEXA_GATE_DUPLICATE_LINES 4u
#define NEXA_GATE_NGRAM_REPETITION 5u
#define NEXA_GATE_SYMBOL_RATIO 6u
#define NEXA_GATE_DIGIT_RATIO 7u
#define NEXA_GATE_EXACT_DUPLICATE 8u
#define NEXA_GATE_NEAR_DUPLICATE 9u
#define NEXA_GATE_OTHER_SHARD 10u /* skipped: belongs to another shard */
#define NEXA_GATE_REASON_COUNT 11u

typedef struct nexa_gate_config {
    uint64_t min_bytes;                  /* drop documents shorter than this */
    uint64_t max_bytes;                  /* drop documents longer than this (0 = no limit) */
    double max_duplicate_line_fraction;  /* >= 1 disables */
    double max_ngram_repeat_fraction;    /* >= 1 disables */
    double max_symbol_fraction;          /* >= 1 disables */
    double max_digit_fraction;           /* >= 1 disables */
    uint32_t ngram_words;                /* n of the n-gram repetition check */
    uint32_t exact_dedup;                /* != 0 enables */
    uint32_t near_dedup;                 /* != 0 enables */
    uint32_t minhash_bands;
    uint32_t minhash_rows;
    uint32_t minhash_shingle_words;
    uint64_t minhash_seed;
    uint64_t shard;                      /* process documents with index % num_shards == shard */
    uint64_t num_shards;
} nexa_gate_config;

nexa_status nexa_gate_new(const nexa_gate_config *config, nexa_gate **out);

/* Decides n_docs documents (n_docs + 1 offsets into data), continuing the
 * stream (dedup memory and document index carry across calls). */
nexa_status nexa_gate_run(nexa_gate *gate, const uint8_t *data, size_t data_len, const uint64_t *doc_offsets,
                          size_t n_docs, uint8_t *out_reasons);

/* Threads nexa_gate_run prepares documents on (0 is taken as 1; default 1). The decisions
 * are the same for every count: filters, digests and MinHash signatures run in parallel,
 * the dedup state is updated in stream order on the calling thread. */
nexa_status nexa_gate_set_threads(nexa_gate *gate, uint32_t threads);

/* Documents per reason so far; out has NEXA_GATE_REASON_COUNT entries. */
nexa_status nexa_gate_counts(const nexa_gate *gate, uint64_t *out, size_t len);

/* snake_case name of a reason code, or NULL for an unknown code. Static storage. */
const char *nexa_gate_reason_name(uint32_t code);

void nexa_gate_free(nexa_gate *gate);

/* MinHash similarity estimate of two documents and the exact Jaccard of their
 * shingle-hash sets (for calibration and tests). */
nexa_status nexa_minhash_similarity(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len,
                                    uint32_t bands, uint32_t rows, uint32_t shingle_words, uint64_t seed,
                                    double *out_estimate, double *out_exact);

/* --------------------------------------------------------------- shuffle */

/* out[k] = permute(start + k) for the seeded permutation of [0, n);
 * start + count <= n. O(1) memory (Feistel + cycle walking). */
nexa_status nexa_shuffle_fill(uint64_t n, uint64_t seed, uint64_t start, uint64_t *out, size_t count);

/* out[k] = inverse(values[k]); every value < n. */
nexa_status nexa_shuffle_inverse(uint64_t n, uint64_t seed, const uint64_t *values, uint64_t *out, size_t count);

/* Windowed shuffle for streaming: permutes block order and positions within
 * each block of `block` items (block >= 1). Same contract as nexa_shuffle_fill. */
nexa_status nexa_shuffle_block_fill(uint64_t n, uint64_t block, uint64_t seed, uint64_t start, uint64_t *out,
                                    size_t count);
nexa_status nexa_shuffle_block_inverse(uint64_t n, uint64_t block, uint64_t seed, const uint64_t *values,
                                       uint64_t *out, size_t count);

/* Output positions [*start, *end) owned by shard of num_shards. */
nexa_status nexa_shuffle_shard_range(uint64_t n, uint64_t shard, uint64_t num_shards, uint64_t *start,
                                     uint64_t *end);

/* Reference O(n)-memory Fisher-Yates shuffle of 0..n into out (n <= 2^32 - 1). */
nexa_status nexa_shuffle_fisher_yates(uint64_t seed, uint32_t *out, size_t n);

/* ------------------------------------------------------------------ pack */

typedef struct nexa_pack_plan nexa_pack_plan;

#define NEXA_PACK_PAD_DOC_ID 0xFFFFFFFFu /* doc id written at padding positions */

typedef struct nexa_pack_stats {
    uint64_t docs;
    uint64_t empty_docs;
    uint64_t total_tokens;
    uint64_t bins;
    uint64_t lower_bound_bins; /* ceil(total_tokens / seq_len) */
    uint64_t segments;
    uint64_t truncated_docs;   /* documents longer than seq_len, split into chunks */
    uint64_t padding_tokens;
    double fill_ratio;         /* total_tokens / (bins * seq_len) */
} nexa_pack_stats;

/* Best-fit-decreasing plan for documents of the given token lengths. */
nexa_status nexa_pack_plan_new(const uint32_t *doc_lens, size_t n_docs, uint32_t seq_len, nexa_pack_plan **out);

nexa_status nexa_pack_plan_stats(const nexa_pack_plan *plan, nexa_pack_stats *out);

/* Segments per bin: bin_starts has bins + 1 entries; segments has 3 entries per
 * segment (doc, offset in doc, length), bins in order. */
nexa_status nexa_pack_plan_segments(const nexa_pack_plan *plan, uint64_t *bin_starts, size_t bin_starts_len,
                                    uint32_t *segments, size_t segments_len);

/* Bins [*first_bin, *first_bin + *n_bins) owned by shard of num_shards. */
nexa_status nexa_pack_shard_bins(const nexa_pack_plan *plan, uint64_t shard, uint64_t num_shards,
                                 uint64_t *first_bin, uint64_t *n_bins);

/* Writes rows for bins [first_bin, first_bin + n_bins): tokens, doc ids and
 * position ids (restarting per segment), each n_bins * seq_len entries. */
nexa_status nexa_pack_materialize(const nexa_pack_plan *plan, const uint32_t *tokens, size_t n_tokens,
                                  const uint64_t *doc_offsets, size_t n_offsets, uint32_t pad_id,
                                  uint64_t first_bin, uint64_t n_bins, uint32_t *out_tokens,
                                  uint32_t *out_doc_ids, uint32_t *out_positions, size_t out_len);

void nexa_pack_plan_free(nexa_pack_plan *plan);

/* ----------------------------------------------------------------- stats */

#define NEXA_HISTOGRAM_BUCKETS 65u /* bucket 0: length 0; bucket k: [2^(k-1), 2^k) */

typedef struct nexa_length_stats {
    uint64_t docs;
    uint64_t tokens;
    uint64_t min;
    uint64_t max;
    double mean;
    uint64_t p50;
    uint64_t p90;
    uint64_t p99;
} nexa_length_stats;

/* Length summary of documents given by n_offsets (= n_docs + 1) offsets; adds
 * into histogram (NEXA_HISTOGRAM_BUCKETS entries) unless it is NULL. */
nexa_status nexa_stats_lengths(const uint64_t *doc_offsets, size_t n_offsets, nexa_length_stats *out,
                               uint64_t *histogram);

/* Adds id occurrences into counts[vocab_size]; *out_used = ids with count > 0. */
nexa_status nexa_stats_vocab_usage(const uint32_t *ids, size_t n_ids, uint64_t *counts, size_t vocab_size,
                                   uint64_t *out_used);

/* Distinct pairs (prev[i], next[i]) over the n positions with next[i] != skip, as
 * keys prev * vocab_size + next in increasing order with their counts:
 * keys[0..*out_len), counts[0..*out_len). cap (the length of keys and of counts)
 * must be >= n. */
nexa_status nexa_stats_bigram_counts(const uint32_t *prev, const uint32_t *next, size_t n, uint64_t vocab_size,
                                     uint32_t skip, uint64_t *keys, uint64_t *counts, size_t cap,
                                     size_t *out_len);

/* total[i] += shard[i] (per-reason drop counts across shards). */
nexa_status nexa_stats_merge_counts(uint64_t *total, const uint64_t *shard, size_t len);

/* ----------------------------------------------------------------- model */

/* The CPU GPT of //kernels/model: bitwise deterministic for any thread count and
 * any kernel variant (portable, avx2_fma, avx512f: same bits on every x86-64 CPU
 * and C library; checkpoints hold no host facts).
 * Batches are flat [B*T] arrays of rows; doc_ids mark the packed documents of
 * each row (contiguous runs; attention and positions restart per document);
 * targets[i] = NEXA_MODEL_IGNORE means no loss at position i. */

typedef struct nexa_model nexa_model;

#define NEXA_MODEL_IGNORE 0xFFFFFFFFu /* target with no loss */

#define NEXA_STOP_MAX_NEW_TOKENS 0u
#define NEXA_STOP_STOP_TOKEN 1u
#define NEXA_STOP_CONTEXT_FULL 2u /* the sequence reached seq_len */
#define NEXA_STOP_CANCELLED 3u    /* the decoder's cancel flag was set */
#define NEXA_STOP_NONE 0xFFFFFFFFu /* nexa_decoder_next: the generation can go on */

typedef struct nexa_model_config {
    uint32_t vocab_size;
    uint32_t seq_len; /* maximum T */
    uint32_t n_layer;
    uint32_t n_head;  /* divides d_model */
    uint32_t d_model;
} nexa_model_config;

/* AdamW + schedule: linear warm-up 0 -> lr over warmup_steps, then cosine decay
 * to min_lr at total_steps (constant after). grad_clip 0 disables clipping.
 * Loss = (1 - distill_weight) CE + distill_weight * T^2 * KL(teacher || student/T), T =
 * distill_temperature, where teacher = the given top-k probs raised to 1/T and renormalised
 * over their k entries (nexa_model_teacher_topk at temperature 1 writes those probs). */
typedef struct nexa_train_config {
    double lr;
    double min_lr;
    uint64_t warmup_steps;
    uint64_t total_steps;
    double beta1;
    double beta2;
    double eps;
    double weight_decay;
    double grad_clip;
    double distill_weight;      /* in [0, 1] */
    double distill_temperature; /* > 0 */
    uint32_t decay_all;         /* != 0: decay LayerNorm weights, biases, embeddings too */
} nexa_train_config;

typedef struct nexa_model_info {
    nexa_model_config config;
    uint64_t num_params;
    uint64_t step;        /* optimizer steps taken */
    uint64_t rows_seen;
    uint64_t tokens_seen; /* B*T per micro-batch, padding included */
    uint32_t threads;
} nexa_model_info;

/* Numbers of one optimizer step (f32 values widened exactly to double). */
typedef struct nexa_step_metrics {
    uint64_t step;    /* steps completed after this one */
    double loss;      /* mean over micro-batches, distillation mix included */
    double ce;
    double kl;
    double grad_norm; /* before clipping */
    double lr;
    uint64_t tokens;  /* positions with a target */
} nexa_step_metrics;

typedef struct nexa_eval_result {
    double loss;     /* mean cross-entropy (nats/token) over positions with a target */
    double loss_sum;
    uint64_t count;
} nexa_eval_result;

typedef struct nexa_generate_options {
    uint32_t max_new_tokens;
    uint32_t top_k;     /* 0 = no limit */
    double temperature; /* 0 = greedy */
    double top_p;       /* in (0, 1]; 1 = no limit */
    uint64_t seed;
} nexa_generate_options;

/* A freshly initialised model (1 thread, default train config). */
nexa_status nexa_model_new(const nexa_model_config *config, uint64_t seed, nexa_model **out);

/* Loads safetensors checkpoint bytes (parameters, optional AdamW moments, metadata). */
nexa_status nexa_model_load(const uint8_t *data, size_t data_len, nexa_model **out);

/* Serializes the checkpoint (deterministic bytes) into out[0..cap). */
nexa_status nexa_model_save(const nexa_model *model, uint8_t *out, size_t cap, size_t *out_len);

nexa_status nexa_model_get_info(const nexa_model *model, nexa_model_info *out);

/* Worker threads (1..=1024); results are bitwise identical for any value. */
nexa_status nexa_model_set_threads(nexa_model *model, uint32_t threads);

/* Kernel variant by name: "auto" (widest this CPU has), "portable", "avx2_fma",
 * "avx512f"; NEXA_ERR_INVALID_ARGUMENT for an unknown or unsupported one. Speed
 * only: results are bitwise identical for every variant. New models start with
 * $NEXA_KERNEL_VARIANT when set (same names), else "auto". */
nexa_status nexa_model_set_variant(nexa_model *model, const uint8_t *name, size_t name_len);

/* The model's kernel variant name (not NUL-terminated) into out[0..cap). */
nexa_status nexa_model_variant(const nexa_model *model, uint8_t *out, size_t cap, size_t *out_len);

/* The variants this CPU supports, comma-separated, narrowest first. */
nexa_status nexa_kernel_variants(uint8_t *out, size_t cap, size_t *out_len);

nexa_status nexa_model_set_train_config(nexa_model *model, const nexa_train_config *config);

/* Sets a checkpoint metadata string (UTF-8). Key "nexa.tokenizer_digest" sets the
 * tokenizer digest; other keys must not start with "nexa." or "__". */
nexa_status nexa_model_set_metadata(nexa_model *model, const uint8_t *key, size_t key_len, const uint8_t *value,
                                    size_t value_len);

/* The checkpoint's __metadata__ as "key\0value\0" pairs sorted by key. */
nexa_status nexa_model_metadata(const nexa_model *model, uint8_t *out, size_t cap, size_t *out_len);

/* Next-token targets for packed rows of t tokens (n a multiple of t): tokens[i+1]
 * inside the same row and document, else NEXA_MODEL_IGNORE (a document's last
 * token, padding: doc id NEXA_PACK_PAD_DOC_ID). */
nexa_status nexa_model_next_token_targets(const uint32_t *tokens, const uint32_t *doc_ids, size_t n, size_t t,
                                          uint32_t *out_targets);

/* One optimizer step over n_micro micro-batches of [b*t] (arrays hold n_micro*b*t
 * values back to back; gradient accumulation). teacher_k > 0 adds teacher top-k
 * ids/probs [n_micro*b*t*k] for distillation (untempered probabilities, finite and >= 0,
 * any scale: see nexa_train_config and nexa_model_teacher_topk); teacher_k 0 passes none. */
nexa_status nexa_model_train_step(nexa_model *model, const uint32_t *tokens, const uint32_t *targets,
                                  const uint32_t *doc_ids, size_t n_micro, size_t b, size_t t,
                                  const uint32_t *teacher_ids, const float *teacher_probs, size_t teacher_k,
                                  nexa_step_metrics *out);

/* Progress of nexa_model_train_steps, numbers only: the fields of that step's nexa_step_metrics
 * (step = steps completed after it, tokens = positions with a target) and the caller's user pointer.
 * Called on the calling thread between steps (no step is running). It must return normally (no
 * longjmp, no C++ exception: the library would abort) and must not pass the model being trained to
 * any nexa_* function; it has no way to stop the run. */
typedef void (*nexa_progress_fn)(void *user, uint64_t step, double loss, double lr, double grad_norm,
                                 uint64_t tokens);

/* n_steps consecutive optimizer steps: exactly what n_steps calls of nexa_model_train_step would run
 * (bitwise identical parameters, optimizer state and metrics). Step s reads n_micro*b*t values at
 * s*n_micro*b*t of tokens/targets/doc_ids (each n_steps*n_micro*b*t values, back to back) and, when
 * teacher_k > 0, n_micro*b*t*teacher_k values at s*n_micro*b*t*teacher_k of teacher_ids/probs.
 * Every micro-batch of every step is validated first: on NEXA_ERR_INVALID_ARGUMENT or
 * NEXA_ERR_NULL_POINTER no step has run. After each step, progress (unless NULL) is called with
 * that step's numbers. *out = the metrics of the last step. (NEXA_ERR_INTERNAL, a caught panic,
 * may come after some steps: nexa_model_get_info's step says how many.) */
nexa_status nexa_model_train_steps(nexa_model *model, const uint32_t *tokens, const uint32_t *targets,
                                   const uint32_t *doc_ids, size_t n_micro, size_t b, size_t t,
                                   const uint32_t *teacher_ids, const float *teacher_probs, size_t teacher_k,
                                   size_t n_steps, nexa_progress_fn progress, void *user,
                                   nexa_step_metrics *out);

/* Cross-entropy of a [b*t] batch (no state change). out_per_token: NULL with
 * per_token_len 0, or b*t values (0 where the target is ignored). */
nexa_status nexa_model_eval_loss(const nexa_model *model, const uint32_t *tokens, const uint32_t *targets,
                                 const uint32_t *doc_ids, size_t b, size_t t, nexa_eval_result *out,
                                 float *out_per_token, size_t per_token_len);

/* Logits [b, t, vocab_size]; out_len must equal b*t*vocab_size. */
nexa_status nexa_model_forward(const nexa_model *model, const uint32_t *tokens, const uint32_t *doc_ids, size_t b,
                               size_t t, float *out_logits, size_t out_len);

/* The model as a distillation teacher. For every position i of a [b*t] batch (doc_ids
 * masking as in nexa_model_forward; no targets) writes the k (1..=vocab_size) most probable
 * next tokens under p_i = softmax(logits_i / temperature): out_ids[i*k + j] and
 * out_probs[i*k + j], j = 0..k-1, by descending probability, equal probabilities by ascending
 * id. out_len must equal b*t*k (each array holds out_len values).
 *  - The probs are full-vocabulary softmax probabilities, NOT renormalised over the k entries
 *    (each in [0, 1]; their sum is the teacher's mass on its top k).
 *  - The arrays are exactly nexa_model_train_step's teacher_ids / teacher_probs (teacher_k = k,
 *    micro-batches back to back). The train step sharpens them itself: p~ = p^(1/tau)
 *    renormalised over the k entries, tau = distill_temperature, the student softened by the
 *    same tau. So for distillation at tau pass temperature = 1 here; a temperature T != 1
 *    compounds (the teacher enters the KL at T*tau, the student at tau).
 *  - temperature: finite and > 0; computed in f32 (its f32 value and 1/temperature must be
 *    finite and nonzero). Bitwise identical for any thread count and kernel variant.
 *  - NEXA_ERR_INVALID_ARGUMENT also when a logit is not finite (a diverged teacher). */
nexa_status nexa_model_teacher_topk(const nexa_model *model, const uint32_t *tokens, const uint32_t *doc_ids,
                                    size_t b, size_t t, double temperature, size_t k, uint32_t *out_ids,
                                    float *out_probs, size_t out_len);

/* Continues prompt (1..=seq_len tokens) by up to max_new_tokens sampled tokens
 * (KV cache, seeded). A stop token ends generation and is not returned.
 * *out_stop_reason is a NEXA_STOP_* code. cap >= max_new_tokens suffices. */
nexa_status nexa_model_generate(const nexa_model *model, const uint32_t *prompt, size_t n_prompt,
                                const nexa_generate_options *options, const uint32_t *stop_tokens, size_t n_stop,
                                uint32_t *out_tokens, size_t cap, size_t *out_len, uint32_t *out_stop_reason);

void nexa_model_free(nexa_model *model);

/* ---- Decoders: a generation in progress, token by token ----------------------------------------------------------
 * A decoder holds one sequence's KV cache and sampler state over a model it reads but does not own: the model must
 * not be changed or freed while a decoder of it lives. Any number of decoders may run on one model at the same time,
 * each from its own thread (one decoder is used by one thread at a time). The tokens a decoder samples are exactly
 * nexa_model_generate's for the same prompt, options and stop tokens. cancel: NULL, or a 4-byte-aligned uint32_t the
 * caller may set to nonzero from any thread; it is read before every token's forward pass. A failed call keeps its
 * message on the decoder (nexa_decoder_error), since nexa_last_error is per thread. */
typedef struct nexa_decoder nexa_decoder;

nexa_status nexa_decoder_new(const nexa_model *model, const nexa_generate_options *options,
                             const uint32_t *stop_tokens, size_t n_stop, nexa_decoder **out);

/* Feeds prompt tokens into the KV cache at the next positions (before the first nexa_decoder_next; the context must
 * hold them). *out_fed < n only when *cancel was set. */
nexa_status nexa_decoder_feed(nexa_decoder *decoder, const uint32_t *tokens, size_t n, const uint32_t *cancel,
                              size_t *out_fed);

/* Samples up to max_tokens (>= 1) tokens, each fed back before the next is drawn: out_tokens[i] and out_logprobs[i]
 * (the natural log of its probability under softmax(logits), temperature 1, before top-k / top-p), and when top_n > 0
 * the top_n most probable tokens at that step, by descending probability, equal ones by ascending id, in
 * out_top_ids / out_top_logprobs[i*top_n + j] (arrays of max_tokens*top_n; NULL when top_n is 0). *out_len tokens were
 * written; *out_stop_reason is NEXA_STOP_NONE while the generation can go on, else why it ended (a stop token,
 * which is not returned; options.max_new_tokens; the context; the cancel flag); a finished decoder writes no token
 * and returns the same reason again. */
nexa_status nexa_decoder_next(nexa_decoder *decoder, size_t max_tokens, const uint32_t *cancel, uint32_t *out_tokens,
                              float *out_logprobs, size_t top_n, uint32_t *out_top_ids, float *out_top_logprobs,
                              size_t *out_len, uint32_t *out_stop_reason);

/* The message of the decoder's last failed call (UTF-8, not NUL-terminated) into out[0..cap). */
nexa_status nexa_decoder_error(const nexa_decoder *decoder, uint8_t *out, size_t cap, size_t *out_len);

void nexa_decoder_free(nexa_decoder *decoder);

#ifdef __cplusplus
}
#endif

#endif /* NEXA_KERNELS_H */

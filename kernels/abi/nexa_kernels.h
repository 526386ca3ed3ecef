/*
 * nexa_kernels.h — the one C ABI of NexaCompute's CPU data kernels
 * (tokenize, gate, shuffle, pack, stats), implemented in Rust (libnexa_kernels.so).
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

#define NEXA_ABI_VERSION 1u

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
 * in out_ids and out_doc_offsets (n_docs + 1 entries) delimits them. */
nexa_status nexa_tokenizer_encode_batch(nexa_tokenizer *tok, const uint8_t *data, size_t data_len,
                                        const uint64_t *doc_offsets, size_t n_docs, uint32_t allow_special,
                                        uint32_t *out_ids, size_t cap, uint64_t *out_doc_offsets,
                                        size_t *out_len);

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

/* total[i] += shard[i] (per-reason drop counts across shards). */
nexa_status nexa_stats_merge_counts(uint64_t *total, const uint64_t *shard, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* NEXA_KERNELS_H */

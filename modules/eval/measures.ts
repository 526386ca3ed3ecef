// Information measures over token counts: UTF-8 bytes per token id, bits per byte, and the add-one unigram
// baseline. Everything reduces to per-id counts (from the kernels' vocab usage), so the loops here run over the
// vocabulary, never over the tokens.
//
//   bits per byte   = total nats / ln 2 / total UTF-8 bytes of the predicted tokens
//   unigram p(id)   = (train_count[id] + 1) / (N_train + V)            (add-one smoothing over the vocab)
//   unigram nats    = Σ_id eval_count[id] · −ln p(id)

import { IGNORE_TARGET, mergeCounts, vocabUsage } from "@nexa/kernels/binding";
import type { Tokenizer } from "@nexa/kernels/binding";
import { NexaError } from "@nexa/modules/monitoring";

/**
 * UTF-8 byte length of each id in [0, vocabSize). Special tokens (e.g. "<|endoftext|>") count 0 bytes: they mark
 * document structure and are not text, so predicting them costs nats but adds no bytes (as in the usual
 * bits-per-byte of a text corpus).
 */
export function tokenByteLengths(tokenizer: Tokenizer, vocabSize: number, specialIds: readonly number[]): Uint32Array {
  const lengths = new Uint32Array(vocabSize);
  const one = new Uint32Array(1);
  for (let id = 0; id < vocabSize; id++) {
    one[0] = id;
    lengths[id] = tokenizer.decode(one).length;
  }
  for (const id of specialIds) if (id < vocabSize) lengths[id] = 0;
  return lengths;
}

/** Occurrences per id of `ids` (all < vocabSize), added into `into` when given. */
export function countIds(ids: Uint32Array, vocabSize: number, into?: BigUint64Array): BigUint64Array {
  const { counts } = vocabUsage(ids, vocabSize);
  if (into === undefined) return counts;
  mergeCounts(into, counts);
  return into;
}

/** Occurrences per id of the predicted tokens: the targets other than IGNORE_TARGET. */
export function countTargets(targets: Uint32Array, vocabSize: number, into?: BigUint64Array): BigUint64Array {
  return countIds(targets.filter((t) => t !== IGNORE_TARGET), vocabSize, into);
}

/** Σ_id counts[id] · lengths[id]. */
export function totalBytes(counts: BigUint64Array, lengths: Uint32Array): number {
  let bytes = 0;
  for (let id = 0; id < counts.length; id++) bytes += Number(counts[id]) * lengths[id];
  return bytes;
}

/** Σ_id counts[id]. */
export function totalCount(counts: BigUint64Array): number {
  let n = 0;
  for (let id = 0; id < counts.length; id++) n += Number(counts[id]);
  return n;
}

/** Total nats of the `evalCounts` tokens under the add-one unigram fitted on `trainCounts` (same vocabulary). */
export function unigramNats(trainCounts: BigUint64Array, evalCounts: BigUint64Array): number {
  if (trainCounts.length !== evalCounts.length || trainCounts.length === 0) {
    throw new NexaError("EVAL_INTERNAL", `unigram over vocabularies of ${trainCounts.length} and ${evalCounts.length} ids`, {
      hint: "this is a bug in modules/eval",
    });
  }
  const logDenominator = Math.log(totalCount(trainCounts) + trainCounts.length);
  let nats = 0;
  for (let id = 0; id < evalCounts.length; id++) {
    const c = Number(evalCounts[id]);
    if (c > 0) nats += c * (logDenominator - Math.log(Number(trainCounts[id]) + 1));
  }
  return nats;
}

/** Bits per byte of `nats` spent on `bytes` bytes. */
export function bitsPerByte(nats: number, bytes: number): number {
  return nats / Math.LN2 / bytes;
}

// Information measures over token counts: UTF-8 bytes per token id, bits per byte, the add-one unigram baseline
// and the smoothed bigram baseline. Everything reduces to per-id counts (the kernels' vocab usage) and per-pair
// counts (the kernels' bigram counts), so the loops here run over the vocabulary and the distinct pairs, never
// over the tokens.
//
//   bits per byte   = total nats / ln 2 / total UTF-8 bytes of the predicted tokens
//   unigram p(id)   = (train_count[id] + 1) / (N_train + V)            (add-one smoothing over the vocab)
//   unigram nats    = Σ_id eval_count[id] · −ln p(id)
//   bigram p(w | v) = max(c(v,w) − D, 0) / c(v) + D · n(v) / c(v) · unigram p(w)     when c(v) > 0
//                   = unigram p(w)                                                    when c(v) = 0
//     interpolated absolute discounting (Ney, Essen & Kneser 1994) with D = 0.75: c(v,w) counts the train split's
//     pairs (token, next token in the same document and row), c(v) = Σ_w c(v,w), n(v) = how many distinct w
//     follow v. It sums to 1 over w for every v.
//   bigram nats     = Σ_(v,w) eval_pairs(v,w) · −ln p(w | v)

import { bigramCounts, IGNORE_TARGET, mergeCounts, vocabUsage } from "@nexa/kernels/binding";
import type { Tokenizer } from "@nexa/kernels/binding";
import type { CurvePoint } from "@nexa/modules/checkpoint";
import { NexaError } from "@nexa/modules/monitoring";

// ln 2 split so that e·LN2_HI is exact for every binary exponent e (42-bit significand); LN2_HI + LN2_LO = ln 2.
const LN2_HI = 0.6931471805598903;
const LN2_LO = 5.497923018708371e-14;
const bitsView = new DataView(new ArrayBuffer(8));

/**
 * Natural logarithm computed by a fixed sequence of IEEE-754 double operations (relative error ≤ 3e-16), so a metric
 * is the same bits on every CPU and JavaScript engine build; `Math.log` is left to the engine's implementation.
 * x = 2^e·m with m in [√½, √2); ln m = 2·atanh(s), s = (m − 1)/(m + 1), an odd series in s to s²³ (the same
 * algorithm as the kernels' ln_f64).
 */
export function ln(x: number): number {
  if (Number.isNaN(x) || x < 0) return NaN;
  if (x === 0) return -Infinity;
  if (x === Infinity) return x;
  let e = 0;
  bitsView.setFloat64(0, x);
  if (bitsView.getUint32(0) >>> 20 === 0) {
    bitsView.setFloat64(0, x * 18014398509481984); // subnormal: scale by 2^54 first
    e = -54;
  }
  const hi = bitsView.getUint32(0);
  e += (hi >>> 20) - 1023;
  bitsView.setUint32(0, (hi & 0x000fffff) | 0x3ff00000); // significand in [1, 2)
  let m = bitsView.getFloat64(0);
  if (m > Math.SQRT2) {
    m *= 0.5;
    e += 1;
  }
  const f = m - 1; // exact
  const s = f / (2 + f);
  const z = s * s;
  let q = 1 / 23;
  for (let k = 21; k > 1; k -= 2) q = q * z + 1 / k;
  const lnM = 2 * s + 2 * s * (z * q);
  return e * LN2_HI + (lnM + e * LN2_LO);
}

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
  return countIds(
    targets.filter((t) => t !== IGNORE_TARGET),
    vocabSize,
    into,
  );
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
    throw new NexaError(
      "EVAL_INTERNAL",
      `unigram over vocabularies of ${trainCounts.length} and ${evalCounts.length} ids`,
      {
        hint: "this is a bug in modules/eval",
      },
    );
  }
  const logDenominator = ln(totalCount(trainCounts) + trainCounts.length);
  let nats = 0;
  for (let id = 0; id < evalCounts.length; id++) {
    const c = Number(evalCounts[id]);
    if (c > 0) nats += c * (logDenominator - ln(Number(trainCounts[id]) + 1));
  }
  return nats;
}

/** The discount D of the bigram baseline. */
export const BIGRAM_DISCOUNT = 0.75;
/** Largest vocabulary whose pair keys v · V + w are exact in a double (V² < 2^53). */
const MAX_PAIR_VOCAB = 94_906_265;

/** Distinct token pairs: key v · V + w → count. */
export type PairCounts = Map<number, number>;

/**
 * Adds the pairs (tokens[i], targets[i]) of the positions with a target (≠ IGNORE_TARGET: the rows' next-token
 * targets) into `into`.
 */
export function countPairs(tokens: Uint32Array, targets: Uint32Array, vocabSize: number, into: PairCounts): PairCounts {
  if (vocabSize > MAX_PAIR_VOCAB) {
    throw new NexaError(
      "EVAL_VOCAB_TOO_LARGE",
      `the bigram baseline keys pairs by v · V + w, exact only for V ≤ ${MAX_PAIR_VOCAB}`,
      {
        context: { vocabSize },
        hint: "this is a limit of modules/eval's bigram baseline",
      },
    );
  }
  const { keys, counts } = bigramCounts(tokens, targets, vocabSize, IGNORE_TARGET);
  for (let i = 0; i < keys.length; i++) {
    const k = Number(keys[i]);
    into.set(k, (into.get(k) ?? 0) + Number(counts[i]));
  }
  return into;
}

/** The bigram baseline fitted on the train split (see the header). */
export interface Bigram {
  /** p(w | v). */
  probability(v: number, w: number): number;
  readonly vocabSize: number;
}

/** Fits the bigram on `trainPairs`, backing off to the add-one unigram fitted on `trainCounts` (vocabulary V). */
export function fitBigram(trainPairs: PairCounts, trainCounts: BigUint64Array): Bigram {
  const V = trainCounts.length;
  if (V === 0) {
    throw new NexaError("EVAL_INTERNAL", "bigram over an empty vocabulary", { hint: "this is a bug in modules/eval" });
  }
  const context = new Float64Array(V); // c(v)
  const followers = new Float64Array(V); // n(v)
  for (const [key, c] of trainPairs) {
    const v = Math.floor(key / V);
    context[v] += c;
    followers[v] += 1;
  }
  const unigramDenominator = totalCount(trainCounts) + V;
  return {
    vocabSize: V,
    probability(v: number, w: number): number {
      const unigram = (Number(trainCounts[w]) + 1) / unigramDenominator;
      const cv = context[v];
      if (cv === 0) return unigram;
      const c = trainPairs.get(v * V + w) ?? 0;
      return Math.max(c - BIGRAM_DISCOUNT, 0) / cv + ((BIGRAM_DISCOUNT * followers[v]) / cv) * unigram;
    },
  };
}

/** Total nats of `evalPairs` under `bigram`, summed in increasing key order (the same bits whatever order the pairs were counted in). */
export function bigramNats(bigram: Bigram, evalPairs: PairCounts): number {
  const V = bigram.vocabSize;
  let nats = 0;
  for (const key of [...evalPairs.keys()].sort((a, b) => a - b)) {
    const v = Math.floor(key / V);
    nats -= evalPairs.get(key)! * ln(bigram.probability(v, key - v * V));
  }
  return nats;
}

/** Bits per byte of `nats` spent on `bytes` bytes. */
export function bitsPerByte(nats: number, bytes: number): number {
  return nats / Math.LN2 / bytes;
}

/** Steps in the running mean a step's training loss is compared with (lossSpikeRatio). */
export const SPIKE_WINDOW = 10;

/**
 * The largest ratio of a step's training loss to the mean loss of the SPIKE_WINDOW steps before it, over the steps
 * after warm-up: after the first step with the curve's highest learning rate (the whole curve when it records no
 * learning rate). 1.5 means a loss 50 % above its running mean. 0 when no step has SPIKE_WINDOW steps before it.
 */
export function lossSpikeRatio(curve: readonly CurvePoint[]): number {
  const points = curve.filter((p) => p.loss !== undefined);
  let peak = -1;
  let peakLr = -Infinity;
  points.forEach((p, i) => {
    if (p.lr !== undefined && p.lr > peakLr) {
      peakLr = p.lr;
      peak = i;
    }
  });
  let worst = 0;
  for (let i = Math.max(peak + 1, SPIKE_WINDOW); i < points.length; i++) {
    let sum = 0;
    for (let j = i - SPIKE_WINDOW; j < i; j++) sum += points[j].loss!;
    worst = Math.max(worst, points[i].loss! / (sum / SPIKE_WINDOW));
  }
  return worst;
}

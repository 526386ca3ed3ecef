// Deterministic batches from packed rows. Training draws rows epoch by epoch: epoch e visits every train row once
// in the order of the kernels' seeded permutation (seed derived from the config seed and e), so the data order
// depends only on the config seed and the dataset. Validation uses the first rows of the validation split in
// stored order (the pack stage already shuffled them). Targets come from the kernels (next token inside one
// document; IGNORE at a document's last token and at padding).

import { nextTokenTargets, shuffleFill } from "@nexa/kernels/binding";

import type { SplitRows } from "@nexa/modules/packed_shards";

/** One [b × t] batch ready for the model. */
export interface RowBatch {
  b: number;
  t: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
  targets: Uint32Array;
  /** Non-padding tokens in the batch. */
  realTokens: number;
}

const GOLDEN_GAMMA = 0x9e3779b97f4a7c15n;

/** Permutation seed of one epoch (distinct per epoch, 64-bit). */
function epochSeed(seed: number, epoch: number): bigint {
  return BigInt.asUintN(64, BigInt(seed) + BigInt(epoch + 1) * GOLDEN_GAMMA);
}

/** Copies rows `rowIds` of `split` into one batch. */
export function gatherRows(split: SplitRows, t: number, rowIds: readonly number[]): RowBatch {
  const b = rowIds.length;
  const tokens = new Uint32Array(b * t);
  const docIds = new Uint32Array(b * t);
  let realTokens = 0;
  rowIds.forEach((r, k) => {
    tokens.set(split.tokens.subarray(r * t, (r + 1) * t), k * t);
    docIds.set(split.docIds.subarray(r * t, (r + 1) * t), k * t);
    realTokens += split.rowTokens[r];
  });
  return { b, t, tokens, docIds, targets: nextTokenTargets(tokens, docIds, t), realTokens };
}

/** Row ids of draws [start, start + count) of the epoch-wise shuffled stream over `rows` rows. */
export function drawRows(rows: number, seed: number, start: number, count: number): number[] {
  const out: number[] = [];
  let at = start;
  while (out.length < count) {
    const epoch = Math.floor(at / rows);
    const pos = at % rows;
    const n = Math.min(count - out.length, rows - pos);
    for (const v of shuffleFill(rows, epochSeed(seed, epoch), pos, n)) out.push(Number(v));
    at += n;
  }
  return out;
}

/**
 * The micro-batches of optimizer step `step` (0-based), concatenated: gradAccum × microBatch rows drawn in stream
 * order, ready for Model.trainStep with microBatches = gradAccum.
 */
export function trainStepBatch(
  split: SplitRows,
  t: number,
  seed: number,
  step: number,
  microBatch: number,
  gradAccum: number,
): RowBatch {
  const perStep = microBatch * gradAccum;
  return gatherRows(split, t, drawRows(split.rows, seed, step * perStep, perStep));
}

/** Up to `batches` validation batches of `microBatch` rows from the start of the split (the last may be short). */
export function validationBatches(split: SplitRows, t: number, microBatch: number, batches: number): RowBatch[] {
  const out: RowBatch[] = [];
  for (let k = 0; k < batches && k * microBatch < split.rows; k++) {
    const ids: number[] = [];
    for (let r = k * microBatch; r < Math.min(split.rows, (k + 1) * microBatch); r++) ids.push(r);
    out.push(gatherRows(split, t, ids));
  }
  return out;
}

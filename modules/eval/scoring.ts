// Model passes over validation bins through the kernels' Model API: summed cross-entropy of the student (and of
// the teacher and the undistilled student), top-1 agreement of the student's and the teacher's argmax
// predictions, and counts of the predicted tokens and of the (token, predicted token) pairs.
//
// Shapes: a bin is one row of t = seq_len tokens; a batch is [b, t] rows (flat, row-major); logits are
// [b, t, V] with V the model's vocab size. Targets are the next token inside the same document, IGNORE_TARGET at
// a document's last token and at padding (nextTokenTargets). Sums are accumulated in bin order, so results do not
// depend on batch size or thread count.

import { IGNORE_TARGET, nextTokenTargets } from "@nexa/kernels/binding";
import type { Model } from "@nexa/kernels/binding";
import { NexaError } from "@nexa/modules/monitoring";

import { countPairs, countTargets, totalCount } from "./measures";
import type { PairCounts } from "./measures";

/** Rows per evalLoss/forward call (bounds the logits buffer: rows · seq_len · vocab floats). */
export const EVAL_BATCH_ROWS = 8;

/** Summed cross-entropy over predicted positions. */
export interface LossSums {
  lossSum: number;
  count: number;
}

/** Counts positions (targets ≠ IGNORE) where the argmax of `a` ([n, va]) equals that of `b` ([n, vb]). */
export function topOneAgreements(
  a: Float32Array,
  va: number,
  b: Float32Array,
  vb: number,
  targets: Uint32Array,
): number {
  const argmax = (logits: Float32Array, v: number, pos: number): number => {
    let best = 0;
    let bestValue = logits[pos * v];
    for (let k = 1; k < v; k++) {
      const x = logits[pos * v + k];
      if (x > bestValue) {
        // strict: ties resolve to the lowest id
        best = k;
        bestValue = x;
      }
    }
    return best;
  };
  let agree = 0;
  for (let pos = 0; pos < targets.length; pos++) {
    if (targets[pos] !== IGNORE_TARGET && argmax(a, va, pos) === argmax(b, vb, pos)) agree += 1;
  }
  return agree;
}

/** Accumulates scores over validation bins, in the order they are added. */
export class ValidationScorer {
  readonly student: LossSums = { lossSum: 0, count: 0 };
  readonly teacher?: LossSums;
  readonly undistilled?: LossSums;
  /** Predicted positions where student and teacher argmax agree (teacher only). */
  agreements = 0;
  /** Bins scored. */
  bins = 0;
  /** Occurrences per id of the predicted tokens (length: tokenizer vocab size). */
  readonly targetCounts: BigUint64Array;
  /** Occurrences of each (token, predicted token) pair: what the bigram baseline scores. */
  readonly targetPairs: PairCounts = new Map();

  constructor(
    private readonly studentModel: Model,
    private readonly teacherModel: Model | undefined,
    vocabSize: number,
    private readonly undistilledModel?: Model,
  ) {
    this.targetCounts = new BigUint64Array(vocabSize);
    if (teacherModel) this.teacher = { lossSum: 0, count: 0 };
    if (undistilledModel) this.undistilled = { lossSum: 0, count: 0 };
  }

  /** Scores `bins` rows of `t` tokens (tokens/docIds hold at least bins · t values). */
  add(tokens: Uint32Array, docIds: Uint32Array, bins: number, t: number): void {
    const allTokens = tokens.slice(0, bins * t);
    const allDocs = docIds.slice(0, bins * t);
    const allTargets = nextTokenTargets(allTokens, allDocs, t);
    countTargets(allTargets, this.targetCounts.length, this.targetCounts);
    countPairs(allTokens, allTargets, this.targetCounts.length, this.targetPairs);
    for (let row = 0; row < bins; row += EVAL_BATCH_ROWS) {
      const b = Math.min(EVAL_BATCH_ROWS, bins - row);
      const span = [row * t, (row + b) * t] as const;
      const batch = {
        tokens: allTokens.slice(...span),
        docIds: allDocs.slice(...span),
        targets: allTargets.slice(...span),
        b,
        t,
      };
      addLoss(this.student, this.studentModel.evalLoss(batch));
      if (this.undistilledModel && this.undistilled) addLoss(this.undistilled, this.undistilledModel.evalLoss(batch));
      if (this.teacherModel && this.teacher) {
        addLoss(this.teacher, this.teacherModel.evalLoss(batch));
        const vs = this.studentModel.info().config.vocabSize;
        const vt = this.teacherModel.info().config.vocabSize;
        this.agreements += topOneAgreements(
          this.studentModel.forward(batch),
          vs,
          this.teacherModel.forward(batch),
          vt,
          batch.targets,
        );
      }
    }
    this.bins += bins;
  }

  /** Predicted positions; checks that the model passes saw exactly the counted targets. */
  positions(): number {
    const n = totalCount(this.targetCounts);
    for (const [who, sums] of [
      ["student", this.student],
      ["teacher", this.teacher],
      ["undistilled", this.undistilled],
    ] as const) {
      if (sums && sums.count !== n) {
        throw new NexaError("EVAL_INTERNAL", `${who} scored ${sums.count} positions, but ${n} targets were counted`, {
          hint: "the kernels' evalLoss and nextTokenTargets disagree; this is a bug in the kernels or modules/eval",
        });
      }
    }
    return n;
  }
}

function addLoss(into: LossSums, r: { lossSum: number; count: number }): void {
  into.lossSum += r.lossSum;
  into.count += r.count;
}

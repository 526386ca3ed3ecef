// The metrics modules/eval computes, under stable names (rubric criteria and dashboards refer to them):
//
//   student.loss                   mean nats per predicted token
//   student.bits_per_byte          student nats / ln 2 / eval.bytes
//   teacher.loss                   (teacher wired)
//   teacher.bits_per_byte          (teacher wired)
//   baseline.loss                  add-one unigram (fitted on the train split), mean nats per predicted token
//   baseline.bits_per_byte
//   bigram.loss                    smoothed bigram (fitted on the train split; measures.ts), mean nats per predicted token
//   bigram.bits_per_byte
//   student.bpb_gain_vs_baseline   baseline − student bits per byte (> 0: the student beats the unigram)
//   student.bpb_gain_vs_bigram     bigram − student bits per byte (> 0: the student beats the bigram)
//   student.loss_spike_ratio       the training curve's largest loss over the mean of the 10 steps before it, after
//                                  warm-up (measures.ts lossSpikeRatio; 1.5 means a 50 % jump)
//   teacher.bpb_gain_vs_baseline   baseline − teacher bits per byte (teacher wired)
//   teacher.bpb_gain_vs_bigram     bigram − teacher bits per byte (teacher wired)
//   teacher.loss_spike_ratio       (teacher wired)
//   student.bpb_gap_to_teacher     student − teacher bits per byte (teacher wired; > 0: the student is worse)
//   agreement.top1                 fraction of predicted positions where student and teacher argmax agree (teacher wired)
//   undistilled.loss               (undistilled wired: the student's model trained on raw text instead of the
//   undistilled.bits_per_byte       teacher's generations, same number of tokens)
//   undistilled.loss_spike_ratio
//   distillation.bpb_gain          undistilled − student bits per byte (> 0: distillation helped; undistilled wired)
//   eval.tokens                    predicted positions scored
//   eval.bytes                     UTF-8 bytes of the predicted tokens
//   eval.examples                  validation bins scored

import { ConfigError } from "@nexa/modules/monitoring";

import { bitsPerByte } from "./measures";
import type { LossSums } from "./scoring";

const ALWAYS = [
  "baseline.bits_per_byte",
  "baseline.loss",
  "bigram.bits_per_byte",
  "bigram.loss",
  "eval.bytes",
  "eval.examples",
  "eval.tokens",
  "student.bits_per_byte",
  "student.bpb_gain_vs_baseline",
  "student.bpb_gain_vs_bigram",
  "student.loss",
  "student.loss_spike_ratio",
];
const WITH_TEACHER = [
  "agreement.top1",
  "student.bpb_gap_to_teacher",
  "teacher.bits_per_byte",
  "teacher.bpb_gain_vs_baseline",
  "teacher.bpb_gain_vs_bigram",
  "teacher.loss",
  "teacher.loss_spike_ratio",
];
const WITH_UNDISTILLED = [
  "distillation.bpb_gain",
  "undistilled.bits_per_byte",
  "undistilled.loss",
  "undistilled.loss_spike_ratio",
];

/** Which optional checkpoints the eval stage was given. */
export interface Wiring {
  teacher: boolean;
  undistilled: boolean;
}

/** Names of the metrics computed for this wiring, sorted. */
export function availableMetrics(wiring: Wiring): string[] {
  return [...ALWAYS, ...(wiring.teacher ? WITH_TEACHER : []), ...(wiring.undistilled ? WITH_UNDISTILLED : [])].sort();
}

/** A checkpoint's scores: summed validation loss and its training curve's spike ratio. */
export interface ModelScores extends LossSums {
  spikeRatio: number;
}

export interface MetricInputs {
  student: ModelScores;
  teacher?: ModelScores;
  undistilled?: ModelScores;
  /** Positions where the argmax predictions agree (teacher wired). */
  agreements?: number;
  /** Unigram baseline nats over the same positions. */
  baselineNats: number;
  /** Bigram baseline nats over the same positions. */
  bigramNats: number;
  /** Predicted positions. */
  tokens: number;
  /** UTF-8 bytes of the predicted tokens. */
  bytes: number;
  examples: number;
  /** For errors: where the numbers came from. */
  where: { file: string; stage: string };
}

/** Every metric by name (keys sorted), from the accumulated sums. */
export function computeMetrics(x: MetricInputs): Record<string, number> {
  if (x.tokens === 0 || x.bytes === 0) {
    throw new ConfigError(
      "EVAL_NOTHING_TO_SCORE",
      `the validation bins hold ${x.tokens} predicted tokens and ${x.bytes} text bytes`,
      {
        context: x.where,
        hint: "give the data stage a larger validation split (or raise max_examples); documents of one token predict nothing",
      },
    );
  }
  const m: Record<string, number> = {};
  m["student.loss"] = x.student.lossSum / x.student.count;
  m["student.bits_per_byte"] = bitsPerByte(x.student.lossSum, x.bytes);
  m["baseline.loss"] = x.baselineNats / x.tokens;
  m["baseline.bits_per_byte"] = bitsPerByte(x.baselineNats, x.bytes);
  m["bigram.loss"] = x.bigramNats / x.tokens;
  m["bigram.bits_per_byte"] = bitsPerByte(x.bigramNats, x.bytes);
  m["student.bpb_gain_vs_baseline"] = m["baseline.bits_per_byte"] - m["student.bits_per_byte"];
  m["student.bpb_gain_vs_bigram"] = m["bigram.bits_per_byte"] - m["student.bits_per_byte"];
  m["student.loss_spike_ratio"] = x.student.spikeRatio;
  if (x.teacher) {
    m["teacher.loss"] = x.teacher.lossSum / x.teacher.count;
    m["teacher.bits_per_byte"] = bitsPerByte(x.teacher.lossSum, x.bytes);
    m["teacher.bpb_gain_vs_baseline"] = m["baseline.bits_per_byte"] - m["teacher.bits_per_byte"];
    m["teacher.bpb_gain_vs_bigram"] = m["bigram.bits_per_byte"] - m["teacher.bits_per_byte"];
    m["teacher.loss_spike_ratio"] = x.teacher.spikeRatio;
    m["student.bpb_gap_to_teacher"] = m["student.bits_per_byte"] - m["teacher.bits_per_byte"];
    m["agreement.top1"] = (x.agreements ?? 0) / x.tokens;
  }
  if (x.undistilled) {
    m["undistilled.loss"] = x.undistilled.lossSum / x.undistilled.count;
    m["undistilled.bits_per_byte"] = bitsPerByte(x.undistilled.lossSum, x.bytes);
    m["undistilled.loss_spike_ratio"] = x.undistilled.spikeRatio;
    m["distillation.bpb_gain"] = m["undistilled.bits_per_byte"] - m["student.bits_per_byte"];
  }
  m["eval.tokens"] = x.tokens;
  m["eval.bytes"] = x.bytes;
  m["eval.examples"] = x.examples;
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(m).sort()) sorted[k] = m[k];
  return sorted;
}

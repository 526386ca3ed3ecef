// The metrics modules/eval computes, under stable names (rubric criteria and dashboards refer to them):
//
//   student.loss                   mean nats per predicted token
//   student.bits_per_byte          student nats / ln 2 / eval.bytes
//   teacher.loss                   (teacher wired)
//   teacher.bits_per_byte          (teacher wired)
//   baseline.loss                  add-one unigram (fitted on the train split), mean nats per predicted token
//   baseline.bits_per_byte
//   student.bpb_gain_vs_baseline   baseline − student bits per byte (> 0: the student beats the unigram)
//   teacher.bpb_gain_vs_baseline   baseline − teacher bits per byte (teacher wired)
//   student.bpb_gap_to_teacher     student − teacher bits per byte (teacher wired; > 0: the student is worse)
//   agreement.top1                 fraction of predicted positions where student and teacher argmax agree (teacher wired)
//   eval.tokens                    predicted positions scored
//   eval.bytes                     UTF-8 bytes of the predicted tokens
//   eval.examples                  validation bins scored

import { ConfigError } from "@nexa/modules/monitoring";

import { bitsPerByte } from "./measures";
import type { LossSums } from "./scoring";

const ALWAYS = [
  "baseline.bits_per_byte",
  "baseline.loss",
  "eval.bytes",
  "eval.examples",
  "eval.tokens",
  "student.bits_per_byte",
  "student.bpb_gain_vs_baseline",
  "student.loss",
];
const WITH_TEACHER = [
  "agreement.top1",
  "student.bpb_gap_to_teacher",
  "teacher.bits_per_byte",
  "teacher.bpb_gain_vs_baseline",
  "teacher.loss",
];

/** Names of the metrics computed for this wiring, sorted. */
export function availableMetrics(hasTeacher: boolean): string[] {
  return [...ALWAYS, ...(hasTeacher ? WITH_TEACHER : [])].sort();
}

export interface MetricInputs {
  student: LossSums;
  teacher?: LossSums;
  /** Positions where the argmax predictions agree (teacher wired). */
  agreements?: number;
  /** Unigram baseline nats over the same positions. */
  baselineNats: number;
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
  m["student.bpb_gain_vs_baseline"] = m["baseline.bits_per_byte"] - m["student.bits_per_byte"];
  if (x.teacher) {
    m["teacher.loss"] = x.teacher.lossSum / x.teacher.count;
    m["teacher.bits_per_byte"] = bitsPerByte(x.teacher.lossSum, x.bytes);
    m["teacher.bpb_gain_vs_baseline"] = m["baseline.bits_per_byte"] - m["teacher.bits_per_byte"];
    m["student.bpb_gap_to_teacher"] = m["student.bits_per_byte"] - m["teacher.bits_per_byte"];
    m["agreement.top1"] = (x.agreements ?? 0) / x.tokens;
  }
  m["eval.tokens"] = x.tokens;
  m["eval.bytes"] = x.bytes;
  m["eval.examples"] = x.examples;
  const sorted: Record<string, number> = {};
  for (const k of Object.keys(m).sort()) sorted[k] = m[k];
  return sorted;
}

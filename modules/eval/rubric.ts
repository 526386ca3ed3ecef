// Rubric evaluation: each criterion compares one named metric with its threshold (GTE: value >= threshold,
// LTE: value <= threshold); the rubric passes when every required criterion passes. Optional criteria are
// reported but never fail the rubric. A criterion naming a metric this wiring does not compute is a config error.

import { ConfigError } from "@nexa/modules/monitoring";
import { Comparator, comparatorToJSON, CriterionResult } from "@nexa/proto/nexa/v1/eval";
import type { EvalRubric } from "@nexa/proto/nexa/v1/eval";

export interface RubricOutcome {
  results: CriterionResult[];
  passed: boolean;
}

/** Checks every criterion names an available metric and a comparator; `file` is the rubric's display name. */
export function checkRubric(rubric: EvalRubric, available: readonly string[], file: string): void {
  rubric.criteria.forEach((c, i) => {
    if (!available.includes(c.metric)) {
      throw new ConfigError(
        "EVAL_UNKNOWN_METRIC",
        `criterion ${i} names metric ${JSON.stringify(c.metric)}, which this eval does not compute; available: ${available.join(", ")}`,
        {
          context: { file, jsonPath: `$.criteria[${i}].metric` },
          hint: "use one of the available metric names (teacher.* and agreement.* need a `teacher` input on the eval stage)",
        },
      );
    }
    if (c.comparator !== Comparator.COMPARATOR_GTE && c.comparator !== Comparator.COMPARATOR_LTE) {
      throw new ConfigError("EVAL_COMPARATOR", `criterion ${i} has comparator ${comparatorToJSON(c.comparator)}`, {
        context: { file, jsonPath: `$.criteria[${i}].comparator` },
        hint: 'use "COMPARATOR_GTE" or "COMPARATOR_LTE"',
      });
    }
  });
}

/** Whether `value` meets `threshold` under `comparator` (NaN never passes). */
export function meets(value: number, comparator: Comparator, threshold: number): boolean {
  if (comparator === Comparator.COMPARATOR_GTE) return value >= threshold;
  if (comparator === Comparator.COMPARATOR_LTE) return value <= threshold;
  return false;
}

/** Applies `rubric` to `metrics` (checked first, see checkRubric). Results are in rubric order. */
export function evaluateRubric(rubric: EvalRubric, metrics: Record<string, number>, file: string): RubricOutcome {
  checkRubric(rubric, Object.keys(metrics), file);
  const results = rubric.criteria.map((c) => {
    const value = metrics[c.metric];
    return CriterionResult.fromPartial({
      metric: c.metric,
      value,
      comparator: c.comparator,
      threshold: c.threshold,
      passed: meets(value, c.comparator, c.threshold),
      required: c.required,
    });
  });
  return { results, passed: results.every((r) => r.passed || !r.required) };
}

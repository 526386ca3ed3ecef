// Rubric evaluation: GTE/LTE comparisons, required vs optional criteria, unknown metric names.
import { ConfigError } from "@nexa/modules/monitoring";
import { Comparator, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { availableMetrics, checkRubric, evaluateRubric, meets } from "./index";

const rubric = (criteria: Array<[string, Comparator, number, boolean]>): EvalRubric =>
  EvalRubric.fromPartial({
    schemaVersion: 1,
    name: "r",
    revision: 1,
    criteria: criteria.map(([metric, comparator, threshold, required]) => ({
      metric,
      comparator,
      threshold,
      required,
    })),
  });

const { COMPARATOR_GTE: GTE, COMPARATOR_LTE: LTE, COMPARATOR_UNSPECIFIED: UNSPECIFIED } = Comparator;

describe("rubric", () => {
  it("compares with GTE and LTE, boundaries included; NaN never passes", () => {
    expect(meets(1, GTE, 1)).toBe(true);
    expect(meets(0.999, GTE, 1)).toBe(false);
    expect(meets(1, LTE, 1)).toBe(true);
    expect(meets(1.001, LTE, 1)).toBe(false);
    expect(meets(NaN, GTE, 0)).toBe(false);
    expect(meets(NaN, LTE, 0)).toBe(false);
    expect(meets(5, UNSPECIFIED, 0)).toBe(false);
  });

  it("passes when every required criterion passes; optional failures are reported only", () => {
    const metrics = { "student.loss": 3.5, "student.bpb_gain_vs_baseline": 0.2 };
    const out = evaluateRubric(
      rubric([
        ["student.bpb_gain_vs_baseline", GTE, 0, true],
        ["student.loss", LTE, 3.0, false],
      ]),
      metrics,
      "rubric.json",
    );
    expect(out.passed).toBe(true);
    expect(out.results.map((r) => [r.metric, r.value, r.passed, r.required])).toEqual([
      ["student.bpb_gain_vs_baseline", 0.2, true, true],
      ["student.loss", 3.5, false, false],
    ]);
    expect(out.results[1]).toMatchObject({ comparator: LTE, threshold: 3.0 });
  });

  it("fails when one required criterion fails", () => {
    const out = evaluateRubric(
      rubric([
        ["student.loss", LTE, 4, true],
        ["student.bpb_gain_vs_baseline", GTE, 0.5, true],
      ]),
      { "student.loss": 3.5, "student.bpb_gain_vs_baseline": 0.2 },
      "rubric.json",
    );
    expect(out.passed).toBe(false);
    expect(out.results.map((r) => r.passed)).toEqual([true, false]);
  });

  it("an empty rubric passes", () => {
    expect(evaluateRubric(rubric([]), { "student.loss": 1 }, "rubric.json")).toEqual({ results: [], passed: true });
  });

  it("an unknown metric is a ConfigError naming the criterion index, the file and the available names", () => {
    const r = rubric([
      ["student.loss", LTE, 4, true],
      ["teacher.loss", LTE, 4, true],
    ]);
    let err: unknown;
    try {
      checkRubric(r, availableMetrics({ teacher: false, undistilled: false }), "golden_rubric.json");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe("EVAL_UNKNOWN_METRIC");
    expect(e.message).toMatch(
      /^golden_rubric\.json: \$\.criteria\[1\]\.metric: criterion 1 names metric "teacher\.loss"/,
    );
    expect(e.message).toContain(
      "available: baseline.bits_per_byte, baseline.loss, bigram.bits_per_byte, bigram.loss, eval.bytes",
    );
    expect(e.hint).toMatch(/teacher/);
    expect(() =>
      checkRubric(r, availableMetrics({ teacher: true, undistilled: false }), "golden_rubric.json"),
    ).not.toThrow();
  });

  it("lists the stable metric names for each wiring", () => {
    expect(availableMetrics({ teacher: false, undistilled: false })).toEqual([
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
    ]);
    expect(availableMetrics({ teacher: true, undistilled: false })).toEqual(
      expect.arrayContaining([
        "agreement.top1",
        "student.bpb_gap_to_teacher",
        "teacher.bits_per_byte",
        "teacher.bpb_gain_vs_baseline",
        "teacher.bpb_gain_vs_bigram",
        "teacher.loss",
        "teacher.loss_spike_ratio",
      ]),
    );
    const all = availableMetrics({ teacher: true, undistilled: true });
    expect(all).toEqual(
      expect.arrayContaining([
        "distillation.bpb_gain",
        "undistilled.bits_per_byte",
        "undistilled.loss",
        "undistilled.loss_spike_ratio",
      ]),
    );
    expect(availableMetrics({ teacher: false, undistilled: true })).not.toContain("teacher.loss");
  });
});

// modules/data's own functions without a stage: split fractions and the hash split, path patterns, drop counts
// and duplicate ids.
import { ConfigError } from "@nexa/modules/monitoring";

import { addDrops, countDrops, formatDrops } from "./gate";
import { checkUniqueIds } from "./ingest";
import type { Document } from "./ingest";
import { patternRegExp } from "./select";
import { assignSplit, splitFractions, splitPoint } from "./split";

describe("split", () => {
  it("validates fractions, naming the field", () => {
    expect(splitFractions(undefined, "data.json")).toEqual({ train: 1, validation: 0, test: 0 });
    expect(splitFractions({ validationFraction: 0.25, testFraction: 0.125 }, "data.json")).toEqual({
      train: 0.625,
      validation: 0.25,
      test: 0.125,
    });
    expect(() => splitFractions({ validationFraction: 1, testFraction: 0 }, "data.json")).toThrow(ConfigError);
    try {
      splitFractions({ validationFraction: 0.6, testFraction: 0.5 }, "data.json");
      throw new Error("expected a refusal");
    } catch (e) {
      expect(e).toMatchObject({ code: "DATA_BAD_SPLIT", context: { file: "data.json", jsonPath: "$.split" } });
    }
  });

  it("assigns by a keyed hash of (seed, id): stable, seed-dependent, close to the fractions", () => {
    const f = splitFractions({ validationFraction: 0.2, testFraction: 0.1 }, "d");
    expect(assignSplit(7, "chapter-1", f)).toBe(assignSplit(7, "chapter-1", f));
    expect(splitPoint(7, "x")).not.toBe(splitPoint(8, "x"));
    const counts = { train: 0, validation: 0, test: 0 };
    for (let i = 0; i < 5000; i++) counts[assignSplit(7, `doc-${i}`, f)]++;
    expect(counts.validation / 5000).toBeCloseTo(0.2, 1);
    expect(counts.test / 5000).toBeCloseTo(0.1, 1);
  });
});

describe("patterns, drops and ids", () => {
  it("matches * within one path segment only", () => {
    const re = patternRegExp("corpus/*.jsonl");
    expect(re.test("corpus/a.jsonl")).toBe(true);
    expect(re.test("raw/corpus/b.jsonl")).toBe(true);
    expect(re.test("corpus/sub/c.jsonl")).toBe(false);
    expect(re.test("corpus/a.jsonlx")).toBe(false);
  });

  it("counts and merges drop reasons, ignoring keeps", () => {
    const a = countDrops(["keep", "too_short", "exact_duplicate", "too_short"]);
    expect(a).toEqual({ too_short: 2, exact_duplicate: 1 });
    expect(addDrops(a, { exact_duplicate: 2, invalid_utf8: 1 })).toEqual({
      too_short: 2,
      exact_duplicate: 3,
      invalid_utf8: 1,
    });
    expect(formatDrops({ too_short: 2, exact_duplicate: 3 })).toBe("exact_duplicate=3, too_short=2");
  });

  it("refuses a duplicate id naming both places", () => {
    const doc = (id: string, uri: string, line: number) => ({ id, uri, line }) as unknown as Document;
    expect(() => checkUniqueIds([doc("a", "x.jsonl", 1), doc("b", "x.jsonl", 2)])).not.toThrow();
    expect(() => checkUniqueIds([doc("a", "x.jsonl", 1), doc("a", "y.jsonl", 4)])).toThrow(
      /document id "a" appears in x\.jsonl:1 and y\.jsonl:4/,
    );
  });
});

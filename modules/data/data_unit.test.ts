// modules/data's own functions without a stage: split fractions and the hash split, path patterns, drop counts
// and duplicate ids.
import { ConfigError } from "@nexa/modules/monitoring";

import { addDrops, countDrops, formatDrops } from "./gate";
import { checkUniqueIds, decodeWindows1252, firstInvalidUtf8 } from "./ingest";
import type { Document } from "./ingest";
import { patternMatcher } from "./select";
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
  it("matches * within one path segment only, as a path suffix on segment boundaries", () => {
    const m = patternMatcher("corpus/*.jsonl");
    expect(m("corpus/a.jsonl")).toBe(true);
    expect(m("raw/corpus/b.jsonl")).toBe(true);
    expect(m("xcorpus/b.jsonl")).toBe(false);
    expect(m("corpus/sub/c.jsonl")).toBe(false);
    expect(m("corpus/a.jsonlx")).toBe(false);
    expect(patternMatcher("./corpus/*.jsonl")("raw/corpus/a.jsonl")).toBe(true);
  });

  it("matches ** across any number of segments (zero included), {a,b}, ? and [abc]", () => {
    const deep = patternMatcher("data/**/*.jsonl");
    for (const uri of ["data/x.jsonl", "data/a/b/x.jsonl", "corpus/data/a/x.jsonl"]) expect(deep(uri)).toBe(true);
    for (const uri of ["data/x.json", "other/x.jsonl", "data/a/x.jsonl.gz"]) expect(deep(uri)).toBe(false);
    const alt = patternMatcher("data/*.{jsonl,jsonl.gz}");
    expect([alt("data/a.jsonl"), alt("data/a.jsonl.gz"), alt("data/a.json")]).toEqual([true, true, false]);
    const one = patternMatcher("part-?.txt");
    expect([one("part-1.txt"), one("part-12.txt")]).toEqual([true, false]);
    const cls = patternMatcher("shard_[ab].parquet");
    expect([cls("x/shard_a.parquet"), cls("x/shard_c.parquet")]).toEqual([true, false]);
    expect(patternMatcher("**/*.txt")("a/b/.hidden.txt")).toBe(true);
    const range = patternMatcher("part-{1..3}.txt");
    expect([range("part-2.txt"), range("part-4.txt")]).toEqual([true, false]);
  });

  it.each([
    ["!data/*.jsonl", /negation/],
    ["data/+(a|b).jsonl", /extglob/],
    ["data/@(a).jsonl", /extglob/],
    ["data\\*.jsonl", /backslash/],
    ["data/a**.jsonl", /\*\* inside a segment/],
    ["data/{a,b.jsonl", /unbalanced \{ \}/],
    ["data/[ab.jsonl", /unbalanced \[ \]/],
    ["data/(a|b).jsonl", /\( \) or \|/],
    ["data/[!a].txt", /negated class/],
    ["data/[^a].txt", /negated class/],
    ["data/{a}.txt", /without a comma/],
    ["data/{1..3}/{a}.txt", /without a comma/],
    ["/abs/*.jsonl", /absolute/],
    ["../data/*.jsonl", /\.\. segment/],
    ["", /empty/],
  ])("rejects the unsupported pattern %j, naming sources[i].path, the value and a fix", (pattern, why) => {
    let err: unknown;
    try {
      patternMatcher(pattern, "data.json", 2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({
      code: "DATA_BAD_SOURCE_PATTERN",
      context: { file: "data.json", jsonPath: "$.sources[2].path", value: pattern },
      message: expect.stringMatching(why),
      hint: expect.stringContaining("supported:"),
    });
    expect((err as Error).message).toContain(`sources[2].path ${JSON.stringify(pattern)}`);
  });

  it("decodes windows-1252 per the WHATWG table (0x80..0x9f) and as ISO-8859-1 elsewhere", () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, b) => b));
    const text = decodeWindows1252(all);
    expect(text.length).toBe(256);
    expect(decodeWindows1252(Buffer.from([0x80, 0x93, 0x94, 0x99, 0x9f, 0x81, 0x8d]))).toBe("€“”™Ÿ\u0081\u008d");
    expect(text.slice(0xa0)).toBe(all.subarray(0xa0).toString("latin1"));
    expect(text.slice(0, 0x80)).toBe(all.subarray(0, 0x80).toString("latin1"));
  });

  it("finds the first invalid UTF-8 sequence", () => {
    expect(firstInvalidUtf8(Buffer.from("plain ascii and café 日本 😀", "utf8"))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xff]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0x62, 0xc3, 0x28]))).toBe(2); // bad continuation
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82]))).toBe(1); // truncated
    expect(firstInvalidUtf8(Buffer.from([0xc0, 0xaf]))).toBe(0); // overlong
    expect(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80]))).toBe(0); // encoded surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80]))).toBe(0); // above U+10FFFF
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

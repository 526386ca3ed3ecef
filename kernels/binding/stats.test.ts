// Stats through the FFI: length summary and histogram, vocabulary usage, bigram counts, merged drop counts, bad input.

import { bigramCounts, IGNORE_TARGET, lengthStats, mergeCounts, vocabUsage } from "./index";

describe("stats", () => {
  test("length summary, quantiles and log2 histogram", () => {
    const offsets = new BigUint64Array(101);
    for (let i = 1; i <= 100; i++) offsets[i] = offsets[i - 1] + BigInt(i);
    const { stats, histogram } = lengthStats(offsets);
    expect(stats).toEqual({ docs: 100, tokens: 5050, min: 1, max: 100, mean: 50.5, p50: 50, p90: 90, p99: 99 });
    expect(histogram[1]).toBe(1); // length 1
    expect(histogram[7]).toBe(37); // 64..100
    expect(histogram.reduce((a, b) => a + b, 0)).toBe(100);
  });

  test("vocabulary usage", () => {
    const { counts, used } = vocabUsage(new Uint32Array([0, 0, 3, 4, 4, 4]), 6);
    expect(Array.from(counts, Number)).toEqual([2, 0, 0, 1, 3, 0]);
    expect(used).toBe(3);
  });

  test("bigram counts: sorted distinct pairs, the skipped positions left out", () => {
    // pairs 2→1, 0→3, 2→1, 1→0 over vocab 4 (keys 9, 3, 9, 4); position 3 has no target
    const prev = new Uint32Array([2, 0, 2, 3, 1]);
    const next = new Uint32Array([1, 3, 1, IGNORE_TARGET, 0]);
    const { keys, counts } = bigramCounts(prev, next, 4);
    expect(Array.from(keys)).toEqual([3n, 4n, 9n]);
    expect(Array.from(counts)).toEqual([1n, 1n, 2n]);
    expect(bigramCounts(new Uint32Array(0), new Uint32Array(0), 4).keys.length).toBe(0);
    expect(() => bigramCounts(new Uint32Array([0, 4]), new Uint32Array([1, 1]), 4)).toThrow(
      /position 1: pair \(4, 1\)/,
    );
  });

  test("per-reason counts merge across shards", () => {
    const total = new BigUint64Array([1n, 2n, 3n]);
    mergeCounts(total, new BigUint64Array([10n, 20n, 30n]));
    expect(Array.from(total)).toEqual([11n, 22n, 33n]);
  });

  test("bad input returns explicit errors", () => {
    expect(() => lengthStats(new BigUint64Array(0))).toThrow(/n_docs \+ 1/);
    expect(() => lengthStats(new BigUint64Array([0n, 5n, 2n]))).toThrow(/decrease/);
    expect(() => vocabUsage(new Uint32Array([1, 7]), 5)).toThrow(/ids\[1\] = 7/);
    expect(() => mergeCounts(new BigUint64Array(2), new BigUint64Array(3))).toThrow(/differ/);
    expect(lengthStats(new BigUint64Array([0n])).stats.docs).toBe(0);
  });
});

// Shuffle through the FFI: bijection, inverse round trip, determinism, windowed locality, shards, bad input.

import {
  blockShuffleFill,
  blockShuffleInverse,
  fisherYates,
  shuffleFill,
  shuffleInverse,
  shuffleShardRange,
} from "./index";

function isPermutation(values: ArrayLike<bigint | number>, n: number): boolean {
  const seen = new Uint8Array(n);
  for (let i = 0; i < values.length; i++) {
    const v = Number(values[i]);
    if (v >= n || seen[v]) return false;
    seen[v] = 1;
  }
  return values.length === n;
}

describe("shuffle", () => {
  test("property: permutation is a bijection and the inverse round-trips", () => {
    for (const [n, seed] of [
      [0, 1],
      [1, 2],
      [2, 3],
      [17, 4],
      [1000, 5],
      [65537, 6],
    ]) {
      const p = shuffleFill(n, seed, 0, n);
      expect(isPermutation(p, n)).toBe(true);
      const back = shuffleInverse(n, seed, p);
      expect(back.every((v, i) => Number(v) === i)).toBe(true);
    }
  });

  test("deterministic per seed, and a range equals the slice of the full fill", () => {
    const a = shuffleFill(1000, 42n, 0, 1000);
    expect(Array.from(shuffleFill(1000, 42n, 0, 1000))).toEqual(Array.from(a));
    expect(Array.from(shuffleFill(1000, 43n, 0, 1000))).not.toEqual(Array.from(a));
    expect(Array.from(shuffleFill(1000, 42n, 300, 200))).toEqual(Array.from(a.subarray(300, 500)));
    // Large n with 64-bit seeds: still in range and invertible.
    const big = 2n ** 40n + 12345n;
    const sample = shuffleFill(big, 2n ** 63n + 7n, big - 100n, 100);
    expect(sample.every((v) => v < big)).toBe(true);
    expect(shuffleInverse(big, 2n ** 63n + 7n, sample).every((v, i) => v === big - 100n + BigInt(i))).toBe(true);
  });

  test("windowed shuffle keeps each window inside one block", () => {
    const [n, block] = [1000, 64];
    const p = blockShuffleFill(n, block, 7, 0, n);
    expect(isPermutation(p, n)).toBe(true);
    for (let w = 0; w < n; w += block) {
      const blocks = new Set(Array.from(p.subarray(w, Math.min(n, w + block)), (v) => Math.floor(Number(v) / block)));
      expect(blocks.size).toBe(1);
    }
    expect(blockShuffleInverse(n, block, 7, p).every((v, i) => Number(v) === i)).toBe(true);
  });

  test("shard ranges tile [0, n)", () => {
    let next = 0;
    for (let s = 0; s < 4; s++) {
      const r = shuffleShardRange(1001, s, 4);
      expect(r.start).toBe(next);
      next = r.end;
    }
    expect(next).toBe(1001);
  });

  test("Fisher-Yates reference is a permutation", () => {
    expect(isPermutation(fisherYates(5000, 1), 5000)).toBe(true);
  });

  test("bad input returns explicit errors", () => {
    expect(() => shuffleFill(10, 1, 8, 3)).toThrow(/exceed n = 10/);
    expect(() => shuffleInverse(10, 1, new BigUint64Array([3n, 10n]))).toThrow(/values\[1\] = 10/);
    expect(() => blockShuffleFill(10, 0, 1, 0, 10)).toThrow(/block must be >= 1/);
    expect(() => shuffleShardRange(10, 4, 4)).toThrow(/shard 4 of 4/);
    expect(() => shuffleShardRange(10, 0, 0)).toThrow(/invalid/);
  });
});

// Packing through the FFI: every token placed once, no overflow, consistent boundaries, sharding, bad input.

import { KernelError, PAD_DOC_ID, PackPlan, Status } from "./index";

function corpus(
  docs: number,
  seqLen: number,
  seed: number,
): { lens: Uint32Array; tokens: Uint32Array; offsets: BigUint64Array } {
  let state = seed >>> 0;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0);
  const lens = new Uint32Array(docs);
  for (let i = 0; i < docs; i++)
    lens[i] = next() % 10 === 0 ? next() % (3 * seqLen) : 1 + (next() % Math.ceil(seqLen / 3));
  const offsets = new BigUint64Array(docs + 1);
  let total = 0;
  lens.forEach((l, i) => {
    total += l;
    offsets[i + 1] = BigInt(total);
  });
  const tokens = new Uint32Array(total);
  for (let i = 0; i < total; i++) tokens[i] = next() % 50000;
  return { lens, tokens, offsets };
}

describe("pack", () => {
  test("property: every token exactly once, no bin overflows, positions restart per segment", () => {
    for (const [docs, seqLen, seed] of [
      [500, 64, 1],
      [200, 7, 2],
      [50, 1000, 3],
      [1, 5, 4],
    ]) {
      const { lens, tokens, offsets } = corpus(docs, seqLen, seed);
      const plan = PackPlan.create(lens, seqLen);
      const s = plan.stats();
      const rows = plan.materialize(tokens, offsets, 0xdead);
      const seen = new Uint8Array(tokens.length);
      for (let b = 0; b < s.bins; b++) {
        let expectPos = 0;
        let prevDoc = -1;
        for (let k = 0; k < seqLen; k++) {
          const at = b * seqLen + k;
          const doc = rows.docIds[at];
          if (doc === PAD_DOC_ID) {
            expect(rows.tokens[at]).toBe(0xdead);
            continue;
          }
          if (doc !== prevDoc) expectPos = 0;
          expect(rows.positions[at]).toBe(expectPos);
          expectPos++;
          prevDoc = doc;
        }
      }
      // Exactly-once via segments: each (doc, offset, len) covers disjoint token ranges that tile every document.
      const { binStarts, segments } = plan.segments();
      expect(binStarts.length).toBe(s.bins + 1);
      for (let b = 0; b < s.bins; b++) {
        let used = 0;
        for (let g = Number(binStarts[b]); g < Number(binStarts[b + 1]); g++) {
          const [doc, off, len] = [segments[3 * g], segments[3 * g + 1], segments[3 * g + 2]];
          const start = Number(offsets[doc]) + off;
          for (let t = 0; t < len; t++) {
            expect(seen[start + t]).toBe(0);
            seen[start + t] = 1;
            expect(rows.tokens[b * seqLen + used + t]).toBe(tokens[start + t]);
          }
          used += len;
        }
        expect(used).toBeLessThanOrEqual(seqLen);
      }
      expect(seen.every((x) => x === 1)).toBe(true);
      expect(s.total_tokens).toBe(tokens.length);
      expect(s.bins).toBeGreaterThanOrEqual(s.lower_bound_bins);
      expect(s.truncated_docs).toBe(Array.from(lens).filter((l) => l > seqLen).length);
      plan.free();
    }
  });

  test("shards materialize disjoint bin ranges equal to the full run", () => {
    const { lens, tokens, offsets } = corpus(300, 32, 9);
    const plan = PackPlan.create(lens, 32);
    const full = plan.materialize(tokens, offsets, 0);
    let next = 0;
    for (let shard = 0; shard < 3; shard++) {
      const { first, count } = plan.shardBins(shard, 3);
      expect(first).toBe(next);
      next = first + count;
      const part = plan.materialize(tokens, offsets, 0, first, count);
      expect(Array.from(part.tokens)).toEqual(Array.from(full.tokens.subarray(first * 32, (first + count) * 32)));
    }
    expect(next).toBe(plan.stats().bins);
    plan.free();
  });

  test("bad input returns explicit errors", () => {
    expect(() => PackPlan.create(new Uint32Array([3]), 0)).toThrow(/seq_len must be > 0/);
    const empty = PackPlan.create(new Uint32Array(0), 16);
    expect(empty.stats().bins).toBe(0);
    empty.free();
    const plan = PackPlan.create(new Uint32Array([2, 3]), 4);
    // Offsets that do not match the plan's documents.
    expect(() => plan.materialize(new Uint32Array(5), new BigUint64Array([0n, 3n, 5n]), 0)).toThrow(
      /document 0 has 3 tokens/,
    );
    expect(() => plan.materialize(new Uint32Array(5), new BigUint64Array([0n, 2n]), 0)).toThrow(KernelError);
    expect(() => plan.materialize(new Uint32Array(5), new BigUint64Array([0n, 2n, 5n]), 0, 1, 5)).toThrow(
      /outside the plan/,
    );
    let err: unknown;
    try {
      plan.shardBins(2, 2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).status).toBe(Status.INVALID_ARGUMENT);
    expect((err as KernelError).message).toMatch(/shard 2/);
    plan.free();
  });

  test("documents longer than seq_len are split into chunks", () => {
    const plan = PackPlan.create(new Uint32Array([10, 2]), 4);
    const s = plan.stats();
    expect(s.truncated_docs).toBe(1);
    expect(s.bins).toBe(3); // 4 + 4 + (2 + 2)
    expect(s.lower_bound_bins).toBe(3);
    expect(s.fill_ratio).toBe(1);
    plan.free();
  });
});

// Gate through the FFI: reasons per document, per-reason counts, dedup, MinHash accuracy, shards, bad input.

import { GATE_REASONS, Gate, gateReasonName, minhashSimilarity } from "./index";

function words(seed: number, count: number): string[] {
  let state = seed >>> 0;
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    let w = "";
    for (let k = 0; k < 6; k++) {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      w += String.fromCharCode(97 + ((state >>> 27) % 26));
    }
    out.push(w);
  }
  return out;
}

describe("gate", () => {
  test("filters report reasons and counts per reason", () => {
    const prose = words(1, 200).join(" ");
    const gate = new Gate({ minBytes: 10, maxBytes: 5000 });
    const docs: (string | Uint8Array)[] = [
      prose,
      "short",
      "x".repeat(6000),
      new Uint8Array([0x61, 0x62, 0xff, 0xfe, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69]),
      "same line here\nsame line here\nsame line here\nother line",
      "#### $$$$ %%%% &&&& ok",
      "12345 67890 12345 67890 a",
      prose,
      prose + " with a short tail",
    ];
    const reasons = Array.from(gate.run(docs), (r) => GATE_REASONS[r]);
    expect(reasons).toEqual([
      "keep",
      "too_short",
      "too_long",
      "invalid_utf8",
      "duplicate_lines",
      "symbol_ratio",
      "digit_ratio",
      "exact_duplicate",
      "near_duplicate",
    ]);
    const counts = gate.counts();
    expect(counts.keep).toBe(1);
    expect(counts.exact_duplicate).toBe(1);
    expect(counts.near_duplicate).toBe(1);
    // Dedup memory carries across calls.
    expect(Array.from(gate.run([prose]))).toEqual([8]);
    gate.free();
  });

  test("setThreads: the same reasons and counts on 1, 2 and 3 threads", () => {
    const base = Array.from({ length: 300 }, (_, i) => words(i % 120, 60).join(" "));
    const docs = base.map((d, i) => (i % 7 === 3 ? d + " plus a tail" : i % 11 === 5 ? "tiny" : d));
    const decide = (threads: number) => {
      const gate = new Gate({ minBytes: 10 }).setThreads(threads);
      const reasons = [...gate.run(docs.slice(0, 100)), ...gate.run(docs.slice(100))];
      const counts = gate.counts();
      gate.free();
      return { reasons, counts };
    };
    const one = decide(1);
    expect(one.counts.exact_duplicate).toBeGreaterThan(0);
    expect(one.counts.near_duplicate).toBeGreaterThan(0);
    expect(decide(2)).toEqual(one);
    expect(decide(3)).toEqual(one);
  });

  test("reason names come from the library", () => {
    GATE_REASONS.forEach((name, code) => expect(gateReasonName(code)).toBe(name));
    expect(gateReasonName(99)).toBeUndefined();
  });

  test("property: MinHash estimates are within tolerance of exact Jaccard", () => {
    let worst = 0;
    for (let i = 0; i < 40; i++) {
      const common = words(100 + i, 50 + i * 7);
      const a = [...common, ...words(200 + i, 20 + ((i * 13) % 150))].join(" ");
      const b = [...common, ...words(300 + i, 10 + ((i * 29) % 150))].join(" ");
      const { estimate, exact } = minhashSimilarity(a, b, { bands: 16, rows: 16, shingleWords: 3, seed: i });
      worst = Math.max(worst, Math.abs(estimate - exact));
    }
    expect(worst).toBeLessThan(0.125); // 256 hashes: sigma <= 0.031
  });

  test("shards process disjoint documents", () => {
    const docs = Array.from({ length: 10 }, (_, i) => words(i, 30).join(" "));
    const a = new Gate({ shard: 0, numShards: 2 });
    const b = new Gate({ shard: 1, numShards: 2 });
    const ra = a.run(docs);
    const rb = b.run(docs);
    for (let i = 0; i < docs.length; i++) {
      expect(ra[i] === 10).toBe(i % 2 === 1);
      expect(rb[i] === 10).toBe(i % 2 === 0);
    }
    expect(a.counts().keep + b.counts().keep).toBe(10);
    a.free();
    b.free();
  });

  test("bad config and empty input", () => {
    expect(() => new Gate({ shard: 2, numShards: 2 })).toThrow(/shard 2 of 2/);
    expect(() => new Gate({ minhashBands: 0 })).toThrow(/bands/);
    expect(() => new Gate({ maxSymbolFraction: Number.NaN })).toThrow(/max_symbol_fraction/);
    const g = new Gate();
    expect(Array.from(g.run([]))).toEqual([]);
    expect(Array.from(g.run([""]))).toEqual([1]); // too_short (min 1 byte)
    g.free();
  });
});

// Information measures on hand-checked numbers: the add-one unigram, the bigram, bits per byte, token byte lengths and
// counts.
import { IGNORE_TARGET, Tokenizer } from "@nexa/kernels/binding";

import { availableMetrics, computeMetrics } from "./metrics";
import {
  bigramNats,
  bitsPerByte,
  countPairs,
  countTargets,
  fitBigram,
  ln,
  lossSpikeRatio,
  SPIKE_WINDOW,
  tokenByteLengths,
  totalBytes,
  unigramNats,
} from "./measures";
import type { PairCounts } from "./measures";

const counts = (xs: number[]) => BigUint64Array.from(xs.map(BigInt));
const where = { file: "packed.json", stage: "eval" };

describe("measures", () => {
  it("computes ln with its own double arithmetic, within 3e-16 of the engine's Math.log", () => {
    expect(ln(1)).toBe(0);
    expect(ln(0)).toBe(-Infinity);
    expect(ln(Infinity)).toBe(Infinity);
    expect(ln(-1)).toBeNaN();
    expect(ln(Math.E)).toBeCloseTo(1, 15);
    let worst = 0;
    for (const x of [
      5e-324,
      1e-310,
      2.2250738585072014e-308,
      1e-5,
      0.5,
      Math.SQRT2,
      2,
      3,
      12,
      1023,
      1e6 + 7,
      1.7976931348623157e308,
    ]) {
      worst = Math.max(worst, Math.abs(ln(x) - Math.log(x)) / Math.max(1, Math.abs(Math.log(x))));
    }
    for (let i = 1; i < 200000; i += 7)
      worst = Math.max(worst, Math.abs(ln(i) - Math.log(i)) / Math.max(1, Math.log(i)));
    expect(worst).toBeLessThanOrEqual(3e-16);
  });

  it("counts pairs through the kernels and fits the discounted bigram (hand-checked)", () => {
    // vocab 3; train rows [0 1 0 1 2] → pairs 0→1 ×2, 1→0, 1→2; train counts [2, 2, 1] (N = 5, N + V = 8)
    const tokens = new Uint32Array([0, 1, 0, 1, 2]);
    const targets = new Uint32Array([1, 0, 1, 2, IGNORE_TARGET]);
    const pairs = countPairs(tokens, targets, 3, new Map());
    expect([...pairs].sort((a, b) => a[0] - b[0])).toEqual([
      [1, 2], // 0·3 + 1
      [3, 1], // 1·3 + 0
      [5, 1], // 1·3 + 2
    ]);
    const bigram = fitBigram(pairs, counts([2, 2, 1]));
    const uni = [3 / 8, 3 / 8, 2 / 8];
    // v = 0: c(0) = 2, n(0) = 1 → p(1|0) = (2 − 0.75)/2 + 0.75·1/2·uni(1); p(0|0) = 0.375·uni(0)
    expect(bigram.probability(0, 1)).toBeCloseTo(1.25 / 2 + 0.375 * uni[1], 15);
    expect(bigram.probability(0, 0)).toBeCloseTo(0.375 * uni[0], 15);
    // v = 1: c(1) = 2, n(1) = 2 → p(0|1) = 0.25/2 + 0.75·uni(0)
    expect(bigram.probability(1, 0)).toBeCloseTo(0.125 + 0.75 * uni[0], 15);
    // v = 2 never precedes anything: the unigram
    expect(bigram.probability(2, 1)).toBe(uni[1]);
    for (const v of [0, 1, 2]) {
      expect([0, 1, 2].reduce((sum, w) => sum + bigram.probability(v, w), 0)).toBeCloseTo(1, 15);
    }
    const evalPairs: PairCounts = new Map([
      [1, 3],
      [6, 1],
    ]);
    expect(bigramNats(bigram, evalPairs)).toBeCloseTo(-3 * Math.log(bigram.probability(0, 1)) - Math.log(uni[0]), 12);
    // counting order does not change the bits
    const reversed: PairCounts = new Map([...evalPairs].reverse());
    expect(bigramNats(bigram, reversed)).toBe(bigramNats(bigram, evalPairs));
  });

  it("finds the largest loss over its running mean after warm-up", () => {
    // lr rises for 3 steps (warm-up), then decays; a steady loss of 4 with one jump to 6 at step 15
    const curve = Array.from({ length: 20 }, (_, i) => ({
      step: i + 1,
      loss: i === 14 ? 6 : 4,
      lr: i < 3 ? (i + 1) / 3 : 1 - i / 40,
    }));
    expect(SPIKE_WINDOW).toBe(10);
    expect(lossSpikeRatio(curve)).toBe(1.5);
    // before the jump: a flat loss gives 1
    expect(lossSpikeRatio(curve.slice(0, 14))).toBe(1);
    // a jump during warm-up does not count, one right after it does
    const early = curve.map((p, i) => ({ ...p, loss: i === 11 ? 8 : 4, lr: i < 12 ? i + 1 : 12 - i / 100 }));
    expect(lossSpikeRatio(early)).toBeLessThan(1);
    early[12].loss = 8;
    expect(lossSpikeRatio(early)).toBeCloseTo(8 / 4.4, 12);
    // no learning rate recorded: every step after the first window; too short a curve: 0
    expect(lossSpikeRatio(curve.map(({ step, loss }) => ({ step, loss })))).toBe(1.5);
    expect(lossSpikeRatio(curve.slice(0, SPIKE_WINDOW))).toBe(0);
  });

  it("fits the add-one unigram on train counts and scores eval counts (hand-checked)", () => {
    // vocab 3, train counts [2, 0, 1]: N = 3, p = [(2+1)/6, (0+1)/6, (1+1)/6] = [1/2, 1/6, 1/3]
    // eval counts [1, 1, 0]: nats = −ln(1/2) − ln(1/6) = ln 12
    expect(unigramNats(counts([2, 0, 1]), counts([1, 1, 0]))).toBeCloseTo(Math.log(12), 12);
    // an id never seen in training still has probability 1/(N+V)
    expect(unigramNats(counts([0, 0, 0]), counts([0, 2, 0]))).toBeCloseTo(2 * Math.log(3), 12);
    expect(() => unigramNats(counts([1]), counts([1, 2]))).toThrow(/vocabularies of 1 and 2/);
  });

  it("computes bits per byte as nats / ln 2 / bytes", () => {
    expect(bitsPerByte(Math.LN2 * 12, 4)).toBeCloseTo(3, 12);
    // with byte lengths [1, 2, 3] the eval counts above cover 1·1 + 1·2 = 3 bytes: log2(12) / 3 bits per byte
    const bytes = totalBytes(counts([1, 1, 0]), Uint32Array.from([1, 2, 3]));
    expect(bytes).toBe(3);
    expect(bitsPerByte(unigramNats(counts([2, 0, 1]), counts([1, 1, 0])), bytes)).toBeCloseTo(Math.log2(12) / 3, 12);
  });

  it("assembles the metrics: gain = baseline − student, gap = student − teacher, agreement = agreeing / tokens", () => {
    const m = computeMetrics({
      student: { lossSum: 8 * Math.LN2, count: 4, spikeRatio: 1.25 },
      teacher: { lossSum: 4 * Math.LN2, count: 4, spikeRatio: 1.5 },
      undistilled: { lossSum: 10 * Math.LN2, count: 4, spikeRatio: 1 },
      agreements: 3,
      baselineNats: 12 * Math.LN2,
      bigramNats: 10 * Math.LN2,
      tokens: 4,
      bytes: 4,
      examples: 2,
      where,
    });
    expect(m["student.loss"]).toBeCloseTo(2 * Math.LN2, 12);
    expect(m["student.bits_per_byte"]).toBeCloseTo(2, 12);
    expect(m["teacher.bits_per_byte"]).toBeCloseTo(1, 12);
    expect(m["baseline.bits_per_byte"]).toBeCloseTo(3, 12);
    expect(m["baseline.loss"]).toBeCloseTo(3 * Math.LN2, 12);
    expect(m["student.bpb_gain_vs_baseline"]).toBeCloseTo(1, 12);
    expect(m["student.bpb_gap_to_teacher"]).toBeCloseTo(1, 12);
    expect(m["teacher.bpb_gain_vs_baseline"]).toBeCloseTo(2, 12);
    expect(m["agreement.top1"]).toBe(0.75);
    expect(m["bigram.bits_per_byte"]).toBeCloseTo(2.5, 12);
    expect(m["student.bpb_gain_vs_bigram"]).toBeCloseTo(0.5, 12);
    expect(m["teacher.bpb_gain_vs_bigram"]).toBeCloseTo(1.5, 12);
    expect(m["undistilled.bits_per_byte"]).toBeCloseTo(2.5, 12);
    expect(m["distillation.bpb_gain"]).toBeCloseTo(0.5, 12);
    expect([m["student.loss_spike_ratio"], m["teacher.loss_spike_ratio"], m["undistilled.loss_spike_ratio"]]).toEqual([
      1.25, 1.5, 1,
    ]);
    expect(Object.keys(m)).toEqual([...Object.keys(m)].sort());
    expect(Object.keys(m)).toEqual(availableMetrics({ teacher: true, undistilled: true }));
    expect(() =>
      computeMetrics({
        student: { lossSum: 0, count: 0, spikeRatio: 0 },
        baselineNats: 0,
        bigramNats: 0,
        tokens: 0,
        bytes: 0,
        examples: 1,
        where,
      }),
    ).toThrow(/packed\.json: the validation bins hold 0 predicted tokens/);
  });

  it("measures token bytes by decoding each id (special tokens count 0) and counts only real targets", () => {
    const tok = Tokenizer.train(["the whale the sea the ship", "café naïve"], {
      vocabSize: 270,
      minFrequency: 1,
      specials: ["<|endoftext|>"],
    });
    try {
      const eos = tok.encode("<|endoftext|>", { allowSpecial: true })[0];
      const lengths = tokenByteLengths(tok, tok.vocabSize, [eos]);
      expect(Array.from(lengths).filter((n, id) => id !== eos && n === 0)).toEqual([]);
      expect(lengths[eos]).toBe(0);
      const ids = tok.encode("the café");
      const expected = Buffer.byteLength("the café", "utf8");
      const c = countTargets(Uint32Array.from([...ids, IGNORE_TARGET, eos, IGNORE_TARGET]), tok.vocabSize);
      expect(Number(c.reduce((a, b) => a + b, 0n))).toBe(ids.length + 1);
      expect(totalBytes(c, lengths)).toBe(expected);
    } finally {
      tok.free();
    }
  });
});

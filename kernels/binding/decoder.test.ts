// Decoders through the FFI: token-by-token async generation equals Model.generate, concurrent decoders on one model
// do not disturb each other, the cancel flag stops a running call, and misuse is a KernelError.

import { Decoder, KernelError, Model } from "./index";
import type { GenerateOptions, ModelConfig } from "./index";

const CONFIG: ModelConfig = { vocabSize: 48, seqLen: 64, nLayer: 2, nHead: 2, dModel: 16 };
const PROMPT = Uint32Array.from([5, 9, 2, 33]);

async function decodeAll(d: Decoder, step: number, topN = 0): Promise<{ tokens: number[]; stop: string }> {
  const tokens: number[] = [];
  for (;;) {
    const r = await d.next(step, topN);
    tokens.push(...r.tokens);
    if (r.stop !== null) return { tokens, stop: r.stop };
  }
}

describe("Decoder", () => {
  let model: Model;
  beforeAll(() => {
    model = Model.create(CONFIG, 99);
  });
  afterAll(() => model.free());

  test("token by token (any chunk size) gives generate()'s tokens and stop reason", async () => {
    for (const opts of [
      { maxNewTokens: 20, temperature: 0.9, topK: 10, seed: 4 },
      { maxNewTokens: 7, temperature: 0 },
      { maxNewTokens: 100, temperature: 1.2, topP: 0.8, seed: 8 },
      { maxNewTokens: 30, temperature: 1, seed: 1, stopTokens: [7, 11, 13] },
    ] as GenerateOptions[]) {
      const whole = model.generate(PROMPT, opts);
      for (const step of [1, 3, 64]) {
        const d = model.decoder(opts);
        expect(await d.feed(PROMPT)).toBe(PROMPT.length);
        const got = await decodeAll(d, step, 2);
        d.free();
        expect(got.tokens).toEqual(Array.from(whole.tokens));
        expect(got.stop).toBe(whole.stop);
      }
    }
  });

  test("logprobs: finite, <= 0, the greedy token is the top entry", async () => {
    const d = model.decoder({ maxNewTokens: 5, temperature: 0 });
    await d.feed(PROMPT);
    const r = await d.next(5, 3);
    d.free();
    expect(r.tokens.length).toBe(5);
    r.tokens.forEach((t, i) => {
      expect(r.top[i][0][0]).toBe(t);
      expect(r.top[i][0][1]).toBeCloseTo(r.logprobs[i], 6);
      expect(r.logprobs[i]).toBeLessThanOrEqual(0);
      expect(r.top[i].map((e) => e[1])).toEqual([...r.top[i].map((e) => e[1])].sort((a, b) => b - a));
    });
  });

  test("eight decoders at once on one model give each one's own sequential result", async () => {
    const opts = (seed: number): GenerateOptions => ({ maxNewTokens: 40, temperature: 1, seed });
    const expected = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => Array.from(model.generate(PROMPT, opts(s)).tokens));
    const got = await Promise.all(
      expected.map(async (_, s) => {
        const d = model.decoder(opts(s));
        await d.feed(PROMPT);
        const r = await decodeAll(d, 1);
        d.free();
        return r.tokens;
      }),
    );
    expect(got).toEqual(expected);
  });

  test("cancel() stops the next call before its next token: stop 'cancelled', and the decoder stays finished", async () => {
    // (a cancel that lands while a call runs is the same flag, read before every token: the kernels' own test and
    // the server's disconnect test, on a model slow enough to interrupt, cover that timing)
    const d = model.decoder({ maxNewTokens: 60, temperature: 1, seed: 3 });
    await d.feed(PROMPT);
    const first = await d.next(5);
    expect(first.tokens.length).toBe(5);
    d.cancel();
    const r = await d.next(55);
    expect(r.stop).toBe("cancelled");
    expect(r.tokens.length).toBe(0);
    expect((await d.next(1)).stop).toBe("cancelled");
    expect(d.cancelled).toBe(true);
    d.free();
  });

  test("misuse is a KernelError naming the call", async () => {
    const d = model.decoder({ maxNewTokens: 4 });
    await expect(d.next(1)).rejects.toThrow(/nexa_decoder_next: next: feed at least one prompt token first/);
    await expect(d.feed(new Uint32Array(65))).rejects.toThrow(/65 tokens do not fit/);
    await expect(d.feed(Uint32Array.from([48]))).rejects.toThrow(/token 48 is outside vocab_size 48/);
    const pending = d.feed(PROMPT);
    await expect(d.next(1)).rejects.toThrow(/previous call has not settled/);
    await pending;
    expect(() => model.free()).toThrow(/decoder\(s\) of it live/);
    d.free();
    await expect(d.next(1)).rejects.toThrow(KernelError);
    expect(() => model.decoder({ maxNewTokens: 1, topP: 0 })).toThrow(/top_p 0 in \(0, 1\]/);
  });
});

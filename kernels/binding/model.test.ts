// The GPT through the FFI: training lowers the loss, save → load keeps the bits, thread counts agree bitwise,
// trainSteps is trainStep repeated (bit for bit) with a progress callback, seeded generation repeats, a model's
// teacher top-k feeds a student's distilling train step, and bad input is a KernelError with a message (never a crash).

import {
  IGNORE_TARGET,
  KERNEL_VARIANTS,
  KernelError,
  Model,
  nextTokenTargets,
  Status,
  supportedVariants,
} from "./index";
import type { ModelConfig, StepMetrics, StepProgress, TrainBatch } from "./index";

const CONFIG: ModelConfig = { vocabSize: 32, seqLen: 16, nLayer: 2, nHead: 2, dModel: 16 };

/** Two rows of 16 tokens: row 0 packs two documents, row 1 one document and 3 padding positions. */
function fixedBatch(): TrainBatch {
  const t = 16;
  const tokens = new Uint32Array(2 * t);
  for (let i = 0; i < tokens.length; i++) tokens[i] = (i * 7 + 3) % CONFIG.vocabSize;
  const docIds = new Uint32Array(2 * t);
  for (let i = 0; i < t; i++) docIds[i] = i < 9 ? 0 : 1;
  for (let i = t; i < 2 * t; i++) docIds[i] = i < 2 * t - 3 ? 0 : 0xffffffff;
  return { tokens, docIds, targets: nextTokenTargets(tokens, docIds, t), b: 2, t };
}

function trained(threads: number, steps: number): { model: Model; losses: number[] } {
  const model = Model.create(CONFIG, 1234, { threads });
  model.setTrainConfig({ lr: 1e-2, minLr: 1e-3, warmupSteps: 2, totalSteps: steps });
  const batch = fixedBatch();
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) losses.push(model.trainStep(batch).loss);
  return { model, losses };
}

/** Step i's batch: the fixed batch with its tokens rotated by i (so every step differs); `micro` micro-batches. */
function stepBatch(i: number, micro = 1, teacherK = 0): TrainBatch {
  const one = fixedBatch();
  const n = one.tokens.length;
  const tokens = new Uint32Array(micro * n);
  const docIds = new Uint32Array(micro * n);
  for (let m = 0; m < micro; m++) {
    for (let j = 0; j < n; j++) tokens[m * n + j] = (one.tokens[j] + i + 5 * m) % CONFIG.vocabSize;
    docIds.set(one.docIds, m * n);
  }
  const batch: TrainBatch = {
    tokens,
    docIds,
    targets: nextTokenTargets(tokens, docIds, one.t),
    b: one.b,
    t: one.t,
    microBatches: micro,
  };
  if (teacherK > 0) {
    const ids = new Uint32Array(micro * n * teacherK);
    const probs = new Float32Array(micro * n * teacherK);
    for (let j = 0; j < ids.length; j++) {
      ids[j] = (j * 3 + i) % CONFIG.vocabSize;
      probs[j] = j % teacherK === 0 ? 0.75 : 0.25 / (teacherK - 1);
    }
    batch.teacher = { k: teacherK, ids, probs };
  }
  return batch;
}

/** A fresh model with a schedule long enough for the tests' steps (distillation on when `distill`). */
function fresh(distill = false): Model {
  const model = Model.create(CONFIG, 99, { threads: 2 });
  model.setTrainConfig({
    lr: 1e-2,
    minLr: 1e-3,
    warmupSteps: 2,
    totalSteps: 10,
    distillWeight: distill ? 0.5 : 0,
    distillTemperature: 2,
  });
  return model;
}

const progressOf = (m: StepMetrics): StepProgress => ({
  step: m.step,
  loss: m.loss,
  lr: m.lr,
  gradNorm: m.gradNorm,
  tokens: m.tokens,
});

function expectKernelError(f: () => unknown, pattern: RegExp, status: number = Status.INVALID_ARGUMENT): void {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(KernelError);
  expect((err as KernelError).status).toBe(status);
  expect((err as KernelError).message).toMatch(pattern);
}

describe("model", () => {
  test("targets stop at document ends and padding", () => {
    const b = fixedBatch();
    expect(b.targets[0]).toBe(b.tokens[1]);
    expect(b.targets[8]).toBe(IGNORE_TARGET); // last token of document 0
    expect(b.targets[15]).toBe(IGNORE_TARGET); // end of row
    expect(Array.from(b.targets.subarray(28))).toEqual([IGNORE_TARGET, IGNORE_TARGET, IGNORE_TARGET, IGNORE_TARGET]);
  });

  test("training a fixed batch lowers the loss; info tracks steps and tokens", () => {
    const { model, losses } = trained(1, 12);
    expect(losses[losses.length - 1]).toBeLessThan(losses[0] - 0.5);
    const info = model.info();
    expect(info).toMatchObject({ step: 12, rowsSeen: 24, tokensSeen: 12 * 32, threads: 1 });
    expect(info.config).toEqual(CONFIG);
    expect(info.numParams).toBeGreaterThan(1000);
    model.free();
  });

  test("1 and 2 threads give bitwise identical losses and checkpoints", () => {
    const one = trained(1, 5);
    const two = trained(2, 5);
    expect(two.losses).toEqual(one.losses);
    expect(Buffer.from(two.model.save()).equals(Buffer.from(one.model.save()))).toBe(true);
    one.model.free();
    two.model.free();
  });

  test("save → load gives identical evalLoss, logits and metadata (caller keys included)", () => {
    const { model } = trained(1, 3);
    model.setTokenizerDigest("sha256:abc");
    model.setMetadata("nexa_tokenizer_manifest", "sha256:def");
    const batch = fixedBatch();
    const bytes = model.save();
    const back = Model.load(bytes, { threads: 2 });
    expect(back.evalLoss(batch, { perToken: true })).toEqual(model.evalLoss(batch, { perToken: true }));
    expect(back.forward(batch)).toEqual(model.forward(batch));
    expect(back.metadata()).toEqual(model.metadata());
    expect(back.metadata()).toMatchObject({
      "nexa.tokenizer_digest": "sha256:abc",
      nexa_tokenizer_manifest: "sha256:def",
      "nexa.step": "3",
    });
    expect(Buffer.from(back.save()).equals(Buffer.from(bytes))).toBe(true);
    const e = back.evalLoss(batch);
    expect(e.count).toBe(batch.targets.filter((x) => x !== IGNORE_TARGET).length);
    expect(e.perToken).toBeUndefined();
    model.free();
    back.free();
  });

  test("generation is deterministic for a seed and honours limits", () => {
    const { model } = trained(1, 8);
    const prompt = Uint32Array.from([3, 10, 17]);
    const a = model.generate(prompt, { maxNewTokens: 6, temperature: 1, seed: 7 });
    expect(model.generate(prompt, { maxNewTokens: 6, temperature: 1, seed: 7 })).toEqual(a);
    expect(a.tokens.length).toBe(6);
    expect(a.stop).toBe("max_new_tokens");
    const full = model.generate(prompt, { maxNewTokens: 100, temperature: 0 });
    expect(full.stop).toBe("context_full");
    expect(full.tokens.length).toBe(CONFIG.seqLen - prompt.length + 1);
    model.free();
  });

  test("trainSteps(n) is n trainStep calls bit for bit and reports every step (micro-batches, teacher top-k)", () => {
    for (const [micro, k] of [
      [1, 0],
      [2, 3],
    ]) {
      const batches = [0, 1, 2, 3, 4].map((i) => stepBatch(i, micro, k));
      const single = fresh(k > 0);
      const expected = batches.map((b) => single.trainStep(b));
      const multi = fresh(k > 0);
      const seen: StepProgress[] = [];
      const last = multi.trainSteps(batches, (p) => seen.push(p));
      expect(last).toEqual(expected[4]);
      expect(seen).toEqual(expected.map(progressOf));
      expect(seen.map((p) => p.step)).toEqual([1, 2, 3, 4, 5]);
      for (const p of seen) for (const v of Object.values(p)) expect(Number.isFinite(v)).toBe(true);
      expect(Buffer.from(multi.save()).equals(Buffer.from(single.save()))).toBe(true);
      // chunks continue where the model stands: 2 + 3 steps, the second without a callback
      const chunked = fresh(k > 0);
      chunked.trainSteps(batches.slice(0, 2));
      expect(chunked.trainSteps(batches.slice(2))).toEqual(expected[4]);
      expect(Buffer.from(chunked.save()).equals(Buffer.from(single.save()))).toBe(true);
      for (const m of [single, multi, chunked]) m.free();
    }
  });

  test("a throwing onProgress is rethrown after the native call; every step has run and the model stays usable", () => {
    const batches = [0, 1, 2, 3].map((i) => stepBatch(i));
    const reference = fresh();
    reference.trainSteps(batches);
    const model = fresh();
    const boom = new Error("progress sink failed");
    const calls: number[] = [];
    expect(() =>
      model.trainSteps(batches, (p) => {
        calls.push(p.step);
        if (p.step === 2) throw boom;
      }),
    ).toThrow(boom);
    expect(calls).toEqual([1, 2]); // not called again after the first error
    expect(model.info().step).toBe(4);
    expect(Buffer.from(model.save()).equals(Buffer.from(reference.save()))).toBe(true);
    // using the model from its own callback is refused (and surfaces the same way); the callback slot is released
    let busy: unknown;
    try {
      model.trainSteps([stepBatch(4)], () => model.info());
    } catch (e) {
      busy = e;
    }
    expect(busy).toBeInstanceOf(KernelError);
    expect((busy as KernelError).code).toBe("KERNEL_MODEL_BUSY");
    for (let i = 0; i < 3; i++) expect(model.trainSteps([stepBatch(5 + i)], () => undefined).step).toBe(6 + i);
    reference.free();
    model.free();
  });

  test("trainSteps refuses bad sizes and shapes with a KernelError before any step", () => {
    const model = fresh();
    const before = Buffer.from(model.save());
    const good = [stepBatch(0), stepBatch(1), stepBatch(2)];
    const calls: number[] = [];
    const onProgress = (p: StepProgress) => calls.push(p.step);
    expectKernelError(() => model.trainSteps([], onProgress), /trainSteps: no batches/);
    expectKernelError(
      () => model.trainSteps([good[0], { ...good[1], tokens: good[1].tokens.subarray(1) }], onProgress),
      /trainSteps: batch 1: tokens holds 31 values, expected 32/,
    );
    expectKernelError(
      () => model.trainSteps([good[0], stepBatch(1, 2)], onProgress),
      /batch 1 has b=2 t=16 microBatches=2/,
    );
    expectKernelError(
      () => model.trainSteps([good[0], stepBatch(1, 1, 2)], onProgress),
      /teacher k=2, batch 0 has .* teacher k=0/,
    );
    expectKernelError(
      () => model.trainSteps([{ ...good[0], t: -1 }], onProgress),
      /t = -1 is not a non-negative integer/,
    );
    const bad = Uint32Array.from(good[2].tokens);
    bad[5] = CONFIG.vocabSize;
    expectKernelError(
      () => model.trainSteps([good[0], good[1], { ...good[2], tokens: bad }], onProgress),
      /step 2 micro-batch 0: token 32 at index 5 is outside vocab_size 32/,
    );
    const empty = new Uint32Array(0);
    expectKernelError(
      () => model.trainSteps([{ tokens: empty, targets: empty, docIds: empty, b: 2, t: 0 }], onProgress),
      /b=2 t=0 is empty/,
    );
    expect(calls).toEqual([]);
    expect(model.info().step).toBe(0);
    expect(Buffer.from(model.save()).equals(before)).toBe(true);
    model.free();
  });

  test("bad input is a KernelError with a message, never a crash", () => {
    const model = Model.create(CONFIG, 1);
    const good = fixedBatch();
    expectKernelError(
      () => model.trainStep({ ...good, tokens: good.tokens.subarray(1) }),
      /tokens holds 31 values, expected 32/,
    );
    const bad = Uint32Array.from(good.tokens);
    bad[5] = CONFIG.vocabSize;
    expectKernelError(() => model.trainStep({ ...good, tokens: bad }), /token 32 at index 5 is outside vocab_size 32/);
    const empty = new Uint32Array(0);
    expectKernelError(
      () => model.evalLoss({ tokens: empty, targets: empty, docIds: empty, b: 2, t: 0 }),
      /b=2 t=0 is empty/,
    );
    expectKernelError(() => model.forward({ ...good, b: 1, t: 32 }), /T=32 invalid/);
    expectKernelError(() => model.generate(new Uint32Array(0), { maxNewTokens: 2 }), /prompt length 0/);
    expectKernelError(() => model.setThreads(0), /threads = 0/);
    expectKernelError(() => model.setMetadata("nexa.step", "9"), /metadata key "nexa.step" is invalid/);
    expectKernelError(
      () => model.setTrainConfig({ lr: 1e-3, minLr: 0, warmupSteps: 0, totalSteps: 10, beta1: 1.5 }),
      /TrainConfig out of range/,
    );
    expectKernelError(() => Model.create({ ...CONFIG, nHead: 3 }, 1), /divisible by n_head/);
    expectKernelError(() => Model.load(new TextEncoder().encode("not a checkpoint")), /./, Status.FORMAT);
    expectKernelError(() => nextTokenTargets(good.tokens, good.docIds, 0), /row length t = 0/);
    model.free();
    expect(() => model.info()).toThrow(/after free/);
    model.free();
  });

  test("every kernel variant and thread count gives the same checkpoint bytes, logits and generations", () => {
    const variants = supportedVariants();
    expect(variants[0]).toBe("portable");
    expect(variants.every((v) => (KERNEL_VARIANTS as readonly string[]).includes(v))).toBe(true);
    const run = (variant: (typeof variants)[number], threads: number) => {
      const model = Model.create(CONFIG, 7, { threads, variant });
      expect(model.variant()).toBe(variant);
      model.setTrainConfig({
        lr: 1e-2,
        minLr: 1e-3,
        warmupSteps: 2,
        totalSteps: 6,
        distillWeight: 0.5,
        distillTemperature: 2,
      });
      for (let s = 0; s < 6; s++) model.trainStep(stepBatch(s, 2, 3));
      const batch = fixedBatch();
      const out = {
        checkpoint: Buffer.from(model.save()).toString("base64"),
        logits: Buffer.from(model.forward(batch).buffer).toString("base64"),
        evalLoss: model.evalLoss(batch).lossSum,
        tokens: Array.from(
          model.generate(batch.tokens.subarray(0, 4), { maxNewTokens: 8, temperature: 0.9, topK: 8, seed: 3 }).tokens,
        ),
      };
      model.free();
      return out;
    };
    const reference = run("portable", 1);
    for (const v of variants) for (const threads of [1, 3]) expect(run(v, threads)).toEqual(reference);
    const text = Buffer.from(reference.checkpoint, "base64").toString("latin1");
    expect(text).not.toMatch(/variant|avx|portable|thread/i);
  });

  // $NEXA_KERNEL_VARIANT (read by the library from the real process environment) is tested in kernels/model.
  test("the variant option selects a kernel variant; unknown or unsupported names are errors", () => {
    const widest = supportedVariants().at(-1);
    const model = Model.create(CONFIG, 1, { variant: "auto" });
    expect(model.variant()).toBe(widest);
    model.setVariant("portable");
    expect(model.variant()).toBe("portable");
    const loaded = Model.load(model.save(), { variant: "auto", threads: 2 });
    expect(loaded.variant()).toBe(widest);
    expect(loaded.info().threads).toBe(2);
    loaded.free();
    expectKernelError(
      () => model.setVariant("sse9" as "auto"),
      /"sse9" is not a kernel variant: use auto, portable, avx2_fma or avx512f/,
    );
    for (const v of KERNEL_VARIANTS.filter((x) => !supportedVariants().includes(x))) {
      expectKernelError(() => model.setVariant(v), /is not supported by this CPU/);
    }
    expectKernelError(() => Model.create(CONFIG, 1, { variant: "avx9" as "auto" }), /"avx9" is not a kernel variant/);
    model.free();
  });
});

describe("teacher top-k (distillation input)", () => {
  const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString("base64");

  test("per position: the k largest logits, by descending probability, with softmax(logits / T) probabilities", () => {
    const { model: teacher } = trained(1, 8);
    const batch = fixedBatch();
    const v = CONFIG.vocabSize;
    const logits = teacher.forward(batch);
    for (const [temperature, k] of [
      [1, 5],
      [2, 3],
      [0.5, v],
    ]) {
      const top = teacher.teacherTopK(batch, { k, temperature });
      expect(top.k).toBe(k);
      expect([top.ids.length, top.probs.length]).toEqual([32 * k, 32 * k]);
      for (let i = 0; i < 32; i++) {
        const z = Array.from(logits.subarray(i * v, (i + 1) * v));
        const max = Math.max(...z);
        const e = z.map((x) => Math.exp((x - max) / temperature));
        const sum = e.reduce((a, b) => a + b, 0);
        const ids = Array.from(top.ids.subarray(i * k, (i + 1) * k));
        const probs = Array.from(top.probs.subarray(i * k, (i + 1) * k));
        expect(new Set(ids).size).toBe(k);
        ids.forEach((id, j) => {
          expect(Math.abs(probs[j] - e[id] / sum)).toBeLessThan(1e-6);
          if (j > 0) expect(probs[j] < probs[j - 1] || (probs[j] === probs[j - 1] && id > ids[j - 1])).toBe(true);
        });
        const kth = Math.min(...ids.map((id) => z[id]));
        z.forEach((x, id) => {
          if (!ids.includes(id)) expect(x).toBeLessThanOrEqual(kth);
        });
        const mass = probs.reduce((a, b) => a + b, 0);
        if (k === v) expect(Math.abs(mass - 1)).toBeLessThan(1e-5);
        else expect(mass).toBeLessThan(1 + 1e-6);
      }
    }
    // temperature defaults to 1
    expect(teacher.teacherTopK(batch, { k: 4 })).toEqual(teacher.teacherTopK(batch, { k: 4, temperature: 1 }));
    teacher.free();
  });

  test("a teacher's top-k drives a student's distilling trainStep, bit for bit across threads and variants", () => {
    const run = (threads: number, variant: "portable" | "auto") => {
      const { model: teacher } = trained(1, 8);
      teacher.setThreads(threads);
      teacher.setVariant(variant);
      const batch = stepBatch(3, 2); // 2 micro-batches of [2·16]
      const top = teacher.teacherTopK({ ...batch, b: 2 * batch.b }, { k: 6 }); // rows are independent
      const student = fresh(true);
      student.setThreads(threads);
      student.setVariant(variant);
      const metrics = [0, 1, 2].map(() => student.trainStep({ ...batch, teacher: top }));
      const out = {
        ids: Array.from(top.ids),
        probs: bits(top.probs),
        metrics,
        checkpoint: Buffer.from(student.save()).toString("base64"),
      };
      teacher.free();
      student.free();
      return { out, batch, top };
    };
    const reference = run(1, "portable");
    const { batch, top } = reference;
    expect(run(3, "auto").out).toEqual(reference.out);
    expect(run(2, "portable").out).toEqual(reference.out);
    // the micro-batches' own top-k equal the rows of the one call
    const { model: teacher } = trained(1, 8);
    const n = batch.b * batch.t;
    for (const m of [0, 1]) {
      const part = teacher.teacherTopK(
        {
          tokens: batch.tokens.subarray(m * n, (m + 1) * n),
          docIds: batch.docIds.subarray(m * n, (m + 1) * n),
          b: batch.b,
          t: batch.t,
        },
        { k: 6 },
      );
      expect(Array.from(part.ids)).toEqual(Array.from(top.ids.subarray(m * n * 6, (m + 1) * n * 6)));
      expect(bits(part.probs)).toEqual(bits(top.probs.subarray(m * n * 6, (m + 1) * n * 6)));
    }
    // distillation changes the loss: the same student without the teacher has kl 0 and another loss
    const plain = fresh(true);
    const without = plain.trainStep(batch);
    const first = reference.out.metrics[0];
    expect(without.kl).toBe(0);
    expect(first.kl).toBeGreaterThan(0);
    expect(first.loss).not.toBe(without.loss);
    expect(first.ce).toBe(without.ce); // same parameters before the first step: only the mix differs
    expect(first.loss).toBeCloseTo(0.5 * first.ce + 0.5 * 4 * first.kl, 5);
    // and trainSteps takes it the same way
    const multi = fresh(true);
    expect(multi.trainSteps([0, 1, 2].map(() => ({ ...batch, teacher: top })))).toEqual(reference.out.metrics[2]);
    expect(Buffer.from(multi.save()).toString("base64")).toBe(reference.out.checkpoint);
    for (const m of [teacher, plain, multi]) m.free();
  });

  test("bad arguments are KernelErrors naming the argument", () => {
    const model = Model.create(CONFIG, 1);
    const batch = fixedBatch();
    expectKernelError(() => model.teacherTopK(batch, { k: 0 }), /teacherTopK: k = 0 must be an integer in 1..32/);
    expectKernelError(() => model.teacherTopK(batch, { k: 33 }), /k = 33 must be an integer in 1..32/);
    expectKernelError(() => model.teacherTopK(batch, { k: 1.5 }), /k = 1.5 must be an integer/);
    expectKernelError(
      () => model.teacherTopK(batch, { k: 3, temperature: 0 }),
      /nexa_model_teacher_topk: temperature = 0 must be finite and > 0/,
    );
    expectKernelError(
      () => model.teacherTopK(batch, { k: 3, temperature: Number.NaN }),
      /temperature = NaN must be finite/,
    );
    expectKernelError(() => model.teacherTopK(batch, { k: 3, temperature: -1 }), /temperature = -1 must be finite/);
    expectKernelError(() => model.teacherTopK(batch, { k: 3, temperature: 1e-50 }), /teacher temperature 0 is invalid/);
    expectKernelError(
      () => model.teacherTopK({ ...batch, docIds: batch.docIds.subarray(1) }, { k: 3 }),
      /teacherTopK: docIds holds 31 values, expected 32/,
    );
    expectKernelError(() => model.teacherTopK({ ...batch, b: 1, t: 32 }, { k: 3 }), /T=32 invalid/);
    const bad = Uint32Array.from(batch.tokens);
    bad[7] = CONFIG.vocabSize;
    expectKernelError(
      () => model.teacherTopK({ ...batch, tokens: bad }, { k: 3 }),
      /token 32 at index 7 is outside vocab_size 32/,
    );
    model.free();
    expect(() => model.teacherTopK(batch, { k: 3 })).toThrow(/after free/);
  });
});

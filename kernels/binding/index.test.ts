// Loading, version check and error translation of the binding.

import { ABI_VERSION, KernelError, Status, abiVersion, selftestPanic, shuffleFill, PackPlan, Tokenizer } from "./index";

/** The KernelError `f` throws; fails the test when `f` returns normally or throws something else. */
function thrown(f: () => unknown): KernelError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(KernelError);
    return e as KernelError;
  }
  throw new Error("expected a KernelError, but the call returned normally");
}

describe("binding", () => {
  test("library ABI version matches the binding", () => {
    expect(abiVersion()).toBe(ABI_VERSION);
  });

  test("a Rust panic surfaces as KernelError(KERNEL_INTERNAL), not a crash", () => {
    let err: unknown;
    try {
      selftestPanic();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    const k = err as KernelError;
    expect(k.status).toBe(Status.INTERNAL);
    expect(k.code).toBe("KERNEL_INTERNAL");
    expect(k.message).toContain("deliberate panic");
    expect(k.hint).not.toBe("");
  });

  test("invalid arguments give a status and a message naming the argument", () => {
    expect(() => shuffleFill(10, 1, 5, 6)).toThrow(/exceed n = 10/);
    const e = thrown(() => PackPlan.create(new Uint32Array([1, 2]), 0));
    expect(e.status).toBe(Status.INVALID_ARGUMENT);
    expect(e.message).toContain("seq_len must be > 0");
  });

  test("malformed tokenizer files are FORMAT errors", () => {
    expect(() => Tokenizer.load(new TextEncoder().encode("not a tokenizer"), "native")).toThrow(KernelError);
    const e = thrown(() => Tokenizer.load(new TextEncoder().encode("{}"), "hf_json"));
    expect(e.status).toBe(Status.FORMAT);
    expect(e.message).toContain("pre_tokenizer");
  });

  test("use after free is caught in TypeScript", () => {
    const t = Tokenizer.train(["hello hello world"], { vocabSize: 260, minFrequency: 1 });
    t.free();
    expect(() => t.encode("x")).toThrow(/after free/);
    t.free(); // idempotent
  });
});

import {
  ConfigError,
  formatError,
  IntegrityError,
  ManifestError,
  NexaError,
  RegistryError,
  toNexaError,
} from "./index";

describe("NexaError", () => {
  it("prefixes the message with file and JSON path", () => {
    const err = new ManifestError("MANIFEST_WRONG_TYPE", "expected string, found number", {
      context: { file: "dataset.json", jsonPath: "$.shards[2].digest" },
      hint: 'write the digest as "sha256:<hex>"',
    });
    expect(err.message).toBe("dataset.json: $.shards[2].digest: expected string, found number");
    expect(err.detail).toBe("expected string, found number");
    expect(err.code).toBe("MANIFEST_WRONG_TYPE");
    expect(err.name).toBe("ManifestError");
    expect(err).toBeInstanceOf(NexaError);
    expect(err).toBeInstanceOf(Error);
  });

  it("includes the line number when known", () => {
    const err = new ConfigError("CONFIG_PARSE", "unexpected token", { context: { file: "train.json", line: 3 } });
    expect(err.message).toBe("train.json:3: unexpected token");
  });

  it("keeps the cause chain and renders it", () => {
    const root = new Error("ENOENT: no such file");
    const mid = new RegistryError("REGISTRY_IO", "cannot read blob", { cause: root, hint: "run `nexa registry fsck`" });
    const top = new IntegrityError("INTEGRITY_DIGEST", "verification failed", {
      cause: mid,
      context: { stage: "pack" },
    });
    expect(top.cause).toBe(mid);
    const text = formatError(top);
    expect(text).toContain("[INTEGRITY_DIGEST] verification failed");
    expect(text).toContain("caused by: [REGISTRY_IO] cannot read blob");
    expect(text).toContain("hint: run `nexa registry fsck`");
    expect(text).toContain("caused by: Error: ENOENT: no such file");
    const json = top.toJSON();
    expect(json.context.stage).toBe("pack");
    expect((json.cause as { code: string }).code).toBe("REGISTRY_IO");
  });

  it("prefixes file:line:column when the column is known", () => {
    const err = new ConfigError("CONFIG_X", 'unexpected "}"', {
      context: { file: "raw/a.jsonl", line: 2, column: 20 },
    });
    expect(err.message).toBe('raw/a.jsonl:2:20: unexpected "}"');
    expect(new ConfigError("C", "m", { context: { file: "f", column: 3 } }).message).toBe("f: m");
  });

  it("addContext fills only missing fields", () => {
    const err = new NexaError("X", "m", { context: { stage: "data" } });
    err.addContext({ stage: "pack", runId: "ab" });
    expect(err.context).toEqual({ stage: "data", runId: "ab" });
  });

  it("toNexaError wraps foreign errors as INTERNAL and passes NexaErrors through", () => {
    const wrapped = toNexaError(new TypeError("boom"), { stage: "train" });
    expect(wrapped.code).toBe("INTERNAL");
    expect(wrapped.context.stage).toBe("train");
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    const own = new ConfigError("CONFIG_X", "bad");
    expect(toNexaError(own)).toBe(own);
  });

  it("toNexaError keeps the code and hint of a coded foreign error (the kernels' KernelError)", () => {
    const kernel = Object.assign(new Error("seq_len must be > 0"), {
      code: "KERNEL_INVALID_ARGUMENT",
      hint: "check seq_len",
    });
    const e = toNexaError(kernel, { stage: "pack" });
    expect([e.code, e.hint, e.context.stage, e.cause]).toEqual([
      "KERNEL_INVALID_ARGUMENT",
      "check seq_len",
      "pack",
      kernel,
    ]);
    const errno = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    expect(toNexaError(errno).code).toBe("ENOENT");
  });
});

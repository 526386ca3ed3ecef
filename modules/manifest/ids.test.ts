import { deriveRunId, deriveStageId, digestBytes, isId, newInvocationId } from "./index";

const base = {
  stageName: "pack",
  configDigest: digestBytes("cfg"),
  inputManifestDigests: [digestBytes("a"), digestBytes("b")],
  toolDigest: digestBytes("tool"),
};

describe("ids", () => {
  it("stage_id is deterministic and independent of input order", () => {
    const id = deriveStageId(base);
    expect(isId(id)).toBe(true);
    expect(deriveStageId({ ...base, inputManifestDigests: [...base.inputManifestDigests].reverse() })).toBe(id);
  });

  it.each([
    ["stageName", "unpack"],
    ["configDigest", digestBytes("cfg2")],
    ["toolDigest", digestBytes("tool2")],
    ["inputManifestDigests", [digestBytes("a")]],
  ])("stage_id changes with %s", (field, value) => {
    expect(deriveStageId({ ...base, [field]: value })).not.toBe(deriveStageId(base));
  });

  it("rejects malformed digests", () => {
    expect(() => deriveStageId({ ...base, configDigest: "abc" })).toThrow(/config_digest: invalid digest/);
  });

  it("run_id depends on the ordered stage ids", () => {
    const a = deriveStageId(base);
    const b = deriveStageId({ ...base, stageName: "train" });
    expect(deriveRunId([a, b])).toBe(deriveRunId([a, b]));
    expect(deriveRunId([a, b])).not.toBe(deriveRunId([b, a]));
    expect(deriveRunId([a])).not.toBe(a);
    expect(() => deriveRunId(["nope"])).toThrow(/stage_ids\[0\]/);
  });

  it("invocation ids are random", () => {
    expect(newInvocationId()).not.toBe(newInvocationId());
  });
});

// The .nxpk reader against bytes written here from docs/formats.md: round trip, and every refusal names the file.
import { createHash } from "crypto";

import { IntegrityError } from "@nexa/modules/monitoring";

import { decodeShard, NXPK_SUPPORTED_VERSION } from "./index";

/** A shard as docs/formats.md lays it out (version and payload digest overridable to make bad files). */
function shardBytes(seqLen: number, padId: number, tokens: number[], docIds: number[], opts: { version?: number } = {}): Buffer {
  const n = tokens.length;
  const positions = docIds.map(() => 0); // the reader does not use position ids
  const out = Buffer.alloc(64 + 12 * n);
  out.write("NEXAPACK", 0, "latin1");
  out.writeUInt32LE(opts.version ?? 1, 8);
  out.writeUInt32LE(seqLen, 12);
  out.writeBigUInt64LE(BigInt(n / seqLen), 16);
  out.writeUInt32LE(padId, 24);
  [tokens, docIds, positions].forEach((a, k) => a.forEach((v, i) => out.writeUInt32LE(v >>> 0, 64 + 4 * (k * n + i))));
  createHash("sha256").update(out.subarray(64)).digest().copy(out, 32);
  return out;
}

const PAD = 0xffffffff;
const good = () => shardBytes(4, 9, [5, 6, 7, 9, 1, 2, 3, 4], [0, 0, 0, PAD, 0, 0, 1, 1]);

function failure(bytes: Buffer): IntegrityError {
  try {
    decodeShard(bytes, "validation-00000.nxpk");
  } catch (e) {
    expect(e).toBeInstanceOf(IntegrityError);
    return e as IntegrityError;
  }
  throw new Error("expected decodeShard to throw");
}

describe("shard reader", () => {
  it("reads header fields, tokens and document ids", () => {
    const s = decodeShard(good(), "validation-00000.nxpk");
    expect([s.seqLen, s.bins, s.padId]).toEqual([4, 2, 9]);
    expect(Array.from(s.tokens)).toEqual([5, 6, 7, 9, 1, 2, 3, 4]);
    expect(Array.from(s.docIds)).toEqual([0, 0, 0, PAD, 0, 0, 1, 1]);
  });

  it("refuses an unknown version, naming the file, the found and the supported version", () => {
    const e = failure(shardBytes(4, 9, [1, 2, 3, 4], [0, 0, 0, 0], { version: 2 }));
    expect(e.code).toBe("EVAL_SHARD_VERSION");
    expect(e.message).toBe(`validation-00000.nxpk: packed shard format version 2 is not supported; this reader supports version ${NXPK_SUPPORTED_VERSION}`);
    expect(e.context).toMatchObject({ found: 2, supported: 1 });
    expect(e.hint).toMatch(/newer/);
  });

  it("refuses bad magic, truncation, a wrong size and a payload digest mismatch", () => {
    const magic = good();
    magic.write("NEXAPACX", 0, "latin1");
    expect(failure(magic).message).toMatch(/^validation-00000\.nxpk: bad magic "NEXAPACX"/);
    expect(failure(good().subarray(0, 40)).code).toBe("EVAL_SHARD_TRUNCATED");
    expect(failure(good().subarray(0, 70)).code).toBe("EVAL_SHARD_BAD_HEADER");
    const flipped = good();
    flipped[70] ^= 1;
    const e = failure(flipped);
    expect(e.code).toBe("EVAL_SHARD_DIGEST");
    expect(e.message).toMatch(/^validation-00000\.nxpk: payload sha256 [0-9a-f]{64} differs from the header's/);
  });
});

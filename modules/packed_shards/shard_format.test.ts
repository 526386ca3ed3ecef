// The .nxpk writer and reader: round trip, byte layout of docs/formats.md, and refusal of damaged or newer files.
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { createHash } from "crypto";

import { NexaError } from "@nexa/modules/monitoring";

import { encodePackedShard, PACKED_PAD_DOC_ID, readPackedShard } from "./index";

const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "shard-"));

// Two bins of seq_len 4: [doc0 doc0 doc1 pad] [doc0 doc0 doc0 doc0].
const rows = {
  tokens: Uint32Array.from([10, 11, 12, 7, 20, 21, 22, 23]),
  docIds: Uint32Array.from([0, 0, 1, PACKED_PAD_DOC_ID, 0, 0, 0, 0]),
  positions: Uint32Array.from([0, 1, 0, 0, 0, 1, 2, 3]),
};

function writeShard(name: string, bytes: Buffer): string {
  const file = path.join(dir, name);
  writeFileSync(file, bytes);
  return file;
}

describe("packed shard format", () => {
  it("writes the documented header and payload, and reads it back", async () => {
    const bytes = encodePackedShard(4, 7, rows);
    expect(bytes.length).toBe(64 + 3 * 4 * 8);
    expect(bytes.subarray(0, 8).toString("latin1")).toBe("NEXAPACK");
    expect(bytes.readUInt32LE(8)).toBe(1);
    expect(bytes.readUInt32LE(12)).toBe(4);
    expect(bytes.readBigUInt64LE(16)).toBe(2n);
    expect(bytes.readUInt32LE(24)).toBe(7);
    expect(bytes.readUInt32LE(28)).toBe(0);
    expect(bytes.subarray(32, 64).toString("hex")).toBe(createHash("sha256").update(bytes.subarray(64)).digest("hex"));
    // tokens, then doc ids, then positions, u32 little-endian
    expect(bytes.readUInt32LE(64)).toBe(10);
    expect(bytes.readUInt32LE(64 + 32 + 12)).toBe(PACKED_PAD_DOC_ID);
    expect(bytes.readUInt32LE(64 + 64 + 4)).toBe(1);

    const shard = await readPackedShard(writeShard("ok.nxpk", bytes));
    expect(shard.header).toMatchObject({ version: 1, seqLen: 4, bins: 2, padId: 7 });
    expect(Array.from(shard.tokens)).toEqual(Array.from(rows.tokens));
    expect(Array.from(shard.docIds)).toEqual(Array.from(rows.docIds));
    expect(Array.from(shard.positions)).toEqual(Array.from(rows.positions));
  });

  it("reads an empty shard (0 bins)", async () => {
    const empty = { tokens: new Uint32Array(0), docIds: new Uint32Array(0), positions: new Uint32Array(0) };
    const shard = await readPackedShard(writeShard("empty.nxpk", encodePackedShard(4, 7, empty)));
    expect(shard.header.bins).toBe(0);
    expect(shard.tokens.length).toBe(0);
  });

  it("rejects a corrupted payload, naming the file", async () => {
    const bytes = encodePackedShard(4, 7, rows);
    bytes[64 + 5] ^= 0xff;
    const file = writeShard("corrupt.nxpk", bytes);
    await expect(readPackedShard(file)).rejects.toMatchObject({ code: "SHARD_DIGEST_MISMATCH", context: { file } });
    await expect(readPackedShard(file)).rejects.toThrow(/corrupt\.nxpk: payload sha256/);
  });

  it("rejects a future format version, naming the file, the found and the supported version", async () => {
    const bytes = encodePackedShard(4, 7, rows);
    bytes.writeUInt32LE(2, 8);
    const file = writeShard("future.nxpk", bytes);
    const err = await readPackedShard(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NexaError);
    expect(err).toMatchObject({ code: "SHARD_UNSUPPORTED_VERSION", context: { file, found: 2, supported: 1 } });
    expect((err as Error).message).toMatch(
      /future\.nxpk: packed shard format version 2 is not supported; this reader supports version 1/,
    );
    expect((err as NexaError).hint).toMatch(/newer/);
  });

  it("rejects a wrong magic and a truncated file", async () => {
    const bytes = encodePackedShard(4, 7, rows);
    const bad = Buffer.from(bytes);
    bad.write("NOTAPACK", 0, "latin1");
    await expect(readPackedShard(writeShard("magic.nxpk", bad))).rejects.toMatchObject({ code: "SHARD_BAD_MAGIC" });
    await expect(readPackedShard(writeShard("short.nxpk", bytes.subarray(0, bytes.length - 4)))).rejects.toMatchObject({
      code: "SHARD_BAD_HEADER",
    });
    await expect(readPackedShard(writeShard("tiny.nxpk", bytes.subarray(0, 10)))).rejects.toMatchObject({
      code: "SHARD_TRUNCATED",
    });
  });
});

// Shards as the pack stage makes them: the kernels' packing plan materialised in three shards, written to disk
// by the writer, read back by the verifying reader; together they hold every document token exactly once, in
// segment order, and the header digest matches an independent SHA-256 of the payload.
import { createHash } from "crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { PackPlan } from "@nexa/kernels/binding";

import { encodePackedShard, PACKED_HEADER_BYTES, PACKED_PAD_DOC_ID, readPackedShard } from "./index";

describe("packed shards with the kernels' packer", () => {
  it("round-trips a multi-shard packing through files, losing and duplicating nothing", async () => {
    const seqLen = 16;
    const padId = 0;
    // 40 documents of 1..37 tokens (some longer than seq_len, so they are cut into chunks)
    const lengths = Uint32Array.from({ length: 40 }, (_, i) => 1 + ((i * 7) % 37));
    const offsets = new BigUint64Array(lengths.length + 1);
    lengths.forEach((l, i) => (offsets[i + 1] = offsets[i] + BigInt(l)));
    const tokens = Uint32Array.from({ length: Number(offsets[lengths.length]) }, (_, i) => 1 + (i % 997));
    const plan = PackPlan.create(lengths, seqLen);
    const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "shards-"));
    const files: string[] = [];
    try {
      for (let shard = 0; shard < 3; shard++) {
        const { first, count } = plan.shardBins(shard, 3);
        const rows = plan.materialize(tokens, offsets, padId, first, count);
        const file = path.join(dir, `train-${String(shard).padStart(5, "0")}.nxpk`);
        writeFileSync(file, encodePackedShard(seqLen, padId, rows));
        files.push(file);
      }
      const totalBins = plan.stats().bins;
      let bins = 0;
      let real = 0;
      let sum = 0n;
      for (const file of files) {
        const bytes = readFileSync(file);
        const digest = createHash("sha256").update(bytes.subarray(PACKED_HEADER_BYTES)).digest();
        expect(bytes.subarray(32, 64).equals(digest)).toBe(true); // the header's payload digest (docs/formats.md)
        const shard = await readPackedShard(file);
        expect(shard.header).toMatchObject({ seqLen, padId });
        bins += shard.header.bins;
        for (let i = 0; i < shard.tokens.length; i++) {
          if (shard.docIds[i] === PACKED_PAD_DOC_ID) {
            expect(shard.tokens[i]).toBe(padId);
            continue;
          }
          real++;
          sum += BigInt(shard.tokens[i]);
          // positions restart at 0 at each segment and count up inside it
          if (i % seqLen > 0 && shard.docIds[i] === shard.docIds[i - 1])
            expect(shard.positions[i]).toBe(shard.positions[i - 1] + 1);
        }
      }
      expect(bins).toBe(totalBins);
      expect(real).toBe(tokens.length);
      expect(sum).toBe(tokens.reduce((a, t) => a + BigInt(t), 0n));
      // a flipped payload byte in one file is refused, naming that file
      const bad = readFileSync(files[1]);
      bad[PACKED_HEADER_BYTES + 5] ^= 1;
      writeFileSync(files[1], bad);
      await expect(readPackedShard(files[1])).rejects.toThrow(/train-00001\.nxpk/);
    } finally {
      plan.free();
    }
  });
});

// Reader of packed shard files `<split>-<NNNNN>.nxpk` (docs/formats.md "Packed shards" is the authority; this
// module reads the format from the doc, never through modules/pack's code):
//
//   offset  size               field
//   0       8                  magic "NEXAPACK"
//   8       4                  u32 format version (this reader: 1)
//   12      4                  u32 seq_len (tokens per bin)
//   16      8                  u64 bins
//   24      4                  u32 pad_id
//   28      4                  u32 reserved (= 0)
//   32      32                 sha256 of the payload (bytes 64..end)
//   64      4·bins·seq_len     tokens, u32
//   …       4·bins·seq_len     document ids, u32 (0xFFFFFFFF at padding)
//   …       4·bins·seq_len     position ids, u32
//
// Every check names the file; a version this reader does not know names the found and supported versions.

import { createHash } from "crypto";
import { readFile } from "fs/promises";
import { endianness } from "os";

import { IntegrityError, NexaError } from "@nexa/modules/monitoring";

export const NXPK_MAGIC = "NEXAPACK";
export const NXPK_SUPPORTED_VERSION = 1;
const HEADER_BYTES = 64;

/** One verified shard: header fields and [bins × seqLen] row-major arrays. */
export interface ShardRows {
  seqLen: number;
  bins: number;
  padId: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
}

/** A Uint32Array over `count` little-endian u32 at `offset` (copied when unaligned). */
function u32At(bytes: Buffer, offset: number, count: number): Uint32Array {
  const at = bytes.byteOffset + offset;
  if (at % 4 === 0) return new Uint32Array(bytes.buffer, at, count);
  return new Uint32Array(Uint8Array.from(bytes.subarray(offset, offset + 4 * count)).buffer);
}

/** Decodes and verifies the bytes of one shard; `file` names it in every error. */
export function decodeShard(bytes: Buffer, file: string): ShardRows {
  if (endianness() !== "LE") {
    throw new NexaError("EVAL_BIG_ENDIAN_HOST", "the .nxpk reader assumes a little-endian host", {
      context: { file }, hint: "run the eval stage on a little-endian machine (x86-64, aarch64)",
    });
  }
  const rerun = "the file is truncated or corrupted; re-run the pack stage that produced it";
  if (bytes.length < HEADER_BYTES) {
    throw new IntegrityError("EVAL_SHARD_TRUNCATED", `${bytes.length} bytes is shorter than the ${HEADER_BYTES}-byte .nxpk header`, {
      context: { file }, hint: rerun,
    });
  }
  const magic = bytes.subarray(0, 8).toString("latin1");
  if (magic !== NXPK_MAGIC) {
    throw new IntegrityError("EVAL_SHARD_BAD_MAGIC", `bad magic ${JSON.stringify(magic)}, expected "${NXPK_MAGIC}"`, {
      context: { file }, hint: "the file is not a packed shard (docs/formats.md \"Packed shards\")",
    });
  }
  const version = bytes.readUInt32LE(8);
  if (version !== NXPK_SUPPORTED_VERSION) {
    throw new IntegrityError("EVAL_SHARD_VERSION",
      `packed shard format version ${version} is not supported; this reader supports version ${NXPK_SUPPORTED_VERSION}`, {
        context: { file, found: version, supported: NXPK_SUPPORTED_VERSION },
        hint: version > NXPK_SUPPORTED_VERSION
          ? "the shard was written by a newer NexaCompute: upgrade modules/eval, or re-pack with this version"
          : "the shard was written by an older NexaCompute: re-run the pack stage",
      });
  }
  const seqLen = bytes.readUInt32LE(12);
  const bins = bytes.readBigUInt64LE(16);
  const padId = bytes.readUInt32LE(24);
  const reserved = bytes.readUInt32LE(28);
  const expected = BigInt(HEADER_BYTES) + 12n * bins * BigInt(seqLen);
  if (seqLen === 0 || reserved !== 0 || BigInt(bytes.length) !== expected) {
    throw new IntegrityError("EVAL_SHARD_BAD_HEADER",
      `header says seq_len ${seqLen}, bins ${bins}, reserved ${reserved} (file size ${expected}), but the file has ${bytes.length} bytes`, {
        context: { file }, hint: rerun,
      });
  }
  const recorded = bytes.subarray(32, 64).toString("hex");
  const actual = createHash("sha256").update(bytes.subarray(HEADER_BYTES)).digest("hex");
  if (recorded !== actual) {
    throw new IntegrityError("EVAL_SHARD_DIGEST", `payload sha256 ${actual} differs from the header's ${recorded}`, {
      context: { file, expected: recorded, actual }, hint: rerun,
    });
  }
  const n = Number(bins) * seqLen;
  return {
    seqLen,
    bins: Number(bins),
    padId,
    tokens: u32At(bytes, HEADER_BYTES, n),
    docIds: u32At(bytes, HEADER_BYTES + 4 * n, n),
  };
}

/** Reads and verifies one .nxpk file; `display` names it in errors (default: the path). */
export async function readShard(filePath: string, display: string = filePath): Promise<ShardRows> {
  return decodeShard(await readFile(filePath), display);
}

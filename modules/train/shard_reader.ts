// Reader of packed shard files `<split>-<NNNNN>.nxpk`, written from docs/formats.md "Packed shards" (the
// authority; the train module shares only the format, never the pack module's code):
//
//   offset  size               field
//   0       8                  magic "NEXAPACK"
//   8       4                  u32 format version (= 1)
//   12      4                  u32 seq_len
//   16      8                  u64 bins
//   24      4                  u32 pad_id
//   28      4                  u32 reserved (= 0)
//   32      32                 sha256 of the payload (bytes 64..end)
//   64      4·bins·seq_len     tokens, u32
//   …       4·bins·seq_len     document ids, u32 (0xFFFFFFFF at padding)
//   …       4·bins·seq_len     position ids, u32 (not needed: the model derives positions from document ids)
//
// Every check failure names the file and what was expected (P6: readers refuse what they do not understand).

import { createHash } from "crypto";
import { endianness } from "os";

import { IntegrityError } from "@nexa/modules/monitoring";

export const SHARD_MAGIC = "NEXAPACK";
export const SHARD_FORMAT_VERSION = 1;
export const SHARD_HEADER_BYTES = 64;
/** Document id at padding positions. */
export const SHARD_PAD_DOC_ID = 0xffffffff;

/** Rows of one shard: tokens and document ids, [bins × seqLen] each. */
export interface ShardRows {
  seqLen: number;
  bins: number;
  padId: number;
  tokens: Uint32Array;
  docIds: Uint32Array;
}

/** What the manifest says the shard holds (checked against the header). */
export interface ShardExpectation {
  seqLen: number;
  bins: number;
}

function bad(file: string, message: string, hint: string): IntegrityError {
  return new IntegrityError("TRAIN_BAD_SHARD", message, { context: { file }, hint });
}

/** A u32 array copied out of `bytes` (copying makes it aligned whatever the Buffer's offset). */
function u32At(bytes: Uint8Array, offset: number, count: number): Uint32Array {
  return new Uint32Array(bytes.buffer.slice(bytes.byteOffset + offset, bytes.byteOffset + offset + 4 * count));
}

/** Decodes and verifies one shard file's bytes; `file` names it in errors. */
export function decodeShard(bytes: Uint8Array, file: string, expect: ShardExpectation): ShardRows {
  if (endianness() !== "LE") {
    throw bad(file, "packed shards are little-endian and this reader supports little-endian hosts only", "run on x86-64 or arm64");
  }
  const rebuild = "rebuild the packed dataset with the pack stage of this repository";
  if (bytes.length < SHARD_HEADER_BYTES) {
    throw bad(file, `file is ${bytes.length} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte header`, rebuild);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = Buffer.from(bytes.subarray(0, 8)).toString("latin1");
  if (magic !== SHARD_MAGIC) {
    throw bad(file, `bad magic ${JSON.stringify(magic)}, expected "${SHARD_MAGIC}": not a packed shard`, rebuild);
  }
  const version = view.getUint32(8, true);
  if (version !== SHARD_FORMAT_VERSION) {
    throw bad(file, `packed shard format version ${version} is not supported (this reader supports version ${SHARD_FORMAT_VERSION})`,
      `re-pack the dataset with a pack stage that writes version ${SHARD_FORMAT_VERSION}, or upgrade modules/train`);
  }
  const seqLen = view.getUint32(12, true);
  const bins = Number(view.getBigUint64(16, true));
  const padId = view.getUint32(24, true);
  const reserved = view.getUint32(28, true);
  if (reserved !== 0) throw bad(file, `reserved header field is ${reserved}, expected 0`, rebuild);
  if (seqLen !== expect.seqLen || bins !== expect.bins) {
    throw bad(file, `header says seq_len ${seqLen} and ${bins} bins, the manifest says seq_len ${expect.seqLen} and ${expect.bins} sequences`,
      "the shard and packed.json come from different pack runs; rebuild the packed dataset");
  }
  const n = seqLen * bins;
  const expectedSize = SHARD_HEADER_BYTES + 3 * 4 * n;
  if (bytes.length !== expectedSize) {
    throw bad(file, `file is ${bytes.length} bytes, the header implies ${expectedSize} (64 + 12 · ${bins} · ${seqLen})`, rebuild);
  }
  const digest = createHash("sha256").update(bytes.subarray(SHARD_HEADER_BYTES)).digest();
  if (!digest.equals(Buffer.from(bytes.subarray(32, 64)))) {
    throw bad(file, `payload sha256 ${digest.toString("hex")} does not match the header's ${Buffer.from(bytes.subarray(32, 64)).toString("hex")}`,
      "the file is corrupt or truncated; rebuild the packed dataset");
  }
  return {
    seqLen,
    bins,
    padId,
    tokens: u32At(bytes, SHARD_HEADER_BYTES, n),
    docIds: u32At(bytes, SHARD_HEADER_BYTES + 4 * n, n),
  };
}

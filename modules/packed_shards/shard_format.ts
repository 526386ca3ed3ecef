// The packed shard file format `<split>-<NNNNN>.nxpk` (docs/formats.md "Packed shards", the authority):
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
//   …       4·bins·seq_len     document ids, u32 (index of the document within its bin, 0xFFFFFFFF at padding)
//   …       4·bins·seq_len     position ids, u32 (restart at 0 at each document start)
//
// All integers little-endian. The writer builds the bytes, the reader verifies magic, version, size and digest
// and refuses anything else with an error naming the file (P6: self-describing binary files).

import { createHash } from "crypto";
import { readFile } from "fs/promises";
import { endianness } from "os";

import { IntegrityError, NexaError } from "@nexa/modules/monitoring";

export const PACKED_MAGIC = "NEXAPACK";
export const PACKED_FORMAT_VERSION = 1;
export const PACKED_HEADER_BYTES = 64;
/** Document id at padding positions. */
export const PACKED_PAD_DOC_ID = 0xffffffff;

/** Header fields of one shard file. */
export interface PackedShardHeader {
  version: number;
  seqLen: number;
  bins: number;
  padId: number;
  /** Lowercase hex SHA-256 of the payload (bytes 64..end). */
  payloadSha256: string;
}

/** One decoded shard: header and three [bins × seqLen] row-major arrays. */
export interface PackedShard {
  header: PackedShardHeader;
  tokens: Uint32Array;
  docIds: Uint32Array;
  positions: Uint32Array;
}

// ----------------------------------------------------------------------------------------------------------
// writer

/** Typed arrays are host-endian; the format is little-endian. Every supported host is LE: say so if not. */
function requireLittleEndian(): void {
  if (endianness() !== "LE") {
    throw new NexaError("SHARD_BIG_ENDIAN_HOST", "the .nxpk writer and reader assume a little-endian host", {
      hint: "run the pack stage (and readers) on a little-endian machine (x86-64, aarch64)",
    });
  }
}

/** The bytes of a shard file holding `rows` (each array bins × seqLen). */
export function encodePackedShard(
  seqLen: number,
  padId: number,
  rows: { tokens: Uint32Array; docIds: Uint32Array; positions: Uint32Array },
): Buffer {
  requireLittleEndian();
  const n = rows.tokens.length;
  if (seqLen <= 0 || n % seqLen !== 0 || rows.docIds.length !== n || rows.positions.length !== n) {
    throw new NexaError(
      "SHARD_INTERNAL",
      `shard rows of ${n}/${rows.docIds.length}/${rows.positions.length} entries do not form bins of seq_len ${seqLen}`,
      {
        hint: "rows must hold bins × seq_len entries each",
      },
    );
  }
  const bins = n / seqLen;
  const out = Buffer.alloc(PACKED_HEADER_BYTES + 12 * n);
  const asBytes = (a: Uint32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  asBytes(rows.tokens).copy(out, PACKED_HEADER_BYTES);
  asBytes(rows.docIds).copy(out, PACKED_HEADER_BYTES + 4 * n);
  asBytes(rows.positions).copy(out, PACKED_HEADER_BYTES + 8 * n);
  out.write(PACKED_MAGIC, 0, "latin1");
  out.writeUInt32LE(PACKED_FORMAT_VERSION, 8);
  out.writeUInt32LE(seqLen, 12);
  out.writeBigUInt64LE(BigInt(bins), 16);
  out.writeUInt32LE(padId, 24);
  out.writeUInt32LE(0, 28);
  createHash("sha256").update(out.subarray(PACKED_HEADER_BYTES)).digest().copy(out, 32);
  return out;
}

// ----------------------------------------------------------------------------------------------------------
// reader

/** A Uint32Array over `count` u32 at `offset` of `bytes` (copied when unaligned). */
function u32View(bytes: Buffer, offset: number, count: number): Uint32Array {
  const at = bytes.byteOffset + offset;
  if (at % 4 === 0) return new Uint32Array(bytes.buffer, at, count);
  return new Uint32Array(Uint8Array.from(bytes.subarray(offset, offset + 4 * count)).buffer);
}

/** Decodes and verifies shard bytes; `file` names the source in errors. */
export function decodePackedShard(bytes: Buffer, file: string): PackedShard {
  requireLittleEndian();
  const context = { file };
  if (bytes.length < PACKED_HEADER_BYTES) {
    throw new IntegrityError(
      "SHARD_TRUNCATED",
      `file has ${bytes.length} bytes, shorter than the ${PACKED_HEADER_BYTES}-byte header`,
      {
        context,
        hint: "the file is truncated or not a packed shard; re-run the pack stage that produced it",
      },
    );
  }
  const magic = bytes.subarray(0, 8).toString("latin1");
  if (magic !== PACKED_MAGIC) {
    throw new IntegrityError("SHARD_BAD_MAGIC", `bad magic ${JSON.stringify(magic)}, expected "${PACKED_MAGIC}"`, {
      context,
      hint: "the file is not a NexaCompute packed shard (.nxpk, docs/formats.md)",
    });
  }
  const version = bytes.readUInt32LE(8);
  if (version !== PACKED_FORMAT_VERSION) {
    throw new NexaError(
      "SHARD_UNSUPPORTED_VERSION",
      `packed shard format version ${version} is not supported; this reader supports version ${PACKED_FORMAT_VERSION}`,
      {
        context: { file, found: version, supported: PACKED_FORMAT_VERSION },
        hint:
          version > PACKED_FORMAT_VERSION
            ? "the file was written by a newer NexaCompute: upgrade this reader, or re-run the pack stage with this version"
            : "the file was written by an older NexaCompute: re-run the pack stage",
      },
    );
  }
  const seqLen = bytes.readUInt32LE(12);
  const bins = bytes.readBigUInt64LE(16);
  const padId = bytes.readUInt32LE(24);
  const reserved = bytes.readUInt32LE(28);
  const expectedSize = BigInt(PACKED_HEADER_BYTES) + 12n * bins * BigInt(seqLen);
  if (seqLen === 0 || reserved !== 0 || BigInt(bytes.length) !== expectedSize) {
    throw new IntegrityError(
      "SHARD_BAD_HEADER",
      `header says seq_len ${seqLen}, bins ${bins}, reserved ${reserved} (expected file size ${expectedSize}), file has ${bytes.length} bytes`,
      {
        context,
        hint: "the file is truncated or corrupted; re-run the pack stage that produced it",
      },
    );
  }
  const recorded = bytes.subarray(32, 64).toString("hex");
  const actual = createHash("sha256").update(bytes.subarray(PACKED_HEADER_BYTES)).digest("hex");
  if (recorded !== actual) {
    throw new IntegrityError(
      "SHARD_DIGEST_MISMATCH",
      `payload sha256 ${actual} does not match the header's ${recorded}`,
      {
        context: { file, expected: recorded, actual },
        hint: "the file is corrupted; re-run the pack stage that produced it",
      },
    );
  }
  const n = Number(bins) * seqLen;
  return {
    header: { version, seqLen, bins: Number(bins), padId, payloadSha256: recorded },
    tokens: u32View(bytes, PACKED_HEADER_BYTES, n),
    docIds: u32View(bytes, PACKED_HEADER_BYTES + 4 * n, n),
    positions: u32View(bytes, PACKED_HEADER_BYTES + 8 * n, n),
  };
}

/** Reads and verifies one `.nxpk` file (magic, version, size, payload digest). */
export async function readPackedShard(path: string): Promise<PackedShard> {
  return decodePackedShard(await readFile(path), path);
}

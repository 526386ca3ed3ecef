// SHA-256 digests of bytes, files (streamed) and messages, in the "sha256:<64 hex>" form used by manifests.

import { createHash } from "crypto";
import { open } from "fs/promises";

import { IntegrityError } from "@nexa/modules/monitoring";

import { encodeMessageBytes } from "./canonical";
import type { MessageCodec } from "./contracts";

export const DIGEST_PREFIX = "sha256:";
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;
const HEX_RE = /^[0-9a-f]{64}$/;

/** Bytes read per chunk when hashing files. */
const HASH_CHUNK_BYTES = 4 << 20;

/** True when `digest` is "sha256:" + 64 lowercase hex. */
export function isDigest(digest: string): boolean {
  return DIGEST_RE.test(digest);
}

/** The 64-hex part of a digest; accepts "sha256:<hex>" or a bare hex string. Throws IntegrityError otherwise. */
export function digestHex(digest: string): string {
  if (DIGEST_RE.test(digest)) return digest.slice(DIGEST_PREFIX.length);
  if (HEX_RE.test(digest)) return digest;
  throw new IntegrityError("INTEGRITY_BAD_DIGEST", `invalid digest ${JSON.stringify(digest)}`, {
    hint: 'a digest is "sha256:" followed by 64 lowercase hex characters',
  });
}

/** "sha256:<hex>" of a bare hex digest (or of an already-prefixed one). */
export function toDigest(hexOrDigest: string): string {
  return DIGEST_PREFIX + digestHex(hexOrDigest);
}

/** Lowercase hex SHA-256 of bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** "sha256:<hex>" of bytes. */
export function digestBytes(bytes: Uint8Array | string): string {
  return DIGEST_PREFIX + sha256Hex(bytes);
}

/** Digest of the canonical JSON of a message (config digests, manifest digests). */
export function digestMessage<T>(codec: MessageCodec<T>, message: T): string {
  return digestBytes(encodeMessageBytes(codec, message));
}

export interface FileDigest {
  /** "sha256:<hex>". */
  digest: string;
  /** Bytes hashed. */
  sizeBytes: number;
}

/**
 * Streams a file through SHA-256 in constant memory. Double-buffered: the next chunk is read (libuv thread
 * pool) while the current one is hashed, so hashing runs close to SHA-256 speed.
 */
export async function digestFile(path: string): Promise<FileDigest> {
  const handle = await open(path, "r");
  try {
    const hash = createHash("sha256");
    const buffers = [Buffer.allocUnsafe(HASH_CHUNK_BYTES), Buffer.allocUnsafe(HASH_CHUNK_BYTES)];
    let sizeBytes = 0;
    let which = 0;
    let pending = handle.read(buffers[which], 0, HASH_CHUNK_BYTES, null);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) break;
      const current = buffers[which];
      which ^= 1;
      pending = handle.read(buffers[which], 0, HASH_CHUNK_BYTES, null);
      hash.update(current.subarray(0, bytesRead));
      sizeBytes += bytesRead;
    }
    return { digest: DIGEST_PREFIX + hash.digest("hex"), sizeBytes };
  } finally {
    await handle.close();
  }
}

// Local content-addressed store under $NEXA_HOME: blobs at cas/sha256/<hex[0:2]>/<hex[2:]>.
//
// Write protocol (crash-safe, safe under concurrent writers of the same blob):
//   1. copy the source into cas/tmp/<pid>-<random>.partial (created exclusively) while hashing it: files are
//      copied by the kernel (fs.copyFile) concurrently with a streamed SHA-256 of the source, and the source's
//      size/mtime/inode are compared before and after so a source modified meanwhile is refused;
//   2. fsync the temp file, make it read-only;
//   3. rename it onto its final path (atomic: readers see nothing or the whole blob; two writers of the
//      same blob both rename identical bytes), then fsync the directory.
// A blob that already exists is checked before it is trusted: its size always, its full hash the first time this
// store object meets it (a publish opens one store, so once per blob and publish). A bad one (corrupted or truncated in place) is replaced by the new copy, atomically
// (rename over it), so republishing a run repairs it. A good one gets its mtime refreshed: `gc` keeps blobs touched
// within its grace period, so a publish in progress never loses a blob it is about to reference. A file put with
// its expected digest whose blob is already stored and sound is only hashed (and checked against that digest): no
// copy, no fsync, which is what keeps a publish of cached stages cheap.
// A crash before the rename leaves only a *.partial file in cas/tmp, never a visible blob; `cleanTemp()`
// removes stale ones. Reads hash the bytes and refuse a blob whose digest does not match its name; getToFile
// copies and hashes concurrently the same way and only renames the copy into place once the digest matched.

import { createHash, randomBytes } from "crypto";
import { constants } from "fs";
import { chmod, copyFile, mkdir, open, readdir, rename, stat, unlink, utimes } from "fs/promises";
import type { FileHandle } from "fs/promises";
import { homedir } from "os";
import { dirname, join } from "path";

import { DIGEST_PREFIX, digestFile, digestHex } from "@nexa/modules/manifest";
import type { FileDigest } from "@nexa/modules/manifest";
import { IntegrityError, RegistryError } from "@nexa/modules/monitoring";

import { IO_CHUNK_BYTES } from "./blob_store";
import type { BlobStore, PutResult } from "./blob_store";

// ----------------------------------------------------------------------------------------------------------
// locations

/** $NEXA_HOME, default ~/.nexa. */
export function nexaHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.NEXA_HOME && env.NEXA_HOME !== "" ? env.NEXA_HOME : join(homedir(), ".nexa");
}

export interface LocalStoreOptions {
  /** Test hook: called after the temp file is complete and synced, before the rename (e.g. to simulate a crash). */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

// ----------------------------------------------------------------------------------------------------------
// helpers

/** What `check` found for one stored blob. */
export interface BlobCheck {
  digest: string;
  path: string;
  /** "ok", "corrupted" (hashes differently) or "missing" (no file). */
  state: "ok" | "corrupted" | "missing";
  /** The digest of the bytes on disk (null when missing). */
  actual: string | null;
  sizeBytes: number | null;
}

/** fsync of a file or directory (opened read-only, which Linux allows for both). */
async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
const fsyncDir = fsyncPath;
const fsyncFile = fsyncPath;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}

/** Copies `source` chunks into `out`, hashing them; returns [hex, size]. */
async function copyHashing(read: (buf: Buffer) => Promise<number>, out: FileHandle): Promise<[string, number]> {
  const hash = createHash("sha256");
  const buffer = Buffer.allocUnsafe(IO_CHUNK_BYTES);
  let size = 0;
  for (;;) {
    const n = await read(buffer);
    if (n === 0) break;
    const chunk = buffer.subarray(0, n);
    hash.update(chunk);
    let written = 0;
    while (written < n) written += (await out.write(chunk, written, n - written)).bytesWritten;
    size += n;
  }
  return [hash.digest("hex"), size];
}

// ----------------------------------------------------------------------------------------------------------
// store

/** The error of a source whose bytes do not hash to the digest recorded for them. */
function digestMismatch(source: string, digest: string, expectedDigest: string): IntegrityError {
  const expected = DIGEST_PREFIX + digestHex(expectedDigest);
  return new IntegrityError("INTEGRITY_DIGEST", `${source}: digest ${digest}, expected ${expected}`, {
    context: { path: source, expected, actual: digest },
    hint: "the source changed after its digest was recorded",
  });
}

export class LocalStore implements BlobStore {
  /** cas/sha256 directory. */
  readonly blobRoot: string;
  /** cas/tmp directory (same filesystem as blobRoot, so rename is atomic). */
  readonly tempRoot: string;
  /** Blob paths this store has hashed (an existing blob is re-hashed on its first use only). */
  private readonly verified = new Set<string>();

  constructor(
    readonly home: string = nexaHome(),
    private readonly options: LocalStoreOptions = {},
  ) {
    this.blobRoot = join(home, "cas", "sha256");
    this.tempRoot = join(home, "cas", "tmp");
  }

  /** Path of a blob (whether or not it exists). */
  blobPath(digest: string): string {
    const hex = digestHex(digest);
    return join(this.blobRoot, hex.slice(0, 2), hex.slice(2));
  }

  async put(bytes: Uint8Array, expectedDigest?: string): Promise<PutResult> {
    let offset = 0;
    return this.write(
      async (buf) => {
        const n = Math.min(buf.length, bytes.length - offset);
        buf.set(bytes.subarray(offset, offset + n));
        offset += n;
        return n;
      },
      expectedDigest,
      "<memory>",
    );
  }

  async putFile(path: string, expectedDigest?: string): Promise<PutResult> {
    if (expectedDigest !== undefined) {
      const stored = await this.alreadyStored(path, expectedDigest);
      if (stored !== undefined) return stored;
    }
    const tempPath = await this.newTempPath();
    let hashed: FileDigest;
    try {
      const before = await stat(path);
      // The kernel copy usually ends first, so the temp file's fsync overlaps the rest of the hashing.
      [hashed] = await Promise.all([
        digestFile(path),
        copyFile(path, tempPath, constants.COPYFILE_EXCL).then(() => fsyncFile(tempPath)),
      ]);
      const after = await stat(path);
      if (
        before.size !== after.size ||
        before.mtimeMs !== after.mtimeMs ||
        before.ino !== after.ino ||
        after.size !== hashed.sizeBytes
      ) {
        throw new RegistryError("REGISTRY_SOURCE_CHANGED", `${path} changed while it was being stored`, {
          context: { path },
          hint: "store files only once their writer has finished",
        });
      }
    } catch (err) {
      await unlink(tempPath).catch(() => undefined);
      if (err instanceof RegistryError) throw err;
      throw new RegistryError("REGISTRY_IO", `cannot store ${path}`, { context: { path }, cause: err });
    }
    return this.publishTemp(tempPath, hashed.digest, hashed.sizeBytes, expectedDigest, path);
  }

  /**
   * A put of `path` whose blob is already stored and sound (size, and its hash on first use): `path` is hashed and
   * checked against `expectedDigest`, nothing is copied or synced. Undefined when the blob is absent or damaged
   * (the caller then stores it, replacing a damaged one).
   */
  private async alreadyStored(path: string, expectedDigest: string): Promise<PutResult | undefined> {
    if (!(await this.has(expectedDigest))) return undefined;
    let hashed: FileDigest;
    try {
      hashed = await digestFile(path);
    } catch (err) {
      throw new RegistryError("REGISTRY_IO", `cannot store ${path}`, { context: { path }, cause: err });
    }
    if (digestHex(hashed.digest) !== digestHex(expectedDigest))
      throw digestMismatch(path, hashed.digest, expectedDigest);
    const finalPath = this.blobPath(expectedDigest);
    if ((await this.existingBlob(finalPath, hashed.digest, hashed.sizeBytes)) !== "good") return undefined;
    const now = new Date();
    await utimes(finalPath, now, now); // recently used: `gc` keeps it through its grace period
    return { digest: hashed.digest, sizeBytes: hashed.sizeBytes, existed: true };
  }

  private async newTempPath(): Promise<string> {
    await mkdir(this.tempRoot, { recursive: true });
    return join(this.tempRoot, `${process.pid}-${randomBytes(8).toString("hex")}.partial`);
  }

  /** The write protocol of the header comment, for bytes produced by `read`. */
  private async write(
    read: (buf: Buffer) => Promise<number>,
    expectedDigest: string | undefined,
    source: string,
  ): Promise<PutResult> {
    const tempPath = await this.newTempPath();
    const out = await open(tempPath, "wx", 0o644);
    let hex: string;
    let size: number;
    try {
      [hex, size] = await copyHashing(read, out);
      await out.sync();
    } catch (err) {
      await out.close();
      await unlink(tempPath).catch(() => undefined);
      throw new RegistryError("REGISTRY_IO", `cannot write blob from ${source}`, {
        context: { path: tempPath },
        cause: err,
      });
    }
    await out.close();
    return this.publishTemp(tempPath, DIGEST_PREFIX + hex, size, expectedDigest, source);
  }

  /** Checks the expected digest, then renames a complete, synced temp file onto the blob path. */
  private async publishTemp(
    tempPath: string,
    digest: string,
    size: number,
    expectedDigest: string | undefined,
    source: string,
  ): Promise<PutResult> {
    if (expectedDigest !== undefined && digestHex(expectedDigest) !== digestHex(digest)) {
      await unlink(tempPath);
      throw digestMismatch(source, digest, expectedDigest);
    }
    const finalPath = this.blobPath(digest);
    const existing = await this.existingBlob(finalPath, digest, size);
    if (existing === "good") {
      await unlink(tempPath);
      const now = new Date();
      await utimes(finalPath, now, now); // recently used: `gc` keeps it through its grace period
      return { digest, sizeBytes: size, existed: true };
    }
    await chmod(tempPath, 0o444); // blobs are immutable
    await this.options.beforeRename?.(tempPath);
    await mkdir(dirname(finalPath), { recursive: true });
    await rename(tempPath, finalPath); // atomic, over a bad blob too
    await fsyncDir(dirname(finalPath));
    this.verified.add(finalPath); // the bytes just hashed
    return existing === "bad"
      ? { digest, sizeBytes: size, existed: false, replaced: true }
      : { digest, sizeBytes: size, existed: false };
  }

  /** Whether a blob is already stored at `finalPath`, and if so whether its size (and, once, its hash) hold. */
  private async existingBlob(finalPath: string, digest: string, size: number): Promise<"absent" | "good" | "bad"> {
    const info = await stat(finalPath).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") return undefined;
      throw err;
    });
    if (info === undefined) return "absent";
    if (info.size !== size) {
      this.verified.delete(finalPath);
      return "bad";
    }
    if (this.verified.has(finalPath)) return "good";
    return (await this.check(digest)).state === "ok" ? "good" : "bad";
  }

  /**
   * Re-hashes one stored blob against its digest without throwing on a mismatch (fsck reports every bad blob).
   * Updates this store's record of verified blobs either way.
   */
  async check(digest: string): Promise<BlobCheck> {
    const path = this.blobPath(digest);
    const canonical = DIGEST_PREFIX + digestHex(digest);
    let hashed: FileDigest;
    try {
      hashed = await digestFile(path);
    } catch (err) {
      this.verified.delete(path);
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        return { digest: canonical, path, state: "missing", actual: null, sizeBytes: null };
      }
      throw new RegistryError("REGISTRY_IO", `cannot read blob ${path}`, { context: { path }, cause: err });
    }
    const ok = hashed.digest === canonical;
    if (ok) this.verified.add(path);
    else this.verified.delete(path);
    return {
      digest: canonical,
      path,
      state: ok ? "ok" : "corrupted",
      actual: hashed.digest,
      sizeBytes: hashed.sizeBytes,
    };
  }

  /** Deletes a stored blob (gc); false when it was not there. */
  async remove(digest: string): Promise<boolean> {
    const path = this.blobPath(digest);
    this.verified.delete(path);
    try {
      await unlink(path);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw new RegistryError("REGISTRY_IO", `cannot delete blob ${path}`, { context: { path }, cause: err });
    }
  }

  /** Opens a stored blob, or throws REGISTRY_NOT_FOUND. */
  private async openBlob(digest: string): Promise<[FileHandle, string]> {
    const path = this.blobPath(digest);
    try {
      return [await open(path, "r"), path];
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new RegistryError("REGISTRY_NOT_FOUND", `blob ${DIGEST_PREFIX + digestHex(digest)} is not in the store`, {
          context: { path, digest },
          hint: "publish the artifact first, or check $NEXA_HOME",
        });
      }
      throw new RegistryError("REGISTRY_IO", `cannot open blob ${path}`, { context: { path }, cause: err });
    }
  }

  private corrupted(path: string, digest: string, actualHex: string): IntegrityError {
    const expected = DIGEST_PREFIX + digestHex(digest);
    const actual = DIGEST_PREFIX + actualHex;
    return new IntegrityError("INTEGRITY_DIGEST", `corrupted blob ${path}: expected ${expected}, actual ${actual}`, {
      context: { path, expected, actual },
      hint: "delete the blob and publish the artifact again (its producing stage is cached by Bazel)",
    });
  }

  async get(digest: string): Promise<Buffer> {
    const [handle, path] = await this.openBlob(digest);
    let bytes: Buffer;
    try {
      bytes = await handle.readFile();
    } finally {
      await handle.close();
    }
    const actual = createHash("sha256").update(bytes).digest("hex");
    if (actual !== digestHex(digest)) throw this.corrupted(path, digest, actual);
    return bytes;
  }

  async getToFile(digest: string, destPath: string): Promise<void> {
    const [handle, path] = await this.openBlob(digest);
    await handle.close();
    const tempPath = `${destPath}.${randomBytes(6).toString("hex")}.partial`;
    let actual: FileDigest;
    try {
      [actual] = await Promise.all([digestFile(path), copyFile(path, tempPath, constants.COPYFILE_EXCL)]);
    } catch (err) {
      await unlink(tempPath).catch(() => undefined);
      throw new RegistryError("REGISTRY_IO", `cannot copy blob ${path} to ${destPath}`, {
        context: { path, dest: destPath },
        cause: err,
      });
    }
    if (actual.digest !== DIGEST_PREFIX + digestHex(digest)) {
      await unlink(tempPath);
      throw this.corrupted(path, digest, digestHex(actual.digest));
    }
    await chmod(tempPath, 0o644); // copies of read-only blobs are the caller's to modify
    await rename(tempPath, destPath);
  }

  async has(digest: string): Promise<boolean> {
    return exists(this.blobPath(digest));
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    const prefixes = await readdir(this.blobRoot).catch(() => [] as string[]);
    for (const prefix of prefixes.filter((p) => /^[0-9a-f]{2}$/.test(p))) {
      for (const rest of await readdir(join(this.blobRoot, prefix))) {
        if (/^[0-9a-f]{62}$/.test(rest)) out.push(DIGEST_PREFIX + prefix + rest);
      }
    }
    return out.sort();
  }

  /** Temp files left by crashed writers (never visible as blobs). */
  async listTemp(): Promise<string[]> {
    return (await readdir(this.tempRoot).catch(() => [] as string[])).sort();
  }

  /** Removes temp files older than `maxAgeMs` (default 1 h: older than any live write). Returns how many. */
  async cleanTemp(maxAgeMs = 3_600_000, now = Date.now()): Promise<number> {
    let removed = 0;
    for (const name of await this.listTemp()) {
      const path = join(this.tempRoot, name);
      const info = await stat(path).catch(() => undefined);
      if (info !== undefined && now - info.mtimeMs >= maxAgeMs) {
        await unlink(path).catch(() => undefined);
        removed += 1;
      }
    }
    return removed;
  }
}

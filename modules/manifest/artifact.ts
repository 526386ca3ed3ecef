// The one verified read of an artifact: a product manifest (schema, version and strict decoding checked, its own
// bytes checked against the listing that names it) and every file it lists (path inside the artifact directory,
// size, SHA-256). Stages open their upstream inputs through it (modules/stage `openInput`), the format modules read
// datasets, tokenizers and checkpoints through it, and `nexa verify` uses the same checks.
//
// One vocabulary of failures, whoever reads:
//   ARTIFACT_MISSING    a listed file (or the manifest itself) is not there
//   ARTIFACT_INTEGRITY  a file's size or digest differs from its listing, or its path leaves the directory
//   ARTIFACT_SCHEMA     the manifest is not the expected message (wrong schema name, bad JSON, unknown or missing fields)
//   ARTIFACT_VERSION    the manifest's schema_version is not one this reader supports
// Every message names the file, where it is listed (manifest + JSON path), who produced it (`origin.source`) and the
// fix (`origin.fix`, the hint).

import { readFile } from "fs/promises";
import * as path from "path";

import { IntegrityError, ManifestError, NexaError } from "@nexa/modules/monitoring";
import type { ErrorContext } from "@nexa/modules/monitoring";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";

import type { Contract } from "./contracts";
import { decodeManifest } from "./decode";
import { digestBytes } from "./digest";

export const ARTIFACT_MISSING = "ARTIFACT_MISSING";
export const ARTIFACT_INTEGRITY = "ARTIFACT_INTEGRITY";
export const ARTIFACT_SCHEMA = "ARTIFACT_SCHEMA";
export const ARTIFACT_VERSION = "ARTIFACT_VERSION";

/** Who produced an artifact and what to do when it is damaged: the words every error of its reads uses. */
export interface ArtifactOrigin {
  /** e.g. 'upstream stage "teacher_pack" (input packed)', 'registry run 3f2a…', 'checkpoint directory ckpt/'. */
  source: string;
  /** The fix, addressed to the operator, e.g. 're-run stage "teacher_pack" (bazel build its target)'. */
  fix: string;
  /** Context fields every error carries (e.g. upstream stage and slot). */
  context?: ErrorContext;
}

/** Where a reference is listed: the listing manifest's display name and the JSON path of the reference. */
export interface ListedAt {
  file: string;
  jsonPath: string;
}

function originContext(origin: ArtifactOrigin): ErrorContext {
  return { source: origin.source, ...(origin.context ?? {}) };
}

/** Refuses a listed path that is empty, absolute, has "..", or uses "\" (listings are "/"-relative to their directory). */
export function checkListedPath(ref: ArtifactRef, at: ListedAt, origin: ArtifactOrigin): void {
  const p = ref.path;
  if (
    p === "" ||
    path.posix.isAbsolute(p) ||
    path.win32.isAbsolute(p) ||
    p.split("/").includes("..") ||
    p.includes("\\")
  ) {
    throw new IntegrityError(
      ARTIFACT_INTEGRITY,
      `listed path ${JSON.stringify(p)} (from ${origin.source}) must be relative, "/"-separated, without ".." and non-empty`,
      {
        context: { ...originContext(origin), file: at.file, jsonPath: `${at.jsonPath}.path`, path: p, reason: "path" },
        hint: `manifests list files relative to their own directory; ${origin.fix}`,
      },
    );
  }
}

/** Compares a file's size and digest with its listing (ARTIFACT_INTEGRITY naming both). */
export function checkListedFile(
  ref: ArtifactRef,
  actual: { sizeBytes: number; digest: string },
  at: ListedAt,
  origin: ArtifactOrigin,
  name: string = ref.path,
): void {
  const reason = actual.sizeBytes !== ref.sizeBytes ? "size" : actual.digest !== ref.digest ? "digest" : undefined;
  if (reason === undefined) return;
  throw new IntegrityError(
    ARTIFACT_INTEGRITY,
    `${name} (from ${origin.source}) is ${actual.digest} (${actual.sizeBytes} bytes) but is listed as ${ref.digest} (${ref.sizeBytes} bytes)`,
    {
      context: {
        ...originContext(origin),
        file: at.file,
        jsonPath: at.jsonPath,
        path: name,
        reason,
        expected: `${ref.digest} (${ref.sizeBytes} bytes)`,
        actual: `${actual.digest} (${actual.sizeBytes} bytes)`,
      },
      hint: `the file changed after its manifest was written; ${origin.fix}`,
    },
  );
}

function missing(fullPath: string, name: string, at: ListedAt, origin: ArtifactOrigin, cause: unknown): NexaError {
  return new IntegrityError(ARTIFACT_MISSING, `${name} (from ${origin.source}) is missing`, {
    context: { ...originContext(origin), file: at.file, jsonPath: at.jsonPath, path: name },
    cause,
    hint: `a manifest is never published without its files; ${origin.fix}`,
  });
}

/** Reads `ref.path` under `dir` with path, size and digest checked; returns the bytes. */
export async function readListedFile(
  dir: string,
  ref: ArtifactRef,
  at: ListedAt,
  origin: ArtifactOrigin,
): Promise<Buffer> {
  checkListedPath(ref, at, origin);
  const full = path.join(dir, ref.path);
  let bytes: Buffer;
  try {
    bytes = await readFile(full);
  } catch (err) {
    throw missing(full, ref.path, at, origin, err);
  }
  checkListedFile(ref, { sizeBytes: bytes.length, digest: digestBytes(bytes) }, at, origin);
  return bytes;
}

/** Decodes manifest bytes as `contract`, mapping decode failures onto ARTIFACT_VERSION / ARTIFACT_SCHEMA. */
export function decodeArtifact<T>(
  contract: Contract<T>,
  bytes: Uint8Array,
  display: string,
  origin: ArtifactOrigin,
): T {
  try {
    return decodeManifest(contract, bytes, display);
  } catch (err) {
    if (!(err instanceof NexaError)) throw err;
    // A schema_version the reader does not support is a version problem; a missing one means the file is not this schema.
    const version = err.code.endsWith("_SCHEMA_VERSION") && err.message.includes("unsupported schema_version");
    throw new ManifestError(
      version ? ARTIFACT_VERSION : ARTIFACT_SCHEMA,
      `${display} (from ${origin.source}) is not a valid ${contract.name}: ${err.message}`,
      {
        context: {
          ...originContext(origin),
          ...err.context,
          file: display,
          schema: contract.name,
          decodeCode: err.code,
        },
        cause: err,
        hint: version
          ? `${origin.fix} with this version of NexaCompute (or read it with the version that wrote it)`
          : `${err.hint ?? "fix the manifest"}; ${origin.fix}`,
      },
    );
  }
}

/** How to open a product manifest. */
export interface OpenOptions {
  /** Who produced it (every error of this artifact and of the files it lists names it). */
  origin: ArtifactOrigin;
  /** How errors name the manifest file, e.g. "packed input packed.json" (default: its base name). */
  display?: string;
  /** The listing of the manifest itself (digest + size from a parent manifest); checked when given. */
  listed?: { ref: ArtifactRef; at: ListedAt };
  /** The schema name the parent listing records for it (checked against the contract). */
  schemaName?: string;
}

/** An opened, verified product manifest and the directory its listed files are relative to. */
export class Artifact<T> {
  constructor(
    readonly contract: Contract<T>,
    readonly message: T,
    /** digest + size + schema of the manifest file; no path (location-independent). */
    readonly ref: ArtifactRef,
    /** The manifest file's path on disk. */
    readonly file: string,
    readonly display: string,
    readonly origin: ArtifactOrigin,
    /** The manifest's verified bytes (what `ref` describes). */
    readonly bytes: Buffer,
  ) {}

  /** The directory the manifest's listed paths are relative to. */
  get dir(): string {
    return path.dirname(this.file);
  }

  /** Verified bytes of a file this manifest lists at `jsonPath`. */
  read(ref: ArtifactRef, jsonPath: string): Promise<Buffer> {
    return readListedFile(this.dir, ref, { file: this.display, jsonPath }, this.origin);
  }

  /** The checked path of a listed file (for copying it after `read`). */
  pathOf(ref: ArtifactRef, jsonPath: string): string {
    checkListedPath(ref, { file: this.display, jsonPath }, this.origin);
    return path.join(this.dir, ref.path);
  }

  /** A manifest this one lists at `jsonPath` (e.g. a TokenizerManifest), verified, decoded and opened. */
  async open<U>(ref: ArtifactRef, jsonPath: string, contract: Contract<U>): Promise<Artifact<U>> {
    const at = { file: this.display, jsonPath };
    const file = this.pathOf(ref, jsonPath);
    return openArtifact(file, contract, {
      origin: this.origin,
      display: ref.path,
      listed: { ref, at },
      schemaName: ref.schemaName === "" ? undefined : ref.schemaName,
    });
  }
}

/** Opens the product manifest at `file` (a filesystem path) as `contract`. */
export async function openArtifact<T>(file: string, contract: Contract<T>, options: OpenOptions): Promise<Artifact<T>> {
  const display = options.display ?? path.basename(file);
  const { origin } = options;
  const at = options.listed?.at ?? { file: display, jsonPath: "$" };
  if (options.schemaName !== undefined && options.schemaName !== contract.name) {
    throw new ManifestError(
      ARTIFACT_SCHEMA,
      `${display} (from ${origin.source}) is a ${options.schemaName || "file without schema"}, expected ${contract.name}`,
      {
        context: {
          ...originContext(origin),
          file: at.file,
          jsonPath: at.jsonPath,
          expected: contract.name,
          actual: options.schemaName,
        },
        hint: `wire a stage that produces ${contract.name} here`,
      },
    );
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw missing(file, display, at, origin, err);
  }
  const digest = digestBytes(bytes);
  if (options.listed)
    checkListedFile(
      options.listed.ref,
      { sizeBytes: bytes.length, digest },
      options.listed.at,
      origin,
      path.basename(file),
    );
  const message = decodeArtifact(contract, bytes, display, origin);
  const ref = ArtifactRef.fromPartial({
    digest,
    sizeBytes: bytes.length,
    mediaType: "application/json",
    schemaName: contract.name,
  });
  return new Artifact(contract, message, ref, file, display, origin, bytes);
}

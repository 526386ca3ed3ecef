// Verification of a manifest against the files it lists.
//
// Every ArtifactRef inside a manifest whose `path` is non-empty names a file relative to the manifest's
// directory; verification streams each file through SHA-256 and compares size and digest.

import { stat } from "fs/promises";
import { dirname, join } from "path";

import type { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { IntegrityError } from "@nexa/modules/monitoring";

import type { Contract } from "./contracts";
import { ARTIFACT_MISSING, checkListedFile, checkListedPath } from "./artifact";
import type { ArtifactOrigin } from "./artifact";
import { readManifest } from "./decode";
import { digestFile } from "./digest";

/** A listed file: the reference and the JSON path where the manifest holds it. */
export interface ListedFile {
  ref: ArtifactRef;
  jsonPath: string;
}

function looksLikeArtifactRef(value: Record<string, unknown>): boolean {
  return typeof value.digest === "string" && typeof value.path === "string" && typeof value.sizeBytes === "number";
}

/** All ArtifactRefs with a non-empty path inside a decoded message, in field order. */
export function listFiles(message: unknown): ListedFile[] {
  const out: ListedFile[] = [];
  const walk = (value: unknown, path: string) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
    } else if (typeof value === "object" && value !== null) {
      const obj = value as Record<string, unknown>;
      if (typeof obj.$case === "string" && "value" in obj) {
        walk(obj.value, path.replace(/\.[^.]*$/, `.${obj.$case}`)); // oneof union: name the member
        return;
      }
      if (looksLikeArtifactRef(obj)) {
        if (obj.path !== "") out.push({ ref: obj as unknown as ArtifactRef, jsonPath: path });
        return;
      }
      for (const [key, child] of Object.entries(obj)) walk(child, `${path}.${key}`);
    }
  };
  walk(message, "$");
  return out;
}

/** The origin `nexa verify` names when it checks a manifest on its own. */
function defaultOrigin(manifestFile: string): ArtifactOrigin {
  return {
    source: `the directory of ${manifestFile}`,
    fix: "restore the file from the producing stage's outputs or the registry (re-run or re-pull it)",
  };
}

/**
 * Verifies each listed file (relative to `baseDir`) has the recorded size and digest, streaming large files.
 * Throws ARTIFACT_MISSING / ARTIFACT_INTEGRITY (modules/manifest artifact.ts) naming the manifest, the JSON path,
 * the file and expected vs actual values.
 */
export async function verifyFiles(
  manifestFile: string,
  baseDir: string,
  files: readonly ListedFile[],
  origin: ArtifactOrigin = defaultOrigin(manifestFile),
): Promise<void> {
  for (const file of files) {
    const at = { file: manifestFile, jsonPath: file.jsonPath };
    checkListedPath(file.ref, at, origin);
    const full = join(baseDir, file.ref.path);
    let size: number;
    try {
      size = (await stat(full)).size;
    } catch (err) {
      throw new IntegrityError(ARTIFACT_MISSING, `${file.ref.path} (from ${origin.source}) is missing`, {
        context: { source: origin.source, ...(origin.context ?? {}), ...at, path: file.ref.path },
        cause: err,
        hint: `a manifest is never published without its files; ${origin.fix}`,
      });
    }
    // The size first: a truncated file is reported without hashing it.
    const actual = size !== file.ref.sizeBytes ? { sizeBytes: size, digest: "(not hashed)" } : await digestFile(full);
    checkListedFile(file.ref, actual, at, origin);
  }
}

/** Reads a manifest strictly, then verifies every file it lists (relative to the manifest's directory). */
export async function verifyManifest<T>(
  contract: Contract<T>,
  manifestPath: string,
  displayName: string = manifestPath,
): Promise<T> {
  const message = readManifest(contract, manifestPath, displayName);
  await verifyFiles(displayName, dirname(manifestPath), listFiles(message));
  return message;
}

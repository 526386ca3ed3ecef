// Verification of a manifest against the files it lists.
//
// Every ArtifactRef inside a manifest whose `path` is non-empty names a file relative to the manifest's
// directory; verification streams each file through SHA-256 and compares size and digest.

import { stat } from "fs/promises";
import { dirname, isAbsolute, join } from "path";

import type { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { IntegrityError } from "@nexa/modules/monitoring";

import type { Contract } from "./contracts";
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

/** Checks that `relPath` stays inside the manifest directory. */
function checkRelativePath(manifestFile: string, file: ListedFile): void {
  const p = file.ref.path;
  if (isAbsolute(p) || p.split("/").includes("..") || p.includes("\\")) {
    throw new IntegrityError("INTEGRITY_BAD_PATH", `path ${JSON.stringify(p)} must be relative, "/"-separated and without ".."`, {
      context: { file: manifestFile, jsonPath: `${file.jsonPath}.path` },
      hint: "manifests list files relative to their own directory",
    });
  }
}

/**
 * Verifies each listed file (relative to `baseDir`) has the recorded size and digest.
 * Throws IntegrityError naming the manifest, the JSON path, the file and expected vs actual values.
 */
export async function verifyFiles(manifestFile: string, baseDir: string, files: readonly ListedFile[]): Promise<void> {
  for (const file of files) {
    checkRelativePath(manifestFile, file);
    const full = join(baseDir, file.ref.path);
    const context = { file: manifestFile, jsonPath: file.jsonPath, path: file.ref.path };
    let size: number;
    try {
      size = (await stat(full)).size;
    } catch (err) {
      throw new IntegrityError("INTEGRITY_MISSING_FILE", `listed file ${file.ref.path} is missing`, {
        context, cause: err, hint: "re-run the producing stage; a manifest must never be published without its files",
      });
    }
    if (size !== file.ref.sizeBytes) {
      throw new IntegrityError("INTEGRITY_SIZE", `${file.ref.path}: size ${size} bytes, manifest says ${file.ref.sizeBytes}`, {
        context: { ...context, expected: file.ref.sizeBytes, actual: size }, hint: "the file was modified or truncated after the manifest was written",
      });
    }
    const actual = await digestFile(full);
    if (actual.digest !== file.ref.digest) {
      throw new IntegrityError("INTEGRITY_DIGEST", `${file.ref.path}: digest ${actual.digest}, manifest says ${file.ref.digest}`, {
        context: { ...context, expected: file.ref.digest, actual: actual.digest }, hint: "the file was modified after the manifest was written",
      });
    }
  }
}

/** Reads a manifest strictly, then verifies every file it lists (relative to the manifest's directory). */
export async function verifyManifest<T>(contract: Contract<T>, manifestPath: string, displayName: string = manifestPath): Promise<T> {
  const message = readManifest(contract, manifestPath, displayName);
  await verifyFiles(displayName, dirname(manifestPath), listFiles(message));
  return message;
}

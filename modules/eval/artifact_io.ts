// Reading upstream artifacts with their integrity checked: a stage input's product manifest (schema checked,
// strictly decoded, referenced by digest) and files a manifest lists (path inside the directory, size, digest).

import { readFile } from "fs/promises";
import * as path from "path";

import { decodeManifest, digestBytes } from "@nexa/modules/manifest";
import type { Contract } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";

/** A decoded product manifest of one input slot. */
export interface Product<T> {
  message: T;
  /** Reference to the product file (digest of its bytes, schema name, no path: it lives outside this stage). */
  ref: ArtifactRef;
  /** Directory the product's file references are relative to. */
  dir: string;
  /** How errors name the file, e.g. "checkpoint input checkpoint.json". */
  display: string;
}

/** Decodes the product of `input`, which must be a `contract` message. */
export async function readProduct<T>(input: StageInput, contract: Contract<T>, stage: string): Promise<Product<T>> {
  const display = `${input.slot} input ${path.basename(input.productPath)}`;
  if (input.productSchema !== contract.name) {
    throw new ConfigError("EVAL_INPUT_SCHEMA", `the "${input.slot}" input's product is ${input.productSchema}, expected ${contract.name}`, {
      context: { file: display, stage },
      hint: `wire a stage producing ${contract.name} into \`${input.slot}\` (pipelines/stages.bzl eval_stage)`,
    });
  }
  const bytes = await readFile(input.productPath);
  const message = decodeManifest(contract, bytes, display);
  const ref = ArtifactRef.fromPartial({
    digest: digestBytes(bytes), sizeBytes: bytes.length, mediaType: "application/json", schemaName: contract.name,
  });
  return { message, ref, dir: path.dirname(input.productPath), display };
}

/** Reads `ref.path` under `dir` and checks size and digest; `where` names the reference (file + JSON path). */
export async function readVerified(dir: string, ref: ArtifactRef, where: { file: string; jsonPath: string }): Promise<Buffer> {
  if (ref.path === "" || path.isAbsolute(ref.path) || ref.path.split("/").includes("..") || ref.path.includes("\\")) {
    throw new IntegrityError("EVAL_BAD_PATH", `path ${JSON.stringify(ref.path)} must be relative, "/"-separated and without ".."`, {
      context: { ...where }, hint: "re-run the upstream stage; manifests list files relative to their own directory",
    });
  }
  let data: Buffer;
  try {
    data = await readFile(path.join(dir, ref.path));
  } catch (err) {
    throw new IntegrityError("EVAL_MISSING_FILE", `listed file ${ref.path} cannot be read`, {
      context: { ...where, path: ref.path }, cause: err, hint: "re-run the upstream stage; its directory is incomplete",
    });
  }
  const digest = digestBytes(data);
  if (digest !== ref.digest || data.length !== ref.sizeBytes) {
    throw new IntegrityError("EVAL_FILE_INTEGRITY",
      `${ref.path} has ${digest} (${data.length} bytes) but the manifest records ${ref.digest} (${ref.sizeBytes} bytes)`, {
        context: { ...where, path: ref.path, expected: ref.digest, actual: digest },
        hint: "the upstream stage directory was modified after it was written; re-run that stage",
      });
  }
  return data;
}

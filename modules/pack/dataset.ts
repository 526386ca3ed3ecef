// Reading the upstream text dataset: its DatasetManifest (the `dataset` input's product) and the texts of the
// `<split>-NNNNN.jsonl` shards it lists (docs/formats.md "Text datasets"), verified against their digests.

import { readFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import type { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";

/** The upstream dataset: its manifest, a location-independent reference to it, and where its shards live. */
export interface UpstreamDataset {
  manifest: DatasetManifest;
  /** digest + size of the DatasetManifest file, schema nexa.v1.DatasetManifest, path empty. */
  ref: ArtifactRef;
  /** Directory the shard paths are relative to. */
  dir: string;
  /** Display name of the manifest file for errors (slot + file name, never an absolute path). */
  display: string;
}

/** Reads and strictly decodes the product manifest of the `dataset` input. */
export async function readUpstreamDataset(input: StageInput): Promise<UpstreamDataset> {
  const display = `${input.slot} input ${path.basename(input.productPath)}`;
  if (input.productSchema !== CONTRACTS.DatasetManifest.name) {
    throw new ConfigError("PACK_INPUT_SCHEMA", `the "${input.slot}" input's product is ${input.productSchema}, expected ${CONTRACTS.DatasetManifest.name}`, {
      context: { file: display }, hint: `wire a data or distill stage into \`${input.slot}\``,
    });
  }
  const bytes = await readFile(input.productPath);
  const manifest = decodeManifest(CONTRACTS.DatasetManifest, bytes, display);
  const ref = ArtifactRef.fromPartial({
    digest: digestBytes(bytes),
    sizeBytes: bytes.length,
    mediaType: "application/json",
    schemaName: CONTRACTS.DatasetManifest.name,
  });
  return { manifest, ref, dir: path.dirname(input.productPath), display };
}

/** Split names of the dataset, in manifest order. */
export function datasetSplits(ds: UpstreamDataset): string[] {
  const names = ds.manifest.splits.map((s) => s.name);
  for (const shard of ds.manifest.shards) if (!names.includes(shard.split)) names.push(shard.split);
  return names;
}

/**
 * Texts of every record of `split`, in dataset order (shards in manifest order, lines in file order). Each shard
 * is checked against its recorded digest; every line must be a JSON object whose text field is a string.
 */
export async function readSplitTexts(ds: UpstreamDataset, split: string): Promise<string[]> {
  const field = ds.manifest.textField || "text";
  const texts: string[] = [];
  for (const [index, shard] of ds.manifest.shards.entries()) {
    if (shard.split !== split) continue;
    const ref = shard.file!;
    const bytes = await readFile(path.join(ds.dir, ref.path));
    const digest = digestBytes(bytes);
    if (digest !== ref.digest || bytes.length !== ref.sizeBytes) {
      throw new IntegrityError("PACK_SHARD_INTEGRITY",
        `dataset shard ${ref.path} has ${digest} (${bytes.length} bytes); the manifest records ${ref.digest} (${ref.sizeBytes} bytes)`, {
          context: { file: ref.path, jsonPath: `$.shards[${index}].file`, expected: ref.digest, actual: digest },
          hint: "the upstream data directory was modified after it was written; re-run the upstream stage",
        });
    }
    const lines = bytes.toString("utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (lines.length !== shard.recordCount) {
      throw new IntegrityError("PACK_SHARD_RECORD_COUNT", `dataset shard ${ref.path} has ${lines.length} records; the manifest records ${shard.recordCount}`, {
        context: { file: ds.display, jsonPath: `$.shards[${index}].recordCount`, shard: ref.path },
        hint: "the dataset manifest and its shards disagree; re-run the upstream stage",
      });
    }
    lines.forEach((line, i) => texts.push(recordText(line, field, ref.path, i + 1)));
  }
  return texts;
}

/** The text field of one JSONL record; errors name the file, line and field. */
function recordText(line: string, field: string, file: string, lineNo: number): string {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (err) {
    throw new ConfigError("PACK_RECORD_PARSE", `invalid JSON record: ${err instanceof Error ? err.message : String(err)}`, {
      context: { file, line: lineNo }, hint: "each line of a dataset shard is one JSON object (docs/formats.md)", cause: err,
    });
  }
  const text = typeof record === "object" && record !== null && !Array.isArray(record)
    ? (record as Record<string, unknown>)[field] : undefined;
  if (typeof text !== "string") {
    throw new ConfigError("PACK_RECORD_TEXT", `record has no string field "${field}" (found ${text === undefined ? "nothing" : typeof text})`, {
      context: { file, line: lineNo, jsonPath: `$.${field}` },
      hint: "every dataset record needs its text in the manifest's text_field (docs/formats.md); re-run the upstream stage",
    });
  }
  return text;
}

// Text datasets in and out (docs/formats.md "Text datasets"): reading the upstream DatasetManifest and the records
// of its train split, copying its other splits byte for byte, and writing the distilled train shards and the
// product `dataset.json`.

import { copyFile, mkdir, readFile, writeFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, decodeManifest, digestBytes, encodeMessage, validateMessage } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import type { DatasetShard, DatasetSplit, DropCount, SourceLineage } from "@nexa/proto/nexa/v1/dataset";

/** The product manifest's file name. */
export const PRODUCT_FILE = "dataset.json";
/** The split prompts come from and distilled records go to. */
export const TRAIN_SPLIT = "train";
/** Records per written train shard. */
export const RECORDS_PER_SHARD = 50_000;
const TRAIN_SHARD_RE = /^train-\d{5}\.jsonl$/;

/** The upstream dataset: its manifest, a location-independent reference to it, and where its shards live. */
export interface UpstreamDataset {
  manifest: DatasetManifest;
  /** digest + size of the DatasetManifest file, schema nexa.v1.DatasetManifest, no path. */
  ref: ArtifactRef;
  dir: string;
  /** Display name for errors (slot + file name, never an absolute path). */
  display: string;
  /** The upstream stage's name (the dataset's SourceLineage uri). */
  stageName: string;
}

/** One record of the upstream train split. */
export interface SourceRecord {
  id: string;
  text: string;
  source: string;
}

// ----------------------------------------------------------------------------------------------------------
// reading

/** Reads and strictly decodes the product manifest of the `dataset` input. */
export async function readUpstreamDataset(input: StageInput): Promise<UpstreamDataset> {
  const display = `${input.slot} input ${path.basename(input.productPath)}`;
  if (input.productSchema !== CONTRACTS.DatasetManifest.name) {
    throw new ConfigError("DISTILL_INPUT_SCHEMA", `the "${input.slot}" input's product is ${input.productSchema}, expected ${CONTRACTS.DatasetManifest.name}`, {
      context: { file: display }, hint: `wire a data stage into \`${input.slot}\``,
    });
  }
  const bytes = await readFile(input.productPath);
  const manifest = decodeManifest(CONTRACTS.DatasetManifest, bytes, display);
  for (const [i, shard] of manifest.shards.entries()) {
    const p = shard.file!.path;
    if (p === "" || path.isAbsolute(p) || p.split("/").includes("..")) {
      throw new IntegrityError("DISTILL_SHARD_PATH", `shard path ${JSON.stringify(p)} must be relative and inside the dataset directory`, {
        context: { file: display, jsonPath: `$.shards[${i}].file.path` }, hint: "re-run the upstream data stage",
      });
    }
  }
  const ref = ArtifactRef.fromPartial({ digest: digestBytes(bytes), sizeBytes: bytes.length, mediaType: "application/json", schemaName: CONTRACTS.DatasetManifest.name });
  return { manifest, ref, dir: path.dirname(input.productPath), display, stageName: input.manifest.stageName };
}

/** Bytes of shard `index`, checked against the manifest's digest, size and record count. */
async function readShard(ds: UpstreamDataset, index: number): Promise<Buffer> {
  const shard = ds.manifest.shards[index];
  const ref = shard.file!;
  const bytes = await readFile(path.join(ds.dir, ref.path));
  const digest = digestBytes(bytes);
  if (digest !== ref.digest || bytes.length !== ref.sizeBytes) {
    throw new IntegrityError("DISTILL_SHARD_INTEGRITY",
      `dataset shard ${ref.path} has ${digest} (${bytes.length} bytes); the manifest records ${ref.digest} (${ref.sizeBytes} bytes)`, {
        context: { file: ref.path, jsonPath: `$.shards[${index}].file`, expected: ref.digest, actual: digest },
        hint: "the upstream data directory was modified after it was written; re-run the upstream stage",
      });
  }
  return bytes;
}

/** Records of the train split in dataset order; every line must be an object with string id, text field and source. */
export async function readTrainRecords(ds: UpstreamDataset): Promise<SourceRecord[]> {
  const field = ds.manifest.textField || "text";
  const out: SourceRecord[] = [];
  for (const [index, shard] of ds.manifest.shards.entries()) {
    if (shard.split !== TRAIN_SPLIT) continue;
    const file = shard.file!.path;
    const lines = (await readShard(ds, index)).toString("utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (lines.length !== shard.recordCount) {
      throw new IntegrityError("DISTILL_SHARD_RECORD_COUNT", `dataset shard ${file} has ${lines.length} records; the manifest records ${shard.recordCount}`, {
        context: { file: ds.display, jsonPath: `$.shards[${index}].recordCount` }, hint: "the dataset manifest and its shards disagree; re-run the upstream stage",
      });
    }
    lines.forEach((line, i) => out.push(parseRecord(line, field, file, i + 1)));
  }
  return out;
}

function parseRecord(line: string, field: string, file: string, lineNo: number): SourceRecord {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError("DISTILL_RECORD_PARSE", `invalid JSON record: ${err instanceof Error ? err.message : String(err)}`, {
      context: { file, line: lineNo }, hint: "each line of a dataset shard is one JSON object (docs/formats.md)", cause: err,
    });
  }
  for (const key of ["id", field, "source"]) {
    const value = typeof record === "object" && record !== null ? record[key] : undefined;
    if (typeof value !== "string") {
      throw new ConfigError("DISTILL_RECORD_FIELD", `record has no string field "${key}" (found ${value === undefined ? "nothing" : typeof value})`, {
        context: { file, line: lineNo, jsonPath: `$.${key}` }, hint: 'records are {"id", "text", "source"} (docs/formats.md); re-run the upstream stage',
      });
    }
  }
  return { id: record.id as string, text: record[field] as string, source: record.source as string };
}

/**
 * Copies every shard of the splits other than train into `outDir` unchanged (same path, same bytes, so the same
 * digest): the student is evaluated on real held-out text. Returns those shards and splits in manifest order.
 */
export async function carryHeldOutSplits(ds: UpstreamDataset, outDir: string): Promise<{ shards: DatasetShard[]; records: number }> {
  const shards: DatasetShard[] = [];
  for (const [index, shard] of ds.manifest.shards.entries()) {
    if (shard.split === TRAIN_SPLIT) continue;
    const file = shard.file!.path;
    if (file === PRODUCT_FILE || TRAIN_SHARD_RE.test(file)) {
      throw new ConfigError("DISTILL_SHARD_NAME", `${shard.split} shard ${file} would overwrite a file this stage writes`, {
        context: { file: ds.display, jsonPath: `$.shards[${index}].file.path` },
        hint: "name shards <split>-NNNNN.jsonl (docs/formats.md); re-run the upstream data stage",
      });
    }
    await readShard(ds, index);
    const target = path.join(outDir, shard.file!.path);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.join(ds.dir, shard.file!.path), target);
    shards.push(shard);
  }
  return { shards, records: shards.reduce((n, s) => n + s.recordCount, 0) };
}

// ----------------------------------------------------------------------------------------------------------
// writing

/** A distilled record as written: `{"id","text","source","provenance"}`. */
export interface DistilledRecord {
  id: string;
  text: string;
  source: string;
  provenance: {
    teacher: string;
    prompt_id: string;
    sampling: { temperature: number; top_p: number; top_k: number; max_tokens: number; seed: number | string };
  };
}

/**
 * Writes the distilled records (sorted by the UTF-8 bytes of their ids) as `train-NNNNN.jsonl` shards; the text goes
 * under `textField` (the upstream dataset's, so carried and distilled records agree).
 */
export async function writeTrainShards(outDir: string, records: readonly DistilledRecord[], textField: string): Promise<DatasetShard[]> {
  const sorted = records.map((r) => ({ r, key: Buffer.from(r.id, "utf8") })).sort((a, b) => Buffer.compare(a.key, b.key)).map((k) => k.r);
  const shards: DatasetShard[] = [];
  for (let start = 0, k = 0; start < sorted.length; start += RECORDS_PER_SHARD, k++) {
    const chunk = sorted.slice(start, start + RECORDS_PER_SHARD);
    const bytes = Buffer.from(chunk.map((r) => JSON.stringify({ id: r.id, [textField]: r.text, source: r.source, provenance: r.provenance }) + "\n").join(""), "utf8");
    const name = `${TRAIN_SPLIT}-${String(k).padStart(5, "0")}.jsonl`;
    await writeFile(path.join(outDir, name), bytes);
    shards.push({
      file: { digest: digestBytes(bytes), sizeBytes: bytes.length, mediaType: "application/jsonl", schemaName: "", path: name },
      recordCount: chunk.length,
      split: TRAIN_SPLIT,
      textBytes: chunk.reduce((n, r) => n + Buffer.byteLength(r.text, "utf8"), 0),
    });
  }
  return shards;
}

export interface ManifestFields {
  name: string;
  textField: string;
  seed: number;
  producer: { stageName: string; stageId: string; module: string };
  /** Train shards first, then the carried shards in upstream order. */
  shards: DatasetShard[];
  /** Upstream split order (train first when present). */
  splitOrder: string[];
  sources: SourceLineage[];
  drops: Record<string, number>;
}

/** Builds, validates and writes `dataset.json`; fractions are the realised shares of the records. */
export async function writeDatasetManifest(outDir: string, f: ManifestFields): Promise<DatasetManifest> {
  const total = f.shards.reduce((n, s) => n + s.recordCount, 0);
  const order = [TRAIN_SPLIT, ...f.splitOrder.filter((s) => s !== TRAIN_SPLIT)];
  for (const s of f.shards) if (!order.includes(s.split)) order.push(s.split);
  const splits: DatasetSplit[] = order.map((name) => {
    const recordCount = f.shards.filter((s) => s.split === name).reduce((n, s) => n + s.recordCount, 0);
    return { name, recordCount, fraction: total === 0 ? 0 : recordCount / total };
  });
  const drops: DropCount[] = Object.keys(f.drops).sort().filter((r) => f.drops[r] > 0).map((reason) => ({ reason, count: f.drops[reason] }));
  const manifest = DatasetManifest.fromPartial({
    schemaVersion: 1, name: f.name, recordCount: total, shards: f.shards, splits, sources: f.sources,
    producer: f.producer, textField: f.textField, drops, seed: f.seed,
  });
  validateMessage(CONTRACTS.DatasetManifest, manifest, PRODUCT_FILE);
  await writeFile(path.join(outDir, PRODUCT_FILE), encodeMessage(DatasetManifest, manifest));
  return manifest;
}

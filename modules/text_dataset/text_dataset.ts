// The text dataset (docs/formats.md "Text datasets"): `<split>-NNNNN.jsonl` shards of records
// {"id", <text_field>, "source", ...} sorted by the UTF-8 bytes of their ids, and the DatasetManifest `dataset.json`
// listing every shard with its digest, size, split and record count. The data and distill stages write it; distill
// and pack read it. Reading goes through the verified artifact read of modules/manifest.

import { mkdir, writeFile } from "fs/promises";
import * as path from "path";

import {
  ARTIFACT_INTEGRITY,
  ARTIFACT_SCHEMA,
  CONTRACTS,
  digestBytes,
  encodeMessage,
  validateMessage,
} from "@nexa/modules/manifest";
import type { Artifact } from "@nexa/modules/manifest";
import { IntegrityError, ManifestError } from "@nexa/modules/monitoring";
import type { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import type {
  DatasetExclusion,
  DatasetShard,
  DatasetSplit,
  DropCount,
  SourceLineage,
} from "@nexa/proto/nexa/v1/dataset";

/** The product manifest's file name. */
export const DATASET_MANIFEST_FILE = "dataset.json";
/** The text field when the manifest names none. */
export const DEFAULT_TEXT_FIELD = "text";
const SHARD_NAME_RE = /^[a-z][a-z0-9_]*-\d{5}\.jsonl$/;

/** `<split>-NNNNN.jsonl`. */
export function shardFileName(split: string, index: number): string {
  return `${split}-${String(index).padStart(5, "0")}.jsonl`;
}

/** True for names of the `<split>-NNNNN.jsonl` form. */
export function isShardFileName(name: string): boolean {
  return SHARD_NAME_RE.test(name);
}

/** One record: id, text, source, and any further fields (e.g. a distilled record's provenance). */
export interface TextRecord {
  id: string;
  text: string;
  source: string;
  /** Fields after id, text and source, written in this order. */
  extra?: Record<string, unknown>;
}

// ----------------------------------------------------------------------------------------------------------
// reading

/** An opened text dataset (its DatasetManifest verified; shards read on demand, verified). */
export class TextDataset {
  constructor(readonly artifact: Artifact<DatasetManifest>) {}

  get manifest(): DatasetManifest {
    return this.artifact.message;
  }

  get textField(): string {
    return this.manifest.textField || DEFAULT_TEXT_FIELD;
  }

  /** Split names in manifest order (the splits list, then any split only shards name). */
  splits(): string[] {
    const names = this.manifest.splits.map((s) => s.name);
    for (const shard of this.manifest.shards) if (!names.includes(shard.split)) names.push(shard.split);
    return names;
  }

  /** Indices of the shards of `split`, in manifest order. */
  shardsOf(split: string): number[] {
    return this.manifest.shards.flatMap((s, i) => (s.split === split ? [i] : []));
  }

  /** Verified bytes of shard `index`. */
  shardBytes(index: number): Promise<Buffer> {
    return this.artifact.read(this.manifest.shards[index].file!, `$.shards[${index}].file`);
  }

  /** The records of shard `index`, checked against the manifest's record count. */
  async shardRecords(index: number): Promise<TextRecord[]> {
    const shard = this.manifest.shards[index];
    const file = shard.file!.path;
    const lines = (await this.shardBytes(index)).toString("utf8").split("\n");
    if (lines[lines.length - 1] === "") lines.pop();
    if (lines.length !== shard.recordCount) {
      throw new IntegrityError(
        ARTIFACT_INTEGRITY,
        `${file} (from ${this.artifact.origin.source}) has ${lines.length} records; the manifest records ${shard.recordCount}`,
        {
          context: {
            file: this.artifact.display,
            jsonPath: `$.shards[${index}].recordCount`,
            path: file,
            reason: "records",
            ...(this.artifact.origin.context ?? {}),
          },
          hint: `the dataset manifest and its shards disagree; ${this.artifact.origin.fix}`,
        },
      );
    }
    return lines.map((line, i) => this.parseRecord(line, file, i + 1));
  }

  /** Every record of `split`, in dataset order (shards in manifest order, lines in file order). */
  async records(split: string): Promise<TextRecord[]> {
    const out: TextRecord[] = [];
    for (const index of this.shardsOf(split)) out.push(...(await this.shardRecords(index)));
    return out;
  }

  /** Copies shard `index` (verified) into `outDir` under the same path: same bytes, same digest. */
  async copyShard(index: number, outDir: string): Promise<DatasetShard> {
    const shard = this.manifest.shards[index];
    const bytes = await this.shardBytes(index);
    const target = path.join(outDir, shard.file!.path);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes); // the verified bytes, not a second read of the file
    return shard;
  }

  private parseRecord(line: string, file: string, lineNo: number): TextRecord {
    const fail = (message: string, jsonPath: string | undefined, cause?: unknown): never => {
      throw new ManifestError(ARTIFACT_SCHEMA, `${message} (from ${this.artifact.origin.source})`, {
        context: { file, line: lineNo, jsonPath, ...(this.artifact.origin.context ?? {}) },
        cause,
        hint: `each line of a dataset shard is one JSON object {"id", "${this.textField}", "source", ...} (docs/formats.md "Text datasets"); ${this.artifact.origin.fix}`,
      });
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      fail(`invalid JSON record: ${err instanceof Error ? err.message : String(err)}`, undefined, err);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      fail("a record must be a JSON object", "$");
    const record = value as Record<string, unknown>;
    for (const key of ["id", this.textField, "source"]) {
      const v = record[key];
      if (typeof v !== "string")
        fail(`record has no string field "${key}" (found ${v === undefined ? "nothing" : typeof v})`, `$.${key}`);
    }
    const extra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) if (k !== "id" && k !== this.textField && k !== "source") extra[k] = v;
    const out: TextRecord = {
      id: record.id as string,
      text: record[this.textField] as string,
      source: record.source as string,
    };
    if (Object.keys(extra).length > 0) out.extra = extra;
    return out;
  }
}

// ----------------------------------------------------------------------------------------------------------
// writing

/** Records sorted by the UTF-8 bytes of their ids (language-neutral order). */
export function sortById<R extends { id: string }>(records: readonly R[]): R[] {
  return records
    .map((r) => ({ r, key: Buffer.from(r.id, "utf8") }))
    .sort((a, b) => Buffer.compare(a.key, b.key))
    .map((k) => k.r);
}

/** One JSONL line: {"id", <textField>, "source", ...extra}. */
export function encodeRecord(record: TextRecord, textField: string = DEFAULT_TEXT_FIELD): string {
  return (
    JSON.stringify({ id: record.id, [textField]: record.text, source: record.source, ...(record.extra ?? {}) }) + "\n"
  );
}

/** Writes `lines` (each ending in a newline) as `outDir/name`; returns its reference (path relative to `outDir`). */
export async function writeJsonlFile(outDir: string, name: string, lines: readonly string[]): Promise<ArtifactRef> {
  const bytes = Buffer.from(lines.join(""), "utf8");
  await writeFile(path.join(outDir, name), bytes);
  return {
    digest: digestBytes(bytes),
    sizeBytes: bytes.length,
    mediaType: "application/jsonl",
    schemaName: "",
    path: name,
  };
}

/**
 * Writes the records of one split (sorted by id) as `<split>-NNNNN.jsonl` shards of at most `recordsPerShard` records
 * (0: one shard); returns the shard entries in order.
 */
export async function writeSplitShards(
  outDir: string,
  split: string,
  records: readonly TextRecord[],
  options: { recordsPerShard: number; textField?: string },
): Promise<DatasetShard[]> {
  const sorted = sortById(records);
  const size = options.recordsPerShard > 0 ? options.recordsPerShard : Math.max(sorted.length, 1);
  const shards: DatasetShard[] = [];
  for (let start = 0, k = 0; start < sorted.length; start += size, k++) {
    const chunk = sorted.slice(start, start + size);
    const file = await writeJsonlFile(
      outDir,
      shardFileName(split, k),
      chunk.map((r) => encodeRecord(r, options.textField)),
    );
    shards.push({
      file,
      recordCount: chunk.length,
      split,
      textBytes: chunk.reduce((n, r) => n + Buffer.byteLength(r.text, "utf8"), 0),
    });
  }
  return shards;
}

/** What a DatasetManifest says besides its shards. */
export interface DatasetFields {
  name: string;
  textField: string;
  seed: number;
  producer: { stageName: string; stageId: string; module: string };
  shards: DatasetShard[];
  splits: DatasetSplit[];
  sources: SourceLineage[];
  /** Records dropped per reason (zero counts are left out). */
  drops: Readonly<Record<string, number>>;
  /** Exclusion files of the dropped records, sorted by reason (absent: none). */
  exclusions?: DatasetExclusion[];
}

/** Builds, validates and writes `dataset.json`; returns the manifest. */
export async function writeDatasetManifest(outDir: string, f: DatasetFields): Promise<DatasetManifest> {
  const drops: DropCount[] = Object.keys(f.drops)
    .sort()
    .filter((r) => f.drops[r] > 0)
    .map((reason) => ({ reason, count: f.drops[reason] }));
  const manifest = DatasetManifest.fromPartial({
    schemaVersion: 1,
    name: f.name,
    recordCount: f.shards.reduce((n, s) => n + s.recordCount, 0),
    shards: f.shards,
    splits: f.splits,
    sources: f.sources,
    producer: f.producer,
    textField: f.textField,
    drops,
    seed: f.seed,
    exclusions: f.exclusions ?? [],
  });
  validateMessage(CONTRACTS.DatasetManifest, manifest, DATASET_MANIFEST_FILE);
  await writeFile(path.join(outDir, DATASET_MANIFEST_FILE), encodeMessage(DatasetManifest, manifest));
  return manifest;
}

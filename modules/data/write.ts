// Writing the dataset: `<split>-<NNNNN>.jsonl` shards (records {"id","text","source"} sorted by id, at most
// records_per_shard per file) and the DatasetManifest `dataset.json` (docs/formats.md "Text datasets").

import { writeFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, digestBytes, encodeMessage, validateMessage } from "@nexa/modules/manifest";
import { DatasetManifest, SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import type { DatasetShard, DatasetSplit, SourceLineage } from "@nexa/proto/nexa/v1/dataset";

import type { DropCounts } from "./gate";
import { SPLIT_ORDER } from "./split";
import type { SplitFractions, SplitName } from "./split";

/** The product manifest's file name. */
export const PRODUCT_FILE = "dataset.json";

/** One record of the dataset. */
export interface OutputRecord {
  id: string;
  text: string;
  source: string;
  split: SplitName;
}

/** A raw file's lineage facts. */
export interface RawFileInfo {
  uri: string;
  digest: string;
  sizeBytes: number;
  mediaType: string;
  recordsRead: number;
  recordsKept: number;
}

/** Records sorted by the UTF-8 bytes of their ids (language-neutral order). */
function sortById(records: OutputRecord[]): OutputRecord[] {
  const keyed = records.map((r) => ({ r, key: Buffer.from(r.id, "utf8") }));
  keyed.sort((a, b) => Buffer.compare(a.key, b.key));
  return keyed.map((k) => k.r);
}

/** Writes the shards of every split into `outDir`; returns them in manifest order (split, then index). */
export async function writeShards(outDir: string, records: readonly OutputRecord[], recordsPerShard: number): Promise<DatasetShard[]> {
  const shards: DatasetShard[] = [];
  for (const split of SPLIT_ORDER) {
    const members = sortById(records.filter((r) => r.split === split));
    const size = recordsPerShard > 0 ? recordsPerShard : Math.max(members.length, 1);
    for (let start = 0, k = 0; start < members.length; start += size, k++) {
      const chunk = members.slice(start, start + size);
      const body = chunk.map((r) => JSON.stringify({ id: r.id, text: r.text, source: r.source }) + "\n").join("");
      const bytes = Buffer.from(body, "utf8");
      const name = `${split}-${String(k).padStart(5, "0")}.jsonl`;
      await writeFile(path.join(outDir, name), bytes);
      shards.push({
        file: { digest: digestBytes(bytes), sizeBytes: bytes.length, mediaType: "application/jsonl", schemaName: "", path: name },
        recordCount: chunk.length,
        split,
        textBytes: chunk.reduce((sum, r) => sum + Buffer.byteLength(r.text, "utf8"), 0),
      });
    }
  }
  return shards;
}

/** Splits listed in the manifest: train, and validation/test when their fraction is non-zero. */
export function manifestSplits(records: readonly OutputRecord[], fractions: SplitFractions): DatasetSplit[] {
  return SPLIT_ORDER
    .filter((name) => name === "train" || fractions[name] > 0)
    .map((name) => ({ name, recordCount: records.filter((r) => r.split === name).length, fraction: fractions[name] }));
}

export interface ManifestFields {
  name: string;
  seed: number;
  textField: string;
  producer: { stageName: string; stageId: string; module: string };
  files: readonly RawFileInfo[];
  shards: DatasetShard[];
  splits: DatasetSplit[];
  drops: DropCounts;
}

/** Builds, validates and writes `dataset.json`; returns the manifest. */
export async function writeDatasetManifest(outDir: string, f: ManifestFields): Promise<DatasetManifest> {
  const sources: SourceLineage[] = f.files.map((file) => ({
    kind: SourceLineage_Kind.KIND_RAW_FILE,
    uri: file.uri,
    artifact: { digest: file.digest, sizeBytes: file.sizeBytes, mediaType: file.mediaType, schemaName: "", path: "" },
    recordsKept: file.recordsKept,
    recordsRead: file.recordsRead,
  }));
  const manifest = DatasetManifest.fromPartial({
    schemaVersion: 1,
    name: f.name,
    recordCount: f.shards.reduce((sum, s) => sum + s.recordCount, 0),
    shards: f.shards,
    splits: f.splits,
    sources,
    producer: f.producer,
    textField: f.textField,
    drops: Object.keys(f.drops).sort().filter((r) => f.drops[r] > 0).map((reason) => ({ reason, count: f.drops[reason] })),
    seed: f.seed,
  });
  validateMessage(CONTRACTS.DatasetManifest, manifest, PRODUCT_FILE);
  await writeFile(path.join(outDir, PRODUCT_FILE), encodeMessage(DatasetManifest, manifest));
  return manifest;
}

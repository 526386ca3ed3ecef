// Writing the dataset (a text dataset, modules/text_dataset): `<split>-<NNNNN>.jsonl` shards of {"id","text","source"}
// per split, one exclusion file `excluded-<reason>.jsonl` per drop reason, and the DatasetManifest `dataset.json`,
// with one SourceLineage entry per raw file and one DatasetExclusion per exclusion file.

import { writeDatasetManifest, writeJsonlFile, writeSplitShards } from "@nexa/modules/text_dataset";
import { SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import type {
  DatasetExclusion,
  DatasetManifest,
  DatasetShard,
  DatasetSplit,
  SourceLineage,
} from "@nexa/proto/nexa/v1/dataset";

import type { DropCounts } from "./gate";
import type { ExcludedDoc } from "./shard_io";
import { SPLIT_ORDER } from "./split";
import type { SplitFractions, SplitName } from "./split";

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

/** Writes the shards of every split into `outDir`; returns them in manifest order (split, then index). */
export async function writeShards(
  outDir: string,
  records: readonly OutputRecord[],
  recordsPerShard: number,
): Promise<DatasetShard[]> {
  const shards: DatasetShard[] = [];
  for (const split of SPLIT_ORDER) {
    const members = records.filter((r) => r.split === split).map(({ id, text, source }) => ({ id, text, source }));
    shards.push(...(await writeSplitShards(outDir, split, members, { recordsPerShard })));
  }
  return shards;
}

/** Splits listed in the manifest: train, and validation/test when their fraction is non-zero. */
export function manifestSplits(records: readonly OutputRecord[], fractions: SplitFractions): DatasetSplit[] {
  return SPLIT_ORDER.filter((name) => name === "train" || fractions[name] > 0).map((name) => ({
    name,
    recordCount: records.filter((r) => r.split === name).length,
    fraction: fractions[name],
  }));
}

/** Dropped documents listed in DatasetExclusion.first_locations, per reason. */
export const FIRST_LOCATIONS = 5;

/** The exclusion file of a drop reason. */
export function exclusionFileName(reason: string): string {
  return `excluded-${reason}.jsonl`;
}

/**
 * Writes one exclusion file per drop reason (`excluded` in reading order): a line
 * {"reason", "id", "file", "line" | "row", "source"} per dropped document; returns the entries sorted by reason.
 */
export async function writeExclusions(
  outDir: string,
  excluded: readonly ExcludedDoc[],
  files: readonly Pick<RawFileInfo, "uri">[],
): Promise<DatasetExclusion[]> {
  const byReason = new Map<string, ExcludedDoc[]>();
  for (const d of excluded) byReason.set(d.reason, [...(byReason.get(d.reason) ?? []), d]);
  const out: DatasetExclusion[] = [];
  for (const reason of [...byReason.keys()].sort()) {
    const docs = byReason.get(reason)!;
    const lines = docs.map(
      (d) => JSON.stringify({ reason, id: d.id, file: files[d.file].uri, [d.unit]: d.line, source: d.source }) + "\n",
    );
    out.push({
      reason,
      file: await writeJsonlFile(outDir, exclusionFileName(reason), lines),
      count: docs.length,
      firstLocations: docs.slice(0, FIRST_LOCATIONS).map((d) => `${files[d.file].uri}:${d.line}`),
    });
  }
  return out;
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
  exclusions: DatasetExclusion[];
}

/** Builds, validates and writes `dataset.json`; returns the manifest. */
export function writeDataManifest(outDir: string, f: ManifestFields): Promise<DatasetManifest> {
  const sources: SourceLineage[] = f.files.map((file) => ({
    kind: SourceLineage_Kind.KIND_RAW_FILE,
    uri: file.uri,
    artifact: { digest: file.digest, sizeBytes: file.sizeBytes, mediaType: file.mediaType, schemaName: "", path: "" },
    recordsKept: file.recordsKept,
    recordsRead: file.recordsRead,
  }));
  return writeDatasetManifest(outDir, {
    name: f.name,
    seed: f.seed,
    textField: f.textField,
    producer: f.producer,
    shards: f.shards,
    splits: f.splits,
    sources,
    drops: f.drops,
    exclusions: f.exclusions,
  });
}

// The hand-over between a shard action and the merge: what one shard read and which documents passed its
// filters. A shard directory holds
//   shard.json     {"format": "nexa.data.shard", "version": 1, "shard", "num_shards", "read", "drops", "files"}
//   filtered.jsonl one {"index", "file", "line", "unit", "id", "source", "text"} per filter survivor, in reading order
//   excluded.jsonl one {"index", "file", "line", "unit", "id", "source", "reason"} per document the filters dropped
// It is an action-private intermediate (never published), but versioned so a merge refuses a foreign directory.

import { readFile, writeFile } from "fs/promises";
import * as path from "path";

import { IntegrityError } from "@nexa/modules/monitoring";

import type { DropCounts } from "./gate";
import type { LocationUnit } from "./ingest";
import type { RawFileInfo } from "./write";

export const SHARD_FORMAT = "nexa.data.shard";
export const SHARD_VERSION = 2;

/** A document that passed the filters. */
export interface FilteredDoc {
  index: number;
  file: number;
  /** Line (or Parquet row, per `unit`) in the raw file. */
  line: number;
  unit: LocationUnit;
  id: string;
  text: string;
  source: string;
}

/** A dropped document: where it was and why (what the exclusion files list). */
export interface ExcludedDoc {
  index: number;
  file: number;
  line: number;
  unit: LocationUnit;
  id: string;
  source: string;
  reason: string;
}

/** What one shard (or the whole unsharded run) hands to the dedup/split/write step. */
export interface FilteredPart {
  shard: number;
  numShards: number;
  /** Documents of this shard before filtering. */
  read: number;
  /** Filter drops of this shard, per reason. */
  drops: DropCounts;
  /** Every selected raw file (all shards list all files); recordsRead counts this shard's documents only. */
  files: Array<Omit<RawFileInfo, "recordsKept">>;
  docs: FilteredDoc[];
  /** Documents the filters dropped, in reading order. */
  excluded: ExcludedDoc[];
}

/** Writes `part` into a shard directory. */
export async function writeShardPart(dir: string, part: FilteredPart): Promise<void> {
  const { docs, excluded, ...head } = part;
  const header = {
    format: SHARD_FORMAT,
    version: SHARD_VERSION,
    shard: head.shard,
    num_shards: head.numShards,
    read: head.read,
    drops: head.drops,
    files: head.files,
  };
  await writeFile(path.join(dir, "shard.json"), JSON.stringify(header) + "\n");
  // The objects are written as given (data_stage builds them with the fields in the order of the header comment).
  const jsonLines = (items: readonly object[]) => items.map((d) => JSON.stringify(d) + "\n").join("");
  await writeFile(path.join(dir, "filtered.jsonl"), jsonLines(docs));
  await writeFile(path.join(dir, "excluded.jsonl"), jsonLines(excluded));
}

/** Reads a shard directory written by writeShardPart. */
export async function readShardPart(dir: string): Promise<FilteredPart> {
  const headerFile = path.join(dir, "shard.json");
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(await readFile(headerFile, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new IntegrityError("DATA_SHARD_UNREADABLE", `cannot read the shard header`, {
      context: { file: headerFile },
      cause: err,
      hint: "pass directories written by `run --shard=I` of modules/data",
    });
  }
  if (header.format !== SHARD_FORMAT || header.version !== SHARD_VERSION) {
    throw new IntegrityError(
      "DATA_SHARD_VERSION",
      `shard format ${String(header.format)} v${String(header.version)} is not ${SHARD_FORMAT} v${SHARD_VERSION}`,
      {
        context: { file: headerFile },
        hint: "rerun the shard actions with the same modules/data build as the merge",
      },
    );
  }
  const lines = async (name: string): Promise<unknown[]> =>
    (await readFile(path.join(dir, name), "utf8"))
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as unknown);
  const docs = (await lines("filtered.jsonl")) as FilteredDoc[];
  const excluded = (await lines("excluded.jsonl")) as ExcludedDoc[];
  return {
    shard: header.shard as number,
    numShards: header.num_shards as number,
    read: header.read as number,
    drops: header.drops as DropCounts,
    files: header.files as FilteredPart["files"],
    docs,
    excluded,
  };
}

/** Checks that `parts` are shards 0..n-1 of one n-way run over the same raw files. */
export function checkParts(parts: readonly FilteredPart[], dirs: readonly string[]): void {
  const fail = (k: number, message: string): never => {
    throw new IntegrityError("DATA_SHARD_MISMATCH", message, {
      context: { file: dirs[k] },
      hint: "merge the shard directories of one sharded run, in shard order",
    });
  };
  const filesKey = (p: FilteredPart): string => JSON.stringify(p.files.map((f) => [f.uri, f.digest]));
  parts.forEach((p, k) => {
    if (p.numShards !== parts.length)
      fail(k, `shard ${p.shard} belongs to a ${p.numShards}-way run, but ${parts.length} shard directories were given`);
    if (p.shard !== k) fail(k, `shard directory ${k} holds shard ${p.shard}`);
    if (filesKey(p) !== filesKey(parts[0])) fail(k, `shard ${p.shard} read different raw files than shard 0`);
  });
}

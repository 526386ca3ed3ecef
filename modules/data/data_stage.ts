// The data stage: raw files → gated, deduplicated, split text dataset (DatasetManifest + JSONL shards).
//
//   run (unsharded)   select → ingest → filter pass → dedup pass → split → write
//   run --shard=i/n   select → ingest (all files: the reading order defines document indices) → filter pass over
//                     documents with index % n == i → shard directory (shard_io.ts)
//   merge             shard directories → survivors in reading order → dedup pass → split → write
// Both paths run the same filter and dedup passes over the same documents in the same order, so the merged
// output is byte-identical to the unsharded run, and dedup is global across shards.

import * as path from "path";

import type { GateConfig as KernelGateConfig } from "@nexa/kernels/binding";
import { CONTRACTS, digestFile } from "@nexa/modules/manifest";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { DATASET_MANIFEST_FILE } from "@nexa/modules/text_dataset";
import { DataSource_Format } from "@nexa/proto/nexa/v1/data_config";
import type { DataConfig } from "@nexa/proto/nexa/v1/data_config";

import type { DropCounts } from "./gate";
import { addDrops, checkSomethingKept, countDrops, dedupPass, filterPass, formatDrops, kernelGateConfig } from "./gate";
import { checkUniqueIds, ingestFiles } from "./ingest";
import type { Document } from "./ingest";
import { selectFiles } from "./select";
import type { SelectedFile } from "./select";
import { checkParts, readShardPart, writeShardPart } from "./shard_io";
import type { FilteredPart } from "./shard_io";
import { assignSplit, splitFractions } from "./split";
import { manifestSplits, writeDataManifest, writeExclusions, writeShards } from "./write";
import type { OutputRecord, RawFileInfo } from "./write";

type Ctx = StageContext<DataConfig>;

const MEDIA_TYPES: Record<number, string> = {
  [DataSource_Format.FORMAT_JSONL]: "application/jsonl",
  [DataSource_Format.FORMAT_JSON]: "application/json",
  [DataSource_Format.FORMAT_TEXT]: "text/plain",
  [DataSource_Format.FORMAT_PARQUET]: "application/vnd.apache.parquet",
};

/** Digest, size and media type of each selected raw file (a gzip-compressed one is "application/gzip"). */
async function rawFileInfos(
  files: readonly SelectedFile[],
  gzip: readonly boolean[],
): Promise<Array<Omit<RawFileInfo, "recordsRead" | "recordsKept">>> {
  const out = [];
  for (const [k, f] of files.entries()) {
    const d = await digestFile(f.fsPath);
    const mediaType = gzip[k] ? "application/gzip" : (MEDIA_TYPES[f.source.format] ?? "");
    out.push({ uri: f.uri, digest: d.digest, sizeBytes: d.sizeBytes, mediaType });
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------------
// run: ingest and filter (one shard, or everything)

async function filterShard(ctx: Ctx, kernel: KernelGateConfig): Promise<FilteredPart> {
  const { index, count } = ctx.shard;
  const files = selectFiles(ctx.config, ctx.raw, ctx.configFile);
  const { documents, gzip } = await ingestFiles(files, ctx.configFile);
  checkUniqueIds(documents);
  const mine = documents.filter((d) => d.index % count === index);
  ctx.log.info("ingested", {
    raw_files: ctx.raw.length,
    selected_files: files.length,
    documents: documents.length,
    shard_documents: mine.length,
  });

  const reasons = filterPass(
    kernel,
    mine.map((d) => d.bytes),
    ctx.threads,
  );
  const drops = countDrops(reasons);
  const read = files.map(() => 0);
  for (const d of mine) read[d.file] += 1;
  const infos = await rawFileInfos(files, gzip);
  const located = (d: Document) => ({
    index: d.index,
    file: d.file,
    line: d.line,
    unit: d.unit,
    id: d.id,
    source: d.source,
  });
  const docs = mine.filter((_, k) => reasons[k] === "keep").map((d) => ({ ...located(d), text: d.text }));
  const excluded = mine.flatMap((d, k) => (reasons[k] === "keep" ? [] : [{ ...located(d), reason: reasons[k] }]));
  ctx.log.info("filtered", { read: mine.length, passed: docs.length, drops: formatDrops(drops) });
  return {
    shard: index,
    numShards: count,
    read: mine.length,
    drops,
    files: infos.map((f, k) => ({ ...f, recordsRead: read[k] })),
    docs,
    excluded,
  };
}

// ----------------------------------------------------------------------------------------------------------
// finish: dedup, split, write (unsharded run and merge)

async function finish(ctx: Ctx, kernel: KernelGateConfig, parts: readonly FilteredPart[]): Promise<StageResult> {
  const config = ctx.config;
  const fractions = splitFractions(config.split, ctx.configFile);
  const docs = parts.flatMap((p) => p.docs).sort((a, b) => a.index - b.index);
  const read = parts.reduce((sum, p) => sum + p.read, 0);
  const drops = parts.reduce<DropCounts>((acc, p) => addDrops(acc, p.drops), {});
  const files: RawFileInfo[] = parts[0].files.map((f, k) => ({
    ...f,
    recordsRead: parts.reduce((sum, p) => sum + p.files[k].recordsRead, 0),
    recordsKept: 0,
  }));

  const reasons = dedupPass(
    kernel,
    docs.map((d) => Buffer.from(d.text, "utf8")),
    ctx.threads,
  );
  addDrops(drops, countDrops(reasons));
  const kept = docs.filter((_, k) => reasons[k] === "keep");
  const excluded = [
    ...parts.flatMap((p) => p.excluded),
    ...docs.flatMap(({ text: _text, ...d }, k) => (reasons[k] === "keep" ? [] : [{ ...d, reason: reasons[k] }])),
  ].sort((a, b) => a.index - b.index);
  ctx.log.info("deduplicated", { candidates: docs.length, kept: kept.length, drops: formatDrops(drops) });
  checkSomethingKept(kept.length, read, drops, ctx.configFile);

  const records: OutputRecord[] = kept.map((d) => {
    files[d.file].recordsKept += 1;
    return { id: d.id, text: d.text, source: d.source, split: assignSplit(config.seed, d.id, fractions) };
  });
  const shards = await writeShards(ctx.outDir, records, config.recordsPerShard);
  const splits = manifestSplits(records, fractions);
  const exclusions = await writeExclusions(ctx.outDir, excluded, files);
  await writeDataManifest(ctx.outDir, {
    name: config.name,
    seed: config.seed,
    textField: "text",
    producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    files,
    shards,
    splits,
    drops,
    exclusions,
  });
  ctx.log.info("written", {
    shards: shards.length,
    records: records.length,
    ...Object.fromEntries(splits.map((s) => [s.name, s.recordCount])),
  });

  const metrics: Record<string, number> = {
    records_read: read,
    records_kept: records.length,
    dropped: read - records.length,
    shards: shards.length,
  };
  for (const s of splits) metrics[s.name] = s.recordCount;
  for (const reason of Object.keys(drops).sort()) metrics[`dropped_${reason}`] = drops[reason];
  return { product: { file: DATASET_MANIFEST_FILE, schema: CONTRACTS.DatasetManifest.name }, metrics };
}

// ----------------------------------------------------------------------------------------------------------
// the stage

async function run(ctx: Ctx): Promise<StageResult> {
  splitFractions(ctx.config.split, ctx.configFile); // fail on a bad split before any work, in every shard
  const kernel = kernelGateConfig(ctx.config);
  const part = await filterShard(ctx, kernel);
  if (ctx.shard.count === 1) return finish(ctx, kernel, [part]);
  await writeShardPart(ctx.outDir, part);
  return { metrics: { records_read: part.read, records_passed_filters: part.docs.length } };
}

async function merge(ctx: Ctx): Promise<StageResult> {
  const parts = await Promise.all(ctx.shardDirs.map(readShardPart));
  checkParts(
    parts,
    ctx.shardDirs.map((d) => path.basename(d)),
  );
  ctx.log.info("merging", { shards: parts.length, candidates: parts.reduce((sum, p) => sum + p.docs.length, 0) });
  return finish(ctx, kernelGateConfig(ctx.config), parts);
}

export const dataStage: StageDefinition<DataConfig> = {
  module: "modules/data",
  config: CONTRACTS.DataConfig,
  // The gate kernels decide what is kept: a kernel change changes the stage_id.
  usesKernels: true,
  run,
  merge,
};

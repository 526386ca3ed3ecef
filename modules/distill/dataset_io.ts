// The distilled dataset (a text dataset, modules/text_dataset): the teacher's gated generations as the train split,
// the upstream dataset's other splits carried byte for byte (the student is evaluated on real held-out text), and
// `dataset.json` with the realised split fractions.

import {
  DATASET_MANIFEST_FILE,
  isShardFileName,
  writeDatasetManifest,
  writeSplitShards,
} from "@nexa/modules/text_dataset";
import type { TextDataset, TextRecord } from "@nexa/modules/text_dataset";
import { ConfigError } from "@nexa/modules/monitoring";
import type { DatasetManifest, DatasetShard, DatasetSplit, SourceLineage } from "@nexa/proto/nexa/v1/dataset";

/** The split prompts come from and distilled records go to. */
export const TRAIN_SPLIT = "train";
/** Records per written train shard. */
export const RECORDS_PER_SHARD = 50_000;

/** A distilled record: its text, and its provenance as an extra field. */
export interface DistilledRecord extends TextRecord {
  extra: {
    provenance: {
      /** The CheckpointManifest digest, or an endpoint's system_fingerprint. */
      teacher: string;
      prompt_id: string;
      sampling: { temperature: number; top_p: number; top_k: number; max_tokens: number; seed: number | string };
      /** An endpoint teacher: where the answer came from and why it ended. */
      endpoint?: { base_url: string; model: string; finish_reason: string };
    };
  };
}

/**
 * Copies every shard of the splits other than train into `outDir` unchanged (same path, same bytes, so the same
 * digest). Returns those shards in manifest order.
 */
export async function carryHeldOutSplits(
  ds: TextDataset,
  outDir: string,
): Promise<{ shards: DatasetShard[]; records: number }> {
  const shards: DatasetShard[] = [];
  for (const [index, shard] of ds.manifest.shards.entries()) {
    if (shard.split === TRAIN_SPLIT) continue;
    const file = shard.file!.path;
    if (file === DATASET_MANIFEST_FILE || (isShardFileName(file) && file.startsWith(`${TRAIN_SPLIT}-`))) {
      throw new ConfigError(
        "DISTILL_SHARD_NAME",
        `${shard.split} shard ${file} would overwrite a file this stage writes`,
        {
          context: { file: ds.artifact.display, jsonPath: `$.shards[${index}].file.path` },
          hint: "name shards <split>-NNNNN.jsonl (docs/formats.md); re-run the upstream data stage",
        },
      );
    }
    shards.push(await ds.copyShard(index, outDir));
  }
  return { shards, records: shards.reduce((n, s) => n + s.recordCount, 0) };
}

export interface DistilledFields {
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

/** Writes the distilled train shards (sorted by id) under the upstream text field. */
export function writeTrainShards(
  outDir: string,
  records: readonly DistilledRecord[],
  textField: string,
): Promise<DatasetShard[]> {
  return writeSplitShards(outDir, TRAIN_SPLIT, records, { recordsPerShard: RECORDS_PER_SHARD, textField });
}

/** Writes `dataset.json`; fractions are the realised shares of the records. */
export function writeDistilledManifest(outDir: string, f: DistilledFields): Promise<DatasetManifest> {
  const total = f.shards.reduce((n, s) => n + s.recordCount, 0);
  const order = [TRAIN_SPLIT, ...f.splitOrder.filter((s) => s !== TRAIN_SPLIT)];
  for (const s of f.shards) if (!order.includes(s.split)) order.push(s.split);
  const splits: DatasetSplit[] = order.map((name) => {
    const recordCount = f.shards.filter((s) => s.split === name).reduce((n, s) => n + s.recordCount, 0);
    return { name, recordCount, fraction: total === 0 ? 0 : recordCount / total };
  });
  return writeDatasetManifest(outDir, {
    name: f.name,
    textField: f.textField,
    seed: f.seed,
    producer: f.producer,
    shards: f.shards,
    splits,
    sources: f.sources,
    drops: f.drops,
  });
}

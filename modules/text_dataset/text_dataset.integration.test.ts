// A text dataset written and read back through the verified artifact read; damage and bad records are reported with
// the ARTIFACT_* codes, the file, the line and the producer.
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, digestBytes, openArtifact } from "@nexa/modules/manifest";
import type { DatasetShard, DatasetSplit } from "@nexa/proto/nexa/v1/dataset";

import { DATASET_MANIFEST_FILE, TextDataset, writeDatasetManifest, writeSplitShards } from "./index";

const origin = { source: 'upstream stage "data" (input dataset)', fix: 'rebuild stage "data"' };

const tempDir = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "ds-"));

/** Writes the dataset.json of `shards` as stage "data" wrote it. */
const writeManifest = (
  dir: string,
  shards: DatasetShard[],
  splits: DatasetSplit[],
  drops: Record<string, number> = {},
) =>
  writeDatasetManifest(dir, {
    name: "fixture",
    textField: "text",
    seed: 1,
    producer: { stageName: "data", stageId: "a".repeat(64), module: "modules/data" },
    shards,
    splits,
    sources: [],
    drops,
  });

async function writeFixture(recordsPerShard: number): Promise<string> {
  const dir = tempDir();
  const train = Array.from({ length: 5 }, (_, i) => ({ id: `t${4 - i}`, text: `text ${i} café`, source: "f.txt" }));
  const shards = [
    ...(await writeSplitShards(dir, "train", train, { recordsPerShard })),
    ...(await writeSplitShards(dir, "validation", [{ id: "v0", text: "held out", source: "f.txt" }], {
      recordsPerShard,
    })),
  ];
  await writeManifest(
    dir,
    shards,
    [
      { name: "train", recordCount: 5, fraction: 0.8 },
      { name: "validation", recordCount: 1, fraction: 0.2 },
    ],
    { duplicate: 2, empty: 0 },
  );
  return dir;
}

const open = async (dir: string) =>
  new TextDataset(await openArtifact(path.join(dir, DATASET_MANIFEST_FILE), CONTRACTS.DatasetManifest, { origin }));

describe("TextDataset", () => {
  it("round-trips records per split, sorted by id, across shards", async () => {
    const ds = await open(await writeFixture(2));
    expect(ds.splits()).toEqual(["train", "validation"]);
    expect(ds.manifest.shards.map((s) => s.file!.path)).toEqual([
      "train-00000.jsonl",
      "train-00001.jsonl",
      "train-00002.jsonl",
      "validation-00000.jsonl",
    ]);
    expect((await ds.records("train")).map((r) => r.id)).toEqual(["t0", "t1", "t2", "t3", "t4"]);
    expect((await ds.records("validation"))[0]).toEqual({ id: "v0", text: "held out", source: "f.txt" });
    expect(ds.manifest.drops).toEqual([{ reason: "duplicate", count: 2 }]);
  });

  it("reports a tampered shard as ARTIFACT_INTEGRITY naming file, listing and producer", async () => {
    const dir = await writeFixture(0);
    writeFileSync(path.join(dir, "validation-00000.jsonl"), '{"id":"v0","text":"HELD OUT","source":"f.txt"}\n');
    const err = await (await open(dir)).records("validation").catch((e) => e);
    expect(err).toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { file: "dataset.json", jsonPath: "$.shards[1].file", path: "validation-00000.jsonl", reason: "digest" },
    });
    expect(err.message).toContain('(from upstream stage "data" (input dataset))');
    expect(err.hint).toContain('rebuild stage "data"');
  });

  it("reports a record without its text field with file and line", async () => {
    const dir = tempDir();
    const shards = await writeSplitShards(dir, "train", [{ id: "a", text: "x", source: "s" }], { recordsPerShard: 0 });
    const body = '{"id":"a","text":"x","source":"s"}\n{"id":"b","source":"s"}\n';
    writeFileSync(path.join(dir, "train-00000.jsonl"), body);
    shards[0] = {
      ...shards[0],
      recordCount: 2,
      file: { ...shards[0].file!, digest: digestBytes(body), sizeBytes: body.length },
    };
    await writeManifest(dir, shards, [{ name: "train", recordCount: 2, fraction: 1 }]);
    await expect((await open(dir)).records("train")).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: { file: "train-00000.jsonl", line: 2, jsonPath: "$.text" },
    });
  });
});

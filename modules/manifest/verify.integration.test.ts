import { mkdtempSync, rmSync, truncateSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import { IntegrityError } from "@nexa/modules/monitoring";

import { CONTRACTS, digestBytes, digestFile, encodeMessage, listFiles, verifyManifest } from "./index";

function tempDir(): string {
  return mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), "verify-"));
}

/** Writes two shard files and a manifest listing them; returns the manifest path. */
async function writeDataset(dir: string): Promise<string> {
  const shards = [];
  for (const [i, text] of ['{"text":"a"}\n', '{"text":"bb"}\n'].entries()) {
    const path = `train-${i}.jsonl`;
    writeFileSync(join(dir, path), text);
    const { digest, sizeBytes } = await digestFile(join(dir, path));
    shards.push({ file: { digest, sizeBytes, path, mediaType: "application/jsonl" }, recordCount: 1, split: "train" });
  }
  const manifest = DatasetManifest.fromPartial({
    schemaVersion: 1,
    name: "d",
    recordCount: 2,
    shards,
    splits: [{ name: "train", recordCount: 2, fraction: 1 }],
    producer: { stageName: "data", stageId: "a".repeat(64) },
  });
  const manifestPath = join(dir, "manifest.json");
  writeFileSync(manifestPath, encodeMessage(DatasetManifest, manifest));
  return manifestPath;
}

describe("digestFile", () => {
  it("streams a file larger than one chunk", async () => {
    const dir = tempDir();
    const bytes = Buffer.alloc(3 * (1 << 20) + 7, 7);
    writeFileSync(join(dir, "big"), bytes);
    expect(await digestFile(join(dir, "big"))).toEqual({ digest: digestBytes(bytes), sizeBytes: bytes.length });
  });
});

describe("verifyManifest", () => {
  it("accepts intact files and lists them with their JSON paths", async () => {
    const path = await writeDataset(tempDir());
    const m = await verifyManifest(CONTRACTS.DatasetManifest, path, "dataset.json");
    expect(listFiles(m).map((f) => f.jsonPath)).toEqual(["$.shards[0].file", "$.shards[1].file"]);
  });

  it("detects a modified file: names manifest, path, expected and actual digest", async () => {
    const dir = tempDir();
    const path = await writeDataset(dir);
    writeFileSync(join(dir, "train-1.jsonl"), '{"text":"cc"}\n');
    const err = await verifyManifest(CONTRACTS.DatasetManifest, path, "dataset.json").catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.code).toBe("ARTIFACT_INTEGRITY");
    expect(err.context).toMatchObject({
      file: "dataset.json",
      jsonPath: "$.shards[1].file",
      path: "train-1.jsonl",
      reason: "digest",
    });
    expect(err.context.expected).toMatch(/^sha256:[0-9a-f]{64} \(\d+ bytes\)$/);
    expect(err.context.actual).toBe(`${digestBytes('{"text":"cc"}\n')} (14 bytes)`);
  });

  it("detects a truncated or missing file", async () => {
    const dir = tempDir();
    const path = await writeDataset(dir);
    truncateSync(join(dir, "train-0.jsonl"), 3);
    expect((await verifyManifest(CONTRACTS.DatasetManifest, path).catch((e) => e)).context).toMatchObject({
      reason: "size",
    });
    rmSync(join(dir, "train-0.jsonl"));
    expect((await verifyManifest(CONTRACTS.DatasetManifest, path).catch((e) => e)).code).toBe("ARTIFACT_MISSING");
  });

  it("refuses paths escaping the manifest directory", async () => {
    const dir = tempDir();
    const m = DatasetManifest.fromPartial({
      schemaVersion: 1,
      name: "d",
      splits: [{ name: "train" }],
      producer: { stageName: "data", stageId: "a".repeat(64) },
      shards: [
        { file: { digest: digestBytes(""), sizeBytes: 0, path: "../etc/passwd" }, recordCount: 1, split: "train" },
      ],
    });
    writeFileSync(join(dir, "m.json"), encodeMessage(DatasetManifest, m));
    expect(
      (await verifyManifest(CONTRACTS.DatasetManifest, join(dir, "m.json")).catch((e) => e)).context,
    ).toMatchObject({ reason: "path" });
  });
});

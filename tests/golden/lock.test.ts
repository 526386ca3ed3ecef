import { createHash } from "crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { encodeMessage } from "@nexa/modules/manifest";
import { StageManifest } from "@nexa/proto/nexa/v1/stage";

import { computeLock, diffLock, formatLock } from "./lock";
import type { Lock } from "./lock";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const lock = (m: string, out: string): Lock => ({
  pipeline: "//pipelines:golden",
  stages: {
    data: { stage_id: "a".repeat(64), manifest: D("1"), outputs: { "x.jsonl": D("2") } },
    train: { stage_id: "b".repeat(64), manifest: D(m), outputs: { "model.safetensors": D(out) } },
  },
});

describe("diffLock", () => {
  it("is empty for equal locks and names the changed stage and file otherwise", () => {
    expect(diffLock(lock("3", "4"), lock("3", "4"))).toEqual([]);
    expect(diffLock(lock("3", "4"), lock("5", "6"))).toEqual([
      `train: manifest ${D("3")} -> ${D("5")}`,
      `  model.safetensors: ${D("4")} -> ${D("6")}`,
    ]);
  });

  it("reports added and removed stages", () => {
    const two = lock("3", "4");
    const one: Lock = { pipeline: two.pipeline, stages: { data: two.stages.data } };
    expect(diffLock(one, two)).toEqual([`train: new stage (manifest ${D("3")})`]);
    expect(diffLock(two, one)).toEqual([`train: stage missing from the pipeline (locked manifest ${D("3")})`]);
  });

  it("formats with sorted keys, one field per line", () => {
    const text = formatLock(lock("3", "4"));
    expect(text.split("\n").slice(0, 4)).toEqual([
      "{",
      '  "pipeline": "//pipelines:golden",',
      '  "stages": {',
      '    "data": {',
    ]);
    expect(text.indexOf('"manifest"')).toBeLessThan(text.indexOf('"outputs"'));
    expect(text.endsWith("}\n")).toBe(true);
  });
});

describe("computeLock", () => {
  const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  const stageManifest = (name: string, id: string, outputs: Array<[string, string]>) =>
    Buffer.from(
      encodeMessage(
        StageManifest,
        StageManifest.fromPartial({
          schemaVersion: 1,
          stageName: name,
          module: `modules/${name}`,
          stageId: id.repeat(64),
          configDigest: D("c"),
          outputs: outputs.map(([p, d]) => ({ digest: d, sizeBytes: 1, path: p })),
          toolDigest: D("b"),
        }),
      ),
    );

  it("pins each stage's manifest bytes, stage_id and output digests, reading short paths of the runfiles tree", () => {
    const root = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "lock-"));
    const ws = path.join(root, "nexacompute");
    mkdirSync(path.join(ws, "pipelines"), { recursive: true });
    mkdirSync(path.join(root, "other_repo"), { recursive: true });
    const data = stageManifest("data", "d", [
      ["train-00000.jsonl", D("d")],
      ["dataset.json", D("e")],
    ]);
    const train = stageManifest("train", "e", [["model.safetensors", D("f")]]);
    writeFileSync(path.join(ws, "pipelines", "data.manifest.json"), data);
    writeFileSync(path.join(root, "other_repo", "train.manifest.json"), train);
    const plan = {
      pipeline: "//pipelines:golden",
      reportStage: "train",
      stages: [
        { stage: "data", manifest: "pipelines/data.manifest.json", data: "pipelines/data" },
        { stage: "train", manifest: "../other_repo/train.manifest.json", data: "../other_repo/train" },
      ],
    };
    expect(computeLock(plan, ws)).toEqual({
      pipeline: "//pipelines:golden",
      stages: {
        data: {
          stage_id: "d".repeat(64),
          manifest: sha(data),
          outputs: { "train-00000.jsonl": D("d"), "dataset.json": D("e") },
        },
        train: { stage_id: "e".repeat(64), manifest: sha(train), outputs: { "model.safetensors": D("f") } },
      },
    });
  });

  it("names the stage whose manifest is not a valid StageManifest", () => {
    const ws = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "lock-"));
    writeFileSync(path.join(ws, "bad.manifest.json"), '{"schemaVersion": 1, "stageName": 5}');
    expect(() =>
      computeLock(
        { pipeline: "p", reportStage: "bad", stages: [{ stage: "bad", manifest: "bad.manifest.json", data: "bad" }] },
        ws,
      ),
    ).toThrow(/bad\.manifest\.json/);
  });
});

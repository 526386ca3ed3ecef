import { readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { runStage } from "./runtime";
import type { StageDefinition } from "./runtime";
import { expectDamageReported } from "./testing/damage";
import { inputArg, PLACEHOLDER_RUBRIC, stageArgv, stageWorkspace, writeJson } from "./testing/workspace";
import type { StageWorkspace } from "./testing/workspace";

// A small real stage: writes one data file per raw file and a product manifest (config: an EvalRubric).
const upper: StageDefinition<EvalRubric> = {
  module: "modules/stage (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    for (const f of ctx.raw)
      await writeFile(path.join(ctx.outDir, path.basename(f)), readFileSync(f, "utf8").toUpperCase());
    const upstream = ctx.inputs.map((i) => i.manifest.stageName);
    await writeFile(path.join(ctx.outDir, "product.json"), JSON.stringify({ upstream }));
    return { product: { file: "product.json", schema: "nexa.v1.DatasetManifest" }, metrics: { files: ctx.raw.length } };
  },
};

function workspace(): StageWorkspace & { config: string; raw: string } {
  const w = stageWorkspace("stage-");
  const config = writeJson(w.dir, "rubric.json", PLACEHOLDER_RUBRIC);
  const raw = path.join(w.dir, "a.txt");
  writeFileSync(raw, "hello");
  return { ...w, config, raw };
}

const argv = (w: ReturnType<typeof workspace>, name: string, extra: string[] = []): string[] =>
  stageArgv(w, name, "modules/stage", w.config, {}, [`--raw=${w.raw}`, ...extra]);

describe("runStage", () => {
  it("writes a StageManifest listing every output with digests, and a log with stage_id", async () => {
    const w = workspace();
    const out = await runStage(upper, argv(w, "first"), w.bundle);
    const manifest = decodeManifest(
      CONTRACTS.StageManifest,
      readFileSync(path.join(w.dir, "first.manifest.json")),
      "first.manifest.json",
    );
    expect(manifest.stageId).toBe(out.stageId);
    expect(manifest.outputs.map((o) => [o.path, o.schemaName])).toEqual([
      ["a.txt", ""],
      ["product.json", "nexa.v1.DatasetManifest"],
    ]);
    expect(manifest.outputs[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(path.join(w.dir, "first", "a.txt"), "utf8")).toBe("HELLO");
    const lines = readFileSync(path.join(w.dir, "first.log.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(["stage_start", "stage_done"]);
    expect(lines.every((l) => l.stage === "first" && l.stage_id === out.stageId)).toBe(true);
  });

  it("is deterministic and chains: the downstream id depends on the upstream manifest", async () => {
    const w = workspace();
    const a = await runStage(upper, argv(w, "up"), w.bundle);
    const again = await runStage(upper, argv(w, "up"), w.bundle);
    expect(again.stageId).toBe(a.stageId);
    const input = inputArg(w, "dataset", "up");
    const down = await runStage(upper, argv(w, "down", [input]), w.bundle);
    expect(JSON.parse(readFileSync(path.join(w.dir, "down", "product.json"), "utf8"))).toEqual({ upstream: ["up"] });
    expect(down.manifest!.inputs[0]).toMatchObject({ path: "dataset", schemaName: "nexa.v1.StageManifest" });
    writeFileSync(w.raw, "changed");
    await runStage(upper, argv(w, "up"), w.bundle);
    const down2 = await runStage(upper, argv(w, "down", [input]), w.bundle);
    expect(down2.stageId).not.toBe(down.stageId);
  });

  it("rejects a config with an unknown field, naming the file and the field", async () => {
    const w = workspace();
    writeFileSync(w.config, JSON.stringify({ schemaVersion: 1, name: "r", criteria: [], colour: "red" }));
    await expect(runStage(upper, argv(w, "bad"), w.bundle)).rejects.toThrow(/rubric\.json: \$\.colour/);
  });

  it("logs and rethrows a failure of the stage function", async () => {
    const w = workspace();
    const failing: StageDefinition<EvalRubric> = {
      ...upper,
      run: async () => {
        throw new Error("boom");
      },
    };
    await expect(runStage(failing, argv(w, "fail"), w.bundle)).rejects.toThrow("boom");
    const last = readFileSync(path.join(w.dir, "fail.log.jsonl"), "utf8").trim().split("\n").pop()!;
    expect(JSON.parse(last)).toMatchObject({ event: "stage_failed", stage: "fail" });
  });

  it("records the node that ran the action (version and binary digest) and leaves code_revision to the run", async () => {
    const w = workspace();
    const out = await runStage(upper, argv(w, "tc"), w.bundle);
    expect(out.manifest!.toolchains).toEqual([
      { name: "node", version: process.version, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) },
    ]);
    expect(out.manifest!.codeRevision).toBe("");
  });

  it("refuses num_shards > 1 for a stage without merge, naming the stage and the fix", async () => {
    const w = workspace();
    const args = argv(w, "sharded")
      .filter((a) => !a.startsWith("--manifest="))
      .concat(["--shard=0", "--num-shards=2"]);
    await expect(runStage(upper, args, w.bundle)).rejects.toMatchObject({
      code: "STAGE_NOT_SHARDABLE",
      context: { stage: "sharded" },
      hint: expect.stringContaining("num_shards"),
    });
  });

  it("gives the stage the thread count of the one policy (or the caller's)", async () => {
    const w = workspace();
    let seen = 0;
    const probe: StageDefinition<EvalRubric> = {
      ...upper,
      run: async (ctx) => {
        seen = ctx.threads;
        return upper.run(ctx);
      },
    };
    await runStage(probe, argv(w, "threads"), w.bundle, { threads: 3 });
    expect(seen).toBe(3);
    await runStage(probe, argv(w, "threads2"), w.bundle);
    expect(seen).toBeGreaterThanOrEqual(1);
  });

  it("opens an upstream product through ctx.open: schema, decoding and the upstream listing are checked", async () => {
    const w = workspace();
    await runStage(upper, argv(w, "up"), w.bundle);
    const input = inputArg(w, "dataset", "up");
    const opener = (
      contract: typeof CONTRACTS.DatasetManifest | typeof CONTRACTS.PackedDatasetManifest,
    ): StageDefinition<EvalRubric> => ({
      ...upper,
      run: async (ctx) => {
        await ctx.open("dataset", contract as typeof CONTRACTS.DatasetManifest);
        return upper.run(ctx);
      },
    });
    // the upstream says its product is a DatasetManifest: asked for another schema, the wiring is wrong
    await expect(
      runStage(opener(CONTRACTS.PackedDatasetManifest), argv(w, "wrong", [input]), w.bundle),
    ).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: {
        upstream: "up",
        slot: "dataset",
        expected: "nexa.v1.PackedDatasetManifest",
        actual: "nexa.v1.DatasetManifest",
      },
    });
    // its bytes are not a DatasetManifest at all: the strict decoder says where
    await expect(
      runStage(opener(CONTRACTS.DatasetManifest), argv(w, "undecodable", [input]), w.bundle),
    ).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: { upstream: "up", decodeCode: "MANIFEST_SCHEMA_VERSION", jsonPath: "$.schemaVersion" },
    });
    // changed after its StageManifest was written
    await expectDamageReported(w.dir, { upstream: "up", slot: "dataset", path: "product.json", how: "flip" }, () =>
      runStage(opener(CONTRACTS.DatasetManifest), argv(w, "damaged", [input]), w.bundle),
    );
  });
});

import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { runStage } from "./runtime";
import type { StageDefinition } from "./runtime";

// A small real stage: writes one data file per raw file and a product manifest (config: an EvalRubric).
const upper: StageDefinition<EvalRubric> = {
  module: "modules/stage (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    for (const f of ctx.raw) await writeFile(path.join(ctx.outDir, path.basename(f)), readFileSync(f, "utf8").toUpperCase());
    const upstream = ctx.inputs.map((i) => i.manifest.stageName);
    await writeFile(path.join(ctx.outDir, "product.json"), JSON.stringify({ upstream }));
    return { product: { file: "product.json", schema: "nexa.v1.DatasetManifest" }, metrics: { files: ctx.raw.length } };
  },
};

function workspace(): { dir: string; config: string; raw: string; bundle: string } {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "stage-"));
  const config = path.join(dir, "rubric.json");
  writeFileSync(config, JSON.stringify({ schemaVersion: 1, name: "r", criteria: [{ metric: "m", comparator: "COMPARATOR_GTE" }] }));
  const raw = path.join(dir, "a.txt");
  writeFileSync(raw, "hello");
  const bundle = path.join(dir, "bundle.js");
  writeFileSync(bundle, "// bundle bytes\n");
  return { dir, config, raw, bundle };
}

const argv = (w: ReturnType<typeof workspace>, name: string, extra: string[] = []): string[] => [
  "run", `--stage=${name}`, "--module=modules/stage", `--config=${w.config}`, `--raw=${w.raw}`,
  `--out=${path.join(w.dir, name)}`, `--log=${path.join(w.dir, name + ".log.jsonl")}`, `--manifest=${path.join(w.dir, name + ".manifest.json")}`,
  ...extra,
];

describe("runStage", () => {
  it("writes a StageManifest listing every output with digests, and a log with stage_id", async () => {
    const w = workspace();
    const out = await runStage(upper, argv(w, "first"), w.bundle);
    const manifest = decodeManifest(CONTRACTS.StageManifest, readFileSync(path.join(w.dir, "first.manifest.json")), "first.manifest.json");
    expect(manifest.stageId).toBe(out.stageId);
    expect(manifest.outputs.map((o) => [o.path, o.schemaName])).toEqual([["a.txt", ""], ["product.json", "nexa.v1.DatasetManifest"]]);
    expect(manifest.outputs[0].digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(readFileSync(path.join(w.dir, "first", "a.txt"), "utf8")).toBe("HELLO");
    const lines = readFileSync(path.join(w.dir, "first.log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.map((l) => l.event)).toEqual(["stage_start", "stage_done"]);
    expect(lines.every((l) => l.stage === "first" && l.stage_id === out.stageId)).toBe(true);
  });

  it("is deterministic and chains: the downstream id depends on the upstream manifest", async () => {
    const w = workspace();
    const a = await runStage(upper, argv(w, "up"), w.bundle);
    const again = await runStage(upper, argv(w, "up"), w.bundle);
    expect(again.stageId).toBe(a.stageId);
    const input = `--input=dataset=${path.join(w.dir, "up.manifest.json")}:${path.join(w.dir, "up")}`;
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
    const failing: StageDefinition<EvalRubric> = { ...upper, run: async () => { throw new Error("boom"); } };
    await expect(runStage(failing, argv(w, "fail"), w.bundle)).rejects.toThrow("boom");
    const last = readFileSync(path.join(w.dir, "fail.log.jsonl"), "utf8").trim().split("\n").pop()!;
    expect(JSON.parse(last)).toMatchObject({ event: "stage_failed", stage: "fail" });
  });
});

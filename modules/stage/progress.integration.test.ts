// Live progress and config overrides of a stage action: progress files never change a key or an output, and an
// override changes exactly the config digest (hence the stage_id) and is validated like the config file.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS } from "@nexa/modules/manifest";
import { EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { runStage } from "./runtime";
import type { StageDefinition } from "./runtime";
import { PLACEHOLDER_RUBRIC, stageArgv, stageWorkspace, writeJson } from "./testing/workspace";

// A stage that reports progress over its raw files and writes one product.
const counting: StageDefinition<EvalRubric> = {
  module: "modules/stage (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const progress = ctx.startProgress("count", ctx.raw.length, "files");
    for (const f of ctx.raw) progress.tick(1, { bytes: readFileSync(f).length });
    progress.stop();
    writeFileSync(path.join(ctx.outDir, "product.json"), JSON.stringify({ name: ctx.config.name }));
    return { product: { file: "product.json", schema: "nexa.v1.DatasetManifest" } };
  },
};

function setup(): { w: ReturnType<typeof stageWorkspace>; argv: (name: string, extra?: string[]) => string[] } {
  const w = stageWorkspace("progress-");
  const config = writeJson(w.dir, "rubric.json", PLACEHOLDER_RUBRIC);
  const raw = path.join(w.dir, "a.txt");
  writeFileSync(raw, "hello");
  return { w, argv: (name, extra = []) => stageArgv(w, name, "modules/stage", config, {}, [`--raw=${raw}`, ...extra]) };
}

describe("live progress", () => {
  it("writes running/done with progress numbers, and the manifest is byte-identical with or without it", async () => {
    const { w, argv } = setup();
    const plain = await runStage(counting, argv("s"), w.bundle);
    const plainManifest = readFileSync(path.join(w.dir, "s.manifest.json"));
    const dir = mkdtempSync(path.join(tmpdir(), "nexa-progress-test-"));
    const watched = await runStage(counting, argv("s"), w.bundle, { progressDir: dir });
    expect(watched.stageId).toBe(plain.stageId);
    expect(readFileSync(path.join(w.dir, "s.manifest.json"))).toEqual(plainManifest);
    const [file] = readdirSync(dir);
    const record = JSON.parse(readFileSync(path.join(dir, file), "utf8"));
    expect(record).toMatchObject({
      stage: "s",
      state: "done",
      progress: { label: "count", done: 1, total: 1, bytes: 5 },
    });
  });

  it("records a failure, and never fails a stage whose progress file cannot be written", async () => {
    const { w, argv } = setup();
    const dir = mkdtempSync(path.join(tmpdir(), "nexa-progress-test-"));
    await expect(
      runStage({ ...counting, run: () => Promise.reject(new Error("boom")) }, argv("f"), w.bundle, {
        progressDir: dir,
      }),
    ).rejects.toThrow(/boom/);
    const [file] = readdirSync(dir);
    expect(JSON.parse(readFileSync(path.join(dir, file), "utf8"))).toMatchObject({ state: "failed" });
    const blocker = path.join(dir, "not-a-dir");
    writeFileSync(blocker, "");
    const out = await runStage(counting, argv("g"), w.bundle, { progressDir: path.join(blocker, "x") });
    expect(out.stageId).toMatch(/^[0-9a-f]{64}$/);
    mkdirSync(path.join(dir, "ro"), { mode: 0o500 });
    await runStage(counting, argv("h"), w.bundle, { progressDir: path.join(dir, "ro") });
  });
});

describe("config overrides (--set)", () => {
  it("change the config digest and stage_id exactly as editing the file would", async () => {
    const { w, argv } = setup();
    const base = await runStage(counting, argv("o"), w.bundle);
    const set = await runStage(counting, argv("o", ["--set=name=other", "--set=max_examples=3"]), w.bundle);
    expect(set.stageId).not.toBe(base.stageId);
    expect(JSON.parse(readFileSync(path.join(w.dir, "o", "product.json"), "utf8"))).toEqual({ name: "other" });
    const edited = setup();
    writeJson(edited.w.dir, "rubric.json", { ...PLACEHOLDER_RUBRIC, name: "other", maxExamples: 3 });
    const byFile = await runStage(counting, edited.argv("o"), edited.w.bundle);
    expect(byFile.manifest!.configDigest).toBe(set.manifest!.configDigest);
  });

  it("reject an unknown field or a wrong type with the JSON path and the known fields", async () => {
    const { w, argv } = setup();
    await expect(runStage(counting, argv("u", ["--set=maxExampels=3"]), w.bundle)).rejects.toMatchObject({
      code: "CONFIG_UNKNOWN_FIELD",
      message: expect.stringMatching(/rubric\.json with --set maxExampels=3: \$\.maxExampels/),
      hint: expect.stringMatching(/maxExamples/),
    });
    await expect(runStage(counting, argv("t", ["--set=maxExamples=lots"]), w.bundle)).rejects.toMatchObject({
      code: "CONFIG_WRONG_TYPE",
    });
    await expect(runStage(counting, argv("n", ["--set=name.x=1"]), w.bundle)).rejects.toMatchObject({
      code: "CONFIG_BAD_OVERRIDE",
    });
  });
});

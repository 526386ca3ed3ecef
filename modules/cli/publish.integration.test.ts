// publishPipeline over real stage outputs (made by the stage runtime): manifests and files land in the registry,
// the run id is deterministic, a rerun adds nothing, and the rubric decides pass/fail.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, decodeManifest, encodeMessage, readManifest } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import { Catalog, LocalStore } from "@nexa/modules/registry";
import type { StageDefinition } from "@nexa/modules/stage";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { formatSummary, loadPlan, publishPipeline } from "./publish";
import { workspacePlan } from "./testing/nexa";
import type { PipelinePlan } from "./publish";

const D = (c: string) => `sha256:${c.repeat(64)}`;

function stageDef(passed: boolean): StageDefinition<EvalRubric> {
  return {
    module: "modules/cli (test)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      await writeFile(path.join(ctx.outDir, "report.html"), "<html>report</html>");
      const report = EvalReport.fromPartial({
        schemaVersion: 1,
        rubric: { digest: D("a") },
        checkpoint: { digest: D("b") },
        results: [{ metric: "bpb", value: 1.5, passed }],
        passed,
        htmlReport: { digest: D("c"), path: "report.html" },
        producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      });
      await writeFile(path.join(ctx.outDir, "report.json"), encodeMessage(EvalReport, report));
      return { product: { file: "report.json", schema: CONTRACTS.EvalReport.name }, metrics: { bpb: 1.5 } };
    },
  };
}

/** Runs the two stages "first" and "eval" (wired to "first") in a fresh workspace; returns it and their plan. */
async function build(passed: boolean): Promise<{ dir: string; plan: PipelinePlan }> {
  const w = stageWorkspace("pipe-");
  const config = { schemaVersion: 1, name: "r", criteria: [{ metric: "bpb", comparator: "COMPARATOR_LTE" }] };
  const stages = ["first", "eval"];
  for (const [i, name] of stages.entries()) {
    await runIn(w, stageDef(passed), name, {
      module: "modules/x",
      config,
      inputs: i === 0 ? {} : { up: "first" },
      // built as `nexa run --set eval.maxExamples=8` builds it; the plan records the override below
      extra: name === "eval" ? ["--set=maxExamples=8"] : [],
    });
  }
  const plan = workspacePlan("//pipelines:test", stages, {
    overrides: [{ stage: "eval", field: "maxExamples", value: "8" }],
  });
  return { dir: w.dir, plan };
}

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

describe("publishPipeline", () => {
  it("publishes, then republishes identically with every stage cached", async () => {
    const { dir, plan } = await build(true);
    const home = tmp("home-");
    const first = await publishPipeline(plan, { root: dir, home });
    expect(first.rubric).toBe("pass");
    // the report is kept in the registry (outliving the build tree), as the stored blob's bytes
    expect(first.reportPath).toBe(path.join(home, "reports", `${first.runId}.html`));
    expect(readFileSync(first.reportPath!, "utf8")).toBe("<html>report</html>");
    // each stage's config is stored under its config digest, as a root of its contract
    expect(first.stages[1].config).toEqual({ digest: expect.stringMatching(/^sha256:/), schema: "nexa.v1.EvalRubric" });
    const evalConfig = readManifest(CONTRACTS.StageManifest, path.join(dir, "eval.manifest.json")).configDigest;
    expect(first.stages[1].config!.digest).toBe(evalConfig);
    expect(await new LocalStore(home).has(evalConfig)).toBe(true);
    expect(first.stages.map((s) => s.status)).toEqual(["ran", "ran"]);
    // summary metrics come from the product manifest (report.json), not from the stage's log
    expect(first.stages[1].metrics).toEqual({ passed: 1, bpb: 1.5 });
    expect(first.stages[1].durationMs).toBeGreaterThanOrEqual(0);
    const blobs = (await new LocalStore(home).list()).sort();

    const second = await publishPipeline(plan, { root: dir, home });
    expect(second.runId).toBe(first.runId);
    expect(second.stages.map((s) => s.status)).toEqual(["cached", "cached"]);
    expect((await new LocalStore(home).list()).sort()).toEqual(blobs);
    expect(readdirSync(path.join(home, "invocations"))).toHaveLength(2);

    const catalog = new Catalog(new LocalStore(home));
    expect(catalog.runs().map((r) => r.run_id)).toEqual([first.runId]);
    // the run records the plan's config overrides (nexa run --set)
    const run = decodeManifest(CONTRACTS.RunManifest, await new LocalStore(home).get(first.runManifestDigest), "run");
    expect(run.overrides).toEqual([{ stage: "eval", field: "maxExamples", value: "8" }]);
    // lineage: every file eval wrote (its report.json differs from the first stage's) descends from the first stage
    const evalManifest = readManifest(CONTRACTS.StageManifest, path.join(dir, "eval.manifest.json"));
    const firstManifest = readManifest(CONTRACTS.StageManifest, path.join(dir, "first.manifest.json"));
    expect(evalManifest.outputs.map((o) => o.path)).toEqual(["report.html", "report.json"]);
    expect(evalManifest.outputs[1].digest).not.toBe(firstManifest.outputs[1].digest);
    const down = catalog.descendants(first.stages[0].manifestDigest);
    for (const o of evalManifest.outputs) expect(down).toContain(o.digest);
    catalog.close();
    expect(formatSummary(second)).toMatch(/^stage\s+ran\/cached\s+duration\s+metrics\s+manifest\nfirst\s+cached/);
  });

  it("reports a failed rubric", async () => {
    // root "" cannot resolve the plan's paths: a coded error naming the manifest, and nothing is published
    const home = tmp("home-");
    const err = await publishPipeline((await build(false)).plan, { root: "", home }).then(
      () => undefined,
      (e) => e,
    );
    expect(err).toBeInstanceOf(NexaError);
    expect(err).toMatchObject({ code: "MANIFEST_READ", context: { file: "first.manifest.json" } });
    expect(await new LocalStore(home).list()).toEqual([]);
    const fails = await build(false);
    const failed = await publishPipeline(fails.plan, { root: fails.dir, home: tmp("home-") });
    expect(failed.rubric).toBe("fail");
  });

  it("refuses outputs that no longer match their manifest", async () => {
    const { dir, plan } = await build(true);
    // the last stage is tampered with: the first stage is valid but must not be stored either (nothing half-published)
    writeFileSync(path.join(dir, "eval", "report.html"), "tampered");
    const home = tmp("home-");
    await expect(publishPipeline(plan, { root: dir, home })).rejects.toThrow(/report\.html/);
    expect(await new LocalStore(home).list()).toEqual([]);
    const catalog = new Catalog(new LocalStore(home));
    expect(catalog.runs()).toEqual([]);
    catalog.close();
  });

  it("reads the pipeline plan strictly as a nexa.v1.PipelinePlan", () => {
    const dir = tmp("plan-");
    const file = path.join(dir, "golden.pipeline.json");
    const stage = {
      stage: "eval",
      module: "modules/eval",
      kind: "nexa.v1.EvalReport",
      manifest: "p/eval.manifest.json",
      data: "p/eval",
      log: "p/eval.log.jsonl",
      config: "p/rubric.json",
    };
    writeFileSync(
      file,
      JSON.stringify({ schemaVersion: 1, pipeline: "//p:golden", reportStage: "eval", stages: [stage] }),
    );
    expect(loadPlan(file)).toMatchObject({ pipeline: "//p:golden", reportStage: "eval", stages: [stage] });
    writeFileSync(file, JSON.stringify({ pipeline: "//p:golden", report_stage: "eval", stages: [stage] }));
    expect(() => loadPlan(file)).toThrow(expect.objectContaining({ code: "MANIFEST_SCHEMA_VERSION" }));
    writeFileSync(
      file,
      JSON.stringify({ schemaVersion: 1, pipeline: "//p:golden", reportStage: "report", stages: [stage] }),
    );
    expect(() => loadPlan(file)).toThrow(
      expect.objectContaining({
        code: "PUBLISH_BAD_PLAN",
        context: expect.objectContaining({ jsonPath: "$.reportStage" }),
      }),
    );
    writeFileSync(
      file,
      JSON.stringify({ schemaVersion: 1, pipeline: "//p:golden", stages: [{ ...stage, colour: "red" }] }),
    );
    expect(() => loadPlan(file)).toThrow(/\$\.stages\[0\]\.colour: unknown field/);
  });
});

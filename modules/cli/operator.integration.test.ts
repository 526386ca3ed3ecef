// The operator's view of a real registry: two runs of a data → train → eval pipeline built by the stage runtime and
// published with `nexa publish`, the second with one train config field changed. `nexa runs`, `show`, `diff`,
// `compare` and `lineage` are run as command lines against that registry, with their usage (exit 2) and bad-input
// (exit 3) errors.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, digestBytes, encodeMessage } from "@nexa/modules/manifest";
import { Catalog, LocalStore } from "@nexa/modules/registry";
import type { StageDefinition } from "@nexa/modules/stage";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import { DatasetManifest, SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import { EvalReport } from "@nexa/proto/nexa/v1/eval";
import type { EvalRubric } from "@nexa/proto/nexa/v1/eval";
import { RunManifest } from "@nexa/proto/nexa/v1/run";

import { renderTree } from "./lineage";
import type { LineageNode } from "./lineage";
import { nexa, workspacePlan } from "./testing/nexa";

const RAW = '{"text":"a raw document"}\n';

const producer = (ctx: { stage: string; stageId: string; module: string }) => ({
  stageName: ctx.stage,
  stageId: ctx.stageId,
  module: ctx.module,
});

/** data: one JSONL shard and a DatasetManifest naming the raw file it came from. */
const dataStage: StageDefinition<EvalRubric> = {
  module: "modules/data (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    await writeFile(path.join(ctx.outDir, "train.jsonl"), RAW);
    const file = {
      digest: digestBytes(RAW),
      sizeBytes: RAW.length,
      path: "train.jsonl",
      mediaType: "application/jsonl",
    };
    const m = DatasetManifest.fromPartial({
      schemaVersion: 1,
      name: "fixture",
      shards: [{ file, split: "train", recordCount: 1 }],
      splits: [{ name: "train", recordCount: 1, fraction: 1 }],
      recordCount: 1,
      sources: [
        {
          kind: SourceLineage_Kind.KIND_RAW_FILE,
          uri: "corpus/a.jsonl",
          artifact: { ...file, path: "" },
          recordsKept: 1,
          recordsRead: 1,
        },
      ],
      producer: producer(ctx),
    });
    await writeFile(path.join(ctx.outDir, "dataset.json"), encodeMessage(DatasetManifest, m));
    return { product: { file: "dataset.json", schema: CONTRACTS.DatasetManifest.name } };
  },
};

/** train: a checkpoint whose loss curve falls faster the higher its config's first threshold. */
const trainStage: StageDefinition<EvalRubric> = {
  module: "modules/train (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    ctx.input("dataset");
    const rate = ctx.config.criteria[0].threshold;
    const curve = [0, 1, 2, 3, 4].map((step) => ({
      step,
      loss: 4 / (1 + rate * step),
      ...(step === 4 ? { val_loss: 4 / (1 + rate * 4) + 0.1 } : {}),
    }));
    const curveText = curve.map((l) => JSON.stringify(l)).join("\n") + "\n";
    await writeFile(path.join(ctx.outDir, "metrics.jsonl"), curveText);
    await writeFile(path.join(ctx.outDir, "model.safetensors"), "weights");
    const m = CheckpointManifest.fromPartial({
      schemaVersion: 1,
      weights: { digest: digestBytes("weights"), sizeBytes: 7, path: "model.safetensors" },
      metrics: {
        digest: digestBytes(curveText),
        sizeBytes: curveText.length,
        path: "metrics.jsonl",
        mediaType: "application/jsonl",
      },
      tokenizer: { digest: digestBytes("tokenizer") },
      model: { nLayer: 1, nHead: 1, nEmbd: 8, vocabSize: 16, blockSize: 8 },
      trainConfigDigest: ctx.configDigest,
      step: 4,
      finalTrainLoss: curve[4].loss,
      producer: producer(ctx),
    });
    await writeFile(path.join(ctx.outDir, "checkpoint.json"), encodeMessage(CheckpointManifest, m));
    return { product: { file: "checkpoint.json", schema: CONTRACTS.CheckpointManifest.name } };
  },
};

/** eval: reports the checkpoint's final loss as "bpb", passing when it is at most 1. */
const evalStage: StageDefinition<EvalRubric> = {
  module: "modules/eval (test)",
  config: CONTRACTS.EvalRubric,
  async run(ctx) {
    const ckpt = await ctx.open("checkpoint", CONTRACTS.CheckpointManifest);
    const bpb = ckpt.message.finalTrainLoss;
    await writeFile(path.join(ctx.outDir, "report.html"), `<html><body>bpb ${bpb}</body></html>`);
    const report = EvalReport.fromPartial({
      schemaVersion: 1,
      rubric: { digest: ctx.configDigest },
      checkpoint: { digest: ckpt.ref.digest },
      results: [{ metric: "bpb", value: bpb, passed: bpb <= 1 }],
      passed: bpb <= 1,
      htmlReport: { path: "report.html" },
      producer: producer(ctx),
    });
    await writeFile(path.join(ctx.outDir, "report.json"), encodeMessage(EvalReport, report));
    return { product: { file: "report.json", schema: CONTRACTS.EvalReport.name } };
  },
};

const rubric = (threshold: number) => ({
  schemaVersion: 1,
  name: "r",
  criteria: [{ metric: "bpb", comparator: "COMPARATOR_LTE", threshold }],
});

/** Builds the three stages in a fresh workspace (train's config threshold = `rate`) and writes their plan. */
async function build(rate: number): Promise<{ dir: string; planFile: string }> {
  const w = stageWorkspace("op-");
  await runIn(w, dataStage, "data", { config: rubric(1) });
  await runIn(w, trainStage, "train", { config: rubric(rate), inputs: { dataset: "data" } });
  await runIn(w, evalStage, "eval", { config: rubric(1), inputs: { checkpoint: "train" } });
  const plan = workspacePlan("//pipelines:op", ["data", "train", "eval"], { module: (s) => `modules/${s}` });
  const planFile = path.join(w.dir, "op.pipeline.json");
  writeFileSync(planFile, JSON.stringify(plan));
  return { dir: w.dir, planFile };
}

const home = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "op-home-"));
const h = (...args: string[]) => nexa(["--home", home, ...args]);
let runA = "";
let runB = "";

beforeAll(async () => {
  // run A: final loss 4/3 fails the rubric (exit 1); run B (threshold 3): final loss 4/13 passes (exit 0)
  for (const rate of [0.5, 3]) {
    const { dir, planFile } = await build(rate);
    const published = await h("publish", "--pipeline-file", planFile, "--root", dir);
    expect({ rate, code: published.code, err: published.err }).toEqual({ rate, code: rate === 3 ? 0 : 1, err: "" });
    const id = /run_id=([0-9a-f]{64})/.exec(published.out)?.[1] ?? "";
    expect(published.out).toContain(`report=${path.join(home, "reports", `${id}.html`)}`);
    if (rate === 3) runB = id;
    else runA = id;
  }
}, 60_000);

describe("nexa over a real registry", () => {
  it("publish keeps the report in the registry and prints that path", async () => {
    for (const run of [runA, runB]) {
      const report = path.join(home, "reports", `${run}.html`);
      expect(readFileSync(report, "utf8")).toMatch(/^<html><body>bpb /);
    }
    const show = await h("show", runA.slice(0, 10), "--json");
    expect(JSON.parse(show.out).reportPath).toBe(path.join(home, "reports", `${runA}.html`));
  });

  it("runs lists both runs newest first, with pipeline, rubric and key metrics (table and --json)", async () => {
    const json = await h("runs", "--json");
    expect(json.code).toBe(0);
    const runs = JSON.parse(json.out).runs;
    expect(runs.map((r: { runId: string }) => r.runId)).toEqual([runB, runA]);
    expect(runs[0]).toMatchObject({ pipeline: "//pipelines:op", rubric: "pass", metrics: { passed: 1, bpb: 4 / 13 } });
    expect(Date.parse(runs[0].publishedAt)).toBeGreaterThanOrEqual(Date.parse(runs[1].publishedAt));
    // duration: what the run's own (ran) stages took, from the stage logs
    for (const r of runs) expect(r.durationMs).toBeGreaterThanOrEqual(0);
    const text = await h("runs");
    expect(text.out.split("\n")[0]).toMatch(/^run\s+pipeline\s+published\s+rubric\s+duration\s+metrics$/);
    expect(text.out.split("\n")[1]).toContain(runB.slice(0, 12));
  });

  it("show lists stages with ran/cached, metrics and digests", async () => {
    const r = JSON.parse((await h("show", runB, "--json")).out);
    expect(r.stages.map((s: { stage: string; status: string }) => [s.stage, s.status])).toEqual([
      ["data", "cached"],
      ["train", "ran"],
      ["eval", "ran"],
    ]);
    expect(r.stages[1]).toMatchObject({ configSchema: "nexa.v1.EvalRubric", metrics: { steps: 4 } });
    expect(r.stages[1].stageId).toMatch(/^[0-9a-f]{64}$/);
    expect(r.stages[2].inputs).toEqual([{ slot: "checkpoint", digest: r.stages[1].manifestDigest, stage: "train" }]);
    const text = await h("show", runB.slice(0, 8));
    expect(text.out).toMatch(/\ntrain\s+ran\s+/);
    expect(text.out).toContain(`report    ${path.join(home, "reports", `${runB}.html`)}`);
  });

  it("diff names the changed config field, the changed upstream and the metric deltas", async () => {
    const d = await h("diff", runA, runB, "--json");
    expect(d.code).toBe(0);
    const diff = JSON.parse(d.out);
    expect(diff.schemaVersion).toBe(1);
    expect(diff.stages.map((s: { stage: string; result: string }) => [s.stage, s.result])).toEqual([
      ["data", "same"],
      ["train", "rerun"],
      ["eval", "rerun"],
    ]);
    expect(diff.stages[1].reasons).toEqual([{ kind: "config", field: "criteria[0].threshold", old: 0.5, new: 3 }]);
    expect(diff.stages[2].reasons).toEqual([
      {
        kind: "input",
        slot: "checkpoint",
        upstream: "train",
        old: expect.stringMatching(/^sha256:/),
        new: expect.stringMatching(/^sha256:/),
      },
    ]);
    expect(diff.stages[2].metrics).toContainEqual({ metric: "bpb", a: 4 / 3, b: 4 / 13, delta: 4 / 13 - 4 / 3 });
    expect(diff.stages[2].metrics).toContainEqual({ metric: "passed", a: 0, b: 1, delta: 1 });
    const text = await h("diff", runA.slice(0, 6), runB.slice(0, 6));
    expect(text.out).toMatch(/train\s+re-run\s+config criteria\[0\]\.threshold: 0\.5 → 3/);
    expect(text.out).toMatch(/eval\s+re-run\s+input checkpoint from stage train changed/);
  });

  it("compare writes one self-contained page with both loss curves and the metrics side by side", async () => {
    const file = path.join(home, "compare.html");
    const r = await h("compare", runA, runB, "--html", file);
    expect(r).toMatchObject({ code: 0, out: `compare: ${file}\n` });
    const html = readFileSync(file, "utf8");
    expect(html.match(/<polyline class="train"/g)).toHaveLength(2);
    expect(html).toContain(`${runA.slice(0, 8)} train`);
    expect(html).not.toMatch(/<script|src=|href=/);
    expect(html).toMatch(/<th>eval<\/th><td>bpb<\/td><td class="num">1\.333<\/td><td class="num">0\.3077<\/td>/);
  });

  it("lineage goes from the report back to the raw file, configs, tools and code revision", async () => {
    const r = JSON.parse((await h("show", runB, "--json")).out);
    const reportDigest = r.stages[2].product.digest;
    const json = JSON.parse((await h("lineage", reportDigest, "--format", "json")).out).lineage;
    const flat = JSON.stringify(json);
    expect(json.children[0].label).toMatch(/^stage eval /);
    expect(flat).toContain("stage train");
    expect(flat).toContain("stage data");
    expect(flat).toContain(`"label":"raw corpus/a.jsonl","digest":"${digestBytes(RAW)}"`);
    expect(flat).toContain("config nexa.v1.EvalRubric");
    expect(flat).toMatch(/code revision unknown \(run [0-9a-f]{12} \/\/pipelines:op\)/);
    const tree = (await h("lineage", reportDigest)).out;
    expect(tree).toMatch(/└─ |├─ /);
    expect((await h("lineage", reportDigest, "--format", "mermaid")).out).toMatch(/^flowchart BT\n/);
    // a shared upstream stage is printed once in the tree, then named
    const shared: LineageNode = {
      kind: "stage",
      label: "stage data",
      children: [{ kind: "raw", label: "raw a", children: [] }],
    };
    const dag: LineageNode = {
      kind: "artifact",
      label: "artifact",
      children: [shared, { kind: "input", label: "input x", children: [shared] }],
    };
    expect(renderTree(dag)).toBe(
      ["artifact", "├─ stage data", "│  └─ raw a", "└─ input x", "   └─ stage data (shown above)"].join("\n"),
    );
    expect((await h("lineage", reportDigest, "--format", "dot")).out).toMatch(/^digraph lineage \{/);
  });

  it("bad arguments exit 2 with the command's usage", async () => {
    for (const args of [
      ["diff", runA],
      ["show"],
      ["lineage", "not-a-digest"],
      ["lineage", digestBytes("x"), "--format", "svg"],
      ["compare", runA],
      ["runs", "--colour"],
    ]) {
      const r = await h(...args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.err).toContain(`Usage: nexa ${args[0]}`);
    }
  });

  it("bad input exits 3 naming what and the fix: unknown run, ambiguous prefix, unknown digest, corrupt record", async () => {
    const unknown = await h("show", "ffffffffffff");
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/REGISTRY_UNKNOWN_RUN.*ffffffffffff[\s\S]*hint: .*nexa runs/);
    const notHex = await h("diff", "zzz", runB);
    expect(notHex.code).toBe(3);
    expect(notHex.err).toMatch(/REGISTRY_BAD_RUN_ID/);
    const absent = await h("lineage", digestBytes("absent"));
    expect(absent.code).toBe(3);
    expect(absent.err).toMatch(/REGISTRY_UNKNOWN_ARTIFACT[\s\S]*hint:/);

    // a second run sharing run A's first 8 characters makes that prefix ambiguous
    const catalog = new Catalog(new LocalStore(home));
    const twin = runA.slice(0, 8) + (runA[8] === "0" ? "1" : "0").repeat(56);
    await catalog.publishManifest(
      CONTRACTS.RunManifest,
      RunManifest.fromPartial({ schemaVersion: 1, runId: twin, pipeline: "//pipelines:op", stages: [] }),
    );
    const digest = catalog.runs().find((r) => r.run_id === runA)!.manifest_digest;
    catalog.close();
    const ambiguous = await h("show", runA.slice(0, 8));
    expect(ambiguous.code).toBe(3);
    expect(ambiguous.err).toMatch(/REGISTRY_AMBIGUOUS_RUN[\s\S]*hint: give more characters/);
    expect((await h("show", runA.slice(0, 9))).code).toBe(0);

    // a damaged run manifest in the store: show names the blob and how to check it
    const blob = new LocalStore(home).blobPath(digest);
    const saved = readFileSync(blob);
    chmodSync(blob, 0o644);
    writeFileSync(blob, "{ not json");
    try {
      const corrupt = await h("show", runA);
      expect(corrupt.code).toBe(3);
      expect(corrupt.err).toContain(digest);
      expect(corrupt.err).toMatch(/hint: run `nexa verify/);
    } finally {
      writeFileSync(blob, saved);
    }
    expect((await h("show", runA)).code).toBe(0);
  });
});

// The two pages an operator opens, rendered by headless chromium: the eval stage's report.html (the copy `nexa
// publish` keeps in the registry) and the page `nexa compare --html` writes, both from real runs. A pack stage and
// two tiny GPT checkpoints (student, teacher) come from the shared stage fixtures, modules/eval's stage scores them,
// and the `nexa` binary publishes two such runs (the second trains its student longer) and compares them. Each
// page must draw its loss curves (one chart; a series per checkpoint), log no console or page errors and request
// nothing but its own file; a full-page PNG of each is kept in the test's outputs.
import { execFileSync } from "child_process";
import { mkdtempSync, writeFileSync } from "fs";
import * as path from "path";

import { evalStage } from "@nexa/modules/eval";
import { corpus, fakePackStage, fakeTrainStage } from "@nexa/modules/stage/testing/upstream";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import type { Browser } from "playwright-core";

import { chartProblems, chromiumInfo, inspectPage, launchChromium, outputsDir } from "./page_check";

const runfiles = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "";
const NEXA = path.join(runfiles, process.env.TEST_WORKSPACE ?? "nexacompute", "modules/cli/nexa.sh");
const tmp = process.env.TEST_TMPDIR ?? "/tmp";
const home = mkdtempSync(path.join(tmp, "pages-home-"));

const RUBRIC = {
  schemaVersion: 1,
  name: "pages",
  revision: 1,
  criteria: [
    { metric: "student.bpb_gain_vs_baseline", comparator: "COMPARATOR_GTE", threshold: 0, required: true },
    { metric: "agreement.top1", comparator: "COMPARATOR_GTE", threshold: 0.05, required: false },
  ],
};
const STAGES = ["pack", "student", "teacher", "eval"];
const TRAIN = corpus(80, 1, { words: { min: 3, spread: 12 } });

/** `nexa <args>` (the real binary) against the test registry; its stdout. Exit 1 (rubric failed) is kept as well. */
function nexa(...args: string[]): string {
  try {
    return execFileSync(NEXA, ["--home", home, ...args], {
      encoding: "utf8",
      env: { ...process.env, RUNFILES_DIR: runfiles },
    });
  } catch (e) {
    const err = e as { status?: number; stdout?: string; stderr?: string };
    if (err.status === 1 && err.stdout) return err.stdout;
    throw new Error(`nexa ${args.join(" ")} exited ${err.status}:\n${err.stdout}${err.stderr}`);
  }
}

/** Builds pack → student (`studentSteps`) + teacher → eval in a fresh workspace, publishes it; returns the run id. */
async function publishRun(studentSteps: number): Promise<string> {
  const w = stageWorkspace(`pages-${studentSteps}-`);
  const pack = fakePackStage({
    seqLen: 32,
    tokenizer: { train: TRAIN, vocabSize: 300, minFrequency: 2 },
    shards: [
      { split: "train", texts: TRAIN },
      { split: "validation", texts: corpus(12, 2, { words: { min: 3, spread: 12 } }) },
    ],
  });
  await runIn(w, pack, "pack");
  await runIn(w, fakeTrainStage({ seed: 7, steps: studentSteps }), "student", { inputs: { packed: "pack" } });
  await runIn(w, fakeTrainStage({ seed: 11, steps: 30, dModel: 24 }), "teacher", { inputs: { packed: "pack" } });
  await runIn(w, evalStage, "eval", {
    module: "modules/eval",
    config: RUBRIC,
    inputs: { checkpoint: "student", teacher: "teacher", packed: "pack" },
  });
  const plan = {
    schemaVersion: 1,
    pipeline: "//tests/pages:fixture",
    reportStage: "eval",
    stages: STAGES.map((s) => ({
      stage: s,
      module: s === "eval" ? "modules/eval" : `modules/${s} (fixture)`,
      kind: s === "eval" ? "eval_stage" : "fixture",
      manifest: `${s}.manifest.json`,
      data: s,
      log: `${s}.log.jsonl`,
      config: `${s}.config.json`,
    })),
  };
  const planFile = path.join(w.dir, "pages.pipeline.json");
  writeFileSync(planFile, JSON.stringify(plan));
  const out = nexa("publish", "--pipeline-file", planFile, "--root", w.dir);
  const id = /run_id=([0-9a-f]{64})/.exec(out)?.[1];
  if (!id) throw new Error(`nexa publish printed no run id:\n${out}`);
  return id;
}

let browser: Browser;
let runA = "";
let runB = "";

beforeAll(async () => {
  chromiumInfo(); // a missing chromium fails here, with the fix
  runA = await publishRun(20);
  runB = await publishRun(40);
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

describe("pages in headless chromium", () => {
  it("report.html (as the registry keeps it) draws the student's and the teacher's loss curves", async () => {
    const shot = path.join(outputsDir(), "report.png");
    const f = await inspectPage(browser, path.join(home, "reports", `${runB}.html`), shot);
    expect(f.title).toMatch(/^Eval report: pages r1 — (PASS|FAIL)$/);
    expect(chartProblems(f, { seriesPerChart: [2] })).toEqual([]);
    expect(f.charts[0].series.map((s) => s.tag)).toEqual(["polyline", "polyline"]);
  });

  it("the compare page overlays both runs' curves (student and teacher of each)", async () => {
    const file = path.join(tmp, "compare.html");
    expect(nexa("compare", runA, runB, "--html", file)).toBe(`compare: ${file}\n`);
    const f = await inspectPage(browser, file, path.join(outputsDir(), "compare.png"));
    expect(f.title).toBe(`nexa compare: ${runA.slice(0, 8)} vs ${runB.slice(0, 8)}`);
    expect(chartProblems(f, { seriesPerChart: [4] })).toEqual([]);
  });
});

// `nexa run` against a stand-in for bazel (a script playing back a build: progress files written where the real
// stage actions write them, build events, the publisher's output), and `nexa new pipeline` in a scratch workspace.
import { appendFileSync, chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { PLACEHOLDER_RUBRIC } from "@nexa/modules/stage/testing/workspace";

import { runNexa } from "./commands";

// The stand-in: `info` prints the output base and bazel-bin, `build --output_groups=nexa_plan` writes the plan,
// `run` plays back fake.json's steps; every call is appended to calls.jsonl.
const FAKE_BAZEL = `#!${process.execPath}
const fs = require("fs"), path = require("path");
const ws = process.cwd();
const s = JSON.parse(fs.readFileSync(path.join(ws, "fake.json"), "utf8"));
const args = process.argv.slice(2);
fs.appendFileSync(path.join(ws, "calls.jsonl"), JSON.stringify(args) + "\\n");
const flag = (n) => (args.find((a) => a.startsWith("--" + n + "=")) || "").slice(n.length + 3);
const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
if (args[0] === "info") { console.log("output_base: " + s.outputBase + "\\nbazel-bin: " + path.join(ws, "bin")); process.exit(0); }
if (args[0] === "build") {
  const out = path.join(ws, "bin", "pipelines", "demo.pipeline.json");
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(s.plan));
  process.exit(0);
}
const dir = flag("sandbox_writable_path"), bep = flag("build_event_json_file");
for (const step of s.steps) {
  if (step.sleep) sleep(step.sleep);
  if (step.record) fs.writeFileSync(path.join(dir, step.record.stage + "." + (step.record.command || "run") + ".json"), JSON.stringify({ label: "//pipelines:" + step.record.stage, command: "run", shard: 0, num_shards: 1, pid: 1, started_ms: Date.now() - 1000, updated_ms: Date.now(), ...step.record }));
  if (step.bep) fs.appendFileSync(bep, JSON.stringify(step.bep) + "\\n");
  if (step.stderr) process.stderr.write(step.stderr);
}
process.stdout.write(s.stdout || "");
process.exit(s.exit || 0);
`;

const FINISHED_OK = { id: { buildFinished: {} }, finished: { overallSuccess: true, exitCode: { name: "SUCCESS" } } };
const FINISHED_FAIL = { id: { buildFinished: {} }, finished: { exitCode: { name: "BUILD_FAILURE", code: 1 } } };

function workspace(steps: unknown[], exit = 0): { ws: string; env: Record<string, string>; calls: () => string[][] } {
  const ws = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "nexa-run-ws-"));
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "demo")\n');
  mkdirSync(path.join(ws, "pipelines", "demo"), { recursive: true });
  writeFileSync(path.join(ws, "pipelines", "demo", "rubric.json"), JSON.stringify(PLACEHOLDER_RUBRIC));
  const stage = (name: string, configSchema = "") => ({
    stage: name,
    module: `modules/${name}`,
    kind: "nexa.v1.DatasetManifest",
    manifest: `pipelines/${name}.manifest.json`,
    data: `pipelines/${name}`,
    log: `pipelines/${name}.log.jsonl`,
    config: `pipelines/demo/${name === "eval" ? "rubric" : name}.json`,
    configSchema,
  });
  const plan = {
    schemaVersion: 1,
    pipeline: "//pipelines:demo",
    reportStage: "eval",
    stages: [stage("data"), stage("train"), stage("eval", "nexa.v1.EvalRubric")],
  };
  const stdout = "demo: run_id=abc rubric=pass report=-\n";
  writeFileSync(
    path.join(ws, "fake.json"),
    JSON.stringify({ outputBase: path.join(ws, "obase"), plan, steps, stdout, exit }),
  );
  const bazel = path.join(ws, "fake-bazel");
  writeFileSync(bazel, FAKE_BAZEL);
  chmodSync(bazel, 0o755);
  const calls = (): string[][] =>
    readFileSync(path.join(ws, "calls.jsonl"), "utf8")
      .trim()
      .split("\n")
      .filter((l) => l)
      .map((l) => JSON.parse(l));
  appendFileSync(path.join(ws, "calls.jsonl"), "");
  return { ws, env: { NEXA_BAZEL: bazel, BUILD_WORKSPACE_DIRECTORY: ws }, calls };
}

async function nexa(args: string[], env: Record<string, string>, tty = false) {
  let out = "";
  let err = "";
  const code = await runNexa(args, { out: (t) => (out += t), err: (t) => (err += t), env, tty });
  const lines = tty
    ? []
    : out
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l));
  return { code, out, err, lines };
}

const TRAIN_PROGRESS = { label: "train", done: 5, total: 10, unit: "steps", loss: 2.5, tokens_per_s: 900, eta_s: 3 };

describe("nexa run", () => {
  it("shows each stage's state and live progress as JSON lines, and runs bazel with the side-channel flags", async () => {
    const { env, calls } = workspace([
      { bep: { id: { progress: {} }, progress: { stderr: "[3 / 9] Stage train (modules/train)\n" } } },
      { record: { stage: "train", state: "running", progress: TRAIN_PROGRESS } },
      { sleep: 700 },
      { record: { stage: "train", state: "done", progress: { ...TRAIN_PROGRESS, done: 10 } } },
      { bep: FINISHED_OK },
    ]);
    const r = await nexa(["run", "demo"], env);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const stage = (name: string) => r.lines.filter((l) => l.event === "stage" && l.stage === name);
    expect(stage("train").map((l) => l.state)).toContain("running");
    expect(stage("train").find((l) => l.state === "running").progress).toMatchObject({ done: 5, loss: 2.5 });
    expect(stage("train").pop().state).toBe("done");
    expect(stage("data").pop().state).toBe("cached");
    expect(r.lines[0]).toMatchObject({
      event: "run_start",
      pipeline: "//pipelines:demo",
      stages: ["data", "train", "eval"],
    });
    expect(r.lines).toContainEqual({ event: "output", line: "demo: run_id=abc rubric=pass report=-" });
    expect(r.lines.pop()).toEqual({ event: "run_done", exit_code: 0 });
    const [info, plan, run] = calls();
    expect(info[0]).toBe("info");
    expect(plan).toEqual(["build", "--output_groups=nexa_plan", "--//tools/stage:set=", "//pipelines:demo"]);
    expect(run[0]).toBe("run");
    expect(run).toContain("--build_event_publish_all_actions");
    expect(run.find((a) => a.startsWith("--sandbox_writable_path=/tmp/nexa-progress-"))).toBeDefined();
    expect(run.slice(-2)).toEqual(["--//tools/stage:set=", "//pipelines:demo"]);
  });

  it("passes valid --set overrides as the build setting; refuses bad ones before running anything", async () => {
    const ok = workspace([{ bep: FINISHED_OK }]);
    expect((await nexa(["run", "demo", "--set", "eval.maxExamples=3", "--set", "eval.name=x"], ok.env)).code).toBe(0);
    expect(ok.calls()[2]).toContain("--//tools/stage:set=eval.maxExamples=3,eval.name=x");

    const unknown = workspace([{ bep: FINISHED_OK }]);
    const u = await nexa(["run", "demo", "--set", "eval.maxExampels=3"], unknown.env);
    expect(u.code).toBe(3);
    expect(u.err).toMatch(/CONFIG_UNKNOWN_FIELD/);
    expect(u.err).toMatch(/rubric\.json with --set eval\.maxExampels=3: \$\.maxExampels/);
    expect(u.err).toMatch(/maxExamples/);
    expect(unknown.calls().map((c) => c[0])).toEqual(["info", "build"]);

    const typed = await nexa(["run", "demo", "--set", "eval.maxExamples=lots"], workspace([]).env);
    expect(typed.code).toBe(3);
    expect(typed.err).toMatch(/\$\.maxExamples/);
    const stage = await nexa(["run", "demo", "--set", "nope.steps=1"], workspace([]).env);
    expect(stage.code).toBe(3);
    expect(stage.err).toMatch(/has no stage nope.*data, train, eval/s);
    const syntax = workspace([]);
    const s = await nexa(["run", "demo", "--set", "steps"], syntax.env);
    expect(s.code).toBe(2);
    expect(s.err).toMatch(/stage\.field=value/);
    expect(syntax.calls()).toEqual([]);
  });

  it("a failed build exits 3 naming the failed stage and Bazel's output", async () => {
    const { env } = workspace(
      [
        { record: { stage: "train", state: "failed", error: "TRAIN_BAD: boom" } },
        { stderr: "ERROR: action failed\n" },
        { bep: FINISHED_FAIL },
      ],
      1,
    );
    const r = await nexa(["run", "demo"], env);
    expect(r.code).toBe(3);
    expect(r.lines.filter((l) => l.stage === "train").pop()).toMatchObject({
      state: "failed",
      error: "TRAIN_BAD: boom",
    });
    expect(r.err).toMatch(/ERROR: action failed/);
    expect(r.err).toMatch(/the build failed at train/);
  });

  it("redraws a table in place on a terminal, then prints the publisher's output", async () => {
    const { env } = workspace([
      { record: { stage: "train", state: "running", progress: TRAIN_PROGRESS } },
      { sleep: 600 },
      { bep: FINISHED_OK },
    ]);
    const r = await nexa(["run", "demo"], env, true);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/STAGE\s+STATE\s+ELAPSED\s+PROGRESS/);
    expect(r.out).toMatch(/train\s+running\s+\S+\s+step 5\/10  loss 2\.500/);
    expect(r.out).toMatch(/\x1b\[\d+F/); // cursor back up: redrawn in place
    expect(r.out.trimEnd().endsWith("demo: run_id=abc rubric=pass report=-")).toBe(true);
  });
});

// `nexa health` over a policy workspace (stand-in bazel, modules/cli/testing/policy_workspace.ts, with contracts, the
// three ABI copies and a git history added) and a real registry: healthy with no golden run yet (a warning, exit 0);
// then each indicator failing on its own — a golden run whose rubric failed, a policy violation, an expired
// experiment, a corrupted blob, an unversioned contract, ABI drift, a module cycle — exits 1 naming it; the
// modules' sizes, fan-in and fan-out, the history and the HTML page.
import { spawnSync } from "child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, encodeMessage } from "@nexa/modules/manifest";
import { LocalStore } from "@nexa/modules/registry";
import type { StageDefinition } from "@nexa/modules/stage";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { publishPipeline } from "./publish";
import { nexa, workspacePlan } from "./testing/nexa";
import { moduleRecord, policyWorkspace } from "./testing/policy_workspace";
import type { Broken } from "./testing/policy_workspace";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

/** An eval stage whose report passes or fails its rubric. */
function evalStage(passed: boolean): StageDefinition<EvalRubric> {
  return {
    module: "modules/cli (test)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      const report = EvalReport.fromPartial({
        schemaVersion: 1,
        rubric: { digest: D("a") },
        checkpoint: { digest: D("b") },
        results: [{ metric: "bpb", value: 1.5, passed }],
        passed,
        producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      });
      await writeFile(path.join(ctx.outDir, "report.json"), encodeMessage(EvalReport, report));
      return { product: { file: "report.json", schema: CONTRACTS.EvalReport.name }, metrics: {} };
    },
  };
}

/** Publishes a one-stage //pipelines:golden run into `home`. */
async function publishGolden(home: string, passed: boolean): Promise<void> {
  const w = stageWorkspace("health-");
  // a config of its own per outcome: another stage id, so another run
  const rubric = { schemaVersion: 1, name: `r-${passed}`, criteria: [{ metric: "bpb", comparator: "COMPARATOR_LTE" }] };
  await runIn(w, evalStage(passed), "eval", { module: "modules/eval", config: rubric });
  await publishPipeline(workspacePlan("//pipelines:golden", ["eval"]), { root: w.dir, home });
}

/** Writes the contract and ABI files a healthy repository has (`abi`: the header's, Rust's and the binding's version). */
function repoFiles(ws: string, o: { versioned?: boolean; abi?: [number, number, number] } = {}): void {
  const [h, r, b] = o.abi ?? [7, 7, 7];
  mkdirSync(path.join(ws, "proto", "nexa", "v1"), { recursive: true });
  writeFileSync(
    path.join(ws, "proto", "nexa", "v1", "dataset.proto"),
    `syntax = "proto3";\npackage nexa.v1;\n\nmessage DatasetShard {\n  string path = 1;\n}\n\nmessage DatasetManifest {\n${o.versioned === false ? "" : "  uint32 schema_version = 1;\n"}  string name = 2;\n}\n`,
  );
  for (const [rel, text] of [
    ["kernels/abi/nexa_kernels.h", `#define NEXA_ABI_VERSION ${h}u\n`],
    ["kernels/abi/lib.rs", `pub const ABI_VERSION: u32 = ${r};\n`],
    ["kernels/binding/library.ts", `export const ABI_VERSION = ${b};\n`],
  ]) {
    mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
    writeFileSync(path.join(ws, rel), text);
  }
}

/** Commits the workspace as it is, as one more commit of its history. */
function commit(ws: string, message: string): void {
  const git = (...args: string[]) => {
    const r = spawnSync("git", ["-C", ws, "-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], {
      encoding: "utf8",
    });
    if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  };
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", message);
}

/** A healthy workspace with a three-commit history whose modules/data grows by 10 lines a commit. */
function healthyWorkspace(broken: Broken = () => undefined, files: Parameters<typeof repoFiles>[1] = {}) {
  const w = policyWorkspace((ws, r) => {
    repoFiles(ws, files);
    broken(ws, r);
  });
  for (let i = 1; i <= 3; i++) {
    mkdirSync(path.join(w.ws, "modules", "data"), { recursive: true });
    writeFileSync(path.join(w.ws, "modules", "data", "grow.ts"), "export const x = 1;\n".repeat(10 * i));
    commit(w.ws, `step ${i}`);
  }
  return w;
}

const statusOf = (out: string) =>
  Object.fromEntries(
    (JSON.parse(out).indicators as { indicator: string; status: string }[]).map((i) => [i.indicator, i.status]),
  );

describe("nexa health", () => {
  it("is healthy with every check passing; a registry without a golden run is a warning", async () => {
    const { env, ws } = healthyWorkspace();
    const html = path.join(tmp("html-"), "health.html");
    const r = await nexa(["health", "--json", "--html", html], { ...env, NEXA_HOME: tmp("home-") });
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(statusOf(r.out)).toEqual({
      "golden pipeline": "warn",
      "policy checks": "ok",
      "stale work": "ok",
      "registry integrity": "ok",
      "module cycles": "ok",
      "tests per module": "ok",
      "contracts versioned": "ok",
      "ABI drift": "ok",
      "code growth": "ok",
    });
    const report = JSON.parse(r.out);
    // the workspace's modules: data uses manifest, train uses manifest and kernels, cli uses data and train
    const byModule = Object.fromEntries(
      (report.modules as { module: string; fanIn: number; fanOut: number; lines: number }[]).map((m) => [m.module, m]),
    );
    expect(byModule.manifest).toMatchObject({ fanIn: 2, fanOut: 0 });
    expect(byModule.data).toMatchObject({ fanOut: 1, lines: 30 });
    expect(byModule.train).toMatchObject({ fanOut: 2 });
    // three commits, 10 more lines of code each: exactly linear
    expect(report.history.map((p: { index: number; lines: number }) => p.index)).toEqual([1, 2, 3]);
    const lines = report.history.map((p: { lines: number }) => p.lines);
    expect([lines[1] - lines[0], lines[2] - lines[1]]).toEqual([10, 10]);
    expect(report.linearity).toMatchObject({ slope: 10, r2: 1, acceleration: 1 });
    expect(report.indicators.find((i: { indicator: string }) => i.indicator === "ABI drift").found).toBe(
      "NEXA_ABI_VERSION 7 in the header, the Rust library and the binding",
    );
    const page = readFileSync(html, "utf8");
    expect(page).toContain("<title>Repository health — healthy</title>");
    expect(page).toContain('<polyline class="loc"');
    expect(page).toMatch(/<svg class="modules"[^]*>data<\/text>/);
    expect(page).not.toMatch(/<script|https?:|src=/);
    expect(ws).toBeTruthy();
    expect(JSON.parse(r.out).indicators[0]).toMatchObject({
      found: "never published to this registry",
      next: "npm run golden",
    });
  });

  it("follows the newest golden run: a failed rubric is unhealthy, a passing one healthy", async () => {
    const { env } = healthyWorkspace();
    const home = tmp("home-");
    await publishGolden(home, false);
    const bad = await nexa(["health"], { ...env, NEXA_HOME: home });
    expect(bad.code).toBe(1);
    expect(bad.out).toMatch(
      /^golden pipeline\s+fail\s+newest run [0-9a-f]{12} \(.*\): rubric fail\s+nexa show [0-9a-f]{12}$/m,
    );
    expect(bad.err).toBe("nexa: unhealthy: golden pipeline (see `next`)\n");
    await new Promise((r) => setTimeout(r, 5)); // a later publish time
    await publishGolden(home, true);
    const good = await nexa(["health", "--json"], { ...env, NEXA_HOME: home });
    expect(good.code).toBe(0);
    expect(statusOf(good.out)["golden pipeline"]).toBe("ok");
  });

  it("fails on a policy violation, an expired experiment and a corrupted blob, each on its own", async () => {
    const violation = healthyWorkspace((_ws, r) => (r["modules/manifest"] = moduleRecord("manifest", [], ["test"])));
    const v = await nexa(["health", "--json"], { ...violation.env, NEXA_HOME: tmp("home-") });
    expect(v.code).toBe(1);
    expect(statusOf(v.out)).toMatchObject({ "policy checks": "fail", "stale work": "ok" });
    expect(JSON.parse(v.out).indicators[1].found).toBe("1 violation in module tests");

    const { env } = healthyWorkspace();
    const late = await nexa(["health", "--json"], { ...env, NEXA_HOME: tmp("home-"), NEXA_TODAY: "2027-01-05" });
    expect(late.code).toBe(1);
    expect(statusOf(late.out)).toMatchObject({ "policy checks": "fail", "stale work": "fail" });
    expect(JSON.parse(late.out).indicators[2].found).toBe("experiments/probe (expired experiment)");

    const home = tmp("home-");
    await publishGolden(home, true);
    const store = new LocalStore(home);
    const blob = store.blobPath((await store.list())[0]);
    chmodSync(blob, 0o644);
    writeFileSync(blob, Buffer.concat([readFileSync(blob), Buffer.from("!")]));
    const broken = await nexa(["health", "--json"], { ...env, NEXA_HOME: home });
    expect(broken.code).toBe(1);
    expect(statusOf(broken.out)["registry integrity"]).toBe("fail");
  });

  it("fails on an unversioned contract, ABI drift and a module cycle; warns outside git", async () => {
    const unversioned = healthyWorkspace(undefined, { versioned: false });
    const u = await nexa(["health", "--json"], { ...unversioned.env, NEXA_HOME: tmp("home-") });
    expect(u.code).toBe(1);
    expect(statusOf(u.out)["contracts versioned"]).toBe("fail");
    expect(u.out).toContain("without schema_version: nexa.v1.DatasetManifest");

    const drift = healthyWorkspace(undefined, { abi: [7, 7, 6] });
    const d = await nexa(["health", "--json"], { ...drift.env, NEXA_HOME: tmp("home-") });
    expect(d.code).toBe(1);
    expect(statusOf(d.out)["ABI drift"]).toBe("fail");
    expect(d.out).toContain("header 7, Rust 7, binding 6");

    // manifest uses data, data uses manifest: a cycle (also a layering violation the policy checks report)
    const cyclic = healthyWorkspace(
      (_ws, r) => (r["modules/manifest"] = moduleRecord("manifest", ["//modules/data:data"])),
    );
    const c = await nexa(["health", "--json"], { ...cyclic.env, NEXA_HOME: tmp("home-") });
    expect(c.code).toBe(1);
    expect(statusOf(c.out)["module cycles"]).toBe("fail");
    expect(c.out).toContain("data -> manifest -> data");

    const { env } = policyWorkspace((ws) => repoFiles(ws));
    const nogit = await nexa(["health", "--json"], { ...env, NEXA_HOME: tmp("home-") });
    expect(nogit.code).toBe(0);
    expect(statusOf(nogit.out)["code growth"]).toBe("warn");
  });
});

// `nexa health` over a policy workspace (stand-in bazel, modules/cli/testing/policy_workspace.ts) and a real
// registry: healthy with no golden run yet (a warning, exit 0); then each indicator failing on its own — a golden run
// whose rubric failed, a policy violation, an expired experiment, a corrupted blob — exits 1 naming it.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
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

const statusOf = (out: string) =>
  Object.fromEntries(
    (JSON.parse(out).indicators as { indicator: string; status: string }[]).map((i) => [i.indicator, i.status]),
  );

describe("nexa health", () => {
  it("is healthy with every check passing; a registry without a golden run is a warning", async () => {
    const { env } = policyWorkspace();
    const r = await nexa(["health", "--json"], { ...env, NEXA_HOME: tmp("home-") });
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(statusOf(r.out)).toEqual({
      "golden pipeline": "warn",
      "policy checks": "ok",
      "stale work": "ok",
      "registry integrity": "ok",
    });
    expect(JSON.parse(r.out).indicators[0]).toMatchObject({
      found: "never published to this registry",
      next: "npm run golden",
    });
  });

  it("follows the newest golden run: a failed rubric is unhealthy, a passing one healthy", async () => {
    const { env } = policyWorkspace();
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
    const violation = policyWorkspace((_ws, r) => (r["modules/manifest"] = moduleRecord("manifest", [], ["test"])));
    const v = await nexa(["health", "--json"], { ...violation.env, NEXA_HOME: tmp("home-") });
    expect(v.code).toBe(1);
    expect(statusOf(v.out)).toMatchObject({ "policy checks": "fail", "stale work": "ok" });
    expect(JSON.parse(v.out).indicators[1].found).toBe("1 violation in module tests");

    const { env } = policyWorkspace();
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
});

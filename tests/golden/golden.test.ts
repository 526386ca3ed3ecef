// The golden pipeline's outputs equal the committed lock (pipelines/golden.lock.json) and pass the rubric.
// Update the lock after an intended change with: bazel run //tests/golden:update_lock
import { readFileSync } from "fs";
import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";

import { computeLock, diffLock, readPlan, resolveShort } from "./lock";
import type { Lock } from "./lock";

const root = path.join(
  process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "",
  process.env.TEST_WORKSPACE ?? "nexacompute",
);
const plan = readPlan(path.join(root, "pipelines/golden.pipeline.json"));
const actual = computeLock(plan, root);

describe("golden pipeline", () => {
  it("matches the committed lock, stage by stage", () => {
    const expected = JSON.parse(readFileSync(path.join(root, "pipelines/golden.lock.json"), "utf8")) as Lock;
    const diff = diffLock(expected, actual);
    if (diff.length > 0) {
      throw new Error(
        `golden outputs differ from pipelines/golden.lock.json:\n${diff.join("\n")}\n` +
          "If the change is intended, update the lock: bazel run //tests/golden:update_lock",
      );
    }
  });

  it("passes its eval rubric", () => {
    const evalStage = plan.stages.find((s) => s.stage === plan.reportStage)!;
    const manifest = decodeManifest(
      CONTRACTS.StageManifest,
      readFileSync(resolveShort(root, evalStage.manifest)),
      "eval.manifest.json",
    );
    const product = manifest.outputs.find((o) => o.schemaName === CONTRACTS.EvalReport.name)!;
    const report = decodeManifest(
      CONTRACTS.EvalReport,
      readFileSync(path.join(resolveShort(root, evalStage.data), product.path)),
      product.path,
    );
    const failed = report.results
      .filter((r) => r.required && !r.passed)
      .map((r) => `${r.metric}=${r.value} (threshold ${r.threshold})`);
    expect(failed).toEqual([]);
    expect(report.passed).toBe(true);
  });
});

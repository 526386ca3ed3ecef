// `bazel run //tests/golden:update_lock`: rewrites pipelines/golden.lock.json from the built golden outputs and
// prints the per-stage diff against the previous lock.
import { existsSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";

import { computeLock, diffLock, formatLock, readPlan } from "./lock";
import type { Lock } from "./lock";

const workspace = process.env.BUILD_WORKSPACE_DIRECTORY;
const runfiles = process.env.RUNFILES_DIR;
if (!workspace || !runfiles) {
  process.stderr.write("update_lock: run me with `bazel run //tests/golden:update_lock`\n");
  process.exit(2);
}
const root = path.join(runfiles, "nexacompute");
const lock = computeLock(readPlan(path.join(root, "pipelines/golden.pipeline.json")), root);
const target = path.join(workspace, "pipelines/golden.lock.json");
const previous = existsSync(target)
  ? (JSON.parse(readFileSync(target, "utf8")) as Lock)
  : { pipeline: lock.pipeline, stages: {} };
const diff = diffLock(previous, lock);
writeFileSync(target, formatLock(lock));
process.stdout.write(diff.length ? `${diff.join("\n")}\nwrote ${target}\n` : `unchanged: ${target}\n`);

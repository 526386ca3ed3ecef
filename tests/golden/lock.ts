// The golden lock: the expected digest of every stage output of a pipeline, and a per-stage diff against it.
//
// Lock file (pipelines/golden.lock.json, sorted keys, indented):
//   {"pipeline": "//pipelines:golden", "stages": {"<stage>": {"stage_id": hex, "manifest": "sha256:…",
//     "outputs": {"<path>": "sha256:…"}}}}
// A stage's manifest digest pins its outputs, config, inputs and tools; the outputs are listed so a diff says
// which file changed.
import { readFileSync } from "fs";
import * as path from "path";

import { canonicalJson, CONTRACTS, decodeManifest, digestBytes, readManifest } from "@nexa/modules/manifest";

export interface StageLock {
  stage_id: string;
  manifest: string;
  outputs: Record<string, string>;
}

export interface Lock {
  pipeline: string;
  stages: Record<string, StageLock>;
}

/** The parts of a nexa.v1.PipelinePlan the lock uses. */
export interface Plan {
  pipeline: string;
  reportStage: string;
  stages: { stage: string; manifest: string; data: string }[];
}

/** Reads the pipeline's nexa.v1.PipelinePlan (written by nexa_pipeline), strictly. */
export function readPlan(file: string): Plan {
  return readManifest(CONTRACTS.PipelinePlan, file, path.basename(file));
}

/** Runfiles short path → path under `root` (the workspace's runfiles directory). */
export function resolveShort(root: string, shortPath: string): string {
  return shortPath.startsWith("../") ? path.join(root, "..", shortPath.slice(3)) : path.join(root, shortPath);
}

/** The lock of the built outputs listed in `plan`. */
export function computeLock(plan: Plan, root: string): Lock {
  const stages: Record<string, StageLock> = {};
  for (const s of plan.stages) {
    const bytes = readFileSync(resolveShort(root, s.manifest));
    const manifest = decodeManifest(CONTRACTS.StageManifest, bytes, `${s.stage}.manifest.json`);
    const outputs: Record<string, string> = {};
    for (const o of manifest.outputs) outputs[o.path] = o.digest;
    stages[s.stage] = { stage_id: manifest.stageId, manifest: digestBytes(bytes), outputs };
  }
  return { pipeline: plan.pipeline, stages };
}

/** Bytes of a lock file: sorted keys (canonical order), two-space indentation for readable diffs. */
export function formatLock(lock: Lock): string {
  return JSON.stringify(JSON.parse(canonicalJson(lock)), null, 2) + "\n";
}

/** Human-readable differences, one line per changed stage or file; empty when equal. */
export function diffLock(expected: Lock, actual: Lock): string[] {
  const out: string[] = [];
  const names = [...new Set([...Object.keys(expected.stages), ...Object.keys(actual.stages)])].sort();
  for (const name of names) {
    const e = expected.stages[name];
    const a = actual.stages[name];
    if (!e) {
      out.push(`${name}: new stage (manifest ${a.manifest})`);
      continue;
    }
    if (!a) {
      out.push(`${name}: stage missing from the pipeline (locked manifest ${e.manifest})`);
      continue;
    }
    if (e.manifest === a.manifest) continue;
    out.push(
      `${name}: manifest ${e.manifest} -> ${a.manifest}${e.stage_id === a.stage_id ? "" : " (stage_id changed: config, inputs or tools)"}`,
    );
    const files = [...new Set([...Object.keys(e.outputs), ...Object.keys(a.outputs)])].sort();
    for (const f of files) {
      if (e.outputs[f] !== a.outputs[f])
        out.push(`  ${f}: ${e.outputs[f] ?? "(absent)"} -> ${a.outputs[f] ?? "(absent)"}`);
    }
  }
  return out;
}

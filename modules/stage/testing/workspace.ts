// A stage test's workspace: one fresh directory in which stages run one after another as the stage rule lays them
// out (stage `<name>` writes its data into `<dir>/<name>`, its StageManifest to `<dir>/<name>.manifest.json`, its log
// to `<dir>/<name>.log.jsonl`, and reads its config from `<dir>/<name>.config.json`), with a stand-in for the module
// bundle whose bytes join every tool digest.

import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { runStage } from "@nexa/modules/stage";
import type { RunOptions, StageDefinition, StageOutcome } from "@nexa/modules/stage";

export interface StageWorkspace {
  dir: string;
  /** The bundle stand-in (`bundle.js`). */
  bundle: string;
}

/** A fresh directory named `<prefix>…` (under $TEST_TMPDIR when Bazel sets it) holding a bundle stand-in. */
export function stageWorkspace(prefix: string): StageWorkspace {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), prefix));
  const bundle = path.join(dir, "bundle.js");
  writeFileSync(bundle, "// bundle bytes\n");
  return { dir, bundle };
}

/** Writes `value` as JSON to `<dir>/<file>`; returns the file's path. */
export function writeJson(dir: string, file: string, value: unknown): string {
  const out = path.join(dir, file);
  writeFileSync(out, JSON.stringify(value));
  return out;
}

/** A valid EvalRubric: the config of the fixture stages, whose config does not matter. */
export const PLACEHOLDER_RUBRIC = {
  schemaVersion: 1,
  name: "r",
  criteria: [{ metric: "m", comparator: "COMPARATOR_GTE" }],
};

/** Input slot -> the name of the upstream stage (run earlier in the same workspace) wired to it. */
export type StageInputs = Readonly<Record<string, string>>;

/** `--input=<slot>=<manifest>:<data dir>` of the upstream stage `stage` in `w`. */
export function inputArg(w: StageWorkspace, slot: string, stage: string): string {
  return `--input=${slot}=${path.join(w.dir, stage + ".manifest.json")}:${path.join(w.dir, stage)}`;
}

/** The `run` argv of stage `name` of `module` in `w`, with `config` (a path), `inputs` and any `extra` flags. */
export function stageArgv(
  w: StageWorkspace,
  name: string,
  module: string,
  config: string,
  inputs: StageInputs = {},
  extra: readonly string[] = [],
): string[] {
  return [
    "run",
    `--stage=${name}`,
    `--module=${module}`,
    `--config=${config}`,
    `--out=${path.join(w.dir, name)}`,
    `--log=${path.join(w.dir, name + ".log.jsonl")}`,
    `--manifest=${path.join(w.dir, name + ".manifest.json")}`,
    ...Object.entries(inputs).map(([slot, stage]) => inputArg(w, slot, stage)),
    ...extra,
  ];
}

/** How one stage runs in a workspace. */
export interface StageRun {
  /** The `--module` flag (default: the definition's module). */
  module?: string;
  /** The stage config, written to `<name>.config.json` (default: PLACEHOLDER_RUBRIC). */
  config?: unknown;
  inputs?: StageInputs;
  /** Further flags, e.g. `--raw=…`. */
  extra?: readonly string[];
  options?: RunOptions;
}

/** Runs `def` as stage `name` in `w` through the stage runtime (what the stage rule's action does). */
export function runIn<C>(
  w: StageWorkspace,
  def: StageDefinition<C>,
  name: string,
  run: StageRun = {},
): Promise<StageOutcome> {
  const config = writeJson(w.dir, `${name}.config.json`, run.config ?? PLACEHOLDER_RUBRIC);
  const argv = stageArgv(w, name, run.module ?? def.module, config, run.inputs, run.extra);
  return runStage(def, argv, w.bundle, run.options);
}

/** The bytes of `file` in the data directory of stage `stage` of `w`. */
export function stageFile(w: StageWorkspace, stage: string, file: string): Buffer {
  return readFileSync(path.join(w.dir, stage, file));
}

// The transformers side of the inference benchmarks: the pinned CPU torch + transformers environment
// (tools/python/torch-requirements.txt), created on first use and reused after; a checkpoint exported with the real
// `nexa export hf`; and Python scripts run in that environment with one JSON object in and one out.
//
// The environment lives in ~/.cache/nexacompute/pyenv-torch-<first 16 hex of the requirements file's sha256>
// (benchmarks/python_env, shared with //benchmarks/peers).

import { execFileSync } from "child_process";
import { mkdtempSync } from "fs";
import os from "os";
import * as path from "path";

import { ensurePythonEnv, RUNFILES, runfile, runPythonJson, userPath } from "@nexa/benchmarks/python_env";
import type { PythonEnv } from "@nexa/benchmarks/python_env";

export { RUNFILES, runfile, runPythonJson, userPath };

export const NEXA = runfile("modules/cli/nexa.sh");
export const REQUIREMENTS = runfile("tools/python/torch-requirements.txt");

// ---------------------------------------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------------------------------------

export type TorchEnv = PythonEnv;

/** The environment of `requirements`, created when missing or incomplete; progress lines go to `log`. */
export function ensureTorchEnv(requirements = REQUIREMENTS, log: (line: string) => void = () => {}): TorchEnv {
  return ensurePythonEnv({ name: "torch", requirements, sizeHint: "about 4.3 GB" }, log);
}

// ---------------------------------------------------------------------------------------------------------------------
// The export
// ---------------------------------------------------------------------------------------------------------------------

/** `nexa export hf checkpoint <new temp dir>` with the real binary; returns the exported directory. */
export function exportHf(checkpoint: string): string {
  const out = path.join(mkdtempSync(path.join(os.tmpdir(), "nexa-hf-")), "model");
  execFileSync(NEXA, ["export", "hf", checkpoint, out], {
    env: { ...process.env, RUNFILES_DIR: RUNFILES },
    stdio: ["ignore", "ignore", 2],
  });
  return out;
}

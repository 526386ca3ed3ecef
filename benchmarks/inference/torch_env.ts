// The transformers side of the inference benchmarks: the pinned CPU torch + transformers environment
// (tools/python/torch-requirements.txt), created on first use and reused after; a checkpoint exported with the real
// `nexa export hf`; and Python scripts run in that environment with one JSON object in and one out.
//
// The environment lives in ~/.cache/nexacompute/pyenv-torch-<first 16 hex of the requirements file's sha256>, the
// scheme of tools/setup/setup.sh's interop environment: `pip install --no-deps -r` into a fresh venv, then a
// `.complete` marker written last, so an interrupted install is redone on the next run.

import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import os from "os";
import * as path from "path";

// ---------------------------------------------------------------------------------------------------------------------
// Runfiles
// ---------------------------------------------------------------------------------------------------------------------

export const RUNFILES = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "";
const ROOT = path.join(RUNFILES, process.env.TEST_WORKSPACE ?? "nexacompute");

/** A workspace file in the runfiles of the running target. */
export function runfile(rel: string): string {
  return path.join(ROOT, rel);
}

/** `p` as the user meant it: relative paths are relative to where `bazel run` was called. */
export function userPath(p: string): string {
  return path.resolve(process.env.BUILD_WORKING_DIRECTORY ?? process.cwd(), p);
}

export const NEXA = runfile("modules/cli/nexa.sh");
export const REQUIREMENTS = runfile("tools/python/torch-requirements.txt");

// ---------------------------------------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------------------------------------

export interface TorchEnv {
  /** The environment's python. */
  python: string;
  dir: string;
  /** True when this call created it. */
  created: boolean;
  /** Seconds spent creating it (0 when reused). */
  createSeconds: number;
}

/** The environment of `requirements`, created when missing or incomplete; progress lines go to `log`. */
export function ensureTorchEnv(requirements = REQUIREMENTS, log: (line: string) => void = () => {}): TorchEnv {
  const key = createHash("sha256").update(readFileSync(requirements)).digest("hex").slice(0, 16);
  const dir = path.join(os.homedir(), ".cache", "nexacompute", `pyenv-torch-${key}`);
  const python = path.join(dir, "bin", "python");
  const marker = path.join(dir, ".complete");
  if (existsSync(python) && existsSync(marker)) return { python, dir, created: false, createSeconds: 0 };

  log(`creating the torch environment ${dir} (once; about 4.3 GB)`);
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const quiet = { stdio: ["ignore", 2, 2] as ["ignore", number, number] }; // pip's output goes to stderr
  try {
    execFileSync(process.env.NEXA_PYTHON ?? "python3", ["-m", "venv", dir], quiet);
    execFileSync(
      python,
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r", requirements],
      quiet,
    );
  } catch (err) {
    throw new Error(
      `creating the torch environment ${dir} failed: ${(err as Error).message}\n` +
        `  fix: check that python3 (>= 3.11, with venv) is on PATH (or set $NEXA_PYTHON) and that the package ` +
        `registry is reachable, then run again (an incomplete environment is recreated)`,
    );
  }
  writeFileSync(marker, "");
  const createSeconds = (performance.now() - t0) / 1000;
  log(`created the torch environment in ${createSeconds.toFixed(1)} s`);
  return { python, dir, created: true, createSeconds };
}

/** Runs `script` with the environment's python: `input` as JSON on stdin, one JSON object read from stdout. */
export function runPythonJson<T>(python: string, script: string, input: unknown): T {
  const out = execFileSync(python, [script], {
    input: JSON.stringify(input),
    env: { ...process.env, HF_HUB_OFFLINE: "1" }, // local directories only: never a model hub
    encoding: "utf8",
    stdio: ["pipe", "pipe", 2],
    maxBuffer: 64 << 20,
  });
  const last = out.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as T;
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

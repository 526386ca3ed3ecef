// The pinned Python environments of the benchmarks against peers, created on first use and reused after, and the
// way the benchmarks call Python in them: one JSON object in (stdin), one out (the last stdout line).
//
// An environment lives in ~/.cache/nexacompute/pyenv-<name>-<key>, where key is the first 16 hex of the sha256 of
// the requirements file followed by every file it includes with `-r` (recursively, in order), so a changed pin in
// any of them makes a new environment. It is made the way tools/setup/setup.sh makes the interop environment:
// `pip install --no-deps -r` into a fresh venv, then a `.complete` marker written last, so an interrupted install is
// redone on the next run. Python serves only the benchmarks; the product never needs it.

import { execFileSync } from "child_process";
import { createHash } from "crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "fs";
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

// ---------------------------------------------------------------------------------------------------------------------
// The environment
// ---------------------------------------------------------------------------------------------------------------------

export interface PythonEnv {
  /** The environment's python. */
  python: string;
  dir: string;
  /** True when this call created it. */
  created: boolean;
  /** Seconds spent creating it (0 when reused). */
  createSeconds: number;
}

export interface PythonEnvSpec {
  /** The environment's name in its directory name: pyenv-<name>-<key>. */
  name: string;
  /** The pinned requirements file (a runfile path); `-r` includes are resolved beside it. */
  requirements: string;
  /** Said while creating it, e.g. "about 4.3 GB". */
  sizeHint: string;
}

/** The bytes that key an environment: the file, then each `-r` include's bytes the same way. */
function requirementsBytes(file: string, including: readonly string[] = []): Uint8Array[] {
  if (including.includes(file)) throw new Error(`${file}: -r includes form a cycle (${including.join(" -> ")})`);
  const text = readFileSync(file);
  const parts: Uint8Array[] = [text];
  for (const line of text.toString("utf8").split("\n")) {
    const m = /^\s*(?:-r|--requirement)\s+(\S+)/.exec(line);
    if (m) parts.push(...requirementsBytes(path.resolve(path.dirname(file), m[1]), [...including, file]));
  }
  return parts;
}

/** The environment's directory (whether or not it exists yet). */
export function pythonEnvDir(spec: PythonEnvSpec): string {
  const hash = createHash("sha256");
  for (const part of requirementsBytes(spec.requirements)) hash.update(part);
  const key = hash.digest("hex").slice(0, 16);
  return path.join(os.homedir(), ".cache", "nexacompute", `pyenv-${spec.name}-${key}`);
}

/** The environment of `spec`, created when missing or incomplete; progress lines go to `log`. */
export function ensurePythonEnv(spec: PythonEnvSpec, log: (line: string) => void = () => {}): PythonEnv {
  const dir = pythonEnvDir(spec);
  const python = path.join(dir, "bin", "python");
  const marker = path.join(dir, ".complete");
  if (existsSync(python) && existsSync(marker)) return { python, dir, created: false, createSeconds: 0 };

  log(`creating the ${spec.name} environment ${dir} (once; ${spec.sizeHint})`);
  const t0 = performance.now();
  rmSync(dir, { recursive: true, force: true });
  const quiet = { stdio: ["ignore", 2, 2] as ["ignore", number, number] }; // pip's output goes to stderr
  try {
    execFileSync(process.env.NEXA_PYTHON ?? "python3", ["-m", "venv", dir], quiet);
    execFileSync(
      python,
      ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "-r", spec.requirements],
      { ...quiet, cwd: path.dirname(spec.requirements) },
    );
  } catch (err) {
    throw new Error(
      `creating the ${spec.name} environment ${dir} failed: ${(err as Error).message}\n` +
        `  fix: check that python3 (>= 3.11, with venv) is on PATH (or set $NEXA_PYTHON) and that the package ` +
        `registry is reachable, then run again (an incomplete environment is recreated)`,
    );
  }
  writeFileSync(marker, "");
  const createSeconds = (performance.now() - t0) / 1000;
  log(`created the ${spec.name} environment in ${createSeconds.toFixed(1)} s`);
  return { python, dir, created: true, createSeconds };
}

/**
 * Runs `script` with the environment's python: `input` as JSON on stdin, one JSON object read from the last stdout
 * line. `env` adds to this process's environment (e.g. a thread count a library reads at import).
 */
export function runPythonJson<T>(python: string, script: string, input: unknown, env: Record<string, string> = {}): T {
  const out = execFileSync(python, [script], {
    input: JSON.stringify(input),
    env: { ...process.env, HF_HUB_OFFLINE: "1", ...env }, // local files only: never a model hub
    encoding: "utf8",
    stdio: ["pipe", "pipe", 2],
    maxBuffer: 64 << 20,
  });
  const last = out.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as T;
}

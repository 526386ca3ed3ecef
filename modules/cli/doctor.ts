// `nexa doctor [--json]`: is this machine ready to build, test and publish? Each toolchain against its pin (node,
// rustc, cargo, protoc and nvcc from tools/toolchains/pins.bzl, bazel from .bazelversion), npm, the Bazel server of
// this workspace, the disk cache of .bazelrc, the registry, free disk, the CUDA toolkit and the GPU. Every problem
// comes with its fix; exit 4 when something is broken. A missing GPU (or CUDA toolkit) is reported, never a failure:
// CUDA targets and tests tagged `gpu` are skipped without them.
//
// Everything the checks observe goes through `DoctorProbes` (commands run with the command line's environment, file
// and disk queries), so tests can fake a broken machine: a PATH whose `rustc` prints another version, a full disk.
import { spawnSync } from "child_process";
import { createHash } from "crypto";
import { accessSync, constants, existsSync, readdirSync, readFileSync, realpathSync, statfsSync } from "fs";
import { homedir } from "os";
import * as path from "path";

import type { Command } from "commander";

import { Catalog, LocalStore } from "@nexa/modules/registry";

import { EXIT, printJson, withJson } from "./context";
import type { CommandContext } from "./context";
import { table } from "./format";

// ----------------------------------------------------------------------------------------------------------
// probes

/** What a command printed (code null: it could not be started). */
export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Everything the checks observe about the machine. */
export interface DoctorProbes {
  /** Runs `cmd args…` (looked up on the environment's PATH), with a timeout. */
  exec(cmd: string, args: string[]): ExecResult;
  /** Free bytes on the file system holding `dir` (its nearest existing ancestor). */
  freeBytes(dir: string): number;
  /** Whether `pid` is a live process. */
  alive(pid: number): boolean;
}

/** The probes of the real machine, running commands with `env` in `cwd` (the workspace: bazel reads .bazelversion). */
export function systemProbes(env: Record<string, string | undefined>, cwd?: string): DoctorProbes {
  return {
    exec(cmd, args) {
      const r = spawnSync(cmd, args, { cwd, env: env as NodeJS.ProcessEnv, encoding: "utf8", timeout: 30_000 });
      if (r.error) return { code: null, stdout: "", stderr: r.error.message };
      return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    },
    freeBytes(dir) {
      let d = path.resolve(dir);
      while (!existsSync(d)) d = path.dirname(d);
      const s = statfsSync(d);
      return s.bavail * s.bsize;
    },
    alive(pid) {
      return existsSync(`/proc/${pid}`);
    },
  };
}

// ----------------------------------------------------------------------------------------------------------
// checks

export type CheckStatus = "ok" | "info" | "warn" | "fail";

/** One line of the report. */
export interface DoctorCheck {
  check: string;
  status: CheckStatus;
  /** What was found (a version, a path, a state). */
  found: string;
  /** What the pin or the policy expects ("" when nothing is pinned). */
  expected: string;
  /** How to fix a warn or fail ("" otherwise). */
  fix: string;
}

/** A pin of tools/toolchains/pins.bzl. */
export interface ToolPin {
  version: string;
  fix: string;
}

/** TOOL_PINS of pins.bzl: `"name": struct(version = "…", fix = "…")`, one per line. */
export function parsePins(text: string, file: string): Record<string, ToolPin> {
  const pins: Record<string, ToolPin> = {};
  const re = /^\s*"([\w-]+)":\s*struct\(\s*version\s*=\s*"([^"]*)",\s*fix\s*=\s*"((?:[^"\\]|\\.)*)"\s*\),?\s*$/gm;
  for (const m of text.matchAll(re)) pins[m[1]] = { version: m[2], fix: m[3].replace(/\\(.)/g, "$1") };
  if (Object.keys(pins).length === 0) {
    throw new Error(`${file}: no TOOL_PINS entries of the form "name": struct(version = "…", fix = "…")`);
  }
  return pins;
}

/** "1.95" matches "1.95.0" and "1.95", not "1.950" (pins.bzl's rule). */
export function versionMatches(found: string, pin: string): boolean {
  return found === pin || found.startsWith(pin + ".");
}

const GiB = 1 << 30;
/** Free space under which a build or a publish is likely to fail. */
export const DISK_FAIL_BYTES = 2 * GiB;
export const DISK_WARN_BYTES = 10 * GiB;

interface Setup {
  workspace: string | null;
  home: string;
  env: Record<string, string | undefined>;
  probes: DoctorProbes;
}

/** A versioned tool: runs `cmd args`, takes the first match of `pattern`, compares it with `pin`. */
function toolCheck(
  s: Setup,
  name: string,
  cmd: string,
  args: string[],
  pattern: RegExp,
  pin: ToolPin | undefined,
  missingFix: string,
): DoctorCheck {
  const expected = pin ? `${pin.version}.x` : "";
  const r = s.probes.exec(cmd, args);
  if (r.code === null) {
    return { check: name, status: "fail", found: `not found on PATH (${cmd})`, expected, fix: pin?.fix ?? missingFix };
  }
  const m = pattern.exec(`${r.stdout}\n${r.stderr}`);
  if (r.code !== 0 || m === null) {
    const said = (r.stderr || r.stdout).trim().split("\n")[0] ?? "";
    return {
      check: name,
      status: "fail",
      found: `\`${cmd} ${args.join(" ")}\` exited ${r.code}${said ? `: ${said}` : ""}`,
      expected,
      fix: pin?.fix ?? missingFix,
    };
  }
  const version = m[1];
  if (pin && !versionMatches(version, pin.version)) {
    return { check: name, status: "fail", found: version, expected, fix: pin.fix };
  }
  return { check: name, status: "ok", found: version, expected, fix: "" };
}

/**
 * Bazel's version: `bazel --version`, except that Debian's bazel-bootstrap (a build from source) says "bazel
 * no_version"; then the version of that package (`dpkg-query`).
 */
function bazelCheck(s: Setup, pin: ToolPin | undefined): DoctorCheck {
  const fix = "install Bazel 4.2.3 (`bash tools/setup/setup.sh`)";
  const own = toolCheck(s, "bazel", "bazel", ["--version"], /bazel (\d+\.\d+\.\d+)/, pin, fix);
  const r = s.probes.exec("bazel", ["--version"]);
  if (own.status === "ok" || r.code !== 0 || !/bazel no_version/.test(r.stdout)) return own;
  const pkg = toolCheck(
    s,
    "bazel",
    "dpkg-query",
    ["-W", "-f=${Version}", "bazel-bootstrap"],
    /^(\d+\.\d+\.\d+)/,
    pin,
    fix,
  );
  if (pkg.status === "ok" || /^\d/.test(pkg.found)) return { ...pkg, found: `${pkg.found} (Debian bazel-bootstrap)` };
  return { ...own, found: "a build without a version (`bazel --version`: no_version), not Debian's bazel-bootstrap" };
}

/** node_modules as `npm ci` (tools/setup/setup.sh) left it: its stamp must be the sha256 of package-lock.json. */
function nodeModules(s: Setup): DoctorCheck {
  const base = { check: "node_modules", expected: "installed from package-lock.json" };
  const fix = "run `npm ci` (or `npm run setup`) in the workspace";
  if (s.workspace === null) return { ...base, status: "info", found: "no workspace", fix: "" };
  const lock = path.join(s.workspace, "package-lock.json");
  const stamp = path.join(s.workspace, "node_modules", ".nexa-lock.sha256");
  if (!existsSync(path.join(s.workspace, "node_modules"))) return { ...base, status: "fail", found: "absent", fix };
  if (!existsSync(lock))
    return { ...base, status: "fail", found: `${lock} is missing`, fix: "restore package-lock.json from git" };
  const want = createHash("sha256").update(readFileSync(lock)).digest("hex");
  const have = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (have === want) return { ...base, status: "ok", found: "matches package-lock.json", fix: "" };
  return {
    ...base,
    status: "fail",
    found: have === "" ? "installed without tools/setup/setup.sh's stamp" : "older than package-lock.json",
    fix,
  };
}

/** The output base Bazel uses for `workspace` (default output user root). */
function outputBase(workspace: string, env: Record<string, string | undefined>): string {
  const user = env.USER ?? env.LOGNAME ?? "root";
  const home = env.HOME ?? homedir();
  const md5 = createHash("md5").update(realpathSync(workspace)).digest("hex");
  return path.join(home, ".cache", "bazel", `_bazel_${user}`, md5);
}

function bazelServer(s: Setup): DoctorCheck {
  const base = { check: "bazel server", expected: "", fix: "" };
  if (s.workspace === null) return { ...base, status: "info", found: "no workspace" };
  const pidFile = path.join(outputBase(s.workspace, s.env), "server", "server.pid.txt");
  if (!existsSync(pidFile)) return { ...base, status: "info", found: "not running (the next bazel command starts it)" };
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (Number.isInteger(pid) && s.probes.alive(pid)) return { ...base, status: "ok", found: `running (pid ${pid})` };
  return {
    ...base,
    status: "warn",
    found: `stale ${pidFile} (pid ${pid} is gone)`,
    fix: "the next bazel command replaces it; if bazel hangs, run `bazel shutdown`",
  };
}

/** `--disk_cache=` of the workspace's .bazelrc (the last one set), with ~ expanded; null when none. */
function diskCacheOf(s: Setup): string | null {
  if (s.workspace === null) return null;
  const rc = path.join(s.workspace, ".bazelrc");
  if (!existsSync(rc)) return null;
  let found: string | null = null;
  for (const line of readFileSync(rc, "utf8").split("\n")) {
    const m = /^build\s+--disk_cache=(\S*)\s*$/.exec(line.trim());
    if (m) found = m[1] === "" ? null : m[1].replace(/^~(?=\/)/, s.env.HOME ?? homedir());
  }
  return found;
}

function writable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false; // the answer is the check's finding, reported with its fix
  }
}

function diskCache(s: Setup): DoctorCheck {
  const base = { check: "disk cache", expected: "", fix: "" };
  const dir = diskCacheOf(s);
  if (dir === null) return { ...base, status: "info", found: "none configured in .bazelrc" };
  if (!existsSync(dir)) return { ...base, status: "info", found: `${dir} (absent: the next build creates it)` };
  if (!writable(dir)) {
    return {
      ...base,
      status: "fail",
      found: `${dir} is not writable`,
      fix: `chown -R $USER ${dir} (or delete it: it is only a cache)`,
    };
  }
  return { ...base, status: "ok", found: dir };
}

function registry(s: Setup): DoctorCheck {
  const base = { check: "registry", expected: "", fix: "" };
  if (!existsSync(s.home)) return { ...base, status: "info", found: `${s.home} (empty: the first publish creates it)` };
  if (!writable(s.home)) {
    return {
      ...base,
      status: "fail",
      found: `${s.home} is not writable`,
      fix: `chown -R $USER ${s.home}, or choose another with $NEXA_HOME`,
    };
  }
  let runs: number;
  try {
    const catalog = new Catalog(new LocalStore(s.home));
    try {
      runs = catalog.runs().length;
    } finally {
      catalog.close();
    }
  } catch (err) {
    return {
      ...base,
      status: "fail",
      found: `the index ${path.join(s.home, "index.sqlite")} cannot be read: ${(err as Error).message}`,
      fix: `delete ${path.join(s.home, "index.sqlite")} and run \`nexa rebuild-index\` (it is derived from the stored manifests)`,
    };
  }
  const tmpDir = path.join(s.home, "cas", "tmp");
  const temps = existsSync(tmpDir) ? readdirSync(tmpDir).length : 0;
  const found = `${s.home}: ${runs} run${runs === 1 ? "" : "s"}, index readable`;
  if (temps > 0) {
    return {
      ...base,
      status: "warn",
      found: `${found}; ${temps} temp file${temps === 1 ? "" : "s"} of interrupted writes in ${tmpDir}`,
      fix: "harmless; removed by the registry after an hour (`nexa fsck` re-hashes every blob, `nexa gc` lists garbage)",
    };
  }
  return { ...base, status: "ok", found: `${found} (\`nexa fsck\` re-hashes every blob)` };
}

function freeDisk(s: Setup, what: string, dir: string): DoctorCheck {
  const free = s.probes.freeBytes(dir);
  const gib = (n: number) => `${(n / GiB).toFixed(1)} GiB`;
  const found = `${gib(free)} free at ${dir}`;
  const expected = `at least ${gib(DISK_WARN_BYTES)}`;
  const fix = `free space there (\`nexa gc --apply\`, \`bazel clean\`, or delete the disk cache: it is only a cache)`;
  if (free < DISK_FAIL_BYTES) return { check: `free disk (${what})`, status: "fail", found, expected, fix };
  if (free < DISK_WARN_BYTES) return { check: `free disk (${what})`, status: "warn", found, expected, fix };
  return { check: `free disk (${what})`, status: "ok", found, expected, fix: "" };
}

/** The CUDA toolkit @nexa_cuda would use: $NEXA_CUDA_PATH, else setup's pinned one, an nvcc on PATH, /usr/local/cuda. */
function cudaToolkit(s: Setup, pin: ToolPin | undefined): DoctorCheck {
  const base = { check: "cuda toolkit", expected: pin ? `${pin.version}.x` : "" };
  if (s.env.NEXA_CUDA === "off") return { ...base, status: "info", found: "disabled (NEXA_CUDA=off)", fix: "" };
  const isToolkit = (root: string) =>
    existsSync(path.join(root, "bin", "nvcc")) && existsSync(path.join(root, "include", "cuda_runtime.h"));
  const candidates: string[] = [];
  if (s.env.NEXA_CUDA_PATH) candidates.push(s.env.NEXA_CUDA_PATH);
  else {
    const cache = path.join(s.env.HOME ?? homedir(), ".cache", "nexacompute");
    if (existsSync(cache)) {
      for (const d of readdirSync(cache)
        .filter((n) => n.startsWith("cuda-"))
        .sort())
        candidates.push(path.join(cache, d));
    }
    candidates.push("/usr/local/cuda");
  }
  const root = candidates.find(isToolkit);
  if (root === undefined) {
    return {
      ...base,
      status: "info",
      found: `absent (searched ${candidates.join(", ")}): CUDA targets are skipped`,
      fix: pin?.fix ?? "run `bash tools/setup/setup.sh`",
    };
  }
  const nvcc = toolCheck(
    s,
    "cuda toolkit",
    path.join(root, "bin", "nvcc"),
    ["--version"],
    /release [\d.]+, V([\d.]+)/,
    pin,
    "",
  );
  return { ...nvcc, found: `${nvcc.found} at ${root}` };
}

function gpu(s: Setup): DoctorCheck {
  const base = { check: "gpu", expected: "", fix: "" };
  const r = s.probes.exec("nvidia-smi", ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]);
  const lines =
    r.code === 0
      ? r.stdout
          .trim()
          .split("\n")
          .filter((l) => l.trim() !== "")
      : [];
  if (lines.length === 0) {
    return {
      ...base,
      status: "info",
      found: "none (no working nvidia-smi): tests tagged gpu are skipped, which is fine",
    };
  }
  return { ...base, status: "ok", found: lines.map((l) => l.trim()).join("; ") };
}

/** Every check, in report order. */
export function runChecks(s: Setup): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  let pins: Record<string, ToolPin> = {};
  let bazelPin: ToolPin | undefined;
  if (s.workspace === null) {
    checks.push({
      check: "workspace",
      status: "fail",
      found: "no WORKSPACE file here or above",
      expected: "a NexaCompute checkout",
      fix: "run nexa doctor from the repository (or give --workspace DIR)",
    });
  } else {
    const pinsFile = path.join(s.workspace, "tools", "toolchains", "pins.bzl");
    pins = parsePins(readFileSync(pinsFile, "utf8"), pinsFile);
    const bazelversion = path.join(s.workspace, ".bazelversion");
    if (existsSync(bazelversion)) {
      bazelPin = {
        version: readFileSync(bazelversion, "utf8").trim(),
        fix: "install Bazel 4.2.3 (Debian: `apt-get install bazel-bootstrap`, or `bash tools/setup/setup.sh`)",
      };
    }
    checks.push({ check: "workspace", status: "ok", found: s.workspace, expected: "", fix: "" });
  }
  const run = (
    name: string,
    cmd: string,
    pattern: RegExp,
    pin: ToolPin | undefined,
    fix: string,
    args = ["--version"],
  ) => checks.push(toolCheck(s, name, cmd, args, pattern, pin, fix));
  run("node", "node", /v(\d+\.\d+\.\d+)/, pins.node, "install Node.js 20");
  run("npm", "npm", /^(\d+\.\d+\.\d+)/m, undefined, "install npm (it comes with Node.js)");
  checks.push(bazelCheck(s, bazelPin));
  run("rustc", "rustc", /rustc (\d+\.\d+\.\d+)/, pins.rustc, "install Rust (rustup)");
  // cargo ships with rustc: the same release
  run("cargo", "cargo", /cargo (\d+\.\d+\.\d+)/, pins.rustc, "install Rust (rustup)");
  run("protoc", "protoc", /libprotoc (\d+\.\d+(?:\.\d+)?)/, pins.protoc, "run `bash tools/setup/setup.sh`");
  checks.push(nodeModules(s), bazelServer(s), diskCache(s), registry(s));
  checks.push(freeDisk(s, "registry", s.home));
  const cache = diskCacheOf(s);
  if (cache !== null) checks.push(freeDisk(s, "disk cache", cache));
  if (s.workspace !== null) checks.push(freeDisk(s, "workspace", s.workspace));
  checks.push(cudaToolkit(s, pins.nvcc), gpu(s));
  return checks;
}

// ----------------------------------------------------------------------------------------------------------
// command

/** The workspace: --workspace, $BUILD_WORKSPACE_DIRECTORY, else the nearest directory above `cwd` with a WORKSPACE. */
function workspaceOf(ctx: CommandContext, flag: string | undefined): string | null {
  if (flag) return ctx.userPath(flag);
  if (ctx.env.BUILD_WORKSPACE_DIRECTORY) return ctx.env.BUILD_WORKSPACE_DIRECTORY;
  for (let d = ctx.userPath("."); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "WORKSPACE")) || existsSync(path.join(d, "WORKSPACE.bazel"))) return d;
    if (path.dirname(d) === d) return null;
  }
}

export function register(program: Command, ctx: CommandContext, probes?: DoctorProbes): void {
  withJson(
    program
      .command("doctor")
      .description("check toolchains against their pins, Bazel, the disk cache, the registry, disk, CUDA and GPU")
      .option("--workspace <dir>", "the checkout to check (default: the one you are in)"),
  ).action((opts: { workspace?: string; json?: boolean }) => {
    const workspace = workspaceOf(ctx, opts.workspace);
    const checks = runChecks({
      workspace,
      home: ctx.home(),
      env: ctx.env,
      probes: probes ?? systemProbes(ctx.env, workspace ?? undefined),
    });
    const broken = checks.filter((c) => c.status === "fail");
    if (opts.json) {
      printJson(ctx, { schemaVersion: 1, ok: broken.length === 0, checks });
    } else {
      const rows = [["check", "status", "found", "expected"]];
      for (const c of checks) rows.push([c.check, c.status, c.found, c.expected]);
      const fixes = checks
        .filter((c) => c.fix !== "" && c.status !== "ok")
        .map((c) => `${c.status} ${c.check}: fix: ${c.fix}`);
      ctx.io.out([table(rows), ...(fixes.length ? ["", ...fixes] : [])].join("\n") + "\n");
    }
    if (broken.length > 0) {
      ctx.io.err(`nexa: [ENV_DOCTOR] ${broken.map((c) => c.check).join(", ")} broken (fixes above)\n`);
      ctx.setExit(EXIT.environment);
    }
  });
}

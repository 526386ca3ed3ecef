// `nexa run <pipeline> [--set stage.field=value]...`: runs `bazel run` on a pipeline and shows a live table of its
// stages (run_state.ts). Steps:
//   1. `bazel info`: the output base (which names the progress directory, modules/monitoring progress_file.ts)
//   2. `bazel build --output_groups=nexa_plan`: the pipeline plan alone (no stage runs); every --set is checked
//      against it: the stage exists, and its config with the override still decodes strictly (unknown field, wrong
//      type: exit 3 with the JSON path and the known fields)
//   3. `bazel run --build_event_json_file=… --build_event_publish_all_actions --sandbox_writable_path=<progress
//      dir>`, the overrides as `--//tools/stage:set=…` (a build setting: only the overridden stage's action key
//      changes). None of the extra flags changes an action key: the progress directory is found by the actions
//      themselves, never passed to them.
// On a terminal the table is redrawn in place; otherwise every change is one JSON line.

import { spawn, spawnSync } from "child_process";
import { Command } from "commander";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from "fs";
import * as path from "path";

import { applyOverrides, contractByName, CONTRACTS, decodeManifest, parseStageOverride } from "@nexa/modules/manifest";
import type { StageOverride } from "@nexa/modules/manifest";
import { ConfigError, formatError, NexaError, progressDir } from "@nexa/modules/monitoring";
import type { ProgressRecord } from "@nexa/modules/monitoring";
import type { PipelinePlan } from "@nexa/proto/nexa/v1/pipeline";

import { changedRows, deriveRows, emptyEvents, foldBuildEvent, renderTable } from "./run_state";
import type { BuildEvents, PlannedStage, StageRow } from "./run_state";
import type { CommandIo } from "./commands";

/** The build setting that carries config overrides (tools/stage/BUILD.bazel). */
export const OVERRIDES_SETTING = "//tools/stage:set";

export interface RunPipelineOptions {
  /** A pipeline name (golden, experiments/<name>, <name> scaffolded under pipelines/) or a label. */
  pipeline: string;
  /** `stage.field=value` entries, in order. */
  sets: readonly string[];
  /** JSON lines instead of the redrawn table. */
  json: boolean;
  /** The workspace root (where `bazel` runs). */
  workspace: string;
  /** The bazel command (default "bazel"; $NEXA_BAZEL). */
  bazel: string;
  /** Extra Bazel options for every call (e.g. --config=opt). */
  bazelArgs: readonly string[];
  out(text: string): void;
  err(text: string): void;
  /** Redraw interval; default 250 ms. */
  intervalMs?: number;
}

/** The exit codes of `nexa run` (documented in modules/cli/README.md). */
export const RUN_EXIT = { ok: 0, rubricFailed: 1, usage: 2, badInput: 3, environment: 4 } as const;

class RunError extends NexaError {
  constructor(
    code: string,
    message: string,
    readonly exitCode: number,
    hint?: string,
  ) {
    super(code, message, { hint });
  }
}

/** The Bazel label of a pipeline name: a label as is; experiments/<n> and pipelines/<n> packages; else //pipelines:<n>. */
export function pipelineLabel(name: string, workspace: string): string {
  if (name.startsWith("//")) return name;
  const trimmed = name.replace(/\/+$/, "");
  const base = path.basename(trimmed);
  const candidates = trimmed.includes("/") ? [trimmed] : [`experiments/${trimmed}`, `pipelines/${trimmed}`];
  for (const pkg of candidates) {
    if (existsSync(path.join(workspace, pkg, "BUILD.bazel"))) return `//${pkg}:${base}`;
  }
  return `//pipelines:${trimmed}`;
}

/** `--//tools/stage:set=a.b=1,c.d=2` (always given, so a run without --set resets an earlier one). */
export function overridesFlag(overrides: readonly StageOverride[]): string {
  return `--${OVERRIDES_SETTING}=${overrides.map((o) => `${o.stage}.${o.field}=${o.value}`).join(",")}`;
}

/** Checks every override against the plan: the stage exists and its config with the overrides decodes strictly. */
export function validateOverrides(plan: PipelinePlan, overrides: readonly StageOverride[], workspace: string): void {
  const names = plan.stages.map((s) => s.stage);
  for (const o of overrides) {
    if (!names.includes(o.stage)) {
      throw new ConfigError(
        "CONFIG_OVERRIDE_STAGE",
        `--set ${o.stage}.${o.field}: ${plan.pipeline} has no stage ${o.stage}`,
        {
          context: { target: plan.pipeline },
          hint: `use one of its stages: ${names.join(", ")}`,
        },
      );
    }
  }
  for (const s of plan.stages) {
    const mine = overrides.filter((o) => o.stage === s.stage);
    const contract = s.configSchema ? contractByName(s.configSchema) : undefined;
    if (mine.length === 0 || !contract || s.config.startsWith("../")) continue; // else checked in the action
    const file = path.join(workspace, s.config);
    const display = `${s.config} with --set ${mine.map((o) => `${o.stage}.${o.field}=${o.value}`).join(" ")}`;
    const applied = applyOverrides(JSON.parse(readFileSync(file, "utf8")), mine, display);
    try {
      decodeManifest(contract, JSON.stringify(applied), display);
    } catch (e) {
      if (e instanceof NexaError && e.code === "CONFIG_UNKNOWN_FIELD") {
        throw new ConfigError(e.code, e.detail, {
          context: e.context,
          hint: `${e.hint}; --set names fields as ${s.configSchema}'s JSON does: --set ${s.stage}.<field>=<value>`,
        });
      }
      throw e;
    }
  }
}

/** Every progress record in `dir` (files being replaced or unreadable are skipped). */
export function readProgressRecords(dir: string): ProgressRecord[] {
  const out: ProgressRecord[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith(".json")) continue;
    try {
      out.push(JSON.parse(readFileSync(path.join(dir, n), "utf8")) as ProgressRecord);
    } catch {
      // being written: the next read sees it
    }
  }
  return out;
}

/** Reads a growing file line by line (the build event stream). */
class Tail {
  private offset = 0;
  private partial = "";
  constructor(private readonly file: string) {}
  lines(): string[] {
    if (!existsSync(this.file)) return [];
    const fd = openSync(this.file, "r");
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        chunks.push(Buffer.from(buf.subarray(0, n)));
      }
      const text = this.partial + Buffer.concat(chunks).toString("utf8");
      const parts = text.split("\n");
      this.partial = parts.pop() ?? "";
      return parts.filter((l) => l.length > 0);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The environment of the bazel calls: this process's, without the runfiles variables of `nexa` itself (under
 * `bazel run //modules/cli:nexa` they would make the pipeline's launcher look for its runfiles in nexa's tree).
 */
export function bazelEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of ["RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "RUNFILES_MANIFEST_ONLY", "JAVA_RUNFILES", "TEST_SRCDIR"])
    delete out[k];
  return out;
}

function bazelSync(o: RunPipelineOptions, args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(o.bazel, args, { cwd: o.workspace, encoding: "utf8", maxBuffer: 64 << 20, env: bazelEnv() });
  if (r.error) {
    throw new RunError(
      "RUN_NO_BAZEL",
      `cannot run ${o.bazel}: ${r.error.message}`,
      RUN_EXIT.environment,
      "install Bazel (tools/setup/setup.sh) or set NEXA_BAZEL",
    );
  }
  return { code: r.status ?? 1, stdout: r.stdout, stderr: r.stderr };
}

const tail = (text: string, n: number): string => text.trimEnd().split("\n").slice(-n).join("\n");

/** Steps 1 and 2: output base, bazel-bin and the decoded plan of `label`. */
function planRun(o: RunPipelineOptions, label: string, flags: string[]): { outputBase: string; plan: PipelinePlan } {
  const info = bazelSync(o, ["info", ...flags, ...o.bazelArgs, "output_base", "bazel-bin"]);
  if (info.code !== 0)
    throw new RunError("RUN_BAZEL_INFO", `bazel info failed:\n${tail(info.stderr, 20)}`, RUN_EXIT.environment);
  const values = new Map(
    info.stdout.split("\n").map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
  const outputBase = values.get("output_base") ?? "";
  const bin = values.get("bazel-bin") ?? path.join(o.workspace, "bazel-bin");
  const build = bazelSync(o, ["build", "--output_groups=nexa_plan", ...flags, ...o.bazelArgs, label]);
  if (build.code !== 0) {
    throw new RunError(
      "RUN_PLAN_FAILED",
      `${label} did not build its plan:\n${tail(build.stderr, 30)}`,
      build.code === 2 ? RUN_EXIT.usage : RUN_EXIT.badInput,
      `check the pipeline name (pipelines/<name>, experiments/<name> or a label) and its BUILD file`,
    );
  }
  const [pkg, name] = label.slice(2).split(":");
  const planFile = path.join(bin, pkg, `${name}.pipeline.json`);
  const plan = decodeManifest(CONTRACTS.PipelinePlan, readFileSync(planFile), planFile);
  return { outputBase, plan };
}

/** Runs `nexa run`; resolves to the exit code. */
export async function runPipeline(o: RunPipelineOptions): Promise<number> {
  let overrides: StageOverride[];
  try {
    overrides = o.sets.map(parseStageOverride);
  } catch (e) {
    o.err(`nexa run: ${formatError(e)}\n`);
    return RUN_EXIT.usage;
  }
  const label = pipelineLabel(o.pipeline, o.workspace);
  const flags = [overridesFlag(overrides)];
  let outputBase: string;
  let plan: PipelinePlan;
  try {
    ({ outputBase, plan } = planRun(o, label, flags));
    validateOverrides(plan, overrides, o.workspace);
  } catch (e) {
    o.err(`nexa run: ${formatError(e)}\n`);
    return e instanceof RunError ? e.exitCode : RUN_EXIT.badInput;
  }

  const dir = progressDir(outputBase);
  mkdirSync(dir, { recursive: true });
  for (const n of readdirSync(dir)) rmSync(path.join(dir, n), { force: true, recursive: true });
  const bep = path.join(dir, "build_events.jsonl");
  const bazelLog = path.join(dir, "bazel.log");
  const pkg = label.slice(2).split(":")[0];
  const stages: PlannedStage[] = plan.stages.map((s) => ({ stage: s.stage, label: `//${pkg}:${s.stage}` }));
  const startedMs = Date.now();

  const child = spawn(
    o.bazel,
    [
      "run",
      `--build_event_json_file=${bep}`,
      "--build_event_publish_all_actions",
      `--sandbox_writable_path=${dir}`,
      ...flags,
      ...o.bazelArgs,
      label,
    ],
    { cwd: o.workspace, stdio: ["ignore", "pipe", "pipe"], env: bazelEnv() },
  );
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on("data", (b: Buffer) => stdout.push(b.toString("utf8")));
  child.stderr.on("data", (b: Buffer) => stderr.push(b.toString("utf8")));
  const exited = new Promise<number>((resolve) => {
    child.on("error", () => resolve(-1));
    child.on("close", (code) => resolve(code ?? 1));
  });

  const events: BuildEvents = emptyEvents();
  const bepTail = new Tail(bep);
  const seen = new Map<string, string>();
  let drawn = 0;
  const header = (): void => {
    if (o.json) {
      o.out(
        JSON.stringify({ event: "run_start", pipeline: plan.pipeline, stages: stages.map((s) => s.stage), overrides }) +
          "\n",
      );
    } else {
      o.out(`nexa run ${plan.pipeline}${overrides.length ? "  " + o.sets.map((s) => `--set ${s}`).join(" ") : ""}\n`);
    }
  };
  const draw = (rows: StageRow[], final: boolean): void => {
    if (o.json) {
      for (const r of changedRows(rows, seen)) o.out(JSON.stringify({ event: "stage", ...r }) + "\n");
      return;
    }
    const status = final
      ? ""
      : `bazel: ${events.lastMessage ?? "starting"}  (${((Date.now() - startedMs) / 1000).toFixed(0)}s)`;
    const lines = renderTable(rows, status);
    let text = drawn > 0 ? `\x1b[${drawn}F` : "";
    for (const l of lines) text += `\x1b[2K${l}\n`;
    o.out(text);
    drawn = lines.length;
  };
  const poll = (final: boolean): StageRow[] => {
    for (const line of bepTail.lines()) foldBuildEvent(events, line);
    const last = stderr
      .join("")
      .split(/\r?\n|\r/)
      .map((l) => l.trim())
      .filter((l) => l.length > 0)
      .pop();
    if (last) events.lastMessage = last.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").slice(0, 100);
    const rows = deriveRows(stages, readProgressRecords(dir), events, Date.now());
    draw(rows, final);
    return rows;
  };

  header();
  const timer = setInterval(() => poll(false), o.intervalMs ?? 250);
  const code = await exited;
  clearInterval(timer);
  const rows = poll(true);
  writeFileSync(bazelLog, stderr.join(""));

  const built = events.finished ? events.finished.success : code === 0 || code === 1;
  if (!built || code < 0) {
    const failed = rows.filter((r) => r.state === "failed").map((r) => r.stage);
    const message = `${plan.pipeline}: the build failed${failed.length ? ` at ${failed.join(", ")}` : ""} (bazel exit ${code})`;
    if (o.json)
      o.out(
        JSON.stringify({ event: "run_done", exit_code: RUN_EXIT.badInput, error: message, bazel_log: bazelLog }) + "\n",
      );
    o.err(`${tail(stderr.join(""), 40)}\nnexa run: ${message}; Bazel's output: ${bazelLog}\n`);
    return code === 2 ? RUN_EXIT.usage : RUN_EXIT.badInput;
  }
  const published = stdout.join("");
  if (o.json) {
    for (const line of published.split("\n").filter((l) => l.length > 0))
      o.out(JSON.stringify({ event: "output", line }) + "\n");
    o.out(JSON.stringify({ event: "run_done", exit_code: code }) + "\n");
  } else {
    o.out(published);
  }
  return code;
}

/** The workspace a command works in: Bazel's (under `bazel run`), else the nearest directory with a WORKSPACE file. */
export function findWorkspace(env: Record<string, string | undefined>, cwd: string = process.cwd()): string {
  if (env.BUILD_WORKSPACE_DIRECTORY) return env.BUILD_WORKSPACE_DIRECTORY;
  for (let d = path.resolve(cwd); ; d = path.dirname(d)) {
    if (existsSync(path.join(d, "WORKSPACE")) || existsSync(path.join(d, "WORKSPACE.bazel"))) return d;
    if (path.dirname(d) === d) {
      throw new RunError(
        "RUN_NO_WORKSPACE",
        `no WORKSPACE file in ${cwd} or above`,
        RUN_EXIT.usage,
        "run nexa from the repository",
      );
    }
  }
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** Registers `nexa run` on the program; `setExit` receives its exit code. */
export function registerRun(program: Command, io: CommandIo, setExit: (code: number) => void): void {
  program
    .command("run <pipeline>")
    .description("run a pipeline (bazel run) with a live table of its stages")
    .option("--set <stage.field=value>", "override a stage config field for this run (repeatable)", collect, [])
    .option("--json", "JSON lines instead of the live table (the default without a terminal)")
    .option("--bazel-arg <arg>", "extra Bazel option for every bazel call, e.g. --config=opt (repeatable)", collect, [])
    .action(async (pipeline: string, opts: { set: string[]; json?: boolean; bazelArg: string[] }) => {
      const env = io.env ?? process.env;
      setExit(
        await runPipeline({
          pipeline,
          sets: opts.set,
          json: opts.json === true || !(io.tty ?? process.stdout.isTTY),
          workspace: findWorkspace(env),
          bazel: env.NEXA_BAZEL || "bazel",
          bazelArgs: opts.bazelArg,
          out: io.out,
          err: io.err,
        }),
      );
    });
}

// `nexa lint [--json]`: the policy checks of modules/cli/policy (the ones //tests/governance:governance_test runs)
// over this workspace: Bazel builds the governance records (every module's and kernel package's governed_package()
// and the layering of tests/governance/layers.bzl), then the checks read them with the READMEs, the module
// directories and each experiment's EXPERIMENT.md. Exit 1 when a check fails, each violation naming the package,
// the file or the edge and the fix.
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";

import type { Command } from "commander";

import { NexaError } from "@nexa/modules/monitoring";

import { bazelOf, bazelOutput } from "./bazel_query";
import type { BazelOptions } from "./bazel_query";
import { EXIT, printJson, withJson } from "./context";
import type { CommandContext } from "./context";
import { checkWorkspace } from "./policy/policy";
import type { Layering, PackageRecord, Violation, WorkspaceInput } from "./policy/policy";
import { findWorkspace } from "./run_pipeline";

type FullLayering = WorkspaceInput["layering"];

/** The Bazel targets whose outputs the checks read. */
export function lintTargets(
  layering: Pick<Layering, "core" | "crossCutting" | "cli"> & { kernelPackages: string[] },
): string[] {
  const modules = [...layering.core, ...layering.crossCutting, ...layering.cli];
  return [
    ...modules.map((m) => `//modules/${m}:governance`),
    ...layering.kernelPackages.map((p) => `//${p}:governance`),
  ];
}

function readJson<T>(file: string, what: string): T {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as T;
  } catch (cause) {
    throw new Error(`cannot read ${what} ${file} (built by Bazel just before): ${(cause as Error).message}`, { cause });
  }
}

const dirsIn = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => !n.startsWith(".") && statSync(path.join(dir, n)).isDirectory())
        .sort()
    : [];

/**
 * Bazel's visibility refusals in a failed build's message, as layering violations: visibility is the layering
 * (the root package groups are made from layers.bzl), so a wrong-way edge stops the build before any check runs.
 */
export function visibilityViolations(message: string): Violation[] {
  const out: Violation[] = [];
  for (const m of message.matchAll(
    /(\S+BUILD(?:\.bazel)?:\d+:\d+): in \S+ rule (\S+): target '([^']+)' is not visible from target '([^']+)'/g,
  )) {
    out.push({
      rule: "layering",
      message: `${m[2]} depends on ${m[3]} (${m[1]}), which its layer may not use: Bazel refuses it (visibility); remove the dependency or move the shared piece into a module both may use (tests/governance/layers.bzl)`,
    });
  }
  return out;
}

/** The governance records the checks read, for callers that measure them too (`nexa health`). */
export interface GovernanceRecords {
  layering: FullLayering;
  moduleRecords: PackageRecord[];
  kernelRecords: PackageRecord[];
}

/**
 * Builds the records and runs every check over the workspace; `onRecords` receives the records when the build
 * succeeded (not when Bazel refused a dependency).
 */
export function lintWorkspace(
  o: BazelOptions,
  today: string,
  onRecords?: (r: GovernanceRecords) => void,
): { check: string; violations: Violation[] }[] {
  bazelOutput(o, ["build", "--noshow_progress", "//tests/governance:layering"]);
  const bin = bazelOutput(o, ["info", "bazel-bin"]).trim();
  const layering = readJson<FullLayering>(path.join(bin, "tests", "governance", "layering.json"), "the layering");
  try {
    bazelOutput(o, ["build", "--noshow_progress", "--keep_going", ...lintTargets(layering)]);
  } catch (err) {
    const refused = err instanceof NexaError && err.code === "BAZEL_FAILED" ? visibilityViolations(err.message) : [];
    if (refused.length === 0) throw err;
    return [{ check: "layering and cycles", violations: refused }];
  }
  const record = (pkg: string) => readJson<PackageRecord>(path.join(bin, pkg, "governance.json"), "the package record");
  const modules = [...layering.core, ...layering.crossCutting, ...layering.cli];
  const readFile = (rel: string) => {
    const f = path.join(o.workspace, rel);
    return existsSync(f) ? readFileSync(f, "utf8") : null;
  };
  const moduleRecords = modules.map((m) => record(`modules/${m}`));
  const kernelRecords = layering.kernelPackages.map(record);
  onRecords?.({ layering, moduleRecords, kernelRecords });
  return checkWorkspace({
    layering,
    moduleRecords,
    kernelRecords,
    readme: (pkg) => readFile(`${pkg}/README.md`),
    moduleDirs: dirsIn(path.join(o.workspace, "modules")),
    experiments: dirsIn(path.join(o.workspace, "experiments")).map((d) => ({
      dir: `experiments/${d}`,
      text: readFile(`experiments/${d}/EXPERIMENT.md`),
    })),
    today,
  });
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program.command("lint").description("check the workspace against the policy (the governance tests' checks)"),
  ).action((opts: { json?: boolean }) => {
    const today = ctx.env.NEXA_TODAY ?? new Date().toISOString().slice(0, 10);
    const results = lintWorkspace({ workspace: findWorkspace(ctx.env), bazel: bazelOf(ctx.env), env: ctx.env }, today);
    const failed = results.filter((r) => r.violations.length > 0);
    if (opts.json) {
      printJson(ctx, {
        schemaVersion: 1,
        ok: failed.length === 0,
        checks: results.map((r) => ({ check: r.check, ok: r.violations.length === 0, violations: r.violations })),
      });
    } else {
      const lines: string[] = [];
      for (const r of results) {
        lines.push(`${r.violations.length === 0 ? "ok  " : "FAIL"}  ${r.check}`);
        for (const v of r.violations) lines.push(`      ${v.rule}: ${v.message}`);
      }
      ctx.io.out(lines.join("\n") + "\n");
    }
    if (failed.length > 0) {
      const n = failed.reduce((k, r) => k + r.violations.length, 0);
      ctx.io.err(`nexa: ${n} policy violation${n === 1 ? "" : "s"} in ${failed.map((r) => r.check).join(", ")}\n`);
      ctx.setExit(EXIT.rubricFailed);
    }
  });
}

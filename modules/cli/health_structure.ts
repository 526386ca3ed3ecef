// The structural health indicators of `nexa health` (POLICY.md's appendix as measurements): per module its layer,
// files and lines of code, fan-in and fan-out over the build graph, unit and integration test targets; module-level
// cycles; contracts that carry a schema version; the ABI version stated by each copy; and the lines of code over the
// git history with how straight a line they follow. Everything is read from the governance records Bazel built
// (modules/cli/policy), the workspace's files and `git`; nothing here runs a build.
import { spawnSync } from "child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";

import { findCycles } from "./policy/policy";
import type { PackageRecord } from "./policy/policy";

/** Source files counted as code (documentation and data are not). */
export const CODE_FILE = /(\.(ts|js|rs|bzl|proto|py|sh|cu|cc|h|cuh|jsonnet|libsonnet)|(^|\/)BUILD(\.bazel)?)$/;
/** The trees whose code the history counts. */
export const CODE_TREES = ["modules", "kernels", "proto", "pipelines", "tools", "tests", "benchmarks"];

export interface ModuleHealth {
  module: string;
  layer: string;
  files: number;
  lines: number;
  /** Modules (or `kernels`, `contracts`) this one's targets depend on. */
  fanOut: number;
  /** Modules whose targets depend on this one. */
  fanIn: number;
  unitTests: number;
  integrationTests: number;
}

export interface HistoryPoint {
  commit: string;
  /** Position on the first-parent history (1 = the first commit). */
  index: number;
  lines: number;
}

export interface Linearity {
  /** Least-squares lines of code per commit. */
  slope: number;
  /** Coefficient of determination of that line (1 = exactly linear). */
  r2: number;
  /** Growth per commit over the later half of the history / over the earlier half (> 1: accelerating). */
  acceleration: number;
}

/** Files and lines of code under `dir` (recursively, hidden and output directories skipped). */
export function codeSize(dir: string): { files: number; lines: number } {
  let files = 0;
  let lines = 0;
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      if (name.startsWith(".") || name.startsWith("bazel-") || name === "node_modules") continue;
      const p = path.join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (CODE_FILE.test(p)) {
        files += 1;
        const text = readFileSync(p, "utf8");
        lines += text.length === 0 ? 0 : text.split("\n").length - (text.endsWith("\n") ? 1 : 0);
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return { files, lines };
}

/** The module a label belongs to ("//modules/data:x" → "data", "//kernels/..." → "kernels", "//proto/..." → "contracts"). */
function moduleOfLabel(label: string): string | undefined {
  const m = /^@?\/\/(modules\/([^/:]+)|kernels|proto)/.exec(label.replace(/^@@?\/\//, "//"));
  if (!m) return undefined;
  return m[2] ?? (m[1] === "kernels" ? "kernels" : "contracts");
}

/** Module → the other modules (or `kernels`, `contracts`) its targets depend on, from the records' edges. */
function moduleUses(records: PackageRecord[]): Map<string, Set<string>> {
  const uses = new Map<string, Set<string>>();
  for (const r of records) {
    const m = moduleOfLabel(`//${r.package}`)!;
    const set = uses.get(m) ?? new Set<string>();
    for (const [, to] of r.edges) {
      const t = moduleOfLabel(to);
      if (t !== undefined && t !== m) set.add(t);
    }
    uses.set(m, set);
  }
  return uses;
}

/** Per module: size, fan-in, fan-out and test targets; `layerOf` names each module's layer. */
export function moduleHealth(
  workspace: string,
  records: PackageRecord[],
  layerOf: (module: string) => string,
): ModuleHealth[] {
  const uses = moduleUses(records);
  return records.map((r) => {
    const module = moduleOfLabel(`//${r.package}`)!;
    const tests = r.rules.filter((x) => /_test$/.test(x.kind));
    const integration = tests.filter((x) => /integration/.test(x.name)).length;
    return {
      module,
      layer: layerOf(module),
      ...codeSize(path.join(workspace, r.package)),
      fanOut: uses.get(module)?.size ?? 0,
      fanIn: [...uses.entries()].filter(([m, u]) => m !== module && u.has(module)).length,
      unitTests: tests.length - integration,
      integrationTests: integration,
    };
  });
}

/** Module-level cycles (policy.ts's findCycles over the module graph), each as "a -> b -> a", sorted. */
export function moduleCycles(records: PackageRecord[]): string[] {
  return findCycles(moduleUses(records))
    .map((c) => c.join(" -> "))
    .sort();
}

/** Whether a contract is a document that must carry its own version (manifests, configs, reports, rubrics, plans). */
export const VERSIONED_DOCUMENT = /(Manifest|Config|Report|Rubric|Plan)$/;

/**
 * For each contract message name ("nexa.v1.DatasetManifest") that VERSIONED_DOCUMENT matches and a top-level message
 * of proto/nexa/v1/*.proto defines: whether that definition has a `schema_version` field.
 */
export function contractVersions(
  workspace: string,
  names: readonly string[],
): { message: string; versioned: boolean }[] {
  const dir = path.join(workspace, "proto", "nexa", "v1");
  const bodies = new Map<string, string>();
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)
      .filter((n) => n.endsWith(".proto"))
      .sort()) {
      // top-level messages: "message X {" at the start of a line, the body up to the closing brace at column 0
      for (const m of readFileSync(path.join(dir, f), "utf8").matchAll(/^message (\w+) \{\n([\s\S]*?)^\}/gm)) {
        bodies.set(`nexa.v1.${m[1]}`, m[2]);
      }
    }
  }
  return names
    .filter((n) => VERSIONED_DOCUMENT.test(n) && bodies.has(n))
    .map((message) => ({
      message,
      versioned: /^\s+(uint32|int32|uint64) schema_version = \d+;/m.test(bodies.get(message)!),
    }));
}

/** NEXA_ABI_VERSION as the C header, the Rust library and the TypeScript binding state it (null when absent). */
export function abiVersions(workspace: string): { header: number | null; rust: number | null; binding: number | null } {
  const read = (rel: string, re: RegExp): number | null => {
    const f = path.join(workspace, rel);
    if (!existsSync(f)) return null;
    const m = re.exec(readFileSync(f, "utf8"));
    return m ? Number(m[1]) : null;
  };
  return {
    header: read("kernels/abi/nexa_kernels.h", /#define NEXA_ABI_VERSION (\d+)u/),
    rust: read("kernels/abi/lib.rs", /pub const ABI_VERSION: u32 = (\d+);/),
    binding: read("kernels/binding/library.ts", /export const ABI_VERSION = (\d+);/),
  };
}

function git(workspace: string, args: string[]): string {
  const r = spawnSync("git", ["-C", workspace, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`git ${args.join(" ")}: ${r.error.message}`, { cause: r.error });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")} exited with ${r.status}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** True when `workspace` is inside a git work tree with at least one commit. */
export function hasHistory(workspace: string): boolean {
  const r = spawnSync("git", ["-C", workspace, "rev-parse", "--verify", "-q", "HEAD"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

/**
 * Lines of code (CODE_FILE under CODE_TREES) at up to `samples` commits spread evenly over the first-parent history,
 * the first and the last included; counted by `git grep -c` on each commit's tree (text files only).
 */
export function locHistory(workspace: string, samples = 16): HistoryPoint[] {
  const commits = git(workspace, ["rev-list", "--first-parent", "--reverse", "HEAD"]).split("\n").filter(Boolean);
  const picks = new Set<number>();
  const n = Math.min(samples, commits.length);
  for (let i = 0; i < n; i++) picks.add(n === 1 ? 0 : Math.round((i * (commits.length - 1)) / (n - 1)));
  return [...picks]
    .sort((a, b) => a - b)
    .map((i) => {
      const r = spawnSync("git", ["-C", workspace, "grep", "-I", "-c", "", commits[i], "--", ...CODE_TREES], {
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      });
      if (r.error || (r.status !== 0 && r.status !== 1)) {
        throw new Error(`git grep at ${commits[i]}: ${r.error?.message ?? r.stderr.trim()}`);
      }
      let lines = 0;
      for (const row of r.stdout.split("\n")) {
        const m = /^[0-9a-f]+:(.*):(\d+)$/.exec(row);
        if (m && CODE_FILE.test(m[1])) lines += Number(m[2]);
      }
      return { commit: commits[i], index: i + 1, lines };
    });
}

/** How straight the history's line count is (see Linearity). */
export function linearity(points: HistoryPoint[]): Linearity {
  const n = points.length;
  if (n < 3)
    return {
      slope: n === 2 ? (points[1].lines - points[0].lines) / (points[1].index - points[0].index) : 0,
      r2: 1,
      acceleration: 1,
    };
  const mx = points.reduce((s, p) => s + p.index, 0) / n;
  const my = points.reduce((s, p) => s + p.lines, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (const p of points) {
    sxy += (p.index - mx) * (p.lines - my);
    sxx += (p.index - mx) ** 2;
    syy += (p.lines - my) ** 2;
  }
  const slope = sxy / sxx;
  const r2 = syy === 0 ? 1 : (sxy * sxy) / (sxx * syy);
  const mid = points[Math.floor((n - 1) / 2)];
  const first = points[0];
  const last = points[n - 1];
  const early = (mid.lines - first.lines) / Math.max(1, mid.index - first.index);
  const late = (last.lines - mid.lines) / Math.max(1, last.index - mid.index);
  return { slope, r2, acceleration: early === 0 ? (late === 0 ? 1 : Infinity) : late / early };
}

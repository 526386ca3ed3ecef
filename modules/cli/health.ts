// `nexa health [--json] [--html FILE]`: the health indicators of POLICY.md's appendix that a machine can read, in
// one table — the golden pipeline passes (its newest run in the registry), the policy checks pass (`nexa lint`), no
// experiment is past its expiry and nothing else is stale (`nexa prune`'s dry run), the registry's blobs are intact
// (`nexa fsck`), no module cycle, every contract document versioned, one ABI version in every copy, every module
// with unit and integration tests, and how the lines of code grow over the git history (health_structure.ts) —
// then the modules' sizes, fan-in and fan-out. `--html` writes the same as one offline page with plots
// (health_html.ts). Each indicator names the command that shows the detail; exit 1 when one fails.
import type { Command } from "commander";

import { writeFileSync } from "fs";

import { CONTRACTS } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import { fsckRegistry } from "@nexa/modules/registry";

import { bazelOf } from "./bazel_query";
import { EXIT, printJson, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { table } from "./format";
import { renderHealthHtml } from "./health_html";
import {
  abiVersions,
  contractVersions,
  hasHistory,
  linearity,
  locHistory,
  moduleCycles,
  moduleHealth,
} from "./health_structure";
import type { HistoryPoint, Linearity, ModuleHealth } from "./health_structure";
import { lintWorkspace } from "./lint";
import type { GovernanceRecords } from "./lint";
import { prune } from "./prune";
import { loadRunRow } from "./records";
import { findWorkspace } from "./run_pipeline";

/** The pipeline whose passing marks the repository green (POLICY.md §7). */
export const GOLDEN_PIPELINE = "//pipelines:golden";

export interface Indicator {
  indicator: string;
  status: "ok" | "warn" | "fail";
  found: string;
  /** The command showing the detail (or fixing it). */
  next: string;
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("health")
      .description(
        "the policy's health indicators: golden pipeline, policy checks, stale experiments, registry, cycles, contracts, ABI, tests, growth; module sizes",
      )
      .option("--html <file>", "also write them as one offline HTML page with plots"),
  ).action((opts: { json?: boolean; html?: string }) =>
    withCatalog(ctx, async (c) => {
      const workspace = findWorkspace(ctx.env);
      const today = ctx.env.NEXA_TODAY ?? new Date().toISOString().slice(0, 10);
      const out: Indicator[] = [];

      const golden = c.runs().find((r) => r.pipeline === GOLDEN_PIPELINE);
      if (golden === undefined) {
        out.push({
          indicator: "golden pipeline",
          status: "warn",
          found: "never published to this registry",
          next: "npm run golden",
        });
      } else {
        const r = await loadRunRow(c, golden).catch((err: unknown) => {
          if (err instanceof NexaError) return err; // a damaged run is this indicator's finding
          throw err;
        });
        out.push(
          r instanceof NexaError
            ? {
                indicator: "golden pipeline",
                status: "fail",
                found: `newest run ${golden.run_id.slice(0, 12)} cannot be read: ${r.message}`,
                next: "nexa fsck --repair",
              }
            : {
                indicator: "golden pipeline",
                status: r.rubric === "pass" ? "ok" : "fail",
                found: `newest run ${r.runId.slice(0, 12)} (${r.publishedAt || "time unknown"}): rubric ${r.rubric}`,
                next: `nexa show ${r.runId.slice(0, 12)}`,
              },
        );
      }

      let governance: GovernanceRecords | undefined;
      const lint = lintWorkspace({ workspace, bazel: bazelOf(ctx.env), env: ctx.env }, today, (g) => (governance = g));
      const violations = lint.flatMap((l) => l.violations);
      out.push({
        indicator: "policy checks",
        status: violations.length === 0 ? "ok" : "fail",
        found:
          violations.length === 0
            ? `${lint.length} checks pass`
            : `${violations.length} violation${violations.length === 1 ? "" : "s"} in ${lint
                .filter((l) => l.violations.length > 0)
                .map((l) => l.check)
                .join(", ")}`,
        next: "nexa lint",
      });

      const stale = prune(workspace, ctx.home(), today, false);
      const expired = stale.filter((i) => i.kind === "expired_experiment");
      out.push({
        indicator: "stale work",
        status: expired.length > 0 ? "fail" : stale.length > 0 ? "warn" : "ok",
        found:
          stale.length === 0
            ? "nothing to prune"
            : stale
                .map((i) => `${i.path.replace(/^.*\/cas\/tmp\//, "registry temp ")} (${i.kind.replace(/_/g, " ")})`)
                .join(", "),
        next: "nexa prune",
      });

      const fsck = await fsckRegistry(c);
      out.push({
        indicator: "registry integrity",
        status: fsck.problems.length === 0 ? "ok" : "fail",
        found: `${fsck.blobs} blobs, ${fsck.problems.length} damaged or missing`,
        next: fsck.problems.length === 0 ? "nexa fsck" : "nexa fsck --repair",
      });

      const structure = structureIndicators(workspace, governance);
      out.push(...structure.indicators);

      const failed = out.filter((i) => i.status === "fail");
      const report = {
        schemaVersion: 1,
        ok: failed.length === 0,
        indicators: out,
        modules: structure.modules,
        history: structure.history,
        linearity: structure.linearity,
      };
      if (opts.html) {
        const file = ctx.userPath(opts.html);
        writeFileSync(file, renderHealthHtml({ ...report, today }));
      }
      if (opts.json) printJson(ctx, report);
      else {
        const rows = [
          ["indicator", "status", "found", "next"],
          ...out.map((i) => [i.indicator, i.status, i.found, i.next]),
        ];
        ctx.io.out(table(rows) + "\n");
        if (structure.modules.length > 0) {
          const m = [
            ["module", "layer", "files", "lines", "fan-in", "fan-out", "unit", "integration"],
            ...structure.modules.map((x) =>
              [x.module, x.layer, x.files, x.lines, x.fanIn, x.fanOut, x.unitTests, x.integrationTests].map(String),
            ),
          ];
          ctx.io.out("\n" + table(m) + "\n");
        }
      }
      if (failed.length > 0) {
        ctx.io.err(`nexa: unhealthy: ${failed.map((i) => i.indicator).join(", ")} (see \`next\`)\n`);
        ctx.setExit(EXIT.rubricFailed);
      }
    }),
  );
}

interface Structure {
  indicators: Indicator[];
  modules: ModuleHealth[];
  history: HistoryPoint[];
  linearity: Linearity | null;
}

/** Acceleration of code growth (later half over earlier half, per commit) above which growth is not linear. */
export const MAX_ACCELERATION = 2;

/** The structural indicators and measurements (health_structure.ts); records are absent when Bazel refused the build. */
export function structureIndicators(workspace: string, g: GovernanceRecords | undefined): Structure {
  const indicators: Indicator[] = [];
  let modules: ModuleHealth[] = [];
  if (g === undefined) {
    indicators.push({
      indicator: "module graph",
      status: "fail",
      found: "the governance records did not build (see the policy checks)",
      next: "nexa lint",
    });
  } else {
    const layerOf = (m: string) =>
      g.layering.core.includes(m)
        ? "core"
        : g.layering.crossCutting.includes(m)
          ? "cross_cutting"
          : g.layering.cli.includes(m)
            ? "cli"
            : m === "kernels"
              ? "kernels"
              : "unknown";
    modules = moduleHealth(workspace, g.moduleRecords, layerOf);
    const cycles = moduleCycles([...g.moduleRecords, ...g.kernelRecords]);
    indicators.push({
      indicator: "module cycles",
      status: cycles.length === 0 ? "ok" : "fail",
      found: cycles.length === 0 ? `0 among ${modules.length} modules` : cycles.join("; "),
      next: "nexa graph --format svg --out modules.svg",
    });
    const untested = modules.filter((m) => m.unitTests === 0 || m.integrationTests === 0);
    indicators.push({
      indicator: "tests per module",
      status: untested.length === 0 ? "ok" : "fail",
      found:
        untested.length === 0
          ? `${modules.reduce((s, m) => s + m.unitTests + m.integrationTests, 0)} test targets, every module with unit and integration tests`
          : `without unit or integration tests: ${untested.map((m) => m.module).join(", ")}`,
      next: "nexa test --dry-run",
    });
  }
  const contracts = contractVersions(
    workspace,
    Object.values(CONTRACTS).map((c) => c.name),
  );
  const unversioned = contracts.filter((c) => !c.versioned);
  indicators.push({
    indicator: "contracts versioned",
    status: unversioned.length === 0 ? "ok" : "fail",
    found:
      unversioned.length === 0
        ? `${contracts.length} of ${contracts.length} contract documents in proto/nexa/v1 carry schema_version`
        : `without schema_version: ${unversioned.map((c) => c.message).join(", ")}`,
    next: "proto/nexa/v1",
  });
  const abi = abiVersions(workspace);
  const versions = [abi.header, abi.rust, abi.binding];
  const agree = versions.every((v) => v !== null && v === abi.header);
  indicators.push({
    indicator: "ABI drift",
    status: agree ? "ok" : "fail",
    found: agree
      ? `NEXA_ABI_VERSION ${abi.header} in the header, the Rust library and the binding`
      : `header ${abi.header ?? "none"}, Rust ${abi.rust ?? "none"}, binding ${abi.binding ?? "none"}`,
    next: "bazel test //kernels/abi/... //kernels/binding/...",
  });
  let history: HistoryPoint[] = [];
  let fit: Linearity | null = null;
  if (!hasHistory(workspace)) {
    indicators.push({
      indicator: "code growth",
      status: "warn",
      found: "not a git checkout with commits",
      next: "git log",
    });
  } else {
    history = locHistory(workspace);
    fit = linearity(history);
    const last = history[history.length - 1];
    indicators.push({
      indicator: "code growth",
      status: fit.acceleration > MAX_ACCELERATION ? "warn" : "ok",
      found: `${last.lines} lines of code at commit ${last.index}; ${fit.slope.toFixed(1)} lines per commit (R² ${fit.r2.toFixed(3)}), later half ${fit.acceleration.toFixed(2)}× the earlier half's rate`,
      next: "nexa health --html health.html",
    });
  }
  return { indicators, modules, history, linearity: fit };
}

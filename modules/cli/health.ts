// `nexa health [--json]`: the health indicators of POLICY.md's appendix that a machine can read, in one table —
// the golden pipeline passes (its newest run in the registry), the policy checks pass (`nexa lint`), no experiment
// is past its expiry and nothing else is stale (`nexa prune`'s dry run), and the registry's blobs are intact
// (`nexa fsck`). Each indicator names the command that shows the detail; exit 1 when one fails.
import type { Command } from "commander";

import { NexaError } from "@nexa/modules/monitoring";
import { fsckRegistry } from "@nexa/modules/registry";

import { bazelOf } from "./bazel_query";
import { EXIT, printJson, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { table } from "./format";
import { lintWorkspace } from "./lint";
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
      .description("the policy's health indicators: golden pipeline, policy checks, stale experiments, registry"),
  ).action((opts: { json?: boolean }) =>
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

      const lint = lintWorkspace({ workspace, bazel: bazelOf(ctx.env), env: ctx.env }, today);
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

      const failed = out.filter((i) => i.status === "fail");
      if (opts.json) printJson(ctx, { schemaVersion: 1, ok: failed.length === 0, indicators: out });
      else {
        const rows = [
          ["indicator", "status", "found", "next"],
          ...out.map((i) => [i.indicator, i.status, i.found, i.next]),
        ];
        ctx.io.out(table(rows) + "\n");
      }
      if (failed.length > 0) {
        ctx.io.err(`nexa: unhealthy: ${failed.map((i) => i.indicator).join(", ")} (see \`next\`)\n`);
        ctx.setExit(EXIT.rubricFailed);
      }
    }),
  );
}

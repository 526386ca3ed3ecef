// `nexa show <run> [--json]`: one run (id or unique prefix): its stages, ran/cached, durations, metrics, digests
// (stage id, config, tool digest, each tool), overrides, and the report kept in the registry.
import type { Command } from "commander";

import { printJson, withCatalog, withJson } from "./context";
import { exclusionsOf, formatExclusions } from "./exclusions";
import type { CommandContext } from "./context";
import { fmtDuration, fmtMetrics, short, table } from "./format";
import { loadRun } from "./records";
import type { RunRecord } from "./records";

/** The stable JSON view of a run (`nexa show --json`). */
export function runJson(r: RunRecord): Record<string, unknown> {
  return {
    schemaVersion: 1,
    runId: r.runId,
    pipeline: r.pipeline,
    manifestDigest: r.manifestDigest,
    codeRevision: r.codeRevision,
    publishedAt: r.publishedAt,
    invocations: r.invocations.length,
    rubric: r.rubric,
    durationMs: r.durationMs,
    reportPath: r.reportPath,
    metrics: r.metrics,
    overrides: r.overrides,
    stages: r.stages.map((s) => ({
      stage: s.stage,
      module: s.module,
      status: s.status,
      durationMs: s.durationMs,
      metrics: s.metrics,
      stageId: s.stageId,
      manifestDigest: s.manifestDigest,
      configDigest: s.manifest.configDigest,
      configSchema: s.config?.schema ?? null,
      toolDigest: s.manifest.toolDigest,
      tools: s.manifest.tools.map((t) => ({ name: t.name, version: t.version, digest: t.digest })),
      inputs: s.inputs,
      product: s.product ? { schema: s.product.schema, digest: s.product.digest } : null,
      exclusions: exclusionsOf(s.stage, s.product),
    })),
  };
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("show")
      .description("one run: stages, ran/cached, durations, metrics, digests, overrides")
      .argument("<run>", "run id or a unique prefix of one (see `nexa runs`)"),
  ).action((run: string, opts: { json?: boolean }) =>
    withCatalog(ctx, async (c) => {
      const r = await loadRun(c, run);
      if (opts.json) {
        printJson(ctx, runJson(r));
        return;
      }
      const out: string[] = [
        `run       ${r.runId}`,
        `pipeline  ${r.pipeline}`,
        `published ${r.publishedAt || "-"} (${r.invocations.length} invocation${r.invocations.length === 1 ? "" : "s"})`,
        `revision  ${r.codeRevision}`,
        `rubric    ${r.rubric}  ${fmtMetrics(r.metrics, 8)}`,
        `duration  ${fmtDuration(r.durationMs)}`,
        `report    ${r.reportPath ?? "-"}`,
      ];
      if (r.overrides !== null) out.push(`overrides ${JSON.stringify(r.overrides)}`);
      out.push("");
      const rows = [["stage", "ran/cached", "duration", "metrics", "stage id", "config", "tools"]];
      for (const s of r.stages) {
        rows.push([
          s.stage,
          s.status ?? "-",
          fmtDuration(s.durationMs),
          fmtMetrics(s.metrics),
          short(s.stageId),
          short(s.manifest.configDigest),
          short(s.manifest.toolDigest),
        ]);
      }
      out.push(table(rows));
      const dropped = formatExclusions(r.stages.flatMap((s) => exclusionsOf(s.stage, s.product)));
      if (dropped !== "") out.push(dropped);
      for (const s of r.stages) {
        const tools = s.manifest.tools.map((t) => `${t.name}${t.version ? "@" + t.version : ""} ${short(t.digest)}`);
        out.push(`  ${s.stage}: ${tools.join(", ") || "no tools recorded"}`);
      }
      ctx.io.out(out.join("\n") + "\n");
    }),
  );
}

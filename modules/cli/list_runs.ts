// `nexa runs [--json]`: published runs, newest publish first, with pipeline, time, rubric, duration and the key
// metrics of the run's eval report.
import type { Command } from "commander";

import { printJson, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { fmtDuration, fmtMetrics, table } from "./format";
import { loadRunRow } from "./records";

export function register(program: Command, ctx: CommandContext): void {
  withJson(program.command("runs").description("list published runs, newest first")).action(
    (opts: { json?: boolean }) =>
      withCatalog(ctx, async (c) => {
        const runs = [];
        for (const row of c.runs()) runs.push(await loadRunRow(c, row));
        if (opts.json) {
          printJson(ctx, {
            schemaVersion: 1,
            runs: runs.map((r) => ({
              runId: r.runId,
              pipeline: r.pipeline,
              publishedAt: r.publishedAt,
              rubric: r.rubric,
              durationMs: r.durationMs,
              metrics: r.metrics,
              reportPath: r.reportPath,
            })),
          });
          return;
        }
        if (runs.length === 0) return;
        const rows = [["run", "pipeline", "published", "rubric", "duration", "metrics"]];
        for (const r of runs) {
          rows.push([
            r.runId.slice(0, 12),
            r.pipeline,
            r.publishedAt ? r.publishedAt.slice(0, 19).replace("T", " ") : "-",
            r.rubric,
            fmtDuration(r.durationMs),
            fmtMetrics(r.metrics),
          ]);
        }
        ctx.io.out(table(rows) + "\n");
      }),
  );
}

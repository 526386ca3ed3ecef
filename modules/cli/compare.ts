// `nexa compare <run>… --html <file>`: one offline, self-contained HTML page with the runs' training loss curves
// overlaid (one inline SVG, drawn by modules/eval's loss chart) and every stage's metrics side by side.
import { writeFileSync } from "fs";
import type { Command } from "commander";

import { renderLossChart } from "@nexa/modules/eval/loss_chart";
import type { CurveSeries } from "@nexa/modules/eval/loss_chart";
import { escapeHtml } from "@nexa/modules/eval/html_escape";
import { CONTRACTS } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import type { Catalog } from "@nexa/modules/registry";
import type { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";

import { printJson, UsageError, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { fmtMetric } from "./format";
import { loadRun } from "./records";
import type { RunRecord } from "./records";

/**
 * One hue per run (its column in the table and its curves share it): the run's last checkpoint stage in the dark
 * shade, earlier ones (e.g. a teacher) in lighter shades of the same hue.
 */
const RUN_SHADES = [
  ["#1d4ed8", "#60a5fa", "#bfdbfe"],
  ["#b91c1c", "#f87171", "#fecaca"],
  ["#15803d", "#4ade80", "#bbf7d0"],
  ["#7e22ce", "#c084fc", "#e9d5ff"],
  ["#c2410c", "#fb923c", "#fed7aa"],
  ["#0e7490", "#22d3ee", "#a5f3fc"],
  ["#374151", "#9ca3af", "#e5e7eb"],
  ["#be185d", "#f472b6", "#fbcfe8"],
];
export const runColour = (run: number, shade = 0): string => {
  const shades = RUN_SHADES[run % RUN_SHADES.length];
  return shades[Math.min(shade, shades.length - 1)];
};

/** The training curve lines ({"step","loss"[,"val_loss"]}) of a stored metrics.jsonl. */
function parseCurveLines(text: string, digest: string): CurveSeries["points"][number][] {
  const points = [];
  for (const [i, line] of text.split("\n").entries()) {
    if (line.trim() === "") continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch (cause) {
      throw new NexaError("CLI_CORRUPT_RECORD", `training curve ${digest} line ${i + 1} is not JSON`, {
        context: { digest, line: i + 1 },
        cause,
        hint: "run `nexa verify <digest>`; republish the run",
      });
    }
    if (typeof o.step !== "number") continue;
    points.push({
      step: o.step,
      ...(typeof o.loss === "number" ? { loss: o.loss } : {}),
      ...(typeof o.val_loss === "number" ? { valLoss: o.val_loss } : {}),
    });
  }
  return points;
}

/** One series per checkpoint stage of each run, labelled "<run prefix> <stage>". */
export async function curveSeries(c: Catalog, runs: RunRecord[]): Promise<CurveSeries[]> {
  const series: CurveSeries[] = [];
  for (const [k, r] of runs.entries()) {
    const checkpoints = r.stages.filter((s) => s.product?.schema === CONTRACTS.CheckpointManifest.name);
    for (const [j, s] of checkpoints.entries()) {
      const ref = (s.product?.message as CheckpointManifest).metrics;
      if (!ref || ref.digest === "") continue;
      const text = (await c.store.get(ref.digest)).toString("utf8");
      series.push({
        label: `${r.runId.slice(0, 8)} ${s.stage}`,
        // the last checkpoint in pipeline order (the one the run evaluates) in the run's dark shade
        colour: runColour(k, checkpoints.length - 1 - j),
        points: parseCurveLines(text, ref.digest),
      });
    }
  }
  return series;
}

/** Every (stage, metric) any run has, in first-seen order, with each run's value. */
export function metricsTable(runs: RunRecord[]): { stage: string; metric: string; values: (number | null)[] }[] {
  const rows: { stage: string; metric: string; values: (number | null)[] }[] = [];
  runs.forEach((r, k) => {
    for (const s of r.stages) {
      for (const [metric, v] of Object.entries(s.metrics)) {
        let row = rows.find((x) => x.stage === s.stage && x.metric === metric);
        if (!row) rows.push((row = { stage: s.stage, metric, values: runs.map(() => null) }));
        row.values[k] = v;
      }
    }
  });
  return rows;
}

export function renderComparePage(runs: RunRecord[], series: CurveSeries[]): string {
  const e = escapeHtml;
  const head = runs
    .map((r, i) => `<th style="border-bottom:3px solid ${runColour(i)}">${e(r.runId.slice(0, 12))}</th>`)
    .join("");
  const runRows = [
    ["pipeline", runs.map((r) => r.pipeline)],
    ["published", runs.map((r) => r.publishedAt || "-")],
    ["rubric", runs.map((r) => r.rubric)],
    ["code revision", runs.map((r) => r.codeRevision.slice(0, 12))],
  ] as const;
  const body = [
    ...runRows.map(([k, vs]) => `<tr><th>${e(k)}</th><td></td>${vs.map((v) => `<td>${e(v)}</td>`).join("")}</tr>`),
    ...metricsTable(runs).map((row) => {
      const cells = row.values.map((v) => `<td class="num">${v === null ? "-" : e(fmtMetric(v))}</td>`).join("");
      const differs = new Set(row.values.map(String)).size > 1 ? ' class="differs"' : "";
      return `<tr${differs}><th>${e(row.stage)}</th><td>${e(row.metric)}</td>${cells}</tr>`;
    }),
  ].join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>nexa compare: ${e(runs.map((r) => r.runId.slice(0, 8)).join(" vs "))}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;margin-top:1rem}th,td{padding:.25rem .75rem;text-align:left;border-bottom:1px solid #e5e7eb}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.differs td{background:#fef9c3}
</style></head><body>
<h1>Run comparison</h1>
<h2>Training loss</h2>
${renderLossChart(series)}
<h2>Metrics</h2>
<table><thead><tr><th>stage</th><th>metric</th>${head}</tr></thead>
<tbody>
${body}
</tbody></table>
</body></html>
`;
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("compare")
      .description("one offline HTML page: the runs' loss curves overlaid and their metrics side by side")
      .argument("<runs...>", "run ids or unique prefixes (one or more)")
      .option("--html <file>", "write the page here"),
  ).action((ids: string[], opts: { html?: string; json?: boolean }) => {
    if (!opts.html && !opts.json) {
      throw new UsageError("CLI_COMPARE_NO_OUTPUT", "compare needs --html <file> (or --json)", {
        hint: "e.g. nexa compare <runA> <runB> --html compare.html",
      });
    }
    return withCatalog(ctx, async (c) => {
      const runs = [];
      for (const id of ids) runs.push(await loadRun(c, id));
      const series = await curveSeries(c, runs);
      if (opts.html) {
        const file = ctx.userPath(opts.html);
        writeFileSync(file, renderComparePage(runs, series));
        if (!opts.json) ctx.io.out(`compare: ${file}\n`);
      }
      if (opts.json) {
        printJson(ctx, {
          schemaVersion: 1,
          runs: runs.map((r) => r.runId),
          curves: series.map((s) => ({ label: s.label, points: s.points })),
          metrics: metricsTable(runs),
          ...(opts.html ? { html: ctx.userPath(opts.html) } : {}),
        });
      }
    });
  });
}

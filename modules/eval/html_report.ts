// report.html: one self-contained offline page (inline CSS and SVG; no scripts, fonts, images or network) with
// the verdict, the metrics of student, teacher, undistilled student and baselines, the rubric table, a summary and
// the loss curves. All text is escaped; no dates or paths enter the page, so equal inputs give equal bytes.

import { Comparator } from "@nexa/proto/nexa/v1/eval";
import type { EvalRubric } from "@nexa/proto/nexa/v1/eval";

import type { CurvePoint } from "@nexa/modules/checkpoint";
import { escapeHtml } from "./html_escape";
import { renderLossChart } from "./loss_chart";
import type { CurveSeries } from "./loss_chart";
import type { RubricOutcome } from "./rubric";

/** A scored checkpoint as the page shows it. */
export interface ReportCheckpoint {
  /** Upstream stage name. */
  stage: string;
  /** Digest of its CheckpointManifest. */
  digest: string;
  curve: readonly CurvePoint[];
}

/** Everything the page shows. */
export interface ReportView {
  rubric: EvalRubric;
  outcome: RubricOutcome;
  metrics: Record<string, number>;
  student: ReportCheckpoint;
  teacher?: ReportCheckpoint;
  /** The student's model trained on raw text (what distillation is compared with). */
  undistilled?: ReportCheckpoint;
  /** Digest of the PackedDatasetManifest evaluated. */
  datasetDigest: string;
  exampleCount: number;
}

const COLOURS = { student: "#1f6feb", teacher: "#d97706", undistilled: "#8250df" };

const CSS = [
  "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24;padding:0 1rem}",
  "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}",
  "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}",
  "td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}",
  ".verdict{display:inline-block;padding:.1rem .6rem;border-radius:.3rem;color:#fff;font-weight:600}",
  ".pass{background:#1a7f37}.fail{background:#cf222e}.muted{color:#57606a}code{font-size:.85rem}",
].join("");

/** Fixed formatting: integers as is, others with 4 decimals (exponent form when tiny). */
export function formatNumber(v: number | undefined): string {
  if (v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 ? v.toFixed(4) : v.toExponential(3);
}

const cell = (v: number | undefined) => `<td class="num">${escapeHtml(formatNumber(v))}</td>`;
const verdict = (pass: boolean) => `<span class="verdict ${pass ? "pass" : "fail"}">${pass ? "PASS" : "FAIL"}</span>`;

/** The summary: the student against the baselines, the teacher and the undistilled student, in bits per byte. */
export function summarySentence(metrics: Record<string, number>): string {
  const student = formatNumber(metrics["student.bits_per_byte"]);
  const baseline = formatNumber(metrics["baseline.bits_per_byte"]);
  const gain = metrics["student.bpb_gain_vs_baseline"];
  let text =
    gain > 0
      ? `The student beats the unigram baseline by ${formatNumber(gain)} bits per byte (${student} vs ${baseline}).`
      : gain < 0
        ? `The student does not beat the unigram baseline: it is ${formatNumber(-gain)} bits per byte worse (${student} vs ${baseline}).`
        : `The student matches the unigram baseline (${student} bits per byte).`;
  const overBigram = metrics["student.bpb_gain_vs_bigram"];
  if (overBigram !== undefined) {
    const bigram = formatNumber(metrics["bigram.bits_per_byte"]);
    text +=
      overBigram > 0
        ? ` It beats the bigram baseline (${bigram}) by ${formatNumber(overBigram)}.`
        : overBigram < 0
          ? ` It does not beat the bigram baseline (${bigram}): ${formatNumber(-overBigram)} worse.`
          : ` It matches the bigram baseline (${bigram}).`;
  }
  const gap = metrics["student.bpb_gap_to_teacher"];
  if (gap === undefined) {
    text += " No teacher was evaluated, so there is no teacher comparison.";
  } else {
    const teacher = formatNumber(metrics["teacher.bits_per_byte"]);
    text +=
      gap > 0
        ? ` It is ${formatNumber(gap)} bits per byte behind the teacher (${teacher}).`
        : gap < 0
          ? ` It is ${formatNumber(-gap)} bits per byte ahead of the teacher (${teacher}).`
          : ` It matches the teacher (${teacher} bits per byte).`;
  }
  const bought = metrics["distillation.bpb_gain"];
  if (bought !== undefined) {
    const raw = formatNumber(metrics["undistilled.bits_per_byte"]);
    text +=
      bought >= 0
        ? ` Distillation bought ${formatNumber(bought)} bits per byte: the same model trained on as many raw tokens reaches ${raw}.`
        : ` Distillation cost ${formatNumber(-bought)} bits per byte: the same model trained on as many raw tokens reaches ${raw}.`;
  }
  return text;
}

function metricsTable(m: Record<string, number>, hasTeacher: boolean, hasUndistilled: boolean): string {
  const columns = [
    { head: "student", prefix: "student", shown: true },
    { head: "teacher", prefix: "teacher", shown: hasTeacher },
    { head: "undistilled student", prefix: "undistilled", shown: hasUndistilled },
    { head: "unigram baseline", prefix: "baseline", shown: true },
    { head: "bigram baseline", prefix: "bigram", shown: true },
  ].filter((c) => c.shown);
  const rows = [
    ["Loss (nats/token)", "loss"],
    ["Bits per byte", "bits_per_byte"],
    ["Loss spike ratio (training)", "loss_spike_ratio"],
  ];
  const head = `<tr><th>metric</th>${columns.map((c) => `<th>${escapeHtml(c.head)}</th>`).join("")}</tr>`;
  const body = rows.map(
    ([name, key]) =>
      `<tr><th>${escapeHtml(name)}</th>${columns.map((c) => cell(m[`${c.prefix}.${key}`])).join("")}</tr>`,
  );
  return `<table class="metrics">${head}${body.join("")}</table>`;
}

function allMetricsTable(m: Record<string, number>): string {
  const rows = Object.keys(m)
    .sort()
    .map((k) => `<tr><td><code>${escapeHtml(k)}</code></td>${cell(m[k])}</tr>`);
  return `<table class="all-metrics"><tr><th>name</th><th>value</th></tr>${rows.join("")}</table>`;
}

function rubricTable(outcome: RubricOutcome): string {
  const head =
    "<tr><th>metric</th><th>comparator</th><th>threshold</th><th>value</th><th>required</th><th>pass</th></tr>";
  const rows = outcome.results.map((r) => {
    const op = r.comparator === Comparator.COMPARATOR_GTE ? "≥" : "≤";
    return (
      `<tr><td><code>${escapeHtml(r.metric)}</code></td><td>${op}</td>${cell(r.threshold)}${cell(r.value)}` +
      `<td>${r.required ? "yes" : "no"}</td><td>${verdict(r.passed)}</td></tr>`
    );
  });
  return rows.length > 0
    ? `<table class="rubric">${head}${rows.join("")}</table>`
    : `<p class="muted">The rubric has no criteria.</p>`;
}

/** The page's bytes (UTF-8 text). */
export function renderReportHtml(v: ReportView): string {
  const title = `Eval report: ${v.rubric.name} r${v.rubric.revision} — ${v.outcome.passed ? "PASS" : "FAIL"}`;
  const series: CurveSeries[] = [
    { label: `student (${v.student.stage})`, colour: COLOURS.student, points: v.student.curve },
  ];
  if (v.teacher)
    series.push({ label: `teacher (${v.teacher.stage})`, colour: COLOURS.teacher, points: v.teacher.curve });
  if (v.undistilled) {
    series.push({
      label: `undistilled (${v.undistilled.stage})`,
      colour: COLOURS.undistilled,
      points: v.undistilled.curve,
    });
  }
  const ids = [
    ["student checkpoint", `${v.student.stage} ${v.student.digest}`],
    ...(v.teacher ? [["teacher checkpoint", `${v.teacher.stage} ${v.teacher.digest}`]] : []),
    ...(v.undistilled ? [["undistilled checkpoint", `${v.undistilled.stage} ${v.undistilled.digest}`]] : []),
    ["packed dataset", v.datasetDigest],
    ["validation bins scored", String(v.exampleCount)],
  ];
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>Eval report: ${escapeHtml(v.rubric.name)} <span class="muted">revision ${v.rubric.revision}</span> ${verdict(v.outcome.passed)}</h1>`,
    `<p class="summary">${escapeHtml(summarySentence(v.metrics))}</p>`,
    `<table class="ids">${ids.map(([k, x]) => `<tr><th>${escapeHtml(k)}</th><td><code>${escapeHtml(x)}</code></td></tr>`).join("")}</table>`,
    "<h2>Metrics (validation split)</h2>",
    metricsTable(v.metrics, v.teacher !== undefined, v.undistilled !== undefined),
    "<h2>Rubric</h2>",
    rubricTable(v.outcome),
    "<h2>Loss curves</h2>",
    renderLossChart(series),
    '<p class="muted">Lines: training loss per step (metrics.jsonl <code>loss</code>); points: validation loss (<code>val_loss</code>).</p>',
    "<h2>All metrics</h2>",
    allMetricsTable(v.metrics),
    "</body></html>",
    "",
  ].join("\n");
}

// `nexa health --html FILE`: the indicators, the modules table and two plots (lines of code over the git history
// with its least-squares line; lines of code per module) as one self-contained page: inline CSS and SVG, no
// scripts, fonts or network. All text is escaped.
import { escapeHtml } from "@nexa/modules/eval/html_escape";

import type { Indicator } from "./health";
import type { HistoryPoint, Linearity, ModuleHealth } from "./health_structure";

export interface HealthView {
  today: string;
  ok: boolean;
  indicators: Indicator[];
  modules: ModuleHealth[];
  history: HistoryPoint[];
  linearity: Linearity | null;
}

const CSS = [
  "body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2rem auto;max-width:64rem;color:#1b1f24;padding:0 1rem}",
  "h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}",
  "table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left}",
  "td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f6f8fa}",
  ".ok{color:#1a7f37;font-weight:600}.warn{color:#9a6700;font-weight:600}.fail{color:#cf222e;font-weight:600}",
  "svg text{font-size:11px;fill:#57606a}",
].join("");

const e = escapeHtml;
const num = (v: number) => `<td class="num">${e(String(v))}</td>`;

/** Lines of code over the sampled commits, with the least-squares line dashed. */
export function historyChart(points: HistoryPoint[], fit: Linearity | null): string {
  const W = 640;
  const H = 260;
  const m = { left: 64, right: 16, top: 12, bottom: 36 };
  if (points.length === 0) {
    return `<svg class="history" width="${W}" height="60"><text x="8" y="30">no git history</text></svg>`;
  }
  const xs = points.map((p) => p.index);
  const maxX = Math.max(...xs, 2);
  const minX = Math.min(...xs, 1);
  const maxY = Math.max(...points.map((p) => p.lines), 1);
  const x = (v: number) => m.left + ((v - minX) / Math.max(1, maxX - minX)) * (W - m.left - m.right);
  const y = (v: number) => H - m.bottom - (v / maxY) * (H - m.top - m.bottom);
  const line = points.map((p) => `${x(p.index).toFixed(1)},${y(p.lines).toFixed(1)}`).join(" ");
  const parts = [
    `<svg class="history" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`,
    `<line x1="${m.left}" y1="${H - m.bottom}" x2="${W - m.right}" y2="${H - m.bottom}" stroke="#8c959f"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${H - m.bottom}" stroke="#8c959f"/>`,
    `<text x="${m.left - 6}" y="${y(maxY) + 4}" text-anchor="end">${maxY}</text>`,
    `<text x="${m.left - 6}" y="${H - m.bottom + 4}" text-anchor="end">0</text>`,
    `<text x="${m.left}" y="${H - 8}">commit ${minX}</text>`,
    `<text x="${W - m.right}" y="${H - 8}" text-anchor="end">commit ${maxX}</text>`,
    `<polyline class="loc" fill="none" stroke="#1f6feb" stroke-width="2" points="${line}"/>`,
  ];
  if (fit && points.length >= 2) {
    const mx = xs.reduce((s, v) => s + v, 0) / xs.length;
    const my = points.reduce((s, p) => s + p.lines, 0) / points.length;
    const at = (v: number) => my + fit.slope * (v - mx);
    parts.push(
      `<line class="fit" x1="${x(minX).toFixed(1)}" y1="${y(at(minX)).toFixed(1)}" x2="${x(maxX).toFixed(1)}" y2="${y(at(maxX)).toFixed(1)}" stroke="#d97706" stroke-dasharray="5,4"/>`,
    );
  }
  for (const p of points)
    parts.push(`<circle cx="${x(p.index).toFixed(1)}" cy="${y(p.lines).toFixed(1)}" r="3" fill="#1f6feb"/>`);
  parts.push("</svg>");
  return parts.join("");
}

/** Lines of code per module, one horizontal bar each, largest first. */
export function moduleBars(modules: ModuleHealth[]): string {
  const rows = [...modules].sort((a, b) => b.lines - a.lines || a.module.localeCompare(b.module));
  const W = 640;
  const bar = 18;
  const left = 120;
  const H = rows.length * (bar + 4) + 8;
  const max = Math.max(1, ...rows.map((r) => r.lines));
  const parts = [`<svg class="modules" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">`];
  rows.forEach((r, i) => {
    const yy = 4 + i * (bar + 4);
    const w = ((W - left - 70) * r.lines) / max;
    parts.push(
      `<text x="${left - 6}" y="${yy + 13}" text-anchor="end">${e(r.module)}</text>`,
      `<rect x="${left}" y="${yy}" width="${w.toFixed(1)}" height="${bar}" fill="#8250df"/>`,
      `<text x="${(left + w + 6).toFixed(1)}" y="${yy + 13}">${r.lines}</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("");
}

/** The page's text. */
export function renderHealthHtml(v: HealthView): string {
  const indicators = v.indicators
    .map(
      (i) =>
        `<tr><td>${e(i.indicator)}</td><td class="${i.status}">${e(i.status)}</td><td>${e(i.found)}</td><td><code>${e(i.next)}</code></td></tr>`,
    )
    .join("");
  const modules = v.modules
    .map(
      (m) =>
        `<tr><td>${e(m.module)}</td><td>${e(m.layer)}</td>${num(m.files)}${num(m.lines)}${num(m.fanIn)}${num(m.fanOut)}${num(m.unitTests)}${num(m.integrationTests)}</tr>`,
    )
    .join("");
  const fit = v.linearity
    ? `<p>${e(`${v.linearity.slope.toFixed(1)} lines per commit, R² ${v.linearity.r2.toFixed(3)} for a straight line; the later half of the history grows ${v.linearity.acceleration.toFixed(2)}× as fast per commit as the earlier half.`)}</p>`
    : "";
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>Repository health — ${v.ok ? "healthy" : "unhealthy"}</title><style>${CSS}</style></head><body>`,
    `<h1>Repository health <span class="${v.ok ? "ok" : "fail"}">${v.ok ? "healthy" : "unhealthy"}</span></h1>`,
    `<p>Measured ${e(v.today)} by <code>nexa health</code>.</p>`,
    "<h2>Indicators</h2>",
    `<table class="indicators"><tr><th>indicator</th><th>status</th><th>found</th><th>next</th></tr>${indicators}</table>`,
    "<h2>Lines of code over the history</h2>",
    historyChart(v.history, v.linearity),
    fit,
    "<h2>Modules</h2>",
    moduleBars(v.modules),
    `<table class="modules"><tr><th>module</th><th>layer</th><th>files</th><th>lines</th><th>fan-in</th><th>fan-out</th><th>unit tests</th><th>integration tests</th></tr>${modules}</table>`,
    "</body></html>",
    "",
  ].join("\n");
}

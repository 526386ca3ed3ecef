// Loss curves as one inline SVG: train loss per step as a line, validation loss as points, one colour per
// checkpoint, with axes, nice ticks (1/2/5 × 10^k), grid lines, axis labels and a legend. Pure string building with fixed number formatting,
// so the same curves always give the same bytes.

import type { CurvePoint } from "@nexa/modules/checkpoint";
import { escapeHtml } from "./html_escape";

/** One checkpoint's curve. */
export interface CurveSeries {
  label: string;
  colour: string;
  points: readonly CurvePoint[];
}

const WIDTH = 640;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 16, top: 16, bottom: 48 };
/** Train-loss points drawn per series at most (evenly strided; the last point is always kept). */
const MAX_LINE_POINTS = 1000;
const TICKS = 5;

const coord = (v: number): string => v.toFixed(2);

interface Axis {
  min: number;
  max: number;
  /** Tick values: multiples of a nice step inside [min, max]. */
  ticks: number[];
  /** Decimals that print the step exactly. */
  decimals: number;
}

/** A nice tick step (1, 2 or 5 times a power of ten) giving about TICKS intervals over `span`. */
function niceStep(span: number, integer: boolean): number {
  const raw = span / TICKS;
  // the power of ten at or below `raw` by exact scaling steps (no transcendental: the same bits everywhere)
  let power = 1;
  while (power * 10 <= raw) power *= 10;
  while (power > raw) power /= 10;
  const step = [1, 2, 5, 10].find((m) => m * power >= raw * (1 - 1e-9))! * power;
  return integer ? Math.max(1, Math.round(step)) : step;
}

/** An axis over `values`; `extend` widens the range to whole steps (else the data range is kept). */
function axisOf(values: number[], integer: boolean, extend: boolean): Axis {
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (min === max) {
    min -= integer ? 1 : 0.5;
    max += integer ? 1 : 0.5;
  }
  const step = niceStep(max - min, integer);
  if (extend) {
    min = Math.floor(min / step + 1e-9) * step;
    max = Math.ceil(max / step - 1e-9) * step;
  }
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) ticks.push(k * step);
  // steps are 1, 2 or 5 times a power of ten: print as many decimals as that power needs
  let decimals = 0;
  for (let v = step; v < 1 - 1e-9 && decimals < 20; v *= 10) decimals++;
  return { min, max, ticks, decimals };
}

function strided(points: CurvePoint[]): CurvePoint[] {
  if (points.length <= MAX_LINE_POINTS) return points;
  const stride = Math.ceil(points.length / MAX_LINE_POINTS);
  const out = points.filter((_, i) => i % stride === 0);
  if (out[out.length - 1] !== points[points.length - 1]) out.push(points[points.length - 1]);
  return out;
}

/** The SVG element (a string) for `series`; a short placeholder when no curve has a point. */
export function renderLossChart(series: readonly CurveSeries[]): string {
  const all = series.flatMap((s) => s.points);
  const losses = all.flatMap((p) => [p.loss, p.valLoss]).filter((v): v is number => v !== undefined);
  const open = `<svg class="chart" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="loss curves">`;
  if (losses.length === 0) {
    return `${open}<text x="${WIDTH / 2}" y="${HEIGHT / 2}" text-anchor="middle">no training metrics recorded</text></svg>`;
  }
  const xs = axisOf(
    all.map((p) => p.step),
    true,
    true,
  );
  const ys = axisOf(losses, false, true);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (step: number) => MARGIN.left + ((step - xs.min) / (xs.max - xs.min)) * plotW;
  const py = (loss: number) => MARGIN.top + (1 - (loss - ys.min) / (ys.max - ys.min)) * plotH;
  const bottom = MARGIN.top + plotH;
  const parts: string[] = [open];

  // axes, ticks, grid lines and labels
  parts.push(
    `<g class="axes" stroke="#555" stroke-width="1">`,
    `<line x1="${MARGIN.left}" y1="${bottom}" x2="${MARGIN.left + plotW}" y2="${bottom}"/>`,
    `<line x1="${MARGIN.left}" y1="${MARGIN.top}" x2="${MARGIN.left}" y2="${bottom}"/></g>`,
  );
  parts.push(`<g class="ticks" font-size="11" fill="#333">`);
  for (const step of xs.ticks) {
    const x = coord(px(step));
    parts.push(
      `<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}" stroke="#555"/>`,
      `<text x="${x}" y="${bottom + 16}" text-anchor="middle">${step.toFixed(xs.decimals)}</text>`,
    );
  }
  for (const loss of ys.ticks) {
    const y = coord(py(loss));
    parts.push(
      `<line x1="${MARGIN.left - 4}" y1="${y}" x2="${MARGIN.left + plotW}" y2="${y}" stroke="#e5e7eb"/>`,
      `<text x="${MARGIN.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${loss.toFixed(ys.decimals)}</text>`,
    );
  }
  parts.push(
    `</g>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle" font-size="12">step</text>`,
    `<text x="14" y="${MARGIN.top + plotH / 2}" text-anchor="middle" font-size="12" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">loss (nats/token)</text>`,
  );

  // one series per checkpoint: train loss polyline, validation loss points, legend entry
  series.forEach((s, i) => {
    const colour = escapeHtml(s.colour);
    const train = strided(s.points.filter((p) => p.loss !== undefined));
    if (train.length > 0) {
      const pts = train.map((p) => `${coord(px(p.step))},${coord(py(p.loss!))}`).join(" ");
      parts.push(`<polyline class="train" fill="none" stroke="${colour}" stroke-width="1.5" points="${pts}"/>`);
    }
    for (const p of s.points) {
      if (p.valLoss !== undefined) {
        parts.push(
          `<circle class="val" cx="${coord(px(p.step))}" cy="${coord(py(p.valLoss))}" r="3" fill="#fff" stroke="${colour}" stroke-width="1.5"/>`,
        );
      }
    }
    const ly = MARGIN.top + 12 + 16 * i;
    const lx = MARGIN.left + plotW - 200;
    parts.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${colour}" stroke-width="2"/>`,
      `<circle cx="${lx + 9}" cy="${ly}" r="3" fill="#fff" stroke="${colour}"/>`,
      `<text x="${lx + 24}" y="${ly}" dominant-baseline="middle" font-size="11">${escapeHtml(s.label)}</text>`,
    );
  });
  parts.push(`</svg>`);
  return parts.join("");
}

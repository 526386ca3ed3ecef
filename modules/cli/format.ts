// Text formatting shared by the nexa commands' tables: numbers, durations, metric lists, short digests, columns.

export function fmtMetric(v: number): string {
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
}

export function fmtDuration(ms: number | null): string {
  if (ms === null) return "-";
  const s = ms / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
}

export function fmtMetrics(m: Record<string, number>, most = 4): string {
  const parts = Object.entries(m)
    .slice(0, most)
    .map(([k, v]) => `${k}=${fmtMetric(v)}`);
  return parts.join(" ") || "-";
}

/** Left-aligned columns separated by two spaces (trailing blanks trimmed). */
export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (c ?? "").padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const short = (digest: string): string => digest.replace(/^sha256:/, "").slice(0, 12);

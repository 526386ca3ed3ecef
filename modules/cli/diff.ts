// `nexa diff <runA> <runB> [--json]`: for each stage, whether it is the same or re-ran, and why: the config fields
// that changed (old → new, read from the configs stored in the registry), the upstream input whose digest changed
// (naming the upstream stage), or the tool digest that changed; plus the metric deltas.
//
// A stage's id is the digest of its name, config digest, input manifest digests and tool digest, so these three
// reasons are exhaustive: a stage re-ran exactly when one of them differs.
import type { Command } from "commander";

import { printJson, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { fmtMetric, short, table } from "./format";
import { loadRun } from "./records";
import type { RunRecord, StageRecord } from "./records";

export type Reason =
  /** A config field changed; old/new are proto3 JSON values, null when unset (the field's default). */
  | { kind: "config"; field: string; old: unknown; new: unknown }
  /** The config digest changed but one of the configs is not in the registry (published before configs were). */
  | { kind: "config_digest"; old: string; new: string }
  /** An input's upstream manifest changed; `upstream` is the stage of run B it comes from (null: not in the run). */
  | { kind: "input"; slot: string; upstream: string | null; old: string | null; new: string | null }
  /** A tool's digest changed (`name` "tool_digest" when only the combined digest is known to differ). */
  | { kind: "tool"; name: string; old: string | null; new: string | null };

export interface StageDiff {
  stage: string;
  /** same: identical stage id; rerun: the id changed; added/removed: only in run B / only in run A. */
  result: "same" | "rerun" | "added" | "removed";
  stageIdA: string | null;
  stageIdB: string | null;
  reasons: Reason[];
  metrics: { metric: string; a: number | null; b: number | null; delta: number | null }[];
}

export interface RunDiff {
  schemaVersion: 1;
  runA: { runId: string; pipeline: string };
  runB: { runId: string; pipeline: string };
  stages: StageDiff[];
}

/** Flattens proto3 JSON to field paths ("optimizer.learningRate", "sources[0].path") → scalar values. */
export function flatten(value: unknown, prefix = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (Array.isArray(value)) {
    if (value.length === 0 && prefix) out.set(prefix, []);
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0 && prefix) out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value);
  }
  return out;
}

function configReasons(a: StageRecord, b: StageRecord): Reason[] {
  if (a.manifest.configDigest === b.manifest.configDigest) return [];
  if (!a.config || !b.config) {
    return [{ kind: "config_digest", old: a.manifest.configDigest, new: b.manifest.configDigest }];
  }
  const fa = flatten(a.config.json);
  const fb = flatten(b.config.json);
  const fields = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const out: Reason[] = [];
  for (const field of fields) {
    const old = fa.has(field) ? fa.get(field) : null;
    const now = fb.has(field) ? fb.get(field) : null;
    if (JSON.stringify(old) !== JSON.stringify(now)) out.push({ kind: "config", field, old, new: now });
  }
  return out;
}

function inputReasons(a: StageRecord, b: StageRecord): Reason[] {
  const slots = [...new Set([...a.inputs.map((i) => i.slot), ...b.inputs.map((i) => i.slot)])];
  const out: Reason[] = [];
  for (const slot of slots) {
    const ia = a.inputs.filter((i) => i.slot === slot);
    const ib = b.inputs.filter((i) => i.slot === slot);
    for (let k = 0; k < Math.max(ia.length, ib.length); k++) {
      const old = ia[k]?.digest ?? null;
      const now = ib[k]?.digest ?? null;
      if (old !== now) out.push({ kind: "input", slot, upstream: ib[k]?.stage ?? ia[k]?.stage ?? null, old, new: now });
    }
  }
  return out;
}

function toolReasons(a: StageRecord, b: StageRecord): Reason[] {
  if (a.manifest.toolDigest === b.manifest.toolDigest) return [];
  const names = [...new Set([...a.manifest.tools, ...b.manifest.tools].map((t) => t.name))];
  const out: Reason[] = [];
  for (const name of names) {
    const old = a.manifest.tools.find((t) => t.name === name)?.digest ?? null;
    const now = b.manifest.tools.find((t) => t.name === name)?.digest ?? null;
    if (old !== now) out.push({ kind: "tool", name, old, new: now });
  }
  if (out.length === 0)
    out.push({ kind: "tool", name: "tool_digest", old: a.manifest.toolDigest, new: b.manifest.toolDigest });
  return out;
}

function metricDeltas(a: StageRecord | undefined, b: StageRecord | undefined): StageDiff["metrics"] {
  const ma = a?.metrics ?? {};
  const mb = b?.metrics ?? {};
  const names = [...new Set([...Object.keys(ma), ...Object.keys(mb)])];
  return names.map((metric) => {
    const va = metric in ma ? ma[metric] : null;
    const vb = metric in mb ? mb[metric] : null;
    return { metric, a: va, b: vb, delta: va !== null && vb !== null ? vb - va : null };
  });
}

/** The per-stage difference of two loaded runs (stages matched by name, in run B's order, then A's leftovers). */
export function diffRuns(a: RunRecord, b: RunRecord): RunDiff {
  const names = [
    ...b.stages.map((s) => s.stage),
    ...a.stages.map((s) => s.stage).filter((n) => !b.stages.some((s) => s.stage === n)),
  ];
  const stages = names.map((stage): StageDiff => {
    const sa = a.stages.find((s) => s.stage === stage);
    const sb = b.stages.find((s) => s.stage === stage);
    const base = { stage, stageIdA: sa?.stageId ?? null, stageIdB: sb?.stageId ?? null, metrics: metricDeltas(sa, sb) };
    if (!sa) return { ...base, result: "added", reasons: [] };
    if (!sb) return { ...base, result: "removed", reasons: [] };
    if (sa.stageId === sb.stageId) return { ...base, result: "same", reasons: [] };
    return {
      ...base,
      result: "rerun",
      reasons: [...configReasons(sa, sb), ...inputReasons(sa, sb), ...toolReasons(sa, sb)],
    };
  });
  return {
    schemaVersion: 1,
    runA: { runId: a.runId, pipeline: a.pipeline },
    runB: { runId: b.runId, pipeline: b.pipeline },
    stages,
  };
}

const val = (v: unknown): string => (v === null || v === undefined ? "unset" : JSON.stringify(v));
const dig = (d: string | null): string => (d === null ? "none" : short(d));

export function describeReason(r: Reason): string {
  switch (r.kind) {
    case "config":
      return `config ${r.field}: ${val(r.old)} → ${val(r.new)}`;
    case "config_digest":
      return `config digest ${dig(r.old)} → ${dig(r.new)} (a config is not in the registry: republish to diff fields)`;
    case "input":
      return `input ${r.slot}${r.upstream ? ` from stage ${r.upstream}` : ""} changed: ${dig(r.old)} → ${dig(r.new)}`;
    case "tool":
      return `tool ${r.name} changed: ${dig(r.old)} → ${dig(r.new)}`;
  }
}

export function formatDiff(d: RunDiff): string {
  const lines = [
    `A ${d.runA.runId.slice(0, 12)} (${d.runA.pipeline})`,
    `B ${d.runB.runId.slice(0, 12)} (${d.runB.pipeline})`,
    "",
  ];
  const rows = [["stage", "result", "why"]];
  for (const s of d.stages) {
    const why = s.reasons.map(describeReason);
    rows.push([s.stage, s.result === "rerun" ? "re-run" : s.result, why[0] ?? ""]);
    for (const w of why.slice(1)) rows.push(["", "", w]);
  }
  lines.push(table(rows));
  const metricRows = [["stage", "metric", "A", "B", "delta"]];
  for (const s of d.stages) {
    for (const m of s.metrics) {
      if (m.delta === 0) continue;
      const f = (v: number | null) => (v === null ? "-" : fmtMetric(v));
      metricRows.push([
        s.stage,
        m.metric,
        f(m.a),
        f(m.b),
        m.delta === null ? "-" : (m.delta > 0 ? "+" : "") + fmtMetric(m.delta),
      ]);
    }
  }
  lines.push("", metricRows.length > 1 ? table(metricRows) : "metrics: no change");
  return lines.join("\n");
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("diff")
      .description("per stage: same or re-run, and why (config field, upstream input, tool digest); metric deltas")
      .argument("<runA>", "run id or unique prefix (the baseline)")
      .argument("<runB>", "run id or unique prefix (the run compared with it)"),
  ).action((runA: string, runB: string, opts: { json?: boolean }) =>
    withCatalog(ctx, async (c) => {
      const d = diffRuns(await loadRun(c, runA), await loadRun(c, runB));
      if (opts.json) printJson(ctx, d);
      else ctx.io.out(formatDiff(d) + "\n");
    }),
  );
}

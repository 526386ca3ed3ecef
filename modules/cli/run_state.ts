// The live table of `nexa run`: each stage's state derived from the stage actions' progress files
// (modules/monitoring progress_file.ts) and Bazel's build event stream (--build_event_json_file).
//
//   queued   not started yet, the build still going
//   running  a progress file says running (a sharded stage: any of its actions)
//   done     ran in this build and succeeded (its last action's progress file, or Bazel reported the action)
//   failed   its progress file or Bazel says an action failed
//   cached   none of its actions ran here: Bazel's action cache, or a disk/remote cache hit (Bazel reports the
//            action but no progress file was written), once the build succeeded
//   skipped  the build failed before the stage ran

import type { ProgressRecord } from "@nexa/modules/monitoring";

export type StageState = "queued" | "running" | "cached" | "done" | "failed" | "skipped";

/** One row of the table. */
export interface StageRow {
  stage: string;
  state: StageState;
  /** Seconds since its first action started (running), or its run time (done, failed). */
  elapsedS?: number;
  /** The latest progress numbers of its running (or last) action. */
  progress?: Record<string, unknown>;
  error?: string;
}

/** What the build event stream said so far. */
export interface BuildEvents {
  /** Labels of stage actions (mnemonic NexaStage) that finished, with their success. */
  actions: Map<string, boolean[]>;
  /** Set once the build ended (BuildFinished). */
  finished?: { success: boolean; exitCode: number; name: string };
  /** Bazel's last progress line (its stderr), for the status line. */
  lastMessage?: string;
}

export function emptyEvents(): BuildEvents {
  return { actions: new Map() };
}

/** Folds one line of `--build_event_json_file` into `events` (unknown or partial lines are ignored). */
export function foldBuildEvent(events: BuildEvents, line: string): void {
  let e: Record<string, any>;
  try {
    e = JSON.parse(line);
  } catch {
    return;
  }
  const id = e.id ?? {};
  if (id.actionCompleted && e.action) {
    const label = String(e.action.label ?? id.actionCompleted.label ?? "");
    if (e.action.type === "NexaStage" || e.action.type === undefined) {
      const list = events.actions.get(label) ?? [];
      list.push(e.action.success !== false);
      events.actions.set(label, list);
    }
  } else if (id.buildFinished && e.finished) {
    const code = e.finished.exitCode ?? {};
    events.finished = {
      success: e.finished.overallSuccess === true || code.code === 0 || code.name === "SUCCESS",
      exitCode: Number(code.code ?? 0),
      name: String(code.name ?? ""),
    };
  } else if (id.progress && e.progress) {
    const text = String(e.progress.stderr ?? "")
      .split(/\r?\n|\r/)
      .map((l) => l.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "").trim())
      .filter((l) => l.length > 0);
    if (text.length > 0) events.lastMessage = text[text.length - 1];
  }
}

/** One stage of the plan: its name and Bazel label. */
export interface PlannedStage {
  stage: string;
  label: string;
}

/** The rows of the table, in plan order, at time `nowMs`. */
export function deriveRows(
  stages: readonly PlannedStage[],
  records: readonly ProgressRecord[],
  events: BuildEvents,
  nowMs: number,
): StageRow[] {
  const finished = events.finished;
  return stages.map(({ stage, label }) => {
    const mine = records.filter((r) => r.label === label || (r.stage === stage && r.label === stage));
    const bazel = events.actions.get(label) ?? [];
    const started = mine.length > 0 ? Math.min(...mine.map((r) => r.started_ms)) : undefined;
    const latest = [...mine].sort((a, b) => a.updated_ms - b.updated_ms)[mine.length - 1];
    const failedRecord = mine.find((r) => r.state === "failed");
    const row: StageRow = { stage, state: "queued" };
    if (latest?.progress) row.progress = latest.progress;
    if (failedRecord || bazel.includes(false)) {
      row.state = "failed";
      if (failedRecord?.error) row.error = failedRecord.error;
    } else if (mine.length > 0) {
      const numShards = Math.max(...mine.map((r) => r.num_shards));
      const last = numShards > 1 ? mine.find((r) => r.command === "merge") : mine[0];
      if (last?.state === "done") row.state = "done";
      else if (finished) row.state = finished.success ? "done" : "failed";
      else row.state = "running";
    } else if (bazel.length > 0) {
      row.state = "cached"; // reported by Bazel, never started here: a disk or remote cache hit
    } else if (finished) {
      row.state = finished.success ? "cached" : "skipped";
    }
    if (started !== undefined) {
      const end = row.state === "running" ? nowMs : Math.max(...mine.map((r) => r.updated_ms));
      row.elapsedS = Math.max(0, (end - started) / 1000);
    }
    return row;
  });
}

const fmt = (n: unknown, digits = 0): string =>
  typeof n === "number" && Number.isFinite(n) ? n.toFixed(digits) : String(n ?? "?");

function compact(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return n.toFixed(0);
}

/** The progress column: step/total, loss, tokens/s and ETA for train; done/total unit and extras otherwise. */
export function formatProgress(p: Record<string, unknown> | undefined): string {
  if (!p) return "";
  const parts: string[] = [];
  if (p.unit === "steps") parts.push(`step ${fmt(p.done)}/${fmt(p.total)}`);
  else parts.push(`${fmt(p.done)}/${fmt(p.total)} ${String(p.unit ?? "")}`.trim());
  if (typeof p.loss === "number") parts.push(`loss ${p.loss.toFixed(3)}`);
  if (typeof p.tokens_per_s === "number") parts.push(`${compact(p.tokens_per_s)} tok/s`);
  if (typeof p.documents === "number") parts.push(`${compact(p.documents)} documents`);
  if (typeof p.eta_s === "number" && p.eta_s > 0 && p.done !== p.total) parts.push(`eta ${fmt(p.eta_s)}s`);
  return parts.join("  ");
}

function elapsed(s: number | undefined): string {
  if (s === undefined) return "-";
  if (s < 60) return `${s.toFixed(1)}s`;
  return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
}

/** The table as text lines (header first). */
export function renderTable(rows: readonly StageRow[], status?: string): string[] {
  const width = Math.max(5, ...rows.map((r) => r.stage.length));
  const lines = [`${"STAGE".padEnd(width)}  ${"STATE".padEnd(8)}  ${"ELAPSED".padStart(8)}  PROGRESS`];
  for (const r of rows) {
    const progress = r.state === "failed" && r.error ? r.error : formatProgress(r.progress);
    lines.push(
      `${r.stage.padEnd(width)}  ${r.state.padEnd(8)}  ${elapsed(r.elapsedS).padStart(8)}  ${progress}`.trimEnd(),
    );
  }
  if (status !== undefined) lines.push(status);
  return lines;
}

/** One JSON line per stage whose row changed since `previous` (keyed by stage). */
export function changedRows(rows: readonly StageRow[], previous: Map<string, string>): StageRow[] {
  const out: StageRow[] = [];
  for (const r of rows) {
    const key = JSON.stringify({ s: r.state, p: r.progress, e: r.error });
    if (previous.get(r.stage) !== key) {
      previous.set(r.stage, key);
      out.push(r);
    }
  }
  return out;
}

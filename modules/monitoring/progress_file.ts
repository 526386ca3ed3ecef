// Live progress of a running stage action, outside the action's declared outputs.
//
// A stage action writes its state (running / done / failed, and the latest progress numbers) to one small JSON
// file under a fixed, well-known directory that `nexa run` also knows:
//   /tmp/nexa-progress-<uid>/<key>/<file>.json      key: first 16 hex of sha256(Bazel output base)
// The action finds its output base from the real path of its own bundle (an input symlinked to
// <output_base>/execroot/<workspace>/bazel-out/...), so nothing is passed to it: no argument, no environment
// variable, nothing that could change an action key. Nothing here ever throws or fails the stage: a progress file
// that cannot be written (read-only sandbox, no /tmp, remote execution) is skipped silently.

import { createHash } from "crypto";
import { realpathSync, renameSync, writeFileSync } from "fs";
import * as path from "path";

/** States a stage action reports. */
export type StageRunState = "running" | "done" | "failed";

/** One progress file's content. */
export interface ProgressRecord {
  /** Bazel label of the stage target (NEXA_STAGE_LABEL), e.g. "//pipelines:train". */
  label: string;
  stage: string;
  /** "run" or "merge". */
  command: string;
  shard: number;
  num_shards: number;
  state: StageRunState;
  pid: number;
  started_ms: number;
  updated_ms: number;
  /** Latest progress numbers: label, done, total, unit, eta_s and what the stage adds (loss, tokens_per_s, …). */
  progress?: Record<string, unknown>;
  /** Error code and message when failed. */
  error?: string;
}

/** Where progress files of one Bazel output base live. */
export function progressDir(outputBase: string, uid: number = process.getuid?.() ?? 0): string {
  const key = createHash("sha256").update(outputBase).digest("hex").slice(0, 16);
  return path.join("/tmp", `nexa-progress-${uid}`, key);
}

/** The Bazel output base a file of an action belongs to (from its real path), or undefined. */
export function outputBaseOf(file: string): string | undefined {
  try {
    const real = realpathSync(file);
    const m = /^(.*)\/execroot\/[^/]+\/bazel-out\//.exec(real);
    return m ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

/** The progress file name of one action of a stage target. */
export function progressFileName(label: string, command: string, shard: number, numShards: number): string {
  const base = label.replace(/^@?\/\//, "").replace(/[^A-Za-z0-9_.-]+/g, "_");
  const part = command === "merge" ? ".merge" : numShards > 1 ? `.shard-${shard}-of-${numShards}` : "";
  return `${base}${part}.json`;
}

/** Writes one action's progress file; every call is best effort and never throws. */
export interface ProgressSink {
  /** Records the latest progress numbers (written at most every `minIntervalMs`, and always when `force`). */
  update(progress: Record<string, unknown>, force?: boolean): void;
  /** Records the final state. */
  finish(state: "done" | "failed", error?: string): void;
}

export interface ProgressSinkOptions {
  /** The file (undefined: a sink that writes nothing). */
  file: string | undefined;
  record: Omit<ProgressRecord, "state" | "pid" | "started_ms" | "updated_ms" | "progress" | "error">;
  minIntervalMs?: number;
  now?: () => number;
}

/** A sink that writes nothing. */
export const NO_PROGRESS: ProgressSink = { update() {}, finish() {} };

/**
 * Opens the progress file of one action and records "running". The directory is never created here: it exists
 * only when `nexa run` made it (and made it writable in the sandbox), so a plain `bazel run` leaves nothing behind.
 * A file that cannot be written is skipped.
 */
export function openProgressSink(options: ProgressSinkOptions): ProgressSink {
  const file = options.file;
  if (!file) return NO_PROGRESS;
  const now = options.now ?? Date.now;
  const minInterval = options.minIntervalMs ?? 250;
  const state: ProgressRecord = {
    ...options.record,
    state: "running",
    pid: process.pid,
    started_ms: now(),
    updated_ms: now(),
  };
  let broken = false;
  let lastWrite = -Infinity;
  const write = (): void => {
    if (broken) return;
    try {
      state.updated_ms = now();
      const tmp = `${file}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(state) + "\n");
      renameSync(tmp, file);
      lastWrite = state.updated_ms;
    } catch {
      broken = true; // never fail, never retry a file that cannot be written
    }
  };
  write();
  return {
    update(progress, force = false) {
      state.progress = progress;
      if (force || now() - lastWrite >= minInterval) write();
    },
    finish(final, error) {
      state.state = final;
      if (error !== undefined) state.error = error;
      write();
    },
  };
}

/** The progress sink of a stage action run by Bazel: under the progress directory of its output base. */
export function stageProgressSink(
  bundlePath: string,
  record: ProgressSinkOptions["record"],
  dir: string | undefined = undefined,
): ProgressSink {
  try {
    const where =
      dir ??
      (() => {
        const base = outputBaseOf(bundlePath);
        return base ? progressDir(base) : undefined;
      })();
    if (!where) return NO_PROGRESS;
    return openProgressSink({
      file: path.join(where, progressFileName(record.label, record.command, record.shard, record.num_shards)),
      record,
    });
  } catch {
    return NO_PROGRESS;
  }
}

// Progress of long stages: a cli-progress bar on a TTY, "progress" JSON events otherwise.
//
// In a Bazel action stderr is not a TTY, so progress lands in log.jsonl as events like
//   {"event":"progress","label":"pack","done":500,"total":1000,"fraction":0.5,…}
// at most once per `minIntervalMs` (plus the first and the last update).

import cliProgress from "cli-progress";

import type { NexaLogger } from "./logger";
import type { ProgressSink } from "./progress_file";

export interface ProgressOptions {
  /** Logger receiving the JSON events (non-TTY mode). */
  logger: NexaLogger;
  /** What is progressing, e.g. "tokenize". */
  label: string;
  /** Total units of work (> 0), e.g. records or bytes. */
  total: number;
  /** Unit name written into events, e.g. "records". Default "items". */
  unit?: string;
  /** Terminal stream for the bar; default process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Force bar (true) or events (false); default: whether `stream` is a TTY. */
  tty?: boolean;
  /** Minimum milliseconds between two events in non-TTY mode; default 1000. */
  minIntervalMs?: number;
  /** Clock, injectable for tests; default Date.now. */
  now?: () => number;
  /** Also report every update to a stage's live progress file (progress_file.ts); never part of any output. */
  sink?: ProgressSink;
}

/** Extra live numbers of one update (e.g. loss, tokens_per_s): shown by `nexa run`, never written to an output. */
export type ProgressExtra = Record<string, number | string>;

export interface Progress {
  /** Adds `n` (default 1) units of done work. */
  tick(n?: number, extra?: ProgressExtra): void;
  /** Sets done work to an absolute value. */
  update(done: number, extra?: ProgressExtra): void;
  /** Ends reporting; writes the final state. Idempotent. */
  stop(): void;
}

/** Starts reporting progress; call stop() when done (also on failure, in a finally block). */
export function createProgress(options: ProgressOptions): Progress {
  const stream = options.stream ?? process.stderr;
  const tty = options.tty ?? Boolean(stream.isTTY);
  const unit = options.unit ?? "items";
  const total = options.total;
  let done = 0;
  let stopped = false;
  const started = (options.now ?? Date.now)();
  let extra: ProgressExtra = {};
  const toSink = (force: boolean): void => {
    if (!options.sink) return;
    const elapsed = ((options.now ?? Date.now)() - started) / 1000;
    const eta = done > 0 && total > done ? (elapsed / done) * (total - done) : 0;
    options.sink.update(
      { ...extra, label: options.label, done, total, unit, elapsed_s: elapsed, eta_s: Math.round(eta) },
      force,
    );
  };
  const set = (value: number, more: ProgressExtra | undefined): void => {
    done = value;
    if (more) extra = more;
    toSink(done >= total);
  };

  if (tty) {
    const bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% | {value}/{total} ${unit} | eta {eta}s`,
        hideCursor: false,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      tick(n = 1, more) {
        set(done + n, more);
        bar.update(done);
      },
      update(value, more) {
        set(value, more);
        bar.update(done);
      },
      stop() {
        if (!stopped) {
          stopped = true;
          toSink(true);
          bar.stop();
        }
      },
    };
  }

  const now = options.now ?? Date.now;
  const minInterval = options.minIntervalMs ?? 1000;
  let lastEmit = -Infinity;
  let lastDone = -1;
  const emit = (force: boolean) => {
    const t = now();
    if (done === lastDone || (!force && t - lastEmit < minInterval)) return;
    lastEmit = t;
    lastDone = done;
    const fraction = total > 0 ? Math.min(1, done / total) : 1;
    options.logger.info("progress", { label: options.label, done, total, unit, fraction });
  };
  emit(true);
  return {
    tick(n = 1, more) {
      set(done + n, more);
      emit(done >= total);
    },
    update(value, more) {
      set(value, more);
      emit(done >= total);
    },
    stop() {
      if (!stopped) {
        stopped = true;
        toSink(true);
        emit(true);
      }
    },
  };
}

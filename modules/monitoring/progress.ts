// Progress of long stages: a cli-progress bar on a TTY, "progress" JSON events otherwise.
//
// In a Bazel action stderr is not a TTY, so progress lands in log.jsonl as events like
//   {"event":"progress","label":"pack","done":500,"total":1000,"fraction":0.5,…}
// at most once per `minIntervalMs` (plus the first and the last update).

import cliProgress from "cli-progress";

import type { NexaLogger } from "./logger";

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
}

export interface Progress {
  /** Adds `n` (default 1) units of done work. */
  tick(n?: number): void;
  /** Sets done work to an absolute value. */
  update(done: number): void;
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
      tick(n = 1) {
        done += n;
        bar.update(done);
      },
      update(value) {
        done = value;
        bar.update(done);
      },
      stop() {
        if (!stopped) {
          stopped = true;
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
    tick(n = 1) {
      done += n;
      emit(done >= total);
    },
    update(value) {
      done = value;
      emit(done >= total);
    },
    stop() {
      if (!stopped) {
        stopped = true;
        emit(true);
      }
    },
  };
}

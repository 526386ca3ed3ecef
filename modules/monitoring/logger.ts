// Structured logger: JSON lines (pino) that always carry run_id, stage and event.
//
// Line shape (see proto/nexa/v1/log.proto, LogEvent):
//   {"level":30,"time":1764320000000,"run_id":"9f…","stage":"pack","event":"shard_written","msg":"…",…}
// The wrapper makes `event` a required argument, so no line can be written without one.

import pino from "pino";

import { errorToJson, NexaError } from "./errors";

// ----------------------------------------------------------------------------------------------------------
// types

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

/** Extra structured fields of one line; keys are snake_case by convention. */
export type LogFields = Record<string, unknown>;

export interface LoggerOptions {
  /** Run identity (64 hex); "" when not known yet (e.g. before a pipeline is resolved). */
  runId: string;
  /** Stage name; "-" for work outside a stage (CLI, registry tools). */
  stage: string;
  /** Stage identity when known. */
  stageId?: string;
  /** Minimum level written; default "info" (env NEXA_LOG_LEVEL overrides when set). */
  level?: LogLevel;
  /** Where lines go: a file path (created, appended, written synchronously), a stream, or stderr (default). */
  destination?: string | NodeJS.WritableStream;
}

export interface NexaLogger {
  trace(event: string, fields?: LogFields, msg?: string): void;
  debug(event: string, fields?: LogFields, msg?: string): void;
  info(event: string, fields?: LogFields, msg?: string): void;
  warn(event: string, fields?: LogFields, msg?: string): void;
  /** Logs an error event; a thrown value passed as `err` is serialized with code, context, hint and causes. */
  error(event: string, err?: unknown, fields?: LogFields): void;
  /** A logger with more bound fields (e.g. { shard: 3 }); run_id and stage stay. */
  child(bindings: LogFields): NexaLogger;
  /** Flushes buffered output (no-op for synchronous destinations). */
  flush(): void;
}

// ----------------------------------------------------------------------------------------------------------
// construction

function createDestination(destination: LoggerOptions["destination"]): pino.DestinationStream {
  if (destination === undefined) return pino.destination({ dest: 2, sync: true });
  if (typeof destination === "string") return pino.destination({ dest: destination, sync: true, mkdir: true });
  return destination as pino.DestinationStream;
}

/**
 * The NexaLogger over one pino logger with `bound` fields. Bound fields are merged here rather than with pino's
 * child(): pino appends a child's bindings after the parent's, so a child that sets run_id again would write the
 * key twice in one line.
 */
function wrap(base: pino.Logger, bound: LogFields): NexaLogger {
  const write =
    (level: LogLevel) =>
    (event: string, fields: LogFields = {}, msg?: string) => {
      if (msg === undefined) base[level]({ ...bound, ...fields, event });
      else base[level]({ ...bound, ...fields, event }, msg);
    };
  return {
    trace: write("trace"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error(event: string, err?: unknown, fields: LogFields = {}) {
      const extra: LogFields = { ...bound, ...fields, event };
      if (err !== undefined) {
        extra.error = errorToJson(err);
        if (err instanceof NexaError) extra.error_code = err.code;
      }
      const msg = err instanceof Error ? err.message : err !== undefined ? String(err) : undefined;
      if (msg === undefined) base.error(extra);
      else base.error(extra, msg);
    },
    child(bindings: LogFields) {
      return wrap(base, { ...bound, ...bindings });
    },
    flush() {
      base.flush();
    },
  };
}

/** Creates the logger of one stage (or of a tool, with stage "-"). */
export function createLogger(options: LoggerOptions): NexaLogger {
  const base: LogFields = { run_id: options.runId, stage: options.stage };
  if (options.stageId !== undefined) base.stage_id = options.stageId;
  const level = (process.env.NEXA_LOG_LEVEL as LogLevel | undefined) ?? options.level ?? "info";
  const logger = pino(
    {
      level,
      base: null, // no pid/hostname: they would make logs machine-dependent; run_id and stage are bound fields
      messageKey: "msg",
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    createDestination(options.destination),
  );
  return wrap(logger, base);
}

// The human-readable log mode: structured log lines (pino JSON) rendered as one short line each for a terminal,
// "HH:MM:SS.mmm LEVEL stage event[: msg] key=value …", coloured when stderr is a TTY. The JSON lines stay the record (the
// registry's logs/ directory); this is only how they are shown.
import { appendFileSync, mkdirSync } from "fs";
import * as path from "path";
import { Writable } from "stream";

import type { CommandContext } from "./context";

const LEVELS: Record<number, [string, string]> = {
  10: ["TRACE", "\x1b[90m"],
  20: ["DEBUG", "\x1b[36m"],
  30: ["INFO ", "\x1b[32m"],
  40: ["WARN ", "\x1b[33m"],
  50: ["ERROR", "\x1b[31m"],
  60: ["FATAL", "\x1b[35m"],
};
const RESET = "\x1b[0m";
const DIM = "\x1b[2m";
/** Fields every line carries that the pretty line shows in its fixed columns (or not at all). */
const SHOWN = new Set(["level", "time", "event", "msg", "stage", "run_id", "stage_id", "invocation_id"]);

function scalar(v: unknown): string {
  if (typeof v === "string") return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

/** One pino JSON line as a human-readable line (a line that is not JSON is returned as it is). */
export function prettyLine(line: string, colour = false): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== "object" || o === null) return line;
  const t = typeof o.time === "number" ? new Date(o.time).toISOString().slice(11, 23) : "--:--:--.---";
  const [label, code] = LEVELS[Number(o.level)] ?? ["?    ", ""];
  const fields = Object.entries(o)
    .filter(([k]) => !SHOWN.has(k))
    .map(([k, v]) => `${k}=${scalar(v)}`)
    .join(" ");
  const stage = typeof o.stage === "string" && o.stage !== "" ? o.stage : "-";
  const lvl = colour ? `${code}${label}${RESET}` : label;
  const rest = fields ? (colour ? ` ${DIM}${fields}${RESET}` : ` ${fields}`) : "";
  const what = [o.event, o.msg].filter((x) => typeof x === "string" && x !== "").join(": ");
  return `${t} ${lvl} ${stage} ${what}${rest}`;
}

/**
 * A log destination: every line is appended to `file` (the record) and, when the log format says so, shown on
 * stderr too (pretty or as the JSON line).
 */
export function logDestination(ctx: CommandContext, file: string): Writable {
  mkdirSync(path.dirname(file), { recursive: true });
  const format = ctx.logFormat();
  const colour = format === "pretty" && ctx.io.stderrIsTTY === true;
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      const text = chunk.toString();
      appendFileSync(file, text);
      if (format !== "off") {
        for (const line of text.split("\n")) {
          if (line.trim() !== "") ctx.io.err((format === "pretty" ? prettyLine(line, colour) : line) + "\n");
        }
      }
      done();
    },
  });
}

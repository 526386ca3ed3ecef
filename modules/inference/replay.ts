// Replay of the request log: each logged request is sent again to a server, non-streaming, with the seed it
// resolved to, and the answer's output digest (texts and finish reasons, choice by choice) must equal the logged
// one; a different system_fingerprint (another checkpoint, tokenizer or server build) is reported beside it.

import { readdirSync, readFileSync, statSync } from "fs";
import path from "path";

import { NexaError } from "@nexa/modules/monitoring";

import { outputDigest, REQUEST_LOG_FORMAT } from "./request_log";
import type { RequestLogEntry } from "./request_log";

export const REPLAY_INVALID_LOG = "REPLAY_INVALID_LOG";

export interface ReplayResult {
  file: string;
  endpoint: string;
  /** The digests agree. */
  same: boolean;
  expected: string;
  actual: string;
  /** The server's fingerprint when it differs from the logged one, else null. */
  fingerprintChanged: string | null;
  /** HTTP status when the server refused the request (then same is false). */
  status: number;
}

/** The log files named: files as given, directories by their *.json files in name order. */
export function logFiles(paths: readonly string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith(".json"))
          .sort()
          .map((f) => path.join(p, f))
      : [p],
  );
}

function readEntry(file: string): RequestLogEntry {
  let e: RequestLogEntry;
  try {
    e = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new NexaError(REPLAY_INVALID_LOG, `${file} is not a request log entry: ${(err as Error).message}`, {
      context: { file },
      hint: "pass files written by `nexa serve --request-log DIR` (or the directory)",
    });
  }
  if (e?.format !== REQUEST_LOG_FORMAT || typeof e.output_digest !== "string" || typeof e.resolved?.seed !== "string") {
    throw new NexaError(REPLAY_INVALID_LOG, `${file} is not a ${REQUEST_LOG_FORMAT} entry`, {
      context: { file, jsonPath: "$.format" },
      hint: "pass files written by `nexa serve --request-log DIR` (or the directory)",
    });
  }
  return e;
}

/** Replays one entry against `baseUrl`. */
export async function replayEntry(file: string, baseUrl: string, apiKey?: string): Promise<ReplayResult> {
  const e = readEntry(file);
  const body = { ...(e.request as Record<string, unknown>) };
  delete body.stream;
  delete body.stream_options;
  const seed = BigInt(e.resolved.seed);
  // the seed as sent: a u64 beyond 2^63 was a negative JSON integer
  body.seed = Number(seed >= 2n ** 63n ? seed - 2n ** 64n : seed);
  const res = await fetch(new URL(e.endpoint, baseUrl), {
    method: "POST",
    headers: { "content-type": "application/json", ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as {
    choices?: Array<{ text?: string; message?: { content: string }; finish_reason: string }>;
    system_fingerprint?: string;
  };
  const choices = (json.choices ?? []).map((c) => ({
    text: c.text ?? c.message?.content ?? "",
    finish_reason: c.finish_reason,
  }));
  const actual = res.ok ? outputDigest(choices) : "";
  return {
    file,
    endpoint: e.endpoint,
    same: res.ok && actual === e.output_digest,
    expected: e.output_digest,
    actual,
    fingerprintChanged:
      json.system_fingerprint && json.system_fingerprint !== e.system_fingerprint ? json.system_fingerprint : null,
    status: res.status,
  };
}

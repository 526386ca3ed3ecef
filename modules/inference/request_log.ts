// The request log (opt-in, --request-log DIR): one content-addressed file per answered generation request,
// DIR/<sha256 of its bytes>.json, holding the request as received, the parameters it resolved to (the seed included,
// also when the server picked it), the server's fingerprint, the checkpoint, the output and the output's digest.
// `nexa replay <file|dir> --url URL` sends each logged request again with its resolved seed and checks the answer
// bit for bit (modules/inference replay.ts).

import { mkdirSync, renameSync, writeFileSync } from "fs";
import path from "path";

import { canonicalJson, digestBytes } from "@nexa/modules/manifest";

export const REQUEST_LOG_FORMAT = "nexa.request_log.v1";

export interface LoggedChoice {
  text: string;
  finish_reason: string;
  token_ids: number[];
}

export interface RequestLogEntry {
  format: typeof REQUEST_LOG_FORMAT;
  endpoint: string;
  request: unknown;
  resolved: {
    prompt_tokens: number[];
    max_tokens: number;
    temperature: number;
    top_p: number;
    top_k: number;
    n: number;
    stop: string[];
    /** Decimal (a u64 does not fit a JSON number). */
    seed: string;
    logprobs: number | null;
    chat_template: string | null;
  };
  system_fingerprint: string;
  checkpoint: string;
  output: { choices: Array<{ text: string; finish_reason: string }> };
  /** sha256 of the canonical JSON of `output`: what the client received, choice by choice. */
  output_digest: string;
  token_ids: number[][];
}

/** The digest replay compares: the texts and finish reasons of the choices, in order. */
export function outputDigest(choices: ReadonlyArray<{ text: string; finish_reason: string }>): string {
  return digestBytes(
    canonicalJson({ choices: choices.map((c) => ({ text: c.text, finish_reason: c.finish_reason })) }),
  );
}

export class RequestLog {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** Writes the entry (temporary file + rename: a reader never sees half a file); returns its path. */
  write(entry: RequestLogEntry): string {
    const text = canonicalJson(entry) + "\n";
    const name = digestBytes(text).replace(":", "-") + ".json";
    const file = path.join(this.dir, name);
    const tmp = path.join(this.dir, `.${name}.${process.pid}.tmp`);
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    return file;
  }
}

// Decoders (nexa_decoder_*): one generation in progress over a loaded Model, fed its prompt and then asked for tokens
// a few at a time, each call on a worker thread of libuv's pool (koffi async calls), so the event loop stays free
// while a token is computed and many generations share one model. A cancel flag in native memory is read by the
// library before every token's forward pass: cancel() stops a running call within one token.

import koffi from "koffi";

import { callAsync, growCall, kernels, KernelError, Status, statusError } from "./library";

/** Why a generation ended (NEXA_STOP_* in code order). */
export const STOP_REASONS = ["max_new_tokens", "stop_token", "context_full", "cancelled"] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** NEXA_STOP_NONE: the generation can go on. */
export const STOP_NONE = 0xffffffff;

/** What one nexa_decoder_next call produced. */
export interface DecodedTokens {
  tokens: Uint32Array;
  /** Natural-log probability of each token under the model's distribution (temperature 1, before top-k/top-p). */
  logprobs: Float32Array;
  /** When topN > 0: per token, the topN most probable [id, logprob] pairs (descending, ties by id). */
  top: Array<Array<[number, number]>>;
  /** Why the generation ended, or null while it can go on. */
  stop: StopReason | null;
}

/** A generation in progress; free() when done (after its last call settled). One call at a time. */
export class Decoder {
  private handle: unknown;
  private readonly flag: unknown;
  private running = false;

  /** Use Model.decoder(). `release` is called once by free(). */
  constructor(
    handle: unknown,
    private readonly release: () => void,
  ) {
    this.handle = handle;
    this.flag = koffi.alloc("uint32_t", 1);
    koffi.encode(this.flag, "uint32_t", 0);
  }

  private live(fn: string): unknown {
    if (this.handle === null) {
      throw new KernelError("KERNEL_USE_AFTER_FREE", 0, `${fn}: decoder used after free()`, "keep it until done");
    }
    if (this.running) {
      throw new KernelError(
        "KERNEL_DECODER_BUSY",
        0,
        `${fn}: the decoder's previous call has not settled`,
        "await each feed()/next() before the next call",
      );
    }
    return this.handle;
  }

  private async call(fn: "nexa_decoder_feed" | "nexa_decoder_next", args: unknown[]): Promise<void> {
    const h = this.live(fn);
    this.running = true;
    let status: number;
    try {
      status = await callAsync(fn, h, ...args);
    } finally {
      this.running = false;
    }
    if (status !== Status.OK) throw statusError(status, fn, this.lastError(h));
  }

  private lastError(h: unknown): string {
    const bytes = growCall(
      (n) => new Uint8Array(n),
      512,
      (buf, cap, len) => kernels().nexa_decoder_error(h, buf, cap, len),
      "nexa_decoder_error",
    );
    return new TextDecoder().decode(bytes);
  }

  /** Feeds prompt tokens; resolves with how many were fed (fewer only when cancelled). */
  async feed(tokens: Uint32Array): Promise<number> {
    const fed = [0];
    await this.call("nexa_decoder_feed", [tokens, tokens.length, this.flag, fed]);
    return Number(fed[0]);
  }

  /** Samples up to `maxTokens` (>= 1) tokens, with the `topN` most probable alternatives of each when topN > 0. */
  async next(maxTokens: number, topN = 0): Promise<DecodedTokens> {
    const tokens = new Uint32Array(maxTokens);
    const logprobs = new Float32Array(maxTokens);
    const topIds = topN > 0 ? new Uint32Array(maxTokens * topN) : null;
    const topLps = topN > 0 ? new Float32Array(maxTokens * topN) : null;
    const len = [0];
    const reason = [0];
    await this.call("nexa_decoder_next", [maxTokens, this.flag, tokens, logprobs, topN, topIds, topLps, len, reason]);
    const n = Number(len[0]);
    const top: Array<Array<[number, number]>> = [];
    for (let i = 0; topIds && topLps && i < n; i++) {
      const row: Array<[number, number]> = [];
      for (let j = 0; j < topN; j++) row.push([topIds[i * topN + j], topLps[i * topN + j]]);
      top.push(row);
    }
    const code = reason[0] >>> 0;
    return {
      tokens: tokens.slice(0, n),
      logprobs: logprobs.slice(0, n),
      top,
      stop: code === STOP_NONE ? null : (STOP_REASONS[code] ?? "cancelled"),
    };
  }

  /** Asks the running (or next) call to stop before its next token; the generation ends as "cancelled". */
  cancel(): void {
    if (this.handle !== null) koffi.encode(this.flag, "uint32_t", 1);
  }

  get cancelled(): boolean {
    return this.handle !== null && koffi.decode(this.flag, "uint32_t") !== 0;
  }

  /** Releases the decoder (its KV cache). Refused while a call runs: cancel() it and await the call first. */
  free(): void {
    if (this.handle === null) return;
    const h = this.live("nexa_decoder_free");
    kernels().nexa_decoder_free(h);
    koffi.free(this.flag);
    this.handle = null;
    this.release();
  }
}

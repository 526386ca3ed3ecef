// The model behind the API: one loaded checkpoint (weights + tokenizer, read through modules/checkpoint), a fixed
// number of model workers fed by a bounded queue, and the generation of one choice token by token on a kernels
// Decoder (its own KV cache; each token computed on a worker thread, so the event loop keeps serving). A full queue
// refuses with 429; an aborted request (client gone, deadline, shutdown) leaves the queue or cancels its decoder,
// which stops within one token.

import { createHash } from "crypto";

import type { LoadedCheckpoint } from "@nexa/modules/checkpoint";

import { ApiError } from "./api_error";
import type { ServerMetrics } from "./metrics";
import { StopMatcher } from "./stop_strings";

export interface EngineOptions {
  /** Generations that run at once (--workers). */
  workers: number;
  /** Requests that may wait for a worker (--queue). */
  queue: number;
}

/** How one choice is sampled. */
export interface ChoiceParams {
  maxTokens: number;
  temperature: number;
  topP: number;
  topK: number;
  seed: bigint;
  stop: readonly string[];
  /** Alternatives per token when logprobs are asked for, else null. */
  logprobs: number | null;
}

/** One generated token, as the logprobs of both APIs describe it. */
export interface TokenInfo {
  id: number;
  /** The token's text (its bytes as UTF-8; "bytes:\xNN…" when they are not whole characters); "" and [] below
   *  when the request asked for no logprobs. */
  text: string;
  bytes: number[];
  logprob: number;
  top: Array<{ id: number; text: string; bytes: number[]; logprob: number }>;
  /** Offset of the token's text in the choice's text (characters). */
  offset: number;
}

export type FinishReason = "stop" | "length";

export interface ChoiceResult {
  text: string;
  /** Every sampled token, including any inside or after a stop string. */
  tokenIds: number[];
  finishReason: FinishReason;
  /** The tokens whose text is in `text` (with logprobs when asked for). */
  tokens: TokenInfo[];
}

/** Receives a choice's output as it becomes final (text held back for a possible stop string comes later). */
export type ChoiceSink = (text: string, tokens: TokenInfo[]) => void;

/** Why a request was aborted: the reason of its AbortSignal. */
export type AbortReason = "disconnect" | "deadline" | "shutdown";

interface Waiting {
  start: () => void;
  fail: (e: unknown) => void;
}

export class Engine {
  readonly fingerprint: string;
  readonly contextLength: number;
  private active = 0;
  private readonly waiting: Waiting[] = [];

  constructor(
    readonly loaded: LoadedCheckpoint,
    private readonly opts: EngineOptions,
    private readonly metrics: ServerMetrics,
    /** Identity of the server build (digest of its code and kernels library). */
    serverBuild: string,
  ) {
    const ckpt = loaded.checkpoint;
    this.fingerprint =
      "fp_" +
      createHash("sha256")
        .update(`${ckpt.ref.digest}\0${ckpt.manifest.tokenizer!.digest}\0${serverBuild}`)
        .digest("hex")
        .slice(0, 24);
    this.contextLength = loaded.seqLen;
  }

  get checkpointDigest(): string {
    return this.loaded.checkpoint.ref.digest;
  }

  get queueDepth(): number {
    return this.waiting.length;
  }

  get activeGenerations(): number {
    return this.active;
  }

  /** Prompt text → token ids (special-token text such as <|endoftext|> becomes its id, as HF tokenizers do). */
  encode(text: string): Uint32Array {
    return this.loaded.tokenizer.encode(text, { allowSpecial: true });
  }

  decode(ids: readonly number[]): string {
    return new TextDecoder("utf-8").decode(this.loaded.tokenizer.decode(Uint32Array.from(ids)));
  }

  /** A token id outside the model's vocabulary, or -1. */
  badToken(ids: readonly number[]): number {
    return ids.find((t) => t >= this.loaded.vocabSize) ?? -1;
  }

  /** A token's bytes as logprobs show them. */
  private tokenText(raw: Uint8Array): { text: string; bytes: number[] } {
    const bytes = Array.from(raw);
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(bytes)), bytes };
    } catch {
      return { text: "bytes:" + bytes.map((b) => "\\x" + b.toString(16).padStart(2, "0")).join(""), bytes };
    }
  }

  /**
   * Runs `job` on a model worker: at once when one is free, after the requests queued before it otherwise.
   * A full queue is a 429; an abort while waiting leaves the queue.
   */
  async schedule<T>(signal: AbortSignal, job: () => Promise<T>): Promise<T> {
    if (this.active >= this.opts.workers) {
      if (this.waiting.length >= this.opts.queue) {
        throw new ApiError(
          429,
          "rate_limit_error",
          "rate_limit_exceeded",
          `the server is busy: ${this.opts.workers} generations are running and ${this.waiting.length} requests are queued (--queue ${this.opts.queue}); retry later`,
          null,
          { "retry-after": "1" },
        );
      }
      await new Promise<void>((resolve, reject) => {
        const entry: Waiting = {
          start: () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          },
          fail: reject,
        };
        const onAbort = () => {
          const i = this.waiting.indexOf(entry);
          if (i >= 0) this.waiting.splice(i, 1);
          this.metrics.queueDepth.set(this.waiting.length);
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.waiting.push(entry);
        this.metrics.queueDepth.set(this.waiting.length);
      });
    } else {
      this.active++;
    }
    this.metrics.activeGenerations.set(this.active);
    try {
      signal.throwIfAborted();
      return await job();
    } finally {
      const next = this.waiting.shift();
      if (next)
        next.start(); // the slot passes to the next request
      else this.active--;
      this.metrics.queueDepth.set(this.waiting.length);
      this.metrics.activeGenerations.set(this.active);
    }
  }

  /**
   * Generates one choice. Throws the signal's reason when aborted (the decoder stops before its next token).
   * `onFirstToken` / per-token timing feed the latency histograms.
   */
  async runChoice(
    prompt: Uint32Array,
    p: ChoiceParams,
    signal: AbortSignal,
    sink: ChoiceSink | null,
    timing: { started: number; firstTokenSeen: boolean },
  ): Promise<ChoiceResult> {
    const { model, eosId } = this.loaded;
    const decoder = model.decoder({
      maxNewTokens: p.maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      topK: p.topK,
      seed: p.seed,
      stopTokens: [eosId],
    });
    const onAbort = () => decoder.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    const topN = p.logprobs ?? 0;
    const utf8 = new TextDecoder("utf-8");
    const matcher = new StopMatcher(p.stop);
    const tokenIds: number[] = [];
    const pending: TokenInfo[] = []; // tokens whose text is not final yet
    const released: TokenInfo[] = [];
    let produced = 0; // characters decoded so far
    let text = "";
    const release = (emit: string, all: boolean) => {
      text += emit;
      const out: TokenInfo[] = [];
      while (pending.length > 0 && (all || pending[0].offset < text.length)) out.push(pending.shift()!);
      released.push(...out);
      if (sink && (emit !== "" || out.length > 0)) sink(emit, out);
    };
    try {
      if ((await decoder.feed(prompt)) < prompt.length) signal.throwIfAborted();
      let last = performance.now();
      for (;;) {
        const r = await decoder.next(1, topN);
        if (r.stop === "cancelled") signal.throwIfAborted();
        if (r.tokens.length === 1) {
          const id = r.tokens[0];
          const now = performance.now();
          if (!timing.firstTokenSeen) {
            timing.firstTokenSeen = true;
            this.metrics.timeToFirstToken.observe((now - timing.started) / 1000);
          } else {
            this.metrics.interTokenLatency.observe((now - last) / 1000);
          }
          last = now;
          this.metrics.generationTokens.inc();
          tokenIds.push(id);
          const raw = this.loaded.tokenizer.decode(Uint32Array.of(id));
          const piece = utf8.decode(raw, { stream: true });
          // text and bytes only when logprobs show them: the hot path decodes each token once
          const shown = p.logprobs === null ? { text: "", bytes: [] } : this.tokenText(raw);
          const info: TokenInfo = { id, ...shown, logprob: r.logprobs[0], top: [], offset: produced };
          if (topN > 0) {
            const tokenBytes = (t: number) => this.loaded.tokenizer.decode(Uint32Array.of(t));
            info.top = r.top[0].map(([tid, lp]) => ({ id: tid, ...this.tokenText(tokenBytes(tid)), logprob: lp }));
          }
          produced += piece.length;
          pending.push(info);
          const m = matcher.push(piece);
          if (m.stopped) {
            release(m.emit, false);
            return { text, tokenIds, finishReason: "stop", tokens: released };
          }
          release(m.emit, false);
        }
        if (r.stop !== null) {
          const tail = matcher.push(utf8.decode()); // an incomplete character at the end becomes U+FFFD
          release(tail.emit + (tail.stopped ? "" : matcher.flush()), !tail.stopped);
          const finishReason: FinishReason = r.stop === "stop_token" || tail.stopped ? "stop" : "length";
          return { text, tokenIds, finishReason, tokens: released };
        }
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      decoder.free();
    }
  }

  free(): void {
    this.loaded.free();
  }
}

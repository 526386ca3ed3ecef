// The HTTP API (fastify): OpenAI's /v1/models, /v1/completions and /v1/chat/completions (JSON or server-sent events),
// /tokenize and /detokenize, and the operator's /health, /ready and /metrics. Requests are checked field by field
// (request_fields.ts, generation_request.ts); every refusal is an OpenAI error object (api_error.ts). The server is
// "loading" until a model is attached, "ready" while it serves, and "draining" after stop was asked: then new API
// requests get 503 while the running ones finish.

import { randomBytes, createHash, timingSafeEqual } from "crypto";

import cors from "@fastify/cors";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

import type { NexaLogger } from "@nexa/modules/monitoring";

import { ApiError, invalidField } from "./api_error";
import type { ApiErrorBody } from "./api_error";
import { renderChat } from "./chat_template";
import type { ChatTemplate } from "./chat_template";
import type { AbortReason, ChoiceResult, Engine, TokenInfo } from "./engine";
import { chatParams, completionParams, contextExceeded } from "./generation_request";
import type { GenerationParams, Limits } from "./generation_request";
import { ServerMetrics } from "./metrics";
import { outputDigest, REQUEST_LOG_FORMAT } from "./request_log";
import type { RequestLog } from "./request_log";
import { Fields } from "./request_fields";

export interface ServerOptions {
  limits: Limits;
  /** Seconds a generation request may take, queueing included (--request-timeout). */
  requestTimeoutS: number;
  /** Bearer token the API routes require (--api-key / $NEXA_SERVE_API_KEY); undefined: none. */
  apiKey?: string;
  /** Origins allowed by CORS (--cors-origin); empty: CORS off. */
  corsOrigins: readonly string[];
  chatTemplate?: ChatTemplate;
  requestLog?: RequestLog;
  /** Another name clients may use for the model (--served-model-name). */
  servedModelName?: string;
  /** The checkpoint's run id and lineage when known (served from the registry). */
  modelInfo?: Record<string, unknown>;
  log: NexaLogger;
}

export type ServerState = "loading" | "ready" | "draining";

const API_ROUTES = ["/v1/models", "/v1/completions", "/v1/chat/completions", "/tokenize", "/detokenize"];
const isApi = (url: string) => API_ROUTES.some((r) => url === r || url.startsWith(r + "/") || url.startsWith(r + "?"));

interface Inflight {
  abort: (reason: AbortReason) => void;
  done: Promise<void>;
}

const sha = (s: string) => createHash("sha256").update(s).digest();

export class InferenceServer {
  readonly app: FastifyInstance;
  readonly metrics = new ServerMetrics();
  state: ServerState = "loading";
  private engine: Engine | null = null;
  private readonly inflight = new Set<Inflight>();
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly opts: ServerOptions) {
    // Loaded here, not at the top: the nexa bundle holds every command, and only `nexa serve` needs fastify.
    const Fastify = (require("fastify") as typeof import("fastify")).default;
    this.app = Fastify({
      bodyLimit: opts.limits.maxBodyBytes,
      logger: false,
      forceCloseConnections: "idle",
      return503OnClosing: false,
    });
    this.install();
  }

  attach(engine: Engine): void {
    this.engine = engine;
    if (this.state === "loading") this.state = "ready";
  }

  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Resolves when no request is running. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight].map((r) => r.done));
  }

  /** Cancels every running request (each stops within one token). */
  cancelAll(reason: AbortReason): void {
    for (const r of this.inflight) r.abort(reason);
  }

  private install(): void {
    const app = this.app;
    const { opts } = this;
    if (opts.corsOrigins.length > 0) {
      void app.register(cors, {
        origin: [...opts.corsOrigins],
        methods: ["GET", "POST", "OPTIONS"],
        allowedHeaders: ["authorization", "content-type"],
      });
    }
    app.removeContentTypeParser("application/json");
    app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
      try {
        done(null, JSON.parse(body as string));
      } catch (e) {
        done(
          new ApiError(
            400,
            "invalid_request_error",
            "invalid_json",
            `the request body is not valid JSON: ${(e as Error).message}`,
          ),
          undefined,
        );
      }
    });

    app.addHook("onRequest", async (req, reply) => {
      if (this.state === "draining") void reply.header("connection", "close");
      const url = req.url;
      if (!isApi(url) || req.method === "OPTIONS") return;
      if (opts.apiKey !== undefined) {
        const auth = req.headers.authorization ?? "";
        const given = auth.startsWith("Bearer ") ? auth.slice(7) : "";
        if (!timingSafeEqual(sha(given), sha(opts.apiKey))) {
          throw new ApiError(
            401,
            "authentication_error",
            "invalid_api_key",
            given === ""
              ? "no API key: send the header `Authorization: Bearer <key>`"
              : "the API key in `Authorization: Bearer …` is not this server's key",
          );
        }
      }
      if (this.state !== "ready") {
        throw new ApiError(
          503,
          "server_error",
          this.state === "loading" ? "model_loading" : "server_shutting_down",
          this.state === "loading"
            ? "the model is still loading; retry when /ready says ready"
            : "the server is shutting down",
          null,
          { "retry-after": "1" },
        );
      }
    });
    app.addHook("onResponse", async (req, reply) => {
      this.metrics.requests.inc({ endpoint: req.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
    });
    app.setErrorHandler(async (err: unknown, req, reply) => {
      const e = this.toApiError(err, req);
      void reply.code(e.status).headers(e.headers);
      return e.body();
    });
    app.setNotFoundHandler(async (req, reply) => {
      const e = new ApiError(
        404,
        "invalid_request_error",
        "unknown_route",
        `no route ${req.method} ${req.url.split("?")[0]}; this server answers GET /v1/models, POST /v1/completions, ` +
          "POST /v1/chat/completions, POST /tokenize, POST /detokenize, GET /health, GET /ready, GET /metrics",
      );
      void reply.code(404);
      return e.body();
    });

    app.get("/health", async () => ({ status: "ok" }));
    app.get("/ready", async (_req, reply) => {
      if (this.state !== "ready") void reply.code(503);
      return { status: this.state, model: this.engine?.checkpointDigest ?? null };
    });
    app.get("/metrics", async (_req, reply) => {
      void reply.header("content-type", this.metrics.registry.contentType);
      return this.metrics.registry.metrics();
    });
    app.get("/v1/models", async () => ({ object: "list", data: [this.modelCard()] }));
    app.get<{ Params: { id: string } }>("/v1/models/:id", async (req) => {
      this.checkModel(req.params.id, "id");
      return this.modelCard();
    });
    app.post("/tokenize", async (req) => this.tokenize(req.body));
    app.post("/detokenize", async (req) => this.detokenize(req.body));
    app.post("/v1/completions", async (req, reply) =>
      this.generate(req, reply, completionParams(req.body, opts.limits)),
    );
    app.post("/v1/chat/completions", async (req, reply) =>
      this.generate(req, reply, chatParams(req.body, opts.limits)),
    );
  }

  private toApiError(err: unknown, req: FastifyRequest): ApiError {
    if (err instanceof ApiError) return err;
    const f = err as { statusCode?: number; code?: string; message?: string };
    if (f.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return new ApiError(
        413,
        "invalid_request_error",
        "request_too_large",
        `the request body is larger than this server's limit of ${this.opts.limits.maxBodyBytes} bytes (--max-body-bytes)`,
      );
    }
    if (typeof f.statusCode === "number" && f.statusCode >= 400 && f.statusCode < 500) {
      return new ApiError(
        f.statusCode,
        "invalid_request_error",
        (f.code ?? "bad_request").toLowerCase(),
        f.message ?? "bad request",
      );
    }
    this.opts.log.error("request_failed", err, { method: req.method, url: req.url });
    return new ApiError(500, "server_error", "internal_error", `the server failed: ${f.message ?? String(err)}`);
  }

  private get live(): Engine {
    if (!this.engine) throw new ApiError(503, "server_error", "model_loading", "the model is still loading");
    return this.engine;
  }

  private modelIds(): string[] {
    const e = this.live;
    const ids = [e.checkpointDigest];
    if (this.opts.servedModelName) ids.push(this.opts.servedModelName);
    const runId = this.opts.modelInfo?.run_id;
    if (typeof runId === "string" && runId !== "") ids.push(runId);
    return ids;
  }

  private checkModel(model: string | undefined, param: string): void {
    if (model === undefined || this.modelIds().includes(model)) return;
    throw new ApiError(
      404,
      "invalid_request_error",
      "model_not_found",
      `the model \`${model}\` is not served here; send one of: ${this.modelIds().join(", ")} (GET /v1/models)`,
      param,
    );
  }

  private modelCard(): Record<string, unknown> {
    const e = this.live;
    const m = e.loaded.checkpoint.manifest;
    return {
      id: e.checkpointDigest,
      object: "model",
      created: this.created,
      owned_by: "nexacompute",
      max_model_len: e.contextLength,
      nexa: {
        checkpoint: e.checkpointDigest,
        system_fingerprint: e.fingerprint,
        aliases: this.modelIds().slice(1),
        run_id: null,
        parent: m.packedDataset?.digest ?? null,
        lineage: {
          packed_dataset: m.packedDataset?.digest ?? null,
          tokenizer: m.tokenizer?.digest ?? null,
          train_config: m.trainConfigDigest,
        },
        step: m.step,
        param_count: Number(m.paramCount),
        chat_template: this.opts.chatTemplate ? this.opts.chatTemplate.digest : null,
        ...(this.opts.modelInfo ?? {}),
      },
    };
  }

  private tokenize(body: unknown): Record<string, unknown> {
    const f = new Fields(body, "", ["model", "prompt", "add_special_tokens"], "the request body of /tokenize");
    this.checkModel(f.string("model"), "model");
    f.boolean("add_special_tokens", true);
    const text = f.string("prompt", true);
    const tokens = Array.from(this.live.encode(text));
    return { count: tokens.length, max_model_len: this.live.contextLength, tokens };
  }

  private detokenize(body: unknown): Record<string, unknown> {
    const f = new Fields(body, "", ["model", "tokens"], "the request body of /detokenize");
    this.checkModel(f.string("model"), "model");
    const raw = f.raw("tokens");
    if (!Array.isArray(raw)) throw invalidField("tokens", "`tokens` must be an array of token ids", "invalid_type");
    raw.forEach((t, i) => {
      if (typeof t !== "number" || !Number.isSafeInteger(t) || t < 0 || t >= this.live.loaded.vocabSize) {
        throw invalidField(
          `tokens[${i}]`,
          `\`tokens[${i}]\` is ${JSON.stringify(t)}; token ids are integers in [0, ${this.live.loaded.vocabSize})`,
        );
      }
    });
    return { prompt: this.live.decode(raw as number[]) };
  }

  // ---- generation ---------------------------------------------------------------------------------------------

  private async generate(req: FastifyRequest, reply: FastifyReply, p: GenerationParams): Promise<unknown> {
    const started = performance.now();
    const engine = this.live;
    this.checkModel(p.model, "model");
    const context = engine.contextLength;
    let tokens: Uint32Array;
    if (p.endpoint === "chat") {
      const t = this.opts.chatTemplate;
      if (!t) {
        throw new ApiError(
          400,
          "invalid_request_error",
          "chat_template_missing",
          "this model is a base model with no chat template: start the server with --chat-template FILE " +
            "(modules/inference/README.md) or use /v1/completions",
          "messages",
        );
      }
      tokens = engine.encode(renderChat(t, p.messages!));
    } else if (p.prompt!.kind === "text") {
      tokens = engine.encode(p.prompt!.text);
    } else {
      const bad = engine.badToken(p.prompt!.tokens);
      if (bad >= 0) {
        const i = p.prompt!.tokens.indexOf(bad);
        throw invalidField(
          `prompt[${i}]`,
          `\`prompt[${i}]\` is ${bad}, outside the vocabulary of ${engine.loaded.vocabSize}`,
        );
      }
      tokens = Uint32Array.from(p.prompt!.tokens);
    }
    const promptParam = p.endpoint === "chat" ? "messages" : "prompt";
    if (tokens.length === 0) {
      throw invalidField(promptParam, `the ${promptParam} is empty: it must hold at least one token`);
    }
    const maxTokens = p.maxTokens ?? Math.min(context - tokens.length, this.opts.limits.maxTokens);
    if (tokens.length + Math.max(maxTokens, 1) > context)
      throw contextExceeded(tokens.length, Math.max(maxTokens, 1), context);
    if (tokens.length > this.opts.limits.maxPromptTokens) {
      throw invalidField(
        promptParam,
        `the ${promptParam} is ${tokens.length} tokens; this server takes at most ${this.opts.limits.maxPromptTokens} (--max-prompt-tokens)`,
        "prompt_too_long",
      );
    }
    const stop = [...p.stop, ...(p.endpoint === "chat" ? this.opts.chatTemplate!.stop : [])];

    // one abort for: the client going away, the deadline, a shutdown
    const ac = new AbortController();
    let settle!: () => void;
    const entry: Inflight = { abort: (r) => ac.abort(r), done: new Promise<void>((r) => (settle = r)) };
    this.inflight.add(entry);
    const deadline = setTimeout(() => ac.abort("deadline"), this.opts.requestTimeoutS * 1000);
    const onClose = () => {
      if (!reply.raw.writableFinished) ac.abort("disconnect");
    };
    reply.raw.on("close", onClose);

    const id = (p.endpoint === "chat" ? "chatcmpl-" : "cmpl-") + randomBytes(12).toString("hex");
    const head = {
      id,
      object: p.endpoint === "chat" ? "chat.completion" : "text_completion",
      created: Math.floor(Date.now() / 1000),
      model: engine.checkpointDigest,
      system_fingerprint: engine.fingerprint,
    };
    const timing = { started, firstTokenSeen: false };
    const choiceParams = (i: number) => ({
      maxTokens,
      temperature: p.temperature,
      topP: p.topP,
      topK: p.topK,
      seed: BigInt.asUintN(64, p.seed + BigInt(i)),
      stop,
      logprobs: p.logprobs,
    });
    const results: ChoiceResult[] = [];
    let streaming = false;
    try {
      this.metrics.promptTokens.inc(tokens.length);
      await engine.schedule(ac.signal, async () => {
        if (p.stream) {
          streaming = true;
          this.startStream(reply);
        }
        for (let i = 0; i < p.n; i++) {
          const sink = p.stream ? this.streamSink(reply, head, p, i) : null;
          if (p.stream && p.endpoint === "chat")
            this.send(
              reply,
              this.chunk(head, p, [
                { index: i, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
              ]),
            );
          const r = await engine.runChoice(tokens, choiceParams(i), ac.signal, sink, timing);
          results.push(r);
          this.metrics.finishes.inc({ finish_reason: r.finishReason });
          if (p.stream) {
            const last =
              p.endpoint === "chat"
                ? { index: i, delta: {}, logprobs: null, finish_reason: r.finishReason }
                : { index: i, text: "", logprobs: null, finish_reason: r.finishReason };
            this.send(reply, this.chunk(head, p, [last]));
          }
        }
      });
      const usage = this.usage(tokens.length, results);
      this.logRequest(req, p, tokens, maxTokens, head, results);
      if (streaming) {
        if (p.includeUsage) this.send(reply, { ...this.chunkHead(head, p), choices: [], usage });
        reply.raw.end("data: [DONE]\n\n");
        return reply;
      }
      void reply.header("x-nexa-seed", p.seed.toString());
      return {
        ...head,
        choices: results.map((r, i) => this.choiceBody(p, r, i)),
        usage,
        seed: Number(p.seed) <= Number.MAX_SAFE_INTEGER ? Number(p.seed) : p.seed.toString(),
      };
    } catch (err) {
      const reason = ac.signal.aborted ? (ac.signal.reason as AbortReason) : null;
      if (reason !== null)
        this.metrics.finishes.inc({ finish_reason: reason === "deadline" ? "timeout" : "cancelled" });
      const e =
        reason === "deadline"
          ? new ApiError(
              504,
              "timeout_error",
              "timeout",
              `the request took longer than ${this.opts.requestTimeoutS} s (--request-timeout)`,
            )
          : reason === "shutdown"
            ? new ApiError(
                503,
                "server_error",
                "server_shutting_down",
                "the server is shutting down; the generation was cancelled",
              )
            : null;
      if (streaming) {
        if (reason !== "disconnect" && !reply.raw.destroyed) {
          const body: ApiErrorBody = (e ?? this.toApiError(err, req)).body();
          this.send(reply, body);
          reply.raw.end("data: [DONE]\n\n");
        } else {
          reply.raw.destroy();
        }
        return reply;
      }
      if (reason === "disconnect") return reply; // nobody to answer
      throw e ?? err;
    } finally {
      clearTimeout(deadline);
      reply.raw.off("close", onClose);
      this.metrics.requestDuration.observe({ endpoint: p.endpoint }, (performance.now() - started) / 1000);
      this.inflight.delete(entry);
      settle();
    }
  }

  private usage(prompt: number, results: readonly ChoiceResult[]) {
    const completion = results.reduce((s, r) => s + r.tokenIds.length, 0);
    return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  }

  private choiceBody(p: GenerationParams, r: ChoiceResult, index: number): Record<string, unknown> {
    if (p.endpoint === "chat") {
      return {
        index,
        message: { role: "assistant", content: r.text },
        logprobs: p.logprobs === null ? null : { content: chatLogprobs(r.tokens), refusal: null },
        finish_reason: r.finishReason,
      };
    }
    return {
      index,
      text: r.text,
      logprobs: p.logprobs === null ? null : completionLogprobs(r.tokens, p.logprobs),
      finish_reason: r.finishReason,
    };
  }

  // ---- server-sent events -------------------------------------------------------------------------------------

  private startStream(reply: FastifyReply): void {
    reply.hijack();
    const headers: Record<string, string> = {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: this.state === "draining" ? "close" : "keep-alive",
      "x-accel-buffering": "no",
    };
    for (const [k, v] of Object.entries(reply.getHeaders())) if (typeof v === "string") headers[k] = v;
    reply.raw.writeHead(200, headers);
  }

  private send(reply: FastifyReply, data: unknown): void {
    if (!reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  private chunkHead(head: Record<string, unknown>, p: GenerationParams): Record<string, unknown> {
    return { ...head, object: p.endpoint === "chat" ? "chat.completion.chunk" : "text_completion" };
  }

  private chunk(head: Record<string, unknown>, p: GenerationParams, choices: unknown[]): Record<string, unknown> {
    return { ...this.chunkHead(head, p), choices, ...(p.includeUsage ? { usage: null } : {}) };
  }

  private streamSink(reply: FastifyReply, head: Record<string, unknown>, p: GenerationParams, index: number) {
    return (text: string, tokens: TokenInfo[]) => {
      const choice =
        p.endpoint === "chat"
          ? {
              index,
              delta: { content: text },
              logprobs: p.logprobs === null ? null : { content: chatLogprobs(tokens), refusal: null },
              finish_reason: null,
            }
          : {
              index,
              text,
              logprobs: p.logprobs === null ? null : completionLogprobs(tokens, p.logprobs),
              finish_reason: null,
            };
      this.send(reply, this.chunk(head, p, [choice]));
    };
  }

  // ---- request log --------------------------------------------------------------------------------------------

  private logRequest(
    req: FastifyRequest,
    p: GenerationParams,
    tokens: Uint32Array,
    maxTokens: number,
    head: { system_fingerprint: string; model: string },
    results: readonly ChoiceResult[],
  ): void {
    const log = this.opts.requestLog;
    if (!log) return;
    const choices = results.map((r) => ({ text: r.text, finish_reason: r.finishReason }));
    log.write({
      format: REQUEST_LOG_FORMAT,
      endpoint: req.routeOptions.url ?? req.url,
      request: req.body,
      resolved: {
        prompt_tokens: Array.from(tokens),
        max_tokens: maxTokens,
        temperature: p.temperature,
        top_p: p.topP,
        top_k: p.topK,
        n: p.n,
        stop: p.stop,
        seed: p.seed.toString(),
        logprobs: p.logprobs,
        chat_template: p.endpoint === "chat" ? this.opts.chatTemplate!.digest : null,
      },
      system_fingerprint: head.system_fingerprint,
      checkpoint: head.model,
      output: { choices },
      output_digest: outputDigest(choices),
      token_ids: results.map((r) => r.tokenIds),
    });
  }
}

/** Legacy completions logprobs: tokens, token_logprobs, top_logprobs, text_offset. */
function completionLogprobs(tokens: readonly TokenInfo[], topN: number): Record<string, unknown> {
  return {
    tokens: tokens.map((t) => t.text),
    token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: topN > 0 ? tokens.map((t) => Object.fromEntries(t.top.map((a) => [a.text, a.logprob]))) : null,
    text_offset: tokens.map((t) => t.offset),
  };
}

/** Chat logprobs: one entry per token with its bytes and alternatives. */
function chatLogprobs(tokens: readonly TokenInfo[]): unknown[] {
  return tokens.map((t) => ({
    token: t.text,
    logprob: t.logprob,
    bytes: t.bytes,
    top_logprobs: t.top.map((a) => ({ token: a.text, logprob: a.logprob, bytes: a.bytes })),
  }));
}

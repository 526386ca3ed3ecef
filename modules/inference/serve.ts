// `serve`: one checkpoint behind the HTTP API until SIGTERM. The server listens first (so /health answers while the
// model loads), then loads weights and tokenizer through modules/checkpoint and turns /ready on. SIGTERM or SIGINT
// drains: new API requests get 503, running ones may finish for the grace period, then the rest are cancelled
// (each stops within one token), the server closes and the process exits 0.

import { createHash } from "crypto";
import { readFileSync } from "fs";
import os from "os";

import { libraryPath } from "@nexa/kernels/binding";
import { loadCheckpoint, openCheckpointDir } from "@nexa/modules/checkpoint";
import { createLogger } from "@nexa/modules/monitoring";
import type { NexaLogger } from "@nexa/modules/monitoring";

import { loadChatTemplate } from "./chat_template";
import { Engine } from "./engine";
import type { Limits } from "./generation_request";
import { RequestLog } from "./request_log";
import { InferenceServer } from "./server";

export interface ServeOptions {
  /** A checkpoint directory (the output of a train or distill stage). */
  checkpoint: string;
  host: string;
  /** 0: any free port (printed). */
  port: number;
  workers: number;
  queue: number;
  limits: Partial<Limits>;
  requestTimeoutS: number;
  shutdownGraceS: number;
  apiKey?: string;
  corsOrigins: string[];
  chatTemplate?: string;
  requestLog?: string;
  servedModelName?: string;
  /** Extra fields of /v1/models' `nexa` object, e.g. the run id and stage of a checkpoint checked out of a registry. */
  modelInfo?: Record<string, unknown>;
  /** Threads of each forward pass (results never depend on it). */
  threads: number;
}

export const SERVE_DEFAULTS = {
  host: "127.0.0.1",
  port: 8000,
  workers: Math.max(1, Math.min(os.availableParallelism(), 4)),
  queue: 64,
  maxBodyBytes: 1 << 20,
  maxN: 8,
  maxStop: 4,
  maxLogprobs: 20,
  requestTimeoutS: 120,
  shutdownGraceS: 10,
};

/** Digest of the code that answers: the running bundle and the kernels library. */
function serverBuild(): string {
  const h = createHash("sha256");
  for (const file of [process.argv[1], libraryPath()]) {
    try {
      h.update(readFileSync(file));
    } catch {
      h.update(`unreadable:${file}`);
    }
  }
  return h.digest("hex");
}

export interface RunningServer {
  server: InferenceServer;
  url: string;
  /** Drains and closes (what SIGTERM does); resolves when closed. */
  stop(): Promise<void>;
}

export async function serve(
  o: ServeOptions,
  log: NexaLogger = createLogger({ runId: "", stage: "serve" }),
): Promise<RunningServer> {
  // koffi's async calls run on libuv's pool: one thread per worker, plus room for file and crypto work
  process.env.UV_THREADPOOL_SIZE ??= String(o.workers + 4);
  const chatTemplate = o.chatTemplate ? loadChatTemplate(o.chatTemplate) : undefined;
  const checkpoint = await openCheckpointDir(o.checkpoint);
  const seqLen = checkpoint.manifest.model?.blockSize ?? 0;
  const limits: Limits = {
    maxBodyBytes: o.limits.maxBodyBytes ?? SERVE_DEFAULTS.maxBodyBytes,
    maxPromptTokens: o.limits.maxPromptTokens ?? seqLen,
    maxTokens: o.limits.maxTokens ?? seqLen,
    maxN: o.limits.maxN ?? SERVE_DEFAULTS.maxN,
    maxStop: o.limits.maxStop ?? SERVE_DEFAULTS.maxStop,
    maxLogprobs: o.limits.maxLogprobs ?? SERVE_DEFAULTS.maxLogprobs,
  };
  const server = new InferenceServer({
    limits,
    requestTimeoutS: o.requestTimeoutS,
    apiKey: o.apiKey,
    corsOrigins: o.corsOrigins,
    chatTemplate,
    requestLog: o.requestLog ? new RequestLog(o.requestLog) : undefined,
    servedModelName: o.servedModelName,
    modelInfo: o.modelInfo,
    log,
  });
  const address = await server.app.listen({ host: o.host, port: o.port });
  log.info("listening", { url: address, checkpoint: checkpoint.ref.digest });
  const loaded = await loadCheckpoint(checkpoint, { threads: o.threads });
  const engine = new Engine(loaded, { workers: o.workers, queue: o.queue }, server.metrics, serverBuild());
  server.attach(engine);
  log.info("ready", {
    url: address,
    checkpoint: engine.checkpointDigest,
    system_fingerprint: engine.fingerprint,
    context_length: engine.contextLength,
    workers: o.workers,
    queue: o.queue,
  });

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      server.state = "draining";
      log.info("draining", { inflight: server.inflightCount, grace_s: o.shutdownGraceS });
      const grace = new Promise<"grace">((r) => setTimeout(() => r("grace"), o.shutdownGraceS * 1000).unref());
      if ((await Promise.race([server.idle().then(() => "idle" as const), grace])) === "grace") {
        log.warn("cancelling", { inflight: server.inflightCount });
        server.cancelAll("shutdown");
        await server.idle();
      }
      await server.app.close();
      engine.free();
      log.info("stopped", {});
    })();
    return stopping;
  };
  return { server, url: address, stop };
}

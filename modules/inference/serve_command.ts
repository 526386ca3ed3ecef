// The command line of the server, shared by `bazel run //modules/inference:serve` and `nexa serve`: flags, their
// defaults, and running until SIGTERM / SIGINT (a second signal cancels the running requests at once).

import { Command, InvalidArgumentError } from "commander";
import path from "path";

import { CONTRACTS } from "@nexa/modules/manifest";
import { createLogger, formatError } from "@nexa/modules/monitoring";
import { Catalog, LocalStore, nexaHome, resolveProductArg } from "@nexa/modules/registry";

import { serve, SERVE_DEFAULTS } from "./serve";
import type { ServeOptions } from "./serve";

const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};
const seconds = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number of seconds > 0`);
  return n;
};
const collect = (v: string, all: string[]) => [...all, v];

/** Adds the server's argument and flags to `cmd`. */
export function defineServeCommand(cmd: Command): Command {
  const d = SERVE_DEFAULTS;
  return cmd
    .argument(
      "<checkpoint>",
      "a checkpoint directory (a train stage's output: checkpoint.json), a published run id (RUN:STAGE picks the stage) or a checkpoint digest",
    )
    .option("--host <host>", "address to listen on", d.host)
    .option("--port <port>", "port (0: any free port, printed at start)", int("--port", 0), d.port)
    .option("--workers <n>", "generations that run at once", int("--workers", 1), d.workers)
    .option("--queue <n>", "requests that may wait for a worker (then 429)", int("--queue", 0), d.queue)
    .option("--threads <n>", "threads of each forward pass", int("--threads", 1), 1)
    .option("--max-body-bytes <n>", "largest request body (413 above)", int("--max-body-bytes", 1), d.maxBodyBytes)
    .option("--max-prompt-tokens <n>", "longest prompt (default: the model's context)", int("--max-prompt-tokens", 1))
    .option("--max-tokens-limit <n>", "largest max_tokens (default: the model's context)", int("--max-tokens-limit", 1))
    .option("--max-n <n>", "largest n (choices per request)", int("--max-n", 1), d.maxN)
    .option("--max-stop <n>", "most stop strings per request", int("--max-stop", 0), d.maxStop)
    .option("--max-logprobs <n>", "most alternatives per token in logprobs", int("--max-logprobs", 0), d.maxLogprobs)
    .option(
      "--request-timeout <s>",
      "deadline of a generation request, queueing included (504)",
      seconds("--request-timeout"),
      d.requestTimeoutS,
    )
    .option(
      "--shutdown-grace <s>",
      "on SIGTERM, how long running requests may finish before they are cancelled",
      seconds("--shutdown-grace"),
      d.shutdownGraceS,
    )
    .option("--api-key <key>", "require `Authorization: Bearer <key>` on the API routes (or $NEXA_SERVE_API_KEY)")
    .option("--cors-origin <origin>", "allow this origin by CORS (repeatable; CORS is off without one)", collect, [])
    .option(
      "--chat-template <file>",
      "chat template (JSON, see modules/inference/README.md); without it /v1/chat/completions refuses",
    )
    .option("--request-log <dir>", "write one content-addressed file per generation request into <dir> (`nexa replay`)")
    .option("--served-model-name <name>", "another name clients may send as `model`");
}

interface Flags {
  host: string;
  port: number;
  workers: number;
  queue: number;
  threads: number;
  maxBodyBytes: number;
  maxPromptTokens?: number;
  maxTokensLimit?: number;
  maxN: number;
  maxStop: number;
  maxLogprobs: number;
  requestTimeout: number;
  shutdownGrace: number;
  apiKey?: string;
  corsOrigin: string[];
  chatTemplate?: string;
  requestLog?: string;
  servedModelName?: string;
}

export function serveOptions(checkpoint: string, f: Flags, env: NodeJS.ProcessEnv = process.env): ServeOptions {
  return {
    checkpoint,
    host: f.host,
    port: f.port,
    workers: f.workers,
    queue: f.queue,
    threads: f.threads,
    limits: {
      maxBodyBytes: f.maxBodyBytes,
      maxPromptTokens: f.maxPromptTokens,
      maxTokens: f.maxTokensLimit,
      maxN: f.maxN,
      maxStop: f.maxStop,
      maxLogprobs: f.maxLogprobs,
    },
    requestTimeoutS: f.requestTimeout,
    shutdownGraceS: f.shutdownGrace,
    apiKey: f.apiKey ?? (env.NEXA_SERVE_API_KEY || undefined),
    corsOrigins: f.corsOrigin,
    chatTemplate: f.chatTemplate,
    requestLog: f.requestLog,
    servedModelName: f.servedModelName,
  };
}

/**
 * The checkpoint argument: a checkpoint directory (`asPath` resolves it against the user's directory), a run id
 * (RUN:STAGE when the run trains several models) or a CheckpointManifest digest, checked out of the registry at
 * `home`; a checked-out checkpoint's run id and stage appear in /v1/models, and the run id is accepted as a model name.
 */
export async function resolveServeCheckpoint(
  arg: string,
  home: string,
  asPath: (p: string) => string = (p) => p,
): Promise<Pick<ServeOptions, "checkpoint" | "modelInfo">> {
  const { dir, checkout } = await resolveProductArg(
    arg,
    CONTRACTS.CheckpointManifest.name,
    () => new Catalog(new LocalStore(home)),
    asPath,
  );
  return checkout
    ? { checkpoint: dir, modelInfo: { run_id: checkout.runId, stage: checkout.stage } }
    : { checkpoint: dir };
}

/** Serves until SIGTERM / SIGINT; resolves with the exit code (0 after a clean drain). */
export async function serveUntilSignal(o: ServeOptions, out: (line: string) => void): Promise<number> {
  const log = createLogger({ runId: "", stage: "serve" });
  const running = await serve(o, log);
  out(`serving ${o.checkpoint} on ${running.url}\n`);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals++;
      log.info("signal", { signal: sig });
      if (signals > 1) {
        running.server.cancelAll("shutdown");
        return;
      }
      running.stop().then(
        () => resolve(0),
        (e) => {
          log.error("stop_failed", e);
          resolve(1);
        },
      );
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  });
}

/** The standalone program (main.ts). */
export async function runServeCommand(argv: string[]): Promise<void> {
  const program = defineServeCommand(new Command("serve"))
    .description("serve a checkpoint over an OpenAI-compatible HTTP API")
    .action(async (checkpoint: string, flags: Flags) => {
      // `bazel run` starts in the runfiles tree: a relative path means the user's directory
      const cwd = process.env.BUILD_WORKING_DIRECTORY ?? process.cwd();
      const resolved = await resolveServeCheckpoint(checkpoint, nexaHome(process.env), (p) => path.resolve(cwd, p));
      process.exitCode = await serveUntilSignal(
        { ...serveOptions(resolved.checkpoint, flags), modelInfo: resolved.modelInfo },
        (l) => process.stdout.write(l),
      );
    });
  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    process.stderr.write(formatError(e) + "\n");
    process.exitCode = 3;
  }
}

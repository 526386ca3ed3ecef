// `bazel run -c opt //benchmarks/inference:load [-- --checkpoint DIR] [--requests N] [--max-seconds S] [--json]`:
// a bounded load run of the real `nexa serve` binary on a free 127.0.0.1 port, then the single-stream speed of
// `transformers` on the same checkpoint exported with `nexa export hf`.
//
// Load: for 1, 4 and 16 concurrent clients, N streaming /v1/completions requests each (fixed prompts, max_tokens 64,
// temperature 1, a distinct seed per request, usage in the last chunk), loopback only. A level stops issuing
// requests when its share of --max-seconds is spent; a 429 waits for its Retry-After and is sent again (counted).
// Figures per level: requests/s, aggregate tokens/s, TTFT, inter-token latency (gaps between streamed chunks) and
// per-request tokens/s (completion tokens / request time) at p50 and p99, the 429 rate; then the server's peak RSS
// (VmHWM) and the 5xx count (client-seen, and the server's own nexa_requests_total). After SIGTERM (exit 0 expected),
// transformers generate (CPU, greedy, use_cache=True, 64 new tokens, torch.set_num_threads = the server's --threads)
// over the same prompt ids, one at a time, and the ratio ours (1 client) / transformers; and, to tell the server's
// share from the kernels', the kernels' own Model.generate in this process (greedy, same threads, no HTTP). Speeds are
// also given per CPU second (the server process's, this process's, Python's), which other work on a shared machine
// moves far less than wall-clock figures.
// Prints a table, then one JSON line; exits 1 on any 5xx, transport error or unclean server exit.

import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import { readFileSync } from "fs";
import os from "os";

import { loadCheckpoint, openCheckpointDir } from "@nexa/modules/checkpoint";

import { ensureTorchEnv, exportHf, NEXA, RUNFILES, runfile, runPythonJson, userPath } from "./torch_env";

// ---------------------------------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------------------------------

const LEVELS = [1, 4, 16];
const MAX_TOKENS = 64;
// Sentences of the golden corpus (Moby-Dick), each well under the context less MAX_TOKENS.
const PROMPTS = [
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,",
  "It is a way I have of driving off the spleen and regulating the circulation.",
  "There now is your insular city of the Manhattoes, belted round by wharves as Indian isles by coral reefs",
  "Circumambulate the city of a dreamy Sabbath afternoon.",
  "Whenever I find myself growing grim about the mouth; whenever it is a damp, drizzly November in my soul;",
  "The whale, the whale! Up helm, up helm!",
  "He piled upon the whale's white hump the sum of all the general rage and hate felt by his whole race from Adam down;",
  "Towards thee I roll, thou all-destroying but unconquering whale; to the last I grapple with thee;",
];

interface Options {
  checkpoint: string;
  requests: number;
  maxSeconds: number;
  json: boolean;
  workers: number;
  threads: number;
  queue: number;
  transformersRepeats: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    checkpoint: runfile("pipelines/teacher"),
    requests: 64,
    maxSeconds: 120,
    json: false,
    // the server's defaults (modules/inference SERVE_DEFAULTS), passed explicitly so the report states what ran
    workers: Math.max(1, Math.min(os.availableParallelism(), 4)),
    threads: 1,
    queue: 64,
    transformersRepeats: 2,
  };
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (v === undefined || !Number.isFinite(n) || n < min) throw new Error(`${name} needs a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--json") o.json = true;
    else if (a === "--checkpoint") o.checkpoint = userPath(argv[++i] ?? "");
    else if (a === "--requests") o.requests = Math.floor(num(a, argv[++i], 1));
    else if (a === "--max-seconds") o.maxSeconds = num(a, argv[++i], 1);
    else if (a === "--workers") o.workers = Math.floor(num(a, argv[++i], 1));
    else if (a === "--threads") o.threads = Math.floor(num(a, argv[++i], 1));
    else if (a === "--queue") o.queue = Math.floor(num(a, argv[++i], 0));
    else if (a === "--transformers-repeats") o.transformersRepeats = Math.floor(num(a, argv[++i], 1));
    else
      throw new Error(
        `unknown argument ${a}; flags: --checkpoint DIR --requests N --max-seconds S --workers N --threads N ` +
          `--queue N --transformers-repeats N --json`,
      );
  }
  return o;
}

// ---------------------------------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
  log: () => string;
}

function startServer(o: Options): Promise<Server> {
  const args = ["serve", o.checkpoint, "--host", "127.0.0.1", "--port", "0"];
  args.push("--workers", String(o.workers), "--threads", String(o.threads), "--queue", String(o.queue));
  const child = spawn(NEXA, args, {
    env: { ...process.env, RUNFILES_DIR: RUNFILES },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const log = () => out.slice(-4000);
  return new Promise((resolve, reject) => {
    const onData = () => {
      const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        child.stdout!.off("data", onData);
        resolve({ child, url: m[1], exit, log });
      }
    };
    child.stdout!.on("data", onData);
    void exit.then((code) => reject(new Error(`nexa serve exited ${code} before listening:\n${log()}`)));
  });
}

async function waitReady(url: string, seconds: number): Promise<string> {
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const r = await fetch(url + "/ready").catch(() => null);
    if (r && r.status === 200) return ((await r.json()) as { model: string }).model;
    await sleep(50);
  }
  throw new Error(`the server was not ready within ${seconds} s`);
}

/** VmHWM (peak resident set) of a process, in bytes. */
function peakRss(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : NaN;
}

/** CPU seconds (user + system, all threads) a process has used: /proc/<pid>/stat utime + stime. */
function cpuSeconds(pid: number): number {
  // the fields after the command name (which may hold spaces) start at field 3; utime and stime are fields 14, 15
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
const CLOCK_TICKS = 100; // sysconf(_SC_CLK_TCK) on Linux x86-64

/** The server's own count of 5xx answers (nexa_requests_total by status). */
async function server5xx(url: string): Promise<number> {
  const text = await (await fetch(url + "/metrics")).text();
  let n = 0;
  for (const m of text.matchAll(/^nexa_requests_total\{[^}]*status="5\d\d"[^}]*\} (\S+)$/gm)) n += Number(m[1]);
  return n;
}

// ---------------------------------------------------------------------------------------------------------------------
// One streaming request
// ---------------------------------------------------------------------------------------------------------------------

interface RequestResult {
  /** HTTP statuses of every attempt (429s, then the last). */
  statuses: number[];
  ok: boolean;
  /** A transport error or an error event in the stream. */
  error?: string;
  completionTokens: number;
  /** ms from sending the (successful) attempt to its first text chunk, to [DONE]. */
  ttftMs: number;
  totalMs: number;
  /** Gaps between consecutive text chunks, ms. */
  gapsMs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryAfterMs(header: string | null): number {
  const s = Number(header);
  if (header !== null && Number.isFinite(s)) return Math.max(0, s * 1000);
  const date = header === null ? NaN : Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 1000;
}

async function streamCompletion(url: string, body: object, deadline: number): Promise<RequestResult> {
  const r: RequestResult = { statuses: [], ok: false, completionTokens: 0, ttftMs: NaN, totalMs: NaN, gapsMs: [] };
  for (;;) {
    const t0 = performance.now();
    let res: Response;
    try {
      res = await fetch(url + "/v1/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch (err) {
      r.error = `transport: ${(err as Error).message}`;
      return r;
    }
    r.statuses.push(res.status);
    if (res.status === 429) {
      await res.arrayBuffer();
      const wait = retryAfterMs(res.headers.get("retry-after"));
      if (performance.now() + wait >= deadline) return r; // out of time: the request is given up, not an error
      await sleep(wait);
      continue;
    }
    if (res.status !== 200 || !res.body) {
      r.error = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
      return r;
    }
    let last = NaN;
    let buffer = "";
    const decoder = new TextDecoder();
    try {
      for await (const bytes of res.body as unknown as AsyncIterable<Uint8Array>) {
        const now = performance.now();
        buffer += decoder.decode(bytes, { stream: true });
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (!event.startsWith("data: ")) continue;
          const data = event.slice(6);
          if (data === "[DONE]") {
            r.totalMs = now - t0;
            r.ok = r.error === undefined;
            return r;
          }
          const chunk = JSON.parse(data);
          if (chunk.error) r.error = `stream error: ${chunk.error.code}: ${chunk.error.message}`;
          if (chunk.usage) r.completionTokens = chunk.usage.completion_tokens;
          if (chunk.choices?.[0]?.text) {
            if (Number.isNaN(r.ttftMs)) r.ttftMs = now - t0;
            else r.gapsMs.push(now - last);
            last = now;
          }
        }
      }
    } catch (err) {
      r.error = `stream: ${(err as Error).message}`;
      return r;
    }
    r.error ??= "the stream ended without [DONE]";
    return r;
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// A load level
// ---------------------------------------------------------------------------------------------------------------------

interface Quantiles {
  p50: number;
  p99: number;
}

/** Nearest-rank percentiles. */
function quantiles(values: number[]): Quantiles {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  const at = (q: number) => (v.length ? v[Math.min(v.length - 1, Math.ceil(q * v.length) - 1)] : NaN);
  return { p50: at(0.5), p99: at(0.99) };
}

interface LevelReport {
  clients: number;
  requests_ok: number;
  requests_given_up: number;
  attempts: number;
  http_429: number;
  rate_429: number;
  http_5xx: number;
  errors: number;
  completion_tokens: number;
  wall_s: number;
  requests_per_s: number;
  aggregate_tokens_per_s: number;
  ttft_ms: Quantiles;
  itl_ms: Quantiles;
  request_tokens_per_s: Quantiles;
  /** Completion tokens per CPU second of the server process (robust to other work on the machine). */
  tokens_per_server_cpu_s: number;
  first_errors: string[];
}

async function runLevel(
  url: string,
  pid: number,
  model: string,
  clients: number,
  requests: number,
  seconds: number,
): Promise<LevelReport> {
  const start = performance.now();
  const cpu0 = cpuSeconds(pid);
  const deadline = start + seconds * 1000;
  const results: RequestResult[] = [];
  let next = 0;
  const client = async () => {
    while (next < requests && performance.now() < deadline) {
      const i = next++;
      const body = {
        model,
        prompt: PROMPTS[i % PROMPTS.length],
        max_tokens: MAX_TOKENS,
        temperature: 1,
        seed: clients * 100_000 + i,
        stream: true,
        stream_options: { include_usage: true },
      };
      results.push(await streamCompletion(url, body, deadline));
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const wallS = (performance.now() - start) / 1000;
  const cpuS = cpuSeconds(pid) - cpu0;
  const ok = results.filter((r) => r.ok);
  const statuses = results.flatMap((r) => r.statuses);
  const tokens = ok.reduce((s, r) => s + r.completionTokens, 0);
  const errors = results.filter((r) => r.error !== undefined);
  return {
    clients,
    requests_ok: ok.length,
    requests_given_up: results.filter((r) => !r.ok && r.error === undefined).length,
    attempts: statuses.length,
    http_429: statuses.filter((s) => s === 429).length,
    rate_429: statuses.length ? statuses.filter((s) => s === 429).length / statuses.length : 0,
    http_5xx: statuses.filter((s) => s >= 500).length,
    errors: errors.length,
    completion_tokens: tokens,
    wall_s: wallS,
    requests_per_s: ok.length / wallS,
    aggregate_tokens_per_s: tokens / wallS,
    ttft_ms: quantiles(ok.map((r) => r.ttftMs)),
    itl_ms: quantiles(ok.flatMap((r) => r.gapsMs)),
    request_tokens_per_s: quantiles(ok.map((r) => r.completionTokens / (r.totalMs / 1000))),
    tokens_per_server_cpu_s: tokens / cpuS,
    first_errors: errors.slice(0, 3).map((r) => r.error!),
  };
}

// ---------------------------------------------------------------------------------------------------------------------
// Single stream, no server
// ---------------------------------------------------------------------------------------------------------------------

/** tokens/s of the kernels' own generate (greedy, exactly `maxTokens` new tokens), one generation at a time. */
async function inProcessSpeed(checkpoint: string, prompts: number[][], threads: number, repeats: number) {
  const loaded = await loadCheckpoint(await openCheckpointDir(checkpoint), { threads });
  try {
    loaded.model.generate(Uint32Array.from(prompts[0]), { maxNewTokens: MAX_TOKENS, temperature: 0 }); // warm-up
    let tokens = 0;
    let seconds = 0;
    const cpu0 = process.cpuUsage();
    for (let r = 0; r < repeats; r++) {
      for (const ids of prompts) {
        const t0 = performance.now();
        tokens += loaded.model.generate(Uint32Array.from(ids), { maxNewTokens: MAX_TOKENS, temperature: 0 }).tokens
          .length;
        seconds += (performance.now() - t0) / 1000;
      }
    }
    const cpu = process.cpuUsage(cpu0);
    return {
      generations: repeats * prompts.length,
      new_tokens: tokens,
      tokens_per_s: tokens / seconds,
      tokens_per_cpu_s: tokens / ((cpu.user + cpu.system) / 1e6),
    };
  } finally {
    loaded.free();
  }
}

// ---------------------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------------------

interface HfSpeed {
  torch: string;
  transformers: string;
  threads: number;
  generations: number;
  new_tokens: number;
  seconds: number;
  tokens_per_s: number;
  tokens_per_s_p50: number;
  tokens_per_cpu_s: number;
}

function cpu(): { model: string; cores: number } {
  const m = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"));
  return { model: m ? m[1].trim() : (os.cpus()[0]?.model ?? "unknown"), cores: os.availableParallelism() };
}

const round = (x: number, digits = 2): number => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);
const roundQ = (q: Quantiles, digits = 2): Quantiles => ({ p50: round(q.p50, digits), p99: round(q.p99, digits) });

function table(levels: LevelReport[]): string {
  const head = [
    "clients",
    "ok",
    "429",
    "5xx",
    "err",
    "req/s",
    "tok/s",
    "TTFT p50",
    "TTFT p99",
    "ITL p50",
    "ITL p99",
    "req tok/s p50",
    "req tok/s p99",
    "tok/server CPU s",
  ];
  const rows = levels.map((l) => [
    String(l.clients),
    String(l.requests_ok),
    `${l.http_429} (${(100 * l.rate_429).toFixed(1)}%)`,
    String(l.http_5xx),
    String(l.errors),
    l.requests_per_s.toFixed(1),
    l.aggregate_tokens_per_s.toFixed(0),
    `${l.ttft_ms.p50.toFixed(2)} ms`,
    `${l.ttft_ms.p99.toFixed(2)} ms`,
    `${l.itl_ms.p50.toFixed(2)} ms`,
    `${l.itl_ms.p99.toFixed(2)} ms`,
    l.request_tokens_per_s.p50.toFixed(0),
    l.request_tokens_per_s.p99.toFixed(0),
    l.tokens_per_server_cpu_s.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [head, ...rows].map((r) => r.map((c, i) => c.padStart(widths[i])).join("  ")).join("\n");
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const say = (line: string) => {
    if (!o.json) process.stdout.write(line + "\n");
  };
  const note = (line: string) => process.stderr.write(`[load] ${line}\n`);
  const env = ensureTorchEnv(undefined, note);
  const loadBefore = os.loadavg()[0]; // other work on the machine skews every figure: reported beside them

  // ---- ours: the real server under load
  const server = await startServer(o);
  let levels: LevelReport[] = [];
  let rss = NaN;
  let serverErrors = NaN;
  let promptIds: number[][] = [];
  try {
    const model = await waitReady(server.url, 60);
    const tokenize = async (prompt: string): Promise<number[]> => {
      const r = await fetch(server.url + "/tokenize", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model, prompt }),
      });
      return ((await r.json()) as { tokens: number[] }).tokens;
    };
    promptIds = await Promise.all(PROMPTS.map(tokenize));
    note(`serving ${o.checkpoint} on ${server.url} (workers ${o.workers}, threads ${o.threads}, queue ${o.queue})`);
    const pid = server.child.pid!;
    await runLevel(server.url, pid, model, 1, 2, 30); // warm-up, not reported
    const start = performance.now();
    for (let i = 0; i < LEVELS.length; i++) {
      const left = o.maxSeconds - (performance.now() - start) / 1000;
      const level = await runLevel(
        server.url,
        pid,
        model,
        LEVELS[i],
        o.requests,
        Math.max(1, left / (LEVELS.length - i)),
      );
      note(`${LEVELS[i]} clients: ${level.requests_ok} requests in ${level.wall_s.toFixed(1)} s`);
      levels.push(level);
    }
    rss = peakRss(server.child.pid!);
    serverErrors = await server5xx(server.url);
  } finally {
    server.child.kill("SIGTERM");
  }
  const exitCode = await server.exit;

  // ---- theirs: transformers on the same checkpoint, one generation at a time
  const exported = exportHf(o.checkpoint);
  const hf = runPythonJson<HfSpeed>(env.python, runfile("benchmarks/inference/hf_speed.py"), {
    export: exported,
    prompts: promptIds,
    max_new_tokens: MAX_TOKENS,
    threads: o.threads,
    repeats: o.transformersRepeats,
  });

  const inProcess = await inProcessSpeed(o.checkpoint, promptIds, o.threads, o.transformersRepeats);

  const one = levels.find((l) => l.clients === 1)!;
  const http5xx = levels.reduce((s, l) => s + l.http_5xx, 0);
  const errors = levels.reduce((s, l) => s + l.errors, 0);
  levels = levels.map((l) => ({
    ...l,
    rate_429: round(l.rate_429, 4),
    wall_s: round(l.wall_s),
    requests_per_s: round(l.requests_per_s),
    aggregate_tokens_per_s: round(l.aggregate_tokens_per_s, 1),
    ttft_ms: roundQ(l.ttft_ms),
    itl_ms: roundQ(l.itl_ms, 3),
    request_tokens_per_s: roundQ(l.request_tokens_per_s, 1),
    tokens_per_server_cpu_s: round(l.tokens_per_server_cpu_s, 1),
  }));
  const pass = http5xx === 0 && serverErrors === 0 && errors === 0 && exitCode === 0;
  const result = {
    benchmark: "load",
    checkpoint: o.checkpoint,
    cpu: cpu(),
    host_load_avg_1m: { before: round(loadBefore), after: round(os.loadavg()[0]) },
    server: {
      workers: o.workers,
      threads: o.threads,
      queue: o.queue,
      peak_rss_mib: round(rss / (1 << 20), 1),
      exit_code: exitCode,
      server_5xx: serverErrors,
    },
    max_tokens: MAX_TOKENS,
    requests_per_level: o.requests,
    max_seconds: o.maxSeconds,
    prompt_tokens: promptIds.map((p) => p.length),
    levels,
    transformers: {
      torch: hf.torch,
      transformers: hf.transformers,
      threads: hf.threads,
      generations: hf.generations,
      new_tokens: hf.new_tokens,
      tokens_per_s: round(hf.tokens_per_s, 1),
      tokens_per_s_p50: round(hf.tokens_per_s_p50, 1),
      tokens_per_cpu_s: round(hf.tokens_per_cpu_s, 1),
    },
    ours_in_process: {
      ...inProcess,
      threads: o.threads,
      tokens_per_s: round(inProcess.tokens_per_s, 1),
      tokens_per_cpu_s: round(inProcess.tokens_per_cpu_s, 1),
    },
    ours_1_client_tokens_per_s: round(one.aggregate_tokens_per_s, 1),
    ratio_ours_1_client_vs_transformers: round(one.aggregate_tokens_per_s / hf.tokens_per_s),
    ratio_ours_in_process_vs_transformers: round(inProcess.tokens_per_s / hf.tokens_per_s),
    // the same ratios per CPU second (the server's CPU for ours over HTTP): what contention moves least
    ratio_per_cpu_s_ours_1_client_vs_transformers: round(one.tokens_per_server_cpu_s / hf.tokens_per_cpu_s),
    ratio_per_cpu_s_ours_in_process_vs_transformers: round(inProcess.tokens_per_cpu_s / hf.tokens_per_cpu_s),
    torch_env: { dir: env.dir, created: env.created, create_seconds: round(env.createSeconds, 1) },
    http_5xx: http5xx,
    errors,
    pass,
  };

  const c = result.cpu;
  say(`checkpoint  ${o.checkpoint}`);
  say(
    `cpu         ${c.model}, ${c.cores} cores; load average (1 min) ${result.host_load_avg_1m.before} before, ` +
      `${result.host_load_avg_1m.after} after`,
  );
  say(
    `server      nexa serve --workers ${o.workers} --threads ${o.threads} --queue ${o.queue}; ` +
      `peak RSS ${result.server.peak_rss_mib} MiB; exit ${exitCode}; its own 5xx count ${serverErrors}`,
  );
  say(
    `load        ${o.requests} streaming requests per level (max_tokens ${MAX_TOKENS}, temperature 1, one seed each), ` +
      `at most ${o.maxSeconds} s; prompts of ${Math.min(...result.prompt_tokens)}-` +
      `${Math.max(...result.prompt_tokens)} tokens`,
  );
  say("");
  say(table(levels));
  say("");
  say(
    `transformers ${hf.transformers} (torch ${hf.torch}, ${hf.threads} thread): ${result.transformers.tokens_per_s} ` +
      `tokens/s single stream, ${result.transformers.tokens_per_cpu_s} per CPU s (${hf.generations} greedy ` +
      `generations of ${MAX_TOKENS} tokens, use_cache=True)`,
  );
  say(
    `ours, 1 client: ${result.ours_1_client_tokens_per_s} tokens/s over HTTP -> ` +
      `${result.ratio_ours_1_client_vs_transformers}x transformers (per CPU s: ${round(one.tokens_per_server_cpu_s, 1)} -> ` +
      `${result.ratio_per_cpu_s_ours_1_client_vs_transformers}x)`,
  );
  say(
    `ours in process (Model.generate, no server, ${o.threads} thread): ${result.ours_in_process.tokens_per_s} ` +
      `tokens/s -> ${result.ratio_ours_in_process_vs_transformers}x transformers (per CPU s: ` +
      `${result.ours_in_process.tokens_per_cpu_s} -> ${result.ratio_per_cpu_s_ours_in_process_vs_transformers}x)`,
  );
  for (const l of levels) for (const e of l.first_errors) say(`error (${l.clients} clients): ${e}`);
  if (exitCode !== 0) say(`the server exited ${exitCode} after SIGTERM:\n${server.log()}`);
  say(pass ? "PASS" : "FAIL");
  process.stdout.write(JSON.stringify(result) + "\n");
  return pass ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`load: ${(err as Error).stack ?? err}\n`);
    process.exit(2);
  },
);

// The server in-process on a free loopback port over a checkpoint trained by the stage fixtures: completions and
// their determinism, SSE with [DONE] and usage, chat with and without a template, context overflow, the OpenAI
// error shapes, the API key, the queue's 429, a client that goes away, the request log and draining.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import http from "http";
import os from "os";
import * as path from "path";

import { corpus, fakeCheckpoint } from "@nexa/modules/stage/testing/upstream";
import { stageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { serve } from "./serve";
import type { RunningServer, ServeOptions } from "./serve";

const TRAIN = corpus(40, 1, { words: { min: 3, spread: 8 } });
let checkpoint = "";
/** A wider model with a longer context: a generation of 100+ tokens takes long enough to be interrupted. */
let slowCheckpoint = "";
const quiet = {
  info() {},
  warn() {},
  error() {},
  debug() {},
  trace() {},
  child() {
    return quiet;
  },
  flush() {},
} as never;

async function start(extra: Partial<ServeOptions> = {}): Promise<RunningServer> {
  return serve(
    {
      checkpoint,
      host: "127.0.0.1",
      port: 0,
      workers: 1,
      queue: 1,
      threads: 1,
      limits: {},
      requestTimeoutS: 30,
      shutdownGraceS: 5,
      corsOrigins: [],
      ...extra,
    },
    quiet,
  );
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function getJson(url: string, headers: Record<string, string> = {}): Promise<any> {
  return (await fetch(url, { headers })).json();
}

async function post(base: string, route: string, body: unknown, headers: Record<string, string> = {}) {
  const r = await fetch(base + route, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await r.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* SSE or text */
  }
  return { status: r.status, headers: r.headers, text, json };
}

beforeAll(async () => {
  const w = stageWorkspace("inference-");
  checkpoint = await fakeCheckpoint(w, "train", { texts: TRAIN, seqLen: 32, vocabSize: 280, seed: 5, steps: 3 });
  const long = corpus(400, 2, { words: { min: 20, spread: 30 } });
  slowCheckpoint = await fakeCheckpoint(w, "slow", {
    texts: long,
    seqLen: 192,
    vocabSize: 300,
    seed: 6,
    steps: 0,
    dModel: 384,
  });
}, 120_000);

describe("the server", () => {
  let s: RunningServer;
  let model = "";
  beforeAll(async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "chat-"));
    const template = path.join(dir, "chat.json");
    writeFileSync(
      template,
      JSON.stringify({
        roles: { system: {}, user: { prefix: "Q: ", suffix: "\n" }, assistant: { prefix: "A: ", suffix: "\n" } },
        generation_prompt: "A:",
        stop: ["\nQ:"],
      }),
    );
    s = await start({ chatTemplate: template, requestLog: path.join(dir, "log"), workers: 2, queue: 4 });
    model = (await getJson(s.url + "/v1/models")).data[0].id;
  });
  afterAll(() => s.stop());

  it("lists the model by its checkpoint digest, with lineage, and is ready", async () => {
    const m = await getJson(s.url + "/v1/models");
    expect(m.data[0]).toMatchObject({ object: "model", owned_by: "nexacompute", max_model_len: 32 });
    expect(m.data[0].id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(m.data[0].nexa.lineage.packed_dataset).toMatch(/^sha256:/);
    expect(await getJson(s.url + "/ready")).toEqual({ status: "ready", model });
    expect((await fetch(s.url + "/health")).status).toBe(200);
  });

  it("completes deterministically for a seed, and returns the seed it picked", async () => {
    const body = { model, prompt: "the whale", max_tokens: 8, temperature: 1, seed: 11, n: 2 };
    const a = await post(s.url, "/v1/completions", body);
    expect(a.status).toBe(200);
    expect(a.json).toMatchObject({
      object: "text_completion",
      model,
      usage: { completion_tokens: expect.any(Number) },
    });
    expect(a.json.system_fingerprint).toMatch(/^fp_[0-9a-f]{24}$/);
    expect(a.json.choices).toHaveLength(2);
    const b = await post(s.url, "/v1/completions", body);
    expect(b.json.choices).toEqual(a.json.choices);
    const c = await post(s.url, "/v1/completions", { model, prompt: "the whale", max_tokens: 8 });
    const again = await post(s.url, "/v1/completions", {
      model,
      prompt: "the whale",
      max_tokens: 8,
      seed: c.json.seed,
    });
    expect(again.json.choices).toEqual(c.json.choices);
  });

  it("streams SSE chunks ending with [DONE], usage in one final chunk when asked", async () => {
    const body = {
      model,
      prompt: "the whale",
      max_tokens: 6,
      seed: 3,
      stream: true,
      stream_options: { include_usage: true },
    };
    const r = await post(s.url, "/v1/completions", body);
    expect(r.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = r.text.split("\n\n").filter((e) => e !== "");
    expect(events.every((e) => e.startsWith("data: "))).toBe(true);
    expect(events[events.length - 1]).toBe("data: [DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)));
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(last.usage.completion_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const whole = await post(s.url, "/v1/completions", { ...body, stream: false, stream_options: undefined });
    expect(chunks.map((c) => c.choices[0]?.text ?? "").join("")).toBe(whole.json.choices[0].text);
  });

  it("chat uses the template; context overflow is context_length_exceeded", async () => {
    const r = await post(s.url, "/v1/chat/completions", {
      model,
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 4,
      seed: 1,
    });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].message.role).toBe("assistant");
    const over = await post(s.url, "/v1/completions", { model, prompt: "the whale", max_tokens: 32 });
    expect(over.status).toBe(400);
    expect(over.json.error).toMatchObject({
      code: "context_length_exceeded",
      param: "max_tokens",
      type: "invalid_request_error",
    });
  });

  it("answers bad requests in OpenAI's error shape", async () => {
    const bad = await post(s.url, "/v1/completions", "{not json");
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: "invalid_json", type: "invalid_request_error" });
    const field = await post(s.url, "/v1/completions", { model, prompt: "x", bogus: 1 });
    expect(field.json.error).toMatchObject({ param: "bogus", code: "unknown_field" });
    const unknown = await post(s.url, "/v1/completions", { model: "other", prompt: "x" });
    expect([unknown.status, unknown.json.error.code]).toEqual([404, "model_not_found"]);
    const route = await post(s.url, "/v1/nothing", {});
    expect([route.status, route.json.error.code]).toEqual([404, "unknown_route"]);
    const big = await post(s.url, "/v1/completions", { model, prompt: "x".repeat(2 << 20) });
    expect([big.status, big.json.error.code]).toEqual([413, "request_too_large"]);
  });

  it("tokenize and detokenize round-trip", async () => {
    const t = await post(s.url, "/tokenize", { model, prompt: "the whale" });
    expect(t.json.count).toBe(t.json.tokens.length);
    const d = await post(s.url, "/detokenize", { model, tokens: t.json.tokens });
    expect(d.json.prompt).toBe("the whale");
  });

  it("logs each generation request content-addressed", () => {
    const dir = path.join(path.dirname(s.server["opts"].chatTemplate!.file), "log");
    const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    const e = JSON.parse(readFileSync(path.join(dir, files[0]), "utf8"));
    expect(e).toMatchObject({ format: "nexa.request_log.v1", checkpoint: model });
    expect(e.output_digest).toMatch(/^sha256:/);
  });

  it("exposes Prometheus metrics with the nexa_ prefix", async () => {
    const text = await (await fetch(s.url + "/metrics")).text();
    for (const name of [
      "nexa_requests_total",
      "nexa_time_to_first_token_seconds_bucket",
      "nexa_generation_tokens_total",
      "nexa_queue_depth",
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe("limits and lifecycle", () => {
  it("without a template chat is a 400 naming --chat-template; with --api-key a missing key is 401", async () => {
    const s = await start({ apiKey: "k3y" });
    const model = (await getJson(s.url + "/v1/models", { authorization: "Bearer k3y" })).data[0].id;
    const noKey = await post(s.url, "/v1/completions", { model, prompt: "x" });
    expect([noKey.status, noKey.json.error.code]).toEqual([401, "invalid_api_key"]);
    const chat = await post(
      s.url,
      "/v1/chat/completions",
      { model, messages: [{ role: "user", content: "x" }] },
      { authorization: "Bearer k3y" },
    );
    expect([chat.status, chat.json.error.code]).toEqual([400, "chat_template_missing"]);
    expect(chat.json.error.message).toMatch(/--chat-template/);
    await s.stop();
  });

  it("a full queue is 429 with Retry-After; a disconnected client's generation stops within a token", async () => {
    const s = await start({ checkpoint: slowCheckpoint, workers: 1, queue: 0 });
    const model = (await getJson(s.url + "/v1/models")).data[0].id;
    const metric = async (name: string) =>
      Number(new RegExp(`^${name} (\\d+)`, "m").exec(await (await fetch(s.url + "/metrics")).text())![1]);
    // a streaming request we abandon after its first chunk (seeded: its first 180 tokens hold no end-of-text)
    const url = new URL(s.url + "/v1/completions");
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "POST",
      headers: { "content-type": "application/json" },
    });
    req.on("error", () => {});
    req.end(JSON.stringify({ model, prompt: "the", max_tokens: 180, stream: true, temperature: 1, seed: 2 }));
    await new Promise<void>((resolve) => req.on("response", (res) => res.once("data", () => resolve())));
    const busy = await post(s.url, "/v1/completions", { model, prompt: "x", max_tokens: 2 });
    expect([busy.status, busy.json.error.code, busy.headers.get("retry-after")]).toEqual([
      429,
      "rate_limit_exceeded",
      "1",
    ]);
    req.destroy();
    await new Promise((r) => setTimeout(r, 20));
    await s.server.idle();
    const after = await metric("nexa_generation_tokens_total");
    expect(after).toBeLessThan(180);
    expect(await metric('nexa_choices_total\\{finish_reason="cancelled"\\}')).toBe(1);
    await new Promise((r) => setTimeout(r, 50));
    expect(await metric("nexa_generation_tokens_total")).toBe(after);
    await s.stop();
  });

  it("stop() drains: new API requests get 503 while the running one finishes", async () => {
    const s = await start({ checkpoint: slowCheckpoint });
    const model = (await getJson(s.url + "/v1/models")).data[0].id;
    const running = post(s.url, "/v1/completions", { model, prompt: "the", max_tokens: 120, seed: 4 });
    await new Promise((r) => setTimeout(r, 5));
    const stopped = s.stop();
    const refused = await post(s.url, "/v1/completions", { model, prompt: "x" }).catch(() => ({ status: 503 }));
    expect(refused.status).toBe(503);
    expect((await running).status).toBe(200);
    await stopped;
  });
});

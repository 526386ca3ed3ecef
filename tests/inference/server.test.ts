// The real `nexa serve` binary on a free loopback port, over a checkpoint Bazel trained (//tests/inference:model):
// seed determinism under 8 concurrent clients, a stop string that spans token boundaries, the exported tokenizer
// giving our ids in @huggingface/tokenizers, `nexa replay` of the request log (and its failure on a changed entry),
// and SIGTERM: running requests finish, the process exits 0.

import { spawn, execFileSync } from "child_process";
import type { ChildProcess } from "child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import os from "os";
import * as path from "path";

import { Tokenizer as HfTokenizer } from "@huggingface/tokenizers";

const runfiles = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "";
const root = path.join(runfiles, process.env.TEST_WORKSPACE ?? "nexacompute");
const NEXA = path.join(root, "modules/cli/nexa.sh");
const CHECKPOINT = path.join(root, "tests/inference/model");
const env = { ...process.env, RUNFILES_DIR: runfiles };

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

async function post(base: string, route: string, body: unknown): Promise<{ status: number; json: Json }> {
  const r = await fetch(base + route, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

function startServer(args: string[]): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null> }> {
  const child = spawn(NEXA, ["serve", CHECKPOINT, "--port", "0", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let err = "";
  child.stderr!.on("data", (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d) => {
      out += d;
      const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1], exit });
    });
    void exit.then((code) => reject(new Error(`nexa serve exited ${code} before listening:\n${out}\n${err}`)));
  });
}

async function waitReady(url: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const r = await fetch(url + "/ready");
    if (r.status === 200) return ((await r.json()) as Json).model;
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("the server never became ready");
}

describe("nexa serve (the real binary)", () => {
  const logDir = mkdtempSync(path.join(os.tmpdir(), "reqlog-"));
  let server: { child: ChildProcess; url: string; exit: Promise<number | null> };
  let model = "";
  beforeAll(async () => {
    server = await startServer(["--workers", "2", "--queue", "32", "--request-log", logDir]);
    model = await waitReady(server.url);
  }, 30_000);
  afterAll(() => server.child.kill("SIGKILL"));

  it("gives the same tokens for the same seed whatever the concurrency (8 clients at once)", async () => {
    const body = (seed: number) => ({
      model,
      prompt: "Call me Ishmael.",
      max_tokens: 24,
      temperature: 1,
      top_k: 40,
      seed,
    });
    const alone: string[] = [];
    for (let s = 0; s < 8; s++) alone.push((await post(server.url, "/v1/completions", body(s))).json.choices[0].text);
    const together = await Promise.all(
      [0, 1, 2, 3, 4, 5, 6, 7].map((s) => post(server.url, "/v1/completions", body(s))),
    );
    expect(together.map((r) => r.json.choices[0].text)).toEqual(alone);
    expect(new Set(alone).size).toBeGreaterThan(1);
  });

  it("stops at a stop string that spans token boundaries, and never emits it", async () => {
    const greedy = (
      await post(server.url, "/v1/completions", { model, prompt: "The whale", max_tokens: 30, temperature: 0 })
    ).json;
    const text: string = greedy.choices[0].text;
    const t = await post(server.url, "/tokenize", { model, prompt: text });
    expect(t.json.count).toBeGreaterThan(6);
    // a stop string made of the ends of two adjacent tokens: it starts inside token 3 and ends inside token 4
    const pieces: string[] = [];
    for (const id of t.json.tokens)
      pieces.push((await post(server.url, "/detokenize", { model, tokens: [id] })).json.prompt);
    const at = pieces.slice(0, 3).join("").length;
    const stop = pieces[2].slice(-1) + pieces[3].slice(0, Math.max(1, pieces[3].length - 1));
    const r = (
      await post(server.url, "/v1/completions", {
        model,
        prompt: "The whale",
        max_tokens: 30,
        temperature: 0,
        stop: [stop],
      })
    ).json;
    const first = text.indexOf(stop);
    expect(first).toBeLessThanOrEqual(at);
    expect(r.choices[0]).toMatchObject({ text: text.slice(0, first), finish_reason: "stop" });
  });

  it("the exported tokenizer.json gives our ids in @huggingface/tokenizers", async () => {
    const out = path.join(mkdtempSync(path.join(os.tmpdir(), "hf-")), "model");
    execFileSync(NEXA, ["export", "hf", CHECKPOINT, out], { env });
    const hf = new HfTokenizer(
      JSON.parse(readFileSync(path.join(out, "tokenizer.json"), "utf8")),
      JSON.parse(readFileSync(path.join(out, "tokenizer_config.json"), "utf8")),
    );
    for (const text of [
      "Call me Ishmael. Some years ago",
      "  whale-ship  \n\n\tPequod’s 1851 “Moby-Dick”!",
      "naïve café — ünïcödé 🐋",
    ]) {
      const ours = (await post(server.url, "/tokenize", { model, prompt: text })).json.tokens;
      expect(hf.encode(text, { add_special_tokens: false }).ids).toEqual(ours);
    }
  });

  it("nexa replay checks every logged answer bit for bit and fails on a changed one", async () => {
    const files = readdirSync(logDir).filter((f) => f.endsWith(".json"));
    // content-addressed: the 8 requests sent twice (alone, then together) are 8 files, not 16
    expect(files.length).toBeGreaterThanOrEqual(10);
    const ok = JSON.parse(
      execFileSync(NEXA, ["replay", logDir, "--url", server.url, "--json"], { env, encoding: "utf8" }),
    );
    expect(ok).toMatchObject({ checked: files.length, mismatched: 0 });
    const entry = JSON.parse(readFileSync(path.join(logDir, files[0]), "utf8"));
    entry.output_digest = "sha256:" + "0".repeat(64);
    const bad = path.join(mkdtempSync(path.join(os.tmpdir(), "bad-")), "entry.json");
    writeFileSync(bad, JSON.stringify(entry));
    let code = 0;
    try {
      execFileSync(NEXA, ["replay", bad, "--url", server.url], { env, stdio: "pipe" });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    expect(code).toBe(1);
  });

  it("SIGTERM: the running request finishes, new ones get 503, the process exits 0", async () => {
    const running = post(server.url, "/v1/completions", {
      model,
      prompt: "Call me",
      max_tokens: 100,
      temperature: 1,
      seed: 9,
    });
    await new Promise((r) => setTimeout(r, 20));
    server.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 20));
    const refused = await post(server.url, "/v1/completions", { model, prompt: "x" }).catch(() => ({
      status: 503,
      json: null,
    }));
    expect(refused.status).toBe(503);
    expect((await running).status).toBe(200);
    expect(await server.exit).toBe(0);
  });
});

// A served model as the distill stage's teacher: the real `nexa serve` binary on a free loopback port, over the
// checkpoint Bazel trained (//tests/inference:model), queried by the distill stage through the stage runtime. Every
// answer is recorded in the artifact with the server's fingerprint; a rerun gives the same bytes, and so does a replay
// of the recording with the server gone; the stage refuses a config without the fingerprint, a server whose
// fingerprint changed, an action without the network, and a recording of another config.

import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import { existsSync, readdirSync, readFileSync } from "fs";
import * as path from "path";

import { digestBytes } from "@nexa/modules/manifest";
import { distillStage } from "@nexa/modules/distill";
import { corpus, fakeDataStage, fixtureRecords } from "@nexa/modules/stage/testing/upstream";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import type { StageWorkspace } from "@nexa/modules/stage/testing/workspace";

const runfiles = process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "";
const root = path.join(runfiles, process.env.TEST_WORKSPACE ?? "nexacompute");
const NEXA = path.join(root, "modules/cli/nexa.sh");
const CHECKPOINT = path.join(root, "tests/inference/model");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

interface Server {
  child: ChildProcess;
  url: string;
  exit: Promise<number | null>;
}

function startServer(args: string[]): Promise<Server> {
  const env = { ...process.env, RUNFILES_DIR: runfiles };
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

/** The served model's id and system_fingerprint, once it is ready. */
async function modelCard(url: string): Promise<{ id: string; fingerprint: string }> {
  for (let i = 0; i < 400; i++) {
    if ((await fetch(url + "/ready")).status === 200) {
      const card = ((await (await fetch(url + "/v1/models")).json()) as Json).data[0];
      return { id: card.id, fingerprint: card.nexa.system_fingerprint };
    }
    await new Promise((res) => setTimeout(res, 25));
  }
  throw new Error("the server never became ready");
}

async function generatedTokens(url: string): Promise<number> {
  const text = await (await fetch(url + "/metrics")).text();
  const m = /^nexa_generation_tokens_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  return m ? Number(m[1]) : NaN;
}

const SPLITS = {
  train: fixtureRecords("a", corpus(16, 1, { words: { min: 6, spread: 30 } })),
  validation: fixtureRecords("v", corpus(4, 2, { words: { min: 6, spread: 30 } })),
};

/** A fresh workspace with the upstream data stage "data" run. */
async function workspace(): Promise<StageWorkspace> {
  const w = stageWorkspace("distill-endpoint-");
  await runIn(w, fakeDataStage(SPLITS), "data");
  return w;
}

function config(url: string, model: string, fingerprint: string, sampling: Record<string, unknown> = {}) {
  return {
    schemaVersion: 1,
    teacher: { endpoint: { baseUrl: `${url}/v1`, model, systemFingerprint: fingerprint, promptChars: 48 } },
    sampling: { temperature: 0.8, topK: 40, maxTokens: 12, seed: 3, n: 2, ...sampling },
    gating: { minChars: 1 },
    maxExamples: 10,
    concurrency: 4,
  };
}

/** Runs the distill stage in `w` with `env` set (NEXA_STAGE_NETWORK, NEXA_TEACHER_RECORDING) for the run only. */
async function distill(w: StageWorkspace, cfg: unknown, env: Record<string, string>) {
  const saved = { net: process.env.NEXA_STAGE_NETWORK, rec: process.env.NEXA_TEACHER_RECORDING };
  delete process.env.NEXA_STAGE_NETWORK;
  delete process.env.NEXA_TEACHER_RECORDING;
  Object.assign(process.env, env);
  try {
    return await runIn(w, distillStage, "distilled", { config: cfg, inputs: { dataset: "data" } });
  } finally {
    for (const [k, v] of [
      ["NEXA_STAGE_NETWORK", saved.net],
      ["NEXA_TEACHER_RECORDING", saved.rec],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Every file the stage wrote (data directory and manifest), by name. */
function outputs(w: StageWorkspace): Map<string, Buffer> {
  const dir = path.join(w.dir, "distilled");
  const files = new Map<string, Buffer>(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f))]));
  files.set("distilled.manifest.json", readFileSync(path.join(w.dir, "distilled.manifest.json")));
  return files;
}

const NET = { NEXA_STAGE_NETWORK: "1" };

describe("a served model as the distill teacher", () => {
  let server: Server;
  let model = "";
  let fingerprint = "";
  beforeAll(async () => {
    server = await startServer(["--workers", "2", "--queue", "32"]);
    ({ id: model, fingerprint } = await modelCard(server.url));
  }, 30_000);
  afterAll(() => server.child.kill("SIGKILL"));

  it("records every answer with the fingerprint; a rerun and a replay without the server give the same bytes", async () => {
    const cfg = config(server.url, model, fingerprint);
    const before = await generatedTokens(server.url);
    const w1 = await workspace();
    const live = await distill(w1, cfg, NET);
    expect(live.result.metrics).toMatchObject({ prompts: 10, generations: 20 });

    const recorded = readFileSync(path.join(w1.dir, "distilled", "teacher_responses.jsonl"), "utf8");
    const lines = recorded
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(20);
    const completionTokens = lines.reduce((n, l) => n + l.response.usage.completion_tokens, 0);
    for (const l of lines) {
      expect(l).toMatchObject({
        format: "nexa.distill.teacher_response.v1",
        request: { model, max_tokens: 12, temperature: 0.8, top_k: 40, n: 1 },
        response: { system_fingerprint: fingerprint, model },
      });
      expect(["stop", "length"]).toContain(l.response.finish_reason);
    }
    // the server generated exactly the recorded tokens
    expect((await generatedTokens(server.url)) - before).toBe(completionTokens);
    expect(live.result.metrics!.generated_tokens).toBe(completionTokens);

    // the distilled records: prompt + recorded completion, with the endpoint's provenance
    const train = readFileSync(path.join(w1.dir, "distilled", "train-00000.jsonl"), "utf8")
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l));
    const byId = new Map(lines.map((l) => [l.prompt_id, l]));
    for (const r of train) {
      const l = byId.get(r.id)!;
      expect(r.text.endsWith(l.response.text)).toBe(true);
      expect(r.text.startsWith(l.request.prompt)).toBe(true);
      expect(r.provenance).toMatchObject({
        teacher: fingerprint,
        prompt_id: r.id,
        sampling: { seed: l.request.seed },
        endpoint: { base_url: `${server.url}/v1`, model, finish_reason: l.response.finish_reason },
      });
    }
    const dataset = JSON.parse(readFileSync(path.join(w1.dir, "distilled", "dataset.json"), "utf8"));
    const teacher = dataset.sources.find((s: Json) => s.kind === "KIND_TEACHER");
    expect(teacher).toMatchObject({
      uri: `${server.url}/v1#${model}`,
      artifact: { path: "teacher_responses.jsonl", digest: digestBytes(Buffer.from(recorded)) },
    });

    // a rerun against the server: the same bytes (seeded requests, answers kept in drawn order)
    const w2 = await workspace();
    await distill(w2, cfg, NET);
    expect(outputs(w2)).toEqual(outputs(w1));

    // a replay of the recording, without the network: the same stage id and the same bytes
    const recording = path.join(w1.dir, "distilled", "teacher_responses.jsonl");
    const w4 = await workspace();
    const again = await distill(w4, cfg, { NEXA_TEACHER_RECORDING: recording });
    expect(again.stageId).toBe(live.stageId);
    expect(outputs(w4)).toEqual(outputs(w1));
  }, 120_000);

  it("refuses a config without the fingerprint (naming the server's), a changed fingerprint and no network", async () => {
    const w = await workspace();
    const none = await distill(w, config(server.url, model, ""), NET).catch((e) => e);
    expect(none.code).toBe("DISTILL_ENDPOINT_FINGERPRINT");
    expect(none.hint).toContain(`"systemFingerprint": "${fingerprint}"`);

    const stale = await distill(w, config(server.url, model, `fp_${"0".repeat(24)}`), NET).catch((e) => e);
    expect(stale.code).toBe("DISTILL_ENDPOINT_FINGERPRINT_CHANGED");
    expect(stale.hint).toContain(fingerprint);
    expect(existsSync(path.join(w.dir, "distilled", "dataset.json"))).toBe(false);

    const offline = await distill(w, config(server.url, model, fingerprint), {}).catch((e) => e);
    expect(offline.code).toBe("DISTILL_ENDPOINT_NETWORK");
    expect(offline.hint).toMatch(/network = True/);

    const nobody = await distill(w, config("http://127.0.0.1:9", model, fingerprint), NET).catch((e) => e);
    expect(nobody.code).toBe("DISTILL_ENDPOINT_UNREACHABLE");
    expect(nobody.message).toContain("http://127.0.0.1:9/v1/completions");

    const unknown = await distill(w, config(server.url, "no-such-model", fingerprint), NET).catch((e) => e);
    expect(unknown.code).toBe("DISTILL_ENDPOINT_REJECTED");
    expect(unknown.message).toMatch(/HTTP 404: model_not_found/);
  }, 60_000);

  it("replays only the recorded config: a changed parameter or a missing answer is refused", async () => {
    const w1 = await workspace();
    await distill(w1, config(server.url, model, fingerprint, { seed: 11 }), NET);
    const recording = path.join(w1.dir, "distilled", "teacher_responses.jsonl");
    const w2 = await workspace();
    const changed = await distill(w2, config(server.url, model, fingerprint, { seed: 11, maxTokens: 13 }), {
      NEXA_TEACHER_RECORDING: recording,
    }).catch((e) => e);
    expect(changed.code).toBe("DISTILL_RECORDING_MISMATCH");
    expect(changed.message).toMatch(/teacher_responses\.jsonl:\d+: prompt a-\d+#0 was recorded for the request/);
    const more = await distill(
      w2,
      { ...config(server.url, model, fingerprint, { seed: 11, n: 3 }) },
      {
        NEXA_TEACHER_RECORDING: recording,
      },
    ).catch((e) => e);
    expect(more.code).toMatch(/DISTILL_RECORDING_(MISMATCH|MISSING)/);
  }, 60_000);

  it("waits out 429s (Retry-After) from a server with one worker and no queue", async () => {
    const busy = await startServer(["--workers", "1", "--queue", "0"]);
    try {
      const card = await modelCard(busy.url);
      const w = await workspace();
      const cfg = { ...config(busy.url, card.id, card.fingerprint, { n: 1 }), maxExamples: 4 };
      const out = await distill(w, cfg, NET);
      expect(out.result.metrics).toMatchObject({ prompts: 4, generations: 4 });
      const metrics = await (await fetch(busy.url + "/metrics")).text();
      expect(metrics).toMatch(/nexa_requests_total\{[^}]*status="429"[^}]*\} [1-9]/);
    } finally {
      busy.child.kill("SIGKILL");
    }
  }, 60_000);
});

// `nexa serve RUN:STAGE`: the checkpoint of a published run, checked out of the registry, served with its run id and
// stage in /v1/models; the run id is accepted as a model name.
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { resolveServeCheckpoint, serve } from "@nexa/modules/inference";
import { corpus, fakeCheckpoint } from "@nexa/modules/stage/testing/upstream";
import { stageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { publishPipeline } from "./publish";
import { workspacePlan } from "./testing/nexa";

const TRAIN = corpus(40, 1, { words: { min: 3, spread: 8 } });
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

describe("nexa serve out of a registry", () => {
  it("serves a published run's checkpoint with its run id and stage", async () => {
    const w = stageWorkspace("serve-reg-");
    await fakeCheckpoint(w, "model", { texts: TRAIN, seqLen: 16, vocabSize: 280, seed: 5, steps: 2 });
    const home = mkdtempSync(path.join(tmpdir(), "serve-home-"));
    const plan = { ...workspacePlan("//pipelines:one_model", ["model_pack", "model"]), reportStage: "" };
    const { runId } = await publishPipeline(plan, { root: w.dir, home });

    const resolved = await resolveServeCheckpoint(runId.slice(0, 10), home);
    expect(resolved.checkpoint).toMatch(new RegExp(`^${home}/checkouts/[0-9a-f]{64}$`));
    expect(resolved.modelInfo).toEqual({ run_id: runId, stage: "model" });
    const running = await serve(
      {
        checkpoint: resolved.checkpoint,
        modelInfo: resolved.modelInfo,
        host: "127.0.0.1",
        port: 0,
        workers: 1,
        queue: 1,
        threads: 1,
        limits: {},
        requestTimeoutS: 30,
        shutdownGraceS: 5,
        corsOrigins: [],
      },
      quiet,
    );
    try {
      for (let i = 0; i < 200 && (await fetch(running.url + "/ready")).status !== 200; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      const card = ((await (await fetch(running.url + "/v1/models")).json()) as { data: { nexa: unknown }[] }).data[0];
      expect(card.nexa).toMatchObject({ run_id: runId, stage: "model" });
      const r = await fetch(running.url + "/v1/completions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: runId, prompt: TRAIN[0].split(" ")[0], max_tokens: 3, temperature: 0 }),
      });
      expect({ status: r.status, body: await r.json() }).toMatchObject({
        status: 200,
        body: { object: "text_completion" },
      });
    } finally {
      await running.stop();
    }
    // a directory is served as it is, without a run
    expect(await resolveServeCheckpoint(path.join(w.dir, "model"), home)).toEqual({
      checkpoint: path.join(w.dir, "model"),
    });
  }, 60_000);
});

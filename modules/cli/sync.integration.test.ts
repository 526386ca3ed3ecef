// `nexa push` / `nexa pull` through a real nginx (WebDAV, the HTTP cache protocol): a run published in one registry
// is pushed, pulled into an empty registry, and reads back the same (show, export); a second push copies nothing;
// an unknown run or a corrupted remote blob is refused and leaves no run behind.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { startNginx } from "@nexa/modules/registry/testing/nginx";
import type { NginxServer } from "@nexa/modules/registry/testing/nginx";
import { corpus, fakeCheckpoint } from "@nexa/modules/stage/testing/upstream";
import { stageWorkspace } from "@nexa/modules/stage/testing/workspace";

import { publishPipeline } from "./publish";
import { nexa, workspacePlan } from "./testing/nexa";

const TRAIN = corpus(30, 1, { words: { min: 3, spread: 8 } });
const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

let server: NginxServer;
beforeAll(async () => {
  server = await startNginx(path.join(tmp("nginx-"), "prefix"));
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

async function published(): Promise<{ dir: string; home: string; runId: string }> {
  const w = stageWorkspace("sync-");
  await fakeCheckpoint(w, "model", { texts: TRAIN, seqLen: 16, vocabSize: 280, seed: 9, steps: 2 });
  const home = tmp("home-a-");
  const plan = { ...workspacePlan("//pipelines:one_model", ["model_pack", "model"]), reportStage: "" };
  const { runId } = await publishPipeline(plan, { root: w.dir, home });
  return { dir: w.dir, home, runId };
}

/** `nexa show --json` without what only the publishing registry knows (its journal). */
async function shown(home: string, runId: string): Promise<unknown> {
  const r = await nexa(["show", runId, "--json"], { NEXA_HOME: home });
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out);
  delete j.publishedAt;
  delete j.invocations;
  delete j.durationMs;
  for (const s of j.stages) {
    delete s.status;
    delete s.durationMs;
  }
  return j;
}

describe("nexa push / pull", () => {
  it("round-trips a run into an empty registry; a second push copies nothing", async () => {
    const { dir, home, runId } = await published();
    const remote = { NEXA_REMOTE: server.url };
    const push = await nexa(["push", runId.slice(0, 10), "--json"], { NEXA_HOME: home, ...remote });
    expect(push.code).toBe(0);
    const pushed = JSON.parse(push.out);
    expect(pushed).toMatchObject({ runId, copied: pushed.blobs });
    expect(pushed.blobs).toBeGreaterThan(5);
    const again = JSON.parse((await nexa(["push", runId, "--json"], { NEXA_HOME: home, ...remote })).out);
    expect(again).toMatchObject({ blobs: pushed.blobs, copied: 0 });

    const empty = tmp("home-b-");
    const pull = await nexa(["pull", runId, "--remote", server.url], { NEXA_HOME: empty });
    expect(pull).toMatchObject({ code: 0, err: "" });
    expect(pull.out).toContain(`pulled run ${runId}: ${pushed.blobs} blobs, `);
    expect(await shown(empty, runId)).toEqual(await shown(home, runId));
    // the run's files came along: its checkpoint exports as the directory's does
    const a = path.join(dir, "hf-a");
    const b = path.join(dir, "hf-b");
    expect((await nexa(["export", "hf", path.join(dir, "model"), a])).code).toBe(0);
    expect((await nexa(["export", "hf", `${runId}:model`, b], { NEXA_HOME: empty })).code).toBe(0);
    for (const f of readdirSync(a).filter((f) => f !== "README.md")) {
      expect(readFileSync(path.join(b, f)).equals(readFileSync(path.join(a, f)))).toBe(true);
    }
    // pulling again is a no-op
    const twice = JSON.parse((await nexa(["pull", runId, "--json"], { NEXA_HOME: empty, ...remote })).out);
    expect(twice.copied).toBe(0);
  }, 60_000);

  it("refuses an unknown run, a prefix, a missing remote and a corrupted remote blob", async () => {
    const { home, runId } = await published();
    const empty = tmp("home-c-");
    const remote = { NEXA_REMOTE: server.url };
    const unknown = await nexa(["pull", "f".repeat(64)], { NEXA_HOME: empty, ...remote });
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/REGISTRY_UNKNOWN_RUN/);
    const prefix = await nexa(["pull", runId.slice(0, 10)], { NEXA_HOME: empty, ...remote });
    expect(prefix.code).toBe(3);
    expect(prefix.err).toMatch(/REGISTRY_BAD_RUN_ID.*full run id/);
    const noRemote = await nexa(["push", runId], { NEXA_HOME: home });
    expect(noRemote.code).toBe(2);
    expect(noRemote.err).toMatch(/no remote store: give --remote URL or set \$NEXA_REMOTE/);

    expect((await nexa(["push", runId], { NEXA_HOME: home, ...remote })).code).toBe(0);
    // flip a byte of the weights on the server
    const weights = readdirSync(path.join(server.dataDir, "cas"))
      .map((f) => path.join(server.dataDir, "cas", f))
      .sort((x, y) => readFileSync(y).length - readFileSync(x).length)[0];
    chmodSync(weights, 0o644);
    const bytes = readFileSync(weights);
    bytes[100] ^= 0xff;
    writeFileSync(weights, bytes);
    const bad = await nexa(["pull", runId], { NEXA_HOME: empty, ...remote });
    expect(bad.code).toBe(3);
    expect(bad.err).toMatch(/INTEGRITY_DIGEST/);
    expect((await nexa(["runs", "--json"], { NEXA_HOME: empty })).out).not.toContain(runId);
  }, 60_000);
});

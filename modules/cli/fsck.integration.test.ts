// `nexa fsck` and `nexa gc` on a real registry that real stage outputs were published into: a blob corrupted in
// place is named with the run that needs it (exit 3), `--repair` restores it from the stage outputs and a rerun is
// clean; without those outputs the repair says where it looked; republishing replaces a corrupted or truncated blob;
// gc lists and deletes what no run needs (leftovers of an interrupted publish), keeping young blobs.
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from "fs";
import { writeFile } from "fs/promises";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, digestBytes, encodeMessage, readManifest } from "@nexa/modules/manifest";
import { Catalog, LocalStore } from "@nexa/modules/registry";
import type { StageDefinition } from "@nexa/modules/stage";
import { runIn, stageWorkspace } from "@nexa/modules/stage/testing/workspace";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";

import { publishPipeline } from "./publish";
import type { PipelinePlan } from "./publish";
import { nexa, workspacePlan } from "./testing/nexa";

const D = (c: string) => `sha256:${c.repeat(64)}`;
const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

/** A stage writing a one-line report and its EvalReport (the product), `text` varying the bytes. */
function stageDef(text: string): StageDefinition<EvalRubric> {
  return {
    module: "modules/cli (test)",
    config: CONTRACTS.EvalRubric,
    async run(ctx) {
      await writeFile(path.join(ctx.outDir, "report.html"), `<html>${text} ${ctx.stage}</html>`);
      const report = EvalReport.fromPartial({
        schemaVersion: 1,
        rubric: { digest: D("a") },
        checkpoint: { digest: D("b") },
        results: [{ metric: "bpb", value: 1.5, passed: true }],
        passed: true,
        htmlReport: { digest: D("c"), path: "report.html" },
        producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
      });
      await writeFile(path.join(ctx.outDir, "report.json"), encodeMessage(EvalReport, report));
      return { product: { file: "report.json", schema: CONTRACTS.EvalReport.name }, metrics: {} };
    },
  };
}

const RUBRIC = { schemaVersion: 1, name: "r", criteria: [{ metric: "bpb", comparator: "COMPARATOR_LTE" }] };

/** Stages "first" and "eval" run in a fresh workspace, published into a fresh registry. */
async function published(text = "report"): Promise<{ dir: string; home: string; plan: PipelinePlan; runId: string }> {
  const w = stageWorkspace("fsck-");
  for (const [i, name] of ["first", "eval"].entries()) {
    await runIn(w, stageDef(text), name, {
      module: "modules/x",
      config: RUBRIC,
      inputs: i === 0 ? {} : { up: "first" },
    });
  }
  const plan = workspacePlan("//pipelines:fsck", ["first", "eval"]);
  const home = tmp("home-");
  const { runId } = await publishPipeline(plan, { root: w.dir, home });
  return { dir: w.dir, home, plan, runId };
}

/** The stored blob of `file` in stage `stage`'s outputs (by its digest in the stage manifest). */
function blobOf(dir: string, home: string, stage: string, file: string): { digest: string; blob: string } {
  const manifest = readManifest(CONTRACTS.StageManifest, path.join(dir, `${stage}.manifest.json`));
  const digest = manifest.outputs.find((o) => o.path === file)!.digest;
  return { digest, blob: new LocalStore(home).blobPath(digest) };
}

/** Flips the first byte of a stored (read-only) blob, in place. */
function corrupt(blob: string): void {
  chmodSync(blob, 0o644);
  const bytes = readFileSync(blob);
  bytes[0] ^= 0xff;
  writeFileSync(blob, bytes);
  chmodSync(blob, 0o444);
}

describe("nexa fsck", () => {
  it("is clean after a publish: every blob re-hashed, nothing to report", async () => {
    const { home } = await published();
    const r = await nexa(["fsck", "--json"], { NEXA_HOME: home });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const blobs = (await new LocalStore(home).list()).length;
    expect(j).toMatchObject({ schemaVersion: 1, blobs, ok: blobs, problems: [], unresolved: 0 });
    expect(blobs).toBeGreaterThan(5);
  });

  it("names a corrupted blob and the run and stage that need it (exit 3); --repair restores it", async () => {
    const { dir, home, runId } = await published();
    const { digest, blob } = blobOf(dir, home, "eval", "report.html");
    corrupt(blob);
    const r = await nexa(["fsck"], { NEXA_HOME: home });
    expect(r.code).toBe(3);
    expect(r.out).toContain(`corrupted ${digest}`);
    expect(r.out).toContain(`run ${runId} (//pipelines:fsck) output of stage eval`);
    expect(r.err).toMatch(/\[INTEGRITY_FSCK\] 1 blob damaged or missing.*\nhint: run `nexa fsck --repair`/);
    const j = JSON.parse((await nexa(["fsck", "--json"], { NEXA_HOME: home })).out);
    expect(j.problems).toEqual([
      expect.objectContaining({
        digest,
        state: "corrupted",
        path: blob,
        references: [expect.objectContaining({ runId, role: "output", stage: "eval" })],
      }),
    ]);
    // `nexa verify` agrees
    expect((await nexa(["verify", digest], { NEXA_HOME: home })).code).toBe(3);

    const repaired = await nexa(["fsck", "--repair"], { NEXA_HOME: home });
    expect(repaired.code).toBe(0);
    expect(repaired.out).toContain(`repaired from ${path.join(realpathSync(dir), "eval", "report.html")}`);
    expect(readFileSync(blob).equals(readFileSync(path.join(dir, "eval", "report.html")))).toBe(true);
    expect(statSync(blob).mode & 0o777).toBe(0o444);
    // the run's report (a link to that blob) reads the restored bytes too
    expect(readFileSync(path.join(home, "reports", `${runId}.html`), "utf8")).toBe("<html>report eval</html>");
    expect(await nexa(["fsck"], { NEXA_HOME: home })).toMatchObject({ code: 0, err: "" });
  });

  it("repairs a damaged stage manifest from the manifest.json Bazel wrote, and a deleted blob too", async () => {
    const { dir, home, runId } = await published();
    const c = new Catalog(new LocalStore(home));
    const run = await c.readMessage(CONTRACTS.RunManifest, c.resolveRun(runId).manifest_digest);
    c.close();
    const manifestDigest = run.stages[0].manifest!.digest;
    const store = new LocalStore(home);
    corrupt(store.blobPath(manifestDigest));
    const { digest: fileDigest, blob } = blobOf(dir, home, "first", "report.json");
    rmSync(blob, { force: true });
    const before = JSON.parse((await nexa(["fsck", "--json"], { NEXA_HOME: home })).out);
    expect(before.problems.map((p: { digest: string; state: string }) => [p.digest, p.state]).sort()).toEqual(
      [
        [manifestDigest, "corrupted"],
        [fileDigest, "missing"],
      ].sort(),
    );
    const r = await nexa(["fsck", "--repair", "--json"], { NEXA_HOME: home });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).problems.map((p: { repair: { repaired: boolean } }) => p.repair.repaired)).toEqual([
      true,
      true,
    ]);
    expect((await store.check(manifestDigest)).state).toBe("ok");
    expect((await store.check(fileDigest)).state).toBe("ok");
  });

  it("without Bazel's outputs, --repair says where it looked and exits 3", async () => {
    const { dir, home } = await published();
    const { digest, blob } = blobOf(dir, home, "eval", "report.html");
    corrupt(blob);
    writeFileSync(path.join(dir, "eval", "report.html"), "rebuilt differently"); // a later build's bytes
    const r = await nexa(["fsck", "--repair"], { NEXA_HOME: home });
    expect(r.code).toBe(3);
    expect(r.out).toContain(`corrupted ${digest}`);
    expect(r.out).toContain("not repaired: no intact copy in Bazel's outputs");
    expect(r.out).toContain(
      `${path.join(realpathSync(dir), "eval", "report.html")}: different bytes (${digestBytes("rebuilt differently")})`,
    );
    expect(r.err).toMatch(/hint: rebuild and republish the runs named above/);
    expect((await new LocalStore(home).check(digest)).state).toBe("corrupted"); // nothing wrong was stored
  });

  it("looks in <workspace>/bazel-bin/<pipeline package>/<stage>/ when the recorded outputs are gone", async () => {
    const { dir, home } = await published();
    const { digest, blob } = blobOf(dir, home, "eval", "report.html");
    corrupt(blob);
    // the outputs moved (e.g. another checkout's bazel-bin): the journal's paths are absent now
    const ws = tmp("ws-");
    mkdirSync(path.join(ws, "bazel-bin"));
    renameSync(dir, path.join(ws, "bazel-bin", "pipelines"));
    const r = await nexa(["fsck", "--repair", "--workspace", ws, "--json"], { NEXA_HOME: home });
    expect(r.code).toBe(0);
    const [p] = JSON.parse(r.out).problems;
    expect(p.digest).toBe(digest);
    expect(p.repair.tried).toEqual([
      { path: path.join(realpathSync(path.dirname(dir)), path.basename(dir), "eval", "report.html"), result: "absent" },
      { path: path.join(ws, "bazel-bin", "pipelines", "eval", "report.html"), result: "restored" },
    ]);
    expect((await new LocalStore(home).check(digest)).state).toBe("ok");
  });

  it("reports a corrupted blob no run needs, pointing at gc", async () => {
    const { home } = await published();
    const stray = await new LocalStore(home).put(Buffer.from("stray bytes"));
    corrupt(new LocalStore(home).blobPath(stray.digest));
    const r = await nexa(["fsck"], { NEXA_HOME: home });
    expect(r.code).toBe(3);
    expect(r.out).toContain(`corrupted ${stray.digest}`);
    expect(r.out).toContain("no run needs it (`nexa gc --apply` deletes it)");
  });
});

describe("republishing", () => {
  it("replaces a blob corrupted in place, and a truncated one", async () => {
    const { dir, home, plan } = await published();
    const html = blobOf(dir, home, "eval", "report.html");
    const json = blobOf(dir, home, "first", "report.json");
    corrupt(html.blob);
    chmodSync(json.blob, 0o644);
    truncateSync(json.blob, 3);
    await publishPipeline(plan, { root: dir, home });
    const store = new LocalStore(home);
    expect((await store.check(html.digest)).state).toBe("ok");
    expect((await store.check(json.digest)).state).toBe("ok");
    expect(await nexa(["fsck"], { NEXA_HOME: home })).toMatchObject({ code: 0 });
  });

  it("LocalStore.put replaces a corrupted existing blob and says so; an intact one is left alone", async () => {
    const home = tmp("home-");
    const bytes = Buffer.from("the same bytes, twice");
    const store = new LocalStore(home);
    const first = await store.put(bytes);
    expect(await store.put(bytes)).toEqual({ digest: first.digest, sizeBytes: bytes.length, existed: true });
    corrupt(store.blobPath(first.digest));
    // a new store object (as each publish opens): the size matches, so only the hash can tell
    expect(await new LocalStore(home).put(bytes)).toEqual({
      digest: first.digest,
      sizeBytes: bytes.length,
      existed: false,
      replaced: true,
    });
    expect((await store.get(first.digest)).equals(bytes)).toBe(true);
  });
});

describe("nexa gc", () => {
  it("lists what no run needs (dry run), deletes it with --apply, keeps young blobs and every run intact", async () => {
    const { home, runId } = await published();
    // leftovers of a publish interrupted before its run manifest: a stored file and a stage manifest of another build
    const other = await published("other");
    const store = new LocalStore(home);
    const leftover = await store.put(Buffer.from("a file of an interrupted publish\n"));
    const c = new Catalog(store);
    const otherCatalog = new Catalog(new LocalStore(other.home));
    const otherRun = await otherCatalog.readMessage(
      CONTRACTS.RunManifest,
      otherCatalog.resolveRun(other.runId).manifest_digest,
    );
    const orphan = await otherCatalog.readMessage(CONTRACTS.StageManifest, otherRun.stages[1].manifest!.digest);
    otherCatalog.close();
    const orphanDigest = await c.publishManifest(CONTRACTS.StageManifest, orphan);
    c.close();
    const young = await store.put(Buffer.from("written a moment ago\n"));
    const old = Date.now() / 1000 - 7200;
    for (const d of [leftover.digest, orphanDigest]) utimesSync(store.blobPath(d), old, old);
    const before = (await store.list()).length;
    const freed = leftover.sizeBytes + statSync(store.blobPath(orphanDigest)).size;

    const dry = await nexa(["gc", "--json"], { NEXA_HOME: home });
    expect(dry.code).toBe(0);
    const j = JSON.parse(dry.out);
    expect(j).toMatchObject({ schemaVersion: 1, applied: false, blobs: before, deleted: 0, bytesFreed: 0 });
    expect(j.garbage.map((g: { digest: string; young: boolean }) => [g.digest, g.young]).sort()).toEqual(
      [
        [leftover.digest, false],
        [orphanDigest, false],
        [young.digest, true],
      ].sort(),
    );
    expect(j.garbage.find((g: { digest: string }) => g.digest === orphanDigest).schema).toBe("nexa.v1.StageManifest");
    expect((await store.list()).length).toBe(before); // a dry run deletes nothing

    const text = await nexa(["gc", "--apply"], { NEXA_HOME: home });
    expect(text.code).toBe(0);
    expect(text.out).toContain(`deleted  ${leftover.digest}`);
    expect(text.out).toContain(`kept (young)  ${young.digest}`);
    expect(text.out).toMatch(new RegExp(`; deleted 2, freed ${freed} bytes\n$`));
    expect(await store.has(leftover.digest)).toBe(false);
    expect(await store.has(orphanDigest)).toBe(false);
    expect(await store.has(young.digest)).toBe(true);
    // the run is whole: fsck is clean, the index still lists it, and a rebuild no longer looks for the orphan
    expect(await nexa(["fsck"], { NEXA_HOME: home })).toMatchObject({ code: 0 });
    expect((await nexa(["rebuild-index"], { NEXA_HOME: home })).code).toBe(0);
    expect((await nexa(["show", runId], { NEXA_HOME: home })).code).toBe(0);
    const again = JSON.parse((await nexa(["gc", "--grace", "0", "--json"], { NEXA_HOME: home })).out);
    expect(again.garbage.map((g: { digest: string }) => g.digest)).toEqual([young.digest]);
  });

  it("refuses a bad --grace (exit 2)", async () => {
    const r = await nexa(["gc", "--grace", "soon"], { NEXA_HOME: tmp("home-") });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--grace "soon" is not a duration/);
  });
});

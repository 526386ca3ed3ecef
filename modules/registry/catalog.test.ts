// Catalog: incremental indexing, rebuild from manifests alone, lineage queries.

import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import { PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import { RunManifest } from "@nexa/proto/nexa/v1/run";
import { StageManifest } from "@nexa/proto/nexa/v1/stage";
import type { DeepPartial } from "@nexa/proto/nexa/v1/stage";
import { CONTRACTS, deriveRunId, deriveStageId, digestBytes } from "@nexa/modules/manifest";

import { Catalog, collectGarbage, fsckRegistry, LocalStore } from "./index";

function tempHome(): string {
  return mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), "nexa-catalog-"));
}

/** Publishes the StageManifest of stage `fields.stageName` (module `modules/<stageName>`, tool digest `tool`). */
function publishStage(catalog: Catalog, tool: string, fields: DeepPartial<StageManifest> & { stageName: string }) {
  return catalog.publishManifest(
    CONTRACTS.StageManifest,
    StageManifest.fromPartial({ schemaVersion: 1, module: `modules/${fields.stageName}`, toolDigest: tool, ...fields }),
  );
}

/** Publishes a two-stage pipeline (data → pack) the way //pipelines:golden would; returns the digests. */
async function publishPipeline(catalog: Catalog) {
  const store = catalog.store;
  const raw = await store.put(Buffer.from('{"text":"hello"}\n'));
  const shard = await store.put(Buffer.from('{"text":"hello"}\n{"text":"x"}\n'));
  const tool = digestBytes("tool");
  const dataConfig = digestBytes("data-config");
  const dataStageId = deriveStageId({
    stageName: "data",
    configDigest: dataConfig,
    inputManifestDigests: [],
    toolDigest: tool,
  });
  const dataset = DatasetManifest.fromPartial({
    schemaVersion: 1,
    name: "golden",
    recordCount: 2,
    splits: [{ name: "train", recordCount: 2, fraction: 1 }],
    shards: [
      {
        file: { digest: shard.digest, sizeBytes: shard.sizeBytes, path: "train-0.jsonl" },
        recordCount: 2,
        split: "train",
      },
    ],
    sources: [{ kind: 1, uri: "pipelines/raw.jsonl", artifact: { digest: raw.digest, sizeBytes: raw.sizeBytes } }],
    producer: { stageName: "data", stageId: dataStageId },
  });
  const datasetDigest = await catalog.publishManifest(CONTRACTS.DatasetManifest, dataset);
  const dataStageDigest = await publishStage(catalog, tool, {
    stageName: "data",
    stageId: dataStageId,
    configDigest: dataConfig,
    inputs: [{ digest: raw.digest, sizeBytes: raw.sizeBytes }],
    outputs: [
      { digest: datasetDigest, sizeBytes: 1, path: "manifest.json", schemaName: CONTRACTS.DatasetManifest.name },
      { digest: shard.digest, sizeBytes: shard.sizeBytes, path: "train-0.jsonl" },
    ],
  });

  const bin = await store.put(Buffer.alloc(64, 1));
  const packConfig = digestBytes("pack-config");
  const packStageId = deriveStageId({
    stageName: "pack",
    configDigest: packConfig,
    inputManifestDigests: [datasetDigest],
    toolDigest: tool,
  });
  const packed = PackedDatasetManifest.fromPartial({
    schemaVersion: 1,
    seqLen: 8,
    tokenDtype: 1,
    bins: [{ file: { digest: bin.digest, sizeBytes: 64, path: "train-0.bin" }, split: "train", sequenceCount: 4 }],
    tokenizer: { digest: digestBytes("tokenizer"), schemaName: "nexa.v1.TokenizerManifest" },
    dataset: { digest: datasetDigest, schemaName: CONTRACTS.DatasetManifest.name },
    producer: { stageName: "pack", stageId: packStageId },
  });
  const packedDigest = await catalog.publishManifest(CONTRACTS.PackedDatasetManifest, packed);
  const packStageDigest = await publishStage(catalog, tool, {
    stageName: "pack",
    stageId: packStageId,
    configDigest: packConfig,
    inputs: [{ digest: datasetDigest, schemaName: CONTRACTS.DatasetManifest.name }],
    outputs: [
      { digest: packedDigest, path: "manifest.json", schemaName: CONTRACTS.PackedDatasetManifest.name },
      { digest: bin.digest, sizeBytes: 64, path: "train-0.bin" },
    ],
  });

  const runId = deriveRunId([dataStageId, packStageId]);
  const run = RunManifest.fromPartial({
    schemaVersion: 1,
    runId,
    pipeline: "//pipelines:golden",
    codeRevision: "abc",
    stages: [
      {
        stageName: "data",
        stageId: dataStageId,
        manifest: { digest: dataStageDigest, schemaName: CONTRACTS.StageManifest.name },
      },
      {
        stageName: "pack",
        stageId: packStageId,
        manifest: { digest: packStageDigest, schemaName: CONTRACTS.StageManifest.name },
      },
    ],
  });
  const runDigest = await catalog.publishManifest(CONTRACTS.RunManifest, run);
  catalog.recordInvocation({ invocationId: "inv-1", runId, startedAt: "2026-11-28T10:00:00Z", status: "succeeded" });
  return { raw, shard, bin, datasetDigest, packedDigest, runDigest, runId, packConfig };
}

describe("Catalog", () => {
  it("indexes artifacts, stages, runs and invocations incrementally", async () => {
    const catalog = new Catalog(new LocalStore(tempHome()));
    const p = await publishPipeline(catalog);
    expect(catalog.runs()).toEqual([
      {
        run_id: p.runId,
        pipeline: "//pipelines:golden",
        manifest_digest: p.runDigest,
        code_revision: "abc",
        published_at: "2026-11-28T10:00:00Z",
      },
    ]);
    expect(catalog.artifact(p.datasetDigest)?.schema_name).toBe("nexa.v1.DatasetManifest");
    const dump = catalog.dump();
    expect(dump.stages).toHaveLength(2);
    expect(dump.invocations).toHaveLength(1);
    catalog.close();
  });

  it("answers lineage queries: raw data → dataset → packed bins", async () => {
    const catalog = new Catalog(new LocalStore(tempHome()));
    const p = await publishPipeline(catalog);
    const ancestors = catalog.ancestors(p.bin.digest);
    expect(ancestors).toEqual(expect.arrayContaining([p.packedDigest, p.datasetDigest, p.raw.digest, p.packConfig]));
    expect(ancestors).not.toContain(p.bin.digest);
    const descendants = catalog.descendants(p.raw.digest);
    expect(descendants).toEqual(expect.arrayContaining([p.datasetDigest, p.packedDigest, p.bin.digest]));
    expect(catalog.descendants(p.bin.digest)).toEqual([]);
    catalog.close();
  });

  it("rebuild from the manifests alone equals the incremental index", async () => {
    const home = tempHome();
    const store = new LocalStore(home);
    const incremental = new Catalog(store);
    await publishPipeline(incremental);
    const expected = incremental.dump();

    // A fresh database over the same store…
    const fresh = new Catalog(store, join(home, "rebuilt.sqlite"));
    await fresh.rebuild();
    expect(fresh.dump()).toEqual(expected);
    // …and a rebuild in place.
    await incremental.rebuild();
    expect(incremental.dump()).toEqual(expected);
    fresh.close();
    incremental.close();
  });

  it("lists runs newest publish first and resolves a run id or a unique prefix", async () => {
    const catalog = new Catalog(new LocalStore(tempHome()));
    const publishRun = async (runId: string, startedAt: string) => {
      await catalog.publishManifest(
        CONTRACTS.RunManifest,
        RunManifest.fromPartial({ schemaVersion: 1, runId, pipeline: "//p:x", stages: [] }),
      );
      catalog.recordInvocation({ invocationId: `inv-${runId}-${startedAt}`, runId, startedAt, status: "succeeded" });
    };
    const a = "ab" + "0".repeat(62);
    const b = "ab" + "1".repeat(62);
    const c = "cd" + "2".repeat(62);
    await publishRun(a, "2026-11-28T10:00:00Z");
    await publishRun(b, "2026-11-28T11:00:00Z");
    await publishRun(c, "2026-11-28T09:00:00Z");
    await publishRun(c, "2026-11-28T12:00:00Z"); // republished last: newest
    expect(catalog.runs().map((r) => r.run_id)).toEqual([c, b, a]);
    expect(catalog.resolveRun(c).run_id).toBe(c);
    expect(catalog.resolveRun("CD").run_id).toBe(c);
    expect(catalog.resolveRun("ab1").run_id).toBe(b);
    expect(() => catalog.resolveRun("ab")).toThrow(expect.objectContaining({ code: "REGISTRY_AMBIGUOUS_RUN" }));
    expect(() => catalog.resolveRun("ef")).toThrow(expect.objectContaining({ code: "REGISTRY_UNKNOWN_RUN" }));
    expect(() => catalog.resolveRun("run-1")).toThrow(expect.objectContaining({ code: "REGISTRY_BAD_RUN_ID" }));
    expect(catalog.invocations(c).map((i) => i.startedAt)).toEqual(["2026-11-28T09:00:00Z", "2026-11-28T12:00:00Z"]);
    catalog.close();
  });

  it("keeps the invocation journal's stage records, and finds stages by manifest or output", async () => {
    const catalog = new Catalog(new LocalStore(tempHome()));
    const p = await publishPipeline(catalog);
    catalog.recordInvocation({
      invocationId: "inv-2",
      runId: p.runId,
      startedAt: "2026-11-29T10:00:00Z",
      status: "succeeded",
      stages: [{ stage: "data", status: "cached", durationMs: 12 }],
    });
    expect(catalog.invocations(p.runId).map((i) => i.stages)).toEqual([
      undefined,
      [{ stage: "data", status: "cached", durationMs: 12 }],
    ]);
    const [pack] = catalog.stagesOf(p.bin.digest);
    expect(pack.stage_name).toBe("pack");
    expect(catalog.stagesOf(pack.manifest_digest)).toEqual([pack]);
    expect(catalog.stagesOf(digestBytes("nothing"))).toEqual([]);
    expect(catalog.runsWithStage(pack.stage_id).map((r) => r.run_id)).toEqual([p.runId]);
    expect(catalog.rootSchema(p.runDigest)).toBe("nexa.v1.RunManifest");
    expect(catalog.rootSchema(p.bin.digest)).toBeUndefined();
    expect((await catalog.readMessage(CONTRACTS.RunManifest, p.runDigest)).runId).toBe(p.runId);
    catalog.close();
  });

  it("keeps a run's report as a link to its stored blob, idempotently", async () => {
    const home = tempHome();
    const store = new LocalStore(home);
    const catalog = new Catalog(store);
    const { digest } = await store.put(Buffer.from("<html>r</html>"));
    const runId = "f".repeat(64);
    expect(catalog.reportPath(runId)).toBeUndefined();
    const first = await catalog.storeReport(runId, digest);
    expect(first).toBe(join(home, "reports", `${runId}.html`));
    expect(readFileSync(first, "utf8")).toBe("<html>r</html>");
    expect(statSync(first).ino).toBe(statSync(store.blobPath(digest)).ino);
    expect(await catalog.storeReport(runId, digest)).toBe(first);
    expect(readdirSync(join(home, "reports"))).toEqual([`${runId}.html`]);
    expect(catalog.reportPath(runId)).toBe(first);
    await expect(catalog.storeReport(runId, digestBytes("absent"))).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
    });
    catalog.close();
  });

  it("lists what each run needs; gc finds the rest, fsck names the runs of a damaged blob", async () => {
    const catalog = new Catalog(new LocalStore(tempHome()));
    const p = await publishPipeline(catalog);
    const refs = catalog.runReferences();
    const role = (d: string) => (refs.get(d) ?? []).map((r) => `${r.role}:${r.stage ?? "-"}`);
    expect(role(p.runDigest)).toEqual(["run_manifest:-"]);
    expect(role(p.shard.digest)).toEqual(["output:data"]);
    expect(role(p.bin.digest)).toEqual(["output:pack"]);
    expect(role(p.datasetDigest)).toEqual(["output:data"]);
    expect(refs.get(p.bin.digest)![0]).toMatchObject({ runId: p.runId, pipeline: "//pipelines:golden" });
    // a stage's input is not something its run stored (publish stores outputs): the raw file is garbage here
    expect(refs.has(p.raw.digest)).toBe(false);
    expect(refs.size).toBe(7); // run manifest, 2 stage manifests, 4 outputs

    const dry = await collectGarbage(catalog, { graceMs: 0 });
    expect(dry.garbage.map((g) => g.digest)).toEqual([p.raw.digest]);
    expect(dry).toMatchObject({ referenced: 7, deleted: 0, bytesReclaimable: p.raw.sizeBytes });
    expect(await catalog.store.has(p.raw.digest)).toBe(true);
    const applied = await collectGarbage(catalog, { apply: true, graceMs: 0 });
    expect(applied).toMatchObject({ deleted: 1, bytesFreed: p.raw.sizeBytes });
    expect(await catalog.store.has(p.raw.digest)).toBe(false);
    expect(catalog.runs().map((r) => r.run_id)).toEqual([p.runId]);

    const clean = await fsckRegistry(catalog);
    expect(clean).toMatchObject({ blobs: 7, ok: 7, problems: [] });
    const blob = catalog.store.blobPath(p.bin.digest);
    chmodSync(blob, 0o644);
    writeFileSync(blob, Buffer.alloc(64, 2));
    const bad = await fsckRegistry(catalog, { repair: true });
    expect(bad.problems).toHaveLength(1);
    expect(bad.problems[0]).toMatchObject({
      digest: p.bin.digest,
      state: "corrupted",
      actual: digestBytes(Buffer.alloc(64, 2)),
      references: [expect.objectContaining({ runId: p.runId, role: "output", stage: "pack" })],
      // no journal paths and no workspace: nowhere to restore it from
      repair: { repaired: false, source: null, tried: [] },
    });
    // gc refuses to work from a damaged manifest (rebuild reads each one verified)
    const manifest = catalog.store.blobPath(p.runDigest);
    chmodSync(manifest, 0o644);
    writeFileSync(manifest, "{}");
    await expect(collectGarbage(catalog, { apply: true })).rejects.toThrow(
      `1 stored manifest damaged or missing (${p.runDigest})`,
    );
    expect(await catalog.store.has(p.shard.digest)).toBe(true);
    expect(catalog.runs().map((r) => r.run_id)).toEqual([p.runId]); // the index was left as it was
    catalog.close();
  });
});

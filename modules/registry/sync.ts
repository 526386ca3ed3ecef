// Sharing runs through a remote HTTP CAS (the server of a team's Bazel remote cache, e.g. bazel-remote): `pushRun`
// uploads every blob a run references (its output files, configs, stage manifests, run manifest) to <remote>/cas/
// and then a run record under <remote>/ac/<run id> (the run manifest's digest and the contract of each manifest);
// `pullRun` reads that record and copies the blobs into the local store (each verified against its digest while it
// streams), publishing the manifests in the same order `nexa publish` does: files before the manifests that list
// them, the run manifest last, so an interrupted pull leaves no run that lacks a file.

import { mkdtempSync, rmSync } from "fs";
import { join } from "path";

import { canonicalBytes, CONTRACTS, contractByName } from "@nexa/modules/manifest";
import type { Contract } from "@nexa/modules/manifest";
import { RegistryError } from "@nexa/modules/monitoring";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";

import type { Catalog } from "./catalog";
import type { HttpStore } from "./http_store";

/** Layout version of the run record stored under <remote>/ac/<run id>. */
export const RUN_RECORD_FORMAT = "nexa.registry.run_record.v1";

/** What a push or pull moved. */
export interface SyncResult {
  runId: string;
  runManifest: string;
  /** Distinct blobs the run references (files and manifests). */
  blobs: number;
  /** Of those, blobs copied (the others were there already). */
  copied: number;
  bytes: number;
}

interface RunRecord {
  format: string;
  run_id: string;
  pipeline: string;
  run_manifest: string;
  /** Stage configs the registry holds: digest → contract name. */
  configs: Record<string, string>;
}

/** Pushes run `idOrPrefix` (and everything it references) to `remote`. */
export async function pushRun(catalog: Catalog, remote: HttpStore, idOrPrefix: string): Promise<SyncResult> {
  const row = catalog.resolveRun(idOrPrefix);
  const run = await catalog.readMessage(CONTRACTS.RunManifest, row.manifest_digest);
  const result: SyncResult = { runId: row.run_id, runManifest: row.manifest_digest, blobs: 0, copied: 0, bytes: 0 };
  const seen = new Set<string>();
  const send = async (digest: string) => {
    if (seen.has(digest)) return;
    seen.add(digest);
    result.blobs++;
    const r = await remote.putFile(catalog.store.blobPath(digest), digest);
    if (!r.existed) {
      result.copied++;
      result.bytes += r.sizeBytes;
    }
  };
  const configs: Record<string, string> = {};
  for (const rs of run.stages) {
    const manifest = await catalog.readMessage(CONTRACTS.StageManifest, rs.manifest!.digest);
    for (const o of manifest.outputs) await send(o.digest);
    const schema = catalog.rootSchema(manifest.configDigest);
    if (schema !== undefined) {
      await send(manifest.configDigest);
      configs[manifest.configDigest] = schema;
    }
    await send(rs.manifest!.digest);
  }
  await send(row.manifest_digest);
  const record: RunRecord = {
    format: RUN_RECORD_FORMAT,
    run_id: row.run_id,
    pipeline: row.pipeline,
    run_manifest: row.manifest_digest,
    configs,
  };
  await remote.putRef(row.run_id, canonicalBytes(record));
  return result;
}

function parseRecord(bytes: Buffer, runId: string, where: string): RunRecord {
  let r: RunRecord;
  try {
    r = JSON.parse(bytes.toString("utf8")) as RunRecord;
  } catch {
    r = {} as RunRecord;
  }
  if (r.format !== RUN_RECORD_FORMAT || r.run_id !== runId || typeof r.run_manifest !== "string") {
    throw new RegistryError("REGISTRY_BAD_RUN_RECORD", `${where} is not a run record of ${runId}`, {
      context: { url: where, run: runId },
      hint: "push the run again (`nexa push <run> --remote …`)",
    });
  }
  return r;
}

/** Pulls run `runId` (64 hex: a remote cannot resolve prefixes) from `remote` into the local registry. */
export async function pullRun(catalog: Catalog, remote: HttpStore, runId: string): Promise<SyncResult> {
  if (!/^[0-9a-f]{64}$/.test(runId)) {
    throw new RegistryError("REGISTRY_BAD_RUN_ID", `pull needs a full run id (64 hex), got ${JSON.stringify(runId)}`, {
      context: { run: runId },
      hint: "a remote store cannot list runs: copy the whole id from `nexa runs` on the machine that pushed it",
    });
  }
  const where = remote.refUrlOf(runId).href;
  const bytes = await remote.getRef(runId);
  if (bytes === undefined) {
    throw new RegistryError("REGISTRY_UNKNOWN_RUN", `the remote store has no run ${runId}`, {
      context: { url: where, run: runId },
      hint: "push it first (`nexa push <run> --remote …` where it was published)",
    });
  }
  const record = parseRecord(bytes, runId, where);
  const result: SyncResult = { runId, runManifest: record.run_manifest, blobs: 0, copied: 0, bytes: 0 };
  const tmp = mkdtempSync(join(catalog.store.home, ".pull-"));
  try {
    const seen = new Set<string>();
    const fetchFile = async (digest: string) => {
      if (seen.has(digest)) return;
      seen.add(digest);
      result.blobs++;
      if (await catalog.store.has(digest)) return;
      const file = join(tmp, digest.replace(/^sha256:/, ""));
      await remote.getToFile(digest, file); // verified while it streams
      const put = await catalog.store.putFile(file, digest);
      rmSync(file, { force: true });
      result.copied++;
      result.bytes += put.sizeBytes;
    };
    const fetchMessage = async <T>(contract: Contract<T>, digest: string): Promise<T> => {
      await fetchFile(digest);
      return catalog.readMessage(contract, digest);
    };
    const run = await fetchMessage(CONTRACTS.RunManifest, record.run_manifest);
    if (run.runId !== runId) {
      throw new RegistryError(
        "REGISTRY_BAD_RUN_RECORD",
        `${where} names run manifest ${record.run_manifest} of run ${run.runId}`,
        {
          context: { url: where, run: runId },
          hint: "push the run again",
        },
      );
    }
    for (const rs of run.stages) {
      const manifest: StageManifest = await fetchMessage(CONTRACTS.StageManifest, rs.manifest!.digest);
      for (const o of manifest.outputs) await fetchFile(o.digest);
      const schema = record.configs[manifest.configDigest];
      const contract = schema === undefined ? undefined : contractByName(schema);
      if (contract !== undefined) {
        await catalog.publishManifest(contract, await fetchMessage(contract, manifest.configDigest));
      }
      await catalog.publishManifest(CONTRACTS.StageManifest, manifest);
    }
    await catalog.publishManifest(CONTRACTS.RunManifest, run);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return result;
}

// Registry integrity: `fsckRegistry` re-hashes every stored blob and checks that every blob a published run needs is
// there, naming for each damaged or missing blob the runs (and stages) that need it. With `repair`, it restores such
// a blob from Bazel's outputs when they still hold the same bytes: the stage outputs and manifests where `nexa
// publish` read them (recorded in the invocation journal), else `<workspace>/bazel-bin/<pipeline package>/<stage>/`.
// Every candidate is hashed before it replaces anything (LocalStore.putFile with the expected digest), so a stale
// or rebuilt output is refused, never stored.

import { existsSync, readFileSync, statSync } from "fs";
import { join } from "path";

import { CONTRACTS, decodeManifest, digestBytes, encodeMessageBytes } from "@nexa/modules/manifest";
import { IntegrityError, NexaError } from "@nexa/modules/monitoring";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";

import type { BlobReference, Catalog } from "./catalog";

/** One blob that is not what its digest says, or that a run needs and the store lacks. */
export interface FsckProblem {
  digest: string;
  /** Where the blob is (or should be) stored. */
  path: string;
  state: "corrupted" | "missing";
  /** The digest of the bytes on disk (null when missing). */
  actual: string | null;
  /** The runs (and stages) that need it; empty when no run does (`gc` would delete it). */
  references: BlobReference[];
  /** With `repair`: whether an intact copy replaced it, from where, and every place tried (with why it failed). */
  repair: { repaired: boolean; source: string | null; tried: { path: string; result: string }[] } | null;
}

export interface FsckResult {
  /** Blobs stored. */
  blobs: number;
  /** Their bytes. */
  bytes: number;
  /** Stored blobs that hash to their digest. */
  ok: number;
  /** Corrupted and missing blobs, by digest. */
  problems: FsckProblem[];
}

export interface FsckOptions {
  /** Restore damaged or missing blobs from Bazel's outputs where they still hold the same bytes. */
  repair?: boolean;
  /** A checkout whose `bazel-bin` may hold the stage outputs (also tried after the journal's paths). */
  workspace?: string;
}

// ----------------------------------------------------------------------------------------------------------
// candidates

/** "//pipelines:golden" -> "pipelines"; "//:p" -> "". */
function packageOf(label: string): string {
  const m = /^@?[^/]*\/\/([^:]*)(:.*)?$/.exec(label);
  return m ? m[1] : "";
}

/** The stage manifest `digest`: from the store (verified), else from a recorded manifest.json that encodes to it. */
async function stageManifestOf(catalog: Catalog, digest: string, recorded: string[]): Promise<StageManifest | null> {
  try {
    return await catalog.readMessage(CONTRACTS.StageManifest, digest);
  } catch (err) {
    if (!(err instanceof NexaError)) throw err;
  }
  for (const file of recorded) {
    const bytes = canonicalManifestBytes(file);
    if (bytes !== null && digestBytes(bytes) === digest) {
      return decodeManifest(CONTRACTS.StageManifest, bytes, file);
    }
  }
  return null;
}

/** The canonical bytes the registry stores for the StageManifest in `file` (null when absent or not one). */
function canonicalManifestBytes(file: string): Buffer | null {
  if (!existsSync(file)) return null;
  try {
    const message = decodeManifest(CONTRACTS.StageManifest, readFileSync(file), file);
    return Buffer.from(encodeMessageBytes(CONTRACTS.StageManifest.codec, message));
  } catch (err) {
    if (err instanceof NexaError) return null; // not a stage manifest any more: the caller reports the path as tried
    throw err;
  }
}

interface Candidate {
  path: string;
  /** "file": the bytes as they are; "stage_manifest": a manifest.json, stored in canonical encoding. */
  kind: "file" | "stage_manifest";
}

/** Where Bazel may still hold the bytes of blob `digest`, given what needs it. */
async function candidatesFor(
  catalog: Catalog,
  digest: string,
  refs: BlobReference[],
  workspace: string | undefined,
): Promise<Candidate[]> {
  const out: Candidate[] = [];
  const push = (c: Candidate) => {
    if (!out.some((o) => o.path === c.path)) out.push(c);
  };
  for (const ref of refs) {
    if (ref.stage === null) continue;
    const journal = catalog
      .invocations(ref.runId)
      .flatMap((inv) => inv.stages ?? [])
      .filter((s) => s.stage === ref.stage)
      .reverse(); // the latest publish first
    const bazelBin = workspace ? join(workspace, "bazel-bin", packageOf(ref.pipeline)) : undefined;
    if (ref.role === "stage_manifest") {
      for (const s of journal) if (s.manifestPath) push({ path: s.manifestPath, kind: "stage_manifest" });
      if (bazelBin) push({ path: join(bazelBin, `${ref.stage}.manifest.json`), kind: "stage_manifest" });
    } else if (ref.role === "output" && ref.stageManifest !== null) {
      const recorded = journal.flatMap((s) => (s.manifestPath ? [s.manifestPath] : []));
      if (bazelBin) recorded.push(join(bazelBin, `${ref.stage}.manifest.json`));
      const manifest = await stageManifestOf(catalog, ref.stageManifest, recorded);
      const files = manifest?.outputs.filter((o) => o.digest === digest).map((o) => o.path) ?? [];
      for (const file of files) {
        for (const s of journal) if (s.dataDir) push({ path: join(s.dataDir, file), kind: "file" });
        if (bazelBin) push({ path: join(bazelBin, ref.stage, file), kind: "file" });
      }
    }
  }
  return out;
}

/** Tries each candidate in turn; stores the first that has the right bytes. */
async function repairBlob(catalog: Catalog, problem: FsckProblem, candidates: Candidate[]): Promise<void> {
  const tried: { path: string; result: string }[] = [];
  problem.repair = { repaired: false, source: null, tried };
  // a run's report (reports/<run>.html) is a hard link to its blob: re-linked below when it was this one
  const damagedInode = existsSync(problem.path) ? statSync(problem.path).ino : null;
  for (const c of candidates) {
    if (!existsSync(c.path)) {
      tried.push({ path: c.path, result: "absent" });
      continue;
    }
    try {
      if (c.kind === "stage_manifest") {
        const bytes = canonicalManifestBytes(c.path);
        if (bytes === null) {
          tried.push({ path: c.path, result: "not a nexa.v1.StageManifest" });
          continue;
        }
        await catalog.store.put(bytes, problem.digest);
      } else {
        await catalog.store.putFile(c.path, problem.digest);
      }
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw err;
      tried.push({ path: c.path, result: `different bytes (${String(err.context.actual ?? "?")})` });
      continue;
    }
    const after = await catalog.store.check(problem.digest);
    if (after.state !== "ok") {
      throw new IntegrityError("INTEGRITY_REPAIR", `blob ${problem.digest} is still ${after.state} after its repair`, {
        context: { path: problem.path, source: c.path },
        hint: "the registry's disk may be failing: check it, then run `nexa fsck` again",
      });
    }
    tried.push({ path: c.path, result: "restored" });
    problem.repair = { repaired: true, source: c.path, tried };
    for (const runId of new Set(problem.references.map((r) => r.runId))) {
      const report = catalog.reportPath(runId);
      if (report !== undefined && damagedInode !== null && statSync(report).ino === damagedInode) {
        await catalog.storeReport(runId, problem.digest);
      }
    }
    return;
  }
}

// ----------------------------------------------------------------------------------------------------------
// fsck

/** Re-hashes every stored blob and checks every blob the published runs need (see the header). */
export async function fsckRegistry(catalog: Catalog, options: FsckOptions = {}): Promise<FsckResult> {
  const refs = catalog.runReferences();
  const stored = await catalog.store.list();
  const result: FsckResult = { blobs: stored.length, bytes: 0, ok: 0, problems: [] };
  for (const digest of stored) {
    const check = await catalog.store.check(digest);
    result.bytes += check.sizeBytes ?? 0;
    if (check.state === "ok") {
      result.ok++;
      continue;
    }
    result.problems.push({
      digest: check.digest,
      path: check.path,
      state: check.state, // "missing": deleted since the listing
      actual: check.actual,
      references: refs.get(check.digest) ?? [],
      repair: null,
    });
  }
  const storedSet = new Set(stored);
  for (const [digest, references] of refs) {
    if (storedSet.has(digest)) continue;
    result.problems.push({
      digest,
      path: catalog.store.blobPath(digest),
      state: "missing",
      actual: null,
      references,
      repair: null,
    });
  }
  result.problems.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  if (options.repair) {
    // stage manifests first: repairing an output may need its (repaired) manifest to learn the output's path
    const order = (p: FsckProblem) => (p.references.some((r) => r.role === "stage_manifest") ? 0 : 1);
    for (const p of [...result.problems].sort((a, b) => order(a) - order(b))) {
      if (p.references.length === 0) continue; // nothing needs it: `gc --apply` deletes it
      await repairBlob(catalog, p, await candidatesFor(catalog, p.digest, p.references, options.workspace));
    }
  }
  return result;
}

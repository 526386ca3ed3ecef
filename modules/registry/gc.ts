// Garbage collection: `collectGarbage` finds the stored blobs no published run needs (Catalog.runReferences: run
// and stage manifests, stored configs, output files) and, with `apply`, deletes them with their roots, then
// re-derives the index. Leftovers of an interrupted publish or pull (files and manifests stored before their run
// manifest) are such blobs. It first rebuilds the index from the roots, so it never trusts a stale or damaged
// index (a damaged manifest stops it: run `nexa fsck` first), and it keeps every blob written or reused within the
// grace period (LocalStore refreshes a reused blob's mtime), so a publish in progress loses nothing.

import { stat } from "fs/promises";

import { IntegrityError } from "@nexa/modules/monitoring";

import type { Catalog } from "./catalog";

/** One blob no run needs. */
export interface GarbageBlob {
  digest: string;
  sizeBytes: number;
  /** The contract of a manifest or config (its root), "" for a data file. */
  schema: string;
  /** Written or reused within the grace period: kept. */
  young: boolean;
}

export interface GcResult {
  /** Stored blobs. */
  blobs: number;
  /** Blobs some run needs. */
  referenced: number;
  /** Blobs no run needs, by digest (young ones are kept even with `apply`). */
  garbage: GarbageBlob[];
  /** With `apply`: blobs deleted and their bytes. */
  deleted: number;
  bytesFreed: number;
  /** Bytes that deleting the old garbage frees (or freed). */
  bytesReclaimable: number;
}

export interface GcOptions {
  /** Delete the garbage (default: only report it). */
  apply?: boolean;
  /** Blobs written or reused more recently than this are kept (default 1 h: longer than any publish). */
  graceMs?: number;
  /** The current time (tests). */
  now?: number;
}

export const DEFAULT_GC_GRACE_MS = 3_600_000;

export async function collectGarbage(catalog: Catalog, options: GcOptions = {}): Promise<GcResult> {
  const graceMs = options.graceMs ?? DEFAULT_GC_GRACE_MS;
  const now = options.now ?? Date.now();
  // The references come from the stored manifests themselves: each must be intact before the index is rebuilt
  // from them (a rebuild that stopped halfway would leave the index without those runs).
  const damaged: string[] = [];
  for (const root of catalog.roots()) if ((await catalog.store.check(root)).state !== "ok") damaged.push(root);
  if (damaged.length > 0) {
    throw new IntegrityError(
      "INTEGRITY_GC_DAMAGED",
      `${damaged.length} stored manifest${damaged.length === 1 ? "" : "s"} damaged or missing (${damaged.join(", ")}): gc works out what runs need from them`,
      {
        context: { path: catalog.store.blobPath(damaged[0]) },
        hint: "run `nexa fsck --repair` first (or republish the runs it names)",
      },
    );
  }
  await catalog.rebuild();
  const refs = catalog.runReferences();
  const stored = await catalog.store.list();
  const result: GcResult = {
    blobs: stored.length,
    referenced: 0,
    garbage: [],
    deleted: 0,
    bytesFreed: 0,
    bytesReclaimable: 0,
  };
  for (const digest of stored) {
    if (refs.has(digest)) {
      result.referenced++;
      continue;
    }
    const info = await stat(catalog.store.blobPath(digest));
    const young = now - info.mtimeMs < graceMs;
    result.garbage.push({ digest, sizeBytes: info.size, schema: catalog.rootSchema(digest) ?? "", young });
    if (!young) result.bytesReclaimable += info.size;
  }
  if (!options.apply) return result;
  for (const g of result.garbage) {
    if (g.young) continue;
    // the root first: a root without its blob would stop `rebuild`, a blob without its root is only garbage again
    catalog.removeRoot(g.digest);
    if (await catalog.store.remove(g.digest)) {
      result.deleted++;
      result.bytesFreed += g.sizeBytes;
    }
  }
  await catalog.rebuild(); // drop the deleted artifacts from the index
  return result;
}

// Public face of modules/registry: content-addressed stores (local, HTTP) and the lineage catalog.
export { IO_CHUNK_BYTES } from "./blob_store";
export type { BlobStore, PutResult } from "./blob_store";
export { Catalog } from "./catalog";
export type { ArtifactRow, BlobReference, InvocationRecord, InvocationStage, RunRow, StageRow } from "./catalog";
export { fsckRegistry } from "./fsck";
export type { FsckOptions, FsckProblem, FsckResult } from "./fsck";
export { collectGarbage, DEFAULT_GC_GRACE_MS } from "./gc";
export type { GarbageBlob, GcOptions, GcResult } from "./gc";
export { HttpStore } from "./http_store";
export { LocalStore, nexaHome } from "./local_store";
export type { BlobCheck, LocalStoreOptions } from "./local_store";
export { CHECKOUTS_DIR, checkoutProduct, resolveProductArg } from "./checkout";
export type { CheckedOut } from "./checkout";
export { pullRun, pushRun, RUN_RECORD_FORMAT } from "./sync";
export type { SyncResult } from "./sync";

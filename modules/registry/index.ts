// Public face of modules/registry: content-addressed stores (local, HTTP) and the lineage catalog.
export { IO_CHUNK_BYTES } from "./blob_store";
export type { BlobStore, PutResult } from "./blob_store";
export { Catalog } from "./catalog";
export type { ArtifactRow, InvocationRecord, InvocationStage, RunRow, StageRow } from "./catalog";
export { HttpStore } from "./http_store";
export { LocalStore, nexaHome } from "./local_store";
export type { LocalStoreOptions } from "./local_store";
export { CHECKOUTS_DIR, checkoutProduct, resolveProductArg } from "./checkout";
export type { CheckedOut } from "./checkout";
export { pullRun, pushRun, RUN_RECORD_FORMAT } from "./sync";
export type { SyncResult } from "./sync";

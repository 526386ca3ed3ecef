// The blob-store interface shared by the local CAS (local_store.ts) and the HTTP CAS (http_store.ts).

/** Result of storing a blob. */
export interface PutResult {
  /** "sha256:<hex>" of the stored bytes. */
  digest: string;
  /** Bytes stored. */
  sizeBytes: number;
  /** True when the store already held the blob, intact (nothing was written). */
  existed: boolean;
  /** True when the store held a corrupted or truncated copy, which these bytes replaced. */
  replaced?: boolean;
}

/** A content-addressed blob store. Every read is verified against the digest it was asked for. */
export interface BlobStore {
  /** Stores bytes; idempotent. With `expectedDigest`, fails (IntegrityError) if the bytes hash differently. */
  put(bytes: Uint8Array, expectedDigest?: string): Promise<PutResult>;
  /** Stores a file's bytes, streamed; idempotent. With `expectedDigest`, fails if the file hashes differently. */
  putFile(path: string, expectedDigest?: string): Promise<PutResult>;
  /** The blob's bytes, verified (IntegrityError naming path, expected and actual digest on mismatch). */
  get(digest: string): Promise<Buffer>;
  /** Streams the blob into `destPath` (temp file + rename), verified before it becomes visible. */
  getToFile(digest: string, destPath: string): Promise<void>;
  /** Whether the store holds the blob (not verified). */
  has(digest: string): Promise<boolean>;
  /** All stored digests, sorted. */
  list(): Promise<string[]>;
}

/** Bytes per read/write when streaming blobs (large enough to amortize syscalls, small enough for caches). */
export const IO_CHUNK_BYTES = 4 << 20;

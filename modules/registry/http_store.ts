// Remote content-addressed store speaking Bazel's HTTP cache protocol: PUT/GET/HEAD <base>/cas/<sha256 hex>.
// Any server that serves a Bazel remote cache (nginx WebDAV, bazel-remote, …) serves published artifacts.
// Same interface as LocalStore; every download is hashed while streaming and verified before it is visible.

import { createHash, randomBytes } from "crypto";
import { once } from "events";
import { createReadStream, createWriteStream } from "fs";
import { rename, unlink } from "fs/promises";
import http from "http";

import { DIGEST_PREFIX, digestBytes, digestFile, digestHex } from "@nexa/modules/manifest";
import { IntegrityError, RegistryError } from "@nexa/modules/monitoring";

import { IO_CHUNK_BYTES } from "./blob_store";
import type { BlobStore, PutResult } from "./blob_store";

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

export class HttpStore implements BlobStore {
  private readonly base: URL;

  /** `baseUrl` is the cache root, e.g. "http://127.0.0.1:9090" (blobs at <baseUrl>/cas/<hex>). */
  constructor(baseUrl: string) {
    this.base = new URL(baseUrl.endsWith("/") ? baseUrl : baseUrl + "/");
    if (this.base.protocol !== "http:") {
      throw new RegistryError("REGISTRY_CONFIG", `unsupported remote store URL ${baseUrl}`, {
        hint: "use http://host:port",
      });
    }
  }

  urlOf(digest: string): URL {
    return new URL(`cas/${digestHex(digest)}`, this.base);
  }

  /** One request; resolves with the response (body not consumed) or rejects with a RegistryError. */
  private request(
    method: string,
    digest: string,
    body?: NodeJS.ReadableStream | Buffer,
    size?: number,
  ): Promise<http.IncomingMessage> {
    return this.requestUrl(method, this.urlOf(digest), body, size);
  }

  private requestUrl(
    method: string,
    url: URL,
    body?: NodeJS.ReadableStream | Buffer,
    size?: number,
  ): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = size !== undefined ? { "content-length": size } : {};
      const req = http.request(url, { method, agent, headers }, resolve);
      req.on("error", (err) =>
        reject(
          new RegistryError("REGISTRY_HTTP", `${method} ${url.href} failed: ${err.message}`, {
            context: { url: url.href },
            cause: err,
            hint: "is the remote cache running and reachable?",
          }),
        ),
      );
      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else body.pipe(req);
    });
  }

  private statusError(method: string, digest: string, res: http.IncomingMessage): RegistryError {
    res.resume();
    const url = this.urlOf(digest).href;
    return new RegistryError(
      "REGISTRY_HTTP",
      `${method} ${url} answered ${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
      {
        context: { url, status: res.statusCode ?? 0 },
        hint: "check the server's logs and that it accepts PUT on /cas/",
      },
    );
  }

  async has(digest: string): Promise<boolean> {
    const res = await this.request("HEAD", digest);
    res.resume();
    if (res.statusCode === 200) return true;
    if (res.statusCode === 404) return false;
    throw this.statusError("HEAD", digest, res);
  }

  private async upload(digest: string, size: number, body: () => NodeJS.ReadableStream | Buffer): Promise<PutResult> {
    if (await this.has(digest)) return { digest, sizeBytes: size, existed: true };
    const res = await this.request("PUT", digest, body(), size);
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 201 && res.statusCode !== 204)
      throw this.statusError("PUT", digest, res);
    return { digest, sizeBytes: size, existed: false };
  }

  private checkExpected(source: string, digest: string, expected?: string): void {
    if (expected !== undefined && digestHex(expected) !== digestHex(digest)) {
      throw new IntegrityError(
        "INTEGRITY_DIGEST",
        `${source}: digest ${digest}, expected ${DIGEST_PREFIX + digestHex(expected)}`,
        {
          context: { path: source, expected: DIGEST_PREFIX + digestHex(expected), actual: digest },
        },
      );
    }
  }

  async put(bytes: Uint8Array, expectedDigest?: string): Promise<PutResult> {
    const digest = digestBytes(bytes);
    this.checkExpected("<memory>", digest, expectedDigest);
    return this.upload(digest, bytes.length, () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  }

  async putFile(path: string, expectedDigest?: string): Promise<PutResult> {
    // The URL names the digest, so the file is hashed first, then streamed (read twice, constant memory).
    const { digest, sizeBytes } = await digestFile(path);
    this.checkExpected(path, digest, expectedDigest);
    return this.upload(digest, sizeBytes, () => createReadStream(path, { highWaterMark: IO_CHUNK_BYTES }));
  }

  /** GETs a blob, feeding chunks to `sink`; verifies the digest at the end. */
  private async download(digest: string, sink: (chunk: Buffer) => void | Promise<void>): Promise<void> {
    const res = await this.request("GET", digest);
    if (res.statusCode === 404) {
      res.resume();
      throw new RegistryError(
        "REGISTRY_NOT_FOUND",
        `blob ${DIGEST_PREFIX + digestHex(digest)} is not in the remote store`,
        {
          context: { url: this.urlOf(digest).href, digest },
          hint: "publish the artifact to the remote store first",
        },
      );
    }
    if (res.statusCode !== 200) throw this.statusError("GET", digest, res);
    const hash = createHash("sha256");
    for await (const chunk of res) {
      hash.update(chunk as Buffer);
      await sink(chunk as Buffer);
    }
    const actual = hash.digest("hex");
    if (actual !== digestHex(digest)) {
      const url = this.urlOf(digest).href;
      throw new IntegrityError(
        "INTEGRITY_DIGEST",
        `corrupted blob ${url}: expected ${DIGEST_PREFIX + digestHex(digest)}, actual ${DIGEST_PREFIX + actual}`,
        {
          context: { path: url, expected: DIGEST_PREFIX + digestHex(digest), actual: DIGEST_PREFIX + actual },
          hint: "delete the blob on the server and publish it again",
        },
      );
    }
  }

  async get(digest: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    await this.download(digest, (c) => {
      chunks.push(c);
    });
    return Buffer.concat(chunks);
  }

  async getToFile(digest: string, destPath: string): Promise<void> {
    const tempPath = `${destPath}.${randomBytes(6).toString("hex")}.partial`;
    const out = createWriteStream(tempPath, { flags: "wx" });
    await once(out, "open");
    try {
      await this.download(digest, async (c) => {
        if (!out.write(c)) await once(out, "drain");
      });
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
    } catch (err) {
      // Let queued writes settle before deleting the temp file; `err` (the primary failure) is rethrown.
      out.end();
      await once(out, "close").catch(() => undefined);
      await unlink(tempPath).catch(() => undefined);
      throw err;
    }
    await rename(tempPath, destPath);
  }

  /** URL of a named record: <base>/ac/<64 hex> (the server's action-cache namespace, keyed by a name, not content). */
  refUrlOf(name: string): URL {
    if (!/^[0-9a-f]{64}$/.test(name)) throw new TypeError(`a record name is 64 lowercase hex, got ${name}`);
    return new URL(`ac/${name}`, this.base);
  }

  /**
   * Stores `bytes` under a name (e.g. a run id) in the server's /ac/ namespace. bazel-remote accepts arbitrary bytes
   * there only with --disable_http_ac_validation (tools/rbe/cache.sh starts it so).
   */
  async putRef(name: string, bytes: Buffer): Promise<void> {
    const url = this.refUrlOf(name);
    const res = await this.requestUrl("PUT", url, bytes, bytes.length);
    res.resume();
    if (res.statusCode !== 200 && res.statusCode !== 201 && res.statusCode !== 204) {
      throw new RegistryError(
        "REGISTRY_HTTP",
        `PUT ${url.href} answered ${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
        {
          context: { url: url.href, status: res.statusCode ?? 0 },
          hint: "the server must accept PUT on /ac/ (bazel-remote: --disable_http_ac_validation)",
        },
      );
    }
  }

  /** The bytes stored under a name, or undefined when there are none. */
  async getRef(name: string): Promise<Buffer | undefined> {
    const url = this.refUrlOf(name);
    const res = await this.requestUrl("GET", url);
    if (res.statusCode === 404) {
      res.resume();
      return undefined;
    }
    if (res.statusCode !== 200) {
      res.resume();
      throw new RegistryError(
        "REGISTRY_HTTP",
        `GET ${url.href} answered ${res.statusCode} ${res.statusMessage ?? ""}`.trim(),
        {
          context: { url: url.href, status: res.statusCode ?? 0 },
        },
      );
    }
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  async list(): Promise<string[]> {
    throw new RegistryError("REGISTRY_UNSUPPORTED", "the HTTP cache protocol has no listing", {
      context: { url: this.base.href },
      hint: "list the local store, or the server's storage directory",
    });
  }
}

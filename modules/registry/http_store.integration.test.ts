// HttpStore against a REAL nginx (WebDAV) started by the test: Bazel's HTTP cache protocol, /cas/<sha256>.

import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { digestBytes } from "@nexa/modules/manifest";
import { IntegrityError, RegistryError } from "@nexa/modules/monitoring";

import { HttpStore } from "./index";
import { startNginx } from "./testing/nginx";
import type { NginxServer } from "./testing/nginx";
import { blobBytes } from "./testing/put_worker";

let server: NginxServer;
let store: HttpStore;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), "nginx-"));
  server = await startNginx(join(work, "prefix"));
  store = new HttpStore(server.url);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

describe("HttpStore (nginx WebDAV)", () => {
  it("put / has / get round trip, idempotent", async () => {
    const bytes = Buffer.from("remote hello");
    const digest = digestBytes(bytes);
    expect(await store.has(digest)).toBe(false);
    expect(await store.put(bytes)).toEqual({ digest, sizeBytes: bytes.length, existed: false });
    expect(await store.has(digest)).toBe(true);
    expect((await store.put(bytes)).existed).toBe(true);
    expect(await store.get(digest)).toEqual(bytes);
    // Bazel's layout: the server holds the bytes at /cas/<hex>.
    expect(readFileSync(join(server.dataDir, "cas", digest.slice(7)))).toEqual(bytes);
  });

  it("streams large files both ways", async () => {
    const bytes = blobBytes(3, 12 * (1 << 20) + 5);
    writeFileSync(join(work, "big.bin"), bytes);
    const { digest } = await store.putFile(join(work, "big.bin"));
    await store.getToFile(digest, join(work, "big.out"));
    expect(readFileSync(join(work, "big.out")).equals(bytes)).toBe(true);
  }, 30_000);

  it("detects a corrupted blob on the server", async () => {
    const bytes = Buffer.from("will be corrupted");
    const { digest } = await store.put(bytes);
    const onServer = join(server.dataDir, "cas", digest.slice(7));
    chmodSync(onServer, 0o644);
    writeFileSync(onServer, "tampered!");
    const err = await store.get(digest).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.context).toMatchObject({ expected: digest, actual: digestBytes("tampered!") });
    await expect(store.getToFile(digest, join(work, "bad.out"))).rejects.toBeInstanceOf(IntegrityError);
  });

  it("reports a missing blob and a dead server as RegistryErrors", async () => {
    const missing = await store.get(digestBytes("absent")).catch((e) => e);
    expect(missing).toBeInstanceOf(RegistryError);
    expect(missing.code).toBe("REGISTRY_NOT_FOUND");
    const dead = await new HttpStore("http://127.0.0.1:1").has(digestBytes("x")).catch((e) => e);
    expect(dead.code).toBe("REGISTRY_HTTP");
    await expect(store.list()).rejects.toMatchObject({ code: "REGISTRY_UNSUPPORTED" });
  });
});

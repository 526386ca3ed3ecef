// LocalStore: idempotent puts, verified reads, crash safety and concurrent writers in several processes.

import { fork } from "child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

import { digestBytes } from "@nexa/modules/manifest";
import { IntegrityError, RegistryError } from "@nexa/modules/monitoring";

import { LocalStore, nexaHome } from "./index";
import { blobBytes } from "./testing/put_worker";
import { bundleWorker } from "./testing/bundle";

function tempHome(): string {
  return mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), "nexa-home-"));
}

/** Runs the bundled worker in a child process; resolves with its exit code/signal and reported digests. */
function runWorker(
  script: string,
  args: string[],
): Promise<{ code: number | null; signal: string | null; digests: string[] }> {
  return new Promise((resolve, reject) => {
    const child = fork(script, args, { stdio: ["ignore", "pipe", "pipe", "ipc"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (err += c));
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`worker failed (${code}): ${err}`));
      const line = out.trim().split("\n").filter(Boolean).pop();
      resolve({ code, signal, digests: line ? (JSON.parse(line).digests as string[]) : [] });
    });
  });
}

let workerScript: string;
beforeAll(async () => {
  workerScript = await bundleWorker(join(process.env.TEST_TMPDIR ?? tmpdir(), "put_worker.js"));
}, 60_000);

describe("LocalStore", () => {
  it("stores under cas/sha256/ab/cdef… and is idempotent", async () => {
    const home = tempHome();
    const store = new LocalStore(home);
    const bytes = Buffer.from("hello nexa");
    const first = await store.put(bytes);
    const hex = first.digest.slice("sha256:".length);
    expect(first).toEqual({ digest: digestBytes(bytes), sizeBytes: bytes.length, existed: false });
    expect(existsSync(join(home, "cas", "sha256", hex.slice(0, 2), hex.slice(2)))).toBe(true);
    expect((await store.put(bytes)).existed).toBe(true);
    expect(await store.get(first.digest)).toEqual(bytes);
    expect(await store.has(first.digest)).toBe(true);
    expect(await store.has(digestBytes("other"))).toBe(false);
    expect(await store.list()).toEqual([first.digest]);
    expect(await store.listTemp()).toEqual([]);
  });

  it("putFile streams large files and getToFile restores them", async () => {
    const home = tempHome();
    const store = new LocalStore(home);
    const bytes = blobBytes(9, 9 * (1 << 20) + 3);
    writeFileSync(join(home, "src.bin"), bytes);
    const { digest } = await store.putFile(join(home, "src.bin"), digestBytes(bytes));
    await store.getToFile(digest, join(home, "out.bin"));
    expect(readFileSync(join(home, "out.bin")).equals(bytes)).toBe(true);
  });

  it("putFile of a stored blob with its digest hashes the source and copies nothing; a damaged blob is replaced", async () => {
    const home = tempHome();
    const bytes = blobBytes(3, 70_000);
    const src = join(home, "src.bin");
    writeFileSync(src, bytes);
    const digest = digestBytes(bytes);
    const renames: string[] = [];
    const store = () => new LocalStore(home, { beforeRename: async (p) => void renames.push(p) });
    expect(await store().putFile(src, digest)).toEqual({ digest, sizeBytes: bytes.length, existed: false });
    expect(renames).toHaveLength(1);
    const path = store().blobPath(digest);
    const inode = statSync(path).ino;
    // a new store (a new publish): the stored blob is hashed once, the source is hashed, nothing is copied
    expect(await store().putFile(src, digest)).toEqual({ digest, sizeBytes: bytes.length, existed: true });
    expect(renames).toHaveLength(1);
    expect(statSync(path).ino).toBe(inode);
    expect(await store().listTemp()).toEqual([]);
    // a source that does not hash to the digest it is put with is refused, whether or not that blob is stored
    const other = join(home, "other.bin");
    writeFileSync(other, "other bytes");
    const err = await store()
      .putFile(other, digest)
      .catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.context).toMatchObject({ path: other, expected: digest, actual: digestBytes("other bytes") });
    // same size, different bytes in the store: the put copies the source over it
    chmodSync(path, 0o644);
    const flipped = Buffer.from(bytes);
    flipped[100] ^= 1;
    writeFileSync(path, flipped);
    expect(await store().putFile(src, digest)).toEqual({
      digest,
      sizeBytes: bytes.length,
      existed: false,
      replaced: true,
    });
    expect(renames).toHaveLength(2);
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  it("rejects a put whose bytes do not match the expected digest", async () => {
    const store = new LocalStore(tempHome());
    await expect(store.put(Buffer.from("a"), digestBytes("b"))).rejects.toBeInstanceOf(IntegrityError);
    expect(await store.list()).toEqual([]);
    expect(await store.listTemp()).toEqual([]);
  });

  it("detects corrupted and truncated blobs on read, naming path, expected and actual digest", async () => {
    const store = new LocalStore(tempHome());
    const { digest } = await store.put(blobBytes(1, 4096));
    const path = store.blobPath(digest);
    chmodSync(path, 0o644);
    truncateSync(path, 100);
    const err = await store.get(digest).catch((e) => e);
    expect(err).toBeInstanceOf(IntegrityError);
    expect(err.message).toContain(path);
    expect(err.context).toMatchObject({
      path,
      expected: digest,
      actual: digestBytes(blobBytes(1, 4096).subarray(0, 100)),
    });
    writeFileSync(path, "garbage");
    await expect(store.getToFile(digest, join(store.home, "out"))).rejects.toThrow(/corrupted blob/);
    expect(existsSync(join(store.home, "out"))).toBe(false);
  });

  it("check() re-hashes without throwing; a put replaces a corrupted or truncated blob, remove() deletes one", async () => {
    const home = tempHome();
    const bytes = blobBytes(2, 4096);
    const { digest } = await new LocalStore(home).put(bytes);
    const path = new LocalStore(home).blobPath(digest);
    expect(await new LocalStore(home).check(digest)).toEqual({
      digest,
      path,
      state: "ok",
      actual: digest,
      sizeBytes: 4096,
    });
    // same size, different bytes: only the hash tells, and a store of this process has not hashed it since
    chmodSync(path, 0o644);
    const flipped = Buffer.from(bytes);
    flipped[7] ^= 1;
    writeFileSync(path, flipped);
    const store = new LocalStore(home);
    expect(await store.check(digest)).toMatchObject({ state: "corrupted", actual: digestBytes(flipped) });
    expect(await store.put(bytes)).toEqual({ digest, sizeBytes: 4096, existed: false, replaced: true });
    expect((await store.get(digest)).equals(bytes)).toBe(true);
    // a truncated blob is caught by its size, even after a verified use
    chmodSync(path, 0o644);
    truncateSync(path, 10);
    expect(await store.put(bytes)).toMatchObject({ existed: false, replaced: true });
    expect(await store.put(bytes)).toEqual({ digest, sizeBytes: 4096, existed: true });
    expect(await store.remove(digest)).toBe(true);
    expect(await store.remove(digest)).toBe(false);
    expect(await store.check(digest)).toEqual({ digest, path, state: "missing", actual: null, sizeBytes: null });
  });

  it("reports a missing blob as REGISTRY_NOT_FOUND", async () => {
    const err = await new LocalStore(tempHome()).get(digestBytes("nope")).catch((e) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect(err.code).toBe("REGISTRY_NOT_FOUND");
  });

  it("defaults to ~/.nexa and honours NEXA_HOME", () => {
    expect(nexaHome({ NEXA_HOME: "/x/y" })).toBe("/x/y");
    expect(nexaHome({})).toMatch(/\.nexa$/);
  });
});

describe("LocalStore across processes", () => {
  it("concurrent puts of the same and of different blobs from several processes", async () => {
    const home = tempHome();
    const shared = "1:3000000"; // every worker writes this blob
    const results = await Promise.all(
      [2, 3, 4, 5].map((seed) => runWorker(workerScript, [home, "put", shared, `${seed}:1000000`, shared])),
    );
    const store = new LocalStore(home);
    const expected = new Set<string>([digestBytes(blobBytes(1, 3000000))]);
    for (const [i, r] of results.entries()) {
      expect(r.code).toBe(0);
      expect(r.digests[0]).toBe(r.digests[2]);
      expect(r.digests[1]).toBe(digestBytes(blobBytes(i + 2, 1000000)));
      r.digests.forEach((d) => expected.add(d));
    }
    expect(await store.list()).toEqual([...expected].sort());
    for (const d of expected) await store.get(d); // verified reads
    expect(await store.listTemp()).toEqual([]);
  }, 60_000);

  it("a crash between temp write and rename leaves no visible partial blob", async () => {
    const home = tempHome();
    const result = await runWorker(workerScript, [home, "crash", "7:2000000"]);
    expect(result.signal).toBe("SIGKILL");
    const store = new LocalStore(home);
    const digest = digestBytes(blobBytes(7, 2000000));
    expect(await store.has(digest)).toBe(false);
    expect(await store.list()).toEqual([]);
    expect(await store.listTemp()).toHaveLength(1); // the orphan temp file, invisible to readers
    expect(await store.cleanTemp(0)).toBe(1);
    // A rerun completes normally.
    const rerun = await runWorker(workerScript, [home, "put", "7:2000000"]);
    expect(rerun.digests).toEqual([digest]);
    expect((await store.get(digest)).length).toBe(2000000);
  }, 60_000);
});

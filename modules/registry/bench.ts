// Benchmark: `bazel run //modules/registry:bench [-- --mb 256 --runs 3 --dir /path]`.
//
// Measures, on the same bytes in the same run, MB/s of
//   copy        fs.copyFile(src, dst)                     (the yardstick)
//   put         LocalStore.putFile(src)                   (hash + write temp + fsync + rename)
//   get         LocalStore.getToFile(digest, dst)         (read + hash-verify + write + rename)
// for one large blob and for many small ones, best of --runs, and reports the ratio to copy (target ≥ 0.5×
// for large blobs). Page cache is warm for all three, so the comparison is of CPU and syscall cost.

import { randomBytes } from "crypto";
import { mkdtempSync, rmSync } from "fs";
import { copyFile, open, rm } from "fs/promises";
import { tmpdir } from "os";
import { join } from "path";

import { LocalStore } from "./local_store";

interface Options {
  mb: number;
  runs: number;
  dir: string;
  smallCount: number;
  smallKb: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { mb: 256, runs: 3, dir: tmpdir(), smallCount: 256, smallKb: 64 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === "--mb") opts.mb = Number(value);
    else if (flag === "--runs") opts.runs = Number(value);
    else if (flag === "--dir") opts.dir = value;
    else if (flag === "--small-count") opts.smallCount = Number(value);
    else if (flag === "--small-kb") opts.smallKb = Number(value);
    else throw new Error(`unknown flag ${flag} (flags: --mb N --runs N --dir PATH --small-count N --small-kb N)`);
  }
  return opts;
}

async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const handle = await open(path, "w");
  const chunk = 8 << 20;
  for (let done = 0; done < bytes; done += chunk) await handle.write(randomBytes(Math.min(chunk, bytes - done)));
  await handle.close();
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

/** Best-of-runs seconds for copy/put/get over `files` (each a path of `bytesEach` bytes). */
async function measure(work: string, files: string[], runs: number) {
  const best = { copy: Infinity, put: Infinity, get: Infinity };
  for (let run = 0; run < runs; run++) {
    const store = new LocalStore(join(work, `home-${run}`));
    best.copy = Math.min(
      best.copy,
      await timed(async () => {
        for (const [i, f] of files.entries()) await copyFile(f, join(work, `copy-${i}`));
      }),
    );
    const digests: string[] = [];
    best.put = Math.min(
      best.put,
      await timed(async () => {
        for (const f of files) digests.push((await store.putFile(f)).digest);
      }),
    );
    best.get = Math.min(
      best.get,
      await timed(async () => {
        for (const [i, d] of digests.entries()) await store.getToFile(d, join(work, `get-${i}`));
      }),
    );
    await rm(store.home, { recursive: true, force: true });
    for (let i = 0; i < files.length; i++) {
      await rm(join(work, `copy-${i}`), { force: true });
      await rm(join(work, `get-${i}`), { force: true });
    }
  }
  return best;
}

function report(label: string, totalBytes: number, best: { copy: number; put: number; get: number }): boolean {
  const mbps = (s: number) => totalBytes / (1 << 20) / s;
  const copy = mbps(best.copy);
  const line = (name: string, s: number) =>
    `  ${name.padEnd(5)} ${mbps(s).toFixed(0).padStart(7)} MB/s  ${(mbps(s) / copy).toFixed(2)}× copy`;
  console.log(`${label} (${(totalBytes / (1 << 20)).toFixed(1)} MiB total)`);
  console.log(line("copy", best.copy));
  console.log(line("put", best.put));
  console.log(line("get", best.get));
  return mbps(best.put) >= 0.5 * copy && mbps(best.get) >= 0.5 * copy;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const work = mkdtempSync(join(opts.dir, "nexa-bench-"));
  try {
    const large = join(work, "large.bin");
    await writeRandomFile(large, opts.mb << 20);
    const ok = report(`large blob, best of ${opts.runs}`, opts.mb << 20, await measure(work, [large], opts.runs));

    const small: string[] = [];
    for (let i = 0; i < opts.smallCount; i++) {
      small.push(join(work, `small-${i}.bin`));
      await writeRandomFile(small[i], opts.smallKb << 10);
    }
    report(
      `${opts.smallCount} small blobs of ${opts.smallKb} KiB, best of ${opts.runs}`,
      opts.smallCount * (opts.smallKb << 10),
      await measure(work, small, opts.runs),
    );
    console.log(
      ok
        ? "target met: put and get ≥ 0.5× copy for the large blob"
        : "TARGET MISSED: put or get < 0.5× copy for the large blob",
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

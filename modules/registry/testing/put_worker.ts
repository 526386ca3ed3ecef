// Test helper run in a child process (bundled by the tests with esbuild, started with child_process.fork).
//
// argv: <nexa home> <mode> <blob specs…>   where a spec is "<seed>:<size>" and mode is
//   put    store each blob; print one JSON line {"digests":[…]} on stdout
//   crash  like put, but SIGKILL this process between the temp write and the rename of the first blob

import { LocalStore } from "../local_store";

/** Deterministic pseudo-random bytes (xorshift32) so parent and children can agree on content. */
export function blobBytes(seed: number, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

async function main(): Promise<void> {
  const [home, mode, ...specs] = process.argv.slice(2);
  const store = new LocalStore(home, {
    beforeRename:
      mode === "crash"
        ? () => {
            process.kill(process.pid, "SIGKILL");
          }
        : undefined,
  });
  const digests: string[] = [];
  for (const spec of specs) {
    const [seed, size] = spec.split(":").map(Number);
    digests.push((await store.put(blobBytes(seed, size))).digest);
  }
  process.stdout.write(JSON.stringify({ digests }) + "\n");
}

if (require.main === module) {
  main().catch((err) => {
    process.stderr.write(String(err?.stack ?? err) + "\n");
    process.exit(1);
  });
}

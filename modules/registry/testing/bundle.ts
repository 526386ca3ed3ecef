// Test helper: bundles testing/put_worker.ts (and what it imports) into one .js file that a child process
// can run with plain node. "@nexa/…" imports are resolved through the test runner's own resolver (jest's
// require.resolve honours its module mapping), so the bundle sees exactly the modules the tests see.

import { build } from "esbuild";
import { join, sep } from "path";

/** node_modules directory that holds the npm packages the tests use. */
function nodeModulesDir(): string {
  const pino = require.resolve("pino");
  const i = pino.lastIndexOf(`${sep}node_modules${sep}`);
  return pino.slice(0, i + `${sep}node_modules`.length);
}

export async function bundleWorker(outfile: string): Promise<string> {
  await build({
    entryPoints: [join(__dirname, "put_worker.ts")],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    logLevel: "silent",
    preserveSymlinks: true, // stay inside the runfiles tree under Bazel
    nodePaths: [nodeModulesDir()],
    external: ["better-sqlite3"],
    plugins: [
      {
        name: "nexa-resolve",
        setup(b) {
          b.onResolve({ filter: /^@nexa\// }, (args) => ({ path: require.resolve(args.path) }));
        },
      },
    ],
  });
  return outfile;
}

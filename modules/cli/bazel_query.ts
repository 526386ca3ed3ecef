// `bazel query` for the policy commands (graph, lint, test): run in the workspace with $NEXA_BAZEL (default bazel),
// its failure an environment error carrying Bazel's own message.
import { spawnSync } from "child_process";

import { NexaError } from "@nexa/modules/monitoring";

import { bazelEnv } from "./run_pipeline";

export interface BazelOptions {
  workspace: string;
  /** The bazel binary ($NEXA_BAZEL, default "bazel"). */
  bazel: string;
  env: Record<string, string | undefined>;
}

/** The bazel binary a command uses: $NEXA_BAZEL, else `bazel` on PATH. */
export function bazelOf(env: Record<string, string | undefined>): string {
  return env.NEXA_BAZEL || "bazel";
}

/** Runs `bazel <args>` in the workspace; resolves to stdout, or throws BAZEL_FAILED with the tail of stderr. */
export function bazelOutput(o: BazelOptions, args: string[]): string {
  const r = spawnSync(o.bazel, args, {
    cwd: o.workspace,
    encoding: "utf8",
    maxBuffer: 256 << 20,
    env: bazelEnv(o.env as NodeJS.ProcessEnv),
  });
  if (r.error) {
    throw new NexaError("BAZEL_NOT_FOUND", `cannot run ${o.bazel}: ${r.error.message}`, {
      context: { workspace: o.workspace },
      hint: "install Bazel 4.2.3 (`bash tools/setup/setup.sh`) or point $NEXA_BAZEL at it; `nexa doctor` checks it",
    });
  }
  if (r.status !== 0) {
    // the errors (every one, e.g. each visibility refusal under --keep_going), else the last lines
    const lines = r.stderr.trim().split("\n");
    const errors = lines.filter((l) => l.startsWith("ERROR: "));
    const tail = (errors.length > 0 ? errors : lines).slice(-30).join("\n");
    throw new NexaError("BAZEL_FAILED", `\`bazel ${args.join(" ")}\` exited ${r.status}:\n${tail}`, {
      context: { workspace: o.workspace },
      hint: "fix what Bazel reports above (a BUILD file error names its file and line), then run the command again",
    });
  }
  return r.stdout;
}

/** `"//a:b" -> "//c:d"` lines of `bazel query --output=graph --nograph:factored` as [from, to] pairs. */
export function parseGraphOutput(text: string): [string, string][] {
  const edges: [string, string][] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*"([^"]+)"\s*->\s*"([^"]+)"/.exec(line);
    if (m) edges.push([m[1], m[2]]);
  }
  return edges;
}

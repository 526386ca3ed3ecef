// Test helper: one nexa command line run in-process with captured streams.
import { runNexa } from "../commands";
import type { PipelinePlan } from "../publish";

/** Runs `nexa <args>` with `env` as its environment; resolves to the exit code and what it wrote. */
export async function nexa(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runNexa(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

/**
 * The pipeline plan of stages run in one stage-testing workspace (`runIn` of //modules/stage:stage_testing writes
 * `<stage>.manifest.json`, `<stage>/`, `<stage>.log.jsonl` and `<stage>.config.json` there), as nexa_pipeline
 * would write it for `nexa publish`.
 */
export function workspacePlan(
  pipeline: string,
  stages: readonly string[],
  options: { module?: (stage: string) => string; overrides?: PipelinePlan["overrides"] } = {},
): PipelinePlan {
  return {
    schemaVersion: 1,
    pipeline,
    reportStage: "eval",
    stages: stages.map((s) => ({
      stage: s,
      module: options.module ? options.module(s) : "modules/x",
      kind: "k",
      manifest: `${s}.manifest.json`,
      data: s,
      log: `${s}.log.jsonl`,
      config: `${s}.config.json`,
      configSchema: "",
    })),
    overrides: options.overrides ?? [],
  };
}

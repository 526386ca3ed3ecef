// `nexa publish --pipeline-file=F --root=D`: store a built pipeline's outputs and write its RunManifest (run by
// `bazel run //pipelines:<name>`); exit 1 when the rubric fails.
import type { Command } from "commander";
import * as path from "path";

import { createLogger } from "@nexa/modules/monitoring";

import { EXIT } from "./context";
import type { CommandContext } from "./context";
import { logDestination } from "./log_format";
import { formatSummary, loadPlan, pipelineName, publishPipeline } from "./publish";

export function register(program: Command, ctx: CommandContext): void {
  program
    .command("publish")
    .description("publish a built pipeline (run by `bazel run //pipelines:<name>`)")
    .requiredOption("--pipeline-file <file>", "plan written by nexa_pipeline")
    .requiredOption("--root <dir>", "directory the plan's paths are relative to (the workspace runfiles directory)")
    .action(async (opts: { pipelineFile: string; root: string }) => {
      const plan = loadPlan(opts.pipelineFile);
      const name = pipelineName(plan.pipeline);
      // Structured lines go to the registry's log directory (and, pretty or JSON, to stderr); stdout carries the
      // summary for the operator.
      const home = ctx.home();
      const logFile = path.join(home, "logs", `publish-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
      const log = createLogger({ runId: "", stage: "publish", destination: logDestination(ctx, logFile) });
      const result = await publishPipeline(plan, {
        root: opts.root,
        home,
        workspace: ctx.env.BUILD_WORKSPACE_DIRECTORY,
        log,
      });
      ctx.io.out(formatSummary(result) + "\n");
      ctx.io.out(`log: ${logFile}\n`);
      ctx.io.out(`${name}: run_id=${result.runId} rubric=${result.rubric} report=${result.reportPath ?? "-"}\n`);
      if (result.rubric === "fail") ctx.setExit(EXIT.rubricFailed);
    });
}

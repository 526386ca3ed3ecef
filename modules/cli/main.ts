// nexa: the operator's command. It drives modules through their public faces and holds no module's logic.
//   nexa publish --pipeline-file=F      store a built pipeline's outputs, write its RunManifest (used by bazel run)
//   nexa runs                           list published runs
//   nexa lineage DIGEST [--descendants] what an artifact was derived from (or what derives from it)
//   nexa verify DIGEST                  re-hash a stored blob
//   nexa rebuild-index                  re-derive the SQLite index from the stored manifests
import { Command } from "commander";
import * as path from "path";

import { createLogger, formatError } from "@nexa/modules/monitoring";
import { Catalog, LocalStore, nexaHome } from "@nexa/modules/registry";

import { formatSummary, loadPlan, pipelineName, publishPipeline } from "./publish";

function withCatalog<T>(home: string, fn: (c: Catalog) => Promise<T> | T): Promise<T> {
  const catalog = new Catalog(new LocalStore(home));
  return Promise.resolve(fn(catalog)).finally(() => catalog.close());
}

async function main(argv: string[]): Promise<number> {
  const program = new Command("nexa").description("NexaCompute operator command").showHelpAfterError();
  program.option("--home <dir>", "registry home ($NEXA_HOME, default ~/.nexa)");
  const home = (): string => (program.opts().home as string | undefined) ?? nexaHome();
  let exitCode = 0;

  program
    .command("publish")
    .description("publish a built pipeline (run by `bazel run //pipelines:<name>`)")
    .requiredOption("--pipeline-file <file>", "plan written by nexa_pipeline")
    .requiredOption("--root <dir>", "directory the plan's paths are relative to (the workspace runfiles directory)")
    .action(async (opts: { pipelineFile: string; root: string }) => {
      const plan = loadPlan(opts.pipelineFile);
      const name = pipelineName(plan.pipeline);
      // Structured lines go to the registry's log directory; stdout carries the summary for the operator.
      const logFile = path.join(home(), "logs", `publish-${new Date().toISOString().replace(/[:.]/g, "-")}.jsonl`);
      const log = createLogger({ runId: "", stage: "publish", destination: logFile });
      const result = await publishPipeline(plan, {
        root: opts.root,
        home: home(),
        workspace: process.env.BUILD_WORKSPACE_DIRECTORY,
        log,
      });
      process.stdout.write(formatSummary(result) + "\n");
      process.stdout.write(`log: ${logFile}\n`);
      process.stdout.write(`${name}: run_id=${result.runId} rubric=${result.rubric} report=${result.reportPath ?? "-"}\n`);
      if (result.rubric === "fail") exitCode = 1;
    });

  program
    .command("runs")
    .description("list published runs")
    .action(() => withCatalog(home(), (c) => {
      for (const r of c.runs()) process.stdout.write(`${r.run_id}  ${r.pipeline}  ${r.manifest_digest}\n`);
    }));

  program
    .command("lineage <digest>")
    .description("ancestors of an artifact (what it was derived from)")
    .option("--descendants", "list what derives from it instead")
    .action((digest: string, opts: { descendants?: boolean }) => withCatalog(home(), (c) => {
      const rows = opts.descendants ? c.descendants(digest) : c.ancestors(digest);
      for (const d of rows) {
        const a = c.artifact(d);
        process.stdout.write(`${d}  ${a?.schema_name || a?.media_type || "?"}\n`);
      }
    }));

  program
    .command("verify <digest>")
    .description("re-hash a stored blob against its digest")
    .action(async (digest: string) => {
      const bytes = await new LocalStore(home()).get(digest);
      process.stdout.write(`${digest}: ok (${bytes.length} bytes)\n`);
    });

  program
    .command("rebuild-index")
    .description("re-derive the SQLite index from the stored manifests")
    .action(() => withCatalog(home(), (c) => c.rebuild()));

  await program.parseAsync(argv, { from: "user" });
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`nexa: ${formatError(err)}\n`);
    process.exit(2);
  },
);

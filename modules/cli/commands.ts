// The nexa commands, as one function of argv and output streams (main.ts is only the process entry point):
//   nexa publish --pipeline-file=F --root=D  store a built pipeline's outputs, write its RunManifest (bazel run)
//   nexa runs                                list published runs
//   nexa lineage DIGEST [--descendants]      what an artifact was derived from (or what derives from it)
//   nexa verify DIGEST                       re-hash a stored blob
//   nexa rebuild-index                       re-derive the SQLite index from the stored manifests
// It drives modules through their public faces and holds no module's logic.
import { Command, CommanderError } from "commander";
import * as path from "path";

import { createLogger } from "@nexa/modules/monitoring";
import { Catalog, LocalStore, nexaHome } from "@nexa/modules/registry";

import { registerNewPipeline } from "./new_pipeline";
import { formatSummary, loadPlan, pipelineName, publishPipeline } from "./publish";
import { registerRun } from "./run_pipeline";

/** Where a command writes; the process streams in main.ts, buffers in tests. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Environment (NEXA_HOME, BUILD_WORKSPACE_DIRECTORY); default process.env. */
  env?: Record<string, string | undefined>;
  /** Whether `out` is a terminal; default process.stdout.isTTY. */
  tty?: boolean;
}

function withCatalog<T>(home: string, fn: (c: Catalog) => Promise<T> | T): Promise<T> {
  const catalog = new Catalog(new LocalStore(home));
  return Promise.resolve(fn(catalog)).finally(() => catalog.close());
}

/**
 * Runs one nexa command line (without the program name). Resolves to the exit code: 0 on success, 1 when a
 * published pipeline's rubric failed, 2 for a usage error (commander's message is written to `io.err`).
 * Errors of the commands themselves reject (main.ts prints them with their code and hint).
 */
export async function runNexa(argv: string[], io: CommandIo): Promise<number> {
  const env = io.env ?? process.env;
  const program = new Command("nexa")
    .description("NexaCompute operator command")
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  program.option("--home <dir>", "registry home ($NEXA_HOME, default ~/.nexa)");
  const home = (): string => (program.opts().home as string | undefined) ?? nexaHome(env);
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
        workspace: env.BUILD_WORKSPACE_DIRECTORY,
        log,
      });
      io.out(formatSummary(result) + "\n");
      io.out(`log: ${logFile}\n`);
      io.out(`${name}: run_id=${result.runId} rubric=${result.rubric} report=${result.reportPath ?? "-"}\n`);
      if (result.rubric === "fail") exitCode = 1;
    });

  program
    .command("runs")
    .description("list published runs")
    .action(() =>
      withCatalog(home(), (c) => {
        for (const r of c.runs()) io.out(`${r.run_id}  ${r.pipeline}  ${r.manifest_digest}\n`);
      }),
    );

  program
    .command("lineage <digest>")
    .description("ancestors of an artifact (what it was derived from)")
    .option("--descendants", "list what derives from it instead")
    .action((digest: string, opts: { descendants?: boolean }) =>
      withCatalog(home(), (c) => {
        const rows = opts.descendants ? c.descendants(digest) : c.ancestors(digest);
        for (const d of rows) {
          const a = c.artifact(d);
          io.out(`${d}  ${a?.schema_name || a?.media_type || "?"}\n`);
        }
      }),
    );

  program
    .command("verify <digest>")
    .description("re-hash a stored blob against its digest")
    .action(async (digest: string) => {
      const bytes = await new LocalStore(home()).get(digest);
      io.out(`${digest}: ok (${bytes.length} bytes)\n`);
    });

  registerRun(program, io, (code) => (exitCode = code));
  registerNewPipeline(program, io, (code) => (exitCode = code));

  program
    .command("rebuild-index")
    .description("re-derive the SQLite index from the stored manifests")
    .action(() => withCatalog(home(), (c) => c.rebuild()));

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // --help / usage error, already written
    throw e;
  }
  return exitCode;
}

// The nexa commands, as one function of argv and output streams (main.ts is only the process entry point). Each
// command lives in its own file exporting `register(program, ctx)`; COMMANDS lists them, one line each. It drives
// modules through their public faces and holds no module's logic.
//
// Exit codes (README.md): 0 ok, 1 rubric failed, 2 usage error (with the command's usage), 3 bad input, config or
// integrity (with what and the fix), 4 environment or toolchain.
import { Command, CommanderError, Option } from "commander";

import { formatError, NexaError } from "@nexa/modules/monitoring";
import { nexaHome } from "@nexa/modules/registry";

import { EXIT, resolveUserPath, UsageError } from "./context";
import type { CommandContext, CommandIo, Register } from "./context";
import { register as compare } from "./compare";
import { register as diff } from "./diff";
import { register as doctor } from "./doctor";
import { register as exportHf } from "./export_hf";
import { register as fsck } from "./fsck";
import { register as gc } from "./gc";
import { register as graph } from "./graph";
import { register as health } from "./health";
import { register as lineage } from "./lineage";
import { register as lint } from "./lint";
import { register as listRuns } from "./list_runs";
import { register as newExperiment } from "./new_experiment";
import { register as newModule } from "./new_module";
import { registerNewPipeline } from "./new_pipeline";
import { register as prune } from "./prune";
import { register as publish } from "./publish_command";
import { register as rebuildIndex } from "./rebuild_index";
import { registerRun } from "./run_pipeline";
import { register as serve } from "./serve";
import { register as show } from "./show";
import { register as sync } from "./sync";
import { register as testCommand } from "./test_command";
import { register as verify } from "./verify";
import { versionString } from "./version";

export type { CommandIo } from "./context";
export { EXIT } from "./context";

/** `nexa run` and `nexa new pipeline` drive Bazel and the workspace; they take the streams and the exit setter. */
const run: Register = (program, ctx) => registerRun(program, { ...ctx.io, env: ctx.env }, ctx.setExit);
const newPipeline: Register = (program, ctx) => registerNewPipeline(program, { ...ctx.io, env: ctx.env }, ctx.setExit);

/** Every command, in help order. */
const COMMANDS: Register[] = [
  run,
  newPipeline,
  newExperiment,
  newModule,
  publish,
  listRuns,
  show,
  diff,
  compare,
  lineage,
  verify,
  rebuildIndex,
  fsck,
  gc,
  prune,
  doctor,
  graph,
  lint,
  testCommand,
  health,
  exportHf,
  serve,
  sync,
];

/** Node's system error codes (ENOENT, EACCES, ENOSPC…): the environment, not the input. */
const SYSTEM_ERROR = /^E[A-Z]+$/;
/** NexaError code prefixes that name the environment or toolchain. */
const ENVIRONMENT_CODES = /^(ENV|TOOLCHAIN|KERNELS|BAZEL)_/;

/** The exit code of an error a command threw (see the header). */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof NexaError) {
    // ConfigError, ManifestError, IntegrityError, RegistryError and the commands' own codes: the input is at fault
    if (ENVIRONMENT_CODES.test(err.code) || SYSTEM_ERROR.test(err.code)) return EXIT.environment;
    return EXIT.badInput;
  }
  return EXIT.environment;
}

/**
 * Runs one nexa command line (without the program name) and resolves to its exit code. Usage errors (commander's
 * own and the commands' argument checks) are written to `io.err` with the command's usage; other errors with their
 * code, context and hint.
 */
export async function runNexa(argv: string[], io: CommandIo): Promise<number> {
  const env = io.env ?? process.env;
  // The source revision costs two git processes: asked for only when the version is printed.
  const wantsVersion = argv.some((a) => a === "-V" || a === "--version");
  const program = new Command("nexa")
    .description(
      "NexaCompute operator command (exit codes: 0 ok, 1 rubric failed, 2 usage, 3 bad input, 4 environment)",
    )
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .version(
      wantsVersion ? versionString(env) : "",
      "-V, --version",
      "print the version (package version and source revision)",
    )
    .option("--home <dir>", "registry home ($NEXA_HOME, default ~/.nexa)")
    .addOption(
      new Option("--log-format <format>", "log lines on stderr: pretty (default on a terminal), json, or off").choices([
        "pretty",
        "json",
        "off",
      ]),
    );
  let exitCode: number = EXIT.ok;
  const ctx: CommandContext = {
    io,
    env,
    home: () => (program.opts().home as string | undefined) ?? nexaHome(env),
    logFormat: () =>
      (program.opts().logFormat as "pretty" | "json" | "off" | undefined) ?? (io.stderrIsTTY ? "pretty" : "off"),
    setExit: (code) => (exitCode = code),
    userPath: (p) => resolveUserPath(env, p),
  };
  for (const register of COMMANDS) register(program, ctx);
  let active: Command = program;
  program.hook("preAction", (_program, command) => {
    active = command;
  });
  // every subcommand reports usage errors through exitOverride with its own usage
  for (const cmd of program.commands) cmd.exitOverride().showHelpAfterError();

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage; // help, version, usage error
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ""}\n${active.helpInformation()}`);
      return EXIT.usage;
    }
    io.err(`nexa: ${formatError(e)}\n`);
    return exitCodeOf(e);
  }
  return exitCode;
}

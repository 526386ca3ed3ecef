// What every nexa command shares: its output streams, environment, registry home, exit codes and output format.
// Each command lives in its own file and exports one `register(program, ctx)`; commands.ts lists them.
import { Command, Option } from "commander";
import * as path from "path";

import { isDigest } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import { Catalog, LocalStore, nexaHome } from "@nexa/modules/registry";

/** Where a command writes; the process streams in main.ts, buffers in tests. */
export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  /** Environment (NEXA_HOME, BUILD_WORKSPACE_DIRECTORY, BUILD_WORKING_DIRECTORY); default process.env. */
  env?: Record<string, string | undefined>;
  /** Whether stderr is a terminal (chooses the pretty log format); default false. */
  stderrIsTTY?: boolean;
  /** Whether `out` is a terminal (`nexa run` redraws its table in place); default process.stdout.isTTY. */
  tty?: boolean;
}

/** The documented exit codes of `nexa` (README.md). */
export const EXIT = {
  ok: 0,
  /** The published pipeline's rubric failed. */
  rubricFailed: 1,
  /** Bad arguments: unknown command or option, missing or invalid argument (printed with the usage). */
  usage: 2,
  /** Bad input: unknown run, ambiguous prefix, corrupt record, invalid config or manifest, integrity failure. */
  badInput: 3,
  /** Environment or toolchain: Bazel, node, git, the file system, or an unexpected failure. */
  environment: 4,
} as const;

export interface CommandContext {
  io: CommandIo;
  env: Record<string, string | undefined>;
  /** The registry home (--home, else $NEXA_HOME, else ~/.nexa). */
  home(): string;
  /**
   * How log lines are shown on stderr: "pretty" (human-readable; the default when stderr is a TTY), "json" (the
   * JSON lines) or "off" (the default otherwise: lines go only to the registry's logs/ directory).
   */
  logFormat(): "pretty" | "json" | "off";
  /** Sets the exit code the command line ends with (when nothing throws). */
  setExit(code: number): void;
  /** A path the operator typed, resolved against the directory they ran from (`bazel run` changes directory). */
  userPath(p: string): string;
}

/** One command module: adds its command(s) to `program`. */
export type Register = (program: Command, ctx: CommandContext) => void;

/** Adds `--json` (machine-readable output with a stable schema) to a listing or show command. */
export function withJson(cmd: Command): Command {
  return cmd.addOption(new Option("--json", "print JSON (stable schema, schemaVersion 1) instead of a table"));
}

/** Writes `value` as indented JSON, one document, newline-terminated. */
export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(JSON.stringify(value, null, 2) + "\n");
}

/** Opens the registry's catalog for the duration of `fn`. */
export async function withCatalog<T>(ctx: CommandContext, fn: (c: Catalog) => Promise<T> | T): Promise<T> {
  const home = ctx.home();
  const catalog = new Catalog(new LocalStore(home));
  try {
    return await fn(catalog);
  } finally {
    catalog.close();
  }
}

/** A usage error raised by a command's own argument checks (exit 2, printed with the command's usage). */
export class UsageError extends NexaError {}

/** Checks that `value` is a "sha256:<64 hex>" digest (a usage error naming `what` otherwise). */
export function digestArg(value: string, what = "digest"): string {
  if (!isDigest(value)) {
    throw new UsageError("CLI_BAD_DIGEST", `${what} "${value}" is not a digest`, {
      hint: 'digests look like "sha256:" followed by 64 lowercase hex characters (see `nexa show <run> --json`)',
    });
  }
  return value;
}

/** `path.resolve` against BUILD_WORKING_DIRECTORY (under `bazel run`) or the process directory. */
export function resolveUserPath(env: Record<string, string | undefined>, p: string): string {
  return path.resolve(env.BUILD_WORKING_DIRECTORY ?? process.cwd(), p);
}

// `nexa serve <checkpoint>`: the OpenAI-compatible server of modules/inference until SIGTERM; `nexa replay <log…>`:
// the server's request log sent again, each answer checked bit for bit (exit 1 on any mismatch).
import type { Command } from "commander";
import { Option } from "commander";

import {
  defineServeCommand,
  logFiles,
  replayEntry,
  resolveServeCheckpoint,
  serveOptions,
  serveUntilSignal,
} from "@nexa/modules/inference";

import { EXIT, printJson } from "./context";
import type { CommandContext } from "./context";

export function register(program: Command, ctx: CommandContext): void {
  defineServeCommand(program.command("serve"))
    .description("serve a checkpoint over an OpenAI-compatible HTTP API (127.0.0.1 by default) until SIGTERM")
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    .action(async (checkpoint: string, flags: any) => {
      const resolved = await resolveServeCheckpoint(checkpoint, ctx.home(), (p) => ctx.userPath(p));
      const options = serveOptions(resolved.checkpoint, flags, ctx.env as NodeJS.ProcessEnv);
      ctx.setExit(await serveUntilSignal({ ...options, modelInfo: resolved.modelInfo }, ctx.io.out));
    });

  program
    .command("replay")
    .description("send logged requests (nexa serve --request-log) again and check each answer bit for bit")
    .argument("<log...>", "request log files or directories")
    .requiredOption("--url <url>", "the server, e.g. http://127.0.0.1:8000")
    .option("--api-key <key>", "the server's API key (or $NEXA_SERVE_API_KEY)")
    .addOption(new Option("--json", "print the results as JSON"))
    .action(async (logs: string[], flags: { url: string; apiKey?: string; json?: boolean }) => {
      const results = [];
      for (const file of logFiles(logs.map((l) => ctx.userPath(l)))) {
        results.push(await replayEntry(file, flags.url, flags.apiKey ?? ctx.env.NEXA_SERVE_API_KEY));
      }
      const bad = results.filter((r) => !r.same).length;
      if (flags.json) {
        printJson(ctx, { schemaVersion: 1, checked: results.length, mismatched: bad, results });
      } else {
        for (const r of results) {
          const fp = r.fingerprintChanged ? ` (server fingerprint now ${r.fingerprintChanged})` : "";
          const what = r.same
            ? "same"
            : r.status !== 200
              ? `refused with HTTP ${r.status}`
              : `DIFFERENT: ${r.actual} != ${r.expected}`;
          ctx.io.out(`${r.file}: ${what}${fp}\n`);
        }
        ctx.io.out(`${results.length} replayed, ${bad} mismatched\n`);
      }
      if (bad > 0) ctx.setExit(EXIT.rubricFailed);
    });
}

// `nexa gc [--apply] [--grace DURATION] [--json]`: the blobs no published run needs (leftovers of interrupted
// publishes and pulls, manifests of runs never completed); a dry run by default, `--apply` deletes them and reports
// the bytes freed (modules/registry gc.ts). Blobs written or reused within the grace period are kept.
import type { Command } from "commander";

import { collectGarbage } from "@nexa/modules/registry";

import { printJson, UsageError, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "30m", "1h", "2d" or "0" -> milliseconds (a usage error otherwise). */
export function parseDuration(text: string): number {
  const m = /^(\d+)([smhd])?$/.exec(text);
  if (m === null || (m[2] === undefined && m[1] !== "0")) {
    throw new UsageError("CLI_BAD_DURATION", `--grace "${text}" is not a duration`, {
      hint: 'give a number with a unit: "90s", "30m", "1h", "2d" (or "0" to keep nothing back)',
    });
  }
  return Number(m[1]) * (m[2] === undefined ? 0 : UNITS[m[2]]);
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("gc")
      .description("list (or, with --apply, delete) the registry blobs no published run needs")
      .option("--apply", "delete them (default: a dry run)")
      .option("--grace <duration>", "keep blobs written or reused more recently than this (e.g. 30m, 2d)", "1h"),
  ).action((opts: { apply?: boolean; grace: string; json?: boolean }) =>
    withCatalog(ctx, async (c) => {
      const graceMs = parseDuration(opts.grace);
      const r = await collectGarbage(c, { apply: opts.apply === true, graceMs });
      if (opts.json) {
        printJson(ctx, { schemaVersion: 1, applied: opts.apply === true, graceMs, ...r });
        return;
      }
      const young = r.garbage.filter((g) => g.young).length;
      const lines = r.garbage.map(
        (g) =>
          `${opts.apply && !g.young ? "deleted" : g.young ? "kept (young)" : "garbage"}  ${g.digest}  ` +
          `${g.sizeBytes} bytes${g.schema ? `  ${g.schema}` : ""}`,
      );
      lines.push(
        `${r.blobs} blobs: ${r.referenced} needed by a run, ${r.garbage.length} not` +
          (young > 0 ? ` (${young} within the ${opts.grace} grace period, kept)` : "") +
          (opts.apply
            ? `; deleted ${r.deleted}, freed ${r.bytesFreed} bytes`
            : `; \`nexa gc --apply\` would free ${r.bytesReclaimable} bytes`),
      );
      ctx.io.out(lines.join("\n") + "\n");
    }),
  );
}

// `nexa fsck [--repair] [--json]`: re-hash every registry blob and check every blob the published runs need; a
// damaged or missing one is reported with its digest and the runs (and stages) that need it, and `--repair`
// restores it from Bazel's outputs while they still hold the same bytes (modules/registry fsck.ts). Exit 3 while a
// problem remains.
import type { Command } from "commander";

import { fsckRegistry } from "@nexa/modules/registry";
import type { FsckProblem, FsckResult } from "@nexa/modules/registry";

import { EXIT, printJson, withCatalog, withJson } from "./context";
import type { CommandContext } from "./context";
import { short } from "./format";

/** Problems `fsck` leaves behind (repaired ones are fixed). */
const unresolved = (r: FsckResult): FsckProblem[] => r.problems.filter((p) => !p.repair?.repaired);

function whoNeeds(p: FsckProblem): string {
  if (p.references.length === 0) return "no run needs it (`nexa gc --apply` deletes it)";
  return p.references
    .map(
      (r) =>
        `run ${r.runId} (${r.pipeline}) ${r.role.replace("_", " ")}${r.stage === null ? "" : ` of stage ${r.stage}`}`,
    )
    .join("; ");
}

function formatProblem(p: FsckProblem): string {
  const lines = [
    `${p.state} ${p.digest}`,
    `  blob:      ${p.path}${p.actual ? ` (hashes to ${p.actual})` : ""}`,
    `  needed by: ${whoNeeds(p)}`,
  ];
  if (p.repair !== null) {
    if (p.repair.repaired) lines.push(`  repaired from ${p.repair.source}`);
    else if (p.repair.tried.length === 0) lines.push("  not repaired: Bazel's outputs hold no copy of it");
    else lines.push("  not repaired: no intact copy in Bazel's outputs");
    for (const t of p.repair.tried.filter((t) => t.result !== "restored")) lines.push(`    ${t.path}: ${t.result}`);
  }
  return lines.join("\n");
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("fsck")
      .description("re-hash every registry blob; name damaged or missing ones and the runs that need them")
      .option("--repair", "restore damaged or missing blobs from Bazel's outputs (when they still hold them)")
      .option("--workspace <dir>", "a checkout whose bazel-bin to look in too (default: $BUILD_WORKSPACE_DIRECTORY)"),
  ).action((opts: { repair?: boolean; workspace?: string; json?: boolean }) =>
    withCatalog(ctx, async (c) => {
      const workspace = opts.workspace ? ctx.userPath(opts.workspace) : ctx.env.BUILD_WORKSPACE_DIRECTORY;
      const r = await fsckRegistry(c, { repair: opts.repair === true, workspace });
      const left = unresolved(r);
      if (opts.json) {
        printJson(ctx, { schemaVersion: 1, ...r, unresolved: left.length });
      } else {
        const repaired = r.problems.length - left.length;
        const corrupted = r.problems.filter((p) => p.state === "corrupted").length;
        const out = [
          `checked ${r.blobs} blobs (${r.bytes} bytes): ${r.ok} ok, ${corrupted} corrupted, ` +
            `${r.problems.length - corrupted} missing${opts.repair ? `, ${repaired} repaired` : ""}`,
          ...r.problems.map(formatProblem),
        ];
        ctx.io.out(out.join("\n") + "\n");
      }
      if (left.length > 0) {
        const hint = opts.repair
          ? "rebuild and republish the runs named above (`bazel run <pipeline>` or `nexa run <pipeline>`): " +
            "publishing replaces a damaged blob"
          : "run `nexa fsck --repair` to restore them from Bazel's outputs, or republish the runs named above";
        ctx.io.err(
          `nexa: [INTEGRITY_FSCK] ${left.length} blob${left.length === 1 ? "" : "s"} damaged or missing: ` +
            `${left.map((p) => short(p.digest)).join(", ")}\nhint: ${hint}\n`,
        );
        ctx.setExit(EXIT.badInput);
      }
    }),
  );
}

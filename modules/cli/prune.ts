// `nexa prune [--apply] [--json]`: the monthly pruning of POLICY.md §6 that can be decided from the workspace alone.
// Lists (and with --apply removes) the experiments whose EXPERIMENT.md expiry has passed, with the WORKSPACE data
// repository `nexa new pipeline --experiment` declared for each, and the registry's temp files that interrupted
// writes left (older than an hour, never visible as blobs). Experiments without a valid header are listed for their
// owner to fix, never removed; the registry's unreferenced blobs are `nexa gc`'s. From the build graph
// (prune_unused.ts, unless --no-graph): configs no target reads, scripts nothing runs or names, and targets nothing
// depends on (listed only).
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "fs";
import * as path from "path";

import type { Command } from "commander";

import { LocalStore } from "@nexa/modules/registry";

import { bazelOf } from "./bazel_query";
import { printJson, withJson } from "./context";
import type { CommandContext } from "./context";
import { checkExperiment, experimentHeader } from "./policy/policy";
import { findUnused, queryGraphFacts } from "./prune_unused";
import type { UnusedItem } from "./prune_unused";
import { findWorkspace } from "./run_pipeline";

/** Temp files younger than this may belong to a write in progress. */
const TEMP_AGE_MS = 3_600_000;

export interface PruneItem {
  kind: "expired_experiment" | "experiment_needs_owner" | "registry_temp";
  /** Workspace-relative for experiments, absolute for registry files. */
  path: string;
  detail: string;
  removed: boolean;
}

/** `nexa_data_dir(name = "nexa_data_<name>", …)` and its comment, as `nexa new pipeline` appends it to WORKSPACE. */
export function withoutDataRepo(workspaceText: string, name: string): string {
  const block = new RegExp(
    `\\n# Data of the ${name} pipeline[^\\n]*\\nnexa_data_dir\\(\\n    name = "nexa_data_${name}",\\n(?:    [^\\n]*\\n)*\\)\\n`,
  );
  return workspaceText.replace(block, "\n");
}

/** What is stale; with `apply`, removed. */
export function prune(workspace: string, home: string, today: string, apply: boolean, now = Date.now()): PruneItem[] {
  const items: PruneItem[] = [];
  const root = path.join(workspace, "experiments");
  const dirs = existsSync(root)
    ? readdirSync(root)
        .filter((d) => !d.startsWith(".") && statSync(path.join(root, d)).isDirectory())
        .sort()
    : [];
  for (const d of dirs) {
    const rel = `experiments/${d}`;
    const file = path.join(root, d, "EXPERIMENT.md");
    const text = existsSync(file) ? readFileSync(file, "utf8") : null;
    const problems = checkExperiment(rel, text, today);
    if (problems.length === 0) continue;
    const expires = text === null ? undefined : experimentHeader(text).expires;
    const expired = expires !== undefined && problems.some((p) => p.message.startsWith(`${rel} expired on`));
    if (!expired) {
      items.push({
        kind: "experiment_needs_owner",
        path: rel,
        detail: problems.map((p) => p.message).join("; "),
        removed: false,
      });
      continue;
    }
    const item: PruneItem = { kind: "expired_experiment", path: rel, detail: `expired on ${expires}`, removed: false };
    if (apply) {
      rmSync(path.join(root, d), { recursive: true, force: true });
      const ws = path.join(workspace, "WORKSPACE");
      const text = readFileSync(ws, "utf8");
      const pruned = withoutDataRepo(text, d);
      if (pruned !== text) {
        writeFileSync(ws, pruned);
        item.detail += `; its nexa_data_${d} repository removed from WORKSPACE`;
      }
      item.removed = true;
    }
    items.push(item);
  }
  const store = new LocalStore(home);
  for (const name of readdirSafe(store.tempRoot)) {
    const file = path.join(store.tempRoot, name);
    const age = now - statSync(file).mtimeMs;
    if (age < TEMP_AGE_MS) continue;
    const item: PruneItem = {
      kind: "registry_temp",
      path: file,
      detail: `left by an interrupted write ${Math.round(age / 60_000)} min ago`,
      removed: false,
    };
    if (apply) {
      rmSync(file, { force: true });
      item.removed = true;
    }
    items.push(item);
  }
  return items;
}

function readdirSafe(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("prune")
      .description(
        "list (or, with --apply, remove) expired experiments, the registry's stale temp files, configs and scripts nothing uses, and targets nothing depends on",
      )
      .option("--apply", "remove them (default: a dry run; targets are only listed)")
      .option("--no-graph", "skip the build-graph checks (configs, scripts, targets: three bazel queries)"),
  ).action((opts: { apply?: boolean; json?: boolean; graph?: boolean }) => {
    const today = ctx.env.NEXA_TODAY ?? new Date().toISOString().slice(0, 10);
    const workspace = findWorkspace(ctx.env);
    const items: (PruneItem | UnusedItem)[] = prune(workspace, ctx.home(), today, opts.apply === true);
    if (opts.graph !== false) {
      const facts = queryGraphFacts({ workspace, bazel: bazelOf(ctx.env), env: ctx.env });
      items.push(...findUnused(workspace, facts, opts.apply === true));
    }
    if (opts.json) {
      printJson(ctx, { schemaVersion: 1, applied: opts.apply === true, items });
      return;
    }
    const verb = (i: PruneItem | UnusedItem) =>
      i.removed
        ? "removed"
        : i.kind === "experiment_needs_owner"
          ? "fix"
          : i.kind === "unreferenced_target"
            ? "review"
            : "stale";
    const lines = items.map((i) => `${verb(i).padEnd(7)}  ${i.path}: ${i.detail}`);
    const stale = items.filter(
      (i) => i.kind !== "experiment_needs_owner" && i.kind !== "unreferenced_target" && !i.removed,
    ).length;
    lines.push(
      items.length === 0
        ? "nothing to prune"
        : opts.apply
          ? `removed ${items.filter((i) => i.removed).length}`
          : `${stale} to remove: \`nexa prune --apply\``,
    );
    ctx.io.out(lines.join("\n") + "\n");
  });
}

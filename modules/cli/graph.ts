// `nexa graph [--format mermaid|dot|svg] [--out FILE] [--json]`: the module DAG from the real build graph
// (`bazel query` over the deps of //modules/..., collapsed to module packages; graph_render.ts lays it out and
// draws it), with every layering violation in red. The layers and their order come from tests/governance/layers.bzl.
import { readFileSync, renameSync, writeFileSync } from "fs";
import * as path from "path";

import type { Command } from "commander";
import { Option } from "commander";

import { bazelOf, bazelOutput, parseGraphOutput } from "./bazel_query";
import type { BazelOptions } from "./bazel_query";
import { printJson, withJson } from "./context";
import type { CommandContext } from "./context";
import { moduleGraph, toDot, toMermaid, toSvg } from "./graph_render";
import type { ModuleGraph } from "./graph_render";
import { parseLayers } from "./policy/layers";
import { findWorkspace } from "./run_pipeline";

/** The query: every build edge below the modules (kernels and contracts included), without Bazel's own tools. */
export const GRAPH_QUERY = [
  "query",
  "deps(//modules/...)",
  "--output=graph",
  "--nograph:factored",
  "--noimplicit_deps",
  "--notool_deps",
];

/** The module graph of the workspace, from `bazel query` and layers.bzl. */
export function workspaceGraph(o: BazelOptions): ModuleGraph {
  const layersFile = path.join(o.workspace, "tests", "governance", "layers.bzl");
  const layers = parseLayers(readFileSync(layersFile, "utf8"), layersFile);
  return moduleGraph(parseGraphOutput(bazelOutput(o, GRAPH_QUERY)), layers);
}

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("graph")
      .description("draw the module DAG from the build graph (layering violations in red)")
      .addOption(
        new Option("--format <format>", "mermaid, dot or svg").choices(["mermaid", "dot", "svg"]).default("mermaid"),
      )
      .option("--out <file>", "write the drawing there instead of stdout"),
  ).action((opts: { format: "mermaid" | "dot" | "svg"; out?: string; json?: boolean }) => {
    const g = workspaceGraph({ workspace: findWorkspace(ctx.env), bazel: bazelOf(ctx.env), env: ctx.env });
    const drawing = { mermaid: toMermaid, dot: toDot, svg: toSvg }[opts.format](g);
    if (opts.out !== undefined) {
      const file = ctx.userPath(opts.out);
      writeFileSync(`${file}.partial`, drawing);
      renameSync(`${file}.partial`, file);
    }
    if (opts.json)
      printJson(ctx, { schemaVersion: 1, ...g, out: opts.out === undefined ? null : ctx.userPath(opts.out) });
    else if (opts.out === undefined) ctx.io.out(drawing);
    else
      ctx.io.out(
        `wrote ${ctx.userPath(opts.out)} (${opts.format}: ${g.nodes.length} modules, ${g.edges.length} edges)\n`,
      );
    const red = g.edges.filter((e) => e.violation !== null);
    for (const e of red) ctx.io.err(`layering violation: ${e.violation}\n`);
    for (const c of g.cycles) ctx.io.err(`${c}\n`);
  });
}

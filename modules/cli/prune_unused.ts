// What `nexa prune` finds unused from the build graph (POLICY.md §6: outdated configs, abandoned scripts, unused
// pathways): stage configs (`*.json` under pipelines/ and experiments/) no target reads, scripts (`*.sh`) that no
// target runs and no script, `.ci/run`, `package.json` or `.bazelrc` names, and targets nothing depends on that no
// file of the workspace names either (tests, binaries and pipelines are entry points, never "unused"). Read from
// three `bazel query` calls; --apply removes the files, while targets are listed for a reviewer to delete from their
// BUILD file (Starlark is not rewritten by a tool).
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "fs";
import * as path from "path";

import { bazelOutput, parseGraphOutput } from "./bazel_query";
import type { BazelOptions } from "./bazel_query";

/** Every workspace source file a target uses (configs, scripts, sources). */
export const SOURCES_QUERY = ["query", "kind('source file', deps(//...))", "--output=label"];
/** Every rule of the workspace with its kind. */
export const KINDS_QUERY = ["query", "kind(rule, //...)", "--output=label_kind"];
/** Every build edge below the workspace's targets. */
export const EDGES_QUERY = ["query", "deps(//...)", "--output=graph", "--nograph:factored"];

/** Rule kinds that are entry points: what a person or CI runs, so nothing has to depend on them. */
export const ENTRY_KIND = /(_test|_binary|^test_suite|^nexa_pipeline)$/;
/** Where configs and scripts are looked for (workspace-relative directories). */
const CONFIG_DIRS = ["pipelines", "experiments"];
const SCRIPT_DIRS = ["tools", "tests", "benchmarks", "pipelines", "experiments", "kernels", "modules"];
/** Files whose text may name a script or a target (a command line, CI, docs). */
const NAMING_FILE = /(\.(sh|md|ts|bzl|json)|(^|\/)(\.bazelrc|run|BUILD(\.bazel)?))$/;

export interface UnusedItem {
  kind: "unused_config" | "unused_script" | "unreferenced_target";
  /** Workspace-relative path, or the target's label. */
  path: string;
  detail: string;
  removed: boolean;
}

export interface GraphFacts {
  /** Workspace source files used by some target, as labels ("//pipelines:golden/rubric.json"). */
  sources: string[];
  /** [kind, label] of every rule. */
  rules: [string, string][];
  edges: [string, string][];
}

/** The three queries, parsed. */
export function queryGraphFacts(o: BazelOptions): GraphFacts {
  const sources = bazelOutput(o, SOURCES_QUERY)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("//"));
  const rules: [string, string][] = [];
  for (const line of bazelOutput(o, KINDS_QUERY).split("\n")) {
    const m = /^(\S+) rule (\/\/\S+)$/.exec(line.trim());
    if (m) rules.push([m[1], m[2]]);
  }
  return { sources, rules, edges: parseGraphOutput(bazelOutput(o, EDGES_QUERY)) };
}

/** "//pipelines:golden/rubric.json" → "pipelines/golden/rubric.json". */
export function labelPath(label: string): string {
  const m = /^\/\/([^:]*):(.+)$/.exec(label);
  if (!m) return label.replace(/^\/\//, "");
  return m[1] === "" ? m[2] : `${m[1]}/${m[2]}`;
}

function filesUnder(workspace: string, dir: string, keep: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(workspace, rel);
    if (!existsSync(abs)) return;
    for (const name of readdirSync(abs).sort()) {
      if (name.startsWith(".") || name.startsWith("bazel-") || name === "node_modules") continue;
      const r = `${rel}/${name}`;
      if (statSync(path.join(workspace, r)).isDirectory()) walk(r);
      else if (keep(r)) out.push(r);
    }
  };
  walk(dir);
  return out;
}

/** The texts that may name a script or a target: every NAMING_FILE of the workspace plus .ci/run and .bazelrc. */
function namingTexts(workspace: string): Map<string, string> {
  const texts = new Map<string, string>();
  for (const rel of [".bazelrc", ".ci/run", "package.json"]) {
    const f = path.join(workspace, rel);
    if (existsSync(f)) texts.set(rel, readFileSync(f, "utf8"));
  }
  for (const top of readdirSync(workspace).sort()) {
    if (top.startsWith(".") || top.startsWith("bazel-") || top === "node_modules") continue;
    const abs = path.join(workspace, top);
    if (statSync(abs).isDirectory()) {
      for (const rel of filesUnder(workspace, top, (r) => NAMING_FILE.test(r))) {
        texts.set(rel, readFileSync(path.join(workspace, rel), "utf8"));
      }
    } else if (NAMING_FILE.test(top)) texts.set(top, readFileSync(abs, "utf8"));
  }
  return texts;
}

/** What is unused (see the header); with `apply`, the unused configs and scripts are removed. */
export function findUnused(workspace: string, facts: GraphFacts, apply: boolean): UnusedItem[] {
  const used = new Set(facts.sources.map(labelPath));
  const texts = namingTexts(workspace);
  const namedBy = (needle: string, self: string): string | undefined => {
    for (const [rel, text] of texts) if (rel !== self && text.includes(needle)) return rel;
    return undefined;
  };
  const items: UnusedItem[] = [];
  const remove = (item: UnusedItem) => {
    if (apply) {
      rmSync(path.join(workspace, item.path), { force: true });
      item.removed = true;
    }
    items.push(item);
  };
  for (const dir of CONFIG_DIRS) {
    for (const rel of filesUnder(workspace, dir, (r) => r.endsWith(".json"))) {
      if (used.has(rel)) continue;
      remove({
        kind: "unused_config",
        path: rel,
        detail: "no target reads it (not in `bazel query 'kind(\"source file\", deps(//...))'`)",
        removed: false,
      });
    }
  }
  for (const dir of SCRIPT_DIRS) {
    for (const rel of filesUnder(workspace, dir, (r) => r.endsWith(".sh"))) {
      if (used.has(rel)) continue;
      const by = namedBy(rel, rel) ?? namedBy(path.basename(rel), rel);
      if (by !== undefined) continue;
      remove({
        kind: "unused_script",
        path: rel,
        detail: "no target runs it and no script, CI step, document or package.json names it",
        removed: false,
      });
    }
  }
  const dependedOn = new Set(facts.edges.filter(([from, to]) => from !== to).map(([, to]) => to));
  for (const [kind, label] of facts.rules) {
    if (ENTRY_KIND.test(kind) || dependedOn.has(label)) continue;
    const pkg = label.slice(2, label.indexOf(":") < 0 ? undefined : label.indexOf(":"));
    const name = label.slice(label.indexOf(":") + 1);
    // named anywhere outside its own BUILD file, by its full label or as ":name" in a file of its package
    const build = [`${pkg}/BUILD.bazel`, `${pkg}/BUILD`];
    const named =
      [...texts].some(([rel, text]) => !build.includes(rel) && text.includes(label)) ||
      [...texts].some(([rel, text]) => !build.includes(rel) && rel.startsWith(`${pkg}/`) && text.includes(`:${name}`));
    if (named) continue;
    items.push({
      kind: "unreferenced_target",
      path: label,
      detail: `a ${kind} nothing depends on and no file names; delete its rule from ${pkg || "the root"}/BUILD.bazel if it is abandoned (listed, never removed by --apply)`,
      removed: false,
    });
  }
  return items;
}

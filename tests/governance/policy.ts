// The governance policy as code: checks over the real build graph and the module packages.
//
// Every check returns violations (never throws on bad input) so a test can show all of them at once, and each
// message names the packages involved and the fix.

// ---- types ------------------------------------------------------------------------------------------------------

/** The workspace-internal build graph written by module_graph (tests/governance/private/module_graph.bzl). */
export interface Graph {
  roots: string[];
  edges: [string, string][];
}

/** The layering declared in tests/governance/layering.bzl. */
export interface Layering {
  core: string[];
  crossCutting: string[];
  cli: string[];
}

export interface Violation {
  rule: "layering" | "cycle" | "package-name" | "readme" | "coverage" | "unknown-module";
  message: string;
}

type Place =
  | { kind: "core"; module: string; rank: number }
  | { kind: "cross"; module: string }
  | { kind: "cli"; module: string }
  | { kind: "unknown-module"; module: string }
  | { kind: "kernels" }
  | { kind: "other" };

export const FORBIDDEN_PACKAGE_NAMES = ["utils", "util", "common", "helpers", "helper", "misc", "shared"];

// ---- labels and places --------------------------------------------------------------------------------------------

/** "//modules/data:x" -> "modules/data"; "//modules/data" -> "modules/data". */
export function packageOf(label: string): string {
  const l = label.replace(/^@@?\/\//, "//");
  if (!l.startsWith("//")) throw new Error(`packageOf: ${label} is not an absolute workspace label`);
  const colon = l.indexOf(":");
  return colon < 0 ? l.slice(2) : l.slice(2, colon);
}

/** Where a package sits in the layering; `root` is a path prefix (fixtures mirror the layout below it). */
export function locate(pkg: string, layering: Layering, root = ""): Place {
  if (root && !(pkg === root || pkg.startsWith(root + "/"))) return { kind: "other" };
  const rel = root ? pkg.slice(root.length + 1) : pkg;
  const parts = rel.split("/");
  if (parts[0] === "kernels") return { kind: "kernels" };
  if (parts[0] !== "modules" || parts.length < 2) return { kind: "other" };
  const m = parts[1];
  const rank = layering.core.indexOf(m);
  if (rank >= 0) return { kind: "core", module: m, rank };
  if (layering.crossCutting.includes(m)) return { kind: "cross", module: m };
  if (layering.cli.includes(m)) return { kind: "cli", module: m };
  return { kind: "unknown-module", module: m };
}

function moduleName(p: Place, root: string): string {
  const prefix = root ? `${root}/` : "";
  return "module" in p ? `${prefix}modules/${p.module}` : p.kind === "kernels" ? `${prefix}kernels` : "?";
}

// ---- layering and cycles -----------------------------------------------------------------------------------------

/** Edges that break the DAG policy, and module-level cycles. */
export function checkLayering(graph: Graph, layering: Layering, root = ""): Violation[] {
  const out: Violation[] = [];
  const seen = new Set<string>();
  const moduleEdges = new Map<string, Set<string>>();
  for (const [from, to] of graph.edges) {
    const a = locate(packageOf(from), layering, root);
    const b = locate(packageOf(to), layering, root);
    if (a.kind === "other" || b.kind === "other") continue;
    const an = moduleName(a, root);
    const bn = moduleName(b, root);
    for (const p of [a, b]) {
      if (p.kind === "unknown-module" && !seen.has(moduleName(p, root))) {
        seen.add(moduleName(p, root));
        out.push({
          rule: "unknown-module",
          message: `${moduleName(p, root)} is not a declared module: add it to tests/governance/layering.bzl (core, cross-cutting or cli) with a README.md`,
        });
      }
    }
    if (an === bn) continue;
    if (!moduleEdges.has(an)) moduleEdges.set(an, new Set());
    moduleEdges.get(an)!.add(bn);
    const edge = `(${from} -> ${to})`;
    let message: string | null = null;
    if (a.kind === "core" && b.kind === "core") {
      message =
        b.rank > a.rank
          ? `${an} depends on downstream core module ${bn} ${edge}: the core flow is ${layering.core.join(" -> ")}; move the shared piece into a cross-cutting module or a contract in proto/nexa/v1`
          : `${an} uses the code of core module ${bn} ${edge}: core modules share contract types only (proto/nexa/v1), never code`;
    } else if (a.kind === "cross" && (b.kind === "core" || b.kind === "cli")) {
      message = `cross-cutting module ${an} depends on ${b.kind === "cli" ? "the CLI" : "core module"} ${bn} ${edge}: cross-cutting modules never depend on core modules or the CLI`;
    } else if (b.kind === "cli" && a.kind !== "cli") {
      message = `${an} depends on ${bn} ${edge}: nothing may depend on the CLI`;
    } else if (a.kind === "kernels" && b.kind !== "kernels") {
      message = `${an} depends on ${bn} ${edge}: kernels depend on nothing in modules/`;
    }
    if (message) out.push({ rule: "layering", message });
  }
  for (const cycle of findCycles(moduleEdges)) {
    out.push({ rule: "cycle", message: `module cycle: ${cycle.join(" -> ")}: extract the shared piece into a cross-cutting module` });
  }
  return out;
}

/** One representative cycle per strongly connected component with more than one node (Tarjan). */
export function findCycles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const nodes = [...new Set([...graph.keys(), ...[...graph.values()].flatMap((s) => [...s])])].sort();
  const strong = (v: string): void => {
    idx.set(v, index);
    low.set(v, index);
    index++;
    stack.push(v);
    onStack.add(v);
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, idx.get(w)!));
      }
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1) {
        comp.sort();
        cycles.push([...comp, comp[0]]);
      }
    }
  };
  for (const n of nodes) if (!idx.has(n)) strong(n);
  return cycles;
}

// ---- package names -----------------------------------------------------------------------------------------------

/** Packages whose path has a catch-all segment (utils, common, helpers, misc, shared, ...). */
export function checkPackageNames(packages: string[]): Violation[] {
  const out: Violation[] = [];
  for (const pkg of [...new Set(packages)].sort()) {
    const bad = pkg.split("/").find((seg) => FORBIDDEN_PACKAGE_NAMES.includes(seg.toLowerCase()));
    if (bad) {
      out.push({
        rule: "package-name",
        message: `package ${pkg} has the catch-all name "${bad}": name it after its one responsibility (POLICY.md §3)`,
      });
    }
  }
  return out;
}

// ---- README responsibility line ----------------------------------------------------------------------------------

/**
 * A module README opens with its one-sentence responsibility: a first line of prose (not a heading, not empty)
 * of at least six words that ends with a period and holds one sentence; the README also names Inputs and Outputs.
 */
export function checkReadme(file: string, text: string | null): Violation[] {
  if (text === null) return [{ rule: "readme", message: `${file} is missing: every module states its one responsibility there` }];
  const first = text.split(/\r?\n/, 1)[0].trim();
  const problems: string[] = [];
  if (first.length === 0) problems.push("the first line is empty");
  else if (/^[#>*\-|`]/.test(first)) problems.push(`the first line is markup ("${first.slice(0, 40)}"), not a sentence`);
  else {
    if (!first.endsWith(".")) problems.push("the first line does not end with a period");
    if (first.split(/\s+/).length < 6) problems.push("the first line has fewer than six words");
    if (/[.!?]\s+[A-Z]/.test(first.slice(0, -1))) problems.push("the first line holds more than one sentence");
  }
  if (!/\binputs?\b/i.test(text)) problems.push("it does not name the module's inputs");
  if (!/\boutputs?\b/i.test(text)) problems.push("it does not name the module's outputs");
  return problems.map((p) => ({
    rule: "readme" as const,
    message: `${file}: ${p}; the first line must be the module's one-sentence responsibility (STYLE.md P1)`,
  }));
}

// ---- coverage ----------------------------------------------------------------------------------------------------

/** Names of targets declared in a BUILD file (`name = "..."` arguments of rule calls). */
export function declaredTargets(buildText: string): string[] {
  const names: string[] = [];
  const re = /^\s+name\s*=\s*"([^"]+)"/gm;
  for (let m = re.exec(buildText); m; m = re.exec(buildText)) names.push(m[1]);
  return names;
}

/** Targets declared in `pkg`'s BUILD file that the analysed graph does not start from. */
export function checkCoverage(pkg: string, buildText: string, roots: string[]): Violation[] {
  const rootSet = new Set(roots.map((r) => r.replace(/^@@?\/\//, "//")));
  return declaredTargets(buildText)
    .filter((n) => !rootSet.has(`//${pkg}:${n}`) && !(pkg.endsWith(`/${n}`) && rootSet.has(`//${pkg}`)))
    .map((n) => ({
      rule: "coverage" as const,
      message: `//${pkg}:${n} is not in MODULE_TARGETS (tests/governance/layering.bzl): add it so the layering checks see its edges`,
    }));
}

// The governance policy as code: checks over the real build graph and the module packages. One implementation:
// `nexa lint` (modules/cli/lint.ts) runs them over the workspace, and //tests/governance:governance_test over the
// same records (and proves each check fails on a deliberately broken fixture).
//
// Every check returns violations (never throws on bad input) so a test can show all of them at once, and each
// message names the packages involved and the fix.

// ---- types ------------------------------------------------------------------------------------------------------

/** The workspace-internal build graph written by module_graph (tests/governance/private/module_graph.bzl). */
export interface Graph {
  roots: string[];
  edges: [string, string][];
}

/** The layering stated in tests/governance/layers.bzl (written by layering_json() in layering.bzl). */
export interface Layering {
  core: string[];
  crossCutting: string[];
  cli: string[];
  /** Layer name -> the layers its packages may use (LAYERS[...]["may_use"]). */
  mayUse: Record<string, string[]>;
}

export interface Violation {
  rule: "layering" | "cycle" | "package-name" | "readme" | "coverage" | "unknown-module" | "tests" | "experiment";
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

/** The layer of layers.bzl a place belongs to (undefined outside the layering). */
function layerOf(p: Place): string | undefined {
  return {
    core: "core",
    cross: "cross_cutting",
    cli: "cli",
    kernels: "kernels",
    "unknown-module": undefined,
    other: undefined,
  }[p.kind];
}

function moduleName(p: Place, root: string): string {
  const prefix = root ? `${root}/` : "";
  return "module" in p ? `${prefix}modules/${p.module}` : p.kind === "kernels" ? `${prefix}kernels` : "?";
}

// ---- layering and cycles -----------------------------------------------------------------------------------------

/** Edges that break the DAG policy (a layer using one its `may_use` does not list), and module-level cycles. */
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
          message: `${moduleName(p, root)} is not a declared module: add it to a layer in tests/governance/layers.bzl (core, cross_cutting or cli) with a README.md`,
        });
      }
    }
    if (an === bn) continue;
    if (!moduleEdges.has(an)) moduleEdges.set(an, new Set());
    moduleEdges.get(an)!.add(bn);
    const edge = `(${from} -> ${to})`;
    const la = layerOf(a);
    const lb = layerOf(b);
    if (!la || !lb || (layering.mayUse[la] ?? []).includes(lb)) continue;
    let message: string;
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
    } else {
      message = `${an} (${la}) depends on ${bn} (${lb}) ${edge}: ${la} may use only ${(layering.mayUse[la] ?? []).join(", ")} (tests/governance/layers.bzl)`;
    }
    out.push({ rule: "layering", message });
  }
  for (const cycle of findCycles(moduleEdges)) {
    out.push({
      rule: "cycle",
      message: `module cycle: ${cycle.join(" -> ")}: extract the shared piece into a cross-cutting module`,
    });
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
  if (text === null)
    return [{ rule: "readme", message: `${file} is missing: every module states its one responsibility there` }];
  const first = text.split(/\r?\n/, 1)[0].trim();
  const problems: string[] = [];
  if (first.length === 0) problems.push("the first line is empty");
  else if (/^[#>*\-|`]/.test(first))
    problems.push(`the first line is markup ("${first.slice(0, 40)}"), not a sentence`);
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

// ---- package records (governed_package) -----------------------------------------------------------------------

/** One rule as Bazel declared it (tests/governance/package.bzl). */
export interface RuleRecord {
  name: string;
  kind: string;
  tags: string[];
  /** The macro that made the rule ("" when declared directly in the BUILD file). */
  generator: string;
  /** rust_test: the crate under test, as written (":model", "//kernels/model:model"). */
  crate: string;
  rustc_flags: string[];
}

/** `<package>/governance.json`: every rule of a package and the build edges below them. */
export interface PackageRecord {
  package: string;
  rules: RuleRecord[];
  roots: string[];
  edges: [string, string][];
}

/** The union build graph of some package records. */
export function graphOf(records: PackageRecord[]): Graph {
  const edges = new Map<string, [string, string]>();
  for (const r of records) for (const e of r.edges) edges.set(e.join(" "), e);
  return { roots: records.flatMap((r) => r.roots).sort(), edges: [...edges.values()].sort() };
}

const ruleLabel = (record: PackageRecord, name: string) => `//${record.package}:${name}`;

/** Rules the layering checks do not start from: allowed only in a package exempted in layering.bzl. */
export function checkCoverage(record: PackageRecord, exempt: Record<string, string>): Violation[] {
  if (record.package in exempt) return [];
  const roots = new Set(record.roots.map((r) => r.replace(/^@@?\/\//, "//")));
  return record.rules
    .filter((r) => !roots.has(ruleLabel(record, r.name)))
    .map((r) => ({
      rule: "coverage" as const,
      message: `${ruleLabel(record, r.name)} is not analysed by the layering checks: call governed_package() without graph = False (only packages in GRAPH_EXEMPT_PACKAGES of tests/governance/layering.bzl may)`,
    }));
}

/** Flags every Rust test of a kernel crate keeps (KERNEL_TEST_RUSTC_FLAGS in kernels/kernel_crate.bzl). */
export const RUST_TEST_FLAGS = ["debug-assertions=on", "overflow-checks=on"];

function hasCodegenFlag(flags: string[], flag: string): boolean {
  return flags.some((f, i) => f === `-C${flag}` || (f === "-C" && flags[i + 1] === flag));
}

/**
 * A kernel package: every rust_library has a rust_test of its crate (`crate = ":<library>"`, as kernel_crate()
 * makes it), and every rust_test keeps debug assertions and integer-overflow checks on.
 */
export function checkKernelTests(record: PackageRecord): Violation[] {
  const out: Violation[] = [];
  const tests = record.rules.filter((r) => r.kind === "rust_test");
  const crateName = (crate: string) =>
    crate.includes(":") ? crate.slice(crate.lastIndexOf(":") + 1) : (crate.split("/").pop() ?? crate);
  for (const lib of record.rules.filter((r) => r.kind === "rust_library")) {
    if (!tests.some((t) => t.crate !== "" && crateName(t.crate) === lib.name)) {
      out.push({
        rule: "tests",
        message: `${ruleLabel(record, lib.name)} has no unit tests: declare it with kernel_crate() (kernels/kernel_crate.bzl), or add rust_test(crate = ":${lib.name}")`,
      });
    }
  }
  for (const t of tests) {
    const missing = RUST_TEST_FLAGS.filter((f) => !hasCodegenFlag(t.rustc_flags, f));
    if (missing.length > 0) {
      out.push({
        rule: "tests",
        message: `${ruleLabel(record, t.name)} builds without ${missing.map((f) => `-C ${f}`).join(" and ")}: debug_assert! and overflow checks would never run; add rustc_flags = KERNEL_TEST_RUSTC_FLAGS`,
      });
    }
  }
  return out;
}

/**
 * A module package with any code has both kinds of tests (seed §7): unit tests in `<module>_test` (the module's
 * own functions, *.test.ts) and integration tests in `<module>_integration_test` (the module with real files,
 * processes or other modules, *.integration.test.ts).
 */
export function checkModuleTests(record: PackageRecord, module: string): Violation[] {
  const code = record.rules.filter((r) => !/_test$/.test(r.kind) && r.kind !== "package_record");
  if (code.length === 0) return []; // a declared module without code yet (e.g. inference) has nothing to test
  const out: Violation[] = [];
  for (const [name, kind] of [
    [`${module}_test`, "unit"],
    [`${module}_integration_test`, "integration"],
  ]) {
    if (!record.rules.some((r) => r.name === name && /_test$/.test(r.kind))) {
      out.push({
        rule: "tests",
        message: `//${record.package} has no ${kind} tests: add a test target named ${name} (${kind === "unit" ? "*.test.ts, the module's own functions" : "*.integration.test.ts, the module with real files, processes or other modules"})`,
      });
    }
  }
  return out;
}

// ---- experiments -------------------------------------------------------------------------------------------------

/** EXPERIMENT.md's header fields (experiments/README.md): `owner:`, `expires: YYYY-MM-DD`, `question:` (or `purpose:`). */
export interface ExperimentHeader {
  owner: string;
  expires: string;
  purpose: string;
}

/** The `key: value` lines at the top of an EXPERIMENT.md (until the first line that is not one). */
export function experimentHeader(text: string): Partial<ExperimentHeader> {
  const out: Partial<ExperimentHeader> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^(owner|expires|question|purpose):\s*(.*?)\s*$/.exec(line);
    if (m === null) break;
    const key = m[1] === "question" ? "purpose" : (m[1] as keyof ExperimentHeader);
    out[key] = m[2];
  }
  return out;
}

/** A real calendar date written YYYY-MM-DD. */
function isDate(s: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/**
 * An experiment (experiments/<name>/) is time-boxed (POLICY.md §6): its EXPERIMENT.md names an owner, a purpose
 * (the question it answers) and an expiry date that has not passed (`today` is YYYY-MM-DD).
 */
export function checkExperiment(dir: string, text: string | null, today: string): Violation[] {
  const v = (message: string): Violation => ({ rule: "experiment", message });
  const file = `${dir}/EXPERIMENT.md`;
  if (text === null) {
    return [
      v(
        `${file} is missing: every experiment names its owner, expiry and purpose there (experiments/README.md); add "owner: <who>", "expires: YYYY-MM-DD" and "question: <the one question it answers>" lines`,
      ),
    ];
  }
  const h = experimentHeader(text);
  const out: Violation[] = [];
  if (!h.owner) out.push(v(`${file} names no owner: start it with an "owner: <name or team>" line`));
  if (!h.purpose) out.push(v(`${file} states no purpose: add a "question: <the one question it answers>" line`));
  if (!h.expires) out.push(v(`${file} has no expiry: add an "expires: YYYY-MM-DD" line (at most a few months out)`));
  else if (!isDate(h.expires)) out.push(v(`${file}: expires "${h.expires}" is not a date written YYYY-MM-DD`));
  else if (h.expires < today) {
    out.push(
      v(
        `${dir} expired on ${h.expires}: graduate it into a module (\`nexa new module\`) or delete it (POLICY.md §6, monthly pruning); extend "expires:" only with its owner's reason`,
      ),
    );
  }
  return out;
}

/** Every directory under modules/ is a declared module (a layer of tests/governance/layers.bzl lists it). */
export function checkModuleDirs(dirs: string[], layering: Layering): Violation[] {
  const declared = new Set([...layering.core, ...layering.crossCutting, ...layering.cli]);
  return dirs
    .filter((d) => !declared.has(d))
    .sort()
    .map((d) => ({
      rule: "unknown-module" as const,
      message: `modules/${d} is not a declared module: add it to a layer in tests/governance/layers.bzl (with a README.md whose first line is its one responsibility), move it under experiments/, or delete it`,
    }));
}

// ---- the whole workspace -----------------------------------------------------------------------------------------

/** What the checks read: the layering, every module's and kernel package's record, and their READMEs. */
export interface WorkspaceInput {
  layering: Layering & { kernelPackages: string[]; graphExempt: Record<string, string> };
  /** One record per module, in the order of layering.core, crossCutting, cli. */
  moduleRecords: PackageRecord[];
  /** One record per kernel package, in the order of layering.kernelPackages. */
  kernelRecords: PackageRecord[];
  /** The README.md of a package path, or null when it has none. */
  readme(pkg: string): string | null;
  /** experiments/<name> directories with their EXPERIMENT.md text (null: none); omitted where not visible. */
  experiments?: { dir: string; text: string | null }[];
  /** Directory names under modules/; omitted where not visible. */
  moduleDirs?: string[];
  /** YYYY-MM-DD, for experiment expiry. */
  today?: string;
}

/** Every check of the policy over a workspace, by name (what `nexa lint` prints and the governance test asserts). */
export function checkWorkspace(w: WorkspaceInput): { check: string; violations: Violation[] }[] {
  const modules = [...w.layering.core, ...w.layering.crossCutting, ...w.layering.cli];
  const records = [...w.moduleRecords, ...w.kernelRecords];
  const graph = graphOf(records);
  const packages = [
    ...graph.edges.flat().map(packageOf),
    ...graph.roots.map(packageOf),
    ...modules.map((m) => `modules/${m}`),
    ...w.layering.kernelPackages,
  ];
  const readmes = [...modules.map((m) => `modules/${m}`), ...w.layering.kernelPackages];
  const out = [
    { check: "layering and cycles", violations: checkLayering(graph, w.layering) },
    { check: "package names", violations: checkPackageNames(packages) },
    { check: "graph coverage", violations: records.flatMap((r) => checkCoverage(r, w.layering.graphExempt)) },
    { check: "module tests", violations: w.moduleRecords.flatMap((r, i) => checkModuleTests(r, modules[i])) },
    { check: "kernel tests", violations: w.kernelRecords.flatMap(checkKernelTests) },
    { check: "readme responsibility", violations: readmes.flatMap((p) => checkReadme(`${p}/README.md`, w.readme(p))) },
  ];
  if (w.moduleDirs !== undefined) {
    out.push({ check: "module directories", violations: checkModuleDirs(w.moduleDirs, w.layering) });
  }
  if (w.experiments !== undefined) {
    const today = w.today ?? new Date().toISOString().slice(0, 10);
    out.push({ check: "experiments", violations: w.experiments.flatMap((e) => checkExperiment(e.dir, e.text, today)) });
  }
  return out;
}

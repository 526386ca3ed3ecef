// The layering of tests/governance/layers.bzl read outside Bazel: its LAYERS dict (a Starlark literal of strings,
// lists and dicts) as data, in the order it is written, and the `Layering` the checks of policy.ts take.
import type { Layering } from "./policy";

/** One layer of LAYERS. */
export interface LayerSpec {
  name: string;
  doc: string;
  /** Module names (modules/<m>) of a module layer. */
  modules: string[];
  /** Workspace paths of a package layer. */
  packages: string[];
  mayUse: string[];
}

/** LAYERS of layers.bzl, in order; throws naming the file when the text is not the expected literal. */
export function parseLayers(text: string, file: string): LayerSpec[] {
  const start = text.search(/^LAYERS\s*=\s*\{/m);
  if (start < 0) throw new Error(`${file}: no \`LAYERS = {\` at the start of a line`);
  // the literal ends at the first closing brace at column 0
  const end = text.indexOf("\n}", start);
  if (end < 0) throw new Error(`${file}: LAYERS has no closing \`}\` at the start of a line`);
  const literal = text
    .slice(text.indexOf("{", start), end + 2)
    .replace(/#[^\n"]*$/gm, "") // comments (none hold a quote)
    .replace(/,(\s*[\]}])/g, "$1"); // trailing commas
  let data: Record<string, { doc?: string; modules?: string[]; packages?: string[]; may_use?: string[] }>;
  try {
    data = JSON.parse(literal);
  } catch (err) {
    throw new Error(`${file}: LAYERS is not a plain literal of strings and lists (${(err as Error).message})`);
  }
  return Object.entries(data).map(([name, spec]) => ({
    name,
    doc: spec.doc ?? "",
    modules: spec.modules ?? [],
    packages: spec.packages ?? [],
    mayUse: spec.may_use ?? [],
  }));
}

/** The `Layering` of policy.ts from LAYERS. */
export function layeringOf(layers: LayerSpec[]): Layering {
  const modules = (name: string) => layers.find((l) => l.name === name)?.modules ?? [];
  return {
    core: modules("core"),
    crossCutting: modules("cross_cutting"),
    cli: modules("cli"),
    mayUse: Object.fromEntries(layers.map((l) => [l.name, l.mayUse])),
  };
}

// The policy holds for the real workspace: layering, cycles, package names, README lines, graph coverage.
import * as fs from "fs";
import * as path from "path";
import { checkCoverage, checkLayering, checkPackageNames, checkReadme, Graph, Layering, packageOf } from "./policy";

const ws = path.join(process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "", process.env.TEST_WORKSPACE ?? "nexacompute");
const read = (rel: string): string => fs.readFileSync(path.join(ws, rel), "utf8");
const readOrNull = (rel: string): string | null => (fs.existsSync(path.join(ws, rel)) ? read(rel) : null);

const layering = JSON.parse(read("tests/governance/layering.json")) as Layering & {
  kernelPackages: string[];
  graphExempt: Record<string, string>;
};
const graph = JSON.parse(read("tests/governance/module_graph.json")) as Graph;
const modules = [...layering.core, ...layering.crossCutting, ...layering.cli];

const messages = (vs: { message: string }[]): string[] => vs.map((v) => v.message);

describe("the real module graph", () => {
  it("has no wrong-way edge and no module cycle", () => {
    expect(messages(checkLayering(graph, layering))).toEqual([]);
  });

  it("has no catch-all package name", () => {
    const packages = [
      ...graph.edges.flat().map(packageOf),
      ...graph.roots.map(packageOf),
      ...modules.map((m) => `modules/${m}`),
      ...layering.kernelPackages,
    ];
    expect(messages(checkPackageNames(packages))).toEqual([]);
  });

  it("starts from every rule target of every module and kernel package", () => {
    const pkgs = [...modules.map((m) => `modules/${m}`), ...layering.kernelPackages].filter((p) => !(p in layering.graphExempt));
    const missing = pkgs.flatMap((p) => checkCoverage(p, read(`${p}/BUILD.bazel`), graph.roots));
    expect(messages(missing)).toEqual([]);
  });
});

describe("module READMEs", () => {
  it.each(modules.map((m) => `modules/${m}`).concat(layering.kernelPackages))("%s opens with its one responsibility", (pkg) => {
    expect(messages(checkReadme(`${pkg}/README.md`, readOrNull(`${pkg}/README.md`)))).toEqual([]);
  });
});

// The policy holds for the real workspace: layering, cycles, package names, README lines, graph coverage, and the
// tests every module and kernel crate must have; all read from what Bazel declared (governed_package records).
import * as fs from "fs";
import * as path from "path";
import {
  checkCoverage,
  checkKernelTests,
  checkLayering,
  checkModuleTests,
  checkPackageNames,
  checkReadme,
  checkWorkspace,
  graphOf,
  Layering,
  packageOf,
} from "@nexa/modules/cli/policy/policy";
import type { PackageRecord } from "@nexa/modules/cli/policy/policy";

const ws = path.join(
  process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "",
  process.env.TEST_WORKSPACE ?? "nexacompute",
);
const read = (rel: string): string => fs.readFileSync(path.join(ws, rel), "utf8");
const readOrNull = (rel: string): string | null => (fs.existsSync(path.join(ws, rel)) ? read(rel) : null);

const layering = JSON.parse(read("tests/governance/layering.json")) as Layering & {
  kernelPackages: string[];
  graphExempt: Record<string, string>;
};
const modules = [...layering.core, ...layering.crossCutting, ...layering.cli];
const moduleRecords = modules.map((m) => JSON.parse(read(`modules/${m}/governance.json`)) as PackageRecord);
const kernelRecords = layering.kernelPackages.map((p) => JSON.parse(read(`${p}/governance.json`)) as PackageRecord);
const graph = graphOf([...moduleRecords, ...kernelRecords]);

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

  it("starts from every rule target of every module and kernel package (macro-made ones included)", () => {
    expect(
      messages([...moduleRecords, ...kernelRecords].flatMap((r) => checkCoverage(r, layering.graphExempt))),
    ).toEqual([]);
    // the records are what Bazel declared: the crates kernel_crate() makes come with their tests
    const stats = kernelRecords.find((r) => r.package === "kernels/stats")!;
    expect(stats.rules.filter((r) => r.generator === "kernel_crate").map((r) => r.name)).toEqual([
      "stats",
      "stats_test",
    ]);
  });
});

describe("tests as governance", () => {
  it.each(modules)("modules/%s has unit and integration tests", (m) => {
    expect(messages(checkModuleTests(moduleRecords[modules.indexOf(m)], m))).toEqual([]);
  });

  it("every kernel crate has its rust_test, built with debug assertions and overflow checks", () => {
    expect(messages(kernelRecords.flatMap(checkKernelTests))).toEqual([]);
    expect(kernelRecords.flatMap((r) => r.rules).filter((r) => r.kind === "rust_test").length).toBeGreaterThanOrEqual(
      9,
    );
  });
});

describe("module READMEs", () => {
  it.each(modules.map((m) => `modules/${m}`).concat(layering.kernelPackages))(
    "%s opens with its one responsibility",
    (pkg) => {
      expect(messages(checkReadme(`${pkg}/README.md`, readOrNull(`${pkg}/README.md`)))).toEqual([]);
    },
  );
});

describe("what `nexa lint` runs", () => {
  it("finds nothing: checkWorkspace over the same records (the checks Bazel's sandbox cannot see are lint's alone)", () => {
    const results = checkWorkspace({
      layering,
      moduleRecords,
      kernelRecords,
      readme: (p) => readOrNull(`${p}/README.md`),
    });
    expect(results.map((r) => r.check)).toEqual([
      "layering and cycles",
      "package names",
      "graph coverage",
      "module tests",
      "kernel tests",
      "readme responsibility",
    ]);
    expect(results.flatMap((r) => messages(r.violations))).toEqual([]);
  });
});

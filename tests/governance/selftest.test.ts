// Each governance check fails on a deliberately broken input: real Bazel fixture packages (fixtures/) analysed by
// the same aspect as the real graph, a fixture README, and BUILD text with an unlisted target.
import * as fs from "fs";
import * as path from "path";
import {
  checkCoverage,
  checkExperiment,
  checkKernelTests,
  checkLayering,
  checkModuleDirs,
  checkModuleTests,
  checkPackageNames,
  checkReadme,
  checkWorkspace,
  findCycles,
  Graph,
  Layering,
  packageOf,
} from "@nexa/modules/cli/policy/policy";
import type { PackageRecord } from "@nexa/modules/cli/policy/policy";

const ws = path.join(
  process.env.RUNFILES_DIR ?? process.env.TEST_SRCDIR ?? "",
  process.env.TEST_WORKSPACE ?? "nexacompute",
);
const read = (rel: string): string => fs.readFileSync(path.join(ws, rel), "utf8");

const layering = JSON.parse(read("tests/governance/layering.json")) as Layering;
const fixture = JSON.parse(read("tests/governance/fixture_graph.json")) as Graph;
const ROOT = "tests/governance/fixtures/bad_layering";

describe("layering check on the broken fixture graph", () => {
  const violations = checkLayering(fixture, layering, ROOT);
  const text = violations.map((v) => v.message).join("\n");

  it("names both packages of the upstream edge data -> train", () => {
    expect(text).toContain(`${ROOT}/modules/data depends on downstream core module ${ROOT}/modules/train`);
    expect(text).toContain(`//${ROOT}/modules/data:ingest -> //${ROOT}/modules/train:trainer`);
  });

  it("rejects a core module using another core module's code", () => {
    expect(text).toContain(`${ROOT}/modules/train uses the code of core module ${ROOT}/modules/data`);
  });

  it("rejects a cross-cutting module using a core module", () => {
    expect(text).toContain(`cross-cutting module ${ROOT}/modules/manifest depends on core module ${ROOT}/modules/data`);
  });

  it("finds the module cycle data -> train -> data", () => {
    expect(violations.filter((v) => v.rule === "cycle").map((v) => v.message)).toEqual([
      `module cycle: ${ROOT}/modules/data -> ${ROOT}/modules/train -> ${ROOT}/modules/data: extract the shared piece into a cross-cutting module`,
    ]);
  });

  it("ignores packages outside the layering root", () => {
    expect(checkLayering(fixture, layering, "tests/governance/fixtures/elsewhere")).toEqual([]);
  });

  it("decides from may_use in layers.bzl: an edge passes or fails as its layer's list says", () => {
    const lenient = {
      ...layering,
      mayUse: { ...layering.mayUse, cross_cutting: [...layering.mayUse.cross_cutting, "core"] },
    };
    const manifestEdge = `${ROOT}/modules/manifest depends on core module`;
    expect(
      checkLayering(fixture, layering, ROOT)
        .map((v) => v.message)
        .join("\n"),
    ).toContain(manifestEdge);
    expect(
      checkLayering(fixture, lenient, ROOT)
        .map((v) => v.message)
        .join("\n"),
    ).not.toContain(manifestEdge);
    const g: Graph = { roots: [], edges: [["//modules/data:x", "//kernels/binding:binding"]] };
    expect(checkLayering(g, layering)).toEqual([]);
    const strict = { ...layering, mayUse: { ...layering.mayUse, core: ["cross_cutting", "contracts"] } };
    expect(checkLayering(g, strict).map((v) => v.message)).toEqual([
      "modules/data (core) depends on kernels (kernels) (//modules/data:x -> //kernels/binding:binding): core may use only cross_cutting, contracts (tests/governance/layers.bzl)",
    ]);
  });

  it("flags undeclared module directories", () => {
    const g: Graph = { roots: [], edges: [["//modules/data:x", "//modules/tooling:y"]] };
    expect(checkLayering(g, layering).map((v) => v.rule)).toContain("unknown-module");
  });
});

describe("cycle finder", () => {
  it("reports one cycle per strongly connected component", () => {
    const g = new Map([
      ["a", new Set(["b"])],
      ["b", new Set(["c"])],
      ["c", new Set(["a"])],
      ["d", new Set(["a"])],
    ]);
    expect(findCycles(g)).toEqual([["a", "b", "c", "a"]]);
  });
});

describe("package name check", () => {
  it("flags the real fixture package named 'shared'", () => {
    const pkgs = fixture.roots.map(packageOf);
    expect(checkPackageNames(pkgs).map((v) => v.message)).toEqual([
      'package tests/governance/fixtures/bad_names/shared has the catch-all name "shared": name it after its one responsibility (POLICY.md §3)',
    ]);
  });

  it.each(["modules/utils", "kernels/common", "modules/pack/helpers", "tools/Misc"])("flags %s", (p) => {
    expect(checkPackageNames([p])).toHaveLength(1);
  });
});

describe("README check", () => {
  it("flags a README that opens with a heading", () => {
    const file = "tests/governance/fixtures/bad_readme/README.md";
    const msgs = checkReadme(file, read(file)).map((v) => v.message);
    expect(msgs[0]).toMatch(/first line is markup/);
    expect(msgs.join("\n")).toMatch(/does not name the module's inputs/);
  });

  it("flags a missing README", () => {
    expect(checkReadme("modules/x/README.md", null)[0].message).toMatch(/is missing/);
  });

  it("flags two sentences and a missing period", () => {
    expect(checkReadme("r", "Packs data into bins. Also trains models well.\nInputs, outputs").length).toBe(1);
    expect(checkReadme("r", "Packs tokenized documents into fixed-length bins\nInputs, outputs").length).toBe(1);
  });

  it("accepts a one-sentence responsibility", () => {
    expect(
      checkReadme("r", "Packs tokenized documents into fixed-length training bins.\n\nInputs: x\nOutputs: y"),
    ).toEqual([]);
  });
});

const record = (pkg: string) => JSON.parse(read(`${pkg}/governance.json`)) as PackageRecord;
const CRATES = "tests/governance/fixtures/bad_tests/kernels/crates";
const MODULE = "tests/governance/fixtures/bad_tests/modules/data";

describe("package records", () => {
  it("list the targets a one-line macro call makes (read from Bazel, not from BUILD text)", () => {
    const r = record(CRATES);
    expect(r.rules.map((x) => [x.name, x.kind, x.generator])).toEqual([
      ["lax", "rust_library", "fixture_crate"],
      ["lax_test", "rust_test", "fixture_crate"],
      ["tested", "rust_library", "fixture_crate"],
      ["tested_test", "rust_test", "fixture_crate"],
      ["untested", "rust_library", "fixture_crate"],
    ]);
    expect(r.roots).toEqual(r.rules.map((x) => `//${CRATES}:${x.name}`));
  });

  it("coverage flags rules the graph does not start from, outside exempt packages", () => {
    const r = { ...record(CRATES), roots: [`//${CRATES}:tested`] };
    expect(checkCoverage(r, {}).map((v) => v.message)).toEqual(
      ["lax", "lax_test", "tested_test", "untested"].map(
        (n) =>
          `//${CRATES}:${n} is not analysed by the layering checks: call governed_package() without graph = False (only packages in GRAPH_EXEMPT_PACKAGES of tests/governance/layering.bzl may)`,
      ),
    );
    expect(checkCoverage(r, { [CRATES]: "reason" })).toEqual([]);
  });
});

describe("tests check", () => {
  it("names a kernel crate whose macro made no test, and a test built without the debug checks", () => {
    expect(checkKernelTests(record(CRATES)).map((v) => v.message)).toEqual([
      `//${CRATES}:untested has no unit tests: declare it with kernel_crate() (kernels/kernel_crate.bzl), or add rust_test(crate = ":untested")`,
      `//${CRATES}:lax_test builds without -C debug-assertions=on and -C overflow-checks=on: debug_assert! and overflow checks would never run; add rustc_flags = KERNEL_TEST_RUSTC_FLAGS`,
    ]);
  });

  it("fails when a macro-made test target disappears", () => {
    const r = record(CRATES);
    const withoutTest = { ...r, rules: r.rules.filter((x) => x.name !== "tested_test") };
    expect(checkKernelTests(withoutTest).map((v) => v.message)).toContain(
      `//${CRATES}:tested has no unit tests: declare it with kernel_crate() (kernels/kernel_crate.bzl), or add rust_test(crate = ":tested")`,
    );
  });

  it("names a module without integration tests, and accepts one with both", () => {
    expect(checkModuleTests(record(MODULE), "data").map((v) => v.message)).toEqual([
      `//${MODULE} has no integration tests: add a test target named data_integration_test (*.integration.test.ts, the module with real files, processes or other modules)`,
    ]);
    const both = record(MODULE);
    both.rules = [...both.rules, { ...both.rules.find((x) => x.name === "data_test")!, name: "data_integration_test" }];
    expect(checkModuleTests(both, "data")).toEqual([]);
    expect(checkModuleTests({ ...both, rules: [] }, "data")).toEqual([]); // no code yet: nothing to test
  });
});

describe("experiment and module-directory checks (run by `nexa lint` over the workspace)", () => {
  const good = "owner: ml-team\nexpires: 2027-01-31\nquestion: does a longer context help?\n";
  it("accept an experiment with owner, purpose and a future expiry", () => {
    expect(checkExperiment("experiments/x", good, "2026-12-03")).toEqual([]);
    expect(checkExperiment("experiments/x", good.replace("question", "purpose"), "2027-01-31")).toEqual([]);
  });
  it.each([
    ["no EXPERIMENT.md", null, /experiments\/x\/EXPERIMENT\.md is missing/],
    ["no owner", good.replace("owner: ml-team\n", ""), /names no owner/],
    ["no purpose", good.replace(/question:.*\n/, ""), /states no purpose/],
    ["no expiry", good.replace(/expires:.*\n/, ""), /has no expiry/],
    [
      "a malformed expiry",
      good.replace("2027-01-31", "2027-02-30"),
      /expires "2027-02-30" is not a date written YYYY-MM-DD/,
    ],
    [
      "an expiry in the past",
      good.replace("2027-01-31", "2026-11-30"),
      /experiments\/x expired on 2026-11-30: graduate it/,
    ],
  ])("reject %s", (_what, text, message) => {
    const vs = checkExperiment("experiments/x", text, "2026-12-03");
    expect(vs.map((v) => v.rule)).toEqual(["experiment"]);
    expect(vs[0].message).toMatch(message);
  });
  it("reject a directory under modules/ that no layer declares", () => {
    expect(checkModuleDirs(["data", "cli"], layering)).toEqual([]);
    expect(checkModuleDirs(["data", "utils"], layering).map((v) => v.message)).toEqual([
      expect.stringMatching(
        /^modules\/utils is not a declared module: add it to a layer in tests\/governance\/layers\.bzl/,
      ),
    ]);
  });
  it("checkWorkspace runs them only when it is given what they read", () => {
    const none = { ...layering, kernelPackages: [], graphExempt: {} };
    const empty = {
      layering: { ...none, core: [], crossCutting: [], cli: [] },
      moduleRecords: [],
      kernelRecords: [],
      readme: () => null,
    };
    expect(checkWorkspace(empty).map((r) => r.check)).not.toContain("experiments");
    const withThem = checkWorkspace({
      ...empty,
      experiments: [{ dir: "experiments/x", text: null }],
      moduleDirs: ["utils"],
    });
    expect(withThem.filter((r) => r.violations.length > 0).map((r) => r.check)).toEqual([
      "module directories",
      "experiments",
    ]);
  });
});

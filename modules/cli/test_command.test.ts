// `nexa test` against a stand-in bazel answering each module's test query from a table (and recording every call):
// modules map to their unit, integration and golden targets, --dry-run runs nothing, `bazel test` gets exactly the
// targets, and Bazel's exit codes become nexa's (a failed test 1, a broken build 3); an unknown module is exit 2.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { classifyTests, testExit, testQuery } from "./test_command";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));
const LAYERS_FILE = path.join(process.env.TEST_SRCDIR!, "nexacompute", "tests/governance/layers.bzl");

const ANSWERS: Record<string, string[]> = {
  registry: ["//modules/registry:registry_test", "//modules/registry:registry_integration_test"],
  pack: ["//modules/pack:pack_integration_test", "//modules/pack:pack_test", "//tests/golden:golden_test"],
  cli: ["//modules/cli:cli_test", "//modules/cli:cli_integration_test", "//tests/golden:golden_test"],
};

/** A workspace with the real layers.bzl and a stand-in bazel whose `test` exits `testCode`. */
function workspace(testCode = 0): { ws: string; env: Record<string, string>; calls: () => string[][] } {
  const ws = tmp("test-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  mkdirSync(path.join(ws, "tests", "governance"), { recursive: true });
  writeFileSync(path.join(ws, "tests", "governance", "layers.bzl"), readFileSync(LAYERS_FILE));
  writeFileSync(path.join(ws, "answers.json"), JSON.stringify(ANSWERS));
  const bazel = path.join(ws, "fake-bazel");
  writeFileSync(
    bazel,
    `#!${process.execPath}
const fs = require("fs"), path = require("path");
const args = process.argv.slice(2);
fs.appendFileSync(path.join(process.cwd(), "calls.jsonl"), JSON.stringify(args) + "\\n");
if (args[0] === "query") {
  const m = /^tests\\(\\/\\/modules\\/(\\w+)\\/\\.\\.\\.\\)/.exec(args[1]);
  const answers = JSON.parse(fs.readFileSync(path.join(process.cwd(), "answers.json"), "utf8"));
  process.stdout.write(((m && answers[m[1]]) || []).map((l) => l + "\\n").join(""));
  process.exit(0);
}
process.stdout.write("//modules/registry:registry_test PASSED\\n");
process.stderr.write("INFO: Build completed\\n");
process.exit(${testCode});
`,
  );
  chmodSync(bazel, 0o755);
  const calls = () =>
    readFileSync(path.join(ws, "calls.jsonl"), "utf8")
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as string[]);
  return { ws, env: { NEXA_BAZEL: bazel, BUILD_WORKSPACE_DIRECTORY: ws }, calls };
}

describe("nexa test", () => {
  it("--dry-run lists each module's unit, integration and golden targets, and runs nothing", async () => {
    const { env, calls } = workspace();
    const r = await nexa(["test", "pack", "registry", "--dry-run", "--json"], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse(r.out)).toEqual({
      schemaVersion: 1,
      dryRun: true,
      modules: [
        {
          module: "pack",
          unit: ["//modules/pack:pack_test"],
          integration: ["//modules/pack:pack_integration_test"],
          golden: ["//tests/golden:golden_test"],
        },
        {
          module: "registry",
          unit: ["//modules/registry:registry_test"],
          integration: ["//modules/registry:registry_integration_test"],
          golden: [],
        },
      ],
      targets: [
        "//modules/pack:pack_integration_test",
        "//modules/pack:pack_test",
        "//modules/registry:registry_integration_test",
        "//modules/registry:registry_test",
        "//tests/golden:golden_test",
      ],
    });
    expect(calls()).toEqual([
      ["query", testQuery("pack"), "--output=label"],
      ["query", testQuery("registry"), "--output=label"],
    ]);
    expect(testQuery("pack")).toBe(
      "tests(//modules/pack/...) + (tests(//tests/golden/...) intersect rdeps(//tests/golden/..., //modules/pack/...))",
    );
  });

  it("runs bazel test on exactly those targets, with --bazel-arg, and passes Bazel's output through", async () => {
    const { env, calls } = workspace();
    const r = await nexa(["test", "//modules/cli/...", "pack", "--bazel-arg=--config=ci"], env);
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      "cli: unit //modules/cli:cli_test; integration //modules/cli:cli_integration_test; golden //tests/golden:golden_test",
    );
    expect(r.out).toContain("//modules/registry:registry_test PASSED");
    expect(r.err).toContain("INFO: Build completed");
    expect(calls().slice(-1)[0]).toEqual([
      "test",
      "--config=ci",
      "--",
      "//modules/cli:cli_integration_test",
      "//modules/cli:cli_test",
      "//modules/pack:pack_integration_test",
      "//modules/pack:pack_test",
      "//tests/golden:golden_test",
    ]);
  });

  it("exits 1 when a test fails and 3 when the build fails; every module by default", async () => {
    const failed = workspace(3);
    expect((await nexa(["test", "registry"], failed.env)).code).toBe(1);
    const broken = workspace(1);
    expect((await nexa(["test", "registry"], broken.env)).code).toBe(3);
    const all = workspace();
    await nexa(["test", "--dry-run"], all.env);
    const queried = all.calls().map((c) => /modules\/(\w+)\//.exec(c[1])![1]);
    expect(queried.slice(0, 6)).toEqual(["data", "distill", "pack", "train", "eval", "inference"]);
    expect(queried).toContain("cli");
    expect(queried).toContain("registry");
  });

  it("refuses an unknown module (exit 2) naming the modules", async () => {
    const { env } = workspace();
    const r = await nexa(["test", "utils"], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /"utils" is not a module\nhint: modules \(tests\/governance\/layers\.bzl\): data, distill, pack/,
    );
  });

  it("classifies labels and maps Bazel's exit codes", () => {
    expect(classifyTests("x", ["//modules/x:x_test", "//modules/x:x_test", "//tests/golden:g"])).toEqual({
      module: "x",
      unit: ["//modules/x:x_test"],
      integration: [],
      golden: ["//tests/golden:g"],
    });
    expect([0, 1, 2, 3, 4, 8, 37, null].map(testExit)).toEqual([0, 3, 2, 1, 3, 4, 4, 4]);
  });
});

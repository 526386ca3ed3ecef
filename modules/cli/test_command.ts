// `nexa test [module…] [--dry-run] [--json] [--bazel-arg ARG]…`: each module's tests as Bazel knows them — unit
// (`tests(//modules/<m>/...)` but integration ones), integration (`*_integration_test`) and golden (the tests of
// //tests/golden that depend on the module) — then `bazel test` on them; `--dry-run` only lists them. No module
// named: every module of tests/governance/layers.bzl. Exit 0 when every test passed, 1 when a test failed, 3 when
// the code does not build (or a module is unknown), 4 when Bazel itself fails.
import { spawn } from "child_process";
import { readFileSync } from "fs";
import * as path from "path";

import type { Command } from "commander";

import { NexaError } from "@nexa/modules/monitoring";

import { bazelOf, bazelOutput } from "./bazel_query";
import type { BazelOptions } from "./bazel_query";
import { EXIT, printJson, UsageError, withJson } from "./context";
import type { CommandContext } from "./context";
import { parseLayers } from "./policy/layers";
import { bazelEnv, findWorkspace } from "./run_pipeline";

export interface ModuleTests {
  module: string;
  unit: string[];
  integration: string[];
  golden: string[];
}

/** The query of one module's tests: its own, and the golden tests that depend on it. */
export function testQuery(module: string): string {
  const pkg = `//modules/${module}/...`;
  return `tests(${pkg}) + (tests(//tests/golden/...) intersect rdeps(//tests/golden/..., ${pkg}))`;
}

/** Sorts the labels of `bazel query --output=label` into unit, integration and golden tests. */
export function classifyTests(module: string, labels: string[]): ModuleTests {
  const out: ModuleTests = { module, unit: [], integration: [], golden: [] };
  for (const label of [...new Set(labels)].sort()) {
    if (label.startsWith("//tests/golden")) out.golden.push(label);
    else if (/_integration_test$/.test(label)) out.integration.push(label);
    else out.unit.push(label);
  }
  return out;
}

/** Each module's tests (modules in the order given). */
export function moduleTests(o: BazelOptions, modules: string[]): ModuleTests[] {
  return modules.map((m) => {
    const text = bazelOutput(o, ["query", testQuery(m), "--output=label"]);
    return classifyTests(
      m,
      text
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l.startsWith("//")),
    );
  });
}

/** Bazel's exit code of `bazel test` as nexa's (see the header). */
export function testExit(bazelCode: number | null): number {
  if (bazelCode === 0) return EXIT.ok;
  if (bazelCode === 3) return EXIT.rubricFailed; // built, but a test failed: the repo is red
  if (bazelCode === 1 || bazelCode === 4) return EXIT.badInput; // a build failure, or no test to run
  if (bazelCode === 2) return EXIT.usage;
  return EXIT.environment;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function register(program: Command, ctx: CommandContext): void {
  withJson(
    program
      .command("test")
      .description("run each module's unit, integration and golden tests (bazel test)")
      .argument("[module...]", "module names, e.g. registry cli (default: every module)")
      .option("--dry-run", "list the test targets, run nothing")
      .option("--bazel-arg <arg>", "extra option for bazel test, e.g. --config=ci (repeatable)", collect, []),
  ).action(async (names: string[], opts: { dryRun?: boolean; json?: boolean; bazelArg: string[] }) => {
    const workspace = findWorkspace(ctx.env);
    const layersFile = path.join(workspace, "tests", "governance", "layers.bzl");
    const declared = parseLayers(readFileSync(layersFile, "utf8"), layersFile).flatMap((l) => l.modules);
    const modules =
      names.length > 0 ? names.map((n) => n.replace(/^\/\/?modules\//, "").replace(/\/(\.\.\.)?$/, "")) : declared;
    for (const [i, m] of modules.entries()) {
      if (!declared.includes(m)) {
        throw new UsageError("CLI_UNKNOWN_MODULE", `"${names[i]}" is not a module`, {
          hint: `modules (tests/governance/layers.bzl): ${declared.join(", ")}`,
        });
      }
    }
    const o = { workspace, bazel: bazelOf(ctx.env), env: ctx.env };
    const tests = moduleTests(o, modules);
    const targets = [...new Set(tests.flatMap((t) => [...t.unit, ...t.integration, ...t.golden]))].sort();
    if (opts.json) printJson(ctx, { schemaVersion: 1, dryRun: opts.dryRun === true, modules: tests, targets });
    else {
      const lines = tests.map(
        (t) =>
          `${t.module}: unit ${t.unit.join(" ") || "-"}; integration ${t.integration.join(" ") || "-"}; golden ${t.golden.join(" ") || "-"}`,
      );
      ctx.io.out(lines.join("\n") + "\n");
    }
    if (opts.dryRun) return;
    if (targets.length === 0) {
      throw new NexaError("CLI_NO_TESTS", `modules ${modules.join(", ")} have no test targets`, {
        hint: "every module needs <module>_test and <module>_integration_test (module_tests in tools/typescript)",
      });
    }
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(o.bazel, ["test", ...opts.bazelArg, "--", ...targets], {
        cwd: workspace,
        env: bazelEnv(ctx.env as NodeJS.ProcessEnv),
        stdio: ["ignore", "pipe", "pipe"],
      });
      // with --json, stdout holds one JSON document: Bazel's output goes to stderr
      child.stdout.on("data", (b: Buffer) => (opts.json ? ctx.io.err : ctx.io.out)(b.toString("utf8")));
      child.stderr.on("data", (b: Buffer) => ctx.io.err(b.toString("utf8")));
      child.on("error", (err) =>
        reject(
          new NexaError("BAZEL_NOT_FOUND", `cannot run ${o.bazel}: ${err.message}`, {
            hint: "install Bazel 4.2.3 (`bash tools/setup/setup.sh`) or point $NEXA_BAZEL at it",
          }),
        ),
      );
      child.on("close", (c) => resolve(c));
    });
    ctx.setExit(testExit(code));
  });
}

// `nexa new module <name> --responsibility "…" --layer core|cross_cutting [--after M] --inputs MSG… --outputs MSG…`:
// the module admission checklist (POLICY.md §6) as arguments, then the scaffold. Each answer is checked and any
// failed one refuses the module (exit 2, nothing written):
//   1. it does not belong to an existing module: its name is new (and not a catch-all: utils, common, …);
//   2. (otherwise it would be an experiment: the refusal says `nexa new experiment`);
//   3. its purpose is one sentence: the README's first line passes the governance README check;
//   4. it fits the DAG: a layer of tests/governance/layers.bzl that takes modules, at a place in the core flow;
//   5. its inputs and outputs are defined manifests: messages of proto/nexa/v1.
// It writes modules/<name>/ (README, BUILD.bazel with ts_module, its layer's visibility and governed_package(),
// index.ts, a unit and an integration test that fail until written), a config contract stub
// proto/nexa/v1/<name>.proto with its contract() line, and adds the module to its layer in layers.bzl.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";

import type { Command } from "commander";
import { Option } from "commander";

import { NexaError } from "@nexa/modules/monitoring";

import { printJson, UsageError } from "./context";
import type { CommandContext } from "./context";
import { checkName, newGroup } from "./new_experiment";
import { parseLayers } from "./policy/layers";
import { checkReadme } from "./policy/policy";
import { findWorkspace } from "./run_pipeline";

/** The visibility package group of each layer that takes new modules (root BUILD.bazel). */
const VISIBILITY: Record<string, string> = {
  core: "//:module_consumers",
  cross_cutting: "//:cross_cutting_consumers",
};

export interface ModuleAnswers {
  name: string;
  responsibility: string;
  layer: "core" | "cross_cutting";
  /** core: the module it comes after in the flow (default: last). */
  after?: string;
  inputs: string[];
  outputs: string[];
}

/** Messages of proto/nexa/v1 by name, with the file (contract) defining each. */
export function protoMessages(workspace: string): Map<string, string> {
  const dir = path.join(workspace, "proto", "nexa", "v1");
  const out = new Map<string, string>();
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith(".proto"))
    .sort()) {
    for (const m of readFileSync(path.join(dir, f), "utf8").matchAll(/^message\s+(\w+)\s*\{/gm)) {
      out.set(m[1], f.replace(/\.proto$/, ""));
    }
  }
  return out;
}

const pascal = (name: string) => name.replace(/(^|_)([a-z0-9])/g, (_m, _u, c: string) => c.toUpperCase());

/** `"modules": [...]` of `layer` in layers.bzl with `module` inserted after `after` (or last). */
export function addToLayer(text: string, layer: string, module: string, after: string | undefined): string {
  const block = text.indexOf(`"${layer}": {`);
  const start = text.indexOf('"modules": [', block);
  const end = text.indexOf("]", start);
  if (block < 0 || start < 0 || end < 0) throw new Error(`layers.bzl: no "modules" list in layer ${layer}`);
  const list = JSON.parse(text.slice(start + '"modules": '.length, end + 1)) as string[];
  list.splice(after === undefined ? list.length : list.indexOf(after) + 1, 0, module);
  return `${text.slice(0, start)}"modules": ${JSON.stringify(list).replace(/","/g, '", "')}${text.slice(end + 1)}`;
}

/** Checks every answer; returns the problems (empty: admitted). */
export function admissionProblems(a: ModuleAnswers, workspace: string): string[] {
  const problems: string[] = [];
  const layersFile = path.join(workspace, "tests", "governance", "layers.bzl");
  const layers = parseLayers(readFileSync(layersFile, "utf8"), layersFile);
  const existing = layers.flatMap((l) => l.modules);
  if (existing.includes(a.name) || existsSync(path.join(workspace, "modules", a.name))) {
    problems.push(`1. modules/${a.name} exists: add the feature to it, or choose another name`);
  }
  const first = a.responsibility.trim();
  for (const v of checkReadme("README.md", `${first}\n\nInputs and outputs below.\n`)) {
    problems.push(`3. --responsibility: ${v.message.replace(/^README\.md: /, "").replace(/;.*$/, "")}`);
  }
  const core = layers.find((l) => l.name === "core")?.modules ?? [];
  if (a.after !== undefined && (a.layer !== "core" || !core.includes(a.after))) {
    problems.push(`4. --after ${a.after}: give a core module (${core.join(", ")}), and only with --layer core`);
  }
  const messages = protoMessages(workspace);
  for (const [flag, names] of [
    ["--inputs", a.inputs],
    ["--outputs", a.outputs],
  ] as const) {
    if (names.length === 0) problems.push(`5. ${flag}: name at least one manifest message of proto/nexa/v1`);
    for (const n of names) {
      if (!messages.has(n.replace(/^nexa\.v1\./, ""))) {
        problems.push(`5. ${flag} ${n} is not a message of proto/nexa/v1: define its contract there first`);
      }
    }
  }
  return problems;
}

function files(a: ModuleAnswers, messages: Map<string, string>): [string, string][] {
  const m = a.name;
  const contracts = [...new Set([...a.inputs, ...a.outputs].map((n) => messages.get(n.replace(/^nexa\.v1\./, ""))!))];
  const deps = [...contracts.map((c) => `//proto/nexa/v1:${c}_ts_proto`), `//proto/nexa/v1:${m}_ts_proto`].sort();
  const refs = (ns: string[]) => ns.map((n) => `\`nexa.v1.${n.replace(/^nexa\.v1\./, "")}\``).join(", ");
  const failing = (kind: string, file: string, what: string) =>
    `// ${kind} tests of modules/${m} (${what}). Replace this failing test with real ones.\n` +
    `describe("modules/${m}", () => {\n  it("has ${kind.toLowerCase()} tests", () => {\n` +
    `    throw new Error("modules/${m} has no ${kind.toLowerCase()} tests yet: write them in ${file} (POLICY.md §7)");\n  });\n});\n`;
  return [
    [
      `modules/${m}/README.md`,
      `${a.responsibility.trim()}\n\n# modules/${m}\n\n- **Layer:** ${a.layer} (tests/governance/layers.bzl).\n` +
        `- **Inputs:** ${refs(a.inputs)}; its config \`nexa.v1.${pascal(m)}Config\`.\n- **Outputs:** ${refs(a.outputs)}.\n` +
        `- **Must not depend on:** ${a.layer === "core" ? "another core module's code (contracts only) or the CLI" : "any core module or the CLI"}.\n`,
    ],
    [
      `modules/${m}/BUILD.bazel`,
      `# modules/${m}: see README.md (first line: the module's one responsibility).\n` +
        "# Its place in the layering (who may use it, what it may use): tests/governance/layers.bzl.\n\n" +
        'load("//tests/governance:package.bzl", "governed_package")\nload("//tools/typescript:defs.bzl", "ts_module")\n\n' +
        `ts_module(\n    name = "${m}",\n    visibility = ["${VISIBILITY[a.layer]}"],\n    deps = [\n${deps.map((d) => `        "${d}",\n`).join("")}    ],\n)\n\n` +
        "# Last: records this package as Bazel declared it, for the governance tests.\ngoverned_package()\n",
    ],
    [`modules/${m}/index.ts`, `// Public face of modules/${m}: ${a.responsibility.trim()}\nexport {};\n`],
    [`modules/${m}/${m}.test.ts`, failing("Unit", `${m}.test.ts`, "the module's own functions")],
    [
      `modules/${m}/${m}.integration.test.ts`,
      failing("Integration", `${m}.integration.test.ts`, "the module with real files, processes or other modules"),
    ],
    [
      `proto/nexa/v1/${m}.proto`,
      `// The config of modules/${m}: ${a.responsibility.trim()}\nsyntax = "proto3";\n\npackage nexa.v1;\n\n` +
        `// What a ${m} stage is told to do (fields to come).\nmessage ${pascal(m)}Config {\n` +
        "  // Major schema version of this message; readers reject any value they do not support. Current: 1.\n" +
        "  uint32 schema_version = 1;\n}\n",
    ],
  ];
}

export function register(program: Command, ctx: CommandContext): void {
  newGroup(program)
    .command("module <name>")
    .description("admit a module (POLICY.md §6 checklist) and scaffold modules/<name>/")
    .requiredOption("--responsibility <sentence>", "its one responsibility, one sentence (the README's first line)")
    .addOption(
      new Option("--layer <layer>", "where it sits in the DAG")
        .choices(["core", "cross_cutting"])
        .makeOptionMandatory(),
    )
    .option("--after <module>", "core: the module it follows in the flow (default: last)")
    .option("--inputs <message...>", "the manifests it consumes (proto/nexa/v1 messages)", [])
    .option("--outputs <message...>", "the manifests it produces (proto/nexa/v1 messages)", [])
    .option("--json", "print the files written as JSON")
    .action((name: string, opts: Omit<ModuleAnswers, "name"> & { json?: boolean }) => {
      checkName(name, "module");
      const workspace = findWorkspace(ctx.env);
      const answers: ModuleAnswers = { ...opts, name };
      const problems = admissionProblems(answers, workspace);
      if (problems.length > 0) {
        throw new UsageError("CLI_MODULE_REFUSED", `module ${name} is not admitted:\n  ${problems.join("\n  ")}`, {
          hint: "if it does not fit yet, start it as an experiment: `nexa new experiment <name> --owner … --expires … --question …`",
        });
      }
      const written = files(answers, protoMessages(workspace));
      for (const [rel] of written) {
        if (existsSync(path.join(workspace, rel))) {
          throw new NexaError("CLI_EXISTS", `${rel} already exists`, {
            context: { file: rel },
            hint: "choose another module name",
          });
        }
      }
      for (const [rel, body] of written) {
        mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true });
        writeFileSync(path.join(workspace, rel), body);
      }
      const protoBuild = path.join(workspace, "proto", "nexa", "v1", "BUILD.bazel");
      writeFileSync(
        protoBuild,
        readFileSync(protoBuild, "utf8").replace(/\n*$/, "\n") +
          `\n# The config of modules/${name}.\ncontract(name = "${name}")\n`,
      );
      const layersFile = path.join(workspace, "tests", "governance", "layers.bzl");
      writeFileSync(layersFile, addToLayer(readFileSync(layersFile, "utf8"), opts.layer, name, opts.after));
      const all = [...written.map(([rel]) => rel), "proto/nexa/v1/BUILD.bazel", "tests/governance/layers.bzl"];
      if (opts.json) printJson(ctx, { schemaVersion: 1, files: all });
      else {
        ctx.io.out(
          `${all.map((f) => `wrote ${f}`).join("\n")}\n\nnext: write its tests (they fail until you do), then ` +
            `\`bazel test //modules/${name}/...\` and \`nexa lint\`\n`,
        );
      }
    });
}

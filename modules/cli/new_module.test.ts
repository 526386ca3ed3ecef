// `nexa new module` and `nexa new experiment` in a scratch workspace with the real layers.bzl: an admitted module is
// scaffolded (README passing the governance README check, BUILD with its layer's visibility and governed_package(),
// failing test skeletons, a config contract, its place in layers.bzl); each failed checklist answer refuses it with
// exit 2 and writes nothing. An experiment gets the EXPERIMENT.md `nexa lint` accepts, and bad answers are refused.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { addToLayer } from "./new_module";
import { parseLayers } from "./policy/layers";
import { checkExperiment, checkReadme } from "./policy/policy";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));
const LAYERS_FILE = path.join(process.env.TEST_SRCDIR!, "nexacompute", "tests/governance/layers.bzl");
const PROTO_BUILD = 'load(":contract.bzl", "contract")\n\ncontract(name = "dataset")\n';

function workspace(): { ws: string; env: Record<string, string> } {
  const ws = tmp("new-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  mkdirSync(path.join(ws, "tests", "governance"), { recursive: true });
  writeFileSync(path.join(ws, "tests", "governance", "layers.bzl"), readFileSync(LAYERS_FILE));
  mkdirSync(path.join(ws, "proto", "nexa", "v1"), { recursive: true });
  writeFileSync(
    path.join(ws, "proto", "nexa", "v1", "dataset.proto"),
    'syntax = "proto3";\npackage nexa.v1;\nmessage DatasetManifest {\n  uint32 schema_version = 1;\n}\n',
  );
  writeFileSync(path.join(ws, "proto", "nexa", "v1", "BUILD.bazel"), PROTO_BUILD);
  mkdirSync(path.join(ws, "modules", "data"), { recursive: true });
  return { ws, env: { BUILD_WORKSPACE_DIRECTORY: ws, NEXA_TODAY: "2026-12-03" } };
}

/** Every file under `dir` (relative), sorted. */
function tree(dir: string, rel = ""): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]))
    .sort();
}

const RESPONSIBILITY = "Scores how far each document of a dataset is from the training distribution.";

describe("nexa new module", () => {
  it("scaffolds an admitted module in its place in the DAG", async () => {
    const { ws, env } = workspace();
    const r = await nexa(
      [
        "new",
        "module",
        "drift",
        "--responsibility",
        RESPONSIBILITY,
        "--layer",
        "core",
        "--after",
        "distill",
        "--inputs",
        "DatasetManifest",
        "--outputs",
        "nexa.v1.DatasetManifest",
      ],
      env,
    );
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toContain("wrote modules/drift/BUILD.bazel");
    const layers = parseLayers(readFileSync(path.join(ws, "tests/governance/layers.bzl"), "utf8"), "layers.bzl");
    expect(layers.find((l) => l.name === "core")!.modules).toEqual([
      "data",
      "distill",
      "drift",
      "pack",
      "train",
      "eval",
      "inference",
    ]);
    const readme = readFileSync(path.join(ws, "modules/drift/README.md"), "utf8");
    expect(readme.split("\n")[0]).toBe(RESPONSIBILITY);
    expect(checkReadme("modules/drift/README.md", readme)).toEqual([]);
    const build = readFileSync(path.join(ws, "modules/drift/BUILD.bazel"), "utf8");
    expect(build).toContain('visibility = ["//:module_consumers"]');
    expect(build).toContain('"//proto/nexa/v1:dataset_ts_proto"');
    expect(build).toContain('"//proto/nexa/v1:drift_ts_proto"');
    expect(build.trimEnd().endsWith("governed_package()")).toBe(true);
    expect(readFileSync(path.join(ws, "modules/drift/drift.test.ts"), "utf8")).toMatch(
      /throw new Error\("modules\/drift has no unit tests yet/,
    );
    expect(readFileSync(path.join(ws, "modules/drift/drift.integration.test.ts"), "utf8")).toMatch(
      /has no integration tests yet/,
    );
    expect(readFileSync(path.join(ws, "proto/nexa/v1/drift.proto"), "utf8")).toMatch(
      /message DriftConfig \{\n.*\n  uint32 schema_version = 1;/,
    );
    expect(readFileSync(path.join(ws, "proto/nexa/v1/BUILD.bazel"), "utf8")).toBe(
      `${PROTO_BUILD}\n# The config of modules/drift.\ncontract(name = "drift")\n`,
    );
    // a cross-cutting module goes last in its layer, with its layer's visibility
    const cross = await nexa(
      [
        "new",
        "module",
        "quota",
        "--responsibility",
        "Tracks how much disk each run's artifacts take in the registry.",
        "--layer",
        "cross_cutting",
        "--inputs",
        "DatasetManifest",
        "--outputs",
        "DatasetManifest",
        "--json",
      ],
      env,
    );
    expect(cross.code).toBe(0);
    expect(JSON.parse(cross.out).files).toContain("modules/quota/index.ts");
    expect(readFileSync(path.join(ws, "modules/quota/BUILD.bazel"), "utf8")).toContain(
      'visibility = ["//:cross_cutting_consumers"]',
    );
  });

  const refusals: [string, string[], RegExp][] = [
    ["an existing module", ["data"], /1\. modules\/data exists: add the feature to it/],
    [
      "two sentences",
      ["x_two", "--responsibility", "Scores documents for drift. It also filters them out."],
      /3\. --responsibility: the first line holds more than one sentence/,
    ],
    [
      "a sentence without its period",
      ["x_short", "--responsibility", "Scores documents for drift against training"],
      /does not end with a period/,
    ],
    [
      "an unknown manifest",
      ["x_msg", "--outputs", "DriftReport"],
      /5\. --outputs DriftReport is not a message of proto\/nexa\/v1/,
    ],
    [
      "no inputs",
      ["x_in", "--inputs"],
      /error: option '--inputs <message\.\.\.>' argument missing|5\. --inputs: name at least one/,
    ],
    ["a place outside the core flow", ["x_after", "--after", "registry"], /4\. --after registry: give a core module/],
    ["a catch-all name", ["utils"], /module name "utils" is a catch-all/],
  ];
  it.each(refusals)("refuses %s (exit 2) and writes nothing", async (_what, args, message) => {
    const { ws, env } = workspace();
    const before = tree(ws);
    const [name, ...rest] = args;
    const defaults: Record<string, string[]> = {
      "--responsibility": ["--responsibility", RESPONSIBILITY],
      "--layer": ["--layer", "core"],
      "--inputs": ["--inputs", "DatasetManifest"],
      "--outputs": ["--outputs", "DatasetManifest"],
    };
    const flags = Object.entries(defaults).flatMap(([flag, v]) => (rest.includes(flag) ? [] : v));
    const r = await nexa(["new", "module", name, ...flags, ...rest], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(tree(ws)).toEqual(before);
  });

  it("inserts into a layer's list after the given module, or last", () => {
    const text = '  "core": {\n    "modules": ["a", "b"],\n  },\n  "cross_cutting": {\n    "modules": ["x"],\n  },\n';
    expect(addToLayer(text, "core", "n", "a")).toContain('"modules": ["a", "n", "b"]');
    expect(addToLayer(text, "cross_cutting", "n", undefined)).toContain('"modules": ["x", "n"]');
  });
});

describe("nexa new experiment", () => {
  it("writes an EXPERIMENT.md that the lint check accepts", async () => {
    const { ws, env } = workspace();
    const r = await nexa(
      [
        "new",
        "experiment",
        "long_context",
        "--owner",
        "ml-team",
        "--expires",
        "2027-01-31",
        "--question",
        "Does a 2k context help the eval?",
      ],
      env,
    );
    expect(r).toMatchObject({ code: 0, err: "" });
    const text = readFileSync(path.join(ws, "experiments/long_context/EXPERIMENT.md"), "utf8");
    expect(text).toBe("owner: ml-team\nexpires: 2027-01-31\nquestion: Does a 2k context help the eval?\n");
    expect(checkExperiment("experiments/long_context", text, "2026-12-03")).toEqual([]);
    expect(readFileSync(path.join(ws, "experiments/long_context/README.md"), "utf8").split("\n")[0]).toBe(
      "Does a 2k context help the eval?",
    );
    expect(existsSync(path.join(ws, "experiments/long_context/BUILD.bazel"))).toBe(true);
    const again = await nexa(
      ["new", "experiment", "long_context", "--owner", "a", "--expires", "2027-01-31", "--question", "q?"],
      env,
    );
    expect(again.code).toBe(3);
    expect(again.err).toMatch(/experiments\/long_context already exists/);
  });

  it.each([
    ["an expiry in the past", ["--expires", "2026-11-01"], /expired on 2026-11-01/],
    ["an expiry too far out", ["--expires", "2028-01-01"], /more than 180 days away/],
    ["a malformed expiry", ["--expires", "31/01/2027"], /is not a date written YYYY-MM-DD/],
    ["an empty owner", ["--owner", " "], /names no owner/],
  ])("refuses %s (exit 2)", async (_what, override, message) => {
    const { ws, env } = workspace();
    const args: Record<string, string> = { "--owner": "ml-team", "--expires": "2027-01-31", "--question": "q?" };
    args[override[0]] = override[1];
    const r = await nexa(["new", "experiment", "probe", ...Object.entries(args).flat()], env);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(existsSync(path.join(ws, "experiments"))).toBe(false);
  });
});

// `nexa new pipeline` in a scratch workspace holding a copy of the golden configs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";

import { runNexa } from "./commands";
import { splitData, workspaceEntry } from "./new_pipeline";

// The template's configs (a stand-in for pipelines/golden): a real DataConfig, the others copied as they are.
const DATA_CONFIG = {
  schemaVersion: 1,
  name: "golden",
  sources: [{ path: "data/chapter_*.json", format: "FORMAT_JSON", textField: "text" }],
  split: { validationFraction: 0.08, testFraction: 0.04 },
  seed: "20261128",
};
const OTHERS = ["pack.json", "teacher_train.json", "distill.json", "student_train.json", "rubric.json"];
const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

function setup(): { ws: string; data: string; env: Record<string, string> } {
  const ws = tmp("nexa-new-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  const golden = path.join(ws, "pipelines", "golden");
  mkdirSync(golden, { recursive: true });
  writeFileSync(path.join(golden, "data.json"), JSON.stringify(DATA_CONFIG));
  for (const f of OTHERS) writeFileSync(path.join(golden, f), `{ "config": "${f}" }\n`);
  const data = tmp("nexa-new-data-");
  mkdirSync(path.join(data, "a", "b"), { recursive: true });
  writeFileSync(path.join(data, "a", "b", "x.jsonl"), '{"text":"hello"}\n');
  writeFileSync(path.join(data, "y.jsonl"), '{"text":"world"}\n');
  writeFileSync(path.join(data, "notes.txt"), "not data");
  return { ws, data, env: { BUILD_WORKSPACE_DIRECTORY: ws, BUILD_WORKING_DIRECTORY: ws } };
}

async function nexa(args: string[], env: Record<string, string>) {
  let out = "";
  let err = "";
  const code = await runNexa(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

describe("nexa new pipeline", () => {
  it("scaffolds BUILD, configs, README and the WORKSPACE data repository, and prints the next command", async () => {
    const { ws, data, env } = setup();
    const r = await nexa(
      ["new", "pipeline", "tickets", "--data", data, "--purpose", "Trains a small model on support tickets."],
      env,
    );
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/next: npx nexa run tickets\n$/);
    const pkg = path.join(ws, "pipelines", "tickets");
    const build = readFileSync(path.join(pkg, "BUILD.bazel"), "utf8");
    expect(build).toMatch(/^# Trains a small model on support tickets\.\n/);
    expect(build).toContain('DATA = "@nexa_data_tickets//:files"');
    expect(build).toMatch(/nexa_pipeline\(\n    name = "tickets",\n    report_stage = "eval",/);
    expect(readFileSync(path.join(pkg, "README.md"), "utf8").split("\n")[0]).toBe(
      "Trains a small model on support tickets.",
    );
    const cfg = decodeManifest(CONTRACTS.DataConfig, readFileSync(path.join(pkg, "data.json")), "data.json");
    expect(cfg.name).toBe("tickets");
    expect(cfg.sources).toEqual([expect.objectContaining({ path: "*.jsonl", textField: "text" })]);
    for (const f of OTHERS) expect(readFileSync(path.join(pkg, f), "utf8")).toBe(`{ "config": "${f}" }\n`);
    const wsText = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    expect(wsText).toContain('load("//tools/stage:data_dir.bzl", "nexa_data_dir")');
    expect(wsText).toContain(
      `nexa_data_dir(\n    name = "nexa_data_tickets",\n    include = ["**/*.jsonl"],\n    path = ${JSON.stringify(data)},\n)`,
    );
    // a second pipeline adds its repository without a second load
    const second = await nexa(["new", "pipeline", "more", "--data", `${data}/**/*.txt`, "--experiment", "--json"], env);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.out)).toMatchObject({
      next: "npx nexa run experiments/more",
      label: "//experiments/more:more",
    });
    const wsText2 = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    expect(wsText2.split("tools/stage:data_dir.bzl").length).toBe(2);
    expect(wsText2).toContain('include = ["**/*.txt"]');
    expect(readFileSync(path.join(ws, "experiments", "more", "EXPERIMENT.md"), "utf8")).toMatch(
      /^owner: .+\nexpires: \d{4}-\d\d-\d\d\nquestion: /,
    );
    expect(
      decodeManifest(CONTRACTS.DataConfig, readFileSync(path.join(ws, "experiments", "more", "data.json")), "d")
        .sources[0],
    ).toMatchObject({ path: "*.txt" });
  });

  it("exits 2 on bad arguments and 3 on bad input, writing nothing", async () => {
    const { ws, data, env } = setup();
    const before = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    expect((await nexa(["new", "pipeline", "Bad-Name", "--data", data], env)).code).toBe(2);
    expect((await nexa(["new", "pipeline", "x", "--data", data, "--format", "csv"], env)).code).toBe(2);
    expect((await nexa(["new", "pipeline", "x", "--data", `${data}/{a,b}/*.jsonl`], env)).code).toBe(2);
    expect((await nexa(["new", "pipeline", "x"], env)).code).toBe(2); // --data is required
    const missing = await nexa(["new", "pipeline", "x", "--data", path.join(data, "nope")], env);
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/is not a directory/);
    const empty = tmp("nexa-new-empty-");
    expect((await nexa(["new", "pipeline", "x", "--data", empty], env)).code).toBe(3);
    expect((await nexa(["new", "pipeline", "golden", "--data", data], env)).code).toBe(3); // exists
    expect(readFileSync(path.join(ws, "WORKSPACE"), "utf8")).toBe(before);
    expect(existsSync(path.join(ws, "pipelines", "x"))).toBe(false);
  });

  it("splits a glob into the directory and Bazel patterns", () => {
    expect(splitData("/d/**/*.jsonl", "/")).toEqual({ dir: "/d", include: ["**/*.jsonl"] });
    expect(splitData("d/sub", "/w")).toEqual({ dir: "/w/d/sub" });
    expect(
      workspaceEntry('load("//tools/stage:data_dir.bzl", "nexa_data_dir")', "nexa_data_a", "/d", ["*"]),
    ).not.toContain("load(");
  });
});

// `nexa graph` over a recorded `bazel query --output=graph` (a stand-in bazel prints it) with the real layering of
// tests/governance/layers.bzl: targets collapse to modules, the layout follows the core flow, and a wrong-way edge
// (data -> train, kernels -> a module) is red in every format; a failing query is an environment error (exit 4).
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { moduleGraph, toDot, toMermaid, toSvg } from "./graph_render";
import { parseLayers } from "./policy/layers";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));
const LAYERS_FILE = path.join(process.env.TEST_SRCDIR!, "nexacompute", "tests/governance/layers.bzl");
const LAYERS = parseLayers(readFileSync(LAYERS_FILE, "utf8"), LAYERS_FILE);

/** What `bazel query 'deps(//modules/...)' --output=graph --nograph:factored` prints (a small, real-shaped graph). */
const CLEAN = [
  "digraph mygraph {",
  "  node [shape=box];",
  '  "//modules/cli:cli"',
  '  "//modules/cli:cli" -> "//modules/registry:registry"',
  '  "//modules/cli:cli" -> "//modules/train:train"',
  '  "//modules/cli:cli" -> "//proto/nexa/v1:run_ts_proto"',
  '  "//modules/cli:cli_test" -> "//modules/cli:cli"',
  '  "//modules/registry:registry" -> "//modules/manifest:manifest"',
  '  "//modules/registry:registry" -> "@npm//better-sqlite3:better-sqlite3"',
  '  "//modules/registry:registry" -> "//tools/typescript:tsc"',
  '  "//modules/train:train" -> "//modules/stage:stage"',
  '  "//modules/train:train" -> "//kernels/binding:binding"',
  '  "//modules/train:train" -> "//modules/manifest:manifest"',
  '  "//modules/train:stage" -> "//modules/manifest:manifest"',
  '  "//kernels/binding:binding" -> "//kernels/abi:nexa_kernels"',
  "}",
];
const BROKEN = [
  ...CLEAN.slice(0, -1),
  '  "//modules/data:data" -> "//modules/train:train"',
  '  "//kernels/binding:binding" -> "//modules/monitoring:monitoring"',
  "}",
];

/** A workspace with the real layers.bzl whose stand-in bazel prints `output` (and logs its arguments). */
function workspace(output: string[], exit = 0): { ws: string; env: Record<string, string> } {
  const ws = tmp("graph-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  mkdirSync(path.join(ws, "tests", "governance"), { recursive: true });
  writeFileSync(path.join(ws, "tests", "governance", "layers.bzl"), readFileSync(LAYERS_FILE));
  writeFileSync(path.join(ws, "query.txt"), output.join("\n") + "\n");
  const bazel = path.join(ws, "fake-bazel");
  writeFileSync(
    bazel,
    `#!/bin/sh\necho "$@" >> "${ws}/calls.txt"\n` +
      (exit === 0 ? `cat "${ws}/query.txt"\n` : `echo "ERROR: /x/BUILD.bazel:3:1: no such target" >&2\nexit ${exit}\n`),
  );
  chmodSync(bazel, 0o755);
  return { ws, env: { NEXA_BAZEL: bazel, BUILD_WORKSPACE_DIRECTORY: ws, BUILD_WORKING_DIRECTORY: ws } };
}

const edgesOf = (out: string) =>
  (JSON.parse(out).edges as { from: string; to: string; violation: string | null }[]).map(
    (e) => `${e.from}->${e.to}${e.violation ? " RED" : ""}`,
  );

describe("nexa graph", () => {
  it("collapses the query's targets to modules, and lays the core flow out left to right", async () => {
    const { ws, env } = workspace(CLEAN);
    const r = await nexa(["graph", "--json"], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(readFileSync(path.join(ws, "calls.txt"), "utf8")).toBe(
      "query deps(//modules/...) --output=graph --nograph:factored --noimplicit_deps --notool_deps\n",
    );
    // targets of one module are one node; external repositories and tools are not drawn
    expect(edgesOf(r.out)).toEqual([
      "cli->contracts",
      "cli->registry",
      "cli->train",
      "registry->manifest",
      "train->kernels",
      "train->manifest",
      "train->stage",
    ]);
    const j = JSON.parse(r.out);
    const core = j.nodes.filter((n: { row: number }) => n.row === 1).map((n: { id: string }) => n.id);
    expect(core).toEqual(["data", "distill", "pack", "train", "eval", "inference"]);
    expect(j.nodes.find((n: { id: string }) => n.id === "registry")).toMatchObject({ layer: "cross_cutting", row: 2 });
    expect(j.nodes.find((n: { id: string }) => n.id === "cli")).toMatchObject({ layer: "cli", row: 0 });
    expect(j.nodes.find((n: { id: string }) => n.id === "kernels")).toMatchObject({ layer: "kernels", row: 3 });
    expect(j.edges.find((e: { from: string; to: string }) => e.from === "train" && e.to === "manifest")).toMatchObject({
      targets: 2,
      example: "//modules/train:stage -> //modules/manifest:manifest",
    });
    expect(j.cycles).toEqual([]);
  });

  it("draws each layering violation in red, in every format, and names it on stderr", async () => {
    const { env } = workspace(BROKEN);
    const j = await nexa(["graph", "--json"], env);
    expect(j.code).toBe(0);
    expect(edgesOf(j.out)).toContain("data->train RED");
    expect(edgesOf(j.out)).toContain("kernels->monitoring RED");
    expect(edgesOf(j.out).filter((e) => e.endsWith(" RED"))).toHaveLength(2);
    expect(j.err).toContain("layering violation: modules/data depends on downstream core module modules/train");
    expect(j.err).toContain("kernels depends on modules/monitoring");

    const mermaid = await nexa(["graph"], env);
    expect(mermaid.out).toMatch(/^flowchart TB\n/);
    const links = mermaid.out.split("\n").filter((l) => / (~~~|-->|-- upstream -->) /.test(l));
    const red = /linkStyle ([\d,]+) stroke:#d00/.exec(mermaid.out)![1].split(",").map(Number);
    expect(red.map((i) => links[i].trim()).sort()).toEqual([
      "m_data -- upstream --> m_train",
      "m_kernels -- upstream --> m_monitoring",
    ]);

    const dot = await nexa(["graph", "--format", "dot"], env);
    expect(dot.out).toMatch(/"data" -> "train" \[color="#d00000"/);
    expect(dot.out).toMatch(/"cli" -> "registry";/);
    expect(dot.out).toContain('subgraph row1 { rank=same; "data"; "distill"; "pack"; "train"; "eval"; "inference"; }');
  });

  it("writes a standalone SVG with --out", async () => {
    const { ws, env } = workspace(BROKEN);
    const r = await nexa(["graph", "--format", "svg", "--out", "modules.svg"], env);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^wrote .*modules\.svg \(svg: 17 modules, 9 edges\)\n$/);
    const svg = readFileSync(path.join(ws, "modules.svg"), "utf8");
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    expect(svg).not.toMatch(/<script|href=|@import|url\((?!#)/); // nothing outside the file
    expect(svg.match(/stroke="#d00000"/g)).toHaveLength(2);
    expect(svg).toContain("2 layering violations (red)");
    // the core flow reads left to right
    const x = (id: string) => Number(new RegExp(`<rect x="([\\d.]+)"[^>]*/><text [^>]*>${id}</text>`).exec(svg)![1]);
    expect(x("data")).toBeLessThan(x("distill"));
    expect(x("train")).toBeLessThan(x("eval"));
  });

  it("a failing query exits 4 with Bazel's message", async () => {
    const { env } = workspace([], 7);
    const r = await nexa(["graph"], env);
    expect(r.code).toBe(4);
    expect(r.err).toMatch(
      /\[BAZEL_FAILED\] `bazel query deps\(\/\/modules\/\.\.\.\) .*` exited 7:\nERROR: \/x\/BUILD\.bazel:3:1: no such target/,
    );
  });

  it("renders an empty graph without failing (every declared module, no edges)", () => {
    const g = moduleGraph([], LAYERS);
    expect(g.edges).toEqual([]);
    expect(g.nodes.map((n) => n.id)).toContain("inference");
    expect(toSvg(g)).toContain("no layering violation");
    expect(toDot(g)).toMatch(/^digraph modules \{/);
    expect(toMermaid(g)).not.toContain("linkStyle");
  });
});

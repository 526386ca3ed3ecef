// `nexa prune`'s build-graph checks (prune_unused.ts) on a scratch workspace with a stand-in bazel that answers the
// three queries: an unused config and an unused script are listed and removed by --apply, a target nothing depends
// on is listed and kept; what a target reads, what CI runs, what a script calls and what a document names are kept.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { EDGES_QUERY, findUnused, KINDS_QUERY, labelPath, queryGraphFacts, SOURCES_QUERY } from "./prune_unused";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

function put(ws: string, rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
  writeFileSync(path.join(ws, rel), text);
}

const SOURCES = ["//pipelines:golden/train.json", "//tools/gen:make.sh", "//modules/data:index.ts"];
const RULES = [
  "nexa_pipeline rule //pipelines:golden",
  "train_stage rule //pipelines:train",
  "ts_project rule //modules/data:data",
  "jest_test rule //modules/data:data_test",
  "ts_project rule //modules/data:leftover",
  "filegroup rule //tools/platforms:documented",
  "sh_binary rule //tools/gen:make",
];
const EDGES = [
  '  "//pipelines:golden" -> "//pipelines:train"',
  '  "//pipelines:train" -> "//modules/data:data"',
  '  "//modules/data:data_test" -> "//modules/data:data"',
  '  "//modules/data:leftover" -> "//modules/data:leftover"',
];

/** The workspace and a stand-in bazel printing the queries' answers. */
function workspace(): { ws: string; env: Record<string, string> } {
  const ws = tmp("unused-ws-");
  put(ws, "WORKSPACE", 'workspace(name = "nexacompute")\n');
  put(ws, "pipelines/golden/train.json", "{}\n"); // read by //pipelines:train
  put(ws, "pipelines/golden/old_rubric.json", "{}\n"); // read by nothing
  put(ws, "tools/gen/make.sh", "echo make\n"); // a target's source
  put(ws, "tests/scale/check.sh", "bash tools/gen/helper.sh\n"); // run by .ci/run
  put(ws, "tools/gen/helper.sh", "echo helper\n"); // called by check.sh
  put(ws, "tools/gen/abandoned.sh", "echo nobody\n"); // nobody
  put(ws, ".ci/run", "bash tests/scale/check.sh\n");
  put(ws, "docs/platforms.md", "Use `--platforms=//tools/platforms:documented`.\n");
  put(ws, "modules/data/BUILD.bazel", 'ts_project(name = "leftover")\n');
  const answers = path.join(ws, ".answers");
  put(ws, ".answers/sources", SOURCES.join("\n") + "\n");
  put(ws, ".answers/kinds", RULES.join("\n") + "\n");
  put(ws, ".answers/edges", `digraph mygraph {\n${EDGES.join("\n")}\n}\n`);
  const bazel = path.join(ws, ".fake-bazel");
  writeFileSync(
    bazel,
    [
      "#!/bin/sh",
      `case "$2" in`,
      `  "${SOURCES_QUERY[1]}") cat "${answers}/sources" ;;`,
      `  "${KINDS_QUERY[1]}") cat "${answers}/kinds" ;;`,
      `  "${EDGES_QUERY[1]}") cat "${answers}/edges" ;;`,
      `  *) echo "unexpected: $*" >&2; exit 2 ;;`,
      "esac",
      "",
    ].join("\n"),
  );
  chmodSync(bazel, 0o755);
  return { ws, env: { NEXA_BAZEL: bazel, BUILD_WORKSPACE_DIRECTORY: ws, NEXA_HOME: tmp("unused-home-") } };
}

describe("nexa prune: the build graph", () => {
  it("maps labels to workspace paths", () => {
    expect(labelPath("//pipelines:golden/rubric.json")).toBe("pipelines/golden/rubric.json");
    expect(labelPath("//:package.json")).toBe("package.json");
  });

  it("lists unused configs, scripts and targets, and keeps what is read, run or named", async () => {
    const { ws, env } = workspace();
    const facts = queryGraphFacts({ workspace: ws, bazel: env.NEXA_BAZEL, env });
    expect(facts.sources).toEqual(SOURCES);
    expect(facts.rules).toHaveLength(RULES.length);
    expect(facts.edges).toHaveLength(EDGES.length);
    expect(findUnused(ws, facts, false).map((i) => [i.kind, i.path])).toEqual([
      ["unused_config", "pipelines/golden/old_rubric.json"],
      ["unused_script", "tools/gen/abandoned.sh"],
      // depends only on itself; named only by its own BUILD file
      ["unreferenced_target", "//modules/data:leftover"],
    ]);
  });

  it("removes the files with --apply and only lists the target", async () => {
    const { ws, env } = workspace();
    const dry = await nexa(["prune", "--json"], { ...env, NEXA_TODAY: "2026-12-03" });
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out).items.map((i: { kind: string }) => i.kind)).toEqual([
      "unused_config",
      "unused_script",
      "unreferenced_target",
    ]);
    expect(existsSync(path.join(ws, "tools/gen/abandoned.sh"))).toBe(true);
    const applied = await nexa(["prune", "--apply"], { ...env, NEXA_TODAY: "2026-12-03" });
    expect(applied.code).toBe(0);
    expect(applied.out).toMatch(/^removed +pipelines\/golden\/old_rubric\.json: /m);
    expect(applied.out).toMatch(/^review +\/\/modules\/data:leftover: a ts_project nothing depends on/m);
    expect(existsSync(path.join(ws, "pipelines/golden/old_rubric.json"))).toBe(false);
    expect(existsSync(path.join(ws, "tools/gen/abandoned.sh"))).toBe(false);
    for (const kept of [
      "pipelines/golden/train.json",
      "tools/gen/make.sh",
      "tools/gen/helper.sh",
      "tests/scale/check.sh",
    ])
      expect(existsSync(path.join(ws, kept))).toBe(true);
  });
});

// `nexa lint` over a scratch workspace whose stand-in bazel "builds" governance records (the files governed_package()
// and layering_json() write): clean → exit 0; each rule broken on its own (a wrong-way edge, a README without its
// responsibility sentence, a module without integration tests, an undeclared modules/ directory, an experiment that
// expired or names no owner) → exit 1 with that check failing and its fix.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as path from "path";

import { nexa } from "./testing/nexa";
import { moduleRecord, policyWorkspace } from "./testing/policy_workspace";
import type { Broken } from "./testing/policy_workspace";

const failing = (out: string) =>
  (JSON.parse(out).checks as { check: string; ok: boolean }[]).filter((c) => !c.ok).map((c) => c.check);

describe("nexa lint", () => {
  it("passes a workspace that follows the policy, after building the governance records", async () => {
    const { ws, env } = policyWorkspace();
    const r = await nexa(["lint"], env);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out.split("\n").filter((l) => l !== "")).toEqual([
      "ok    layering and cycles",
      "ok    package names",
      "ok    graph coverage",
      "ok    module tests",
      "ok    kernel tests",
      "ok    readme responsibility",
      "ok    module directories",
      "ok    experiments",
    ]);
    expect(readFileSync(path.join(ws, "calls.txt"), "utf8").split("\n")).toEqual([
      "build --noshow_progress //tests/governance:layering",
      "info bazel-bin",
      "build --noshow_progress --keep_going //modules/data:governance //modules/train:governance //modules/manifest:governance //modules/cli:governance //kernels/stats:governance",
      "",
    ]);
  });

  it("reports the edges Bazel's visibility refuses as layering violations (exit 1), not as a broken build", async () => {
    const { ws, env } = policyWorkspace();
    const refusal =
      "ERROR: " +
      ws +
      "/modules/registry/BUILD.bazel:7:11: in ts_project rule //modules/registry:registry: target " +
      "'//modules/data:data' is not visible from target '//modules/registry:registry'. Check the visibility declaration of the former target if you think the dependency is legitimate";
    writeFileSync(
      env.NEXA_BAZEL,
      `#!/bin/sh\nif [ "$1" = info ]; then echo "${ws}/bazel-out-bin"; exit 0; fi\n` +
        `case "$*" in *//modules/*) echo "${refusal}" >&2; echo "ERROR: Analysis of target '//modules/registry:governance' failed" >&2; exit 1;; esac\nexit 0\n`,
    );
    const r = await nexa(["lint"], env);
    expect(r.code).toBe(1);
    expect(r.out).toContain("FAIL  layering and cycles");
    expect(r.out).toContain(
      `//modules/registry:registry depends on //modules/data:data (${ws}/modules/registry/BUILD.bazel:7:11), which its layer may not use`,
    );
    // any other build failure is Bazel's error, exit 4
    writeFileSync(
      env.NEXA_BAZEL,
      `#!/bin/sh\nif [ "$1" = info ]; then echo "${ws}/bazel-out-bin"; exit 0; fi\ncase "$*" in *//modules/*) echo "ERROR: disk full" >&2; exit 1;; esac\nexit 0\n`,
    );
    const broken = await nexa(["lint"], env);
    expect(broken.code).toBe(4);
    expect(broken.err).toMatch(/\[BAZEL_FAILED\] .*exited 1:\nERROR: disk full/);
  });

  const cases: [string, string, Broken, RegExp][] = [
    [
      "an upstream edge",
      "layering and cycles",
      (_ws, r) => r["modules/data"].edges.push(["//modules/data:data", "//modules/train:train"]),
      /modules\/data depends on downstream core module modules\/train \(\/\/modules\/data:data -> \/\/modules\/train:train\)/,
    ],
    [
      "a README without its responsibility sentence",
      "readme responsibility",
      (ws) => writeFileSync(path.join(ws, "modules/train/README.md"), "# train\n\nInputs and outputs.\n"),
      /modules\/train\/README\.md: the first line is markup \("# train"\), not a sentence/,
    ],
    [
      "a module without integration tests",
      "module tests",
      (_ws, r) => (r["modules/manifest"] = moduleRecord("manifest", [], ["test"])),
      /\/\/modules\/manifest has no integration tests: add a test target named manifest_integration_test/,
    ],
    [
      "a directory under modules/ no layer declares",
      "module directories",
      (ws) => mkdirSync(path.join(ws, "modules", "utils")),
      /modules\/utils is not a declared module: add it to a layer in tests\/governance\/layers\.bzl/,
    ],
    [
      "an expired experiment",
      "experiments",
      (ws) =>
        writeFileSync(
          path.join(ws, "experiments/probe/EXPERIMENT.md"),
          "owner: ml-team\nexpires: 2026-11-30\nquestion: q?\n",
        ),
      /experiments\/probe expired on 2026-11-30: graduate it into a module \(`nexa new module`\) or delete it/,
    ],
    [
      "an experiment without owner or purpose",
      "experiments",
      (ws) => writeFileSync(path.join(ws, "experiments/probe/EXPERIMENT.md"), "expires: 2027-01-31\n"),
      /experiments\/probe\/EXPERIMENT\.md names no owner[\s\S]*experiments\/probe\/EXPERIMENT\.md states no purpose/,
    ],
    [
      "an experiment without its EXPERIMENT.md",
      "experiments",
      (ws) => rmSync(path.join(ws, "experiments/probe/EXPERIMENT.md")),
      /experiments\/probe\/EXPERIMENT\.md is missing/,
    ],
  ];
  it.each(cases)("fails on %s (exit 1), naming it and the fix", async (_what, check, broken, message) => {
    const { env } = policyWorkspace(broken);
    const j = await nexa(["lint", "--json"], env);
    expect(j.code).toBe(1);
    expect(failing(j.out)).toEqual([check]);
    const text = await nexa(["lint"], env);
    expect(text.code).toBe(1);
    expect(text.out).toMatch(message);
    expect(text.out).toContain(`FAIL  ${check}`);
    expect(text.err).toMatch(new RegExp(`^nexa: \\d+ policy violations? in ${check}\n$`));
  });
});

// Test helper: a scratch workspace for the policy commands (lint, health) whose stand-in bazel "builds" governance
// records (the files governed_package() and layering_json() write) from what the caller lays out, and answers
// `info bazel-bin`. Every call is appended to <workspace>/calls.txt.
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import type { PackageRecord } from "../policy/policy";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

export const LAYERING = {
  core: ["data", "train"],
  crossCutting: ["manifest"],
  cli: ["cli"],
  kernelPackages: ["kernels/stats"],
  graphExempt: {},
  mayUse: {
    core: ["cross_cutting", "kernels", "contracts"],
    cross_cutting: ["cross_cutting", "kernels", "contracts"],
    cli: ["core", "cross_cutting", "kernels", "contracts"],
    kernels: ["kernels"],
    contracts: ["contracts"],
  },
};

const rule = (name: string, kind: string, extra: Partial<PackageRecord["rules"][0]> = {}) => ({
  name,
  kind,
  tags: [],
  generator: "",
  crate: "",
  rustc_flags: [],
  ...extra,
});

/** A module's record: its library, its two test targets, and `edges` from the library. */
export function moduleRecord(m: string, uses: string[], tests = ["test", "integration_test"]): PackageRecord {
  const rules = [rule(m, "ts_project"), ...tests.map((t) => rule(`${m}_${t}`, "jest_test"))];
  return {
    package: `modules/${m}`,
    rules,
    roots: rules.map((r) => `//modules/${m}:${r.name}`),
    edges: uses.map((u) => [`//modules/${m}:${m}`, u] as [string, string]),
  };
}

const KERNEL: PackageRecord = {
  package: "kernels/stats",
  rules: [
    rule("stats", "rust_library"),
    rule("stats_test", "rust_test", {
      crate: ":stats",
      rustc_flags: ["-C", "debug-assertions=on", "-C", "overflow-checks=on"],
    }),
  ],
  roots: ["//kernels/stats:stats", "//kernels/stats:stats_test"],
  edges: [],
};

const README = (what: string) =>
  `Turns ${what} into the next product of the pipeline, deterministically.\n\n- Inputs: a manifest.\n- Outputs: a manifest.\n`;

export type Broken = (ws: string, records: Record<string, PackageRecord>) => void;

/** A workspace with READMEs, directories and records as `broken` leaves them, and its stand-in bazel. */
export function policyWorkspace(broken: Broken = () => undefined): { ws: string; env: Record<string, string> } {
  const ws = tmp("lint-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  const records: Record<string, PackageRecord> = {
    "modules/data": moduleRecord("data", ["//modules/manifest:manifest"]),
    "modules/train": moduleRecord("train", ["//modules/manifest:manifest", "//kernels/stats:stats"]),
    "modules/manifest": moduleRecord("manifest", []),
    "modules/cli": moduleRecord("cli", ["//modules/data:data", "//modules/train:train"]),
    "kernels/stats": KERNEL,
  };
  for (const pkg of Object.keys(records)) {
    mkdirSync(path.join(ws, pkg), { recursive: true });
    writeFileSync(path.join(ws, pkg, "README.md"), README(pkg));
  }
  mkdirSync(path.join(ws, "experiments", "probe"), { recursive: true });
  writeFileSync(
    path.join(ws, "experiments", "probe", "EXPERIMENT.md"),
    "owner: ml-team\nexpires: 2026-12-31\nquestion: does a longer context help the eval?\n\nNotes.\n",
  );
  broken(ws, records);
  const bin = path.join(ws, "bazel-out-bin");
  mkdirSync(path.join(bin, "tests", "governance"), { recursive: true });
  writeFileSync(path.join(bin, "tests", "governance", "layering.json"), JSON.stringify(LAYERING));
  for (const [pkg, r] of Object.entries(records)) {
    mkdirSync(path.join(bin, pkg), { recursive: true });
    writeFileSync(path.join(bin, pkg, "governance.json"), JSON.stringify(r));
  }
  const bazel = path.join(ws, "fake-bazel");
  writeFileSync(
    bazel,
    `#!/bin/sh\necho "$@" >> "${ws}/calls.txt"\nif [ "$1" = info ]; then echo "${bin}"; fi\nexit 0\n`,
  );
  chmodSync(bazel, 0o755);
  return { ws, env: { NEXA_BAZEL: bazel, BUILD_WORKSPACE_DIRECTORY: ws, NEXA_TODAY: "2026-12-03" } };
}

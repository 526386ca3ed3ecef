// `nexa doctor` on a faked machine: a PATH of stand-in tools printing the versions the real ones print, in a scratch
// workspace carrying the real pins (tools/toolchains/pins.bzl) and .bazelversion. All pinned versions → exit 0 with
// the missing GPU reported, not failed; one wrong toolchain → exit 4 naming it with the pin's fix; a full disk and
// an unreadable registry index fail with their fixes.
import { createHash } from "crypto";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { parsePins, runChecks, systemProbes, versionMatches } from "./doctor";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));
const repo = (rel: string) => path.join(process.env.TEST_SRCDIR!, "nexacompute", rel);
const REAL_PINS = readFileSync(repo("tools/toolchains/pins.bzl"), "utf8");

/** What the real tools print for `--version` at the pinned versions. */
const GOOD: Record<string, string> = {
  node: "v20.20.2",
  npm: "11.6.2",
  // Debian's bazel-bootstrap has no version of its own: the package says it
  bazel: "bazel no_version",
  "dpkg-query": "4.2.3+ds-9",
  rustc: "rustc 1.95.0 (59807616e 2026-04-14)",
  cargo: "cargo 1.95.0 (f2d3ce0bd 2026-03-21)",
  protoc: "libprotoc 3.21.12",
};

/** A scratch workspace (the real pins, .bazelversion "4") and a PATH of stand-ins printing `versions`. */
function machine(versions: Record<string, string | null>): { ws: string; env: Record<string, string> } {
  const ws = tmp("doctor-ws-");
  writeFileSync(path.join(ws, "WORKSPACE"), 'workspace(name = "nexacompute")\n');
  writeFileSync(path.join(ws, ".bazelversion"), "4\n");
  mkdirSync(path.join(ws, "tools", "toolchains"), { recursive: true });
  copyFileSync(repo("tools/toolchains/pins.bzl"), path.join(ws, "tools", "toolchains", "pins.bzl"));
  const bin = tmp("doctor-bin-");
  for (const [tool, said] of Object.entries(versions)) {
    if (said === null) continue; // not installed
    const file = path.join(bin, tool);
    writeFileSync(file, `#!/bin/sh\necho '${said}'\n`);
    chmodSync(file, 0o755);
  }
  // node_modules as tools/setup/setup.sh leaves it: stamped with package-lock.json's sha256
  writeFileSync(path.join(ws, "package-lock.json"), '{"lockfileVersion": 3}\n');
  mkdirSync(path.join(ws, "node_modules"));
  writeFileSync(
    path.join(ws, "node_modules", ".nexa-lock.sha256"),
    createHash("sha256").update('{"lockfileVersion": 3}\n').digest("hex") + "\n",
  );
  const home = tmp("doctor-home-");
  return {
    ws,
    // only the stand-ins: the machine's own tools must not answer for a missing one
    // and no CUDA toolkit, even on a machine that has one
    env: { PATH: bin, HOME: home, NEXA_HOME: path.join(home, ".nexa"), NEXA_CUDA_PATH: path.join(home, "no-cuda") },
  };
}

describe("nexa doctor", () => {
  it("passes on a machine with every pinned toolchain, and reports the absent GPU and CUDA toolkit as info", async () => {
    const { ws, env } = machine(GOOD);
    const r = await nexa(["doctor", "--workspace", ws, "--json"], { ...env, BUILD_WORKING_DIRECTORY: ws });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.ok).toBe(true);
    const by = Object.fromEntries(j.checks.map((c: { check: string }) => [c.check, c]));
    expect(by.rustc).toMatchObject({ status: "ok", found: "1.95.0", expected: "1.95.x" });
    expect(by.node).toMatchObject({ status: "ok", found: "20.20.2", expected: "20.x" });
    expect(by.bazel).toMatchObject({ status: "ok", found: "4.2.3 (Debian bazel-bootstrap)", expected: "4.x" });
    expect(by.protoc).toMatchObject({ status: "ok", found: "3.21.12", expected: "3.21.x" });
    expect(by.npm).toMatchObject({ status: "ok", found: "11.6.2" });
    expect(by.gpu).toMatchObject({ status: "info", found: expect.stringMatching(/^none .*skipped, which is fine/) });
    expect(by["cuda toolkit"]).toMatchObject({ status: "info", found: expect.stringMatching(/^absent/) });
    expect(by.registry.status).toBe("info"); // no registry yet
    expect(by["bazel server"]).toMatchObject({ status: "info", found: expect.stringMatching(/^not running/) });
  });

  it("exits 4 when rustc is not the pinned version, printing the pin's fix", async () => {
    const { ws, env } = machine({ ...GOOD, rustc: "rustc 1.80.1 (3f5fd8dd4 2024-08-06)" });
    const r = await nexa(["doctor", "--workspace", ws], env);
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/^rustc\s+fail\s+1\.80\.1\s+1\.95\.x$/m);
    const fix = parsePins(REAL_PINS, "pins.bzl").rustc.fix;
    expect(fix).toMatch(/rustup toolchain install 1\.95/);
    expect(r.out).toContain(`fail rustc: fix: ${fix}`);
    expect(r.err).toBe("nexa: [ENV_DOCTOR] rustc broken (fixes above)\n");
  });

  it("exits 4 when node_modules is older than package-lock.json", async () => {
    const { ws, env } = machine(GOOD);
    writeFileSync(path.join(ws, "package-lock.json"), '{"lockfileVersion": 3, "packages": {}}\n');
    const r = await nexa(["doctor", "--workspace", ws], env);
    expect(r.code).toBe(4);
    expect(r.out).toMatch(/^node_modules\s+fail\s+older than package-lock\.json/m);
    expect(r.out).toContain("fail node_modules: fix: run `npm ci` (or `npm run setup`) in the workspace");
  });

  it("exits 4 for a Bazel release other than .bazelversion's", async () => {
    const { ws, env } = machine({ ...GOOD, bazel: "bazel 5.4.1" });
    const r = await nexa(["doctor", "--workspace", ws, "--json"], env);
    expect(r.code).toBe(4);
    expect(JSON.parse(r.out).checks.find((c: { check: string }) => c.check === "bazel")).toMatchObject({
      status: "fail",
      found: "5.4.1",
      expected: "4.x",
    });
  });

  it("exits 4 when a toolchain is missing or fails to run", async () => {
    const { ws, env } = machine({ ...GOOD, protoc: null });
    const r = await nexa(["doctor", "--workspace", ws, "--json"], env);
    expect(r.code).toBe(4);
    const protoc = JSON.parse(r.out).checks.find((c: { check: string }) => c.check === "protoc");
    expect(protoc).toMatchObject({ status: "fail", found: "not found on PATH (protoc)" });
    expect(protoc.fix).toMatch(/tools\/setup\/setup\.sh/);
    const broken = machine(GOOD);
    writeFileSync(
      path.join(broken.env.PATH.split(":")[0], "node"),
      "#!/bin/sh\necho 'node: bad interpreter' >&2\nexit 127\n",
    );
    const b = await nexa(["doctor", "--workspace", broken.ws, "--json"], broken.env);
    expect(b.code).toBe(4);
    expect(JSON.parse(b.out).checks[1]).toMatchObject({
      check: "node",
      status: "fail",
      found: "`node --version` exited 127: node: bad interpreter",
    });
  });

  it("fails on a nearly full disk and an unreadable registry index, each with its fix", () => {
    const { ws, env } = machine(GOOD);
    const home = path.join(env.HOME, "registry");
    mkdirSync(home, { recursive: true });
    writeFileSync(path.join(home, "index.sqlite"), "not a database, but long enough to be read as one ".repeat(20));
    const real = systemProbes(env);
    const checks = runChecks({
      workspace: ws,
      home,
      env,
      probes: { ...real, freeBytes: (dir) => (dir === home ? 500 << 20 : real.freeBytes(dir)) },
    });
    const by = Object.fromEntries(checks.map((c) => [c.check, c]));
    expect(by["free disk (registry)"]).toMatchObject({ status: "fail", found: `0.5 GiB free at ${home}` });
    expect(by["free disk (registry)"].fix).toMatch(/nexa gc --apply/);
    expect(by.registry).toMatchObject({ status: "fail" });
    expect(by.registry.fix).toBe(
      `delete ${path.join(home, "index.sqlite")} and run \`nexa rebuild-index\` (it is derived from the stored manifests)`,
    );
  });

  it("reads the real pins file; a version matches its pin on component boundaries only", () => {
    const pins = parsePins(REAL_PINS, "pins.bzl");
    expect(Object.keys(pins).sort()).toEqual(["node", "nvcc", "protoc", "rustc"]);
    expect(versionMatches("1.95.2", "1.95")).toBe(true);
    expect(versionMatches("1.95", "1.95")).toBe(true);
    expect(versionMatches("1.950.0", "1.95")).toBe(false);
    expect(versionMatches("1.9.5", "1.95")).toBe(false);
    expect(() => parsePins("TOOL_PINS = {}\n", "x.bzl")).toThrow(/x\.bzl: no TOOL_PINS entries/);
  });
});

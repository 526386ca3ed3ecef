// The nexa commands on a scratch registry: usage errors and help, runs, verify, lineage and rebuild-index output.
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { digestBytes } from "@nexa/modules/manifest";
import { NexaError, RegistryError } from "@nexa/modules/monitoring";
import { LocalStore } from "@nexa/modules/registry";

import { EXIT, exitCodeOf } from "./commands";
import { prettyLine } from "./log_format";
import { nexa } from "./testing/nexa";
import { PACKAGE_VERSION } from "./version";

const home = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "nexa-home-"));

describe("nexa commands", () => {
  it("prints help listing every command, and exits 2 on usage errors with commander's message", async () => {
    const help = await nexa(["--help"]);
    expect(help.code).toBe(0);
    for (const c of [
      "publish",
      "runs",
      "show",
      "diff",
      "compare",
      "lineage",
      "verify",
      "rebuild-index",
      "serve",
      "replay",
    ]) {
      expect(help.out).toContain(c);
    }
    const unknown = await nexa(["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(/unknown command 'frobnicate'/);
    const missing = await nexa(["publish", "--root", "/x"]);
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/required option '--pipeline-file <file>' not specified/);
  });

  it("runs on an empty registry prints nothing; --home and $NEXA_HOME choose the registry", async () => {
    expect(await nexa(["--home", home(), "runs"])).toEqual({ code: 0, out: "", err: "" });
    expect(await nexa(["runs"], { NEXA_HOME: home() })).toEqual({ code: 0, out: "", err: "" });
  });

  it("verify re-hashes a stored blob, and rejects a digest the registry does not hold", async () => {
    const h = home();
    const bytes = Buffer.from("hello registry\n");
    await new LocalStore(h).put(bytes);
    const d = digestBytes(bytes);
    expect(await nexa(["--home", h, "verify", d])).toEqual({ code: 0, out: `${d}: ok (15 bytes)\n`, err: "" });
    const absent = await nexa(["--home", h, "verify", digestBytes("absent")]);
    expect(absent.code).toBe(3);
    expect(absent.err).toContain(`[REGISTRY_NOT_FOUND] blob ${digestBytes("absent")} is not in the store`);
  });

  it("lineage of an unknown digest is bad input (exit 3); rebuild-index succeeds on an empty registry", async () => {
    const h = home();
    const unknown = await nexa(["--home", h, "lineage", digestBytes("x")]);
    expect(unknown.code).toBe(3);
    expect(unknown.err).toMatch(/REGISTRY_UNKNOWN_ARTIFACT/);
    expect(await nexa(["--home", h, "lineage", "--descendants", digestBytes("x")])).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    expect((await nexa(["--home", h, "rebuild-index"])).code).toBe(0);
  });

  it("publish refuses a missing pipeline file with a coded error naming it (exit 3)", async () => {
    const r = await nexa(["--home", home(), "publish", "--pipeline-file", "/nonexistent/plan.json", "--root", "/"]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(/plan\.json/);
  });

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(path.join(process.env.TEST_SRCDIR!, "nexacompute", "package.json"), "utf8"));
    expect(PACKAGE_VERSION).toBe(pkg.version);
    const v = await nexa(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(new RegExp(`^nexa ${PACKAGE_VERSION.replace(/\./g, "\\.")}( \\(\\S+\\))?\n$`));
  });

  it("usage errors exit 2 (never 1, the rubric's code) and print the command's usage", async () => {
    for (const args of [["runs", "extra"], ["show"], ["--log-format", "xml", "runs"], ["verify", "abc"]]) {
      const r = await nexa(["--home", home(), ...args]);
      expect({ args, code: r.code }).toEqual({ args, code: EXIT.usage });
      expect(r.err).toMatch(/Usage: nexa/);
    }
  });

  it("maps errors to exit codes: bad input 3, environment 4", () => {
    expect(exitCodeOf(new RegistryError("REGISTRY_UNKNOWN_RUN", "x"))).toBe(3);
    expect(exitCodeOf(new NexaError("MANIFEST_READ", "x"))).toBe(3);
    expect(exitCodeOf(new NexaError("EACCES", "x"))).toBe(4);
    expect(exitCodeOf(new NexaError("TOOLCHAIN_MISSING", "x"))).toBe(4);
    expect(exitCodeOf(new Error("unexpected"))).toBe(4);
  });

  it("the pretty log format renders a JSON log line as one readable line", () => {
    const line = JSON.stringify({
      level: 30,
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 250),
      run_id: "r",
      stage: "publish",
      event: "stage_published",
      stage_name: "train",
      status: "ran",
    });
    expect(prettyLine(line)).toBe("12:00:01.250 INFO  publish stage_published stage_name=train status=ran");
    expect(prettyLine(line, true)).toContain("\x1b[32mINFO \x1b[0m");
    expect(prettyLine("not json")).toBe("not json");
    expect(prettyLine(JSON.stringify({ level: 50, time: 0, stage: "", event: "failed", msg: "disk full" }))).toBe(
      "00:00:00.000 ERROR - failed: disk full",
    );
  });
});

// The nexa commands on a scratch registry: usage errors and help, runs, verify, lineage and rebuild-index output.
import { mkdtempSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { digestBytes } from "@nexa/modules/manifest";
import { LocalStore } from "@nexa/modules/registry";

import { runNexa } from "./commands";

async function nexa(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await runNexa(args, { out: (t) => (out += t), err: (t) => (err += t), env });
  return { code, out, err };
}

const home = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "nexa-home-"));

describe("nexa commands", () => {
  it("prints help listing every command, and exits 2 on usage errors with commander's message", async () => {
    const help = await nexa(["--help"]);
    expect(help.code).toBe(0);
    for (const c of ["publish", "runs", "lineage", "verify", "rebuild-index"]) expect(help.out).toContain(c);
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
    await expect(nexa(["--home", h, "verify", digestBytes("absent")])).rejects.toMatchObject({
      code: "REGISTRY_NOT_FOUND",
      message: `blob ${digestBytes("absent")} is not in the store`,
    });
  });

  it("lineage of an unknown digest lists nothing; rebuild-index succeeds on an empty registry", async () => {
    const h = home();
    expect(await nexa(["--home", h, "lineage", digestBytes("x")])).toEqual({ code: 0, out: "", err: "" });
    expect(await nexa(["--home", h, "lineage", "--descendants", digestBytes("x")])).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    expect((await nexa(["--home", h, "rebuild-index"])).code).toBe(0);
  });

  it("publish refuses a missing pipeline file with a coded error naming it", async () => {
    await expect(
      nexa(["--home", home(), "publish", "--pipeline-file", "/nonexistent/plan.json", "--root", "/"]),
    ).rejects.toThrow(/plan\.json/);
  });
});

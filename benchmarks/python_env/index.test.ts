import { createHash } from "crypto";
import { mkdtempSync, writeFileSync } from "fs";
import os from "os";
import * as path from "path";

import { pythonEnvDir } from "./index";

const sha16 = (...parts: string[]) => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest("hex").slice(0, 16);
};

describe("pythonEnvDir", () => {
  const dir = mkdtempSync(path.join(process.env.TEST_TMPDIR ?? os.tmpdir(), "pyenv-"));
  const base = path.join(dir, "base.txt");
  const top = path.join(dir, "top.txt");
  writeFileSync(base, "numpy==2.4.6\n");
  writeFileSync(top, "# extras\n-r base.txt\ntiktoken==0.14.0\n");

  it("keys a file without includes by its sha256 alone (the torch environment's existing key)", () => {
    expect(pythonEnvDir({ name: "torch", requirements: base, sizeHint: "" })).toBe(
      path.join(os.homedir(), ".cache", "nexacompute", `pyenv-torch-${sha16("numpy==2.4.6\n")}`),
    );
  });

  it("keys a file by its bytes followed by its -r includes, so a pin changed in either makes a new environment", () => {
    const key = (f: string) => path.basename(pythonEnvDir({ name: "peers", requirements: f, sizeHint: "" }));
    const before = key(top);
    expect(before).toBe(`pyenv-peers-${sha16("# extras\n-r base.txt\ntiktoken==0.14.0\n", "numpy==2.4.6\n")}`);
    writeFileSync(base, "numpy==2.4.7\n");
    expect(key(top)).not.toBe(before);
  });

  it("refuses a cycle of includes", () => {
    const a = path.join(dir, "a.txt");
    writeFileSync(a, "-r a.txt\n");
    expect(() => pythonEnvDir({ name: "x", requirements: a, sizeHint: "" })).toThrow(/cycle/);
  });
});

// `nexa prune` in a scratch workspace and registry: an expired experiment (with the WORKSPACE data repository its
// pipeline declared) and an hour-old registry temp file are listed by a dry run and removed by --apply; a current
// experiment, its repository and a young temp file are kept, and an experiment without a header is listed to fix.
import { mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync, existsSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { workspaceEntry } from "./new_pipeline";
import { withoutDataRepo } from "./prune";
import { nexa } from "./testing/nexa";

const tmp = (p: string) => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), p));

function workspace(): { ws: string; home: string; env: Record<string, string> } {
  const ws = tmp("prune-ws-");
  let text = 'workspace(name = "nexacompute")\n';
  for (const [name, expires] of [
    ["old", "2026-11-01"],
    ["fresh", "2027-01-31"],
  ]) {
    mkdirSync(path.join(ws, "experiments", name), { recursive: true });
    writeFileSync(
      path.join(ws, "experiments", name, "EXPERIMENT.md"),
      `owner: ml\nexpires: ${expires}\nquestion: q?\n`,
    );
    text += workspaceEntry(text, `nexa_data_${name}`, `/data/${name}`, ["**/*.jsonl"]);
  }
  mkdirSync(path.join(ws, "experiments", "bare"));
  writeFileSync(path.join(ws, "WORKSPACE"), text);
  const home = tmp("prune-home-");
  mkdirSync(path.join(home, "cas", "tmp"), { recursive: true });
  writeFileSync(path.join(home, "cas", "tmp", "1-old.partial"), "x");
  const old = Date.now() / 1000 - 7200;
  utimesSync(path.join(home, "cas", "tmp", "1-old.partial"), old, old);
  writeFileSync(path.join(home, "cas", "tmp", "2-young.partial"), "y");
  return { ws, home, env: { BUILD_WORKSPACE_DIRECTORY: ws, NEXA_HOME: home, NEXA_TODAY: "2026-12-03" } };
}

describe("nexa prune", () => {
  it("lists what is stale in a dry run, removes it with --apply, and keeps what is current", async () => {
    const { ws, home, env } = workspace();
    const before = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    const dry = await nexa(["prune", "--json", "--no-graph"], env);
    expect(dry.code).toBe(0);
    const j = JSON.parse(dry.out);
    expect(j.items.map((i: { kind: string; path: string }) => `${i.kind} ${path.basename(i.path)}`)).toEqual([
      "experiment_needs_owner bare",
      "expired_experiment old",
      "registry_temp 1-old.partial",
    ]);
    expect(j.items[0].detail).toMatch(/experiments\/bare\/EXPERIMENT\.md is missing/);
    expect(readFileSync(path.join(ws, "WORKSPACE"), "utf8")).toBe(before); // a dry run changes nothing
    expect(existsSync(path.join(ws, "experiments", "old"))).toBe(true);

    const applied = await nexa(["prune", "--apply", "--no-graph"], env);
    expect(applied.code).toBe(0);
    expect(applied.out).toContain(
      "removed  experiments/old: expired on 2026-11-01; its nexa_data_old repository removed from WORKSPACE",
    );
    expect(applied.out).toContain("fix      experiments/bare:");
    expect(existsSync(path.join(ws, "experiments", "old"))).toBe(false);
    expect(existsSync(path.join(ws, "experiments", "fresh"))).toBe(true);
    expect(existsSync(path.join(ws, "experiments", "bare"))).toBe(true);
    const after = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    expect(after).not.toContain("nexa_data_old");
    expect(after).toContain('name = "nexa_data_fresh"');
    expect(after).toContain('load("//tools/stage:data_dir.bzl", "nexa_data_dir")');
    expect(existsSync(path.join(home, "cas", "tmp", "1-old.partial"))).toBe(false);
    expect(existsSync(path.join(home, "cas", "tmp", "2-young.partial"))).toBe(true);
    expect((await nexa(["prune", "--no-graph"], env)).out).toMatch(/^fix {6}experiments\/bare: .*\n0 to remove/);
  });

  it("removes exactly one experiment's data repository from WORKSPACE", () => {
    let text = 'workspace(name = "w")\n';
    text += workspaceEntry(text, "nexa_data_a", "/a", ["*.txt"]);
    text += workspaceEntry(text, "nexa_data_ab", "/ab", ["*.txt"]);
    const pruned = withoutDataRepo(text, "a");
    expect(pruned).not.toContain('"nexa_data_a"');
    expect(pruned).toContain('"nexa_data_ab"');
    expect(withoutDataRepo(text, "zz")).toBe(text);
  });
});

// `nexa new pipeline` in a scratch workspace holding a copy of the golden configs.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { gzipSync } from "zlib";

import { parquetWriteBuffer } from "hyparquet-writer";

import { CONTRACTS, decodeManifest } from "@nexa/modules/manifest";

import { runNexa } from "./commands";
import { detectSources, guessEncoding, headIsUtf8, sourcePath, splitData, workspaceEntry } from "./new_pipeline";

// The template's configs (a stand-in for pipelines/golden): a real DataConfig, the others copied as they are.
const DATA_CONFIG = {
  schemaVersion: 1,
  name: "golden",
  sources: [{ path: "data/chapter_*.json", format: "FORMAT_JSON", textField: "text" }],
  split: { validationFraction: 0.08, testFraction: 0.04 },
  seed: "20261128",
};
const OTHERS = [
  "pack.json",
  "teacher_train.json",
  "distill.json",
  "student_train.json",
  "student_undistilled_train.json",
  "rubric.json",
];
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
    // a directory without --format: one source per kind of file (the JSONL files and notes.txt)
    expect(cfg.sources).toEqual([
      expect.objectContaining({ path: "*.jsonl", textField: "text", encoding: "" }),
      expect.objectContaining({ path: "*.txt", textField: "", encoding: "" }),
    ]);
    for (const f of OTHERS) expect(readFileSync(path.join(pkg, f), "utf8")).toBe(`{ "config": "${f}" }\n`);
    const wsText = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    expect(wsText).toContain('load("//tools/stage:data_dir.bzl", "nexa_data_dir")');
    expect(wsText).toContain(
      `nexa_data_dir(\n    name = "nexa_data_tickets",\n    include = ["**/*.jsonl", "**/*.txt"],\n    path = ${JSON.stringify(data)},\n)`,
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

  it("reads a mixed directory as one source per kind, guessing encodings and the Parquet text column", async () => {
    const { ws, env } = setup();
    const data = tmp("nexa-new-mixed-");
    for (const d of ["logs/2024", "tables", "notes/fr", "web"]) mkdirSync(path.join(data, d), { recursive: true });
    writeFileSync(path.join(data, "logs", "2024", "a.jsonl.gz"), gzipSync('{"text":"caf\u00e9 ok"}\n'));
    writeFileSync(path.join(data, "logs", "b.jsonl"), '{"text":"plain"}\n');
    writeFileSync(
      path.join(data, "tables", "rows.parquet"),
      Buffer.from(
        parquetWriteBuffer({
          columnData: [
            { name: "n", data: [BigInt(1)], type: "INT64" },
            { name: "body", data: ["a row"], type: "STRING" },
            { name: "title", data: ["t"], type: "STRING" },
          ],
        }),
      ),
    );
    writeFileSync(path.join(data, "notes", "fr", "one.txt"), Buffer.from("Caf\xe9 cr\xe8me", "latin1"));
    writeFileSync(path.join(data, "notes", "two.txt.gz"), gzipSync(Buffer.from("na\xefve", "latin1")));
    writeFileSync(path.join(data, "web", "page.json"), Buffer.from('{"text":"\x93quoted\x94"}', "latin1"));
    const r = await nexa(["new", "pipeline", "mixed", "--data", data], env);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const notes = r.out.split("\n").filter((l) => l.startsWith("note: "));
    expect(notes).toEqual([
      expect.stringMatching(
        /^note: json: 1 of 1 file\(s\) are not UTF-8 \(e\.g\. web\/page\.json\): reading them as windows-1252/,
      ),
      expect.stringMatching(
        /^note: text: 2 of 2 file\(s\) are not UTF-8 \(e\.g\. notes\/fr\/one\.txt\): reading them as latin-1/,
      ),
      expect.stringMatching(
        /^note: parquet: tables\/rows\.parquet has no string column "text": reading the text from "body"/,
      ),
    ]);
    const cfg = decodeManifest(
      CONTRACTS.DataConfig,
      readFileSync(path.join(ws, "pipelines", "mixed", "data.json")),
      "data.json",
    );
    expect(cfg.sources.map((s) => [s.path, s.format, s.textField, s.encoding])).toEqual([
      ["*.{jsonl,jsonl.gz}", 1, "text", ""],
      ["*.json", 3, "text", "windows-1252"],
      ["*.{txt,txt.gz}", 2, "", "latin-1"],
      ["*.parquet", 4, "body", ""],
    ]);
    expect(readFileSync(path.join(ws, "WORKSPACE"), "utf8")).toContain(
      'include = ["**/*.jsonl", "**/*.jsonl.gz", "**/*.json", "**/*.txt", "**/*.txt.gz", "**/*.parquet"],',
    );
    // --format keeps one source of that format
    const one = await nexa(["new", "pipeline", "only_text", "--data", data, "--format", "text"], env);
    expect(one.code).toBe(0);
    expect(one.out).not.toContain("note:");
    const oneCfg = decodeManifest(
      CONTRACTS.DataConfig,
      readFileSync(path.join(ws, "pipelines", "only_text", "data.json")),
      "data.json",
    );
    expect(oneCfg.sources.map((s) => [s.path, s.format])).toEqual([["*.txt", 2]]);
  });

  it("prefers a Parquet column named text, and exits 3 on a Parquet file without a string column", async () => {
    const { ws, env } = setup();
    const data = tmp("nexa-new-pq-");
    const write = (f: string, columnData: Parameters<typeof parquetWriteBuffer>[0]["columnData"]) =>
      writeFileSync(path.join(data, f), Buffer.from(parquetWriteBuffer({ columnData })));
    write("a.parquet", [
      { name: "title", data: ["t"], type: "STRING" },
      { name: "text", data: ["body"], type: "STRING" },
    ]);
    expect(detectSources(data)).toEqual({
      sources: [expect.objectContaining({ format: "parquet", textField: "text" })],
      notes: ['parquet: reading the text from column "text" (a.parquet)'],
    });
    write("b.parquet", [{ name: "n", data: [BigInt(1)], type: "INT64" }]);
    const before = readFileSync(path.join(ws, "WORKSPACE"), "utf8");
    const r = await nexa(["new", "pipeline", "pq", "--data", data], env);
    expect(r.code).toBe(3);
    expect(r.err).toContain(path.join(data, "b.parquet"));
    expect(r.err).toMatch(/no string column/);
    expect(r.err).toMatch(/string \(UTF8\) column/);
    expect(readFileSync(path.join(ws, "WORKSPACE"), "utf8")).toBe(before);
    expect(existsSync(path.join(ws, "pipelines", "pq"))).toBe(false);
  });

  it("guesses encodings from bytes", () => {
    expect(guessEncoding(Buffer.from([0x63, 0xe9]))).toBe("latin-1");
    expect(guessEncoding(Buffer.from([0x93, 0x61, 0x94]))).toBe("windows-1252");
    expect(headIsUtf8(Buffer.from("caf\u00e9"), false)).toBe(true);
    expect(headIsUtf8(Buffer.from([0x63, 0xe9]), false)).toBe(false);
    // a head cut inside a character is still UTF-8
    expect(headIsUtf8(Buffer.from("caf\u00e9").subarray(0, 4), true)).toBe(true);
    expect(headIsUtf8(Buffer.from("caf\u00e9").subarray(0, 4), false)).toBe(false);
    expect(sourcePath([".jsonl"])).toBe("*.jsonl");
    expect(sourcePath([".txt", ".txt.gz"])).toBe("*.{txt,txt.gz}");
  });

  it("splits a glob into the directory and Bazel patterns", () => {
    expect(splitData("/d/**/*.jsonl", "/")).toEqual({ dir: "/d", include: ["**/*.jsonl"] });
    expect(splitData("d/sub", "/w")).toEqual({ dir: "/w/d/sub" });
    expect(
      workspaceEntry('load("//tools/stage:data_dir.bzl", "nexa_data_dir")', "nexa_data_a", "/d", ["*"]),
    ).not.toContain("load(");
  });
});

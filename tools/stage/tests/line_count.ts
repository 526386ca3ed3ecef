// A minimal stage entry proving the stage rule's contract: counts lines of raw files, sharded by file index.
//   run   --stage --module --config [--raw=F]... [--input=slot=manifest:dir]... [--shard=i --num-shards=n] --out --log [--manifest]
//   merge --stage --module --config --shard-dir=D... --out --manifest --log
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

function flags(argv: string[]): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const a of argv) {
    const eq = a.indexOf("=");
    if (!a.startsWith("--") || eq < 0) throw new Error(`line_count: bad argument ${a} (expected --name=value)`);
    const k = a.slice(2, eq);
    m.set(k, [...(m.get(k) ?? []), a.slice(eq + 1)]);
  }
  return m;
}
const one = (m: Map<string, string[]>, k: string): string => {
  const v = m.get(k);
  if (!v || v.length !== 1) throw new Error(`line_count: --${k} must be given once`);
  return v[0];
};
const sha256 = (b: Buffer | string): string => crypto.createHash("sha256").update(b).digest("hex");

function writeOutputs(f: Map<string, string[]>, counts: Record<string, number>, inputs: string[]): void {
  const out = one(f, "out");
  fs.mkdirSync(out, { recursive: true });
  const body = JSON.stringify(Object.fromEntries(Object.entries(counts).sort()));
  fs.writeFileSync(path.join(out, "counts.json"), body);
  if (f.has("manifest")) {
    const manifest = {
      stage: one(f, "stage"),
      module: one(f, "module"),
      inputs,
      overrides: f.get("set") ?? [],
      outputs: [{ path: "counts.json", sha256: sha256(body) }],
    };
    fs.writeFileSync(one(f, "manifest"), JSON.stringify(manifest));
  }
  fs.writeFileSync(
    one(f, "log"),
    JSON.stringify({ stage: one(f, "stage"), event: "done", files: Object.keys(counts).length }) + "\n",
  );
}

const [command, ...rest] = process.argv.slice(2);
const f = flags(rest);
JSON.parse(fs.readFileSync(one(f, "config"), "utf8"));
const inputs = (f.get("input") ?? []).map((s) => s.split("=")[0]);
if (command === "run") {
  const shard = Number(f.get("shard")?.[0] ?? 0);
  const n = Number(f.get("num-shards")?.[0] ?? 1);
  const counts: Record<string, number> = {};
  (f.get("raw") ?? []).forEach((file, i) => {
    if (i % n === shard)
      counts[path.basename(file)] = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l).length;
  });
  writeOutputs(f, counts, inputs);
} else if (command === "merge") {
  const counts: Record<string, number> = {};
  for (const d of f.get("shard-dir") ?? [])
    Object.assign(counts, JSON.parse(fs.readFileSync(path.join(d, "counts.json"), "utf8")));
  writeOutputs(f, counts, inputs);
} else {
  throw new Error(`line_count: unknown command ${command} (expected run or merge)`);
}

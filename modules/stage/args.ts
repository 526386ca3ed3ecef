// Arguments of a stage action, as the stage rule (tools/stage) passes them:
//   run   --stage=N --module=M --config=C [--raw=F]... [--input=SLOT=MANIFEST:DATA_DIR]...
//         [--shard=I --num-shards=K] [--set=FIELD=VALUE]... --out=DIR --log=FILE [--manifest=FILE]
//   merge (same) --shard-dir=D... --out=DIR --manifest=FILE --log=FILE

import { parseFieldOverride } from "@nexa/modules/manifest";
import type { FieldOverride } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";

export interface InputArg {
  slot: string;
  manifest: string;
  dataDir: string;
}

export interface StageArgs {
  command: "run" | "merge";
  stage: string;
  module: string;
  config: string;
  raw: string[];
  inputs: InputArg[];
  shard: number;
  numShards: number;
  shardDirs: string[];
  /** Config overrides of this build (`nexa run --set`), applied to the config in order. */
  overrides: FieldOverride[];
  out: string;
  log: string;
  /** Absent for shard actions (the merge writes the manifest). */
  manifest?: string;
}

const USAGE =
  "usage: <stage> run|merge --stage=N --module=M --config=C [--raw=F]... [--input=SLOT=MANIFEST:DIR]... " +
  "[--shard=I --num-shards=K] [--shard-dir=D]... [--set=FIELD=VALUE]... --out=DIR --log=FILE [--manifest=FILE]";
const REPEATABLE = new Set(["raw", "input", "shard-dir", "set"]);
const KNOWN = new Set([
  "stage",
  "module",
  "config",
  "raw",
  "input",
  "shard",
  "num-shards",
  "shard-dir",
  "out",
  "log",
  "manifest",
  "set",
]);

function bad(message: string): ConfigError {
  return new ConfigError("CONFIG_BAD_ARGUMENT", message, { hint: USAGE });
}

function nonNegativeInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value)) throw bad(`--${flag}=${value} is not a non-negative integer`);
  return Number(value);
}

/** Parses the action's argv (without node and the bundle path). */
export function parseStageArgs(argv: readonly string[]): StageArgs {
  const [command, ...rest] = argv;
  if (command !== "run" && command !== "merge")
    throw bad(`unknown command ${JSON.stringify(command ?? "")} (expected run or merge)`);
  const values = new Map<string, string[]>();
  for (const arg of rest) {
    const m = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (!m) throw bad(`argument ${JSON.stringify(arg)} is not --name=value`);
    const [, name, value] = m;
    if (!KNOWN.has(name)) throw bad(`unknown flag --${name}`);
    const list = values.get(name) ?? [];
    if (list.length > 0 && !REPEATABLE.has(name)) throw bad(`--${name} given more than once`);
    list.push(value);
    values.set(name, list);
  }
  const one = (name: string): string => {
    const v = values.get(name);
    if (!v || v[0] === "") throw bad(`--${name} is required`);
    return v[0];
  };
  const inputs = (values.get("input") ?? []).map((spec) => {
    const m = /^([a-z_][a-z0-9_]*)=([^:]+):(.+)$/.exec(spec);
    if (!m) throw bad(`--input=${spec} is not SLOT=MANIFEST:DATA_DIR`);
    return { slot: m[1], manifest: m[2], dataDir: m[3] };
  });
  const numShards = values.has("num-shards") ? nonNegativeInt("num-shards", one("num-shards")) : 1;
  const shard = values.has("shard") ? nonNegativeInt("shard", one("shard")) : 0;
  if (numShards < 1 || shard >= numShards) throw bad(`--shard=${shard} is not in [0, --num-shards=${numShards})`);
  const args: StageArgs = {
    command,
    stage: one("stage"),
    module: one("module"),
    config: one("config"),
    raw: values.get("raw") ?? [],
    inputs,
    shard,
    numShards,
    shardDirs: values.get("shard-dir") ?? [],
    overrides: (values.get("set") ?? []).map(parseFieldOverride),
    out: one("out"),
    log: one("log"),
    manifest: values.get("manifest")?.[0],
  };
  if (command === "merge" && args.shardDirs.length === 0) throw bad("merge needs at least one --shard-dir");
  if (command === "merge" && !args.manifest) throw bad("merge needs --manifest");
  if (command === "run" && numShards === 1 && !args.manifest) throw bad("an unsharded run needs --manifest");
  return args;
}

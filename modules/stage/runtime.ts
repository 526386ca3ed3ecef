// The stage runtime: what every module's stage entry point shares. It parses the action's arguments, decodes
// the config strictly, reads the upstream stage manifests, derives the stage_id (the module bundle and, for stages
// that use them, the kernels library join the tool digest), refuses shard counts a stage cannot merge, picks the
// worker thread count (one policy for every stage), runs the module's stage function with a logger bound to the
// stage, and writes the StageManifest listing every output file with its digest. Stages open their upstream
// products through `ctx.open` (input.ts): one verified read with one set of error codes.
//
// A stage action is hermetic: nothing here reads clocks, hostnames or absolute paths into an output, and the
// run_id is unknown inside it (it depends on the whole pipeline), so stage log lines carry stage and stage_id;
// the publisher's lines carry the run_id. On any error the action exits non-zero and Bazel keeps no output.

import { mkdir, readdir, readFile, writeFile } from "fs/promises";
import { availableParallelism } from "os";
import * as path from "path";

import { ABI_VERSION, libraryPath } from "@nexa/kernels/binding";
import {
  applyOverrides,
  CONTRACTS,
  digestBytes,
  digestFile,
  digestMessage,
  decodeManifest,
  deriveStageId,
  encodeMessage,
} from "@nexa/modules/manifest";
import type { Artifact, Contract } from "@nexa/modules/manifest";
import {
  ConfigError,
  createLogger,
  createProgress,
  formatError,
  ManifestError,
  NexaError,
  NO_PROGRESS,
  stageProgressSink,
  toNexaError,
} from "@nexa/modules/monitoring";
import type { NexaLogger, Progress, ProgressSink } from "@nexa/modules/monitoring";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { StageManifest, ToolVersion } from "@nexa/proto/nexa/v1/stage";

import { parseStageArgs } from "./args";
import type { StageArgs } from "./args";
import { openInput } from "./input";

export const STAGE_MANIFEST_SCHEMA = "nexa.v1.StageManifest";

// ----------------------------------------------------------------------------------------------------------
// types

/** One wired upstream stage. */
export interface StageInput {
  /** Input slot name of the stage rule, e.g. "dataset". */
  slot: string;
  /** The upstream StageManifest. */
  manifest: StageManifest;
  /** "sha256:…" of the upstream manifest file (an input of stage_id). */
  manifestDigest: string;
  /** Directory holding the upstream data files (paths in manifest.outputs are relative to it). */
  dataDir: string;
  /** Absolute-or-execroot path of the upstream product manifest file (the output with a schema_name). */
  productPath: string;
  /** Schema of that product, e.g. "nexa.v1.DatasetManifest". */
  productSchema: string;
}

export interface StageContext<C> {
  command: "run" | "merge";
  stage: string;
  module: string;
  config: C;
  /** Display name of the config file (for error messages). */
  configFile: string;
  configDigest: string;
  stageId: string;
  raw: string[];
  inputs: StageInput[];
  /** This action's shard (0 of 1 when unsharded; merge actions see the stage's shard count). */
  shard: { index: number; count: number };
  /** Merge only: the shard directories, in shard order. */
  shardDirs: string[];
  /** Where data files go (created empty). */
  outDir: string;
  log: NexaLogger;
  /** Worker threads for the stage's kernels (the runtime's one policy; outputs never depend on it). */
  threads: number;
  /** The one input in `slot`; throws a ConfigError naming the slot when it is not wired. */
  input(slot: string): StageInput;
  /** The product of the one input in `slot`, opened and verified as `contract` (see input.ts). */
  open<T>(slot: string, contract: Contract<T>): Promise<Artifact<T>>;
  /** The products of every input in `slot` (zero or more), opened and verified. */
  openAll<T>(slot: string, contract: Contract<T>): Promise<Artifact<T>[]>;
  /**
   * Starts reporting progress of `total` units: `progress` events in the log and the live progress file that
   * `nexa run` shows (outside every output; see modules/monitoring progress_file.ts). Stop it in a finally block.
   */
  startProgress(label: string, total: number, unit: string): Progress;
}

/** What a stage function returns. */
export interface StageResult {
  /** The product manifest written into outDir (relative path) and its schema, e.g. "dataset.json". */
  product?: { file: string; schema: string };
  /** Numbers worth showing in a summary (also logged). */
  metrics?: Record<string, number>;
}

export interface StageDefinition<C> {
  /** Module implementing the stage, e.g. "modules/data". */
  module: string;
  /** Contract of the stage config (strictly decoded). */
  config: Contract<C>;
  /** The stage calls the kernels library (@nexa/kernels/binding): its bytes join the tool digest. */
  usesKernels?: boolean;
  run(ctx: StageContext<C>): Promise<StageResult>;
  /** Combines shard directories into outDir; a stage without it refuses num_shards > 1. */
  merge?(ctx: StageContext<C>): Promise<StageResult>;
}

/** Options of one runStage call (tests); a stage action uses the defaults. */
export interface RunOptions {
  /** Worker threads; default: $NEXA_THREADS, else every CPU this process may use. */
  threads?: number;
  /**
   * Directory of live progress files; default: the one `nexa run` watches for this Bazel output base (found from
   * the bundle's real path), when it exists. Never part of any output or key.
   */
  progressDir?: string;
}

/** Environment variable overriding the worker thread count of every stage. */
export const THREADS_ENV = "NEXA_THREADS";

/**
 * The thread policy of every stage: $NEXA_THREADS when set (an integer >= 1), else the CPUs available to the
 * process. Outputs are bitwise identical for any value (the kernels' determinism contract), so the count is never
 * part of a cache key; under Bazel, pass it with --action_env=NEXA_THREADS=N (which does change action keys).
 */
export function stageThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env[THREADS_ENV];
  if (raw === undefined || raw === "") return Math.max(1, availableParallelism());
  if (!/^[1-9][0-9]*$/.test(raw) || Number(raw) > 1024) {
    throw new ConfigError("STAGE_BAD_THREADS", `${THREADS_ENV}=${JSON.stringify(raw)} is not a thread count`, {
      hint: `set ${THREADS_ENV} to an integer from 1 to 1024, or unset it to use every available CPU`,
    });
  }
  return Number(raw);
}

// ----------------------------------------------------------------------------------------------------------
// helpers

/** Every file under `dir`, as sorted relative POSIX paths. */
export async function listDataFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else out.push(r);
    }
  };
  await walk("");
  return out.sort();
}

async function readInput(slot: string, manifestPath: string, dataDir: string): Promise<StageInput> {
  const bytes = await readFile(manifestPath);
  const manifest = decodeManifest(CONTRACTS.StageManifest, bytes, `${slot} input ${path.basename(manifestPath)}`);
  const products = manifest.outputs.filter((o) => o.schemaName !== "");
  if (products.length !== 1) {
    throw new ManifestError(
      "MANIFEST_NO_PRODUCT",
      `upstream stage ${manifest.stageName} lists ${products.length} product manifests (outputs with schema_name); expected 1`,
      { context: { file: manifestPath, stage: manifest.stageName } },
    );
  }
  return {
    slot,
    manifest,
    manifestDigest: digestBytes(bytes),
    dataDir,
    productPath: path.join(dataDir, products[0].path),
    productSchema: products[0].schemaName,
  };
}

async function toolVersions(
  def: StageDefinition<unknown>,
  bundle: string,
): Promise<{ tools: ToolVersion[]; digest: string }> {
  const tools: ToolVersion[] = [
    { name: `${def.module} bundle`, version: "", digest: (await digestFile(bundle)).digest },
  ];
  if (def.usesKernels)
    tools.push({
      name: "nexa_kernels",
      version: `abi ${ABI_VERSION}`,
      digest: (await digestFile(libraryPath())).digest,
    });
  const digest = digestBytes(tools.map((t) => `${t.name}=${t.digest}`).join("\n"));
  return { tools, digest };
}

async function writeStageManifest(
  args: StageArgs,
  ctx: StageContext<unknown>,
  result: StageResult,
  tools: ToolVersion[],
  toolDigest: string,
): Promise<StageManifest> {
  const outputs: ArtifactRef[] = [];
  for (const rel of await listDataFiles(args.out)) {
    const d = await digestFile(path.join(args.out, rel));
    const isProduct = result.product?.file === rel;
    outputs.push(
      ArtifactRef.fromPartial({
        digest: d.digest,
        sizeBytes: d.sizeBytes,
        path: rel,
        mediaType: rel.endsWith(".json")
          ? "application/json"
          : rel.endsWith(".jsonl")
            ? "application/jsonl"
            : "application/octet-stream",
        schemaName: isProduct ? result.product!.schema : "",
      }),
    );
  }
  if (result.product && !outputs.some((o) => o.path === result.product!.file)) {
    throw new NexaError(
      "STAGE_NO_PRODUCT",
      `stage ${args.stage} declared product ${result.product.file} but did not write it`,
      {
        context: { stage: args.stage },
      },
    );
  }
  const manifest = StageManifest.fromPartial({
    schemaVersion: 1,
    stageName: args.stage,
    module: args.module,
    stageId: ctx.stageId,
    configDigest: ctx.configDigest,
    inputs: ctx.inputs.map((i) =>
      ArtifactRef.fromPartial({
        digest: i.manifestDigest,
        path: i.slot,
        mediaType: "application/json",
        schemaName: STAGE_MANIFEST_SCHEMA,
      }),
    ),
    outputs,
    tools,
    toolchains: [await nodeToolchain()],
    toolDigest,
    // code_revision stays empty: a stage action is cached across commits; the RunManifest records the revision.
  });
  await writeFile(args.manifest!, encodeMessage(StageManifest, manifest));
  return manifest;
}

let nodeVersion: ToolVersion | undefined;

/** The runtime that executed the action: node's version and the digest of its binary. */
async function nodeToolchain(): Promise<ToolVersion> {
  nodeVersion ??= { name: "node", version: process.version, digest: (await digestFile(process.execPath)).digest };
  return nodeVersion;
}

// ----------------------------------------------------------------------------------------------------------
// entry point

/** What one stage action did. */
export interface StageOutcome {
  stageId: string;
  result: StageResult;
  /** The StageManifest written (absent for shard actions). */
  manifest?: StageManifest;
}

/**
 * The stage config, strictly decoded: the file as written, or (with `--set` overrides) its JSON with the overrides
 * applied, decoded under a display name that names them, so an unknown or ill-typed override fails like the file.
 */
async function readConfig<C>(def: StageDefinition<C>, args: StageArgs): Promise<{ config: C; configFile: string }> {
  const configText = await readFile(args.config);
  const base = path.basename(args.config);
  if (args.overrides.length === 0) return { config: decodeManifest(def.config, configText, base), configFile: base };
  const configFile = `${base} with --set ${args.overrides.map((o) => `${o.field}=${o.value}`).join(" ")}`;
  let json: unknown;
  try {
    json = JSON.parse(configText.toString("utf8"));
  } catch {
    return { config: decodeManifest(def.config, configText, base), configFile: base }; // reports the JSON error
  }
  const applied = applyOverrides(json, args.overrides, configFile);
  return { config: decodeManifest(def.config, JSON.stringify(applied), configFile), configFile };
}

/** Runs one stage action; throws a NexaError (also logged to --log when the logger exists) on failure. */
export async function runStage<C>(
  def: StageDefinition<C>,
  argv: readonly string[],
  bundlePath: string = process.argv[1],
  options: RunOptions = {},
): Promise<StageOutcome> {
  let log: NexaLogger | undefined;
  let stage = "?";
  let sink: ProgressSink = NO_PROGRESS;
  try {
    const args = parseStageArgs(argv);
    stage = args.stage;
    sink = stageProgressSink(
      bundlePath,
      {
        label: process.env.NEXA_STAGE_LABEL ?? args.stage,
        stage: args.stage,
        command: args.command,
        shard: args.shard,
        num_shards: args.command === "merge" ? args.shardDirs.length : args.numShards,
      },
      options.progressDir,
    );
    const { config, configFile } = await readConfig(def, args);
    const configDigest = digestMessage(def.config.codec, config);
    const shardCount = args.command === "merge" ? args.shardDirs.length : args.numShards;
    if (shardCount > 1 && !def.merge) {
      throw new ConfigError(
        "STAGE_NOT_SHARDABLE",
        `${def.module} runs as one action; stage ${args.stage} has num_shards = ${shardCount}`,
        {
          context: { stage: args.stage },
          hint: `remove num_shards (or set it to 1) on the ${args.stage} target`,
        },
      );
    }
    const threads = options.threads ?? stageThreads();
    const inputs = await Promise.all(args.inputs.map((i) => readInput(i.slot, i.manifest, i.dataDir)));
    const { tools, digest: toolDigest } = await toolVersions(def as StageDefinition<unknown>, bundlePath);
    const stageId = deriveStageId({
      stageName: args.stage,
      configDigest,
      inputManifestDigests: inputs.map((i) => i.manifestDigest),
      toolDigest,
    });
    await mkdir(args.out, { recursive: true });
    log = createLogger({ runId: "", stage: args.stage, stageId, destination: args.log });
    const ctx: StageContext<C> = {
      command: args.command,
      stage: args.stage,
      module: args.module,
      config,
      configFile,
      configDigest,
      stageId,
      raw: args.raw,
      inputs,
      shard: { index: args.shard, count: shardCount },
      shardDirs: args.shardDirs,
      outDir: args.out,
      log,
      threads,
      input(slot: string): StageInput {
        const found = inputs.filter((i) => i.slot === slot);
        if (found.length !== 1) {
          throw new NexaError(
            "STAGE_INPUT_MISSING",
            `stage ${args.stage} needs exactly one "${slot}" input, got ${found.length}`,
            {
              context: { stage: args.stage },
              hint: `wire the upstream stage with \`${slot} = ":<stage>"\` in the pipeline's BUILD file`,
            },
          );
        }
        return found[0];
      },
      open<T>(slot: string, contract: Contract<T>) {
        return openInput(ctx.input(slot), contract);
      },
      openAll<T>(slot: string, contract: Contract<T>) {
        return Promise.all(inputs.filter((i) => i.slot === slot).map((i) => openInput(i, contract)));
      },
      startProgress(label: string, total: number, unit: string): Progress {
        return createProgress({ logger: ctx.log, label, total, unit, sink });
      },
    };
    log.info("stage_start", {
      command: args.command,
      shard: args.shard,
      num_shards: args.numShards,
      inputs: inputs.length,
      threads,
    });
    let result: StageResult;
    if (args.command === "merge") {
      result = await def.merge!(ctx);
    } else {
      result = await def.run(ctx);
    }
    const manifest = args.manifest
      ? await writeStageManifest(args, ctx as StageContext<unknown>, result, tools, toolDigest)
      : undefined;
    log.info("stage_done", { ...(result.metrics ?? {}) });
    log.flush();
    sink.finish("done");
    return { stageId, result, manifest };
  } catch (err) {
    const e = toNexaError(err, { stage });
    sink.finish("failed", `${e.code}: ${e.message}`);
    if (log) {
      log.error("stage_failed", e);
      log.flush();
    }
    throw e;
  }
}

/** The `main` of a stage bundle: runs the action and exits 0, or prints the error and exits 1. */
export async function runStageMain<C>(def: StageDefinition<C>): Promise<never> {
  try {
    await runStage(def, process.argv.slice(2));
    process.exit(0);
  } catch (err) {
    process.stderr.write(`${formatError(err)}\n`);
    process.exit(1);
  }
}

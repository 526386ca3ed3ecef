// `nexa publish`: stores a pipeline's stage outputs and manifests in the registry, writes the RunManifest and
// reports the run. Called by `bazel run //pipelines:<name>` (tools/stage nexa_pipeline) after Bazel built the
// stages. Safe to rerun and to kill at any point: blobs are written atomically, the index is derived data, and a
// rerun of the same outputs gives the same run_id and adds no artifact.

import { execFileSync } from "child_process";
import { readFileSync, realpathSync } from "fs";
import * as path from "path";

import {
  applyOverrides,
  contractByName,
  CONTRACTS,
  decodeManifest,
  deriveRunId,
  digestMessage,
  listFiles,
  newInvocationId,
  readManifest,
  verifyFiles,
} from "@nexa/modules/manifest";
import type { Contract, FieldOverride } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import type { NexaLogger } from "@nexa/modules/monitoring";
import { Catalog, LocalStore } from "@nexa/modules/registry";
import type { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import type { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import type { EvalReport } from "@nexa/proto/nexa/v1/eval";
import type { PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import type { PipelinePlan, PipelineStage } from "@nexa/proto/nexa/v1/pipeline";
import { RunManifest, RunStage } from "@nexa/proto/nexa/v1/run";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";

import { exclusionsOf, formatExclusions } from "./exclusions";
import type { StageExclusion } from "./exclusions";
import { fmtDuration, fmtMetrics, short, table } from "./format";

export type { PipelinePlan } from "@nexa/proto/nexa/v1/pipeline";

export interface StageSummary {
  stage: string;
  stageId: string;
  status: "ran" | "cached";
  durationMs: number | null;
  metrics: Record<string, number>;
  manifestDigest: string;
  /** The stage config as stored in the registry (its digest is the manifest's config_digest); null when the plan names no config file. */
  config: { digest: string; schema: string } | null;
  /** What the stage dropped, per reason (text datasets only). */
  exclusions: StageExclusion[];
}

export interface PublishResult {
  runId: string;
  runManifestDigest: string;
  stages: StageSummary[];
  rubric: "pass" | "fail" | "none";
  /** The run's HTML report in the registry (reports/<run_id>.html), or null when the run has none. */
  reportPath: string | null;
}

export interface PublishOptions {
  /** Directory the plan's short paths are relative to (the workspace's runfiles directory). */
  root: string;
  home: string;
  /** Source checkout for code_revision (BUILD_WORKSPACE_DIRECTORY under `bazel run`). */
  workspace?: string;
  log?: NexaLogger;
}

// ----------------------------------------------------------------------------------------------------------
// helpers

/** Resolves a runfiles short path ("pkg/x" or "../repo/x") against the workspace runfiles root. */
function resolve(root: string, shortPath: string): string {
  return shortPath.startsWith("../") ? path.join(root, "..", shortPath.slice(3)) : path.join(root, shortPath);
}

/** `git rev-parse HEAD` (+ "-dirty" with uncommitted changes), or "unknown" outside a checkout. */
export function codeRevision(workspace: string | undefined): string {
  if (!workspace) return "unknown";
  try {
    const head = execFileSync("git", ["-C", workspace, "rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty = execFileSync("git", ["-C", workspace, "status", "--porcelain", "--untracked-files=no"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return dirty ? `${head}-dirty` : head;
  } catch {
    return "unknown";
  }
}

/**
 * How long the stage action ran, from its log's first and last event: shown in the summary only (a log is never an
 * input of anything, and a cached stage shows the duration of the run that built it). null when unreadable.
 */
function logDuration(logPath: string): number | null {
  let text: string;
  try {
    text = readFileSync(logPath, "utf8");
  } catch {
    return null; // a log is display data; its absence never fails a publish
  }
  const times: number[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim()) continue;
    try {
      const t = Number((JSON.parse(line) as { time?: unknown }).time);
      if (Number.isFinite(t)) times.push(t);
    } catch {
      return null; // a truncated last line (a killed action) leaves the duration unknown
    }
  }
  return times.length >= 2 ? times[times.length - 1] - times[0] : null;
}

/** The summary metrics of a stage: a few numbers of its product manifest (the verified artifact, not its log). */
export function productMetrics(schema: string, product: unknown): Record<string, number> {
  switch (schema) {
    case CONTRACTS.DatasetManifest.name: {
      const d = product as DatasetManifest;
      const m: Record<string, number> = { records: d.recordCount, shards: d.shards.length };
      for (const s of d.splits) m[s.name] = s.recordCount;
      m.dropped = d.drops.reduce((n, x) => n + x.count, 0);
      return m;
    }
    case CONTRACTS.PackedDatasetManifest.name: {
      const p = product as PackedDatasetManifest;
      return {
        sequences: p.bins.reduce((n, b) => n + b.sequenceCount, 0),
        tokens: p.totalTokens,
        fill_ratio: p.fillRatio,
        seq_len: p.seqLen,
      };
    }
    case CONTRACTS.CheckpointManifest.name: {
      const c = product as CheckpointManifest;
      const m: Record<string, number> = {
        final_loss: c.finalTrainLoss,
        steps: c.step,
        tokens_seen: c.tokensSeen,
        params: c.paramCount,
      };
      if (c.finalValLoss !== 0) m.val_loss = c.finalValLoss;
      return m;
    }
    case CONTRACTS.EvalReport.name: {
      const r = product as EvalReport;
      const m: Record<string, number> = { passed: r.passed ? 1 : 0 };
      for (const res of r.results) m[res.metric] = res.value;
      return m;
    }
    default:
      return {};
  }
}

/** Decodes the product manifest a StageManifest lists (already verified against its digest). */
function readProduct(
  manifest: StageManifest,
  dataDir: string,
  stage: string,
): { schema: string; message: unknown } | undefined {
  const ref = manifest.outputs.find((o) => o.schemaName !== "");
  if (!ref) return undefined;
  const contract = contractByName(ref.schemaName);
  if (!contract) {
    throw new NexaError(
      "PUBLISH_UNKNOWN_SCHEMA",
      `stage ${stage}'s product ${ref.path} is a ${ref.schemaName}, which this publisher does not know`,
      {
        context: { stage, file: ref.path },
        hint: "publish with the NexaCompute version that built the pipeline",
      },
    );
  }
  return {
    schema: ref.schemaName,
    message: readManifest(contract, path.join(dataDir, ref.path), `${stage}/${ref.path}`),
  };
}

/**
 * The stage config as a registry artifact: the file the action read with the plan's overrides of that stage
 * applied (as the stage runtime applies them), decoded strictly with the config contract the plan names
 * (`config_schema`; else every config contract is tried) whose canonical digest is the manifest's config_digest.
 * Undefined when the plan names no config file (plans written before it did).
 */
function readStageConfig(
  root: string,
  planStage: PipelineStage,
  overrides: readonly FieldOverride[],
  manifest: StageManifest,
): { contract: Contract<unknown>; message: unknown } | undefined {
  const planConfig = planStage.config;
  if (planConfig === "") return undefined;
  const file = resolve(root, planConfig);
  const text = (() => {
    try {
      return readFileSync(file);
    } catch (cause) {
      throw new NexaError("PUBLISH_CONFIG_READ", `cannot read stage ${manifest.stageName}'s config ${planConfig}`, {
        context: { stage: manifest.stageName, file: planConfig },
        cause,
        hint: "the plan is generated by nexa_pipeline (tools/stage); run the pipeline with `bazel run`",
      });
    }
  })();
  const applied =
    overrides.length === 0
      ? text
      : JSON.stringify(applyOverrides(JSON.parse(text.toString("utf8")), overrides, planConfig));
  for (const contract of Object.values(CONTRACTS) as Contract<unknown>[]) {
    if (contract.kind !== "config") continue;
    if (planStage.configSchema !== "" && contract.name !== planStage.configSchema) continue;
    let message: unknown;
    try {
      message = decodeManifest(contract, applied, planConfig);
    } catch {
      continue;
    }
    if (digestMessage(contract.codec, message) === manifest.configDigest) return { contract, message };
  }
  throw new NexaError(
    "PUBLISH_CONFIG_MISMATCH",
    `stage ${manifest.stageName}'s config ${planConfig} does not have the config digest its manifest records`,
    {
      context: { stage: manifest.stageName, file: planConfig, expected: manifest.configDigest },
      hint: "the config changed after the stage was built: rebuild the pipeline with `bazel run`",
    },
  );
}

/**
 * Fault-injection hook of tests/golden/faults.sh: NEXA_PUBLISH_PAUSE_MS makes the publisher pause after each
 * stored file so a test can kill it mid-publish. Unset (the default), it costs nothing.
 */
async function faultInjectionPause(): Promise<void> {
  const ms = Number(process.env.NEXA_PUBLISH_PAUSE_MS ?? 0);
  if (ms > 0) await new Promise((r) => setTimeout(r, ms));
}

// ----------------------------------------------------------------------------------------------------------
// publish

export async function publishPipeline(plan: PipelinePlan, options: PublishOptions): Promise<PublishResult> {
  const store = new LocalStore(options.home);
  const catalog = new Catalog(store);
  const invocationId = newInvocationId();
  const startedAt = new Date().toISOString();
  try {
    // 1. Read and verify every stage before storing anything: a bad output publishes nothing.
    const stages = [];
    for (const s of plan.stages) {
      const manifestPath = resolve(options.root, s.manifest);
      const dataDir = resolve(options.root, s.data);
      const manifest = readManifest(CONTRACTS.StageManifest, manifestPath, `${s.stage}.manifest.json`);
      if (manifest.stageName !== s.stage) {
        throw new NexaError(
          "PUBLISH_STAGE_MISMATCH",
          `${s.manifest} is the manifest of stage ${manifest.stageName}, not ${s.stage}`,
        );
      }
      await verifyFiles(
        manifestPath,
        dataDir,
        listFiles(manifest).filter((f) => f.jsonPath.startsWith("$.outputs")),
      );
      const product = readProduct(manifest, dataDir, s.stage);
      const ownOverrides = plan.overrides.filter((o) => o.stage === s.stage);
      const config = readStageConfig(options.root, s, ownOverrides, manifest);
      const status: StageSummary["status"] = catalog.stage(manifest.stageId) ? "cached" : "ran";
      stages.push({ plan: s, manifest, manifestPath, dataDir, status, product, config });
    }
    const runId = deriveRunId(stages.map((s) => s.manifest.stageId));
    // where the outputs were read, for the journal (`nexa fsck --repair` restores from there)
    const readFrom = stages.map((s) => ({
      dataDir: realpathSync(s.dataDir),
      manifestPath: realpathSync(s.manifestPath),
    }));
    const log = options.log?.child({ run_id: runId, invocation_id: invocationId });
    log?.info("publish_start", { pipeline: plan.pipeline, stages: stages.length });

    // 2. Store data files, then the manifests that reference them: a manifest in the store implies its files are.
    const summaries: StageSummary[] = [];
    const runStages: RunStage[] = [];
    for (const { plan: s, manifest, manifestPath, dataDir, status, product, config } of stages) {
      for (const o of manifest.outputs) {
        const put = await store.putFile(path.join(dataDir, o.path), o.digest);
        if (put.replaced) {
          log?.warn(
            "blob_replaced",
            { stage_name: s.stage, file: o.path, digest: o.digest },
            "a damaged copy was replaced",
          );
        }
        await faultInjectionPause();
      }
      const storedConfig = config
        ? { digest: await catalog.publishManifest(config.contract, config.message), schema: config.contract.name }
        : null;
      const manifestDigest = await catalog.publishManifest(CONTRACTS.StageManifest, manifest);
      const durationMs = logDuration(resolve(options.root, s.log));
      const metrics = product ? productMetrics(product.schema, product.message) : {};
      summaries.push({
        stage: s.stage,
        stageId: manifest.stageId,
        status,
        durationMs,
        metrics,
        manifestDigest,
        config: storedConfig,
        exclusions: exclusionsOf(s.stage, product),
      });
      runStages.push(
        RunStage.fromPartial({
          stageName: s.stage,
          stageId: manifest.stageId,
          manifest: {
            digest: manifestDigest,
            sizeBytes: readFileSync(manifestPath).length,
            mediaType: "application/json",
            schemaName: CONTRACTS.StageManifest.name,
            path: "",
          },
        }),
      );
      log?.info("stage_published", {
        stage_name: s.stage,
        stage_id: manifest.stageId,
        status,
        manifest_digest: manifestDigest,
      });
    }

    // 3. The run manifest last: a run in the registry implies all of its stages are.
    const run = RunManifest.fromPartial({
      schemaVersion: 1,
      runId,
      pipeline: plan.pipeline,
      stages: runStages,
      codeRevision: codeRevision(options.workspace),
      // `nexa run --set` overrides Bazel built the stages with (already part of those stages' config digests).
      overrides: plan.overrides,
    });
    const runManifestDigest = await catalog.publishManifest(CONTRACTS.RunManifest, run);

    let rubric: PublishResult["rubric"] = "none";
    let reportPath: string | null = null;
    if (plan.reportStage) {
      const { manifest } = stages.find((s) => s.plan.stage === plan.reportStage)!;
      const product = manifest.outputs.find((o) => o.schemaName === CONTRACTS.EvalReport.name);
      if (!product) {
        throw new NexaError("PUBLISH_NO_REPORT", `stage ${plan.reportStage} has no nexa.v1.EvalReport output`, {
          hint: "report_stage must name the pipeline's eval stage",
        });
      }
      const report = await catalog.readMessage(CONTRACTS.EvalReport, product.digest);
      rubric = report.passed ? "pass" : "fail";
      const html = report.htmlReport?.path
        ? manifest.outputs.find((o) => o.path === report.htmlReport!.path)
        : undefined;
      if (html) reportPath = await catalog.storeReport(runId, html.digest);
    }
    catalog.recordInvocation({
      invocationId,
      runId,
      startedAt,
      status: rubric === "fail" ? "rubric_failed" : "succeeded",
      stages: summaries.map((x, i) => ({
        stage: x.stage,
        status: x.status,
        durationMs: x.durationMs,
        ...readFrom[i],
      })),
      finishedAt: new Date().toISOString(),
    });
    log?.info("run_published", { run_manifest: runManifestDigest, rubric });
    return { runId, runManifestDigest, stages: summaries, rubric, reportPath };
  } finally {
    catalog.close();
  }
}

// ----------------------------------------------------------------------------------------------------------
// report

/** The summary table: stage, ran/cached, duration, key metrics, short digest. */
export function formatSummary(result: PublishResult): string {
  const rows = [["stage", "ran/cached", "duration", "metrics", "manifest"]];
  for (const s of result.stages) {
    rows.push([s.stage, s.status, fmtDuration(s.durationMs), fmtMetrics(s.metrics), short(s.manifestDigest)]);
  }
  const dropped = formatExclusions(result.stages.flatMap((s) => s.exclusions));
  return dropped === "" ? table(rows) : `${table(rows)}\n${dropped}`;
}

/** Reads the nexa.v1.PipelinePlan written by nexa_pipeline, strictly. */
export function loadPlan(file: string): PipelinePlan {
  const plan = readManifest(CONTRACTS.PipelinePlan, file, path.basename(file));
  if (plan.reportStage !== "" && !plan.stages.some((s) => s.stage === plan.reportStage)) {
    throw new NexaError("PUBLISH_BAD_PLAN", `report_stage "${plan.reportStage}" is not one of the plan's stages`, {
      context: { file, jsonPath: "$.reportStage" },
      hint: "the plan is generated by nexa_pipeline (tools/stage); run the pipeline with `bazel run`",
    });
  }
  return plan;
}

export function pipelineName(label: string): string {
  return label.slice(label.lastIndexOf(":") + 1);
}

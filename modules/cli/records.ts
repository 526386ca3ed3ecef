// Published runs as the operator sees them, read back from the registry: each stage's manifest, config, product
// metrics, tools, inputs (with the upstream stage they came from) and what the publishing invocation recorded
// (ran or cached, duration). `nexa runs`, `show`, `diff`, `compare` and `lineage` are views of these records.
import { CONTRACTS } from "@nexa/modules/manifest";
import type { Contract } from "@nexa/modules/manifest";
import { NexaError, toNexaError } from "@nexa/modules/monitoring";
import type { Catalog, InvocationRecord, RunRow } from "@nexa/modules/registry";
import { RunManifest } from "@nexa/proto/nexa/v1/run";
import type { StageManifest } from "@nexa/proto/nexa/v1/stage";
import type { EvalReport } from "@nexa/proto/nexa/v1/eval";

import { productMetrics } from "./publish";

export interface StageRecord {
  stage: string;
  stageId: string;
  module: string;
  manifestDigest: string;
  manifest: StageManifest;
  /** "ran" (new in the registry when the run was first published) or "cached"; null when the journal lacks it. */
  status: "ran" | "cached" | null;
  durationMs: number | null;
  metrics: Record<string, number>;
  /** The product manifest (the output with a schema_name), decoded; undefined when the stage has none. */
  product?: { schema: string; digest: string; path: string; message: unknown };
  /** The stage config, when the registry holds it (published since configs are stored). */
  config?: { digest: string; schema: string; message: unknown; json: unknown };
  /** Each input: its slot, the upstream manifest digest and, when it is a stage of this run, that stage's name. */
  inputs: { slot: string; digest: string; stage: string | null }[];
}

export interface RunRecord {
  runId: string;
  pipeline: string;
  manifestDigest: string;
  codeRevision: string;
  /** Latest publish time (ISO-8601) or "" when unknown. */
  publishedAt: string;
  invocations: InvocationRecord[];
  rubric: "pass" | "fail" | "none";
  /** The HTML report kept in the registry, or null. */
  reportPath: string | null;
  /**
   * How long the run's own work took: the sum of the durations of the stages that ran for it (cached stages cost it
   * nothing), from the first invocation that recorded them; null when the journal has no stage records.
   */
  durationMs: number | null;
  /** Key metrics: the eval report's results (and passed), from the report product manifest. */
  metrics: Record<string, number>;
  stages: StageRecord[];
  /** Per-run overrides (stage.field = value), when the RunManifest records them. */
  overrides: unknown;
}

/** Re-throws a decoding failure of a stored record as a coded error naming the record and the fix. */
async function stored<T>(what: string, digest: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const e = toNexaError(err);
    throw new NexaError("CLI_CORRUPT_RECORD", `the registry's ${what} ${digest} cannot be read: ${e.message}`, {
      context: { digest, ...e.context },
      cause: err,
      hint: "run `nexa verify <digest>` to check the blob; republish the run with `bazel run //pipelines:<name>`",
    });
  }
}

function readAs<T>(catalog: Catalog, what: string, contract: Contract<T>, digest: string): Promise<T> {
  return stored(what, digest, () => catalog.readMessage(contract, digest));
}

/** The run `idOrPrefix` names (exit 3 when unknown or ambiguous), fully loaded. */
export async function loadRun(catalog: Catalog, idOrPrefix: string): Promise<RunRecord> {
  return loadRunRow(catalog, catalog.resolveRun(idOrPrefix));
}

export async function loadRunRow(catalog: Catalog, row: RunRow): Promise<RunRecord> {
  const run = await readAs(catalog, "run manifest", CONTRACTS.RunManifest, row.manifest_digest);
  const invocations = catalog.invocations(row.run_id);
  const journal = invocations.find((i) => i.stages !== undefined)?.stages ?? [];
  const stages: StageRecord[] = [];
  const byManifest = new Map<string, string>();
  for (const rs of run.stages) {
    const digest = rs.manifest?.digest ?? "";
    const manifest = await readAs(catalog, `stage manifest of ${rs.stageName}`, CONTRACTS.StageManifest, digest);
    byManifest.set(digest, rs.stageName);
    const productRef = manifest.outputs.find((o) => o.schemaName !== "");
    let product: StageRecord["product"];
    const productContract = productRef ? CONTRACTS_BY_NAME.get(productRef.schemaName) : undefined;
    if (productRef && productContract) {
      const message = await readAs(catalog, `${rs.stageName} product`, productContract, productRef.digest);
      product = { schema: productRef.schemaName, digest: productRef.digest, path: productRef.path, message };
    }
    let config: StageRecord["config"];
    const configSchema = catalog.rootSchema(manifest.configDigest);
    const configContract = configSchema ? CONTRACTS_BY_NAME.get(configSchema) : undefined;
    if (configContract) {
      const message = await readAs(catalog, `${rs.stageName} config`, configContract, manifest.configDigest);
      config = {
        digest: manifest.configDigest,
        schema: configContract.name,
        message,
        json: configContract.codec.toJSON(message),
      };
    }
    const j = journal.find((s) => s.stage === rs.stageName);
    stages.push({
      stage: rs.stageName,
      stageId: manifest.stageId,
      module: manifest.module,
      manifestDigest: digest,
      manifest,
      status: j?.status ?? null,
      durationMs: j?.durationMs ?? null,
      metrics: product ? productMetrics(product.schema, product.message) : {},
      product,
      config,
      inputs: manifest.inputs.map((i) => ({ slot: i.path, digest: i.digest, stage: byManifest.get(i.digest) ?? null })),
    });
  }
  const report = [...stages].reverse().find((s) => s.product?.schema === CONTRACTS.EvalReport.name);
  const passed = report ? (report.product!.message as EvalReport).passed : undefined;
  const ran = stages.filter((s) => s.status === "ran");
  const runJson = RunManifest.toJSON(run) as Record<string, unknown>;
  return {
    runId: row.run_id,
    pipeline: row.pipeline,
    manifestDigest: row.manifest_digest,
    codeRevision: row.code_revision,
    publishedAt: row.published_at,
    invocations,
    rubric: passed === undefined ? "none" : passed ? "pass" : "fail",
    reportPath: catalog.reportPath(row.run_id) ?? null,
    durationMs: journal.length > 0 ? ran.reduce<number>((n, s) => n + (s.durationMs ?? 0), 0) : null,
    metrics: report ? report.metrics : {},
    stages,
    overrides: runJson.overrides ?? null,
  };
}

const CONTRACTS_BY_NAME = new Map<string, Contract<unknown>>(
  (Object.values(CONTRACTS) as Contract<unknown>[]).map((c) => [c.name, c]),
);

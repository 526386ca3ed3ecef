// A checkpoint input (`checkpoint` = the student, `teacher`): a train stage's CheckpointManifest, its verified
// weights (model.safetensors) and its training curve (metrics.jsonl, verified against the upstream StageManifest).

import { CONTRACTS } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import type { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";

import { readProduct, readVerified } from "./artifact_io";
import type { Product } from "./artifact_io";

export const TRAIN_METRICS_FILE = "metrics.jsonl";

/** One line of metrics.jsonl: train loss at a step, and validation loss at eval intervals. */
export interface CurvePoint {
  step: number;
  loss?: number;
  valLoss?: number;
}

export interface CheckpointData {
  slot: string;
  product: Product<CheckpointManifest>;
  /** safetensors bytes (Model.load input). */
  weights: Buffer;
  /** Training curve in file order. */
  curve: CurvePoint[];
}

/** Reads a checkpoint input: manifest, weights and training curve. */
export async function readCheckpoint(input: StageInput, stage: string): Promise<CheckpointData> {
  const product = await readProduct(input, CONTRACTS.CheckpointManifest, stage);
  const weights = await readVerified(product.dir, product.message.weights!, { file: product.display, jsonPath: "$.weights" });
  const metricsRef = input.manifest.outputs.find((o) => o.path === TRAIN_METRICS_FILE);
  const stageManifest = `${input.slot} input stage manifest (${input.manifest.stageName})`;
  if (metricsRef === undefined) {
    throw new ConfigError("EVAL_NO_TRAIN_METRICS", `the checkpoint stage ${input.manifest.stageName} wrote no ${TRAIN_METRICS_FILE}`, {
      context: { file: stageManifest, jsonPath: "$.outputs", stage },
      hint: `wire a train stage (docs/formats.md "Checkpoints": ${TRAIN_METRICS_FILE} beside checkpoint.json)`,
    });
  }
  const text = await readVerified(input.dataDir, metricsRef, { file: stageManifest, jsonPath: "$.outputs" });
  const curve = parseCurve(text.toString("utf8"), `${input.slot} input ${TRAIN_METRICS_FILE}`);
  return { slot: input.slot, product, weights, curve };
}

// ----------------------------------------------------------------------------------------------------------
// metrics.jsonl

/** Parses metrics.jsonl lines ({"step":N,"loss":x[,"val_loss":y,...]}); other keys are ignored. */
export function parseCurve(text: string, file: string): CurvePoint[] {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line, i) => {
    const where = { file, line: i + 1 };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new ConfigError("EVAL_TRAIN_METRICS_JSON", `invalid JSON line: ${(err as Error).message}`, {
        context: where, cause: err, hint: "each line of metrics.jsonl must be one JSON object; re-run the train stage",
      });
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ConfigError("EVAL_TRAIN_METRICS_JSON", "expected a JSON object", { context: where, hint: "re-run the train stage" });
    }
    const obj = value as Record<string, unknown>;
    const num = (key: string, required: boolean): number | undefined => {
      const v = obj[key];
      if ((v === undefined || v === null) && !required) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v)) {
        throw new ConfigError("EVAL_TRAIN_METRICS_FIELD", `field "${key}" must be a finite number, found ${JSON.stringify(v) ?? "nothing"}`, {
          context: { ...where, jsonPath: `$.${key}` }, hint: 'metrics.jsonl lines look like {"step":1,"loss":4.1,"lr":0.001}',
        });
      }
      return v;
    };
    const point: CurvePoint = { step: num("step", true)! };
    const loss = num("loss", false);
    const valLoss = num("val_loss", false);
    if (loss !== undefined) point.loss = loss;
    if (valLoss !== undefined) point.valLoss = valLoss;
    return point;
  });
}


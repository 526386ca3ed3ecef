// The checkpoint directory (docs/formats.md "Checkpoints"), self-contained like a Hugging Face model directory:
//   checkpoint.json           nexa.v1.CheckpointManifest (the product; lists every file below by digest)
//   model.safetensors         weights + AdamW state + metadata (kernels/model checkpoint format)
//   metrics.jsonl             the training curve: one line per step {"step","loss","lr","grad_norm"} (+ "val_loss")
//   tokenizer.manifest.json   the tokenizer the model was trained with, and the files it lists (modules/tokenizer_files)
// The train stage writes it; eval, distill and the inference server read it, one way: through the verified artifact
// read of modules/manifest, so a damaged file fails with ARTIFACT_* codes naming its producer.

import { writeFile } from "fs/promises";
import * as path from "path";

import { Model, Tokenizer } from "@nexa/kernels/binding";
import { ARTIFACT_SCHEMA, CONTRACTS, digestBytes, encodeMessage, validateMessage } from "@nexa/modules/manifest";
import type { Artifact } from "@nexa/modules/manifest";
import { ManifestError } from "@nexa/modules/monitoring";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import type { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";
import { openTokenizer, TOKENIZER_HF_FILE } from "@nexa/modules/tokenizer_files";
import type { TokenizerFiles } from "@nexa/modules/tokenizer_files";

export const CHECKPOINT_MANIFEST_FILE = "checkpoint.json";
export const WEIGHTS_FILE = "model.safetensors";
export const TRAINING_CURVE_FILE = "metrics.jsonl";
export const WEIGHTS_MEDIA_TYPE = "application/vnd.nexa.safetensors";

/** One line of the training curve: train loss and learning rate at a step, and validation loss at evaluation steps. */
export interface CurvePoint {
  step: number;
  loss?: number;
  lr?: number;
  valLoss?: number;
}

/** A line as the train stage writes it. */
export type CurveLine = Record<string, number>;

// ----------------------------------------------------------------------------------------------------------
// reading

/** An opened checkpoint directory (its manifest verified; files read on demand, verified). */
export class Checkpoint {
  constructor(readonly artifact: Artifact<CheckpointManifest>) {}

  get manifest(): CheckpointManifest {
    return this.artifact.message;
  }

  /** Reference to checkpoint.json (digest, size, schema; no path): the checkpoint's identity. */
  get ref(): ArtifactRef {
    return this.artifact.ref;
  }

  /** Verified safetensors bytes (Model.load input). */
  weights(): Promise<Buffer> {
    return this.artifact.read(this.manifest.weights!, "$.weights");
  }

  /** The tokenizer the model was trained with (verified). */
  tokenizer(): Promise<TokenizerFiles> {
    return openTokenizer(this.artifact, this.manifest.tokenizer!, "$.tokenizer");
  }

  /** The training curve (verified, parsed). */
  async curve(): Promise<CurvePoint[]> {
    const ref = this.manifest.metrics;
    if (!ref || ref.path === "") {
      throw new ManifestError(
        ARTIFACT_SCHEMA,
        `${this.artifact.display} (from ${this.artifact.origin.source}) lists no training curve`,
        {
          context: { file: this.artifact.display, jsonPath: "$.metrics", ...(this.artifact.origin.context ?? {}) },
          hint: `checkpoints written by modules/train list ${TRAINING_CURVE_FILE} at $.metrics; ${this.artifact.origin.fix}`,
        },
      );
    }
    const text = (await this.artifact.read(ref, "$.metrics")).toString("utf8");
    return parseCurve(text, ref.path, this.artifact);
  }
}

/** A checkpoint loaded into the kernels: model, tokenizer (Hugging Face file) and the facts generation needs. */
export interface LoadedCheckpoint {
  checkpoint: Checkpoint;
  model: Model;
  tokenizer: Tokenizer;
  tokenizerManifest: TokenizerManifest;
  /** End-of-document id. */
  eosId: number;
  /** The model's context length. */
  seqLen: number;
  vocabSize: number;
  free(): void;
}

/** Loads weights and tokenizer (both verified) and checks that they fit each other. */
export async function loadCheckpoint(
  checkpoint: Checkpoint,
  options: { threads?: number } = {},
): Promise<LoadedCheckpoint> {
  const tokenizerFiles = await checkpoint.tokenizer();
  const tokenizer = Tokenizer.load(await tokenizerFiles.read(TOKENIZER_HF_FILE), "hf_json");
  let model: Model | undefined;
  try {
    model = Model.load(await checkpoint.weights(), options.threads === undefined ? {} : { threads: options.threads });
    const info = model.info();
    const tm = tokenizerFiles.manifest;
    if (!tm.specialTokens.some((t) => t.id === tm.eosId) || tokenizer.vocabSize > info.config.vocabSize) {
      const a = checkpoint.artifact;
      throw new ManifestError(
        ARTIFACT_SCHEMA,
        `the tokenizer (vocab ${tokenizer.vocabSize}, eos_id ${tm.eosId}) does not fit the model (vocab ${info.config.vocabSize}) of ${a.display} (from ${a.origin.source})`,
        {
          context: { file: tokenizerFiles.artifact.display, jsonPath: "$.eosId", ...(a.origin.context ?? {}) },
          hint: `the checkpoint and its tokenizer disagree; ${a.origin.fix}`,
        },
      );
    }
    const loaded = model;
    return {
      checkpoint,
      model: loaded,
      tokenizer,
      tokenizerManifest: tm,
      eosId: tm.eosId,
      seqLen: info.config.seqLen,
      vocabSize: info.config.vocabSize,
      free() {
        loaded.free();
        tokenizer.free();
      },
    };
  } catch (err) {
    model?.free();
    tokenizer.free();
    throw err;
  }
}

// ----------------------------------------------------------------------------------------------------------
// the training curve

/** Parses metrics.jsonl lines ({"step":N,"loss":x[,"lr":r][,"val_loss":y,...]}); other keys are ignored. */
export function parseCurve(text: string, file: string, from?: Artifact<unknown>): CurvePoint[] {
  const origin = from?.origin;
  const fail = (line: number, message: string, jsonPath?: string, cause?: unknown): never => {
    throw new ManifestError(ARTIFACT_SCHEMA, origin ? `${message} (from ${origin.source})` : message, {
      context: { file, line, jsonPath, ...(origin?.context ?? {}) },
      cause,
      hint: `metrics.jsonl lines look like {"step":1,"loss":4.1,"lr":0.001}${origin ? `; ${origin.fix}` : ""}`,
    });
  };
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      fail(i + 1, `invalid JSON line: ${(err as Error).message}`, undefined, err);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) fail(i + 1, "expected a JSON object");
    const obj = value as Record<string, unknown>;
    const num = (key: string, required: boolean): number | undefined => {
      const v = obj[key];
      if ((v === undefined || v === null) && !required) return undefined;
      if (typeof v !== "number" || !Number.isFinite(v))
        fail(i + 1, `field "${key}" must be a finite number, found ${JSON.stringify(v) ?? "nothing"}`, `$.${key}`);
      return v as number;
    };
    const point: CurvePoint = { step: num("step", true)! };
    const loss = num("loss", false);
    const lr = num("lr", false);
    const valLoss = num("val_loss", false);
    if (loss !== undefined) point.loss = loss;
    if (lr !== undefined) point.lr = lr;
    if (valLoss !== undefined) point.valLoss = valLoss;
    return point;
  });
}

// ----------------------------------------------------------------------------------------------------------
// writing

/** What a CheckpointManifest says besides the files this module writes and lists. */
export type CheckpointFields = Omit<CheckpointManifest, "schemaVersion" | "weights" | "metrics" | "tokenizer">;

/**
 * Writes a checkpoint directory into `outDir`: the weights, the training curve, the tokenizer (copied, verified) and
 * `checkpoint.json` listing them; returns the manifest.
 */
export async function writeCheckpoint(
  outDir: string,
  weights: Uint8Array,
  curve: readonly CurveLine[],
  tokenizer: TokenizerFiles,
  fields: CheckpointFields,
): Promise<CheckpointManifest> {
  await writeFile(path.join(outDir, WEIGHTS_FILE), weights);
  const curveText = curve.map((l) => JSON.stringify(l)).join("\n") + "\n";
  await writeFile(path.join(outDir, TRAINING_CURVE_FILE), curveText);
  await tokenizer.copyTo(outDir);
  const manifest = CheckpointManifest.fromPartial({
    ...fields,
    schemaVersion: 1,
    weights: ArtifactRef.fromPartial({
      digest: digestBytes(weights),
      sizeBytes: weights.length,
      mediaType: WEIGHTS_MEDIA_TYPE,
      path: WEIGHTS_FILE,
    }),
    metrics: ArtifactRef.fromPartial({
      digest: digestBytes(curveText),
      sizeBytes: Buffer.byteLength(curveText),
      mediaType: "application/jsonl",
      path: TRAINING_CURVE_FILE,
    }),
    tokenizer: tokenizer.ref,
  });
  validateMessage(CONTRACTS.CheckpointManifest, manifest, CHECKPOINT_MANIFEST_FILE);
  await writeFile(path.join(outDir, CHECKPOINT_MANIFEST_FILE), encodeMessage(CheckpointManifest, manifest));
  return manifest;
}

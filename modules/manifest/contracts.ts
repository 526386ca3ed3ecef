// The contract table: for each top-level nexa.v1 message, its generated codec, the schema versions this
// reader supports, and the rules proto3 cannot express (required fields).
//
// Paths in `required` use the JSON names of fields; "[]" iterates a repeated field, e.g. "shards[].file.digest".
// A field is "set" when it differs from its proto3 default (non-empty string, non-zero number, set message,
// non-empty list); a oneof is required by its union name, e.g. "teacher.source". The table is explicit on
// purpose: adding a contract is one entry here.

import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import { DataConfig } from "@nexa/proto/nexa/v1/data_config";
import { DatasetManifest } from "@nexa/proto/nexa/v1/dataset";
import { DistillConfig } from "@nexa/proto/nexa/v1/distill";
import { EvalReport, EvalRubric } from "@nexa/proto/nexa/v1/eval";
import { PackConfig } from "@nexa/proto/nexa/v1/pack_config";
import { PackedDatasetManifest } from "@nexa/proto/nexa/v1/packed_dataset";
import { PipelinePlan } from "@nexa/proto/nexa/v1/pipeline";
import { RunManifest } from "@nexa/proto/nexa/v1/run";
import { StageManifest } from "@nexa/proto/nexa/v1/stage";
import { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";
import { TrainConfig } from "@nexa/proto/nexa/v1/train";

/** The part of a ts-proto generated message object that the manifest module uses. */
export interface MessageCodec<T> {
  fromJSON(object: unknown): T;
  toJSON(message: T): unknown;
}

/** A decodable top-level contract. */
export interface Contract<T> {
  /** Fully qualified message name, e.g. "nexa.v1.DatasetManifest" (what ArtifactRef.schema_name holds). */
  readonly name: string;
  /** Generated codec. */
  readonly codec: MessageCodec<T>;
  /** "manifest" errors are ManifestError (code MANIFEST_*), "config" errors are ConfigError (CONFIG_*). */
  readonly kind: "manifest" | "config";
  /** schema_version majors this reader accepts; empty when the message has no schema_version. */
  readonly supportedVersions: readonly number[];
  /** Fields that must be set (see the header comment). */
  readonly required: readonly string[];
}

const V1 = [1] as const;
const PRODUCER = ["producer.stageName", "producer.stageId"];

/** Every contract this reader knows, by short name. */
export const CONTRACTS = {
  ArtifactRef: {
    name: "nexa.v1.ArtifactRef",
    codec: ArtifactRef,
    kind: "manifest",
    supportedVersions: [],
    required: ["digest"],
  } as Contract<ArtifactRef>,
  DataConfig: {
    name: "nexa.v1.DataConfig",
    codec: DataConfig,
    kind: "config",
    supportedVersions: V1,
    required: ["schemaVersion", "name", "sources[].path", "sources[].format"],
  } as Contract<DataConfig>,
  PackConfig: {
    name: "nexa.v1.PackConfig",
    codec: PackConfig,
    kind: "config",
    supportedVersions: V1,
    required: ["schemaVersion", "seqLen", "splits"],
  } as Contract<PackConfig>,
  DatasetManifest: {
    name: "nexa.v1.DatasetManifest",
    codec: DatasetManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "name",
      "shards[].file.digest",
      "shards[].file.path",
      "shards[].split",
      "splits[].name",
      ...PRODUCER,
    ],
  } as Contract<DatasetManifest>,
  TokenizerManifest: {
    name: "nexa.v1.TokenizerManifest",
    codec: TokenizerManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: ["schemaVersion", "kind", "name", "vocabSize", "files[].digest", "files[].path", ...PRODUCER],
  } as Contract<TokenizerManifest>,
  PackedDatasetManifest: {
    name: "nexa.v1.PackedDatasetManifest",
    codec: PackedDatasetManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "seqLen",
      "tokenDtype",
      "bins[].file.digest",
      "bins[].file.path",
      "tokenizer.digest",
      "dataset.digest",
      ...PRODUCER,
    ],
  } as Contract<PackedDatasetManifest>,
  TrainConfig: {
    name: "nexa.v1.TrainConfig",
    codec: TrainConfig,
    kind: "config",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "model.nLayer",
      "model.nHead",
      "model.nEmbd",
      "model.vocabSize",
      "model.blockSize",
      "optimizer.kind",
      "optimizer.learningRate",
      "steps",
      "batchSize",
      "device",
    ],
  } as Contract<TrainConfig>,
  CheckpointManifest: {
    name: "nexa.v1.CheckpointManifest",
    codec: CheckpointManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "weights.digest",
      "weights.path",
      "model.nLayer",
      "trainConfigDigest",
      "tokenizer.digest",
      ...PRODUCER,
    ],
  } as Contract<CheckpointManifest>,
  DistillConfig: {
    name: "nexa.v1.DistillConfig",
    codec: DistillConfig,
    kind: "config",
    supportedVersions: V1,
    required: ["schemaVersion", "teacher.source", "sampling.maxTokens"],
  } as Contract<DistillConfig>,
  EvalRubric: {
    name: "nexa.v1.EvalRubric",
    codec: EvalRubric,
    kind: "config",
    supportedVersions: V1,
    required: ["schemaVersion", "name", "criteria[].metric", "criteria[].comparator"],
  } as Contract<EvalRubric>,
  EvalReport: {
    name: "nexa.v1.EvalReport",
    codec: EvalReport,
    kind: "manifest",
    supportedVersions: V1,
    required: ["schemaVersion", "rubric.digest", "checkpoint.digest", "results[].metric", ...PRODUCER],
  } as Contract<EvalReport>,
  StageManifest: {
    name: "nexa.v1.StageManifest",
    codec: StageManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "stageName",
      "stageId",
      "configDigest",
      "outputs[].digest",
      "inputs[].digest",
      "toolDigest",
    ],
  } as Contract<StageManifest>,
  RunManifest: {
    name: "nexa.v1.RunManifest",
    codec: RunManifest,
    kind: "manifest",
    supportedVersions: V1,
    required: [
      "schemaVersion",
      "runId",
      "pipeline",
      "stages[].stageName",
      "stages[].stageId",
      "stages[].manifest.digest",
    ],
  } as Contract<RunManifest>,
  PipelinePlan: {
    name: "nexa.v1.PipelinePlan",
    codec: PipelinePlan,
    kind: "manifest",
    supportedVersions: V1,
    required: ["schemaVersion", "pipeline", "stages[].stage", "stages[].kind", "stages[].manifest", "stages[].data"],
  } as Contract<PipelinePlan>,
} as const;

/** The contract whose fully qualified name is `name` (e.g. from ArtifactRef.schema_name), or undefined. */
export function contractByName(name: string): Contract<unknown> | undefined {
  for (const contract of Object.values(CONTRACTS) as Contract<unknown>[]) {
    if (contract.name === name) return contract;
  }
  return undefined;
}

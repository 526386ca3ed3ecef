// The teacher: the checkpoint directory of a train stage wired to the `teacher` input (docs/formats.md
// "Checkpoints"). Its product `checkpoint.json` (nexa.v1.CheckpointManifest) names the weights (`model.safetensors`)
// and the TokenizerManifest (`tokenizer.manifest.json`), which lists `tokenizer.json` (Hugging Face byte-level BPE).
// Every file is read through its recorded digest; the checkpoint manifest's own digest is the teacher's identity in
// every distilled record's provenance.

import { readFile } from "fs/promises";
import * as path from "path";

import { Model, Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, decodeManifest, digestBytes } from "@nexa/modules/manifest";
import { ConfigError, IntegrityError } from "@nexa/modules/monitoring";
import type { StageInput } from "@nexa/modules/stage";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import type { CheckpointManifest } from "@nexa/proto/nexa/v1/checkpoint";
import type { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";

/** The tokenizer file the teacher is loaded with. */
export const TEACHER_TOKENIZER_FILE = "tokenizer.json";
/** Where the TokenizerManifest is looked for when the checkpoint's tokenizer reference has no path. */
export const TEACHER_TOKENIZER_MANIFEST_FILE = "tokenizer.manifest.json";

/** A loaded teacher (call free() when done). */
export interface Teacher {
  /** Reference to checkpoint.json: digest + size, schema nexa.v1.CheckpointManifest, no path. */
  ref: ArtifactRef;
  manifest: CheckpointManifest;
  /** Upstream stage name, e.g. "teacher_train" (the teacher's SourceLineage uri). */
  stageName: string;
  model: Model;
  tokenizer: Tokenizer;
  tokenizerManifest: TokenizerManifest;
  /** End-of-document id: generation stops there. */
  eosId: number;
  /** The model's context length (prompt + generated tokens must fit). */
  seqLen: number;
  vocabSize: number;
  free(): void;
}

// ----------------------------------------------------------------------------------------------------------
// verified reads

/** Reads `ref.path` under `dir`, checking path shape, digest and size; `where` names the reference for errors. */
async function readVerified(dir: string, ref: ArtifactRef, where: string): Promise<Buffer> {
  if (ref.path === "" || path.isAbsolute(ref.path) || ref.path.split("/").includes("..")) {
    throw new IntegrityError("DISTILL_TEACHER_PATH", `${where}: path ${JSON.stringify(ref.path)} must be relative and inside the checkpoint directory`, {
      hint: "re-run the upstream train stage",
    });
  }
  const data = await readFile(path.join(dir, ref.path));
  const digest = digestBytes(data);
  if (digest !== ref.digest || data.length !== ref.sizeBytes) {
    throw new IntegrityError("DISTILL_TEACHER_INTEGRITY",
      `teacher file ${ref.path} has ${digest} (${data.length} bytes); ${where} records ${ref.digest} (${ref.sizeBytes} bytes)`, {
        context: { file: ref.path, expected: ref.digest, actual: digest },
        hint: "the teacher's checkpoint directory was modified after it was written; re-run the train stage",
      });
  }
  return data;
}

// ----------------------------------------------------------------------------------------------------------
// loading

/**
 * Loads the teacher wired to `input`. `expectedDigest` (config teacher.checkpoint.digest) must be "" or equal the
 * checkpoint manifest's digest; `configFile` names the config in that error.
 */
export async function loadTeacher(input: StageInput, expectedDigest: string, configFile: string): Promise<Teacher> {
  const display = `${input.slot} input ${path.basename(input.productPath)}`;
  if (input.productSchema !== CONTRACTS.CheckpointManifest.name) {
    throw new ConfigError("DISTILL_TEACHER_INPUT", `the "${input.slot}" input's product is ${input.productSchema}, expected ${CONTRACTS.CheckpointManifest.name}`, {
      context: { file: display }, hint: `wire a train stage into \`${input.slot}\``,
    });
  }
  const bytes = await readFile(input.productPath);
  const digest = digestBytes(bytes);
  if (expectedDigest !== "" && expectedDigest !== digest) {
    throw new ConfigError("DISTILL_TEACHER_MISMATCH",
      `the config names teacher checkpoint ${expectedDigest}, but the checkpoint wired to \`${input.slot}\` (stage ${input.manifest.stageName}) is ${digest}`, {
        context: { file: configFile, jsonPath: "$.teacher.checkpoint.digest", expected: expectedDigest, actual: digest },
        hint: `set "digest": "${digest}", or leave the digest empty to use whatever checkpoint is wired to \`${input.slot}\``,
      });
  }
  const manifest = decodeManifest(CONTRACTS.CheckpointManifest, bytes, display);
  const dir = path.dirname(input.productPath);

  // Tokenizer: the manifest the checkpoint names (by path, else beside it), then its tokenizer.json.
  const tokRef = ArtifactRef.fromPartial({ ...manifest.tokenizer!, path: manifest.tokenizer!.path || TEACHER_TOKENIZER_MANIFEST_FILE });
  const tokManifestBytes = await readVerified(dir, tokRef, `${display} $.tokenizer`);
  const tokDisplay = `${input.slot} input ${tokRef.path}`;
  const tokenizerManifest = decodeManifest(CONTRACTS.TokenizerManifest, tokManifestBytes, tokDisplay);
  const fileIndex = tokenizerManifest.files.findIndex((f) => path.posix.basename(f.path) === TEACHER_TOKENIZER_FILE);
  if (fileIndex < 0) {
    throw new ConfigError("DISTILL_TEACHER_TOKENIZER", `the teacher's tokenizer manifest lists no ${TEACHER_TOKENIZER_FILE}`, {
      context: { file: tokDisplay, jsonPath: "$.files" }, hint: "train the teacher on a tokenizer written by modules/pack (byte-level BPE)",
    });
  }
  const tokDir = path.dirname(path.join(dir, tokRef.path));
  const tokBytes = await readVerified(tokDir, tokenizerManifest.files[fileIndex], `${tokDisplay} $.files[${fileIndex}]`);
  const tokenizer = Tokenizer.load(tokBytes, "hf_json");

  let model: Model | undefined;
  try {
    const weights = await readVerified(dir, manifest.weights!, `${display} $.weights`);
    model = Model.load(weights);
    const info = model.info();
    const eosId = tokenizerManifest.eosId;
    if (!tokenizerManifest.specialTokens.some((t) => t.id === eosId) || tokenizer.vocabSize > info.config.vocabSize) {
      throw new ConfigError("DISTILL_TEACHER_VOCAB",
        `the teacher's tokenizer (vocab ${tokenizer.vocabSize}, eos_id ${eosId}) does not fit its model (vocab ${info.config.vocabSize})`, {
          context: { file: tokDisplay, jsonPath: "$.eosId" },
          hint: "the checkpoint and tokenizer disagree; re-run the teacher's train stage on its pack stage's tokenizer",
        });
    }
    const loaded = model;
    return {
      ref: ArtifactRef.fromPartial({ digest, sizeBytes: bytes.length, mediaType: "application/json", schemaName: CONTRACTS.CheckpointManifest.name }),
      manifest,
      stageName: input.manifest.stageName,
      model: loaded,
      tokenizer,
      tokenizerManifest,
      eosId,
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

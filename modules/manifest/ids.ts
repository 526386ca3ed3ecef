// Identities of stages, runs and invocations (ARCHITECTURE.md, "Identity").
//
//   stage_id      = sha256(canonical JSON {domain, stage_name, config_digest, input_manifest_digests (sorted), tool_digest})
//   run_id        = sha256(canonical JSON {domain, stage_ids (pipeline order)})
//   invocation_id = random UUID per `bazel run`; logged and indexed, never written into an artifact.
// Ids are 64 lowercase hex (no "sha256:" prefix: they name things, they do not address bytes).
// The domain strings keep a stage id from ever equalling a run id or a content digest.

import { randomUUID } from "crypto";

import { ManifestError } from "@nexa/modules/monitoring";

import { canonicalBytes } from "./canonical";
import { isDigest, sha256Hex } from "./digest";

export interface StageIdentity {
  /** Stage name as declared in the pipeline, e.g. "pack". */
  stageName: string;
  /** "sha256:…" of the canonical stage config. */
  configDigest: string;
  /** "sha256:…" of each input manifest; order does not matter (sorted before hashing). */
  inputManifestDigests: readonly string[];
  /** "sha256:…" of the tool bundle that runs the stage. */
  toolDigest: string;
}

const ID_RE = /^[0-9a-f]{64}$/;

function requireDigest(value: string, field: string): void {
  if (!isDigest(value)) {
    throw new ManifestError("MANIFEST_BAD_DIGEST", `${field}: invalid digest ${JSON.stringify(value)}`, {
      hint: 'a digest is "sha256:" followed by 64 lowercase hex characters',
    });
  }
}

/** Deterministic stage identity: same name, config, inputs and tool → same id. */
export function deriveStageId(identity: StageIdentity): string {
  if (identity.stageName === "") throw new ManifestError("MANIFEST_MISSING_FIELD", "stage_id: empty stage name");
  requireDigest(identity.configDigest, "config_digest");
  requireDigest(identity.toolDigest, "tool_digest");
  identity.inputManifestDigests.forEach((d, i) => requireDigest(d, `input_manifest_digests[${i}]`));
  return sha256Hex(
    canonicalBytes({
      domain: "nexa.v1.stage_id",
      stage_name: identity.stageName,
      config_digest: identity.configDigest,
      input_manifest_digests: [...identity.inputManifestDigests].sort(),
      tool_digest: identity.toolDigest,
    }),
  );
}

/** Deterministic run identity from the pipeline's stage ids, in pipeline order. */
export function deriveRunId(stageIds: readonly string[]): string {
  stageIds.forEach((id, i) => {
    if (!ID_RE.test(id)) {
      throw new ManifestError(
        "MANIFEST_BAD_ID",
        `run_id: stage_ids[${i}] is not 64 lowercase hex: ${JSON.stringify(id)}`,
      );
    }
  });
  return sha256Hex(canonicalBytes({ domain: "nexa.v1.run_id", stage_ids: [...stageIds] }));
}

/** A fresh random invocation id (UUID v4). Never put it into an artifact. */
export function newInvocationId(): string {
  return randomUUID();
}

/** True for a 64-lowercase-hex stage or run id. */
export function isId(value: string): boolean {
  return ID_RE.test(value);
}

// Public face of modules/manifest: canonical encoding, digests, strict decoding, ids, verified artifact reads.
export {
  ARTIFACT_INTEGRITY,
  ARTIFACT_MISSING,
  ARTIFACT_SCHEMA,
  ARTIFACT_VERSION,
  Artifact,
  checkListedFile,
  checkListedPath,
  decodeArtifact,
  openArtifact,
  readListedFile,
} from "./artifact";
export type { ArtifactOrigin, ListedAt, OpenOptions } from "./artifact";
export { canonicalBytes, canonicalJson, encodeMessage, encodeMessageBytes } from "./canonical";
export { contractByName, CONTRACTS } from "./contracts";
export type { Contract, MessageCodec } from "./contracts";
export { decodeManifest, readManifest, validateMessage } from "./decode";
export { describeOffset, jsonErrorOffset, lineColumn } from "./json_position";
export {
  DIGEST_PREFIX,
  digestBytes,
  digestFile,
  digestHex,
  digestMessage,
  isDigest,
  sha256Hex,
  toDigest,
} from "./digest";
export type { FileDigest } from "./digest";
export { deriveRunId, deriveStageId, isId, newInvocationId } from "./ids";
export type { StageIdentity } from "./ids";
export { listFiles, verifyFiles, verifyManifest } from "./verify";
export type { ListedFile } from "./verify";
export { applyOverrides, overrideValue, parseFieldOverride, parseStageOverride } from "./overrides";
export type { FieldOverride, StageOverride } from "./overrides";

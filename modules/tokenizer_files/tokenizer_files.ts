// The tokenizer directory (docs/formats.md "Tokenizer"): nexa.v1.TokenizerManifest `tokenizer.manifest.json` beside
// the files it lists, flat:
//   tokenizer.json    Hugging Face byte-level BPE (what eval, distill and the checkpoint readers load)
//   tokenizer.nxtok   the kernels' native binary form (what the pack stage encodes with)
// A pack stage writes it; a packed dataset and a checkpoint reference it by digest. Reading goes through the verified
// artifact read of modules/manifest, so a damaged file fails with ARTIFACT_* codes naming its producer.

import { writeFile } from "fs/promises";
import * as path from "path";

import { ARTIFACT_SCHEMA, CONTRACTS, digestBytes, encodeMessage, validateMessage } from "@nexa/modules/manifest";
import type { Artifact } from "@nexa/modules/manifest";
import { ManifestError } from "@nexa/modules/monitoring";
import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";

export const TOKENIZER_MANIFEST_FILE = "tokenizer.manifest.json";
export const TOKENIZER_HF_FILE = "tokenizer.json";
export const TOKENIZER_NATIVE_FILE = "tokenizer.nxtok";
/** Media types of the two tokenizer files. */
export const TOKENIZER_MEDIA_TYPES: Readonly<Record<string, string>> = {
  [TOKENIZER_HF_FILE]: "application/json",
  [TOKENIZER_NATIVE_FILE]: "application/vnd.nexa.tokenizer+binary",
};

/** An opened tokenizer directory (the manifest verified; files read on demand, verified). */
export class TokenizerFiles {
  constructor(readonly artifact: Artifact<TokenizerManifest>) {}

  get manifest(): TokenizerManifest {
    return this.artifact.message;
  }

  /** Reference to the manifest (digest, size, schema) named `tokenizer.manifest.json`, as a checkpoint lists it. */
  get ref(): ArtifactRef {
    return ArtifactRef.fromPartial({ ...this.artifact.ref, path: TOKENIZER_MANIFEST_FILE });
  }

  private index(file: string): number {
    const files = this.manifest.files;
    const index = files.findIndex((f) => f.path === file);
    if (index < 0 || files.some((f) => f.path.includes("/"))) {
      throw new ManifestError(
        ARTIFACT_SCHEMA,
        `${this.artifact.display} (from ${this.artifact.origin.source}) must list ${file} beside itself`,
        {
          context: { file: this.artifact.display, jsonPath: "$.files", ...(this.artifact.origin.context ?? {}) },
          hint: `use a tokenizer written by modules/pack (${TOKENIZER_HF_FILE} and ${TOKENIZER_NATIVE_FILE} next to ${TOKENIZER_MANIFEST_FILE}); ${this.artifact.origin.fix}`,
        },
      );
    }
    return index;
  }

  /** Verified bytes of a listed file, e.g. TOKENIZER_HF_FILE. */
  async read(file: string): Promise<Buffer> {
    const index = this.index(file);
    return this.artifact.read(this.manifest.files[index], `$.files[${index}]`);
  }

  /** Copies the manifest and every file it lists (each verified first) into `outDir`, unchanged (same digests). */
  async copyTo(outDir: string): Promise<void> {
    for (const [i, f] of this.manifest.files.entries()) {
      this.index(f.path);
      // The verified bytes are what is written: no second read that could see another file.
      await writeFile(path.join(outDir, f.path), await this.artifact.read(f, `$.files[${i}]`));
    }
    await writeFile(path.join(outDir, TOKENIZER_MANIFEST_FILE), this.artifact.bytes);
  }
}

/** Opens the tokenizer manifest `ref` listed by `parent` at `jsonPath` (default path: beside the parent). */
export async function openTokenizer<P>(
  parent: Artifact<P>,
  ref: ArtifactRef,
  jsonPath: string,
): Promise<TokenizerFiles> {
  const listed = ArtifactRef.fromPartial({ ...ref, path: ref.path || TOKENIZER_MANIFEST_FILE });
  return new TokenizerFiles(await parent.open(listed, jsonPath, CONTRACTS.TokenizerManifest));
}

/** A tokenizer file's reference (digest, size, media type, name). */
export function tokenizerFileRef(file: string, bytes: Uint8Array): ArtifactRef {
  return ArtifactRef.fromPartial({
    digest: digestBytes(bytes),
    sizeBytes: bytes.length,
    mediaType: TOKENIZER_MEDIA_TYPES[file] ?? "application/octet-stream",
    path: file,
  });
}

/** Writes `files` (name -> bytes) and their manifest into `outDir`; returns the manifest's reference. */
export async function writeTokenizerFiles(
  outDir: string,
  files: ReadonlyArray<[string, Uint8Array]>,
  fields: Omit<TokenizerManifest, "files">,
): Promise<{ manifest: TokenizerManifest; ref: ArtifactRef }> {
  const refs: ArtifactRef[] = [];
  for (const [name, bytes] of files) {
    await writeFile(path.join(outDir, name), bytes);
    refs.push(tokenizerFileRef(name, bytes));
  }
  const manifest = TokenizerManifest.fromPartial({ ...fields, files: refs });
  validateMessage(CONTRACTS.TokenizerManifest, manifest, TOKENIZER_MANIFEST_FILE);
  const text = encodeMessage(TokenizerManifest, manifest);
  await writeFile(path.join(outDir, TOKENIZER_MANIFEST_FILE), text);
  const ref = ArtifactRef.fromPartial({
    digest: digestBytes(text),
    sizeBytes: Buffer.byteLength(text),
    mediaType: "application/json",
    schemaName: CONTRACTS.TokenizerManifest.name,
    path: TOKENIZER_MANIFEST_FILE,
  });
  return { manifest, ref };
}

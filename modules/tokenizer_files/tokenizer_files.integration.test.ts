// A tokenizer directory written, opened, read and copied; a damaged or unlisted file fails with ARTIFACT_* codes.
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { CONTRACTS, openArtifact } from "@nexa/modules/manifest";
import { TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";

import {
  TOKENIZER_HF_FILE,
  TOKENIZER_MANIFEST_FILE,
  TOKENIZER_NATIVE_FILE,
  TokenizerFiles,
  writeTokenizerFiles,
} from "./index";

const origin = { source: 'upstream stage "pack" (input packed)', fix: 'rebuild stage "pack"' };
const tmp = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "tok-"));

async function fixture(
  files: [string, Uint8Array][] = [
    [TOKENIZER_HF_FILE, Buffer.from('{"model":{}}')],
    [TOKENIZER_NATIVE_FILE, Buffer.from([1, 2, 3])],
  ],
) {
  const dir = tmp();
  const written = await writeTokenizerFiles(dir, files, {
    schemaVersion: 1,
    kind: TokenizerManifest_Kind.KIND_BPE,
    name: "bpe-260",
    vocabSize: 260,
    specialTokens: [{ text: "<|endoftext|>", id: 256 }],
    eosId: 256,
    trainedOn: undefined,
    producer: { stageName: "pack", stageId: "b".repeat(64), module: "modules/pack" },
  });
  const open = async () =>
    new TokenizerFiles(
      await openArtifact(path.join(dir, TOKENIZER_MANIFEST_FILE), CONTRACTS.TokenizerManifest, { origin }),
    );
  return { dir, written, open };
}

describe("TokenizerFiles", () => {
  it("reads listed files verified and copies the directory unchanged", async () => {
    const { dir, written, open } = await fixture();
    const tok = await open();
    expect(tok.ref).toMatchObject({
      digest: written.ref.digest,
      path: TOKENIZER_MANIFEST_FILE,
      schemaName: "nexa.v1.TokenizerManifest",
    });
    expect((await tok.read(TOKENIZER_NATIVE_FILE)).equals(Buffer.from([1, 2, 3]))).toBe(true);
    const out = tmp();
    await tok.copyTo(out);
    for (const f of [TOKENIZER_HF_FILE, TOKENIZER_NATIVE_FILE, TOKENIZER_MANIFEST_FILE]) {
      expect(readFileSync(path.join(out, f)).equals(readFileSync(path.join(dir, f)))).toBe(true);
    }
  });

  it("refuses a damaged file and a file the manifest does not list", async () => {
    const { dir, open } = await fixture([[TOKENIZER_HF_FILE, Buffer.from("{}")]]);
    const tok = await open();
    await expect(tok.read(TOKENIZER_NATIVE_FILE)).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: { jsonPath: "$.files" },
    });
    writeFileSync(path.join(dir, TOKENIZER_HF_FILE), "{ }");
    await expect(tok.read(TOKENIZER_HF_FILE)).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { reason: "size", path: TOKENIZER_HF_FILE },
    });
    await expect(tok.copyTo(tmp())).rejects.toMatchObject({ code: "ARTIFACT_INTEGRITY" });
  });
});

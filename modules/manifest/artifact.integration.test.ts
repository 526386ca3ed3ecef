// The one verified read of an artifact: every failure has one of four codes and names the file, the listing and the
// producer.
import { mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { ArtifactRef } from "@nexa/proto/nexa/v1/artifact";
import { TokenizerManifest } from "@nexa/proto/nexa/v1/tokenizer";

import { CONTRACTS, digestBytes, encodeMessage, openArtifact } from "./index";

const origin = {
  source: 'upstream stage "pack" (input packed)',
  fix: 'rebuild stage "pack"',
  context: { upstream: "pack", slot: "packed" },
};
const tmp = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "artifact-"));

function tokenizerManifest(dir: string, files: { path: string; body: string }[]): { file: string; text: string } {
  for (const f of files) writeFileSync(path.join(dir, f.path), f.body);
  const m = TokenizerManifest.fromPartial({
    schemaVersion: 1,
    kind: 1,
    name: "t",
    vocabSize: 260,
    producer: { stageName: "pack", stageId: "a".repeat(64) },
    files: files.map((f) => ({ digest: digestBytes(f.body), sizeBytes: Buffer.byteLength(f.body), path: f.path })),
  });
  const text = encodeMessage(TokenizerManifest, m);
  const file = path.join(dir, "tokenizer.manifest.json");
  writeFileSync(file, text);
  return { file, text };
}

describe("openArtifact", () => {
  it("opens a manifest checked against its listing and reads listed files verified", async () => {
    const dir = tmp();
    const { file, text } = tokenizerManifest(dir, [{ path: "tokenizer.json", body: "{}" }]);
    const listed = ArtifactRef.fromPartial({ digest: digestBytes(text), sizeBytes: Buffer.byteLength(text) });
    const a = await openArtifact(file, CONTRACTS.TokenizerManifest, {
      origin,
      listed: { ref: listed, at: { file: "packed.json", jsonPath: "$.tokenizer" } },
    });
    expect(a.ref).toMatchObject({
      digest: listed.digest,
      sizeBytes: listed.sizeBytes,
      schemaName: "nexa.v1.TokenizerManifest",
      path: "",
    });
    expect((await a.read(a.message.files[0], "$.files[0]")).toString()).toBe("{}");
  });

  it("ARTIFACT_INTEGRITY: the manifest differs from its listing, or a listed file was changed or truncated", async () => {
    const dir = tmp();
    const { file } = tokenizerManifest(dir, [{ path: "tokenizer.json", body: '{"a":1}' }]);
    const wrong = ArtifactRef.fromPartial({ digest: digestBytes("x"), sizeBytes: 1 });
    const err = await openArtifact(file, CONTRACTS.TokenizerManifest, {
      origin,
      listed: { ref: wrong, at: { file: "packed.json", jsonPath: "$.tokenizer" } },
    }).catch((e) => e);
    expect(err).toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { file: "packed.json", jsonPath: "$.tokenizer", upstream: "pack", slot: "packed", reason: "size" },
    });
    expect(err.message).toMatch(
      /^packed\.json: \$\.tokenizer: tokenizer\.manifest\.json \(from upstream stage "pack" \(input packed\)\) is sha256:[0-9a-f]{64} \(\d+ bytes\) but is listed as sha256:[0-9a-f]{64} \(1 bytes\)$/,
    );
    expect(err.hint).toMatch(/rebuild stage "pack"$/);
    const a = await openArtifact(file, CONTRACTS.TokenizerManifest, { origin });
    writeFileSync(path.join(dir, "tokenizer.json"), '{"a":2}');
    await expect(a.read(a.message.files[0], "$.files[0]")).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { reason: "digest", path: "tokenizer.json" },
    });
    writeFileSync(path.join(dir, "tokenizer.json"), "{");
    await expect(a.read(a.message.files[0], "$.files[0]")).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { reason: "size" },
    });
    await expect(a.read({ ...a.message.files[0], path: "../x" }, "$.files[0]")).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { reason: "path" },
    });
  });

  it("ARTIFACT_MISSING, ARTIFACT_SCHEMA and ARTIFACT_VERSION", async () => {
    const dir = tmp();
    await expect(
      openArtifact(path.join(dir, "none.json"), CONTRACTS.TokenizerManifest, { origin }),
    ).rejects.toMatchObject({ code: "ARTIFACT_MISSING" });
    const { file } = tokenizerManifest(dir, [{ path: "tokenizer.json", body: "{}" }]);
    const a = await openArtifact(file, CONTRACTS.TokenizerManifest, { origin });
    await expect(a.read({ ...a.message.files[0], path: "gone.json" }, "$.files[0]")).rejects.toMatchObject({
      code: "ARTIFACT_MISSING",
      context: { path: "gone.json" },
    });
    await expect(
      openArtifact(file, CONTRACTS.TokenizerManifest, { origin, schemaName: "nexa.v1.DatasetManifest" }),
    ).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: { expected: "nexa.v1.TokenizerManifest", actual: "nexa.v1.DatasetManifest" },
    });
    await expect(openArtifact(file, CONTRACTS.DatasetManifest, { origin })).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
    });
    writeFileSync(file, '{"schemaVersion": 2}');
    const v = await openArtifact(file, CONTRACTS.TokenizerManifest, { origin }).catch((e) => e);
    expect(v).toMatchObject({
      code: "ARTIFACT_VERSION",
      context: { decodeCode: "MANIFEST_SCHEMA_VERSION", jsonPath: "$.schemaVersion" },
    });
    writeFileSync(file, '{"schemaVersion": 1,');
    await expect(openArtifact(file, CONTRACTS.TokenizerManifest, { origin })).rejects.toMatchObject({
      code: "ARTIFACT_SCHEMA",
      context: { line: 1 },
    });
  });
});

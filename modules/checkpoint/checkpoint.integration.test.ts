// A checkpoint directory written from a real (tiny) model and tokenizer, opened and loaded back; damage is reported
// with the ARTIFACT_* codes.
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";

import { Model, Tokenizer } from "@nexa/kernels/binding";
import { CONTRACTS, openArtifact } from "@nexa/modules/manifest";
import {
  TOKENIZER_HF_FILE,
  TOKENIZER_MANIFEST_FILE,
  TOKENIZER_NATIVE_FILE,
  TokenizerFiles,
  writeTokenizerFiles,
} from "@nexa/modules/tokenizer_files";
import { TokenizerManifest_Kind } from "@nexa/proto/nexa/v1/tokenizer";
import { Device } from "@nexa/proto/nexa/v1/train";

import {
  Checkpoint,
  CHECKPOINT_MANIFEST_FILE,
  loadCheckpoint,
  TRAINING_CURVE_FILE,
  WEIGHTS_FILE,
  writeCheckpoint,
} from "./index";

const origin = { source: 'upstream stage "train" (input checkpoint)', fix: 'rebuild stage "train"' };
const tmp = () => mkdtempSync(path.join(process.env.TEST_TMPDIR ?? tmpdir(), "ckpt-"));
const producer = { stageName: "train", stageId: "c".repeat(64), module: "modules/train" };

async function tokenizerDir(): Promise<TokenizerFiles> {
  const dir = tmp();
  const tok = Tokenizer.train(["the whale the sea the ship", "a whale a sea"], {
    vocabSize: 270,
    minFrequency: 1,
    specials: ["<|endoftext|>"],
  });
  const eos = tok.encode("<|endoftext|>", { allowSpecial: true })[0];
  await writeTokenizerFiles(
    dir,
    [
      [TOKENIZER_HF_FILE, tok.save("hf_json")],
      [TOKENIZER_NATIVE_FILE, tok.save("native")],
    ],
    {
      schemaVersion: 1,
      kind: TokenizerManifest_Kind.KIND_BPE,
      name: "bpe",
      vocabSize: tok.vocabSize,
      specialTokens: [{ text: "<|endoftext|>", id: eos }],
      eosId: eos,
      trainedOn: undefined,
      producer,
    },
  );
  tok.free();
  return new TokenizerFiles(
    await openArtifact(path.join(dir, TOKENIZER_MANIFEST_FILE), CONTRACTS.TokenizerManifest, { origin }),
  );
}

async function writeFixture(): Promise<{ dir: string; weights: Uint8Array }> {
  const dir = tmp();
  const model = Model.create({ vocabSize: 272, seqLen: 16, nLayer: 1, nHead: 2, dModel: 16 }, 7);
  const weights = model.save();
  model.free();
  await writeCheckpoint(
    dir,
    weights,
    [
      { step: 1, loss: 5.5, lr: 0.01 },
      { step: 2, loss: 5.25, lr: 0.01, val_loss: 5.3 },
    ],
    await tokenizerDir(),
    {
      model: { nLayer: 1, nHead: 2, nEmbd: 16, vocabSize: 272, blockSize: 16, dropout: 0 },
      trainConfigDigest: `sha256:${"d".repeat(64)}`,
      packedDataset: undefined,
      step: 2,
      tokensSeen: 64,
      finalTrainLoss: 5.25,
      finalValLoss: 5.3,
      paramCount: 1,
      dtype: "F32",
      device: Device.DEVICE_CPU,
      producer,
    },
  );
  return { dir, weights };
}

const open = async (dir: string) =>
  new Checkpoint(
    await openArtifact(path.join(dir, CHECKPOINT_MANIFEST_FILE), CONTRACTS.CheckpointManifest, { origin }),
  );

describe("checkpoint directory", () => {
  it("lists weights, curve and tokenizer, and loads a model that fits its tokenizer", async () => {
    const { dir, weights } = await writeFixture();
    const ckpt = await open(dir);
    expect(ckpt.manifest.weights).toMatchObject({
      path: WEIGHTS_FILE,
      sizeBytes: weights.length,
      mediaType: "application/vnd.nexa.safetensors",
    });
    expect(ckpt.manifest.metrics).toMatchObject({ path: TRAINING_CURVE_FILE, mediaType: "application/jsonl" });
    expect(ckpt.manifest.tokenizer!.path).toBe(TOKENIZER_MANIFEST_FILE);
    expect(await ckpt.curve()).toEqual([
      { step: 1, loss: 5.5 },
      { step: 2, loss: 5.25, valLoss: 5.3 },
    ]);
    expect((await ckpt.weights()).equals(Buffer.from(weights))).toBe(true);
    const loaded = await loadCheckpoint(ckpt, { threads: 1 });
    try {
      expect({ seqLen: loaded.seqLen, vocabSize: loaded.vocabSize }).toEqual({ seqLen: 16, vocabSize: 272 });
      expect(loaded.tokenizer.decode(loaded.tokenizer.encode("the whale"))).toEqual(
        new TextEncoder().encode("the whale"),
      );
    } finally {
      loaded.free();
    }
  });

  it("reports damaged weights, a damaged curve and a missing tokenizer file", async () => {
    const { dir } = await writeFixture();
    const ckpt = await open(dir);
    const w = readFileSync(path.join(dir, WEIGHTS_FILE));
    w[w.length - 1] ^= 1;
    writeFileSync(path.join(dir, WEIGHTS_FILE), w);
    await expect(ckpt.weights()).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { jsonPath: "$.weights", reason: "digest" },
    });
    writeFileSync(path.join(dir, TRAINING_CURVE_FILE), "{}\n");
    await expect(ckpt.curve()).rejects.toMatchObject({
      code: "ARTIFACT_INTEGRITY",
      context: { jsonPath: "$.metrics", reason: "size" },
    });
    const { rmSync } = await import("fs");
    rmSync(path.join(dir, TOKENIZER_HF_FILE));
    await expect(loadCheckpoint(ckpt)).rejects.toMatchObject({
      code: "ARTIFACT_MISSING",
      context: { path: TOKENIZER_HF_FILE },
    });
  });
});

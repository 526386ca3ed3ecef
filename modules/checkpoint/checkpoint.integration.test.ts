// A checkpoint directory written from a real (tiny) model and tokenizer, opened and loaded back; damage is reported
// with the ARTIFACT_* codes.
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "fs";
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
  exportHf,
  HF_EXPORT_NOT_CHECKPOINT,
  HF_EXPORT_TARGET,
  loadCheckpoint,
  openCheckpointDir,
  parseSafetensors,
  TRAINING_CURVE_FILE,
  WEIGHTS_FILE,
  writeCheckpoint,
} from "./index";
import type { SafeTensor } from "./index";

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
      { step: 1, loss: 5.5, lr: 0.01 },
      { step: 2, loss: 5.25, lr: 0.01, valLoss: 5.3 },
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

describe("Hugging Face GPT-2 export", () => {
  const f32 = (t: SafeTensor) => new Float32Array(Uint8Array.from(t.data).buffer);
  // an independent reading of the exported file: header JSON, offsets, F32 data
  const readExport = (bytes: Buffer) => {
    const n = Number(bytes.readBigUInt64LE(0));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString("utf8")) as Record<string, any>;
    const data = bytes.subarray(8 + n);
    const tensor = (name: string) => {
      const [a, b] = header[name].data_offsets as number[];
      return new Float32Array(Uint8Array.from(data.subarray(a, b)).buffer);
    };
    return { header, tensor };
  };

  it("writes GPT-2 names, Conv1D layouts and a GPT2Config; no optimizer state; same bytes twice", async () => {
    const { dir, weights } = await writeFixture();
    const ckpt = await open(dir);
    const out = path.join(tmp(), "hf");
    expect((await exportHf(ckpt, out)).sort()).toEqual([
      "README.md",
      "config.json",
      "generation_config.json",
      "model.safetensors",
      "tokenizer.json",
      "tokenizer_config.json",
    ]);
    const bytes = readFileSync(path.join(out, "model.safetensors"));
    const { header, tensor } = readExport(bytes);
    expect(header.__metadata__).toEqual({ format: "pt" });
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    expect(names.some((n) => n.includes("optimizer") || n.includes("adam") || n.startsWith("lm_head"))).toBe(false);
    const c = 16;
    const expected: Record<string, number[]> = {
      "transformer.wte.weight": [272, c],
      "transformer.wpe.weight": [16, c],
      "transformer.ln_f.weight": [c],
      "transformer.ln_f.bias": [c],
      "transformer.h.0.ln_1.weight": [c],
      "transformer.h.0.ln_1.bias": [c],
      "transformer.h.0.attn.c_attn.weight": [c, 3 * c],
      "transformer.h.0.attn.c_attn.bias": [3 * c],
      "transformer.h.0.attn.c_proj.weight": [c, c],
      "transformer.h.0.attn.c_proj.bias": [c],
      "transformer.h.0.ln_2.weight": [c],
      "transformer.h.0.ln_2.bias": [c],
      "transformer.h.0.mlp.c_fc.weight": [c, 4 * c],
      "transformer.h.0.mlp.c_fc.bias": [4 * c],
      "transformer.h.0.mlp.c_proj.weight": [4 * c, c],
      "transformer.h.0.mlp.c_proj.bias": [c],
    };
    expect(Object.fromEntries(names.map((n) => [n, header[n].shape]))).toEqual(expected);
    expect(names.every((n) => header[n].dtype === "F32")).toBe(true);
    expect(names).toEqual([...names].sort());

    // ours: w[out,in] (out = x · wᵀ); GPT-2 Conv1D: w[in,out] (out = x · w); the same forward computation
    const ours = parseSafetensors(weights).tensors;
    const qkv = f32(ours.get("h.0.attn.qkv.weight")!);
    const cAttn = tensor("transformer.h.0.attn.c_attn.weight");
    for (let o = 0; o < 3 * c; o++) for (let i = 0; i < c; i++) expect(cAttn[i * 3 * c + o]).toBe(qkv[o * c + i]);
    const x = Float32Array.from({ length: c }, (_, i) => Math.sin(i + 1));
    const bias = f32(ours.get("h.0.attn.qkv.bias")!);
    for (let o = 0; o < 3 * c; o++) {
      let a = bias[o];
      let b = tensor("transformer.h.0.attn.c_attn.bias")[o];
      for (let i = 0; i < c; i++) {
        a += x[i] * qkv[o * c + i];
        b += x[i] * cAttn[i * 3 * c + o];
      }
      expect(b).toBe(a);
    }
    const fcProj = f32(ours.get("h.0.mlp.proj.weight")!); // [c, 4c]
    const hfFcProj = tensor("transformer.h.0.mlp.c_proj.weight"); // [4c, c]
    for (let o = 0; o < c; o++) for (let i = 0; i < 4 * c; i++) expect(hfFcProj[i * c + o]).toBe(fcProj[o * 4 * c + i]);
    expect(tensor("transformer.wte.weight")).toEqual(f32(ours.get("wte.weight")!));

    const config = JSON.parse(readFileSync(path.join(out, "config.json"), "utf8"));
    const eos = (await ckpt.tokenizer()).manifest.eosId;
    expect(config).toMatchObject({
      model_type: "gpt2",
      architectures: ["GPT2LMHeadModel"],
      vocab_size: ckpt.manifest.model!.vocabSize,
      n_positions: ckpt.manifest.model!.blockSize,
      n_ctx: 16,
      n_embd: ckpt.manifest.model!.nEmbd,
      n_layer: ckpt.manifest.model!.nLayer,
      n_head: ckpt.manifest.model!.nHead,
      layer_norm_epsilon: 1e-5,
      activation_function: "gelu_new",
      resid_pdrop: 0,
      embd_pdrop: 0,
      attn_pdrop: 0,
      tie_word_embeddings: true,
      bos_token_id: eos,
      eos_token_id: eos,
    });
    expect(JSON.parse(readFileSync(path.join(out, "generation_config.json"), "utf8"))).toEqual({
      bos_token_id: eos,
      eos_token_id: eos,
    });
    expect(readFileSync(path.join(out, "tokenizer.json")).equals(readFileSync(path.join(dir, TOKENIZER_HF_FILE)))).toBe(
      true,
    );
    const card = readFileSync(path.join(out, "README.md"), "utf8");
    expect(card).toContain(ckpt.ref.digest);
    expect(card).toContain("final validation loss: 5.3");

    const again = path.join(tmp(), "hf");
    await exportHf(ckpt, again);
    for (const name of readdirSync(out)) {
      expect(readFileSync(path.join(again, name)).equals(readFileSync(path.join(out, name)))).toBe(true);
    }
  });

  it("refuses a missing directory, a directory without checkpoint.json and a non-empty target", async () => {
    await expect(openCheckpointDir(path.join(tmp(), "nope"))).rejects.toMatchObject({ code: HF_EXPORT_NOT_CHECKPOINT });
    await expect(openCheckpointDir(tmp())).rejects.toMatchObject({ code: HF_EXPORT_NOT_CHECKPOINT });
    const { dir } = await writeFixture();
    const ckpt = await openCheckpointDir(dir);
    const target = tmp();
    writeFileSync(path.join(target, "keep.txt"), "x");
    await expect(exportHf(ckpt, target)).rejects.toMatchObject({ code: HF_EXPORT_TARGET });
    expect(readdirSync(target)).toEqual(["keep.txt"]);
    expect(readdirSync(path.dirname(target)).some((n) => n.includes(".tmp-"))).toBe(false);
  });
});

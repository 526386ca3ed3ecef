// A checkpoint directory exported to the Hugging Face transformers GPT-2 layout (docs: README.md "Hugging Face
// export"). The kernels' model is GPT-2's architecture (pre-LN, biases, tanh GELU, learned positions, tied head,
// LayerNorm eps 1e-5), so the export renames tensors and transposes matrices; nothing is approximated:
//   config.json              GPT2Config
//   model.safetensors        the parameters only (no AdamW moments), GPT-2 names, Conv1D layout [in, out]
//   tokenizer.json           the checkpoint's Hugging Face tokenizer file, verified and copied byte for byte
//   tokenizer_config.json, generation_config.json, README.md (model card)
// Every file is a function of the checkpoint alone: exporting twice gives the same bytes.

import { existsSync, mkdtempSync, readdirSync, rmdirSync, rmSync, statSync } from "fs";
import { rename, writeFile } from "fs/promises";
import * as path from "path";

import { CONTRACTS, openArtifact } from "@nexa/modules/manifest";
import { NexaError } from "@nexa/modules/monitoring";
import { TOKENIZER_HF_FILE } from "@nexa/modules/tokenizer_files";

import { Checkpoint, CHECKPOINT_MANIFEST_FILE, WEIGHTS_FILE } from "./checkpoint";

export const HF_EXPORT_INVALID = "HF_EXPORT_INVALID";
export const HF_EXPORT_TARGET = "HF_EXPORT_TARGET";
export const HF_EXPORT_NOT_CHECKPOINT = "HF_EXPORT_NOT_CHECKPOINT";

/** One tensor of a safetensors file: name, dtype, shape and its data (little-endian bytes). */
export interface SafeTensor {
  name: string;
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** A parsed safetensors file. */
export interface SafeTensors {
  metadata: Record<string, string>;
  tensors: Map<string, SafeTensor>;
}

const invalid = (file: string, field: string, message: string, hint: string): NexaError =>
  new NexaError(HF_EXPORT_INVALID, message, { context: { file, jsonPath: field }, hint });

/** Parses safetensors bytes (8-byte little-endian header length, JSON header, data); checks every offset. */
export function parseSafetensors(bytes: Uint8Array, file = WEIGHTS_FILE): SafeTensors {
  const hint = "the file is not a safetensors checkpoint written by the kernels; re-run the stage that wrote it";
  if (bytes.length < 8) throw invalid(file, "$", `${bytes.length} bytes is too short for safetensors`, hint);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) throw invalid(file, "$", `header length ${headerLen} runs past the file`, hint);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + headerLen)).toString("utf8")) as Record<string, unknown>;
  } catch (err) {
    throw invalid(file, "$", `header is not JSON: ${(err as Error).message}`, hint);
  }
  const data = bytes.subarray(8 + headerLen);
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const tensors = new Map<string, SafeTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const offsets = t.data_offsets as number[];
    const shape = t.shape as number[];
    if (
      typeof t.dtype !== "string" ||
      !Array.isArray(shape) ||
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      offsets[0] > offsets[1] ||
      offsets[1] > data.length
    ) {
      throw invalid(file, `$.${name}`, `tensor "${name}" has an invalid dtype, shape or data_offsets`, hint);
    }
    tensors.set(name, { name, dtype: t.dtype, shape, data: data.subarray(offsets[0], offsets[1]) });
  }
  return { metadata, tensors };
}

/**
 * Serialises tensors as safetensors, deterministically: names sorted, data in that order, the header JSON compact
 * with sorted keys and padded with spaces so the data starts at a multiple of 8 bytes.
 */
export function writeSafetensors(tensors: readonly SafeTensor[], metadata: Record<string, string>): Buffer {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: sortKeys(metadata) };
  let offset = 0;
  for (const t of sorted) {
    header[t.name] = { data_offsets: [offset, offset + t.data.length], dtype: t.dtype, shape: t.shape };
    offset += t.data.length;
  }
  let json = JSON.stringify(sortKeys(header));
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, "utf8"), ...sorted.map((t) => Buffer.from(t.data))]);
}

function sortKeys<T>(obj: Record<string, T>): Record<string, T> {
  return Object.fromEntries(
    Object.keys(obj)
      .sort()
      .map((k) => [k, obj[k]]),
  );
}

/** Stable JSON for the exported files: sorted keys, two-space indent, trailing newline. */
function stableJson(value: Record<string, unknown>): string {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

/** Our [rows, cols] f32 matrix transposed to [cols, rows] (GPT-2's Conv1D keeps weights as [in, out]). */
function transpose(t: SafeTensor): SafeTensor {
  const [rows, cols] = t.shape;
  const src = new Float32Array(t.data.buffer.slice(t.data.byteOffset, t.data.byteOffset + t.data.byteLength));
  const dst = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];
  return { name: t.name, dtype: t.dtype, shape: [cols, rows], data: new Uint8Array(dst.buffer) };
}

/** The model's shape, from the kernels' `nexa.*` metadata. */
export interface HfModelShape {
  vocabSize: number;
  seqLen: number;
  nLayer: number;
  nHead: number;
  dModel: number;
}

function modelShape(st: SafeTensors): HfModelShape {
  const num = (key: string): number => {
    const v = Number(st.metadata[`nexa.${key}`]);
    if (!Number.isInteger(v) || v <= 0) {
      throw invalid(
        WEIGHTS_FILE,
        `$.__metadata__["nexa.${key}"]`,
        `metadata "nexa.${key}" is ${JSON.stringify(st.metadata[`nexa.${key}`]) ?? "missing"}, expected a positive integer`,
        "only checkpoints written by the kernels (format nexa.gpt) can be exported",
      );
    }
    return v;
  };
  if (st.metadata["nexa.format"] !== "nexa.gpt") {
    throw invalid(
      WEIGHTS_FILE,
      '$.__metadata__["nexa.format"]',
      `checkpoint format is ${JSON.stringify(st.metadata["nexa.format"]) ?? "missing"}, expected "nexa.gpt"`,
      "only checkpoints written by the kernels (format nexa.gpt) can be exported",
    );
  }
  return {
    vocabSize: num("vocab_size"),
    seqLen: num("seq_len"),
    nLayer: num("n_layer"),
    nHead: num("n_head"),
    dModel: num("d_model"),
  };
}

/** Our tensor name → (GPT-2 name, whether the matrix is transposed to [in, out]). */
function hfName(name: string): [string, boolean] {
  const fixed: Record<string, string> = {
    "wte.weight": "transformer.wte.weight",
    "wpe.weight": "transformer.wpe.weight",
    "lnf.weight": "transformer.ln_f.weight",
    "lnf.bias": "transformer.ln_f.bias",
  };
  if (fixed[name]) return [fixed[name], false];
  const m = /^h\.(\d+)\.(ln1|ln2|attn\.qkv|attn\.proj|mlp\.fc|mlp\.proj)\.(weight|bias)$/.exec(name);
  if (!m) {
    throw invalid(
      WEIGHTS_FILE,
      `$.${name}`,
      `unknown tensor "${name}"`,
      "the checkpoint holds a tensor this export does not know; export it with the build that wrote it",
    );
  }
  const part = {
    ln1: "ln_1",
    ln2: "ln_2",
    "attn.qkv": "attn.c_attn",
    "attn.proj": "attn.c_proj",
    "mlp.fc": "mlp.c_fc",
    "mlp.proj": "mlp.c_proj",
  }[m[2]]!;
  return [`transformer.h.${m[1]}.${part}.${m[3]}`, m[3] === "weight" && !m[2].startsWith("ln")];
}

/**
 * The GPT-2 weights of our safetensors bytes: parameters only (optimizer moments dropped), renamed, matrices
 * transposed from our [out, in] to Conv1D's [in, out]. Our qkv rows are already q | k | v, head by head, as
 * GPT-2's c_attn columns are.
 */
export function hfWeights(bytes: Uint8Array): { shape: HfModelShape; safetensors: Buffer } {
  const st = parseSafetensors(bytes);
  const shape = modelShape(st);
  const out: SafeTensor[] = [];
  for (const t of st.tensors.values()) {
    if (t.name.startsWith("optimizer.")) continue;
    if (t.dtype !== "F32") {
      throw invalid(
        WEIGHTS_FILE,
        `$.${t.name}.dtype`,
        `tensor "${t.name}" is ${t.dtype}, expected F32`,
        "only F32 checkpoints can be exported",
      );
    }
    const [name, transposed] = hfName(t.name);
    out.push({ ...(transposed ? transpose(t) : t), name });
  }
  return { shape, safetensors: writeSafetensors(out, { format: "pt" }) };
}

/** Every exported file, name → bytes (deterministic). */
/** Where an exported checkpoint came from beyond its own manifest (the model card names it). */
export interface HfExportOrigin {
  /** The published run the checkpoint was checked out of. */
  runId?: string;
}

export async function hfExportFiles(checkpoint: Checkpoint, origin: HfExportOrigin = {}): Promise<Map<string, Buffer>> {
  const { shape, safetensors } = hfWeights(await checkpoint.weights());
  const tokenizerFiles = await checkpoint.tokenizer();
  const tokenizerJson = await tokenizerFiles.read(TOKENIZER_HF_FILE);
  let parsed: unknown;
  try {
    parsed = JSON.parse(tokenizerJson.toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || typeof (parsed as { model?: unknown }).model !== "object") {
    throw invalid(
      TOKENIZER_HF_FILE,
      "$.model",
      `${TOKENIZER_HF_FILE} is not a Hugging Face tokenizer.json (no "model" object)`,
      "re-run the tokenizer stage that wrote it",
    );
  }
  const tm = tokenizerFiles.manifest;
  const eos = tm.specialTokens.find((t) => t.id === tm.eosId);
  const eosIds = eos ? { bos_token_id: eos.id, eos_token_id: eos.id } : {};
  const config = stableJson({
    model_type: "gpt2",
    architectures: ["GPT2LMHeadModel"],
    vocab_size: shape.vocabSize,
    n_positions: shape.seqLen,
    n_ctx: shape.seqLen,
    n_embd: shape.dModel,
    n_layer: shape.nLayer,
    n_head: shape.nHead,
    n_inner: null,
    layer_norm_epsilon: 1e-5,
    activation_function: "gelu_new",
    resid_pdrop: 0,
    embd_pdrop: 0,
    attn_pdrop: 0,
    initializer_range: 0.02,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    use_cache: true,
    torch_dtype: "float32",
    ...eosIds,
  });
  const tokenizerConfig = stableJson({
    tokenizer_class: "PreTrainedTokenizerFast",
    model_max_length: shape.seqLen,
    ...(eos ? { bos_token: eos.text, eos_token: eos.text, unk_token: eos.text } : {}),
  });
  const generationConfig = stableJson({ ...eosIds });
  const m = checkpoint.manifest;
  const facts: string[] = [
    `- checkpoint: \`${checkpoint.ref.digest}\` (${CHECKPOINT_MANIFEST_FILE})`,
    ...(origin.runId ? [`- run: \`${origin.runId}\` (\`nexa show ${origin.runId.slice(0, 12)}\`)`] : []),
    ...(m.producer
      ? [`- produced by stage \`${m.producer.stageName}\` (\`${m.producer.stageId}\`, ${m.producer.module})`]
      : []),
    `- shape: ${shape.nLayer} layers, ${shape.nHead} heads, d_model ${shape.dModel}, vocab ${shape.vocabSize}, context ${shape.seqLen}`,
    ...(m.packedDataset?.digest ? [`- trained on packed dataset \`${m.packedDataset.digest}\``] : []),
    ...(m.step ? [`- trained for ${m.step} steps, ${m.tokensSeen} tokens`] : []),
    ...(m.finalTrainLoss ? [`- final train loss: ${m.finalTrainLoss}`] : []),
    ...(m.finalValLoss ? [`- final validation loss: ${m.finalValLoss}`] : []),
  ];
  const card =
    "# NexaCompute GPT-2 export\n\n" +
    "A NexaCompute checkpoint in the Hugging Face transformers GPT-2 layout (`GPT2LMHeadModel`, tied head).\n\n" +
    facts.join("\n") +
    "\n";
  return new Map<string, Buffer>([
    ["README.md", Buffer.from(card)],
    ["config.json", Buffer.from(config)],
    ["generation_config.json", Buffer.from(generationConfig)],
    ["model.safetensors", safetensors],
    ["tokenizer.json", tokenizerJson],
    ["tokenizer_config.json", Buffer.from(tokenizerConfig)],
  ]);
}

/** Opens a checkpoint directory (the train stage's output) for export; a clear error when it is not one. */
export async function openCheckpointDir(dir: string): Promise<Checkpoint> {
  const file = path.join(dir, CHECKPOINT_MANIFEST_FILE);
  if (!existsSync(dir) || !statSync(dir).isDirectory() || !existsSync(file)) {
    throw new NexaError(
      HF_EXPORT_NOT_CHECKPOINT,
      existsSync(dir)
        ? `${dir} is not a checkpoint directory (no ${CHECKPOINT_MANIFEST_FILE})`
        : `${dir} does not exist`,
      {
        context: { file: dir },
        hint: `pass the output directory of a train or distill stage (it holds ${CHECKPOINT_MANIFEST_FILE})`,
      },
    );
  }
  const origin = { source: `checkpoint directory ${dir}`, fix: "re-run the stage that wrote it" };
  return new Checkpoint(await openArtifact(file, CONTRACTS.CheckpointManifest, { origin }));
}

/**
 * Exports `checkpoint` into `outDir` (absent or empty) in the Hugging Face GPT-2 layout. The files are written to a
 * temporary directory beside `outDir` and renamed into place, so `outDir` is never left half-written.
 */
export async function exportHf(checkpoint: Checkpoint, outDir: string, origin: HfExportOrigin = {}): Promise<string[]> {
  if (existsSync(outDir) && (!statSync(outDir).isDirectory() || readdirSync(outDir).length > 0)) {
    throw new NexaError(HF_EXPORT_TARGET, `${outDir} exists and is not an empty directory`, {
      context: { file: outDir },
      hint: "choose a new directory, or remove this one first",
    });
  }
  const files = await hfExportFiles(checkpoint, origin);
  const parent = path.dirname(path.resolve(outDir));
  const tmp = mkdtempSync(path.join(parent, `.${path.basename(outDir)}.tmp-`));
  try {
    for (const [name, bytes] of files) await writeFile(path.join(tmp, name), bytes);
    if (existsSync(outDir)) rmdirSync(outDir);
    await rename(tmp, outDir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return [...files.keys()];
}

// The CPU GPT (//kernels/model) through the C ABI's nexa_model_* functions: create/load/save, train steps (one, or
// many in one call with a numbers-only progress callback), evaluation, logits, teacher top-k (the distillation input
// of a train step) and generation on typed arrays.
// Results are bitwise identical for any thread count and any kernel variant (only speed differs), on every x86-64
// CPU; checkpoints carry no host facts.
//
// Batches are flat [B·T] row-major arrays of packed rows: `docIds` marks each row's documents (contiguous runs;
// attention and positions restart per document), `targets[i] = IGNORE_TARGET` means no loss at position i.

import { check, growCall, kernels, KernelError, Status, withProgressCallback } from "./library";
import type { ProgressCallback } from "./library";
import { Decoder, STOP_REASONS } from "./decoder";
import type { StopReason } from "./decoder";

export { Decoder, STOP_NONE, STOP_REASONS } from "./decoder";
export type { DecodedTokens, StopReason } from "./decoder";

// ---------------------------------------------------------------------------------------------------------------------
// Types
// ---------------------------------------------------------------------------------------------------------------------

/** GEMM micro-kernel variants, narrowest first; "auto" picks the widest this CPU supports. Speed only. */
export const KERNEL_VARIANTS = ["portable", "avx2_fma", "avx512f"] as const;
export type KernelVariant = (typeof KERNEL_VARIANTS)[number];

/** Options of Model.create / Model.load; neither ever changes a result. */
export interface ModelOptions {
  /** Worker threads (default 1). */
  threads?: number;
  /** Kernel variant (default: $NEXA_KERNEL_VARIANT, else "auto"). */
  variant?: KernelVariant | "auto";
}

/** The kernel variants this CPU supports, narrowest first (always starts with "portable"). */
export function supportedVariants(): KernelVariant[] {
  const bytes = growCall(
    (n) => new Uint8Array(n),
    64,
    (buf, cap, len) => kernels().nexa_kernel_variants(buf, cap, len),
    "nexa_kernel_variants",
  );
  return new TextDecoder().decode(bytes).split(",") as KernelVariant[];
}

/** Target value meaning "no loss here" (NEXA_MODEL_IGNORE). */
export const IGNORE_TARGET = 0xffffffff;

/** Shape of the GPT decoder. */
export interface ModelConfig {
  vocabSize: number;
  /** Maximum tokens per row (the position table). */
  seqLen: number;
  nLayer: number;
  /** Divides dModel. */
  nHead: number;
  dModel: number;
}

/** AdamW + schedule (warm-up 0 → lr, cosine to minLr at totalSteps) + distillation mix. Unset fields keep defaults. */
export interface TrainSettings {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.95. */
  beta2?: number;
  /** Default 1e-8. */
  eps?: number;
  /** Default 0.1. */
  weightDecay?: number;
  /** Global-norm clip; 0 disables. Default 1. */
  gradClip?: number;
  /** Also decay LayerNorm weights, biases and embeddings. Default false. */
  decayAll?: boolean;
  /** α of the KL term in [0, 1]. Default 0. */
  distillWeight?: number;
  /** τ > 0. Default 1. */
  distillTemperature?: number;
}

export interface ModelInfo {
  config: ModelConfig;
  numParams: number;
  /** Optimizer steps taken. */
  step: number;
  rowsSeen: number;
  /** B·T per micro-batch, padding included. */
  tokensSeen: number;
  threads: number;
}

/**
 * Teacher top-k next-token distribution per position: ids/probs [microBatches·B·T·k], position-major, each position's
 * k entries by descending probability (equal ones by ascending id). The probs are untempered probabilities (any
 * scale, finite, ≥ 0): the train step raises them to 1/distillTemperature and renormalises over the k entries
 * itself. Model.teacherTopK at temperature 1 writes exactly this.
 */
export interface TeacherTopK {
  k: number;
  ids: Uint32Array;
  probs: Float32Array;
}

/** `microBatches` (default 1) micro-batches of [b·t] back to back in each array (gradient accumulation). */
export interface TrainBatch {
  tokens: Uint32Array;
  targets: Uint32Array;
  docIds: Uint32Array;
  b: number;
  t: number;
  microBatches?: number;
  teacher?: TeacherTopK;
}

/** Numbers of one optimizer step (f32 values, exactly representable as JS numbers). */
export interface StepMetrics {
  /** Steps completed after this one. */
  step: number;
  /** Mean loss over the micro-batches (distillation mix included). */
  loss: number;
  ce: number;
  kl: number;
  /** Before clipping. */
  gradNorm: number;
  lr: number;
  /** Positions with a target. */
  tokens: number;
}

/** What trainSteps reports after each step: numbers only (the fields of that step's StepMetrics). */
export interface StepProgress {
  /** Steps completed after this one. */
  step: number;
  loss: number;
  lr: number;
  /** Before clipping. */
  gradNorm: number;
  /** Positions with a target. */
  tokens: number;
}

export interface EvalResult {
  /** Mean cross-entropy (nats/token) over positions with a target. */
  loss: number;
  lossSum: number;
  count: number;
  /** [b·t] per-position cross-entropy (0 where ignored), when requested. */
  perToken?: Float32Array;
}

/** Options of Model.teacherTopK. */
export interface TeacherTopKOptions {
  /** Entries per position, 1..vocabSize. */
  k: number;
  /**
   * T > 0 of softmax(logits / T). Default 1: the form a distilling trainStep takes (its distillTemperature τ
   * softens both sides; a T ≠ 1 here compounds to T·τ on the teacher side).
   */
  temperature?: number;
}

export interface GenerateOptions {
  maxNewTokens: number;
  /** 0 = greedy. Default 1. */
  temperature?: number;
  /** 0 = no limit. Default 0. */
  topK?: number;
  /** In (0, 1]. Default 1. */
  topP?: number;
  /** Sampling seed. Default 0. */
  seed?: number | bigint;
  /** Generation ends at any of these (not returned). */
  stopTokens?: readonly number[];
}

export interface Generation {
  tokens: Uint32Array;
  stop: StopReason;
}

// ---------------------------------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------------------------------

/** GenerateOptions as nexa_generate_options. */
function generateOptionsC(opts: GenerateOptions): Record<string, number | bigint> {
  return {
    max_new_tokens: opts.maxNewTokens,
    top_k: opts.topK ?? 0,
    temperature: opts.temperature ?? 1,
    top_p: opts.topP ?? 1,
    seed: opts.seed ?? 0,
  };
}

function invalid(message: string, hint: string): KernelError {
  return new KernelError("KERNEL_INVALID_ARGUMENT", Status.INVALID_ARGUMENT, message, hint);
}

/** Next-token targets of packed rows of `t` tokens: the next token inside the same row and document, else IGNORE. */
export function nextTokenTargets(tokens: Uint32Array, docIds: Uint32Array, t: number): Uint32Array {
  if (docIds.length !== tokens.length) {
    throw invalid(`docIds holds ${docIds.length} values, tokens ${tokens.length}`, "pass one doc id per token");
  }
  const out = new Uint32Array(tokens.length);
  check(
    kernels().nexa_model_next_token_targets(tokens, docIds, tokens.length, t, out),
    "nexa_model_next_token_targets",
  );
  return out;
}

/** Checks that each array holds `n` values (the C side cannot know a JS array's length). */
function checkLengths(fn: string, n: number, arrays: Record<string, { length: number }>): void {
  for (const [name, a] of Object.entries(arrays)) {
    if (a.length !== n) {
      throw invalid(
        `${fn}: ${name} holds ${a.length} values, expected ${n}`,
        "size every batch array as (micro-batches ×) b × t",
      );
    }
  }
}

/** nexa_step_metrics as koffi decodes it. */
interface StepMetricsOut {
  step: number;
  loss: number;
  ce: number;
  kl: number;
  grad_norm: number;
  lr: number;
  tokens: number;
}

function stepMetrics(o: StepMetricsOut): StepMetrics {
  return {
    step: Number(o.step),
    loss: o.loss,
    ce: o.ce,
    kl: o.kl,
    gradNorm: o.grad_norm,
    lr: o.lr,
    tokens: Number(o.tokens),
  };
}

/** The shape every batch of a trainSteps call shares: n = microBatches·b·t values per array, n·k per teacher array. */
interface StepShape {
  b: number;
  t: number;
  micro: number;
  k: number;
  n: number;
}

/** Checks that `batches` share one shape and hold the values it needs; returns the shape. */
function stepShape(batches: readonly TrainBatch[]): StepShape {
  if (batches.length === 0) throw invalid("trainSteps: no batches", "pass one TrainBatch per step (at least one)");
  const first = batches[0];
  const shape = {
    b: first.b,
    t: first.t,
    micro: first.microBatches ?? 1,
    k: first.teacher ? first.teacher.k : 0,
    n: 0,
  };
  for (const [name, v] of Object.entries({ b: shape.b, t: shape.t, microBatches: shape.micro, "teacher.k": shape.k })) {
    if (!Number.isSafeInteger(v) || v < 0) {
      throw invalid(
        `trainSteps: ${name} = ${v} is not a non-negative integer`,
        "give b, t, microBatches and teacher.k as integers",
      );
    }
  }
  shape.n = shape.micro * shape.b * shape.t;
  batches.forEach((batch, i) => {
    const k = batch.teacher ? batch.teacher.k : 0;
    if (batch.b !== shape.b || batch.t !== shape.t || (batch.microBatches ?? 1) !== shape.micro || k !== shape.k) {
      throw invalid(
        `trainSteps: batch ${i} has b=${batch.b} t=${batch.t} microBatches=${batch.microBatches ?? 1} teacher k=${k}, ` +
          `batch 0 has b=${shape.b} t=${shape.t} microBatches=${shape.micro} teacher k=${shape.k}`,
        "give every step's batch the same shape (or call trainSteps once per shape)",
      );
    }
    const fn = `trainSteps: batch ${i}`;
    checkLengths(fn, shape.n, { tokens: batch.tokens, targets: batch.targets, docIds: batch.docIds });
    if (batch.teacher)
      checkLengths(fn, shape.n * k, { "teacher.ids": batch.teacher.ids, "teacher.probs": batch.teacher.probs });
  });
  return shape;
}

/** The arrays of every batch back to back (the layout nexa_model_train_steps reads). */
function concatSteps<T extends Uint32Array | Float32Array>(
  parts: readonly T[],
  make: (n: number) => T,
  each: number,
): T {
  const out = make(parts.length * each);
  parts.forEach((p, i) => out.set(p, i * each));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------------------------------

/** A GPT living in the library; call free() when done. Not for concurrent use. */
export class Model {
  private handle: unknown;
  /** True while trainSteps runs: the model's own progress callback must not use it. */
  private busy = false;
  /** Decoders of this model not yet freed: the model must outlive them. */
  private decoders = 0;

  private constructor(handle: unknown) {
    this.handle = handle;
  }

  /** A freshly initialised model; `threads` and `variant` never change results. */
  static create(config: ModelConfig, seed: number | bigint, opts: ModelOptions = {}): Model {
    const out = [null];
    const c = {
      vocab_size: config.vocabSize,
      seq_len: config.seqLen,
      n_layer: config.nLayer,
      n_head: config.nHead,
      d_model: config.dModel,
    };
    check(kernels().nexa_model_new(c, seed, out), "nexa_model_new");
    return new Model(out[0]).applyOptions(opts);
  }

  /** A model from safetensors checkpoint bytes (as written by save()). */
  static load(bytes: Uint8Array, opts: ModelOptions = {}): Model {
    const out = [null];
    check(kernels().nexa_model_load(bytes, bytes.length, out), "nexa_model_load");
    return new Model(out[0]).applyOptions(opts);
  }

  private applyOptions(opts: ModelOptions): Model {
    try {
      if (opts.threads !== undefined) this.setThreads(opts.threads);
      if (opts.variant !== undefined) this.setVariant(opts.variant);
    } catch (e) {
      this.free();
      throw e;
    }
    return this;
  }

  private live(): unknown {
    if (this.busy) {
      throw new KernelError(
        "KERNEL_MODEL_BUSY",
        0,
        "model used from its own trainSteps progress callback",
        "record the numbers in onProgress and use the model after trainSteps returns",
      );
    }
    if (this.handle === null) {
      throw new KernelError("KERNEL_USE_AFTER_FREE", 0, "model used after free()", "keep the Model until done");
    }
    return this.handle;
  }

  /** Checkpoint bytes (safetensors: parameters, AdamW moments, metadata); deterministic. */
  save(): Uint8Array {
    const h = this.live();
    return growCall(
      (n) => new Uint8Array(n),
      12 * this.info().numParams + (1 << 16),
      (buf, cap, len) => kernels().nexa_model_save(h, buf, cap, len),
      "nexa_model_save",
    );
  }

  info(): ModelInfo {
    const o = {} as {
      config: { vocab_size: number; seq_len: number; n_layer: number; n_head: number; d_model: number };
      num_params: number;
      step: number;
      rows_seen: number;
      tokens_seen: number;
      threads: number;
    };
    check(kernels().nexa_model_get_info(this.live(), o), "nexa_model_get_info");
    const c = o.config;
    return {
      config: { vocabSize: c.vocab_size, seqLen: c.seq_len, nLayer: c.n_layer, nHead: c.n_head, dModel: c.d_model },
      numParams: Number(o.num_params),
      step: Number(o.step),
      rowsSeen: Number(o.rows_seen),
      tokensSeen: Number(o.tokens_seen),
      threads: o.threads,
    };
  }

  /** Worker threads (1..1024); results are bitwise identical for any value. */
  setThreads(threads: number): void {
    check(kernels().nexa_model_set_threads(this.live(), threads), "nexa_model_set_threads");
  }

  /** Kernel variant ("auto" = widest this CPU has); results are bitwise identical for every variant. */
  setVariant(variant: KernelVariant | "auto"): void {
    const name = new TextEncoder().encode(variant);
    check(kernels().nexa_model_set_variant(this.live(), name, name.length), "nexa_model_set_variant");
  }

  /** The kernel variant the model computes with (for logs: never part of an artifact). */
  variant(): KernelVariant {
    const h = this.live();
    const bytes = growCall(
      (n) => new Uint8Array(n),
      32,
      (buf, cap, len) => kernels().nexa_model_variant(h, buf, cap, len),
      "nexa_model_variant",
    );
    return new TextDecoder().decode(bytes) as KernelVariant;
  }

  setTrainConfig(s: TrainSettings): void {
    const c = {
      lr: s.lr,
      min_lr: s.minLr,
      warmup_steps: s.warmupSteps,
      total_steps: s.totalSteps,
      beta1: s.beta1 ?? 0.9,
      beta2: s.beta2 ?? 0.95,
      eps: s.eps ?? 1e-8,
      weight_decay: s.weightDecay ?? 0.1,
      grad_clip: s.gradClip ?? 1,
      distill_weight: s.distillWeight ?? 0,
      distill_temperature: s.distillTemperature ?? 1,
      decay_all: s.decayAll ? 1 : 0,
    };
    check(kernels().nexa_model_set_train_config(this.live(), c), "nexa_model_set_train_config");
  }

  /** Sets a checkpoint metadata string; keys must not start with "nexa." or "__". */
  setMetadata(key: string, value: string): void {
    const [k, v] = [new TextEncoder().encode(key), new TextEncoder().encode(value)];
    check(kernels().nexa_model_set_metadata(this.live(), k, k.length, v, v.length), "nexa_model_set_metadata");
  }

  /** Digest of the tokenizer the model is trained with (checkpoint metadata "nexa.tokenizer_digest"). */
  setTokenizerDigest(digest: string): void {
    const [k, v] = [new TextEncoder().encode("nexa.tokenizer_digest"), new TextEncoder().encode(digest)];
    check(kernels().nexa_model_set_metadata(this.live(), k, k.length, v, v.length), "nexa_model_set_metadata");
  }

  /** The checkpoint's __metadata__ ("nexa.*" keys and the caller's), as an object with sorted keys. */
  metadata(): Record<string, string> {
    const h = this.live();
    const bytes = growCall(
      (n) => new Uint8Array(n),
      4096,
      (buf, cap, len) => kernels().nexa_model_metadata(h, buf, cap, len),
      "nexa_model_metadata",
    );
    const parts = new TextDecoder().decode(bytes).split("\0");
    const out: Record<string, string> = {};
    for (let i = 0; i + 1 < parts.length; i += 2) out[parts[i]] = parts[i + 1];
    return out;
  }

  /** One optimizer step over `batch.microBatches` micro-batches. */
  trainStep(batch: TrainBatch): StepMetrics {
    const micro = batch.microBatches ?? 1;
    const n = micro * batch.b * batch.t;
    checkLengths("trainStep", n, { tokens: batch.tokens, targets: batch.targets, docIds: batch.docIds });
    const tk = batch.teacher;
    if (tk) checkLengths("trainStep", n * tk.k, { "teacher.ids": tk.ids, "teacher.probs": tk.probs });
    const o = {} as StepMetricsOut;
    check(
      kernels().nexa_model_train_step(
        this.live(),
        batch.tokens,
        batch.targets,
        batch.docIds,
        micro,
        batch.b,
        batch.t,
        tk ? tk.ids : null,
        tk ? tk.probs : null,
        tk ? tk.k : 0,
        o,
      ),
      "nexa_model_train_step",
    );
    return stepMetrics(o);
  }

  /**
   * One optimizer step per batch in a single native call (nexa_model_train_steps): bit for bit what as many trainStep
   * calls would do. Every batch must have the shape of the first (b, t, microBatches, teacher k); all are checked
   * before the first step, so a KernelError for bad input means no step ran. `onProgress` gets each step's numbers
   * right after it (on this thread, between steps); returns the last step's metrics.
   *
   * A throwing `onProgress` cannot stop the native run: the remaining steps still run, `onProgress` is not called
   * again, and its first error is rethrown (as is) once the call returns — the model then holds all
   * `batches.length` steps, exactly as if nothing had thrown (a KernelError of the call itself takes precedence).
   * Using this model inside `onProgress` throws KernelError KERNEL_MODEL_BUSY (which is captured the same way).
   */
  trainSteps(batches: readonly TrainBatch[], onProgress?: (p: StepProgress) => void): StepMetrics {
    const h = this.live();
    const s = stepShape(batches);
    const tokens = concatSteps(
      batches.map((x) => x.tokens),
      (n) => new Uint32Array(n),
      s.n,
    );
    const targets = concatSteps(
      batches.map((x) => x.targets),
      (n) => new Uint32Array(n),
      s.n,
    );
    const docIds = concatSteps(
      batches.map((x) => x.docIds),
      (n) => new Uint32Array(n),
      s.n,
    );
    const teacherIds =
      s.k > 0
        ? concatSteps(
            batches.map((x) => x.teacher!.ids),
            (n) => new Uint32Array(n),
            s.n * s.k,
          )
        : null;
    const teacherProbs =
      s.k > 0
        ? concatSteps(
            batches.map((x) => x.teacher!.probs),
            (n) => new Float32Array(n),
            s.n * s.k,
          )
        : null;
    const o = {} as StepMetricsOut;
    const run = (callback: unknown): number =>
      kernels().nexa_model_train_steps(
        h,
        tokens,
        targets,
        docIds,
        s.micro,
        s.b,
        s.t,
        teacherIds,
        teacherProbs,
        s.k,
        batches.length,
        callback,
        null,
        o,
      );
    const caught: { failed: boolean; error?: unknown } = { failed: false };
    const report: ProgressCallback = (_user, step, loss, lr, gradNorm, tok) => {
      if (caught.failed || !onProgress) return;
      try {
        onProgress({ step: Number(step), loss, lr, gradNorm, tokens: Number(tok) });
      } catch (error) {
        caught.failed = true;
        caught.error = error;
      }
    };
    let status: number;
    this.busy = true;
    try {
      status = onProgress ? withProgressCallback(report, run) : run(null);
    } finally {
      this.busy = false;
    }
    check(status, "nexa_model_train_steps");
    if (caught.failed) throw caught.error;
    return stepMetrics(o);
  }

  /** Cross-entropy of one [b·t] batch (no state change); `perToken` adds the per-position losses. */
  evalLoss(batch: Omit<TrainBatch, "microBatches" | "teacher">, opts: { perToken?: boolean } = {}): EvalResult {
    const n = batch.b * batch.t;
    checkLengths("evalLoss", n, { tokens: batch.tokens, targets: batch.targets, docIds: batch.docIds });
    const perToken = opts.perToken ? new Float32Array(n) : null;
    const o = {} as { loss: number; loss_sum: number; count: number };
    check(
      kernels().nexa_model_eval_loss(
        this.live(),
        batch.tokens,
        batch.targets,
        batch.docIds,
        batch.b,
        batch.t,
        o,
        perToken,
        perToken ? n : 0,
      ),
      "nexa_model_eval_loss",
    );
    const r: EvalResult = { loss: o.loss, lossSum: o.loss_sum, count: Number(o.count) };
    if (perToken) r.perToken = perToken;
    return r;
  }

  /** Logits [b, t, vocabSize] of one batch. */
  forward(batch: { tokens: Uint32Array; docIds: Uint32Array; b: number; t: number }): Float32Array {
    const n = batch.b * batch.t;
    checkLengths("forward", n, { tokens: batch.tokens, docIds: batch.docIds });
    const out = new Float32Array(n * this.info().config.vocabSize);
    check(
      kernels().nexa_model_forward(this.live(), batch.tokens, batch.docIds, batch.b, batch.t, out, out.length),
      "nexa_model_forward",
    );
    return out;
  }

  /**
   * The model as a distillation teacher (nexa_model_teacher_topk): for every position of one [b·t] batch (docIds
   * masking as in forward) the `k` most probable next tokens under softmax(logits / temperature) and their
   * full-vocabulary probabilities (not renormalised over the k; each position's sum is the mass on its top k), by
   * descending probability, equal ones by ascending id. The result is a TrainBatch's `teacher` as is. Rows are
   * independent, so the teacher of `microBatches` micro-batches is one call with b = microBatches·b on the arrays
   * back to back. Bitwise identical for every thread count and kernel variant.
   */
  teacherTopK(
    batch: { tokens: Uint32Array; docIds: Uint32Array; b: number; t: number },
    opts: TeacherTopKOptions,
  ): TeacherTopK {
    const h = this.live();
    const n = batch.b * batch.t;
    checkLengths("teacherTopK", n, { tokens: batch.tokens, docIds: batch.docIds });
    const { k } = opts;
    const vocab = this.info().config.vocabSize;
    if (!Number.isSafeInteger(k) || k < 1 || k > vocab) {
      throw invalid(
        `teacherTopK: k = ${k} must be an integer in 1..${vocab} (vocabSize)`,
        "ask for at most vocabSize entries per position",
      );
    }
    const ids = new Uint32Array(n * k);
    const probs = new Float32Array(n * k);
    check(
      kernels().nexa_model_teacher_topk(
        h,
        batch.tokens,
        batch.docIds,
        batch.b,
        batch.t,
        opts.temperature ?? 1,
        k,
        ids,
        probs,
        ids.length,
      ),
      "nexa_model_teacher_topk",
    );
    return { k, ids, probs };
  }

  /** Continues `prompt` (1..seqLen tokens) by up to maxNewTokens seeded samples (KV cache). */
  generate(prompt: Uint32Array, opts: GenerateOptions): Generation {
    const stops = Uint32Array.from(opts.stopTokens ?? []);
    const out = new Uint32Array(Math.max(1, opts.maxNewTokens));
    const len = [0];
    const reason = [0];
    check(
      kernels().nexa_model_generate(
        this.live(),
        prompt,
        prompt.length,
        generateOptionsC(opts),
        stops,
        stops.length,
        out,
        out.length,
        len,
        reason,
      ),
      "nexa_model_generate",
    );
    return { tokens: out.slice(0, Number(len[0])), stop: STOP_REASONS[reason[0]] ?? "max_new_tokens" };
  }

  /**
   * A generation to run token by token (Decoder: async calls on worker threads, a cancel flag). Its tokens are
   * exactly generate()'s for the same prompt and options. The model cannot be freed while a decoder lives.
   */
  decoder(opts: GenerateOptions): Decoder {
    const stops = Uint32Array.from(opts.stopTokens ?? []);
    const out = [null];
    check(
      kernels().nexa_decoder_new(this.live(), generateOptionsC(opts), stops, stops.length, out),
      "nexa_decoder_new",
    );
    this.decoders++;
    return new Decoder(out[0], () => {
      this.decoders--;
    });
  }

  free(): void {
    if (this.busy) this.live(); // throws KERNEL_MODEL_BUSY: never free a model mid-call
    if (this.decoders > 0) {
      throw new KernelError(
        "KERNEL_MODEL_BUSY",
        0,
        `model freed while ${this.decoders} decoder(s) of it live`,
        "free every Decoder first (cancel() and await its call when one runs)",
      );
    }
    if (this.handle !== null) kernels().nexa_model_free(this.handle);
    this.handle = null;
  }
}

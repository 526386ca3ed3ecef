// The distill stage (pipelines/stages.bzl `distill_stage`): prompts from the `dataset` input's train split + the
// `teacher` checkpoint → a text dataset (`dataset.json`, nexa.v1.DatasetManifest, the product) whose train split
// holds the teacher's gated generations with provenance, and whose other splits are the upstream held-out shards
// copied unchanged. Config: nexa.v1.DistillConfig. See README.md for the steps.

import { writeFile } from "fs/promises";
import path from "path";
import { performance } from "perf_hooks";

import { CONTRACTS, digestBytes } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import type { Progress } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { DATASET_MANIFEST_FILE, TextDataset } from "@nexa/modules/text_dataset";
import { SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import type { SourceLineage } from "@nexa/proto/nexa/v1/dataset";
import type { DistillConfig } from "@nexa/proto/nexa/v1/distill";

import { generationSeed, planDistill } from "./config";
import type { DistillPlan } from "./config";
import { carryHeldOutSplits, TRAIN_SPLIT, writeDistilledManifest, writeTrainShards } from "./dataset_io";
import type { DistilledRecord } from "./dataset_io";
import { checkFingerprint, openEndpointTeacher, RESPONSES_FILE, responseLine } from "./endpoint";
import type { EndpointPlan, EndpointTeacher, TeacherAnswer, TeacherCall } from "./endpoint";
import { CompletionGate } from "./gate";
import { decodeWhole, drawPrompts, drawTextPrompts } from "./prompts";
import type { DrawnPrompts, Prompt } from "./prompts";
import { loadTeacher } from "./teacher";
import type { Teacher } from "./teacher";

// ----------------------------------------------------------------------------------------------------------
// generation

interface Generated {
  records: DistilledRecord[];
  generations: number;
  tokens: number;
  stoppedAtEos: number;
  drops: Record<string, number>;
}

/** provenance.sampling.seed: a JSON number while exact, else its decimal string. */
const seedValue = (seed: bigint): number | string =>
  seed <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seed) : seed.toString();

/** provenance.sampling of generation seed `seed`. */
const samplingOf = (s: DistillPlan["sampling"], seed: bigint) => ({
  temperature: s.temperature,
  top_p: s.topP,
  top_k: s.topK,
  max_tokens: s.maxTokens,
  seed: seedValue(seed),
});

/** n samples per prompt, in drawn order, each gated as it is produced. */
function generateAll(teacher: Teacher, plan: DistillPlan, prompts: readonly Prompt[], progress: Progress): Generated {
  const s = plan.sampling;
  const gate = new CompletionGate(plan.gating);
  const out: Generated = { records: [], generations: 0, tokens: 0, stoppedAtEos: 0, drops: gate.drops };
  const source = teacher.stageName;
  for (const prompt of prompts) {
    for (let k = 0; k < s.n; k++) {
      const seed = generationSeed(s, prompt.index, k);
      const gen = teacher.model.generate(prompt.tokens, {
        maxNewTokens: s.maxTokens,
        temperature: s.temperature,
        topK: s.topK,
        topP: s.topP,
        seed,
        stopTokens: [teacher.eosId],
      });
      out.generations++;
      out.tokens += gen.tokens.length;
      progress.tick();
      if (gen.stop === "stop_token") out.stoppedAtEos++;
      const completion = gen.tokens.length > 0 ? decodeWhole(teacher.tokenizer.decode(gen.tokens)) : "";
      if (gate.check(completion) !== undefined) continue;
      const promptId = `${prompt.record.id}#${k}`;
      out.records.push({
        id: promptId,
        text: prompt.text + completion,
        source,
        extra: {
          provenance: {
            teacher: teacher.checkpoint.ref.digest,
            prompt_id: promptId,
            sampling: samplingOf(s, seed),
          },
        },
      });
    }
  }
  return out;
}

/** The request body of generation (prompt, sample k) with seed `seed`: OpenAI's completions fields, top_k when set. */
function completionBody(e: EndpointPlan, s: DistillPlan["sampling"], prompt: Prompt, seed: bigint) {
  return {
    model: e.model,
    prompt: prompt.text,
    max_tokens: s.maxTokens,
    temperature: s.temperature,
    top_p: s.topP,
    ...(s.topK > 0 ? { top_k: s.topK } : {}),
    seed: Number(seed),
    n: 1,
  };
}

/**
 * n samples per prompt from an endpoint (`concurrency` requests in flight; answers kept in drawn order, so the
 * result does not depend on it), each checked against the config's fingerprint, recorded, then gated in order.
 */
async function generateFromEndpoint(
  teacher: EndpointTeacher,
  plan: DistillPlan,
  prompts: readonly Prompt[],
  concurrency: number,
  progress: Progress,
  where: { file: string; stage: string },
): Promise<Generated & { lines: string[] }> {
  const s = plan.sampling;
  const e = plan.endpoint!;
  const calls: (TeacherCall & { prompt: Prompt; seed: bigint })[] = [];
  for (const prompt of prompts) {
    for (let k = 0; k < s.n; k++) {
      const seed = generationSeed(s, prompt.index, k);
      const promptId = `${prompt.record.id}#${k}`;
      calls.push({ promptId, body: completionBody(e, s, prompt, seed), prompt, seed });
    }
  }
  const answers: TeacherAnswer[] = new Array(calls.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (!failed && next < calls.length) {
      const i = next++;
      try {
        answers[i] = await teacher.complete(calls[i]);
        checkFingerprint(e, calls[i], answers[i], where, teacher.source);
      } catch (err) {
        failed = true; // the other workers stop taking calls; the first error is the one reported
        throw err;
      }
      progress.tick();
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(concurrency, calls.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const rejected = settled.find((r) => r.status === "rejected");
  if (rejected) throw (rejected as PromiseRejectedResult).reason;

  const gate = new CompletionGate(plan.gating);
  const out: Generated & { lines: string[] } = {
    records: [],
    generations: calls.length,
    tokens: 0,
    stoppedAtEos: 0,
    drops: gate.drops,
    lines: [],
  };
  calls.forEach((call, i) => {
    const a = answers[i];
    out.lines.push(responseLine(call, a));
    out.tokens += a.completionTokens;
    if (a.finishReason === "stop") out.stoppedAtEos++;
    if (gate.check(a.text) !== undefined) return;
    out.records.push({
      id: call.promptId,
      text: call.prompt.text + a.text,
      source: e.baseUrl,
      extra: {
        provenance: {
          teacher: e.fingerprint,
          prompt_id: call.promptId,
          sampling: samplingOf(s, call.seed),
          endpoint: { base_url: e.baseUrl, model: e.model, finish_reason: a.finishReason },
        },
      },
    });
  });
  return out;
}

// ----------------------------------------------------------------------------------------------------------
// run

async function runDistill(ctx: StageContext<DistillConfig>): Promise<StageResult> {
  const where = { file: ctx.configFile, stage: ctx.stage };
  const plan = planDistill(ctx.config, ctx.configFile, ctx.stage);
  const ds = new TextDataset(await ctx.open("dataset", CONTRACTS.DatasetManifest));
  const records = await ds.records(TRAIN_SPLIT);
  const ids = new Set(records.map((r) => r.id));
  if (ids.size !== records.length) {
    throw new ConfigError(
      "DISTILL_DUPLICATE_ID",
      `the train split of ${ds.artifact.display} repeats record ids (${records.length} records, ${ids.size} ids)`,
      {
        context: { file: ds.artifact.display },
        hint: "record ids must be unique (modules/data guarantees it); re-run the upstream data stage",
      },
    );
  }

  const generated = plan.endpoint
    ? await distillFromEndpoint(ctx, plan, records, where)
    : await distillFromCheckpoint(ctx, plan, records, where);
  return writeDistilled(ctx, plan, ds, records, generated);
}

/** What the teacher-specific half hands to writeDistilled. */
interface Distilled {
  drawn: DrawnPrompts;
  gen: Generated;
  /** The teacher's lineage entry (without the counts). */
  teacher: Pick<SourceLineage, "uri" | "artifact">;
}

async function timedGeneration<T extends Generated>(
  ctx: StageContext<DistillConfig>,
  total: number,
  extra: Record<string, unknown>,
  run: (progress: Progress) => Promise<T> | T,
): Promise<T> {
  const started = performance.now();
  const progress = ctx.startProgress("distill", total, "generations");
  let gen: T;
  try {
    gen = await run(progress);
  } finally {
    progress.stop();
  }
  const ms = performance.now() - started;
  ctx.log.info("generated", {
    generations: gen.generations,
    tokens: gen.tokens,
    stopped_at_eos: gen.stoppedAtEos,
    kept: gen.records.length,
    generate_ms: Math.round(ms),
    tokens_per_s: Math.round(gen.tokens / Math.max(ms / 1000, 1e-3)),
    ...extra,
  });
  return gen;
}

async function distillFromCheckpoint(
  ctx: StageContext<DistillConfig>,
  plan: DistillPlan,
  records: Awaited<ReturnType<TextDataset["records"]>>,
  where: { file: string; stage: string },
): Promise<Distilled> {
  if (ctx.config.concurrency > 1)
    ctx.log.info("concurrency_ignored", {
      reason: "a checkpoint teacher runs in-process; concurrency applies to endpoints",
    });
  const teacher = await loadTeacher(ctx, plan.teacherDigest);
  try {
    const drawn = drawPrompts(records, plan, teacher.tokenizer, teacher.seqLen, where);
    ctx.log.info("prompts_drawn", {
      train_records: records.length,
      considered: drawn.considered,
      prompts: drawn.prompts.length,
      empty_prompts: drawn.emptyPrompts,
      truncated_prompts: drawn.truncated,
      window_tokens: drawn.windowTokens,
      teacher_seq_len: teacher.seqLen,
    });
    const gen = await timedGeneration(
      ctx,
      drawn.prompts.length * plan.sampling.n,
      { threads: ctx.threads, kernel_variant: teacher.model.variant() },
      (progress) => generateAll(teacher, plan, drawn.prompts, progress),
    );
    return { drawn, gen, teacher: { uri: teacher.stageName, artifact: teacher.checkpoint.ref } };
  } finally {
    teacher.free();
  }
}

/** Default requests in flight to an endpoint teacher when `concurrency` is 0. */
export const DEFAULT_ENDPOINT_CONCURRENCY = 4;

async function distillFromEndpoint(
  ctx: StageContext<DistillConfig>,
  plan: DistillPlan,
  records: Awaited<ReturnType<TextDataset["records"]>>,
  where: { file: string; stage: string },
): Promise<Distilled> {
  const e = plan.endpoint!;
  const wired = ctx.inputs.filter((i) => i.slot === "teacher");
  if (wired.length > 0) {
    throw new ConfigError(
      "DISTILL_TEACHER_AMBIGUOUS",
      `the config names the endpoint teacher ${e.baseUrl}, and a checkpoint is wired to \`teacher\` (stage ${wired[0].manifest.stageName})`,
      {
        context: { ...where, jsonPath: "$.teacher.endpoint" },
        hint: "remove `teacher = …` from the distill_stage target, or use the checkpoint teacher in the config",
      },
    );
  }
  const teacher = await openEndpointTeacher(e, process.env, where);
  const drawn = drawTextPrompts(records, plan, e.promptChars);
  ctx.log.info("prompts_drawn", {
    train_records: records.length,
    considered: drawn.considered,
    prompts: drawn.prompts.length,
    empty_prompts: drawn.emptyPrompts,
    window_chars: e.promptChars,
    teacher: teacher.source,
    replaying: teacher.replaying,
  });
  const concurrency = teacher.replaying ? 1 : ctx.config.concurrency || DEFAULT_ENDPOINT_CONCURRENCY;
  const gen = await timedGeneration(
    ctx,
    drawn.prompts.length * plan.sampling.n,
    { teacher: teacher.source, replaying: teacher.replaying, concurrency },
    (progress) => generateFromEndpoint(teacher, plan, drawn.prompts, concurrency, progress, where),
  );
  const bytes = Buffer.from(gen.lines.map((l) => l + "\n").join(""), "utf8");
  await writeFile(path.join(ctx.outDir, RESPONSES_FILE), bytes);
  return {
    drawn,
    gen,
    teacher: {
      uri: `${e.baseUrl}#${e.model}`,
      artifact: {
        digest: digestBytes(bytes),
        sizeBytes: bytes.length,
        mediaType: "application/jsonl",
        schemaName: "",
        path: RESPONSES_FILE,
      },
    },
  };
}

async function writeDistilled(
  ctx: StageContext<DistillConfig>,
  plan: DistillPlan,
  ds: TextDataset,
  records: Awaited<ReturnType<TextDataset["records"]>>,
  { drawn, gen, teacher }: Distilled,
): Promise<StageResult> {
  const drops: Record<string, number> = {
    ...gen.drops,
    ...(drawn.emptyPrompts > 0 ? { empty_prompt: drawn.emptyPrompts } : {}),
  };
  if (gen.records.length === 0) {
    // An empty distilled train split is never what the operator wants; say why here rather than downstream.
    const why =
      Object.keys(drops)
        .sort()
        .map((r) => `${r}: ${drops[r]}`)
        .join(", ") || "no train records";
    throw new ConfigError(
      "DISTILL_NOTHING_KEPT",
      `no distilled record was kept (${drawn.prompts.length} prompts, ${gen.generations} generations; drops ${why})`,
      {
        context: { file: ctx.configFile, jsonPath: "$.gating", stage: ctx.stage },
        hint: "relax config.gating (min_chars, max_chars, reject_patterns), or give the dataset's train split text",
      },
    );
  }
  const trainShards = await writeTrainShards(ctx.outDir, gen.records, ds.textField);
  const carried = await carryHeldOutSplits(ds, ctx.outDir);
  const manifest = await writeDistilledManifest(ctx.outDir, {
    name: `${ds.manifest.name}-distilled`,
    textField: ds.textField,
    seed: Number(plan.sampling.seed),
    producer: { stageName: ctx.stage, stageId: ctx.stageId, module: ctx.module },
    shards: [...trainShards, ...carried.shards],
    splitOrder: ds.manifest.splits.map((s) => s.name),
    sources: [
      // The upstream dataset: every record read (train prompts + held-out); kept = held-out records carried.
      {
        kind: SourceLineage_Kind.KIND_DATASET,
        uri: ctx.input("dataset").manifest.stageName,
        artifact: ds.artifact.ref,
        recordsRead: records.length + carried.records,
        recordsKept: carried.records,
      },
      // The teacher: one record read per generation; kept = distilled records that passed the gate.
      {
        kind: SourceLineage_Kind.KIND_TEACHER,
        uri: teacher.uri,
        artifact: teacher.artifact,
        recordsRead: gen.generations,
        recordsKept: gen.records.length,
      },
    ],
    drops,
  });
  return {
    product: { file: DATASET_MANIFEST_FILE, schema: CONTRACTS.DatasetManifest.name },
    metrics: {
      prompts: drawn.prompts.length,
      generations: gen.generations,
      distilled: gen.records.length,
      dropped: Object.values(drops).reduce((a, b) => a + b, 0),
      carried: carried.records,
      generated_tokens: gen.tokens,
      records: manifest.recordCount,
    },
  };
}

/** The distill stage definition (entry point: main.ts). Not shardable: one action per stage. */
export const distillStage: StageDefinition<DistillConfig> = {
  module: "modules/distill",
  config: CONTRACTS.DistillConfig,
  // The kernels run the tokenizer, the shuffle and the teacher model, so their bytes are part of the stage's identity.
  usesKernels: true,
  run: runDistill,
};

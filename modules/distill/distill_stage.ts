// The distill stage (pipelines/stages.bzl `distill_stage`): prompts from the `dataset` input's train split + the
// `teacher` checkpoint → a text dataset (`dataset.json`, nexa.v1.DatasetManifest, the product) whose train split
// holds the teacher's gated generations with provenance, and whose other splits are the upstream held-out shards
// copied unchanged. Config: nexa.v1.DistillConfig. See README.md for the steps.

import { performance } from "perf_hooks";

import { CONTRACTS } from "@nexa/modules/manifest";
import { ConfigError } from "@nexa/modules/monitoring";
import type { Progress } from "@nexa/modules/monitoring";
import type { StageContext, StageDefinition, StageResult } from "@nexa/modules/stage";
import { DATASET_MANIFEST_FILE, TextDataset } from "@nexa/modules/text_dataset";
import { SourceLineage_Kind } from "@nexa/proto/nexa/v1/dataset";
import type { DistillConfig } from "@nexa/proto/nexa/v1/distill";

import { generationSeed, planDistill } from "./config";
import type { DistillPlan } from "./config";
import { carryHeldOutSplits, TRAIN_SPLIT, writeDistilledManifest, writeTrainShards } from "./dataset_io";
import type { DistilledRecord } from "./dataset_io";
import { CompletionGate } from "./gate";
import { decodeWhole, drawPrompts } from "./prompts";
import type { Prompt } from "./prompts";
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
            sampling: {
              temperature: s.temperature,
              top_p: s.topP,
              top_k: s.topK,
              max_tokens: s.maxTokens,
              seed: seedValue(seed),
            },
          },
        },
      });
    }
  }
  return out;
}

// ----------------------------------------------------------------------------------------------------------
// run

async function runDistill(ctx: StageContext<DistillConfig>): Promise<StageResult> {
  const where = { file: ctx.configFile, stage: ctx.stage };
  const plan = planDistill(ctx.config, ctx.configFile, ctx.stage);
  if (ctx.config.concurrency > 1)
    ctx.log.info("concurrency_ignored", {
      reason: "a checkpoint teacher runs in-process; concurrency applies to endpoints",
    });
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
    const started = performance.now();
    const progress = ctx.startProgress("distill", drawn.prompts.length * plan.sampling.n, "generations");
    let gen: Generated;
    try {
      gen = generateAll(teacher, plan, drawn.prompts, progress);
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
      threads: ctx.threads,
      kernel_variant: teacher.model.variant(),
    });

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
          uri: teacher.stageName,
          artifact: teacher.checkpoint.ref,
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
  } finally {
    teacher.free();
  }
}

/** The distill stage definition (entry point: main.ts). Not shardable: one action per stage. */
export const distillStage: StageDefinition<DistillConfig> = {
  module: "modules/distill",
  config: CONTRACTS.DistillConfig,
  // The kernels run the tokenizer, the shuffle and the teacher model, so their bytes are part of the stage's identity.
  usesKernels: true,
  run: runDistill,
};
